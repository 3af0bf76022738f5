//! The seed's Kubernetes objects as sluice's config: the page's ConfigMap, GatewayParameters,
//! Gateway, Secret, Backend and HTTPRoute (tests/fixtures/seed/kgateway-objects.yaml,
//! unchanged), served by the real binary against a mock Gemini and a real OTLP receiver, must
//! give the seed's answer, log line and span, with the seed's identities
//! (`gateway=kgateway-system/agentgateway listener=http route=kgateway-system/google`).
//! Two substitutions, made here: the collector's address becomes the OTLP receiver's, and the
//! Backend gains kgateway's `host` / `port` override pointing at the mock. The Gateway
//! listener's port (8080) is moved to a free one with `sluice run --listen`.
//! Also: `sluice check` errors name the object and field; `sluice translate` prints an
//! equivalent sluice config without the key.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use sluice_tests::http::post_json;
use sluice_tests::seed::{
    assert_seed_answer, assert_seed_line_and_span, gemini_answer, seed_request, SeedIdentity,
    GOOGLE_KEY,
};
use sluice_tests::setup::{temp_path, workspace_dir};
use sluice_tests::{free_port, run_cli_env, Gateway, MockUpstream, OtlpReceiver, Reply};

const WAIT: Duration = Duration::from_secs(10);
/// The collector address on the seed page.
const SEED_COLLECTOR: &str =
    "http://opentelemetry-collector-traces.telemetry.svc.cluster.local:4317";

