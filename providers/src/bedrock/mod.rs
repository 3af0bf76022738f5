//! AWS Bedrock through its model-independent Converse API (`POST /model/{modelId}/converse`,
//! and `/converse-stream` answering in the binary event stream of [`eventstream`]),
//! translated from and to OpenAI Chat Completions. Signing (SigV4) is the gateway's.
//!
//! - Requests: system and developer messages become `system` text blocks; user and assistant
//!   messages `messages` with `text`, `image` (base64 data URLs only: Converse takes no image
//!   URLs) and `toolUse` blocks; tool results `toolResult` blocks in a user turn; consecutive
//!   turns of one role are merged, as Bedrock wants roles to alternate. Sampling parameters go
//!   to `inferenceConfig`; tools to `toolConfig`. Parameters Converse has no field for
//!   (`seed`, penalties) are left out; `n > 1` and `response_format` other than text are
//!   refused.
//! - `tool_choice: "none"`: Converse has no such choice, so the tools are left out, unless
//!   the conversation already holds tool calls (Bedrock then requires `toolConfig`), in which
//!   case they stay without a choice (the model may call them).
//! - Responses: text blocks joined, `toolUse` blocks become `tool_calls`, `stopReason` the
//!   `finish_reason`. Usage: Bedrock's `inputTokens` leaves out cached tokens, OpenAI's
//!   `prompt_tokens` includes them, so prompt tokens are `inputTokens + cacheReadInputTokens +
//!   cacheWriteInputTokens`, and `cacheReadInputTokens` are the cached tokens.

pub mod eventstream;
pub mod invoke;
mod stream;

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::{openai_error_body, openai_error_type};
use crate::openai::{
    completion_facts, content_blocks, part_text, text_only, ChatRequest, ChatResponse, ChatUsage,
    Choice, Content, ContentPart, FunctionCall, Message, ResponseMessage, ToolCall,
};
use crate::{Completion, RequestTarget, ResponseTarget, TranslateError, UpstreamRequest, Usage};

pub use stream::BedrockStream;

// ---------------------------------------------------------------------------------------------
// Requests

