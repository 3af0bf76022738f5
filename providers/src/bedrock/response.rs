//! Bedrock Converse answers and errors → the hub's (OpenAI chat) shape.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{openai_error_body, openai_error_type};
use crate::openai::{
    hub_completion, ChatResponse, ChatUsage, Choice, FunctionCall, ResponseMessage, ToolCall,
};
use crate::{Completion, ResponseTarget, TranslateError, Usage};

// ---------------------------------------------------------------------------------------------
// Responses

/// The body of a `Converse` answer: only the fields read.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConverseResponse {
    #[serde(default)]
    output: Option<Output>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<TokenUsage>,
}

#[derive(Debug, Default, Deserialize)]
struct Output {
    #[serde(default)]
    message: Option<OutputMessage>,
}

#[derive(Debug, Default, Deserialize)]
struct OutputMessage {
    #[serde(default)]
    content: Vec<ContentBlock>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContentBlock {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    tool_use: Option<ToolUse>,
    #[serde(default)]
    reasoning_content: Option<ReasoningBlock>,
}

/// A `reasoningContent` block: thinking text with its signature, or redacted thinking.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReasoningBlock {
    #[serde(default)]
    reasoning_text: Option<ReasoningText>,
    /// Base64 (a blob in AWS's JSON), passed on as it is.
    #[serde(default)]
    redacted_content: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ReasoningText {
    #[serde(default)]
    text: String,
    #[serde(default)]
    signature: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolUse {
    #[serde(default)]
    tool_use_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    input: Option<Value>,
}

/// `TokenUsage` of Converse and of the stream's `metadata` event.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    total_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_write_input_tokens: Option<u64>,
}

/// A `Converse` answer as an OpenAI `chat.completion`, with its facts.
pub fn translate_response(
    body: &[u8],
    target: &ResponseTarget<'_>,
) -> Result<Completion, TranslateError> {
    let resp: ConverseResponse =
        serde_json::from_slice(body).map_err(|e| TranslateError::InvalidResponse(e.to_string()))?;
    let blocks = resp
        .output
        .and_then(|o| o.message)
        .map(|m| m.content)
        .unwrap_or_default();
    let mut text = String::new();
    let mut calls = Vec::new();
    let mut reasoning = String::new();
    let mut thinking_blocks = Vec::new();
    for block in &blocks {
        if let Some(t) = &block.text {
            text.push_str(t);
        }
        if let Some(r) = &block.reasoning_content {
            if let Some(rt) = &r.reasoning_text {
                reasoning.push_str(&rt.text);
                // Unsigned thinking (models other than Claude) cannot be sent back: its text
                // is in `reasoning_content` only.
                if let Some(sig) = rt.signature.as_deref().filter(|s| !s.is_empty()) {
                    thinking_blocks.push(thinking_block(&rt.text, sig));
                }
            }
            if let Some(data) = &r.redacted_content {
                thinking_blocks.push(redacted_block(data));
            }
        }
        if let Some(tu) = &block.tool_use {
            calls.push(ToolCall {
                id: tu.tool_use_id.clone(),
                kind: "function".to_string(),
                function: FunctionCall {
                    name: tu.name.clone(),
                    arguments: tool_arguments(tu.input.as_ref()),
                },
            });
        }
    }
    let finish = finish_reason(resp.stop_reason.as_deref(), !calls.is_empty());
    let out = ChatResponse {
        id: crate::openai::generated_id(),
        object: "chat.completion".to_string(),
        created: target.created,
        model: target.model.to_string(),
        choices: vec![Choice {
            index: 0,
            message: ResponseMessage::assistant(text, calls, reasoning, thinking_blocks),
            finish_reason: Some(finish.to_string()),
            ..Choice::default()
        }],
        usage: resp.usage.map(|u| ChatUsage::from_usage(&usage_from(&u))),
        ..ChatResponse::default()
    };
    hub_completion(&out)
}

/// The hub's thinking block for signed thinking text.
pub(crate) fn thinking_block(text: &str, signature: &str) -> Value {
    json!({ "type": "thinking", "thinking": text, "signature": signature })
}

/// The hub's block for redacted thinking.
pub(crate) fn redacted_block(data: &str) -> Value {
    json!({ "type": "redacted_thinking", "data": data })
}

fn tool_arguments(input: Option<&Value>) -> String {
    match input {
        None | Some(Value::Null) => "{}".to_string(),
        Some(v) => v.to_string(),
    }
}

/// An OpenAI `finish_reason` for a Bedrock `stopReason`.
pub(crate) fn finish_reason(reason: Option<&str>, has_tool_calls: bool) -> &'static str {
    match reason {
        Some("max_tokens") | Some("model_context_window_exceeded") => "length",
        Some("tool_use") => "tool_calls",
        Some("guardrail_intervened" | "content_filtered") => "content_filter",
        _ if has_tool_calls => "tool_calls",
        _ => "stop",
    }
}

