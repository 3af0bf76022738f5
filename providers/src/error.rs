//! Translation errors, and the OpenAI-shaped error body every error becomes for an OpenAI client.

use serde_json::json;

#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum TranslateError {
    /// The client's body is not valid JSON or not the expected shape.
    #[error("invalid request body: {0}")]
    InvalidRequest(String),
    /// The request is valid but cannot be expressed for this provider.
    #[error("{0}")]
    Unsupported(String),
    /// The provider's answer could not be understood.
    #[error("invalid response from upstream: {0}")]
    InvalidResponse(String),
    /// A stream line or buffered event grew past the cap.
    #[error("upstream stream line longer than {0} bytes")]
    LineTooLong(usize),
}

/// An OpenAI error body: `{"error": {"message", "type", "param", "code"}}`.
pub fn openai_error_body(message: &str, kind: &str, code: Option<&str>) -> Vec<u8> {
    let body = json!({
        "error": {
            "message": message,
            "type": kind,
            "param": null,
            "code": code,
        }
    });
    body.to_string().into_bytes()
}

/// The OpenAI error `type` fitting an HTTP status.
pub fn openai_error_type(status: u16) -> &'static str {
    match status {
        400 | 404 | 405 | 413 | 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        429 => "rate_limit_error",
        504 => "timeout_error",
        _ => "api_error",
    }
}

/// An OpenAI error body for an upstream error whose body has no shape we know: the body's
/// text as the message (or the status, when it is empty).
pub fn text_error_body(status: u16, body: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(body);
    let message = if text.trim().is_empty() {
        format!("upstream returned status {status}")
    } else {
        text.trim().to_string()
    };
    openai_error_body(&message, openai_error_type(status), None)
}

/// The 400 for a request field a translation cannot carry: `field` (its path in the client's
/// request) has no counterpart in `target` (an API's name, e.g. "Gemini").
pub fn no_counterpart(field: &str, target: &str) -> TranslateError {
    TranslateError::Unsupported(format!(
        "`{field}` has no counterpart in {target}: sluice refuses it rather than drop it; remove it, or route this request to a provider that takes it"
    ))
}

/// Refuses the first key of `extra` (a hub object's unknown fields) that is neither in
/// `carried` (mapped or passed by the caller) nor in `ignorable` (fields whose loss cannot
/// change the answer, each documented in docs/providers.md). `at` prefixes the field's path.
pub fn refuse_unknown(
    extra: &serde_json::Map<String, serde_json::Value>,
    at: &str,
    carried: &[&str],
    ignorable: &[&str],
    target: &str,
) -> Result<(), TranslateError> {
    match extra
        .keys()
        .find(|k| !carried.contains(&k.as_str()) && !ignorable.contains(&k.as_str()))
    {
        Some(k) => Err(no_counterpart(&format!("{at}{k}"), target)),
        None => Ok(()),
    }
}

/// Hub fields whose loss cannot change the answer, for every translation from the hub:
/// storage and tags of stored completions (`store`, `metadata`), capacity tier
/// (`service_tier`), abuse tracking (`safety_identifier`) and cache routing
/// (`prompt_cache_key`, `prompt_cache_retention`).
pub const HUB_IGNORABLE: &[&str] = &[
    "store",
    "metadata",
    "service_tier",
    "safety_identifier",
    "prompt_cache_key",
    "prompt_cache_retention",
];

/// What a translation does with the hub's optional top-level fields, for
/// [`refuse_unmapped`].
pub struct Carries<'a> {
    /// The provider's name in refusals ("Gemini").
    pub api: &'a str,
    /// Fields of the hub's `extra` the translation maps.
    pub mapped: &'a [&'a str],
    /// Fields of the hub's `extra` it drops besides [`HUB_IGNORABLE`] (each documented).
    pub ignored: &'a [&'a str],
    /// Whether it maps `presence_penalty` and `frequency_penalty`.
    pub penalties: bool,
    /// Whether it maps `n` > 1.
    pub choices: bool,
}

/// The 400 for the first hub field a translation has no counterpart for. Values that ask
/// nothing of the model pass everywhere: `null`, penalties of 0, `n: 1`, `logprobs: false`,
/// `top_logprobs: 0`, an empty `logit_bias`, text-only `modalities`, `parallel_tool_calls:
/// true`.
pub fn refuse_unmapped(
    req: &crate::openai::ChatRequest,
    carries: &Carries<'_>,
) -> Result<(), TranslateError> {
    if !carries.choices && req.n.is_some_and(|n| n > 1) {
        return Err(no_counterpart("n", carries.api));
    }
    if !carries.penalties {
        for (name, value) in [
            ("presence_penalty", req.presence_penalty),
            ("frequency_penalty", req.frequency_penalty),
        ] {
            if value.is_some_and(|v| v != 0.0) {
                return Err(no_counterpart(name, carries.api));
            }
        }
    }
    let inert: Vec<&str> = req
        .extra
        .iter()
        .filter(|(k, v)| asks_nothing(k, v))
        .map(|(k, _)| k.as_str())
        .collect();
    let ignorable = [HUB_IGNORABLE, carries.ignored, &inert].concat();
    refuse_unknown(&req.extra, "", carries.mapped, &ignorable, carries.api)
}

/// Whether a top-level field's value asks nothing of the model.
fn asks_nothing(key: &str, v: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (key, v) {
        (_, Value::Null) => true,
        ("logprobs", Value::Bool(b)) => !b,
        ("parallel_tool_calls", Value::Bool(b)) => *b,
        ("top_logprobs", v) => v.as_u64() == Some(0),
        ("logit_bias", Value::Object(m)) => m.is_empty(),
        ("modalities", Value::Array(m)) => m.iter().all(|m| m == "text"),
        _ => false,
    }
}