/// The `Converse` (or, for streams, `ConverseStream`) request for `req`.
pub fn translate_request(
    req: &ChatRequest,
    target: &RequestTarget<'_>,
) -> Result<UpstreamRequest, TranslateError> {
    if target.model.is_empty() {
        return Err(TranslateError::InvalidRequest(
            "a Bedrock model id is required".to_string(),
        ));
    }
    let model = encode_path_segment(target.model);
    let path = if req.stream {
        format!("/model/{model}/converse-stream")
    } else {
        format!("/model/{model}/converse")
    };
    if req.n.is_some_and(|n| n > 1) {
        return Err(TranslateError::Unsupported(
            "Bedrock Converse returns one choice: n must be 1".to_string(),
        ));
    }
    match req
        .response_format
        .as_ref()
        .filter(|v| !v.is_null())
        .map(|rf| rf.get("type").and_then(Value::as_str))
    {
        None | Some(Some("text")) => {}
        Some(_) => {
            return Err(TranslateError::Unsupported(
                "Bedrock Converse takes no response_format".to_string(),
            ))
        }
    }
    let (messages, system, has_tool_blocks) = convert_messages(&req.messages)?;
    let mut body = Map::new();
    body.insert("messages".into(), Value::Array(messages));
    if !system.is_empty() {
        body.insert("system".into(), Value::Array(system));
    }
    let mut config = Map::new();
    if let Some(max) = req.max_completion_tokens.or(req.max_tokens) {
        config.insert("maxTokens".into(), json!(max));
    }
    if let Some(t) = req.temperature {
        config.insert("temperature".into(), json!(t));
    }
    if let Some(p) = req.top_p {
        config.insert("topP".into(), json!(p));
    }
    let stops = req.stop.as_ref().map(|s| s.to_vec()).unwrap_or_default();
    if !stops.is_empty() {
        config.insert("stopSequences".into(), json!(stops));
    }
    if !config.is_empty() {
        body.insert("inferenceConfig".into(), Value::Object(config));
    }
    if let Some(tool_config) = tool_config(req, has_tool_blocks)? {
        body.insert("toolConfig".into(), tool_config);
    }
    let body = serde_json::to_vec(&Value::Object(body))
        .map_err(|e| TranslateError::InvalidRequest(e.to_string()))?;
    Ok(UpstreamRequest::new(path, body))
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so model ids and ARNs
/// (`:` and `/`) stay one path segment and cannot reshape the path.
pub(crate) fn encode_path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `messages`, `system`, and whether any tool use or result is in the conversation.
type Converted = (Vec<Value>, Vec<Value>, bool);

fn convert_messages(messages: &[Message]) -> Result<Converted, TranslateError> {
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    let mut system = Vec::new();
    let mut has_tool_blocks = false;
    for m in messages {
        let (role, blocks) = match m.role.as_str() {
            "system" | "developer" => {
                system.extend(system_blocks(m.content.as_ref())?);
                continue;
            }
            "user" => ("user", user_blocks(m.content.as_ref())?),
            "assistant" => {
                let mut blocks = assistant_text_blocks(m.content.as_ref());
                for call in m.tool_calls.iter().flatten() {
                    has_tool_blocks = true;
                    blocks.push(tool_use_block(call)?);
                }
                ("assistant", blocks)
            }
            "tool" | "function" => {
                has_tool_blocks = true;
                ("user", vec![tool_result_block(m)?])
            }
            other => {
                return Err(TranslateError::InvalidRequest(format!(
                    "unknown message role {other:?}"
                )))
            }
        };
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((last, content)) if *last == role => content.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    let messages = turns
        .into_iter()
        .map(|(role, content)| json!({ "role": role, "content": content }))
        .collect();
    Ok((messages, system, has_tool_blocks))
}

/// A text block; Bedrock refuses blank ones, so those are left out.
fn text_block(text: &str) -> Option<Value> {
    (!text.trim().is_empty()).then(|| json!({ "text": text }))
}

fn system_blocks(content: Option<&Content>) -> Result<Vec<Value>, TranslateError> {
    content_blocks(content, text_block, |p| {
        Ok(text_only(p, "Bedrock system prompts")?.and_then(text_block))
    })
}

fn assistant_text_blocks(content: Option<&Content>) -> Vec<Value> {
    content_blocks(content, text_block, |p| {
        Ok(part_text(p).and_then(text_block))
    })
    .unwrap_or_default()
}

fn user_blocks(content: Option<&Content>) -> Result<Vec<Value>, TranslateError> {
    content_blocks(content, text_block, user_block)
}

fn user_block(p: &ContentPart) -> Result<Option<Value>, TranslateError> {
    match p.kind.as_str() {
        "text" => Ok(p.text.as_deref().and_then(text_block)),
        "image_url" => {
            let url = p.image_url_str()?;
            image_block(url).map(Some)
        }
        other => Err(TranslateError::Unsupported(format!(
            "content part type {other:?} is not supported for Bedrock"
        ))),
    }
}

/// A base64 `data:` URL as an image block; Converse takes image bytes only.
fn image_block(url: &str) -> Result<Value, TranslateError> {
    let Some(rest) = url.strip_prefix("data:") else {
        return Err(TranslateError::Unsupported(
            "Bedrock takes images as base64 data URLs only, not by URL".to_string(),
        ));
    };
    let (meta, data) = rest.split_once(',').unwrap_or((rest, ""));
    let Some(mime) = meta.strip_suffix(";base64") else {
        return Err(TranslateError::Unsupported(
            "only base64 data URLs can be sent to Bedrock".to_string(),
        ));
    };
    let format = match mime.split(';').next().unwrap_or("") {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpeg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        other => {
            return Err(TranslateError::Unsupported(format!(
                "Bedrock takes png, jpeg, gif or webp images, not {other:?}"
            )))
        }
    };
    Ok(json!({ "image": { "format": format, "source": { "bytes": data } } }))
}

fn tool_use_block(call: &ToolCall) -> Result<Value, TranslateError> {
    let raw = call.function.arguments.trim();
    let input = if raw.is_empty() {
        Value::Object(Map::new())
    } else {
        match serde_json::from_str::<Value>(raw) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                return Err(TranslateError::InvalidRequest(format!(
                    "arguments of tool call {:?} are not a JSON object",
                    call.id
                )))
            }
        }
    };
    Ok(json!({
        "toolUse": { "toolUseId": call.id, "name": call.function.name, "input": input }
    }))
}

