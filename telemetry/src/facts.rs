//! What the gateway knows about one request when it ends: the input to CEL fields, the span
//! and the log line. Filled by the gateway, read here; nothing in it refers to Pingora.

use std::time::{Duration, SystemTime};

/// One finished (or aborted) request.
#[derive(Clone, Debug)]
pub struct RequestRecord {
    pub listener: String,
    /// The matched route's name; empty when no route matched.
    pub route: String,
    /// The matched route's prefix or exact path (the span is named after it); empty if none.
    pub route_path: String,
    /// Upstream `host:port`, or empty when none was called.
    pub endpoint: String,
    pub source_address: String,
    pub method: String,
    /// Host header without its port.
    pub host: String,
    pub path: String,
    /// `HTTP/1.1`, `HTTP/2`.
    pub version: &'static str,
    /// `http` or `https`.
    pub scheme: &'static str,
    /// Request headers, lower-case names (secret ones already removed by the gateway).
    pub headers: Vec<(String, String)>,
    pub status: u16,
    pub start: SystemTime,
    pub duration: Duration,
    /// Of `duration`, the time spent waiting on upstreams: connecting, sending, awaiting and
    /// reading their answers, over every attempt, and the pauses between retries. The rest is
    /// the gateway's own time (`sluice_gateway_overhead_seconds`).
    pub upstream_time: Duration,
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    /// The caller's span, when a `traceparent` came in.
    pub parent_span_id: Option<[u8; 8]>,
    pub sampled: bool,
    /// LLM facts, when the request reached an LLM backend.
    pub llm: Option<LlmFacts>,
    /// The error the gateway answered with, if it made one itself.
    pub error: Option<String>,
    /// The limit decision, when the request was subject to a limit.
    pub limit: Option<LimitFacts>,
    /// The id of the virtual key the client presented (a config-file key's name, a store
    /// key's id); empty on a listener without keys.
    pub key: String,
    /// That key's team; empty without one.
    pub team: String,
}

/// How a request subject to limits (per key or per route) was admitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitFacts {
    /// `allowed`, `refused` (a rate limit), `budget_exceeded`, or `fail_open` /
    /// `fail_closed` (the shared store did not answer).
    pub decision: &'static str,
    /// The scopes it applies to (`key:a`, `team:t`, `route:chat`); on refusal, the one that
    /// refused.
    pub scopes: Vec<std::sync::Arc<str>>,
}

impl LimitFacts {
    /// Refused by a limit or a budget (its `scopes` then hold the one that refused).
    pub fn refused(&self) -> bool {
        matches!(self.decision, "refused" | "budget_exceeded")
    }
}

/// The `llm.*` variables of the contract.
#[derive(Clone, Debug, Default)]
pub struct LlmFacts {
    pub provider: String,
    /// The model the client asked for (may be empty, as in the seed).
    pub request_model: String,
    /// The model the provider says answered.
    pub response_model: Option<String>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub total_tokens: Option<u64>,
    /// Of `input_tokens`, those read from the provider's prompt cache.
    pub cached_input_tokens: Option<u64>,
    /// Of `input_tokens`, those written to the provider's prompt cache.
    pub cache_creation_input_tokens: Option<u64>,
    /// Of `cache_creation_input_tokens`, those written with a 1-hour life (Anthropic), priced
    /// at their own rate.
    pub cache_write_1h_tokens: Option<u64>,
    pub reasoning_tokens: Option<u64>,
    /// Usage counted by sluice (tiktoken) because the provider reported none.
    pub usage_estimated: bool,
    /// What the call cost in USD (from the usage, estimated or not); `None` when the model
    /// has no price.
    pub cost: Option<f64>,
    pub streaming: bool,
    /// Sampling parameters as sent (temperature, max_tokens, ...), in request order.
    pub params: Vec<(String, serde_json::Value)>,
    pub prompt: Vec<PromptMessage>,
    /// One text per choice.
    pub completion: Vec<String>,
    pub tool_calls: Vec<ToolCall>,
    /// The tools the request offered the model.
    pub tools: Vec<ToolDefinition>,
    pub finish_reasons: Vec<String>,
    pub time_to_first_token: Option<Duration>,
    /// Backends tried for this request (1 without failover; 0 when none was called).
    pub attempts: u32,
    /// Why each earlier backend of a failover chain was left (`google: status 503`).
    pub fallback_reasons: Vec<String>,
}

/// The facts only some configs read, each a copy of request or response text the gateway
/// makes per request only when a log or span field reads it (or, for `params`, the default
/// GenAI span attributes). The rest of [`LlmFacts`] is small and always filled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    pub prompt: bool,
    pub completion: bool,
    pub params: bool,
    pub tool_calls: bool,
    /// `llm.tools`.
    pub tools: bool,
    /// `request.headers`.
    pub headers: bool,
}

