//! AWS credentials for bedrock the way AWS hands them out, through the AWS SDK's providers,
//! against local stand-ins of the credential endpoints the SDK lets tests point at: EKS IRSA
//! (web identity: a token file, then STS `AssumeRoleWithWebIdentity` at
//! `AWS_ENDPOINT_URL_STS`) and EC2 instance metadata (IMDSv2 at
//! `AWS_EC2_METADATA_SERVICE_ENDPOINT`). Each time: the credentials are fetched at start and
//! sign the Bedrock call; when they near their expiry the next requests trigger one refresh
//! (not one per request, under 20 concurrent requests), and later calls are signed with the
//! new ones. A backend without credentials does not start, and `sluice check` says where
//! each backend's credentials come from.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::json;
use sluice_tests::credentials::{
    assert_one_refresh, aws_isolated_gateway, bedrock_answer, bedrock_gateway,
    burst_until_refreshed, chat, check_then_run,
};
use sluice_tests::http::post_json;
use sluice_tests::metrics::{metric, wait_metric};
use sluice_tests::{Gateway, MockUpstream, Ports, Reply};

/// Credentials handed out first expire this far ahead: 3 s more than sluice's refresh
/// margin (300 s), so they are due for refresh 3 s after start.
const FIRST_LIFETIME: u64 = 303;

fn rfc3339_in(secs: u64) -> String {
    humantime::format_rfc3339_seconds(SystemTime::now() + Duration::from_secs(secs)).to_string()
}

/// The access key and lifetime of the `n`th credentials handed out (1-based).
fn issued(n: usize) -> (&'static str, u64) {
    if n == 1 {
        ("ASIAFIRSTKEY", FIRST_LIFETIME)
    } else {
        ("ASIASECONDKEY", 3600)
    }
}

/// A gateway with one bedrock backend in us-east-1 (STS's region too) taking its credentials
/// from `auth`, with no shared files and the instance metadata service where `env` says.
async fn gateway(bedrock: &MockUpstream, auth: &str, env: &[(&str, String)]) -> Gateway {
    let mut env = env.to_vec();
    env.insert(0, ("AWS_REGION", "us-east-1".to_string()));
    bedrock_gateway(&bedrock.base_url(), auth, Some("us-east-1"), &env).await
}

/// An STS `AssumeRoleWithWebIdentity` answer: credentials `key` (secret `secret-<key>`,
/// session token `session-<key>`) living `lifetime` seconds.
fn sts_answer(key: &str, lifetime: u64) -> Reply {
    let xml = format!(
        r#"<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials><AccessKeyId>{key}</AccessKeyId><SecretAccessKey>secret-{key}</SecretAccessKey><SessionToken>session-{key}</SessionToken><Expiration>{}</Expiration></Credentials>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>"#,
        rfc3339_in(lifetime)
    );
    Reply::new(200, vec![("content-type".into(), "text/xml".into())], xml)
}

