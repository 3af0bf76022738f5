//! The seed, end to end: the agentgateway tracing page's `/gemini` route with sluice in
//! agentgateway's place. A mock Gemini upstream on port 0 and a real OTLP receiver; asserts on
//! the translated upstream request, the client's response, the log line (every key, in order)
//! and the span (every attribute, with its type).

use std::time::Duration;

use serde_json::json;
use sluice_tests::http::post_json;
use sluice_tests::seed::{
    assert_seed_answer, assert_seed_line_and_span, gemini_answer, seed_request, SeedIdentity,
    GOOGLE_KEY,
};
use sluice_tests::{Gateway, MockUpstream, OtlpReceiver, Ports, Reply};

const WAIT: Duration = Duration::from_secs(10);

const SEED_CONFIG: &str = r#"
name: sluice
config:
  adminAddr: {{admin}}
  tracing:
    otlpEndpoint: {{otlp}}
    otlpProtocol: {{protocol}}
    headers:
      Authorization: "Basic c2VjcmV0OnZhbHVl"
    randomSampling: true
    fields:
      add:
        gen_ai.operation.name: '"chat"'
        gen_ai.system: "llm.provider"
        gen_ai.request.model: "llm.requestModel"
        gen_ai.response.model: "llm.responseModel"
        gen_ai.usage.completion_tokens: "llm.outputTokens"
        gen_ai.usage.prompt_tokens: "llm.inputTokens"
listeners:
  - name: http
    bind: {{listener}}
    routes:
      - name: google
        match: {pathPrefix: /gemini}
        backend: google
backends:
  - name: google
    provider: gemini
    model: gemini-1.5-flash-latest
    apiVersion: v1beta
    apiKey: $GOOGLE_KEY
    baseUrl: {{upstream}}
"#;

async fn start(protocol: &str, otlp: &OtlpReceiver, upstream: &MockUpstream) -> Gateway {
    start_edited(protocol, otlp, upstream, |yaml| yaml).await
}

/// Starts the seed config after `edit` has changed its text.
async fn start_edited(
    protocol: &str,
    otlp: &OtlpReceiver,
    upstream: &MockUpstream,
    edit: impl FnOnce(String) -> String,
) -> Gateway {
    let yaml = Ports::new().render(
        SEED_CONFIG,
        &[
            ("otlp", &otlp.endpoint()),
            ("protocol", protocol),
            ("upstream", &upstream.base_url()),
        ],
    );
    Gateway::builder(&edit(yaml))
        .env("GOOGLE_KEY", GOOGLE_KEY)
        .start()
        .await
}

