//! The seed page's `/gemini` exchange, shared by the tests that replay it (the sluice config
//! of `conf/gemini.yaml` and the page's Kubernetes objects): Gemini's answer, the client's
//! request, and the checks of the answer, the log line and the span the seed shows.

use serde_json::{json, Value};

use crate::http::Response;
use crate::logline::LogLine;
use crate::otlp::{AttrValue, ReceivedSpan};

/// The Google key the tests give the gateway (it must never show in its output).
pub const GOOGLE_KEY: &str = "test-google-key-0123456789";

/// The seed's log line keys, in the seed's order.
pub const SEED_LOG_KEYS: [&str; 18] = [
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
];

/// Gemini's answer to the seed's question.
pub fn gemini_answer() -> Value {
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

/// The seed's curl body.
pub fn seed_request() -> Value {
    json!({
        "model": "",
        "messages": [{"role": "user", "content": "Explain how AI works in simple terms."}]
    })
}

/// The client's answer: an OpenAI chat.completion, as in the seed.
pub fn assert_seed_answer(resp: &Response) {
    assert_eq!(resp.status, 200, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["id"], "aGLEaMjbLp6p_uMPopeAoAc");
    assert_eq!(body["model"], "gemini-1.5-flash-latest");
    assert_eq!(body["choices"][0]["message"]["role"], "assistant");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Imagine teaching a dog a trick."
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["usage"]["prompt_tokens"], 8);
    assert_eq!(body["usage"]["completion_tokens"], 205);
    assert_eq!(body["usage"]["total_tokens"], 213);
}

/// Who served the request, as the log line and span name it.
pub struct SeedIdentity<'a> {
    pub gateway: &'a str,
    pub route: &'a str,
    /// The upstream's `host:port`.
    pub endpoint: &'a str,
}

/// The log line (the seed's keys in the seed's order, with the seed's values) and the span
/// (named after the route, kind Server, the log line's attributes typed, then `url.scheme`,
/// `network.protocol.version` and the seed recipe's fields); returns the trace and span ids.
pub fn assert_seed_line_and_span(
    line: &LogLine,
    span: &ReceivedSpan,
    who: &SeedIdentity<'_>,
) -> (String, String) {
    assert_eq!(
        (line.level.as_str(), line.message.as_str()),
        ("info", "request")
    );
    assert_eq!(line.keys(), SEED_LOG_KEYS);
    assert_eq!(line.get("gateway"), Some(who.gateway));
    assert_eq!(line.get("listener"), Some("http"));
    assert_eq!(line.get("route"), Some(who.route));
    assert_eq!(line.get("endpoint"), Some(who.endpoint));
    let src = line.get("src.addr").unwrap_or_default();
    assert!(src.starts_with("127.0.0.1:"), "{src}");
    assert_eq!(line.get("http.method"), Some("POST"));
    assert_eq!(line.get("http.host"), Some("127.0.0.1"));
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
    let duration = line.get("duration").unwrap_or_default();
    assert!(duration.ends_with("ms"), "{duration}");
    let trace_id = line.get("trace.id").unwrap_or_default().to_string();
    let span_id = line.get("span.id").unwrap_or_default().to_string();
    assert_eq!(trace_id.len(), 32);
    assert!(trace_id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(span_id.len(), 16);

    assert!(span.is_server());
    assert_eq!(
        (span.trace_id.as_str(), span.span_id.as_str()),
        (trace_id.as_str(), span_id.as_str())
    );
    assert_eq!(span.parent_span_id, "");
    let s = |v: &str| AttrValue::Str(v.into());
    let expected: Vec<(&str, AttrValue)> = vec![
        ("gateway", s(who.gateway)),
        ("listener", s("http")),
        ("route", s(who.route)),
        ("endpoint", s(who.endpoint)),
        ("src.addr", s(src)),
        ("http.method", s("POST")),
        ("http.host", s("127.0.0.1")),
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
        ("duration", s(duration)),
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
    (trace_id, span_id)
}