/// The environment of IRSA: the web identity token in `token` (written here), exchanged at
/// the `sts` stand-in; no instance metadata.
fn irsa_env(sts: &MockUpstream, token: &std::path::Path) -> Vec<(&'static str, String)> {
    std::fs::write(token, "eyJ.irsa-token").unwrap();
    vec![
        ("AWS_WEB_IDENTITY_TOKEN_FILE", token.display().to_string()),
        (
            "AWS_ROLE_ARN",
            "arn:aws:iam::123456789012:role/sluice".to_string(),
        ),
        ("AWS_ENDPOINT_URL_STS", sts.base_url()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
    ]
}

/// A gateway whose bedrock backend takes IRSA credentials ([`irsa_env`]).
async fn irsa_gateway(
    bedrock: &MockUpstream,
    sts: &MockUpstream,
    token: &std::path::Path,
) -> Gateway {
    gateway(bedrock, "{source: webIdentity}", &irsa_env(sts, token)).await
}

/// An STS stand-in answering once with credentials `key` living `lifetime` seconds, then
/// failing every call.
async fn sts_answering_once(key: &'static str, lifetime: u64) -> MockUpstream {
    let calls = AtomicUsize::new(0);
    MockUpstream::start_with_handler(move |_| {
        if calls.fetch_add(1, Ordering::SeqCst) > 0 {
            return Reply::text(500, "<Error><Code>InternalFailure</Code></Error>");
        }
        sts_answer(key, lifetime)
    })
    .await
}

/// An STS stand-in answering `AssumeRoleWithWebIdentity` for the token `eyJ.irsa-token`
/// with the credentials [`issued`] in turn, counting them in `fetches`.
async fn sts_server(fetches: Arc<AtomicUsize>) -> MockUpstream {
    MockUpstream::start_with_handler(move |req| {
        assert!(req.body_text().contains("Action=AssumeRoleWithWebIdentity"));
        assert!(req.body_text().contains("WebIdentityToken=eyJ.irsa-token"));
        let (key, lifetime) = issued(fetches.fetch_add(1, Ordering::SeqCst) + 1);
        sts_answer(key, lifetime)
    })
    .await
}

/// An IMDSv2 stand-in: a session token, the role `sluice-role`, and its credentials
/// [`issued`] in turn, counted in `fetches`.
async fn imds_server(fetches: Arc<AtomicUsize>) -> MockUpstream {
    MockUpstream::start_with_handler(move |req| {
        let path = req.path_only();
        match (req.method.as_str(), path) {
            ("PUT", "/latest/api/token") => Reply::text(200, "imds-session-token")
                .with_header("x-aws-ec2-metadata-token-ttl-seconds", "21600"),
            ("GET", "/latest/meta-data/iam/security-credentials/") => {
                assert_eq!(
                    req.header("x-aws-ec2-metadata-token"),
                    Some("imds-session-token")
                );
                Reply::text(200, "sluice-role")
            }
            ("GET", "/latest/meta-data/iam/security-credentials/sluice-role") => {
                let (key, lifetime) = issued(fetches.fetch_add(1, Ordering::SeqCst) + 1);
                Reply::json(
                    200,
                    &json!({"Code": "Success", "LastUpdated": rfc3339_in(0), "Type": "AWS-HMAC",
                        "AccessKeyId": key, "SecretAccessKey": format!("secret-{key}"),
                        "Token": format!("session-{key}"), "Expiration": rfc3339_in(lifetime)}),
                )
            }
            _ => Reply::text(404, "not found"),
        }
    })
    .await
}

/// The access key id in the last Bedrock call's SigV4 `Authorization`.
fn signed_with(bedrock: &MockUpstream) -> String {
    let requests = bedrock.requests();
    let auth = requests
        .last()
        .and_then(|r| r.header("authorization").map(str::to_string))
        .expect("a signed call");
    auth.trim_start_matches("AWS4-HMAC-SHA256 Credential=")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Signed with the first credentials; once they near expiry, 20 concurrent requests cause
/// one refresh; then signed with the second.
async fn refreshed_once_under_load(gw: &Gateway, bedrock: &MockUpstream, fetches: &AtomicUsize) {
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "fetched once, at start");
    chat(gw).await;
    assert_eq!(signed_with(bedrock), "ASIAFIRSTKEY");
    // Past the refresh margin: the held credentials are still valid, and due for refresh.
    let url = format!("{}/v1/chat/completions", gw.base_url());
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    burst_until_refreshed(&url, &body, fetches, Duration::from_secs(4)).await;
    chat(gw).await;
    assert_eq!(signed_with(bedrock), "ASIASECONDKEY");
    assert_one_refresh(fetches).await;
}

#[tokio::test]
async fn irsa_web_identity_goes_through_sts_and_refreshes_once() {
    let fetches = Arc::new(AtomicUsize::new(0));
    let sts = sts_server(fetches.clone()).await;
    let token = std::env::temp_dir().join(format!("sluice-irsa-{}", std::process::id()));
    let upstream = MockUpstream::start(bedrock_answer()).await;
    let gw = irsa_gateway(&upstream, &sts, &token).await;
    refreshed_once_under_load(&gw, &upstream, &fetches).await;
    // The session token is signed too; the secret never shows.
    let last = upstream.requests().pop().unwrap();
    assert_eq!(
        last.header("x-amz-security-token"),
        Some("session-ASIASECONDKEY")
    );
    let output = [gw.log_lines(), gw.stderr_lines()].concat().join("\n");
    assert!(!output.contains("secret-ASIA") && !output.contains("session-ASIA"));
    let _ = std::fs::remove_file(token);
}

#[tokio::test]
async fn instance_metadata_imdsv2_credentials_refresh_once() {
    let fetches = Arc::new(AtomicUsize::new(0));
    let imds = imds_server(fetches.clone()).await;
    let upstream = MockUpstream::start(bedrock_answer()).await;
    let env = [("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.base_url())];
    let gw = gateway(&upstream, "{source: imds}", &env).await;
    refreshed_once_under_load(&gw, &upstream, &fetches).await;
}

#[tokio::test]
async fn a_backend_without_credentials_does_not_start_and_check_says_where_they_come_from() {
    let upstream = MockUpstream::start(bedrock_answer()).await;
    let yaml = Ports::new().render(
        "listeners:\n  - bind: {{listener}}\n    routes: [{match: {pathPrefix: /}, backend: b}]\n\
         backends:\n  - {name: b, provider: bedrock, region: us-east-1, baseUrl: {{up}}, \
         auth: {source: env, roleArn: \"arn:aws:iam::123456789012:role/x\"}}\n",
        &[("up", &upstream.base_url())],
    );
    let (out, code, err) = check_then_run(
        &yaml,
        &[("AWS_ACCESS_KEY_ID", None), ("AWS_SECRET_ACCESS_KEY", None)],
    );
    assert!(
        out.contains("backends[0] (b): AWS credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN), then the role arn:aws:iam::123456789012:role/x assumed through STS"),
        "{out}"
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("backends[0] (b): no AWS credentials from AWS_ACCESS_KEY_ID"),
        "{err}"
    );
}

#[tokio::test]
async fn credentials_that_cannot_be_renewed_get_a_503_and_are_counted() {
    // STS answers once (credentials for 12 s), then fails: the held credentials serve until
    // 10 s before their expiry, then requests get a 503 in their own API's shape.
    let sts = sts_answering_once("ASIASHORT", 12).await;
    let token = std::env::temp_dir().join(format!("sluice-irsa-short-{}", std::process::id()));
    let upstream = MockUpstream::start(bedrock_answer()).await;
    let gw = irsa_gateway(&upstream, &sts, &token).await;
    chat(&gw).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    let r = post_json(
        &format!("{}/v1/chat/completions", gw.base_url()),
        &body,
        &[],
    )
    .await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no AWS credentials from web identity"),
        "{}",
        r.text()
    );
    let metrics = sluice_tests::http::get(&format!("{}/metrics", gw.admin_url()))
        .await
        .text();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("sluice_credential_errors_total{backend=\"b\"} ")),
        "{metrics}"
    );
    let _ = std::fs::remove_file(token);
}

