//! Cloud credential sources the other credential tests leave out, each through its provider's
//! own crate, against local stand-ins of the endpoints the crates let tests point at:
//!
//! - bedrock, `auth: {source: container}`: EKS Pod Identity / ECS container credentials from
//!   `AWS_CONTAINER_CREDENTIALS_FULL_URI`, asked with the token in
//!   `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`;
//! - bedrock, `auth: {source: env, roleArn}`: the environment's keys assume a role through STS
//!   `AssumeRole` (at `AWS_ENDPOINT_URL_STS`), and the role's keys sign the Bedrock call;
//! - vertex without `serviceAccount` or `apiKey` (ADC): gcloud user credentials
//!   (`authorized_user`) named by `GOOGLE_APPLICATION_CREDENTIALS`, whose refresh token is
//!   exchanged at the file's `token_uri`;
//! - azure, `auth: {source: clientSecret}` and `{source: workloadIdentity}` (AKS): a client
//!   secret or the federated token file exchanged at the Entra ID authority
//!   (`AZURE_AUTHORITY_HOST`), which `azure_identity` only takes over https: the stand-in sits
//!   behind the TLS front of [`sluice_tests::tls`], whose test CA the gateway trusts through
//!   `SSL_CERT_FILE`.
//!
//! Each time the stand-in's request is checked (what the crate sent, with which secret), the
//! provider call must carry what the stand-in handed out, the answer must come back, and no
//! secret may show in the gateway's output.

use serde_json::json;
use sluice_tests::credentials::{
    self, bedrock_answer, chat, empty_home, form_field, sigv4_credential,
};
use sluice_tests::setup::{one_backend, provider_fixture_json, temp_path};
use sluice_tests::tls::TlsFront;
use sluice_tests::{Gateway, MockUpstream, Ports, RecordedRequest, Reply};
use std::time::{Duration, SystemTime};

fn rfc3339_in(secs: u64) -> String {
    humantime::format_rfc3339_seconds(SystemTime::now() + Duration::from_secs(secs)).to_string()
}

/// A temp file holding exactly `text` (token files are read as they are: no newline).
fn temp_file(prefix: &str, text: &str) -> std::path::PathBuf {
    let path = temp_path(prefix, "txt");
    std::fs::write(&path, text).unwrap();
    path
}

/// Each `(field, value)` is in the form body `form`, decoded.
fn assert_form(form: &str, fields: &[(&str, &str)]) {
    for (name, value) in fields {
        assert_eq!(
            form_field(form, name).as_deref(),
            Some(*value),
            "{name} in {form}"
        );
    }
}

/// The one request `upstream` received.
fn only_request(upstream: &MockUpstream) -> RecordedRequest {
    let requests = upstream.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    requests.into_iter().next().unwrap()
}

fn assert_not_in_output(gw: &Gateway, secrets: &[&str]) {
    let output = [gw.log_lines(), gw.stderr_lines()].concat().join("\n");
    for secret in secrets {
        assert!(!output.contains(secret), "{secret:?} in the output");
    }
}

// ---- bedrock -------------------------------------------------------------------------------

/// A gateway with one bedrock backend in us-east-1 taking its credentials from `auth`,
/// isolated from the machine's AWS setup: no shared files, no instance metadata.
async fn bedrock_gateway(bedrock: &MockUpstream, auth: &str, env: &[(&str, String)]) -> Gateway {
    let mut env = env.to_vec();
    env.push(("AWS_REGION", "us-east-1".to_string()));
    bedrock_gateway_in(bedrock, auth, Some("us-east-1"), &env).await
}

/// [`bedrock_gateway`] with the backend's `region` (none: from the environment or profile).
async fn bedrock_gateway_in(
    bedrock: &MockUpstream,
    auth: &str,
    region: Option<&str>,
    env: &[(&str, String)],
) -> Gateway {
    let mut env = env.to_vec();
    env.insert(0, ("AWS_EC2_METADATA_DISABLED", "true".to_string()));
    credentials::bedrock_gateway(&bedrock.base_url(), auth, region, &env).await
}

/// The access key a Bedrock call was signed with, checking the rest of its SigV4 scope.
fn bedrock_signer(call: &RecordedRequest) -> String {
    bedrock_signer_in(call, "us-east-1")
}

/// [`bedrock_signer`] for a call that must be signed in `region`.
fn bedrock_signer_in(call: &RecordedRequest, region: &str) -> String {
    let auth = call.header("authorization").expect("a signed call");
    let (key, scope) = sigv4_credential(auth).unwrap_or_else(|| panic!("not SigV4: {auth}"));
    let want = format!("/{region}/bedrock/aws4_request");
    assert!(scope.ends_with(&want), "{auth}");
    key.to_string()
}