#[tokio::test]
async fn seed_walkthrough_grpc() {
    let otlp = OtlpReceiver::start_grpc().await;
    let upstream = MockUpstream::start(Reply::json(200, &gemini_answer())).await;
    let gw = start("grpc", &otlp, &upstream).await;

    let resp = post_json(
        &format!("{}/gemini", gw.base_url()),
        &seed_request(),
        &[("authorization", "Bearer client-own-key")],
    )
    .await;

    assert_seed_answer(&resp);

    // The upstream request: translated to generateContent, the gateway's key, not the client's.
    let reqs = upstream.wait_for_requests(1, WAIT).await;
    let up = &reqs[0];
    assert_eq!(up.method, "POST");
    assert_eq!(
        up.path,
        "/v1beta/models/gemini-1.5-flash-latest:generateContent"
    );
    assert_eq!(up.header("x-goog-api-key"), Some(GOOGLE_KEY));
    assert_eq!(
        up.header("authorization"),
        None,
        "the client's key must not reach the provider"
    );
    assert_eq!(up.header("content-type"), Some("application/json"));
    assert_eq!(
        up.json(),
        json!({"contents": [{"role": "user", "parts": [{"text": "Explain how AI works in simple terms."}]}]})
    );

    // The log line and the span, as the seed shows them.
    let logs = gw.wait_for_request_logs(1, WAIT).await;
    let span = otlp.wait_for_span_named("POST /gemini", WAIT).await;
    let upstream_endpoint = format!("127.0.0.1:{}", upstream.addr().port());
    let who = SeedIdentity {
        gateway: "sluice",
        route: "google",
        endpoint: &upstream_endpoint,
    };
    let (trace_id, span_id) = assert_seed_line_and_span(&logs[0], &span, &who);

    // The upstream saw our span as its parent.
    let traceparent = up.header("traceparent").expect("upstream traceparent");
    assert_eq!(traceparent, format!("00-{trace_id}-{span_id}-01"));
    assert_eq!(
        span.resource_attr("service.name").and_then(|v| v.as_str()),
        Some("sluice")
    );
    // gRPC metadata carries the configured headers.
    let exports = otlp.exports();
    assert_eq!(
        exports[0].header("authorization"),
        Some("Basic c2VjcmV0OnZhbHVl")
    );

    // The key never shows in the gateway's output, nor in /config.
    assert!(!gw.log_lines().iter().any(|l| l.contains(GOOGLE_KEY)));
    let config = sluice_tests::http::get(&format!("{}/config", gw.admin_url())).await;
    assert_eq!(config.status, 200);
    let text = config.text();
    assert!(
        !text.contains(GOOGLE_KEY) && !text.contains("c2VjcmV0OnZhbHVl"),
        "{text}"
    );
    let v = config.json();
    assert_eq!(v["backends"][0]["apiKey"], "<redacted>");
    assert_eq!(v["backends"][0]["model"], "gemini-1.5-flash-latest");
    assert_eq!(
        v["config"]["tracing"]["headers"]["Authorization"],
        "<redacted>"
    );
    assert_eq!(
        v["listeners"][0]["routes"][0]["match"]["pathPrefix"],
        "/gemini"
    );
}

#[tokio::test]
async fn seed_walkthrough_otlp_http_appends_v1_traces_and_sends_headers() {
    let otlp = OtlpReceiver::start_http().await;
    let upstream = MockUpstream::start(Reply::json(200, &gemini_answer())).await;
    let gw = start("http", &otlp, &upstream).await;

    let resp = post_json(&format!("{}/gemini", gw.base_url()), &seed_request(), &[]).await;
    assert_eq!(resp.status, 200, "{}", resp.text());

    let span = otlp.wait_for_span_named("POST /gemini", WAIT).await;
    assert_eq!(span.int_attr("llm.response.tokens"), Some(205));
    assert_eq!(span.str_attr("gen_ai.system"), Some("gemini"));
    let exports = otlp.wait_for_exports(1, WAIT).await;
    assert_eq!(exports[0].path, "/v1/traces");
    assert_eq!(
        exports[0].header("authorization"),
        Some("Basic c2VjcmV0OnZhbHVl")
    );
}

