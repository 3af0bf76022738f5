//! What every test shares: the config around a recipe, the request, the mock Gemini and its
//! answers, and the span assertions.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use sluice_tests::http::{post_json, Response};
use sluice_tests::otlp::{AttrValue, ReceivedSpan};
use sluice_tests::{Gateway, MockUpstream, OtlpReceiver, Ports, Reply};

pub(crate) const WAIT: Duration = Duration::from_secs(10);
const GOOGLE_KEY: &str = "test-google-key-0123456789";

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

pub(crate) const SYSTEM: &str = "You are a terse assistant.";
pub(crate) const USER: &str = "Explain how AI works in simple terms.";
pub(crate) const REQUEST_MODEL: &str = "gemini-1.5-flash-latest";
/// With a quote, so the JSON text of `gen_ai.completion` must escape it.
pub(crate) const ANSWER: &str = "AI finds \"patterns\" in data.";
pub(crate) const RESPONSE_MODEL: &str = "gemini-1.5-flash-002";
pub(crate) const PROMPT_TOKENS: i64 = 21;
pub(crate) const COMPLETION_TOKENS: i64 = 7;
pub(crate) const TOTAL_TOKENS: i64 = 28;

/// The streamed answer (the provider fixture `gemini/stream_text.gemini.sse`).
const STREAM_EVENTS: [&str; 3] = [
    r#"{"candidates": [{"content": {"parts": [{"text": "AI"}],"role": "model"}}],"usageMetadata": {"promptTokenCount": 8,"totalTokenCount": 8,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 8}]},"modelVersion": "gemini-2.0-flash","responseId": "fJxXaO2aL4yDz7IP5ef9oQk"}"#,
    r#"{"candidates": [{"content": {"parts": [{"text": " learns patterns from data — "}],"role": "model"}}],"usageMetadata": {"promptTokenCount": 8,"candidatesTokenCount": 7,"totalTokenCount": 15},"modelVersion": "gemini-2.0-flash","responseId": "fJxXaO2aL4yDz7IP5ef9oQk"}"#,
    r#"{"candidates": [{"content": {"parts": [{"text": "then predicts. ✨"}],"role": "model"},"finishReason": "STOP"}],"usageMetadata": {"promptTokenCount": 8,"candidatesTokenCount": 12,"totalTokenCount": 20},"modelVersion": "gemini-2.0-flash","responseId": "fJxXaO2aL4yDz7IP5ef9oQk"}"#,
];
pub(crate) const STREAM_TEXT: &str = "AI learns patterns from data — then predicts. ✨";

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

pub(crate) fn chat_request(stream: bool) -> Value {
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
pub(crate) async fn gemini_upstream() -> MockUpstream {
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
pub(crate) fn recipe_with_endpoint(recipe: &str, seed_endpoint: &str, endpoint: &str) -> String {
    assert!(recipe.contains(seed_endpoint), "the recipe's own endpoint");
    recipe.replacen(seed_endpoint, endpoint, 1)
}

/// The full config around a recipe block; `extra` goes under `config:` (already indented).
pub(crate) fn config(tracing: &str, extra: &str, upstream: &MockUpstream) -> String {
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

pub(crate) async fn start_gateway(yaml: &str) -> Gateway {
    Gateway::builder(yaml)
        .env("GOOGLE_KEY", GOOGLE_KEY)
        .start()
        .await
}

pub(crate) async fn send(gw: &Gateway, body: &Value, headers: &[(&str, &str)]) -> Response {
    let resp = post_json(&format!("{}/gemini", gw.base_url()), body, headers).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp
}

/// Posts `total` non-streamed chat requests to the gateway from `workers` concurrent tasks; every
/// one must be answered 200.
pub(crate) async fn send_concurrently(gw: &Gateway, total: usize, workers: usize) {
    let url = format!("{}/gemini", gw.base_url());
    let next = Arc::new(AtomicUsize::new(0));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..workers {
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
}

/// A gateway in front of the mock Gemini whose tracing exports to `otlp`.
pub(crate) struct Traced {
    pub(crate) otlp: OtlpReceiver,
    pub(crate) upstream: MockUpstream,
    pub(crate) gw: Gateway,
}

impl Traced {
    /// Starts the mock Gemini and a gateway with the `tracing` block (which points at `otlp`).
    pub(crate) async fn start(otlp: OtlpReceiver, tracing: &str) -> Self {
        let upstream = gemini_upstream().await;
        let gw = start_gateway(&config(tracing, "", &upstream)).await;
        Self { otlp, upstream, gw }
    }

    /// A seed recipe verbatim but for its endpoint `seed_endpoint`, which becomes a fresh gRPC
    /// receiver's.
    pub(crate) async fn seed_recipe(recipe: &str, seed_endpoint: &str) -> Self {
        let otlp = OtlpReceiver::start_grpc().await;
        let tracing = recipe_with_endpoint(recipe, seed_endpoint, &otlp.endpoint());
        Self::start(otlp, &tracing).await
    }

    /// Sends a non-streamed chat request and waits for a span named `name`, whose standard
    /// attributes must be the plain answer's.
    pub(crate) async fn plain_span(&self, name: &str) -> ReceivedSpan {
        send(&self.gw, &chat_request(false), &[]).await;
        let span = self.otlp.wait_for_span_named(name, WAIT).await;
        assert_standard_attributes(
            &span,
            &self.upstream,
            PROMPT_TOKENS,
            RESPONSE_MODEL,
            COMPLETION_TOKENS,
        );
        span
    }
}

pub(crate) fn s(v: &str) -> AttrValue {
    AttrValue::Str(v.to_string())
}

/// The span's standard attributes (log line keys, then `url.scheme` and
/// `network.protocol.version`), in the contract's order, for a non-streamed answer unless the
/// token counts and response model say otherwise.
pub(crate) fn assert_standard_attributes(
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
pub(crate) fn assert_recipe_attributes(span: &ReceivedSpan, recipe: &[(&str, AttrValue)]) {
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

pub(crate) fn json_text(v: &Value) -> AttrValue {
    AttrValue::Str(serde_json::to_string(v).unwrap())
}
