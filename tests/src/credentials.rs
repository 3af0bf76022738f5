//! Shared steps of the cloud credential tests (`tests/tests/*_credentials.rs`): a burst of
//! concurrent requests once the first credentials are due for refresh, then the count of
//! fetches the stand-in saw; `sluice check` / `sluice run` on a config file; and reading what
//! a stand-in received: the fields of a form body, the credential a SigV4 signature names;
//! a gateway with one bedrock backend, isolated from the machine's AWS setup; a Google
//! metadata server and a gateway that takes its tokens there; a chat request.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::http::post_json;
use crate::{Gateway, MockUpstream, Ports, Reply};

/// Waits `due` (until the held credentials are due for refresh), sends 20 requests at once
/// (each must be answered 200), and waits until the stand-in has seen a second fetch.
pub async fn burst_until_refreshed(
    url: &str,
    body: &serde_json::Value,
    fetches: &AtomicUsize,
    due: Duration,
) {
    tokio::time::sleep(due).await;
    let burst: Vec<_> = (0..20)
        .map(|_| {
            let (url, body) = (url.to_string(), body.clone());
            tokio::spawn(async move { post_json(&url, &body, &[]).await.status })
        })
        .collect();
    for task in burst {
        assert_eq!(task.await.unwrap(), 200);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while fetches.load(Ordering::SeqCst) < 2 {
        assert!(tokio::time::Instant::now() < deadline, "no refresh");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// After the refresh: a moment later still exactly two fetches (one at start, one refresh).
pub async fn assert_one_refresh(fetches: &AtomicUsize) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fetches.load(Ordering::SeqCst), 2, "one refresh");
}

/// `sluice check` (which must pass; its stdout) and `sluice run` with `run_env` (its exit
/// code and stderr) on `yaml` written to a temp file.
pub fn check_then_run(
    yaml: &str,
    run_env: &[(&str, Option<&str>)],
) -> (String, Option<i32>, String) {
    let path = crate::setup::temp_path("sluice-credentials", "yaml");
    std::fs::write(&path, yaml).unwrap();
    let check = std::process::Command::new(crate::sluice_bin())
        .args(["check", "-c", path.to_str().unwrap()])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&check.stdout).to_string();
    assert!(check.status.success(), "{out}");
    let mut run = std::process::Command::new(crate::sluice_bin());
    run.args(["run", "-c", path.to_str().unwrap()]);
    for (k, v) in run_env {
        match v {
            Some(v) => run.env(k, v),
            None => run.env_remove(k),
        };
    }
    let ran = run.output().unwrap();
    let _ = std::fs::remove_file(&path);
    (
        out,
        ran.status.code(),
        String::from_utf8_lossy(&ran.stderr).to_string(),
    )
}

/// The fields of an `application/x-www-form-urlencoded` body (STS, Entra ID token requests),
/// decoded, in order.
pub fn form_fields(body: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The decoded value of one field of a form body.
pub fn form_field(body: &str, name: &str) -> Option<String> {
    form_fields(body)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// The access key id a SigV4 `Authorization` header names (`Credential=<key>/<date>/...`),
/// and the rest of its credential scope (`<date>/<region>/<service>/aws4_request`).
pub fn sigv4_credential(authorization: &str) -> Option<(&str, &str)> {
    let scope = authorization
        .strip_prefix("AWS4-HMAC-SHA256 Credential=")?
        .split(',')
        .next()?;
    scope.split_once('/')
}

/// An empty home directory for this test process: no shared AWS files, no gcloud
/// credentials.
pub fn empty_home() -> String {
    let home = std::env::temp_dir().join(format!("sluice-cloud-home-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    home.display().to_string()
}

/// The Bedrock Converse answer the credential tests' stand-ins give.
pub fn bedrock_answer() -> Reply {
    Reply::json(
        200,
        &crate::setup::provider_fixture_json("bedrock/basic.bedrock-response.json"),
    )
}

/// A gateway with one bedrock backend `b` at `bedrock_url` taking its credentials from `auth`
/// (YAML) in `region` (none: from the environment or the profile), isolated from the
/// machine's AWS setup: an empty home and no shared files, unless `env` (applied last)
/// names some.
pub async fn bedrock_gateway(
    bedrock_url: &str,
    auth: &str,
    region: Option<&str>,
    env: &[(&str, String)],
) -> Gateway {
    let region = region.map_or(String::new(), |r| format!("region: {r}"));
    let yaml = Ports::new().render(
        &crate::setup::one_backend(
            r#"    provider: bedrock
    model: anthropic.claude-3-5-sonnet-20240620-v1:0
    {{region}}
    baseUrl: {{bedrock}}
    auth: {{auth}}
"#,
        ),
        &[
            ("bedrock", bedrock_url),
            ("auth", auth),
            ("region", &region),
        ],
    );
    aws_isolated_gateway(&yaml, env).await
}

/// A gateway on `yaml` isolated from the machine's AWS setup (an empty home, no shared
/// files) unless `env` (applied last) names some.
pub async fn aws_isolated_gateway(yaml: &str, env: &[(&str, String)]) -> Gateway {
    let mut b = Gateway::builder(yaml)
        .env("HOME", &empty_home())
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        );
    for (k, v) in env {
        b = b.env(k, v);
    }
    b.start().await
}

/// A Google metadata server: the `n`th token is `ya29.token-<n>`, counted in `fetches`; the
/// first lives `first_lifetime` seconds, later ones an hour.
pub async fn metadata_server(fetches: Arc<AtomicUsize>, first_lifetime: u64) -> MockUpstream {
    MockUpstream::start_with_handler(move |req| {
        if req.header("metadata-flavor") != Some("Google") {
            return Reply::text(403, "missing Metadata-Flavor");
        }
        match req.path_only() {
            "/computeMetadata/v1/instance/service-accounts/default/token" => {
                let n = fetches.fetch_add(1, Ordering::SeqCst) + 1;
                let lifetime = if n == 1 { first_lifetime } else { 3600 };
                Reply::json(
                    200,
                    &serde_json::json!({"access_token": format!("ya29.token-{n}"),
                        "expires_in": lifetime, "token_type": "Bearer"}),
                )
            }
            "/computeMetadata/v1/universe/universe-domain" => Reply::text(200, "googleapis.com"),
            _ => Reply::text(404, "not found"),
        }
    })
    .await
}

/// A gateway on `yaml` whose Google tokens come from the metadata server `mds` only.
pub async fn metadata_gateway(yaml: &str, mds: &MockUpstream) -> Gateway {
    let host = mds.base_url().trim_start_matches("http://").to_string();
    Gateway::builder(yaml)
        .env("GCE_METADATA_HOST", &host)
        .env("GOOGLE_APPLICATION_CREDENTIALS", "")
        .start()
        .await
}

/// A chat completion through the gateway; must be answered 200. Its answer's text.
pub async fn chat(gw: &Gateway) -> String {
    let body = serde_json::json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    let r = post_json(
        &format!("{}/v1/chat/completions", gw.base_url()),
        &body,
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}
