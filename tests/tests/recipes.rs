//! The seed's five tracing recipes, run verbatim end to end, plus sampling, JSON logs, a slow
//! collector and `fields.remove` on the GenAI defaults.
//!
//! Every recipe's `tracing:` block is pasted exactly as the seed page prints it (indentation and
//! trailing spaces included); only the collector address (and Langfuse's credentials) change to
//! point at an in-process OTLP receiver. The route goes to a mock Gemini upstream; each test
//! asserts every attribute the recipe adds, with its exact value and OTLP type.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use prost::Message;
use serde_json::{json, Value};
use sluice_tests::http::{post_json, Response};
use sluice_tests::otlp::{spans_of, AttrValue, ReceivedSpan};
use sluice_tests::serve::{bind_local, spawn_http1, BoxError};
use sluice_tests::{Gateway, MockUpstream, OtlpReceiver, Ports, Reply};

const WAIT: Duration = Duration::from_secs(10);
const GOOGLE_KEY: &str = "test-google-key-0123456789";

// ---------------------------------------------------------------------------------------------
// The recipes, verbatim from /work/shared/seed/agentgateway-tracing-docs.txt (from `tracing:`
// down to the last `fields.add` line, with the seed's own indentation and trailing spaces).
// ---------------------------------------------------------------------------------------------

/// "Configure your proxy": the default ConfigMap.
const RECIPE_DEFAULT: &str = r#"          tracing:
            otlpEndpoint: http://opentelemetry-collector-traces.telemetry.svc.cluster.local:4317
            otlpProtocol: grpc
            randomSampling: true
            fields:
              add:
                gen_ai.operation.name: '"chat"'
                gen_ai.system: "llm.provider"
                gen_ai.request.model: "llm.requestModel"
                gen_ai.response.model: "llm.responseModel"
                gen_ai.usage.completion_tokens: "llm.outputTokens"
                gen_ai.usage.prompt_tokens: "llm.inputTokens"    
"#;
const RECIPE_DEFAULT_ENDPOINT: &str =
    "http://opentelemetry-collector-traces.telemetry.svc.cluster.local:4317";

const RECIPE_JAEGER: &str = r#"      tracing:
        otlpEndpoint: http://jaeger-collector.jaeger.svc.cluster.local:4317
        otlpProtocol: grpc
        randomSampling: true
        fields:
          add:
            gen_ai.operation.name: '"chat"'
            gen_ai.system: "llm.provider"
            gen_ai.request.model: "llm.request_model"
            gen_ai.response.model: "llm.response_model"
            gen_ai.usage.completion_tokens: "llm.output_tokens"
            gen_ai.usage.prompt_tokens: "llm.input_tokens"    
"#;
const RECIPE_JAEGER_ENDPOINT: &str = "http://jaeger-collector.jaeger.svc.cluster.local:4317";

const RECIPE_LANGFUSE: &str = r#"      tracing:
        otlpEndpoint: https://us.cloud.langfuse.com/api/public/otel
        otlpProtocol: http
        headers:
          Authorization: "Basic <base64-encoded-credentials>"
        randomSampling: true
        fields:
          add:
            gen_ai.operation.name: '"chat"'
            gen_ai.system: "llm.provider"
            gen_ai.prompt: "llm.prompt"
            gen_ai.completion: 'llm.completion.map(c, {"role":"assistant", "content": c})'
            gen_ai.usage.completion_tokens: "llm.output_tokens"
            gen_ai.usage.prompt_tokens: "llm.input_tokens"
            gen_ai.request.model: "llm.request_model"
            gen_ai.response.model: "llm.response_model"
            gen_ai.request: "flatten(llm.params)"    
"#;
const RECIPE_LANGFUSE_ENDPOINT: &str = "https://us.cloud.langfuse.com/api/public/otel";
/// base64("pk-lf-1234:sk-lf-5678"), in place of the seed's `<base64-encoded-credentials>`.
const LANGFUSE_CREDENTIALS: &str = "cGstbGYtMTIzNDpzay1sZi01Njc4";

const RECIPE_PHOENIX: &str = r#"      tracing:
        otlpEndpoint: http://localhost:4317
        randomSampling: true
        fields:
          add:
            span.name: '"openai.chat"'
            openinference.span.kind: '"LLM"'
            llm.system: "llm.provider"
            llm.input_messages: 'flatten_recursive(llm.prompt.map(c, {"message": c}))'
            llm.output_messages: 'flatten_recursive(llm.completion.map(c, {"role":"assistant", "content": c}))'
            llm.token_count.completion: "llm.output_tokens"
            llm.token_count.prompt: "llm.input_tokens"
            llm.token_count.total: "llm.total_tokens"    
"#;
const RECIPE_PHOENIX_ENDPOINT: &str = "http://localhost:4317";

