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