/// A backend without `region:` takes it from the SDK's region chain: `AWS_REGION`, else the
/// profile's `region`; `source: profile` takes the keys of the named profile from the shared
/// credentials file, and `sluice check` names both.
#[tokio::test]
async fn a_named_profile_gives_the_keys_and_the_region() {
    let config = temp_file(
        "sluice-aws-config",
        "[default]\nregion = us-east-1\n\n[profile prod]\nregion = ap-south-1\n",
    );
    let credentials = temp_file(
        "sluice-aws-credentials",
        "[prod]\naws_access_key_id = AKIAPROFILEPROD\naws_secret_access_key = secret-profile-prod\n",
    );
    let files = [
        ("AWS_CONFIG_FILE", config.display().to_string()),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            credentials.display().to_string(),
        ),
    ];
    let upstream = MockUpstream::start(bedrock_answer()).await;
    let auth = "{source: profile, profile: prod}";
    let gw = bedrock_gateway_in(&upstream, auth, None, &files).await;
    assert_eq!(chat(&gw).await, "AI learns patterns from data.");
    assert_eq!(
        bedrock_signer_in(&only_request(&upstream), "ap-south-1"),
        "AKIAPROFILEPROD"
    );
    let check = std::process::Command::new(sluice_tests::sluice_bin())
        .args(["check", "-c", gw.config_path().to_str().unwrap()])
        .envs(files.iter().map(|(k, v)| (k, v)))
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&check.stdout);
    assert!(
        out.contains("backends[0] (b): AWS credentials from the AWS profile \"prod\" of the shared config and credentials files; region ap-south-1"),
        "{out}"
    );
    assert_not_in_output(&gw, &["secret-profile-prod"]);

    // AWS_REGION comes before the profile's region.
    let upstream = MockUpstream::start(bedrock_answer()).await;
    let env = [&files[..], &[("AWS_REGION", "eu-central-1".to_string())]].concat();
    let gw = bedrock_gateway_in(&upstream, auth, None, &env).await;
    chat(&gw).await;
    assert_eq!(
        bedrock_signer_in(&only_request(&upstream), "eu-central-1"),
        "AKIAPROFILEPROD"
    );
    let _ = (
        std::fs::remove_file(config),
        std::fs::remove_file(credentials),
    );
}

#[tokio::test]
async fn eks_pod_identity_container_credentials_sign_bedrock_calls() {
    let agent = MockUpstream::start_with_handler(|req| {
        if (req.method.as_str(), req.path_only()) != ("GET", "/v1/credentials") {
            return Reply::text(404, "not found");
        }
        Reply::json(
            200,
            &json!({"AccessKeyId": "ASIAPODIDENTITY", "SecretAccessKey": "secret-pod-identity",
                    "Token": "session-pod-identity", "AccountId": "123456789012",
                    "Expiration": rfc3339_in(3600)}),
        )
    })
    .await;
    let token = temp_file("sluice-pod-identity-token", "eyJ.pod-identity-token");
    let upstream = MockUpstream::start(bedrock_answer()).await;
    let env = [
        (
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            format!("{}/v1/credentials", agent.base_url()),
        ),
        (
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            token.display().to_string(),
        ),
    ];
    let gw = bedrock_gateway(&upstream, "{source: container}", &env).await;
    assert_eq!(chat(&gw).await, "AI learns patterns from data.");
    assert_eq!(chat(&gw).await, "AI learns patterns from data.");

    // Asked once (the credentials are kept), with the token file's contents as they are.
    let asked = only_request(&agent);
    assert_eq!(
        asked.header("authorization"),
        Some("eyJ.pod-identity-token")
    );
    let calls = upstream.requests();
    assert_eq!(calls.len(), 2);
    for call in &calls {
        assert_eq!(bedrock_signer(call), "ASIAPODIDENTITY");
        assert_eq!(
            call.header("x-amz-security-token"),
            Some("session-pod-identity")
        );
    }
    assert_not_in_output(
        &gw,
        &[
            "secret-pod-identity",
            "session-pod-identity",
            "eyJ.pod-identity-token",
        ],
    );
    let _ = std::fs::remove_file(token);
}

/// An STS `AssumeRole` answer with the credentials `key` (secret `secret-<key>`, session
/// token `session-<key>`) for an hour.
fn assume_role_answer(key: &str) -> Reply {
    let xml = format!(
        r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials><AccessKeyId>{key}</AccessKeyId><SecretAccessKey>secret-{key}</SecretAccessKey><SessionToken>session-{key}</SessionToken><Expiration>{}</Expiration></Credentials>
    <AssumedRoleUser><AssumedRoleId>AROASSUMED:sluice</AssumedRoleId><Arn>arn:aws:sts::123456789012:assumed-role/assumed/sluice</Arn></AssumedRoleUser>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>
</AssumeRoleResponse>"#,
        rfc3339_in(3600)
    );
    Reply::new(200, vec![("content-type".into(), "text/xml".into())], xml)
}