const RECIPE_OPENLLMETRY: &str = r#"      tracing:
        otlpEndpoint: http://localhost:4317
        randomSampling: true
        fields:
          add:
            span.name: '"openai.chat"'
            gen_ai.operation.name: '"chat"'
            gen_ai.system: "llm.provider"
            gen_ai.prompt: "flatten_recursive(llm.prompt)"
            gen_ai.completion: 'flatten_recursive(llm.completion.map(c, {"role":"assistant", "content": c}))'
            gen_ai.usage.completion_tokens: "llm.output_tokens"
            gen_ai.usage.prompt_tokens: "llm.input_tokens"
            gen_ai.request.model: "llm.request_model"
            gen_ai.response.model: "llm.response_model"
            gen_ai.request: "flatten(llm.params)"
            llm.is_streaming: "llm.streaming"    
"#;
const RECIPE_OPENLLMETRY_ENDPOINT: &str = "http://localhost:4317";

/// The rest of the config around a recipe; `{{tracing}}` is the recipe block, whose first line
/// sets the indentation of `config:`'s children (so `adminAddr` and `logging` follow it).
const AROUND: &str = r#"name: sluice
config:
{{indent}}adminAddr: {{admin}}
{{extra}}{{tracing}}listeners:
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

// ---------------------------------------------------------------------------------------------
// The request, the mock Gemini answers and what they must turn into.
// ---------------------------------------------------------------------------------------------

const SYSTEM: &str = "You are a terse assistant.";
const USER: &str = "Explain how AI works in simple terms.";
const REQUEST_MODEL: &str = "gemini-1.5-flash-latest";
/// With a quote, so the JSON text of `gen_ai.completion` must escape it.
const ANSWER: &str = "AI finds \"patterns\" in data.";
const RESPONSE_MODEL: &str = "gemini-1.5-flash-002";
const PROMPT_TOKENS: i64 = 21;
const COMPLETION_TOKENS: i64 = 7;
const TOTAL_TOKENS: i64 = 28;

/// The streamed answer (the provider fixture `gemini/stream_text.gemini.sse`).
const STREAM_EVENTS: [&str; 3] = [
    r#"{"candidates": [{"content": {"parts": [{"text": "AI"}],"role": "model"}}],"usageMetadata": {"promptTokenCount": 8,"totalTokenCount": 8,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 8}]},"modelVersion": "gemini-2.0-flash","responseId": "fJxXaO2aL4yDz7IP5ef9oQk"}"#,
    r#"{"candidates": [{"content": {"parts": [{"text": " learns patterns from data — "}],"role": "model"}}],"usageMetadata": {"promptTokenCount": 8,"candidatesTokenCount": 7,"totalTokenCount": 15},"modelVersion": "gemini-2.0-flash","responseId": "fJxXaO2aL4yDz7IP5ef9oQk"}"#,
    r#"{"candidates": [{"content": {"parts": [{"text": "then predicts. ✨"}],"role": "model"},"finishReason": "STOP"}],"usageMetadata": {"promptTokenCount": 8,"candidatesTokenCount": 12,"totalTokenCount": 20},"modelVersion": "gemini-2.0-flash","responseId": "fJxXaO2aL4yDz7IP5ef9oQk"}"#,
];
const STREAM_TEXT: &str = "AI learns patterns from data — then predicts. ✨";

fn gemini_answer() -> Value {
    json!({
        "candidates": [{
            "content": {"role": "model", "parts": [{"text": ANSWER}]},
            "finishReason": "STOP",
            "index": 0
        }],
        "usageMetadata": {
            "promptTokenCount": PROMPT_TOKENS,
            "candidatesTokenCount": COMPLETION_TOKENS,
            "totalTokenCount": TOTAL_TOKENS
        },
        "modelVersion": RESPONSE_MODEL,
        "responseId": "recipe-response-1"
    })
}

fn chat_request(stream: bool) -> Value {
    let mut req = json!({
        "model": REQUEST_MODEL,
        "temperature": 0.2,
        "max_tokens": 100,
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": USER}
        ]
    });
    if stream {
        req["stream"] = json!(true);
        req["stream_options"] = json!({"include_usage": true});
    }
    req
}

/// A mock Gemini: `streamGenerateContent` gets the SSE answer, anything else the JSON one.
async fn gemini_upstream() -> MockUpstream {
    MockUpstream::start_with_handler(|req| {
        if req.path.contains(":streamGenerateContent") {
            Reply::sse(&STREAM_EVENTS, Duration::from_millis(5))
        } else {
            Reply::json(200, &gemini_answer())
        }
    })
    .await
}

/// The recipe block with its endpoint replaced, indented one level under `config:`.
fn recipe_with_endpoint(recipe: &str, seed_endpoint: &str, endpoint: &str) -> String {
    assert!(recipe.contains(seed_endpoint), "the recipe's own endpoint");
    recipe.replacen(seed_endpoint, endpoint, 1)
}

