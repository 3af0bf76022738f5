//! The hub's OpenAI answer (body or error) → the Anthropic Messages answer, for providers that
//! do not speak Messages. Anthropic's `input_tokens` excludes cache reads, while OpenAI's
//! `prompt_tokens` includes them: `input_tokens = prompt_tokens - cached_tokens -
//! cache_write_tokens`, the parts reported as `cache_read_input_tokens` and
//! `cache_creation_input_tokens`.

use serde_json::{json, Map, Value};

use crate::openai::{ChatResponse, ChatUsage};
use crate::TranslateError;

/// An OpenAI finish reason → Anthropic's `stop_reason`.
pub fn stop_reason(finish: Option<&str>) -> &'static str {
    match finish {
        Some("length") => "max_tokens",
        Some("tool_calls") | Some("function_call") => "tool_use",
        Some("content_filter") => "refusal",
        _ => "end_turn",
    }
}

/// The message id for an OpenAI id: `msg_`-prefixed.
pub(super) fn message_id(id: &str) -> String {
    if id.starts_with("msg_") {
        id.to_string()
    } else if id.is_empty() {
        "msg_sluice".to_string()
    } else {
        format!("msg_{id}")
    }
}

/// Anthropic usage fields for OpenAI usage (input excludes cache reads, see the module docs).
pub(super) fn usage_json(u: &ChatUsage) -> Map<String, Value> {
    let details = u.prompt_tokens_details.as_ref();
    let cached = details.and_then(|d| d.cached_tokens);
    let written = details.and_then(|d| d.cache_write_tokens);
    let mut m = Map::new();
    m.insert(
        "input_tokens".to_string(),
        json!(u
            .prompt_tokens
            .saturating_sub(cached.unwrap_or(0))
            .saturating_sub(written.unwrap_or(0))),
    );
    if let Some(c) = written {
        m.insert("cache_creation_input_tokens".to_string(), json!(c));
    }
    if let Some(c) = cached {
        m.insert("cache_read_input_tokens".to_string(), json!(c));
    }
    m.insert("output_tokens".to_string(), json!(u.completion_tokens));
    m
}

/// Arguments text → the `input` object (`{}` when unparsable or empty).
pub(super) fn parse_input(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(v) if v.is_object() => v,
        _ => json!({}),
    }
}

/// The hub's thinking as Anthropic blocks: its `thinking_blocks` as they are (signatures
/// kept), or else its `reasoning_content` as one thinking block without a signature (the
/// provider gave none; a client sending it back to a translated route loses nothing).
pub(super) fn thinking_blocks(blocks: Option<&[Value]>, reasoning: Option<&str>) -> Vec<Value> {
    let reasoning = reasoning.filter(|r| !r.is_empty());
    match blocks.filter(|b| !b.is_empty()) {
        Some(blocks) => {
            let mut blocks = blocks.to_vec();
            // A provider that signs apart from its thought text (Gemini): the text goes in
            // the first thinking block, so it is not lost.
            let texts_empty = blocks.iter().all(|b| {
                b.get("thinking")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
            });
            if let (true, Some(r)) = (texts_empty, reasoning) {
                if let Some(first) = blocks
                    .iter_mut()
                    .find(|b| b.get("type").and_then(Value::as_str) == Some("thinking"))
                {
                    first["thinking"] = Value::String(r.to_string());
                }
            }
            blocks
        }
        None => reasoning
            .map(|r| json!({"type": "thinking", "thinking": r, "signature": ""}))
            .into_iter()
            .collect(),
    }
}

/// An OpenAI chat.completion body (as produced for the client) → an Anthropic `message` body.
pub fn response_from_openai(body: &[u8]) -> Result<Vec<u8>, TranslateError> {
    let resp: ChatResponse =
        crate::json::from_body(body).map_err(TranslateError::InvalidResponse)?;
    let choice = resp.choices.first();
    let mut content = Vec::new();
    if let Some(message) = choice.map(|c| &c.message) {
        content.extend(thinking_blocks(
            message.thinking_blocks.as_deref(),
            message.reasoning_content.as_deref(),
        ));
    }
    let text = choice
        .and_then(|c| c.message.content.clone())
        .unwrap_or_default();
    if !text.is_empty() {
        content.push(json!({"type": "text", "text": text}));
    }
    for call in choice
        .and_then(|c| c.message.tool_calls.as_ref())
        .into_iter()
        .flatten()
    {
        content.push(json!({
            "type": "tool_use",
            "id": call.id,
            "name": call.function.name,
            "input": parse_input(&call.function.arguments),
        }));
    }
    if content.is_empty() {
        content.push(json!({"type": "text", "text": ""}));
    }
    let usage = resp.usage.as_ref().map(usage_json).unwrap_or_else(|| {
        let mut m = Map::new();
        m.insert("input_tokens".to_string(), json!(0));
        m.insert("output_tokens".to_string(), json!(0));
        m
    });
    let out = json!({
        "id": message_id(&resp.id),
        "type": "message",
        "role": "assistant",
        "model": resp.model,
        "content": content,
        "stop_reason": stop_reason(choice.and_then(|c| c.finish_reason.as_deref())),
        "stop_sequence": null,
        "usage": usage,
    });
    Ok(out.to_string().into_bytes())
}

/// Anthropic's error `type` for an HTTP status.
pub fn error_type(status: u16) -> &'static str {
    match status {
        400 | 405 | 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    }
}

/// An Anthropic error body.
pub fn error_body(kind: &str, message: &str) -> Vec<u8> {
    json!({"type": "error", "error": {"type": kind, "message": message}})
        .to_string()
        .into_bytes()
}

/// An OpenAI error body (`{"error":{"message","type",...}}`) and status → an Anthropic error body
/// `{"type":"error","error":{"type","message"}}`.
pub fn error_from_openai(status: u16, body: &[u8]) -> Vec<u8> {
    let from_json = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
        let e = v.get("error")?;
        match e {
            Value::String(s) => Some(s.clone()),
            _ => e.get("message").and_then(Value::as_str).map(str::to_string),
        }
    });
    let message = from_json.unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        if text.is_empty() {
            format!("upstream returned status {status}")
        } else {
            text.to_string()
        }
    });
    error_body(error_type(status), &message)
}