#[tokio::test]
async fn a_role_arn_is_assumed_with_the_source_credentials_and_its_keys_sign_the_call() {
    let sts = MockUpstream::start(assume_role_answer("ASIAASSUMEDROLE")).await;
    let upstream = MockUpstream::start(bedrock_answer()).await;
    let env = [
        ("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "secret-environment".to_string()),
        ("AWS_ENDPOINT_URL_STS", sts.base_url()),
    ];
    let auth = "{source: env, roleArn: \"arn:aws:iam::123456789012:role/assumed\"}";
    let gw = bedrock_gateway(&upstream, auth, &env).await;
    assert_eq!(chat(&gw).await, "AI learns patterns from data.");

    let assume = only_request(&sts);
    let form = assume.body_text();
    assert_form(
        &form,
        &[
            ("Action", "AssumeRole"),
            ("RoleArn", "arn:aws:iam::123456789012:role/assumed"),
            ("RoleSessionName", "sluice"),
        ],
    );
    // STS is called signed with the environment's keys...
    let signed = assume.header("authorization").expect("a signed STS call");
    let (key, scope) = sigv4_credential(signed).unwrap_or_else(|| panic!("not SigV4: {signed}"));
    assert_eq!(key, "AKIAENVIRONMENT");
    assert!(scope.ends_with("/us-east-1/sts/aws4_request"), "{signed}");
    // ...and Bedrock with the role's.
    let call = only_request(&upstream);
    assert_eq!(bedrock_signer(&call), "ASIAASSUMEDROLE");
    assert_eq!(
        call.header("x-amz-security-token"),
        Some("session-ASIAASSUMEDROLE")
    );
    assert_not_in_output(
        &gw,
        &[
            "secret-environment",
            "secret-ASIAASSUMEDROLE",
            "session-ASIAASSUMEDROLE",
        ],
    );
}

// ---- vertex --------------------------------------------------------------------------------

#[tokio::test]
async fn gcloud_user_credentials_are_refreshed_at_their_token_uri_and_sign_vertex_calls() {
    let oauth = MockUpstream::start(Reply::json(
        200,
        &json!({"access_token": "ya29.user-token", "expires_in": 3600, "token_type": "Bearer"}),
    ))
    .await;
    let user = json!({"type": "authorized_user", "client_id": "sluice-client.apps.googleusercontent.com",
                      "client_secret": "user-client-secret", "refresh_token": "1//user-refresh-token",
                      "token_uri": format!("{}/token", oauth.base_url())});
    let adc = temp_file("sluice-gcloud-adc", &user.to_string());
    let vertex = MockUpstream::start(Reply::json(
        200,
        &provider_fixture_json("gemini/basic.gemini-response.json"),
    ))
    .await;
    let yaml = Ports::new().render(
        &one_backend(
            "    provider: vertex\n    project: my-proj\n    location: us-east5\n    model: gemini-2.0-flash\n    baseUrl: {{vertex}}\n",
        ),
        &[("vertex", &vertex.base_url())],
    );
    // No metadata server: a port nobody listens on.
    let mds = format!("127.0.0.1:{}", sluice_tests::free_port());
    let gw = Gateway::builder(&yaml)
        .env("GOOGLE_APPLICATION_CREDENTIALS", adc.to_str().unwrap())
        .env("GCE_METADATA_HOST", &mds)
        .env("HOME", &empty_home())
        .start()
        .await;
    assert_eq!(
        chat(&gw).await,
        "AI, or artificial intelligence, is about teaching computers to learn patterns from examples."
    );

    let refresh = only_request(&oauth);
    assert_eq!(
        (refresh.method.as_str(), refresh.path.as_str()),
        ("POST", "/token")
    );
    let sent = refresh.json();
    assert_eq!(sent["grant_type"], "refresh_token");
    assert_eq!(sent["refresh_token"], "1//user-refresh-token");
    assert_eq!(
        sent["client_id"],
        "sluice-client.apps.googleusercontent.com"
    );
    assert_eq!(sent["client_secret"], "user-client-secret");
    assert_eq!(
        sent["scope"],
        "https://www.googleapis.com/auth/cloud-platform"
    );
    let call = only_request(&vertex);
    assert_eq!(call.header("authorization"), Some("Bearer ya29.user-token"));
    assert_not_in_output(
        &gw,
        &["ya29.", "1//user-refresh-token", "user-client-secret"],
    );
    let _ = std::fs::remove_file(adc);
}

// ---- azure ---------------------------------------------------------------------------------

/// The Entra ID token endpoint of tenant `sluice-tenant`, over https (a TLS front with the
/// test CA before a mock); it hands out `token` for an hour.
async fn entra(token: &str) -> (MockUpstream, TlsFront) {
    let token = token.to_string();
    let endpoint = MockUpstream::start_with_handler(move |req| {
        if (req.method.as_str(), req.path_only()) != ("POST", "/sluice-tenant/oauth2/v2.0/token") {
            return Reply::json(400, &json!({"error": "invalid_request"}));
        }
        Reply::json(
            200,
            &json!({"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600,
                    "access_token": token}),
        )
    })
    .await;
    let tls = TlsFront::start(endpoint.addr()).await;
    (endpoint, tls)
}

/// A gateway with one azure backend taking its tokens from `auth`; the Entra ID authority is
/// `tls`, trusted through the test CA.
async fn azure_gateway(
    azure: &MockUpstream,
    tls: &TlsFront,
    auth: &str,
    env: &[(&str, String)],
) -> Gateway {
    let yaml = Ports::new().render(
        &one_backend(
            r#"    provider: azure
    model: gpt-4o-mini
    baseUrl: {{azure}}
    auth: {{auth}}
"#,
        ),
        &[("azure", &azure.base_url()), ("auth", auth)],
    );
    let ca = sluice_tests::tls::ca_file();
    let mut b = Gateway::builder(&yaml)
        .env("AZURE_AUTHORITY_HOST", &tls.base_url())
        .env("SSL_CERT_FILE", ca.to_str().unwrap());
    for (k, v) in env {
        b = b.env(k, v);
    }
    b.start().await
}

/// The Azure call carried `Bearer <token>` and no key.
fn assert_azure_bearer(azure: &MockUpstream, token: &str) {
    let call = only_request(azure);
    assert_eq!(call.header("api-key"), None);
    assert_eq!(
        call.header("authorization").map(str::to_string),
        Some(format!("Bearer {token}"))
    );
}

const COGNITIVE_SERVICES: &str = "https://cognitiveservices.azure.com/.default";

#[tokio::test]
async fn an_entra_client_secret_is_exchanged_at_the_authority_for_the_azure_bearer() {
    let (endpoint, tls) = entra("eyEntra.client-secret-token").await;
    let azure =
        MockUpstream::start(sluice_tests::replies::openai_priced_answer("gpt-4o-mini")).await;
    let auth = "{source: clientSecret, tenantId: sluice-tenant, clientId: sluice-app, \
                clientSecret: {env: SLUICE_TEST_AZURE_SECRET}}";
    let env = [("SLUICE_TEST_AZURE_SECRET", "app-secret~value".to_string())];
    let gw = azure_gateway(&azure, &tls, auth, &env).await;
    assert_eq!(chat(&gw).await, "Cheap.");

    let asked = only_request(&endpoint);
    assert_eq!(
        asked.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let form = asked.body_text();
    assert_form(
        &form,
        &[
            ("client_id", "sluice-app"),
            ("client_secret", "app-secret~value"),
            ("grant_type", "client_credentials"),
            ("scope", COGNITIVE_SERVICES),
        ],
    );
    assert_eq!(tls.handshakes(), 1, "the authority was reached over TLS");
    assert_azure_bearer(&azure, "eyEntra.client-secret-token");
    assert_not_in_output(&gw, &["app-secret~value", "eyEntra."]);
}

#[tokio::test]
async fn aks_workload_identity_sends_the_federated_token_as_the_client_assertion() {
    let (endpoint, tls) = entra("eyEntra.workload-token").await;
    let azure =
        MockUpstream::start(sluice_tests::replies::openai_priced_answer("gpt-4o-mini")).await;
    let federated = temp_file("sluice-azure-federated-token", "eyJ.federated-token");
    // What the AKS workload identity webhook sets in the pod.
    let env = [
        ("AZURE_TENANT_ID", "sluice-tenant".to_string()),
        ("AZURE_CLIENT_ID", "sluice-workload-app".to_string()),
        (
            "AZURE_FEDERATED_TOKEN_FILE",
            federated.display().to_string(),
        ),
    ];
    let gw = azure_gateway(&azure, &tls, "{source: workloadIdentity}", &env).await;
    assert_eq!(chat(&gw).await, "Cheap.");

    let form = only_request(&endpoint).body_text();
    assert_form(
        &form,
        &[
            ("client_assertion", "eyJ.federated-token"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_id", "sluice-workload-app"),
            ("grant_type", "client_credentials"),
            ("scope", COGNITIVE_SERVICES),
        ],
    );
    assert_eq!(form_field(&form, "client_secret"), None);
    assert_azure_bearer(&azure, "eyEntra.workload-token");
    assert_not_in_output(&gw, &["eyJ.federated-token", "eyEntra."]);
    let _ = std::fs::remove_file(federated);
}