/// The fixture: the seed page's objects, as copied.
fn seed_objects() -> String {
    let path = workspace_dir().join("tests/fixtures/seed/kgateway-objects.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The seed's objects with the collector at `otlp` and the Backend's provider at
/// 127.0.0.1:`upstream_port` (kgateway's own override keys, beside `gemini:` under `llm:`).
fn objects_for(otlp: &str, upstream_port: u16) -> String {
    let text = seed_objects();
    assert!(text.contains(SEED_COLLECTOR));
    let text = text.replace(SEED_COLLECTOR, otlp);
    let llm = "    llm:\n     gemini:\n";
    assert!(text.contains(llm), "the seed's Backend layout changed");
    text.replace(
        llm,
        &format!("    llm:\n     host: 127.0.0.1\n     port: {upstream_port}\n     gemini:\n"),
    )
}

async fn serve(config: &str) -> Gateway {
    let addr = format!("127.0.0.1:{}", free_port());
    Gateway::builder(config)
        .env("GOOGLE_KEY", GOOGLE_KEY)
        .listen(&addr)
        .start()
        .await
}

fn write_temp(text: &str) -> PathBuf {
    let path = temp_path("sluice-kube", "yaml");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn the_seed_objects_serve_the_seed() {
    let otlp = OtlpReceiver::start_grpc().await;
    let upstream = MockUpstream::start(Reply::json(200, &gemini_answer())).await;
    let gw = serve(&objects_for(&otlp.endpoint(), upstream.addr().port())).await;

    let resp = post_json(
        &format!("{}/gemini", gw.base_url()),
        &seed_request(),
        &[("authorization", "Bearer client-own-key")],
    )
    .await;

    assert_seed_answer(&resp);

    // Upstream: the Backend's model and API version, the Secret's key, not the client's.
    let reqs = upstream.wait_for_requests(1, WAIT).await;
    let up = &reqs[0];
    assert_eq!(
        up.path,
        "/v1beta/models/gemini-1.5-flash-latest:generateContent"
    );
    assert_eq!(up.header("x-goog-api-key"), Some(GOOGLE_KEY));
    assert_eq!(up.header("authorization"), None);
    assert_eq!(
        up.json(),
        json!({"contents": [{"role": "user", "parts": [{"text": "Explain how AI works in simple terms."}]}]})
    );

    // The log line and the span, as the seed shows them, with the objects' identities.
    let line = &gw.wait_for_request_logs(1, WAIT).await[0];
    let span = otlp.wait_for_span_named("POST /gemini", WAIT).await;
    let endpoint = format!("127.0.0.1:{}", upstream.addr().port());
    let who = SeedIdentity {
        gateway: "kgateway-system/agentgateway",
        route: "kgateway-system/google",
        endpoint: &endpoint,
    };
    assert_seed_line_and_span(line, &span, &who);
    assert!(!gw.log_lines().iter().any(|l| l.contains(GOOGLE_KEY)));
}

#[tokio::test]
async fn the_objects_config_endpoint_hides_the_key() {
    // The seed's ConfigMap plus an admin address (agentgateway's config takes the same key).
    let otlp = OtlpReceiver::start_grpc().await;
    let upstream = MockUpstream::start(Reply::json(200, &gemini_answer())).await;
    let admin = format!("127.0.0.1:{}", free_port());
    let objects = objects_for(&otlp.endpoint(), upstream.addr().port()).replace(
        "    config:\n      tracing:\n",
        &format!("    config:\n      adminAddr: {admin}\n      tracing:\n"),
    );
    let gw = serve(&objects).await;
    let config = sluice_tests::http::get(&format!("http://{admin}/config")).await;
    assert_eq!(config.status, 200);
    assert!(!config.text().contains(GOOGLE_KEY), "{}", config.text());
    let v = config.json();
    assert_eq!(v["name"], "kgateway-system/agentgateway");
    assert_eq!(v["backends"][0]["apiKey"], "<redacted>");
    assert_eq!(
        v["listeners"][0]["routes"][0]["name"],
        "kgateway-system/google"
    );
    drop(gw);
}

/// `sluice check` on the seed's objects after `edit`: exits 1, and one stderr line is `want`.
fn check_refuses(edit: impl FnOnce(String) -> String, want: &str) {
    let path = write_temp(&edit(seed_objects()));
    let out = run_cli_env(
        &["check", "-c", path.to_str().unwrap()],
        &[("GOOGLE_KEY", GOOGLE_KEY)],
    );
    let _ = std::fs::remove_file(&path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.lines().any(|l| l == want),
        "want {want:?} in:\n{stderr}"
    );
    assert!(!stderr.contains(GOOGLE_KEY));
}

#[test]
fn check_accepts_the_seed_objects() {
    let out = run_cli_env(
        &[
            "check",
            "-c",
            workspace_dir()
                .join("tests/fixtures/seed/kgateway-objects.yaml")
                .to_str()
                .unwrap(),
        ],
        &[("GOOGLE_KEY", GOOGLE_KEY)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_names_the_object_and_field_of_an_unknown_provider() {
    check_refuses(
        |t| t.replace("     gemini:\n", "     gemni:\n"),
        "Backend kgateway-system/google: spec.ai.llm.gemni: unknown provider; expected one of openai, azureopenai, anthropic, gemini, vertexai, bedrock",
    );
}

#[test]
fn check_names_the_object_and_field_of_a_missing_secret() {
    check_refuses(
        |t| t.replace("              name: google-secret\n", "              name: gemini-secret\n"),
        "Backend kgateway-system/google: spec.ai.llm.gemini.authToken.secretRef.name: Secret kgateway-system/gemini-secret not found in the file",
    );
}

#[test]
fn check_names_the_object_and_field_of_an_unsupported_filter() {
    check_refuses(
        |t| {
            t.replace(
                "  rules:\n  - matches:\n",
                "  rules:\n  - filters:\n    - type: URLRewrite\n      urlRewrite:\n        path: {type: ReplacePrefixMatch, replacePrefixMatch: /v1}\n    matches:\n",
            )
        },
        "HTTPRoute kgateway-system/google: spec.rules[0].filters: not supported by sluice",
    );
}

/// `sluice translate` on `objects`, with `env`; its stdout.
fn translate(objects: &str, env: &[(&str, &str)]) -> String {
    let path = write_temp(objects);
    let out = run_cli_env(&["translate", "-c", path.to_str().unwrap()], env);
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn translate_prints_an_equivalent_config_without_the_key() {
    let otlp = OtlpReceiver::start_grpc().await;
    let upstream = MockUpstream::start(Reply::json(200, &gemini_answer())).await;
    let objects = objects_for(&otlp.endpoint(), upstream.addr().port());
    let config = translate(&objects, &[("GOOGLE_KEY", GOOGLE_KEY)]);
    assert!(!config.contains(GOOGLE_KEY), "{config}");
    // The Secret said `$GOOGLE_KEY`: the sluice config says it too.
    assert!(config.contains("    apiKey: $GOOGLE_KEY\n"), "{config}");
    assert!(
        config.contains("name: kgateway-system/agentgateway\n"),
        "{config}"
    );

    let path = write_temp(&config);
    let out = run_cli_env(
        &["check", "-c", path.to_str().unwrap()],
        &[("GOOGLE_KEY", GOOGLE_KEY)],
    );
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Served, it is the objects' gateway: same route, same identities, same key upstream.
    let gw = serve(&config).await;
    let resp = post_json(&format!("{}/gemini", gw.base_url()), &seed_request(), &[]).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let up = &upstream.wait_for_requests(1, WAIT).await[0];
    assert_eq!(up.header("x-goog-api-key"), Some(GOOGLE_KEY));
    let line = &gw.wait_for_request_logs(1, WAIT).await[0];
    assert_eq!(line.get("gateway"), Some("kgateway-system/agentgateway"));
    assert_eq!(line.get("listener"), Some("http"));
    assert_eq!(line.get("route"), Some("kgateway-system/google"));
    let span = otlp.wait_for_span_named("POST /gemini", WAIT).await;
    assert_eq!(span.str_attr("gen_ai.system"), Some("gemini"));
}

#[test]
fn translate_puts_a_literal_secret_in_the_environment() {
    let objects = seed_objects().replace(
        "  Authorization: $GOOGLE_KEY\n",
        &format!("  Authorization: Bearer {GOOGLE_KEY}\n"),
    );
    let config = translate(&objects, &[]);
    assert!(!config.contains(GOOGLE_KEY), "{config}");
    assert!(
        config.contains("    apiKey:\n      env: GOOGLE_SECRET_AUTHORIZATION\n"),
        "{config}"
    );
    assert!(
        config.contains("# Not printed: Secret kgateway-system/google-secret key Authorization. Set the environment variable GOOGLE_SECRET_AUTHORIZATION to it"),
        "{config}"
    );
    let path = write_temp(&config);
    let out = run_cli_env(
        &["check", "-c", path.to_str().unwrap()],
        &[("GOOGLE_SECRET_AUTHORIZATION", GOOGLE_KEY)],
    );
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
