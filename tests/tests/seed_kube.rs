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
use sluice_tests::otlp::AttrValue;
use sluice_tests::setup::{temp_path, workspace_dir};
use sluice_tests::{free_port, run_cli_env, Gateway, MockUpstream, OtlpReceiver, Reply};

const WAIT: Duration = Duration::from_secs(10);
const GOOGLE_KEY: &str = "test-google-key-0123456789";
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

fn gemini_answer() -> serde_json::Value {
    json!({
        "candidates": [{
            "content": {"role": "model", "parts": [{"text": "Imagine teaching a dog a trick."}]},
            "finishReason": "STOP",
            "index": 0
        }],
        "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 205, "totalTokenCount": 213},
        "modelVersion": "gemini-1.5-flash-latest",
        "responseId": "aGLEaMjbLp6p_uMPopeAoAc"
    })
}

fn seed_request() -> serde_json::Value {
    json!({
        "model": "",
        "messages": [{"role": "user", "content": "Explain how AI works in simple terms."}]
    })
}

/// Serves `config` (objects or a sluice config) on a free port with `GOOGLE_KEY` set.
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

    // The seed's answer: an OpenAI chat.completion.
    assert_eq!(resp.status, 200, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["id"], "aGLEaMjbLp6p_uMPopeAoAc");
    assert_eq!(body["model"], "gemini-1.5-flash-latest");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Imagine teaching a dog a trick."
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["usage"]["prompt_tokens"], 8);
    assert_eq!(body["usage"]["completion_tokens"], 205);
    assert_eq!(body["usage"]["total_tokens"], 213);

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

    // The log line: the seed's keys in the seed's order, and the seed's identities.
    let line = &gw.wait_for_request_logs(1, WAIT).await[0];
    assert_eq!(
        (line.level.as_str(), line.message.as_str()),
        ("info", "request")
    );
    assert_eq!(
        line.keys(),
        [
            "gateway",
            "listener",
            "route",
            "endpoint",
            "src.addr",
            "http.method",
            "http.host",
            "http.path",
            "http.version",
            "http.status",
            "trace.id",
            "span.id",
            "llm.provider",
            "llm.request.model",
            "llm.request.tokens",
            "llm.response.model",
            "llm.response.tokens",
            "duration",
        ]
    );
    let endpoint = format!("127.0.0.1:{}", upstream.addr().port());
    assert_eq!(line.get("gateway"), Some("kgateway-system/agentgateway"));
    assert_eq!(line.get("listener"), Some("http"));
    assert_eq!(line.get("route"), Some("kgateway-system/google"));
    assert_eq!(line.get("endpoint"), Some(endpoint.as_str()));
    assert_eq!(line.get("http.method"), Some("POST"));
    assert_eq!(line.get("http.path"), Some("/gemini"));
    assert_eq!(line.get("http.version"), Some("HTTP/1.1"));
    assert_eq!(line.get("http.status"), Some("200"));
    assert_eq!(line.get("llm.provider"), Some("gemini"));
    assert_eq!(line.get("llm.request.model"), Some(""));
    assert_eq!(line.get("llm.request.tokens"), Some("8"));
    assert_eq!(
        line.get("llm.response.model"),
        Some("gemini-1.5-flash-latest")
    );
    assert_eq!(line.get("llm.response.tokens"), Some("205"));
    let trace_id = line.get("trace.id").unwrap().to_string();
    let span_id = line.get("span.id").unwrap().to_string();
    assert_eq!(trace_id.len(), 32);
    assert_eq!(span_id.len(), 16);

    // The span, as the seed's collector printed it: the log line's attributes typed, then
    // url.scheme, network.protocol.version and the ConfigMap's fields.
    let span = otlp.wait_for_span_named("POST /gemini", WAIT).await;
    assert!(span.is_server());
    assert_eq!(
        (span.trace_id.as_str(), span.span_id.as_str()),
        (trace_id.as_str(), span_id.as_str())
    );
    assert_eq!(span.parent_span_id, "");
    let s = |v: &str| AttrValue::Str(v.into());
    let expected: Vec<(&str, AttrValue)> = vec![
        ("gateway", s("kgateway-system/agentgateway")),
        ("listener", s("http")),
        ("route", s("kgateway-system/google")),
        ("endpoint", s(&endpoint)),
        ("src.addr", s(line.get("src.addr").unwrap())),
        ("http.method", s("POST")),
        ("http.host", s(line.get("http.host").unwrap())),
        ("http.path", s("/gemini")),
        ("http.version", s("HTTP/1.1")),
        ("http.status", AttrValue::Int(200)),
        ("trace.id", s(&trace_id)),
        ("span.id", s(&span_id)),
        ("llm.provider", s("gemini")),
        ("llm.request.model", s("")),
        ("llm.request.tokens", AttrValue::Int(8)),
        ("llm.response.model", s("gemini-1.5-flash-latest")),
        ("llm.response.tokens", AttrValue::Int(205)),
        ("duration", s(line.get("duration").unwrap())),
        ("url.scheme", s("http")),
        ("network.protocol.version", s("1.1")),
        ("gen_ai.operation.name", s("chat")),
        ("gen_ai.system", s("gemini")),
        ("gen_ai.request.model", s("")),
        ("gen_ai.response.model", s("gemini-1.5-flash-latest")),
        ("gen_ai.usage.completion_tokens", AttrValue::Int(205)),
        ("gen_ai.usage.prompt_tokens", AttrValue::Int(8)),
    ];
    let got: Vec<(&str, AttrValue)> = span
        .attributes
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    assert_eq!(got, expected);
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