#[tokio::test]
async fn incoming_traceparent_continues_the_callers_trace() {
    let otlp = OtlpReceiver::start_grpc().await;
    let upstream = MockUpstream::start(Reply::json(200, &gemini_answer())).await;
    let gw = start("grpc", &otlp, &upstream).await;
    let parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let resp = post_json(
        &format!("{}/gemini/v1/chat/completions", gw.base_url()),
        &seed_request(),
        &[("traceparent", parent)],
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let span = otlp.wait_for_span_named("POST /gemini", WAIT).await;
    assert_eq!(span.trace_id, "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(span.parent_span_id, "b7ad6b7169203331");
    let up = &upstream.wait_for_requests(1, WAIT).await[0];
    let tp = up.header("traceparent").unwrap();
    assert_eq!(
        tp,
        format!("00-0af7651916cd43dd8448eb211c80319c-{}-01", span.span_id)
    );
}

#[tokio::test]
async fn sigterm_flushes_queued_spans_before_exit() {
    let otlp = OtlpReceiver::start_grpc().await;
    let upstream = MockUpstream::start(Reply::json(200, &gemini_answer())).await;
    let mut gw = start("grpc", &otlp, &upstream).await;
    let resp = post_json(&format!("{}/gemini", gw.base_url()), &seed_request(), &[]).await;
    assert_eq!(resp.status, 200);
    // At once, before the exporter's batch interval: the drain must flush the span.
    gw.send_signal(libc::SIGTERM);
    let status = gw.wait_exit(WAIT).await.expect("gateway exited");
    assert!(status.success());
    let spans = otlp.spans();
    assert_eq!(spans.len(), 1, "the queued span was flushed before exit");
    assert_eq!(spans[0].name, "POST /gemini");
}

#[tokio::test]
async fn upstream_connections_are_pooled_and_fields_remove_drops_attributes() {
    let otlp = OtlpReceiver::start_grpc().await;
    let upstream = MockUpstream::start(Reply::json(200, &gemini_answer())).await;
    let gw = start_edited("grpc", &otlp, &upstream, |yaml| {
        yaml.replace(
            "        gen_ai.usage.prompt_tokens: \"llm.inputTokens\"\n",
            "        gen_ai.usage.prompt_tokens: \"llm.inputTokens\"\n      remove: [src.addr, gen_ai.request.model]\n  logging:\n    fields:\n      add: {llm.total: 'llm.total_tokens'}\n      remove: [endpoint]\n",
        )
    })
    .await;
    for _ in 0..3 {
        let r = post_json(&format!("{}/gemini", gw.base_url()), &seed_request(), &[]).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let reqs = upstream.wait_for_requests(3, WAIT).await;
    assert!(
        reqs.iter().all(|r| r.peer == reqs[0].peer),
        "keep-alive: one pooled upstream connection, got peers {:?}",
        reqs.iter().map(|r| r.peer).collect::<Vec<_>>()
    );
    let span = otlp.wait_for_span_named("POST /gemini", WAIT).await;
    assert!(span.attr("src.addr").is_none());
    assert!(span.attr("gen_ai.request.model").is_none());
    assert_eq!(span.str_attr("gen_ai.system"), Some("gemini"));
    let log = &gw.wait_for_request_logs(1, WAIT).await[0];
    assert!(!log.has("endpoint"));
    assert_eq!(log.get("llm.total"), Some("213"));
    assert_eq!(log.keys().last(), Some(&"llm.total"));
}

#[tokio::test]
async fn otel_env_endpoint_gzip_and_tracestate() {
    let otlp = OtlpReceiver::start_http().await;
    let upstream = MockUpstream::start(Reply::json(200, &gemini_answer())).await;
    let yaml = Ports::new().render(
        "config:\n  adminAddr: {{admin}}\n  tracing: {}\nlisteners:\n  - name: http\n    bind: {{listener}}\n    routes:\n      - name: google\n        match: {pathPrefix: /gemini}\n        backend: google\nbackends:\n  - name: google\n    provider: gemini\n    model: gemini-1.5-flash-latest\n    apiKey: k\n    baseUrl: {{upstream}}\n",
        &[
            ("upstream", &upstream.base_url()),
        ],
    );
    let gw = Gateway::builder(&yaml)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &otlp.endpoint())
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        .env("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
        .env("OTEL_SERVICE_NAME", "edge-gateway")
        .env("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")
        .start()
        .await;
    let resp = post_json(
        &format!("{}/gemini", gw.base_url()),
        &seed_request(),
        &[
            (
                "traceparent",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            ),
            ("tracestate", "vendor=abc"),
        ],
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let span = otlp.wait_for_span_named("POST /gemini", WAIT).await;
    assert_eq!(span.trace_id, "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(
        span.resource_attr("service.name").and_then(|v| v.as_str()),
        Some("edge-gateway")
    );
    assert_eq!(
        span.resource_attr("deployment.environment")
            .and_then(|v| v.as_str()),
        Some("test")
    );
    let export = &otlp.wait_for_exports(1, WAIT).await[0];
    assert_eq!(export.path, "/v1/traces");
    assert_eq!(export.header("content-encoding"), Some("gzip"));
    let up = &upstream.wait_for_requests(1, WAIT).await[0];
    assert_eq!(up.header("tracestate"), Some("vendor=abc"));
}