impl Needs {
    pub fn union(self, other: Needs) -> Needs {
        Needs {
            prompt: self.prompt || other.prompt,
            completion: self.completion || other.completion,
            params: self.params || other.params,
            tool_calls: self.tool_calls || other.tool_calls,
            tools: self.tools || other.tools,
            headers: self.headers || other.headers,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PromptMessage {
    pub role: String,
    pub content: String,
}

/// A tool the request offered the model: its name, description and the JSON Schema of its
/// input (none for hosted tools known by their kind).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ToolDefinition {
    pub name: String,
    pub description: Option<String>,
    pub parameters: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// One choice (candidate) of the answer, as the conventions' output messages describe it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice<'a> {
    /// `None` when the choice has no text (a tool call alone), as OpenAI's `content: null`.
    pub content: Option<&'a str>,
    pub tool_calls: &'a [ToolCall],
    /// In the terms of the conventions' output messages ([`semconv_finish_reason`]); `None`
    /// when the provider gave none (a stream cut short).
    pub finish_reason: Option<&'a str>,
}

/// A finish reason as the GenAI conventions' output messages name it (`stop`, `length`,
/// `content_filter`, `tool_call`, `error`). Most providers' readers already report OpenAI's
/// names; a native Anthropic answer keeps its own (`end_turn`, `tool_use`, ...). Others pass.
pub fn semconv_finish_reason(reason: &str) -> &str {
    match reason {
        "tool_calls" | "function_call" | "tool_use" => "tool_call",
        "end_turn" | "stop_sequence" => "stop",
        "max_tokens" | "model_context_window_exceeded" => "length",
        "refusal" => "content_filter",
        other => other,
    }
}

impl LlmFacts {
    /// Total tokens: as reported, or input + output.
    pub fn total(&self) -> Option<u64> {
        self.total_tokens
            .or(match (self.input_tokens, self.output_tokens) {
                (Some(i), Some(o)) => Some(i.saturating_add(o)),
                _ => None,
            })
    }

    /// The answer, one entry per choice: its text, finish reason and tool calls. Providers
    /// report a request's tool calls as one list, so they are all the first choice's (they
    /// are, unless the client asked for several choices and more than one called a tool). As
    /// many choices as texts or finish reasons, at least one when there are tool calls.
    pub fn choices(&self) -> impl Iterator<Item = Choice<'_>> {
        let count = self
            .completion
            .len()
            .max(self.finish_reasons.len())
            .max(usize::from(!self.tool_calls.is_empty()));
        (0..count).map(move |i| Choice {
            content: self
                .completion
                .get(i)
                .map(String::as_str)
                .filter(|t| !t.is_empty()),
            tool_calls: if i == 0 { &self.tool_calls } else { &[] },
            finish_reason: self.finish_reasons.get(i).map(|r| semconv_finish_reason(r)),
        })
    }
}

/// A finished `POST /v1/chat/completions` answered 200 on route `chat`, without LLM facts: the
/// unit tests' starting point.
#[cfg(test)]
pub(crate) fn sample_record() -> RequestRecord {
    RequestRecord {
        listener: "main".into(),
        route: "chat".into(),
        route_path: "/v1".into(),
        endpoint: String::new(),
        source_address: String::new(),
        method: "POST".into(),
        host: "localhost".into(),
        path: "/v1/chat/completions".into(),
        version: "HTTP/1.1",
        scheme: "http",
        headers: Vec::new(),
        status: 200,
        start: SystemTime::now(),
        duration: Duration::from_millis(1500),
        upstream_time: Duration::from_millis(1450),
        trace_id: [1; 16],
        span_id: [1; 8],
        parent_span_id: None,
        sampled: false,
        llm: None,
        error: None,
        limit: None,
        key: String::new(),
        team: String::new(),
    }
}

/// Lower-case hex of bytes (trace and span ids).
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    push_hex(&mut s, bytes);
    s
}

/// Appends the lower-case hex of `bytes` to `out`.
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    // Digits go to a stack buffer and into `out` in one `push_str` per 16 bytes: a `char`
    // push per digit re-checks capacity and encodes UTF-8 each time.
    let mut buf = [0u8; 32];
    for chunk in bytes.chunks(16) {
        for (pair, b) in buf.chunks_exact_mut(2).zip(chunk) {
            pair[0] = DIGITS[usize::from(b >> 4)];
            pair[1] = DIGITS[usize::from(b & 0xf)];
        }
        let digits = &buf[..chunk.len() * 2];
        // Always ASCII; the empty fallback is never taken.
        out.push_str(std::str::from_utf8(digits).unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lower_case_two_digits_a_byte_across_chunks() {
        assert_eq!(hex(&[]), "");
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        let twenty: Vec<u8> = (0..20).map(|i| i * 13).collect();
        let expected: String = twenty.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex(&twenty), expected);
        let mut s = String::from("id=");
        push_hex(&mut s, &[0xde, 0xad]);
        assert_eq!(s, "id=dead");
    }
}
