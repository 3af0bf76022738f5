//! Anthropic Messages answers and errors → the hub's (OpenAI chat) shape.

use serde_json::{json, Value};

use crate::error::{openai_error_body, openai_error_type};
use crate::openai::{
    hub_completion, ChatResponse, ChatUsage, Choice, FunctionCall, ResponseMessage, ToolCall,
};
use crate::{Completion, ResponseTarget, TranslateError, Usage};

use super::wire::{ContentBlock, MessageResponse, WireUsage};

// ---------------------------------------------------------------------------------------------
// Responses

/// An Anthropic `message` as an OpenAI `chat.completion`, with its facts.
pub fn translate_response(
    body: &[u8],
    target: &ResponseTarget<'_>,
) -> Result<Completion, TranslateError> {
    let resp: MessageResponse =
        serde_json::from_slice(body).map_err(|e| TranslateError::InvalidResponse(e.to_string()))?;
    if resp.kind.as_deref().is_some_and(|k| k != "message") {
        return Err(TranslateError::InvalidResponse(format!(
            "expected a message, got {:?}",
            resp.kind.as_deref().unwrap_or_default()
        )));
    }
    let blocks = resp
        .content
        .as_deref()
        .ok_or_else(|| TranslateError::InvalidResponse("message without content".to_string()))?;
    let mut text = String::new();
    let mut calls = Vec::new();
    let mut reasoning = String::new();
    let mut thinking = Vec::new();
    for block in blocks {
        match block.kind.as_str() {
            "text" => text.push_str(block.text.as_deref().unwrap_or_default()),
            "thinking" => {
                let t = block.thinking.as_deref().unwrap_or_default();
                reasoning.push_str(t);
                thinking.push(json!({
                    "type": "thinking",
                    "thinking": t,
                    "signature": block.signature.as_deref().unwrap_or_default(),
                }));
            }
            "redacted_thinking" => thinking.push(json!({
                "type": "redacted_thinking",
                "data": block.data.as_deref().unwrap_or_default(),
            })),
            "tool_use" => calls.push(ToolCall {
                id: block.id.clone().unwrap_or_default(),
                kind: "function".to_string(),
                function: FunctionCall {
                    name: block.name.clone().unwrap_or_default(),
                    arguments: tool_arguments(block),
                },
            }),
            // Server tool blocks and their results: not part of the answer.
            _ => {}
        }
    }
    let finish = finish_reason(resp.stop_reason.as_deref(), !calls.is_empty());
    let usage = resp.usage.as_ref().map(usage_from);
    let out = ChatResponse {
        id: resp
            .id
            .clone()
            .filter(|id| !id.is_empty())
            .unwrap_or_else(crate::openai::generated_id),
        object: "chat.completion".to_string(),
        created: target.created,
        model: response_model(resp.model.as_deref(), target.model),
        choices: vec![Choice {
            index: 0,
            message: ResponseMessage::assistant(text, calls, reasoning, thinking),
            finish_reason: Some(finish.to_string()),
            ..Choice::default()
        }],
        usage: usage.as_ref().map(ChatUsage::from_usage),
        ..ChatResponse::default()
    };
    let mut completion = hub_completion(&out)?;
    // The hub's usage has no place for the 1-hour part of the cache writes: the facts keep it.
    completion.usage.cache_write_1h_tokens = usage.and_then(|u| u.cache_write_1h_tokens);
    Ok(completion)
}

fn response_model(model: Option<&str>, fallback: &str) -> String {
    model
        .filter(|m| !m.is_empty())
        .unwrap_or(fallback)
        .to_string()
}

/// A `tool_use` block's `input` as OpenAI arguments text.
pub(super) fn tool_arguments(block: &ContentBlock) -> String {
    match &block.input {
        None | Some(Value::Null) => "{}".to_string(),
        Some(input) => input.to_string(),
    }
}

/// An OpenAI `finish_reason` for an Anthropic `stop_reason`.
pub(super) fn finish_reason(reason: Option<&str>, has_tool_calls: bool) -> &'static str {
    match reason {
        Some("end_turn" | "stop_sequence" | "pause_turn") => "stop",
        Some("max_tokens" | "model_context_window_exceeded") => "length",
        Some("tool_use") => "tool_calls",
        Some("refusal") => "content_filter",
        _ if has_tool_calls => "tool_calls",
        _ => "stop",
    }
}

/// OpenAI usage from Anthropic's: cache reads and writes count as prompt tokens.
pub(crate) fn usage_from(u: &WireUsage) -> Usage {
    let input = u
        .input_tokens
        .unwrap_or(0)
        .saturating_add(u.cache_read_input_tokens.unwrap_or(0))
        .saturating_add(u.cache_creation_input_tokens.unwrap_or(0));
    let output = u.output_tokens.unwrap_or(0);
    Usage {
        input_tokens: Some(input),
        output_tokens: Some(output),
        total_tokens: Some(input.saturating_add(output)),
        cached_input_tokens: u.cache_read_input_tokens,
        cache_creation_input_tokens: u.cache_creation_input_tokens,
        cache_write_1h_tokens: u.cache_write_1h_tokens(),
        reasoning_tokens: None,
        estimated: false,
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

/// An Anthropic error (`{"type":"error","error":{"type","message"}}`) as an OpenAI error body;
/// a body of any other shape becomes the message of a generic one.
pub fn translate_error(status: u16, body: &[u8]) -> Vec<u8> {
    let parsed = serde_json::from_slice::<Value>(body).ok();
    if let Some(error) = parsed
        .as_ref()
        .and_then(|v| v.get("error"))
        .filter(|e| e.is_object())
    {
        return error_body(status, error);
    }
    crate::error::text_error_body(status, body)
}

/// The OpenAI error body for an Anthropic `error` object.
pub(super) fn error_body(status: u16, error: &Value) -> Vec<u8> {
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .filter(|m| !m.trim().is_empty())
        .map_or_else(
            || format!("upstream returned status {status}"),
            str::to_string,
        );
    let code = error.get("type").and_then(Value::as_str);
    openai_error_body(&message, openai_error_type(status), code)
}

/// The HTTP status Anthropic gives an error type (for errors arriving inside a stream).
pub(super) fn error_status(kind: Option<&str>) -> u16 {
    match kind {
        Some("invalid_request_error") => 400,
        Some("authentication_error") => 401,
        Some("billing_error") => 402,
        Some("permission_error") => 403,
        Some("not_found_error") => 404,
        Some("request_too_large") => 413,
        Some("rate_limit_error") => 429,
        Some("timeout_error") => 504,
        Some("overloaded_error") => 529,
        _ => 500,
    }
}