/// Usage in OpenAI's terms (see the module docs on cached tokens).
pub(crate) fn usage_from(u: &TokenUsage) -> Usage {
    let cached = u.cache_read_input_tokens;
    let input = u
        .input_tokens
        .unwrap_or(0)
        .saturating_add(cached.unwrap_or(0))
        .saturating_add(u.cache_write_input_tokens.unwrap_or(0));
    let output = u.output_tokens.unwrap_or(0);
    Usage {
        input_tokens: Some(input),
        output_tokens: Some(output),
        total_tokens: Some(
            u.total_tokens
                .unwrap_or_else(|| input.saturating_add(output)),
        ),
        cached_input_tokens: cached,
        cache_creation_input_tokens: u.cache_write_input_tokens,
        // Converse reports no split by lifetime: every write is priced as a 5-minute one.
        cache_write_1h_tokens: None,
        reasoning_tokens: None,
        estimated: false,
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

/// A Bedrock error (`{"message": "..."}`, the error type in the `x-amzn-errortype` header or
/// a `__type` field) as an OpenAI error body; the code is the exception's name
/// (`throttlingException`), from `__type` when present, else from the status.
pub fn translate_error(status: u16, body: &[u8]) -> Vec<u8> {
    let parsed = serde_json::from_slice::<Value>(body).ok();
    let message = parsed.as_ref().and_then(|v| {
        v.get("message")
            .or_else(|| v.get("Message"))
            .and_then(Value::as_str)
            .filter(|m| !m.trim().is_empty())
    });
    let Some(message) = message else {
        return crate::error::text_error_body(status, body);
    };
    let named = parsed
        .as_ref()
        .and_then(|v| v.get("__type"))
        .and_then(Value::as_str)
        .map(exception_code)
        .filter(|c| !c.is_empty());
    let code = named.or_else(|| status_exception(status).map(str::to_string));
    openai_error_body(message, openai_error_type(status), code.as_deref())
}

/// `com.amazon.coral.validate#ValidationException:http://...` -> `validationException`.
fn exception_code(t: &str) -> String {
    let name = t.rsplit('#').next().unwrap_or(t);
    let name = name.split(':').next().unwrap_or(name);
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The exception Bedrock answers a status with.
fn status_exception(status: u16) -> Option<&'static str> {
    Some(match status {
        400 => "validationException",
        403 => "accessDeniedException",
        404 => "resourceNotFoundException",
        408 => "modelTimeoutException",
        424 => "modelErrorException",
        429 => "throttlingException",
        500 => "internalServerException",
        503 => "serviceUnavailableException",
        _ => return None,
    })
}

/// The HTTP status an exception of the stream stands for.
pub(crate) fn exception_status(exception: &str) -> u16 {
    match exception {
        "validationException" => 400,
        "accessDeniedException" => 403,
        "resourceNotFoundException" => 404,
        "modelTimeoutException" => 408,
        "modelStreamErrorException" | "modelErrorException" => 424,
        "throttlingException" => 429,
        "serviceUnavailableException" => 503,
        _ => 500,
    }
}