/// The full config around a recipe block; `extra` goes under `config:` (already indented).
fn config(tracing: &str, extra: &str, upstream: &MockUpstream) -> String {
    let indent: String = tracing.chars().take_while(|c| *c == ' ').collect();
    Ports::new().render(
        AROUND,
        &[
            ("indent", &indent),
            ("extra", extra),
            ("tracing", tracing),
            ("upstream", &upstream.base_url()),
        ],
    )
}

async fn start_gateway(yaml: &str) -> Gateway {
    Gateway::builder(yaml)
        .env("GOOGLE_KEY", GOOGLE_KEY)
        .start()
        .await
}

async fn send(gw: &Gateway, body: &Value, headers: &[(&str, &str)]) -> Response {
    let resp = post_json(&format!("{}/gemini", gw.base_url()), body, headers).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp
}

fn s(v: &str) -> AttrValue {
    AttrValue::Str(v.to_string())
}

/// The span's standard attributes (log line keys, then `url.scheme` and
/// `network.protocol.version`), in the contract's order, for a non-streamed answer unless the
/// token counts and response model say otherwise.
fn assert_standard_attributes(
    span: &ReceivedSpan,
    upstream: &MockUpstream,
    input_tokens: i64,
    response_model: &str,
    output_tokens: i64,
) {
    let src = span
        .str_attr("src.addr")
        .expect("src.addr is a string")
        .to_string();
    assert!(src.starts_with("127.0.0.1:"), "src.addr {src}");
    let duration = span
        .str_attr("duration")
        .expect("duration is a string")
        .to_string();
    assert!(
        duration.ends_with("ms") && duration[..duration.len() - 2].parse::<u64>().is_ok(),
        "duration {duration}"
    );
    let expected: Vec<(&str, AttrValue)> = vec![
        ("gateway", s("sluice")),
        ("listener", s("http")),
        ("route", s("google")),
        (
            "endpoint",
            s(&format!("127.0.0.1:{}", upstream.addr().port())),
        ),
        ("src.addr", s(&src)),
        ("http.method", s("POST")),
        ("http.host", s("127.0.0.1")),
        ("http.path", s("/gemini")),
        ("http.version", s("HTTP/1.1")),
        ("http.status", AttrValue::Int(200)),
        ("trace.id", s(&span.trace_id)),
        ("span.id", s(&span.span_id)),
        ("llm.provider", s("gemini")),
        ("llm.request.model", s(REQUEST_MODEL)),
        ("llm.request.tokens", AttrValue::Int(input_tokens)),
        ("llm.response.model", s(response_model)),
        ("llm.response.tokens", AttrValue::Int(output_tokens)),
        ("duration", s(&duration)),
    ];
    // `llm.cost` ends the log line's keys when the model has a price: gemini-2.0-flash (the
    // streamed answer's model) at 0.10 input and 0.40 output USD per million tokens, to 10
    // significant digits; the seed's gemini-1.5 models have none.
    let mut expected = expected;
    if response_model == "gemini-2.0-flash" {
        let usd = (input_tokens as f64 * 0.10 + output_tokens as f64 * 0.40) / 1e6;
        let usd: f64 = format!("{usd:.9e}").parse().unwrap();
        expected.push(("llm.cost", AttrValue::Double(usd)));
    }
    expected.push(("url.scheme", s("http")));
    expected.push(("network.protocol.version", s("1.1")));
    let got: Vec<(&str, AttrValue)> = span
        .attributes
        .iter()
        .take(expected.len())
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    assert_eq!(got, expected, "standard attributes of span {span:#?}");
    assert!(span.is_server(), "span kind");
    assert!(span.is_root());
}

/// Everything after the standard attributes must be exactly `recipe` (any order, each key once,
/// each with its value and type).
fn assert_recipe_attributes(span: &ReceivedSpan, recipe: &[(&str, AttrValue)]) {
    // The standard attributes, `llm.cost` among them when the model has a price.
    let standard = 20 + usize::from(span.attributes.iter().any(|(k, _)| k == "llm.cost"));
    let extra: Vec<(String, AttrValue)> = span.attributes[standard.min(span.attributes.len())..]
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut got: BTreeMap<String, AttrValue> = BTreeMap::new();
    for (k, v) in &extra {
        assert!(
            got.insert(k.clone(), v.clone()).is_none(),
            "attribute {k} appears twice: {:#?}",
            span.attributes
        );
    }
    let want: BTreeMap<String, AttrValue> = recipe
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    assert_eq!(want.len(), recipe.len(), "test bug: duplicate expected key");
    assert_eq!(
        got, want,
        "the recipe's attributes (left: on the span, right: expected)"
    );
    let keys: Vec<&str> = span.attr_keys();
    let mut dedup = keys.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(
        dedup.len(),
        keys.len(),
        "duplicate keys on the span: {keys:?}"
    );
}

fn json_text(v: &Value) -> AttrValue {
    AttrValue::Str(serde_json::to_string(v).unwrap())
}