#[tokio::test]
async fn a_probe_whose_credentials_cannot_be_had_takes_its_target_out_and_is_counted() {
    // STS answers once (credentials for 15 s: 5 s before sluice renews them), then fails. No
    // request is sent: the health probes alone find the credentials gone, take the target
    // out and count the failures.
    let sts = sts_answering_once("ASIAPROBE", 15).await;
    let bedrock = MockUpstream::start_with_handler(|req| {
        if req.method == "GET" {
            Reply::text(200, "")
        } else {
            bedrock_answer()
        }
    })
    .await;
    let token = std::env::temp_dir().join(format!("sluice-irsa-probe-{}", std::process::id()));
    let yaml = Ports::new().render(
        &sluice_tests::setup::one_backend(
            r#"    provider: bedrock
    model: anthropic.claude-3-5-sonnet-20240620-v1:0
    region: us-east-1
    auth: {source: webIdentity}
    endpoints:
      - {url: "{{bedrock}}"}
    healthCheck: {path: "/async-invoke?maxResults=1", interval: 100ms, timeout: 1s}
"#,
        ),
        &[("bedrock", &bedrock.base_url())],
    );
    let mut env = irsa_env(&sts, &token);
    env.push(("AWS_REGION", "us-east-1".to_string()));
    let gw = aws_isolated_gateway(&yaml, &env).await;
    let healthy = format!("backend=\"b\",endpoint=\"{}\"", bedrock.addr());
    let wait = Duration::from_secs(10);
    // Signed probes pass while the credentials hold...
    wait_metric(&gw, "sluice_endpoint_healthy", &healthy, "1", wait).await;
    assert_eq!(
        metric(&gw, "sluice_credential_errors_total", "backend=\"b\"").await,
        None
    );
    // ...then fail without reaching Bedrock, and each failure is counted.
    wait_metric(&gw, "sluice_endpoint_healthy", &healthy, "0", wait).await;
    let errors = metric(&gw, "sluice_credential_errors_total", "backend=\"b\"")
        .await
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(errors >= 1, "{errors}");
    assert!(bedrock.requests().iter().all(|r| r.method == "GET"));
    let _ = std::fs::remove_file(token);
}