fn tool_result_block(m: &Message) -> Result<Value, TranslateError> {
    let id = m
        .tool_call_id
        .as_deref()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            TranslateError::InvalidRequest("tool message without tool_call_id".to_string())
        })?;
    let text = m.content.as_ref().map(Content::text).unwrap_or_default();
    let content = match serde_json::from_str::<Value>(&text) {
        Ok(v @ Value::Object(_)) => json!([{ "json": v }]),
        _ => json!([{ "text": text }]),
    };
    Ok(json!({ "toolResult": { "toolUseId": id, "content": content } }))
}

fn tool_config(req: &ChatRequest, has_tool_blocks: bool) -> Result<Option<Value>, TranslateError> {
    let mut tools = Vec::new();
    for tool in req.tools.iter().flatten() {
        if tool.kind != "function" {
            return Err(TranslateError::Unsupported(format!(
                "tool type {:?} is not supported for Bedrock",
                tool.kind
            )));
        }
        let f = &tool.function;
        let schema = f
            .parameters
            .clone()
            .filter(Value::is_object)
            .unwrap_or_else(|| json!({ "type": "object", "properties": {} }));
        let mut spec = Map::new();
        spec.insert("name".into(), json!(f.name));
        if let Some(d) = f.description.as_ref().filter(|d| !d.is_empty()) {
            spec.insert("description".into(), json!(d));
        }
        spec.insert("inputSchema".into(), json!({ "json": schema }));
        tools.push(json!({ "toolSpec": spec }));
    }
    let choice = match req.tool_choice.as_ref() {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => match s.as_str() {
            "auto" => Some(json!({ "auto": {} })),
            "required" => Some(json!({ "any": {} })),
            "none" if has_tool_blocks => None,
            "none" => return Ok(None),
            other => {
                return Err(TranslateError::InvalidRequest(format!(
                    "unknown tool_choice {other:?}"
                )))
            }
        },
        Some(choice @ Value::Object(_)) => {
            match choice.pointer("/function/name").and_then(Value::as_str) {
                Some(name) => Some(json!({ "tool": { "name": name } })),
                None => {
                    return Err(TranslateError::Unsupported(
                        "tool_choice must be auto, none, required or a function".to_string(),
                    ))
                }
            }
        }
        Some(_) => {
            return Err(TranslateError::InvalidRequest(
                "tool_choice must be a string or an object".to_string(),
            ))
        }
    };
    if tools.is_empty() {
        return Ok(None);
    }
    let mut config = Map::new();
    config.insert("tools".into(), Value::Array(tools));
    if let Some(choice) = choice {
        config.insert("toolChoice".into(), choice);
    }
    Ok(Some(Value::Object(config)))
}

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
    for block in &blocks {
        if let Some(t) = &block.text {
            text.push_str(t);
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
        id: generated_id(),
        object: "chat.completion".to_string(),
        created: target.created,
        model: target.model.to_string(),
        choices: vec![Choice {
            index: 0,
            message: ResponseMessage {
                role: "assistant".to_string(),
                content: (!text.is_empty() || calls.is_empty()).then_some(text),
                tool_calls: (!calls.is_empty()).then_some(calls),
                ..ResponseMessage::default()
            },
            finish_reason: Some(finish.to_string()),
            ..Choice::default()
        }],
        usage: resp.usage.map(|u| ChatUsage::from_usage(&usage_from(&u))),
        ..ChatResponse::default()
    };
    let body =
        serde_json::to_vec(&out).map_err(|e| TranslateError::InvalidResponse(e.to_string()))?;
    Ok(completion_facts(&out, body))
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
        reasoning_tokens: None,
        estimated: false,
    }
}

/// A fresh `chatcmpl-` id (Converse answers carry none).
pub(crate) fn generated_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("chatcmpl-{:016x}", hasher.finish())
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