// ---------------------------------------------------------------------------------------------
// 1. The five recipes.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn recipe_default_configmap() {
    let otlp = OtlpReceiver::start_grpc().await;
    let upstream = gemini_upstream().await;
    let tracing = recipe_with_endpoint(RECIPE_DEFAULT, RECIPE_DEFAULT_ENDPOINT, &otlp.endpoint());
    let gw = start_gateway(&config(&tracing, "", &upstream)).await;
    send(&gw, &chat_request(false), &[]).await;

    let span = otlp.wait_for_span_named("POST /gemini", WAIT).await;
    assert_standard_attributes(
        &span,
        &upstream,
        PROMPT_TOKENS,
        RESPONSE_MODEL,
        COMPLETION_TOKENS,
    );
    assert_recipe_attributes(
        &span,
        &[
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.system", s("gemini")),
            ("gen_ai.request.model", s(REQUEST_MODEL)),
            ("gen_ai.response.model", s(RESPONSE_MODEL)),
            (
                "gen_ai.usage.completion_tokens",
                AttrValue::Int(COMPLETION_TOKENS),
            ),
            ("gen_ai.usage.prompt_tokens", AttrValue::Int(PROMPT_TOKENS)),
        ],
    );
    // The log line's trace and span ids are the span's.
    let log = &gw.wait_for_request_logs(1, WAIT).await[0];
    assert_eq!(log.get("trace.id"), Some(span.trace_id.as_str()));
    assert_eq!(log.get("span.id"), Some(span.span_id.as_str()));
}

#[tokio::test]
async fn recipe_jaeger() {
    let otlp = OtlpReceiver::start_grpc().await;
    let upstream = gemini_upstream().await;
    let tracing = recipe_with_endpoint(RECIPE_JAEGER, RECIPE_JAEGER_ENDPOINT, &otlp.endpoint());
    let gw = start_gateway(&config(&tracing, "", &upstream)).await;
    send(&gw, &chat_request(false), &[]).await;

    let span = otlp.wait_for_span_named("POST /gemini", WAIT).await;
    assert_standard_attributes(
        &span,
        &upstream,
        PROMPT_TOKENS,
        RESPONSE_MODEL,
        COMPLETION_TOKENS,
    );
    assert_recipe_attributes(
        &span,
        &[
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.system", s("gemini")),
            ("gen_ai.request.model", s(REQUEST_MODEL)),
            ("gen_ai.response.model", s(RESPONSE_MODEL)),
            (
                "gen_ai.usage.completion_tokens",
                AttrValue::Int(COMPLETION_TOKENS),
            ),
            ("gen_ai.usage.prompt_tokens", AttrValue::Int(PROMPT_TOKENS)),
        ],
    );
    assert_eq!(span.int_attr("gen_ai.usage.completion_tokens"), Some(7));
    assert_eq!(
        span.str_attr("gen_ai.request.model"),
        Some("gemini-1.5-flash-latest")
    );
}