/// One environment of the chain test: its variables, the access key that signs, what
/// `sluice check` says, and the STS and IMDS calls seen so far.
type Round<'a> = (Vec<(&'a str, String)>, &'a str, &'a str, (usize, usize));

/// `sluice check` on the gateway's config with `env` (and the gateway's isolation): its
/// line for backend `b`.
fn check_line(gw: &Gateway, env: &[(&str, String)]) -> String {
    let mut check = std::process::Command::new(sluice_tests::sluice_bin());
    check.args(["check", "-c", gw.config_path().to_str().unwrap()]);
    check
        .env("HOME", "/nonexistent")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config");
    check.env(
        "AWS_SHARED_CREDENTIALS_FILE",
        "/nonexistent/aws-credentials",
    );
    for (k, v) in env {
        check.env(k, v);
    }
    let out = check.output().unwrap();
    let out = String::from_utf8_lossy(&out.stdout).to_string();
    out.lines()
        .find(|l| l.starts_with("backends[0] (b):"))
        .unwrap_or_else(|| panic!("no line for b: {out}"))
        .to_string()
}

/// The default chain with several sources configured at once takes them in the SDK's order,
/// asking nothing of the later ones: environment keys before web identity, web identity
/// before instance metadata; and `sluice check` names the one the environment shows.
#[tokio::test]
async fn the_default_chain_takes_the_first_configured_source() {
    let (sts_calls, imds_calls) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let sts = sts_server(sts_calls.clone()).await;
    let imds = imds_server(imds_calls.clone()).await;
    let token = std::env::temp_dir().join(format!("sluice-chain-{}", std::process::id()));
    std::fs::write(&token, "eyJ.irsa-token").unwrap();
    let keys = [
        ("AWS_ACCESS_KEY_ID", "AKIDFROMENV".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "secret-env".to_string()),
    ];
    let irsa = [
        ("AWS_WEB_IDENTITY_TOKEN_FILE", token.display().to_string()),
        (
            "AWS_ROLE_ARN",
            "arn:aws:iam::123456789012:role/sluice".to_string(),
        ),
        ("AWS_ENDPOINT_URL_STS", sts.base_url()),
    ];
    let metadata = [("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.base_url())];
    // (environment, key that signs, what check says, STS and IMDS calls so far)
    let rounds: [Round; 3] = [
        (
            [&keys[..], &irsa, &metadata].concat(),
            "AKIDFROMENV",
            "here: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN) (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set)",
            (0, 0),
        ),
        (
            [&irsa[..], &metadata].concat(),
            "ASIAFIRSTKEY",
            "here: web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, through STS) (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are set)",
            (1, 0),
        ),
        (
            metadata.to_vec(),
            "ASIAFIRSTKEY",
            "here: the EC2 instance metadata service (IMDSv2)",
            (1, 1),
        ),
    ];
    for (env, key, said, (sts_seen, imds_seen)) in rounds {
        let upstream = MockUpstream::start(bedrock_answer()).await;
        let gw = gateway(&upstream, "{source: chain}", &env).await;
        chat(&gw).await;
        assert_eq!(signed_with(&upstream), key);
        assert_eq!(
            (
                sts_calls.load(Ordering::SeqCst),
                imds_calls.load(Ordering::SeqCst)
            ),
            (sts_seen, imds_seen),
            "calls to STS and IMDS with {key}"
        );
        let line = check_line(&gw, &env);
        assert!(line.contains(said), "{line}");
    }
    let _ = std::fs::remove_file(token);
}