#[tokio::test]
async fn recipe_langfuse_over_otlp_http() {
    let otlp = OtlpReceiver::start_http().await;
    let upstream = gemini_upstream().await;
    let endpoint = format!("{}/api/public/otel", otlp.endpoint());
    let tracing = recipe_with_endpoint(RECIPE_LANGFUSE, RECIPE_LANGFUSE_ENDPOINT, &endpoint)
        .replacen("<base64-encoded-credentials>", LANGFUSE_CREDENTIALS, 1);
    let gw = start_gateway(&config(&tracing, "", &upstream)).await;
    send(&gw, &chat_request(false), &[]).await;

    let span = otlp.wait_for_span_named("POST /gemini", WAIT).await;
    assert_standard_attributes(
        &span,
        &upstream,
        PROMPT_TOKENS,
        RESPONSE_MODEL,
        COMPLETION_TOKENS,
    );
    let prompt = json_text(&json!([
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": USER}
    ]));
    let completion = json_text(&json!([{"role": "assistant", "content": ANSWER}]));
    // Spelled out too, so the expected text does not depend on serde_json.
    assert_eq!(
        completion,
        s(r#"[{"role":"assistant","content":"AI finds \"patterns\" in data."}]"#)
    );
    assert_recipe_attributes(
        &span,
        &[
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.system", s("gemini")),
            ("gen_ai.prompt", prompt),
            ("gen_ai.completion", completion),
            (
                "gen_ai.usage.completion_tokens",
                AttrValue::Int(COMPLETION_TOKENS),
            ),
            ("gen_ai.usage.prompt_tokens", AttrValue::Int(PROMPT_TOKENS)),
            ("gen_ai.request.model", s(REQUEST_MODEL)),
            ("gen_ai.response.model", s(RESPONSE_MODEL)),
            ("gen_ai.request.temperature", AttrValue::Double(0.2)),
            ("gen_ai.request.max_tokens", AttrValue::Int(100)),
        ],
    );
    assert_eq!(span.double_attr("gen_ai.request.temperature"), Some(0.2));
    // The gen_ai.prompt text is valid JSON that round-trips to the client's messages.
    let parsed: Value = serde_json::from_str(span.str_attr("gen_ai.prompt").unwrap()).unwrap();
    assert_eq!(parsed[0]["role"], "system");
    assert_eq!(parsed[1]["content"], USER);

    // Langfuse's OTLP ingest path and the Basic credentials.
    let exports = otlp.wait_for_exports(1, WAIT).await;
    let with_span: Vec<_> = exports.iter().filter(|e| e.span_count > 0).collect();
    assert!(!with_span.is_empty(), "{exports:#?}");
    for e in &exports {
        assert_eq!(e.path, "/api/public/otel/v1/traces");
        assert_eq!(
            e.header("authorization"),
            Some(format!("Basic {LANGFUSE_CREDENTIALS}").as_str())
        );
        assert_eq!(e.status, 200);
    }
}

#[tokio::test]
async fn recipe_phoenix_openinference() {
    let otlp = OtlpReceiver::start_grpc().await;
    let upstream = gemini_upstream().await;
    let tracing = recipe_with_endpoint(RECIPE_PHOENIX, RECIPE_PHOENIX_ENDPOINT, &otlp.endpoint());
    let gw = start_gateway(&config(&tracing, "", &upstream)).await;
    send(&gw, &chat_request(false), &[]).await;

    // span.name renames the span and is not itself an attribute.
    let span = otlp.wait_for_span_named("openai.chat", WAIT).await;
    assert_eq!(otlp.spans().len(), 1);
    assert!(span.attr("span.name").is_none());
    assert_standard_attributes(
        &span,
        &upstream,
        PROMPT_TOKENS,
        RESPONSE_MODEL,
        COMPLETION_TOKENS,
    );
    assert_recipe_attributes(
        &span,
        &[
            ("openinference.span.kind", s("LLM")),
            ("llm.system", s("gemini")),
            ("llm.input_messages.0.message.role", s("system")),
            ("llm.input_messages.0.message.content", s(SYSTEM)),
            ("llm.input_messages.1.message.role", s("user")),
            ("llm.input_messages.1.message.content", s(USER)),
            ("llm.output_messages.0.role", s("assistant")),
            ("llm.output_messages.0.content", s(ANSWER)),
            (
                "llm.token_count.completion",
                AttrValue::Int(COMPLETION_TOKENS),
            ),
            ("llm.token_count.prompt", AttrValue::Int(PROMPT_TOKENS)),
            ("llm.token_count.total", AttrValue::Int(TOTAL_TOKENS)),
        ],
    );
}

#[tokio::test]
async fn recipe_openllmetry_plain_and_streamed() {
    let otlp = OtlpReceiver::start_grpc().await;
    let upstream = gemini_upstream().await;
    let tracing = recipe_with_endpoint(
        RECIPE_OPENLLMETRY,
        RECIPE_OPENLLMETRY_ENDPOINT,
        &otlp.endpoint(),
    );
    let gw = start_gateway(&config(&tracing, "", &upstream)).await;

    // Not streamed.
    send(&gw, &chat_request(false), &[]).await;
    let span = otlp.wait_for_span_named("openai.chat", WAIT).await;
    assert!(span.attr("span.name").is_none());
    assert_standard_attributes(
        &span,
        &upstream,
        PROMPT_TOKENS,
        RESPONSE_MODEL,
        COMPLETION_TOKENS,
    );
    let common = |completion: &str, input: i64, output: i64, model: &str, streaming: bool| {
        vec![
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.system", s("gemini")),
            ("gen_ai.prompt.0.role", s("system")),
            ("gen_ai.prompt.0.content", s(SYSTEM)),
            ("gen_ai.prompt.1.role", s("user")),
            ("gen_ai.prompt.1.content", s(USER)),
            ("gen_ai.completion.0.role", s("assistant")),
            ("gen_ai.completion.0.content", s(completion)),
            ("gen_ai.usage.completion_tokens", AttrValue::Int(output)),
            ("gen_ai.usage.prompt_tokens", AttrValue::Int(input)),
            ("gen_ai.request.model", s(REQUEST_MODEL)),
            ("gen_ai.response.model", s(model)),
            ("gen_ai.request.temperature", AttrValue::Double(0.2)),
            ("gen_ai.request.max_tokens", AttrValue::Int(100)),
            ("llm.is_streaming", AttrValue::Bool(streaming)),
        ]
    };
    assert_recipe_attributes(
        &span,
        &common(
            ANSWER,
            PROMPT_TOKENS,
            COMPLETION_TOKENS,
            RESPONSE_MODEL,
            false,
        ),
    );
    assert_eq!(span.bool_attr("llm.is_streaming"), Some(false));

    // Streamed: the assembled completion and the stream's usage.
    let resp = send(&gw, &chat_request(true), &[]).await;
    assert!(resp.text().contains("[DONE]"), "{}", resp.text());
    let spans = otlp
        .wait_for_spans_matching(1, WAIT, |s| s.bool_attr("llm.is_streaming") == Some(true))
        .await;
    let streamed = &spans[0];
    assert_eq!(streamed.name, "openai.chat");
    assert_standard_attributes(streamed, &upstream, 8, "gemini-2.0-flash", 12);
    assert_recipe_attributes(
        streamed,
        &common(STREAM_TEXT, 8, 12, "gemini-2.0-flash", true),
    );
    assert!(streamed.int_attr("gen_ai.usage.completion_tokens").unwrap() > 0);
    assert!(streamed.int_attr("gen_ai.usage.prompt_tokens").unwrap() > 0);
    let ups = upstream.wait_for_requests(2, WAIT).await;
    assert!(
        ups[1].path.contains(":streamGenerateContent"),
        "{}",
        ups[1].path
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Sampling.
// ---------------------------------------------------------------------------------------------

fn default_recipe_sampling(otlp: &OtlpReceiver, sampling: &str) -> String {
    recipe_with_endpoint(RECIPE_DEFAULT, RECIPE_DEFAULT_ENDPOINT, &otlp.endpoint()).replacen(
        "randomSampling: true",
        &format!("randomSampling: {sampling}"),
        1,
    )
}

#[tokio::test]
async fn sampling_false_exports_nothing_but_a_sampled_parent_is_followed() {
    let otlp = OtlpReceiver::start_grpc().await;
    let upstream = gemini_upstream().await;
    let tracing = default_recipe_sampling(&otlp, "false");
    assert!(tracing.contains("randomSampling: false"));
    let gw = start_gateway(&config(&tracing, "", &upstream)).await;

    for _ in 0..5 {
        send(&gw, &chat_request(false), &[]).await;
    }
    let logs = gw.wait_for_request_logs(5, WAIT).await;
    assert_eq!(logs.len(), 5);
    assert!(logs.iter().all(|l| l.get("http.status") == Some("200")));
    // Well past the exporter's batch interval (200 ms).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        otlp.spans().len(),
        0,
        "randomSampling: false exported spans: {:#?}",
        otlp.spans()
    );

    // A caller's sampled traceparent (flags 01) is followed even so.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent = format!("00-{trace_id}-00f067aa0ba902b7-01");
    send(&gw, &chat_request(false), &[("traceparent", &parent)]).await;
    let span = otlp.wait_for_span_named("POST /gemini", WAIT).await;
    assert_eq!(span.trace_id, trace_id);
    assert_eq!(span.parent_span_id, "00f067aa0ba902b7");
    // And it is the only one: the 5 unsampled requests were not merely late.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(otlp.spans().len(), 1, "{:#?}", otlp.spans());
    // The upstream sees a sampled traceparent for the parent-sampled request.
    let ups = upstream.wait_for_requests(6, WAIT).await;
    assert_eq!(
        ups[5].header("traceparent"),
        Some(format!("00-{trace_id}-{}-01", span.span_id).as_str())
    );
}

#[tokio::test]
async fn sampling_true_does_not_export_an_unsampled_parent() {
    let otlp = OtlpReceiver::start_grpc().await;
    let upstream = gemini_upstream().await;
    let tracing = default_recipe_sampling(&otlp, "true");
    let gw = start_gateway(&config(&tracing, "", &upstream)).await;

    let unsampled = "0af7651916cd43dd8448eb211c80319c";
    let parent = format!("00-{unsampled}-b7ad6b7169203331-00");
    send(&gw, &chat_request(false), &[("traceparent", &parent)]).await;
    let log = &gw.wait_for_request_logs(1, WAIT).await[0];
    assert_eq!(log.get("trace.id"), Some(unsampled));

    // A control request without a traceparent is exported (and is queued after the first).
    send(&gw, &chat_request(false), &[]).await;
    let control = otlp.wait_for_span_named("POST /gemini", WAIT).await;
    assert_ne!(control.trace_id, unsampled);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let spans = otlp.spans();
    assert_eq!(spans.len(), 1, "{spans:#?}");
    assert!(spans.iter().all(|s| s.trace_id != unsampled));
    // The upstream is told the caller's decision: not sampled.
    let ups = upstream.wait_for_requests(2, WAIT).await;
    let tp = ups[0].header("traceparent").expect("traceparent upstream");
    assert!(tp.starts_with(&format!("00-{unsampled}-")), "{tp}");
    assert!(tp.ends_with("-00"), "{tp}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sampling_ratio_half_exports_about_half() {
    let otlp = OtlpReceiver::start_grpc().await;
    let upstream = gemini_upstream().await;
    let tracing = default_recipe_sampling(&otlp, "0.5");
    let mut gw = start_gateway(&config(&tracing, "", &upstream)).await;
    let url = format!("{}/gemini", gw.base_url());

    let total = 200;
    let next = Arc::new(AtomicUsize::new(0));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (url, next) = (url.clone(), next.clone());
        set.spawn(async move {
            let mut statuses = Vec::new();
            while next.fetch_add(1, Ordering::SeqCst) < total {
                let r = post_json(&url, &chat_request(false), &[]).await;
                statuses.push(r.status);
            }
            statuses
        });
    }
    let mut statuses = Vec::new();
    while let Some(r) = set.join_next().await {
        statuses.extend(r.unwrap());
    }
    assert_eq!(statuses.len(), total);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let logs = gw.wait_for_request_logs(total, WAIT).await;
    assert_eq!(logs.len(), total);

    // SIGTERM drains the span queue before exit, so everything sampled has arrived after it.
    let status = gw.terminate(WAIT).await;
    assert!(status.success());
    let spans = otlp.spans();
    assert!(
        (60..=140).contains(&spans.len()),
        "randomSampling: 0.5 over {total} requests exported {} spans",
        spans.len()
    );
    let logged: std::collections::HashSet<&str> =
        logs.iter().filter_map(|l| l.get("trace.id")).collect();
    assert_eq!(logged.len(), total, "distinct trace ids");
    for span in &spans {
        assert!(logged.contains(span.trace_id.as_str()));
    }
}

// ---------------------------------------------------------------------------------------------
// 3. JSON logs.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn json_logs_have_typed_values_and_the_text_lines_keys() {
    let otlp = OtlpReceiver::start_grpc().await;
    let upstream = gemini_upstream().await;
    let tracing = recipe_with_endpoint(RECIPE_DEFAULT, RECIPE_DEFAULT_ENDPOINT, &otlp.endpoint());
    let indent: String = tracing.chars().take_while(|c| *c == ' ').collect();
    let logging = format!("{indent}logging: {{format: json}}\n");
    let json_gw = start_gateway(&config(&tracing, &logging, &upstream)).await;
    let text_gw = start_gateway(&config(&tracing, "", &upstream)).await;

    for _ in 0..3 {
        send(&json_gw, &chat_request(false), &[]).await;
    }
    send(&text_gw, &chat_request(false), &[]).await;
    let text = &text_gw.wait_for_request_logs(1, WAIT).await[0];

    let lines = json_gw
        .wait_for_log_lines(|l| l.contains("\"request\""), 3, WAIT)
        .await;
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        json_gw.request_logs().is_empty(),
        "no text request lines with format json"
    );
    for line in &lines {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line}"));
        let obj = v.as_object().expect("a JSON object");
        let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        let mut want = vec!["time", "level", "msg"];
        want.extend(text.keys());
        assert_eq!(keys, want, "JSON keys vs the text line's keys");

        let time = obj["time"].as_str().expect("time is a string");
        assert!(
            time.len() >= 20 && time.ends_with('Z') && time.contains('T'),
            "{time}"
        );
        assert_eq!(obj["level"], json!("info"));
        assert_eq!(obj["msg"], json!("request"));
        assert_eq!(obj["http.status"], json!(200));
        assert!(obj["http.status"].is_u64());
        assert_eq!(obj["llm.request.tokens"], json!(PROMPT_TOKENS));
        assert_eq!(obj["llm.response.tokens"], json!(COMPLETION_TOKENS));
        assert_eq!(obj["llm.provider"], json!("gemini"));
        assert_eq!(obj["llm.request.model"], json!(REQUEST_MODEL));
        assert_eq!(obj["llm.response.model"], json!(RESPONSE_MODEL));
        assert_eq!(obj["gateway"], json!("sluice"));
        assert_eq!(obj["http.path"], json!("/gemini"));
        // Every other value is the text line's (where it does not vary per request).
        for (k, tv) in &text.fields {
            match k.as_str() {
                "src.addr" | "trace.id" | "span.id" | "duration" => {
                    assert!(obj[k.as_str()].is_string(), "{k}")
                }
                "http.status" | "llm.request.tokens" | "llm.response.tokens" => {
                    assert_eq!(obj[k.as_str()].to_string(), *tv, "{k}")
                }
                _ => assert_eq!(obj[k.as_str()], json!(tv), "{k}"),
            }
        }
        let trace_id = obj["trace.id"].as_str().unwrap();
        assert_eq!(trace_id.len(), 32);
    }
    // Each JSON line's trace id is an exported span's.
    let spans = otlp.wait_for_spans(4, WAIT).await;
    for line in &lines {
        let v: Value = serde_json::from_str(line).unwrap();
        let id = v["trace.id"].as_str().unwrap();
        assert!(spans.iter().any(|s| s.trace_id == id), "{id}");
    }
}

// ---------------------------------------------------------------------------------------------
// 4. A slow collector does not slow requests down.
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_collector_does_not_delay_requests() {
    let exports = Arc::new(AtomicUsize::new(0));
    let spans_received = Arc::new(AtomicUsize::new(0));
    let listener = bind_local().await;
    let collector_addr = listener.local_addr().unwrap();
    let (e, n) = (exports.clone(), spans_received.clone());
    let _collector = spawn_http1(listener, move |_peer, req: hyper::Request<_>| {
        let (e, n) = (e.clone(), n.clone());
        async move {
            let gzip = req
                .headers()
                .get("content-encoding")
                .is_some_and(|v| v == "gzip");
            let body = req.into_body().collect().await?.to_bytes();
            let raw = if gzip {
                let mut out = Vec::new();
                flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut out)?;
                out
            } else {
                body.to_vec()
            };
            // 2 s per export.
            tokio::time::sleep(Duration::from_secs(2)).await;
            let decoded = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest::decode(&raw[..])?;
            n.fetch_add(spans_of(&decoded).len(), Ordering::SeqCst);
            e.fetch_add(1, Ordering::SeqCst);
            Ok::<_, BoxError>(
                hyper::Response::builder()
                    .status(200)
                    .header("content-type", "application/x-protobuf")
                    .body(Full::new(Bytes::new()))?,
            )
        }
    });

    let upstream = gemini_upstream().await;
    let tracing = RECIPE_LANGFUSE
        .replacen(
            RECIPE_LANGFUSE_ENDPOINT,
            &format!("http://{collector_addr}"),
            1,
        )
        .replacen("<base64-encoded-credentials>", LANGFUSE_CREDENTIALS, 1);
    let gw = start_gateway(&config(&tracing, "", &upstream)).await;
    let url = format!("{}/gemini", gw.base_url());

    let total = 50;
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..5 {
        let (url, next) = (url.clone(), next.clone());
        set.spawn(async move {
            let mut statuses = Vec::new();
            while next.fetch_add(1, Ordering::SeqCst) < total {
                let r = post_json(&url, &chat_request(false), &[]).await;
                statuses.push(r.status);
            }
            statuses
        });
    }
    let mut statuses = Vec::new();
    while let Some(r) = set.join_next().await {
        statuses.extend(r.unwrap());
    }
    let elapsed = started.elapsed();
    assert_eq!(statuses.len(), total);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert!(
        elapsed < Duration::from_secs(3),
        "{total} requests took {elapsed:?} with a 2 s collector"
    );
    // The slow collector was really in the path, and eventually gets every span.
    let deadline = Instant::now() + Duration::from_secs(15);
    while spans_received.load(Ordering::SeqCst) < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(exports.load(Ordering::SeqCst) >= 1);
    assert_eq!(spans_received.load(Ordering::SeqCst), total);
}

// ---------------------------------------------------------------------------------------------
// 5. fields.remove on the GenAI defaults (no fields.add).
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn fields_remove_drops_one_genai_default() {
    let otlp = OtlpReceiver::start_grpc().await;
    let upstream = gemini_upstream().await;
    let tracing = format!(
        "  tracing:\n    otlpEndpoint: {}\n    otlpProtocol: grpc\n    randomSampling: true\n    fields:\n      remove: [gen_ai.request.model]\n",
        otlp.endpoint()
    );
    let gw = start_gateway(&config(&tracing, "", &upstream)).await;
    send(&gw, &chat_request(false), &[]).await;

    let span = otlp.wait_for_span_named("POST /gemini", WAIT).await;
    assert_standard_attributes(
        &span,
        &upstream,
        PROMPT_TOKENS,
        RESPONSE_MODEL,
        COMPLETION_TOKENS,
    );
    assert!(span.attr("gen_ai.request.model").is_none());
    assert_recipe_attributes(
        &span,
        &[
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.provider.name", s("gcp.gemini")),
            ("gen_ai.response.model", s(RESPONSE_MODEL)),
            ("gen_ai.usage.input_tokens", AttrValue::Int(PROMPT_TOKENS)),
            (
                "gen_ai.usage.output_tokens",
                AttrValue::Int(COMPLETION_TOKENS),
            ),
            (
                "gen_ai.response.finish_reasons",
                AttrValue::Other(r#"["stop"]"#.into()),
            ),
            ("gen_ai.request.temperature", AttrValue::Double(0.2)),
            ("gen_ai.request.max_tokens", AttrValue::Int(100)),
        ],
    );

    // Control: the same gateway without `remove` keeps gen_ai.request.model.
    let otlp2 = OtlpReceiver::start_grpc().await;
    let tracing2 = format!(
        "  tracing:\n    otlpEndpoint: {}\n    otlpProtocol: grpc\n    randomSampling: true\n",
        otlp2.endpoint()
    );
    let gw2 = start_gateway(&config(&tracing2, "", &upstream)).await;
    send(&gw2, &chat_request(false), &[]).await;
    let span2 = otlp2.wait_for_span_named("POST /gemini", WAIT).await;
    assert_eq!(span2.attr("gen_ai.request.model"), Some(&s(REQUEST_MODEL)));
}
