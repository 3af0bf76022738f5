//! Anthropic Messages API (`POST /v1/messages`), translated from and to OpenAI Chat Completions.
//!
//! - Requests: system and developer messages become the top-level `system` string; user and
//!   assistant messages become turns of content blocks (text, images, `tool_use`); `tool`
//!   messages become `tool_result` blocks of a user turn. Consecutive turns of one role are
//!   merged, since Anthropic requires user and assistant turns to alternate. `max_tokens` is
//!   required by Anthropic: [`DEFAULT_MAX_TOKENS`] when the client names none.
//!   `seed`, `presence_penalty` and `frequency_penalty` have no Anthropic equivalent and are
//!   dropped; `n > 1` and JSON `response_format`s are refused.
//! - Responses: text blocks joined, `tool_use` blocks become `tool_calls`, thinking blocks
//!   dropped. Anthropic's `input_tokens` excludes cache reads and writes, while OpenAI's
//!   `prompt_tokens` includes them: `prompt_tokens = input + cache_read + cache_creation`,
//!   with `cache_read` reported as `cached_tokens`.
//! - Errors: `{"type":"error","error":{"type","message"}}` becomes an OpenAI error whose `code`
//!   is Anthropic's error type.

pub mod facts;
mod stream;
pub mod thinking;
mod wire;

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Map, Value};

use crate::error::{openai_error_body, openai_error_type};
use crate::openai::{
    completion_facts, content_blocks, part_text, text_only, ChatRequest, ChatResponse, ChatUsage,
    Choice, Content, ContentPart, FunctionCall, Message, ResponseMessage, ToolCall,
};
use crate::{Completion, RequestTarget, ResponseTarget, TranslateError, UpstreamRequest, Usage};

pub use stream::AnthropicUpstreamStream;

use wire::{ContentBlock, MessageResponse, MessagesRequest, Metadata, Tool, Turn, WireUsage};

/// `max_tokens` sent when the client sets neither `max_completion_tokens` nor `max_tokens`.
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

/// The `anthropic-version` header value every request carries.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// The path of the Messages API on the base URL.
const PATH: &str = "/v1/messages";

// ---------------------------------------------------------------------------------------------
// Requests

/// The `POST /v1/messages` request for `req` (streamed when `req.stream`).
pub fn translate_request(
    req: &ChatRequest,
    target: &RequestTarget<'_>,
) -> Result<UpstreamRequest, TranslateError> {
    if target.model.is_empty() {
        return Err(TranslateError::InvalidRequest(
            "a model is required for Anthropic".to_string(),
        ));
    }
    if req.n.is_some_and(|n| n > 1) {
        return Err(TranslateError::Unsupported(
            "Anthropic returns one choice per request (n must be 1)".to_string(),
        ));
    }
    check_response_format(req.response_format.as_ref())?;
    let (system, messages) = convert_messages(&req.messages)?;
    let tools = convert_tools(req)?;
    let tool_choice = if tools.is_empty() {
        // Anthropic refuses a tool_choice without tools; without tools none is made anyway.
        None
    } else {
        convert_tool_choice(req.tool_choice.as_ref(), parallel_tool_calls(req))?
    };
    let body = MessagesRequest {
        model: target.model.to_string(),
        max_tokens: req
            .max_completion_tokens
            .or(req.max_tokens)
            .unwrap_or(DEFAULT_MAX_TOKENS),
        system,
        messages,
        temperature: req.temperature,
        top_p: req.top_p,
        stop_sequences: req.stop.as_ref().map(|s| s.to_vec()).unwrap_or_default(),
        stream: req.stream,
        tools,
        tool_choice,
        metadata: req
            .extra
            .get("user")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
            .map(|u| Metadata {
                user_id: u.to_string(),
            }),
    };
    let body =
        serde_json::to_vec(&body).map_err(|e| TranslateError::InvalidRequest(e.to_string()))?;
    Ok(UpstreamRequest {
        path: PATH.to_string(),
        body,
        headers: vec![("anthropic-version", ANTHROPIC_VERSION.to_string())],
    })
}

fn check_response_format(format: Option<&Value>) -> Result<(), TranslateError> {
    match format {
        None | Some(Value::Null) => Ok(()),
        Some(f) if f.get("type").and_then(Value::as_str) == Some("text") => Ok(()),
        Some(_) => Err(TranslateError::Unsupported(
            "response_format other than text is not supported for Anthropic".to_string(),
        )),
    }
}

/// `Some(false)` when the client turned parallel tool calls off.
fn parallel_tool_calls(req: &ChatRequest) -> Option<bool> {
    req.extra
        .get("parallel_tool_calls")
        .and_then(Value::as_bool)
}

type Converted = (Option<String>, Vec<Turn>);

fn convert_messages(messages: &[Message]) -> Result<Converted, TranslateError> {
    let mut system: Vec<String> = Vec::new();
    let mut turns: Vec<Turn> = Vec::new();
    for m in messages {
        match m.role.as_str() {
            "system" | "developer" => {
                let text = system_text(m.content.as_ref())?;
                if !text.is_empty() {
                    system.push(text);
                }
            }
            "user" => {
                let blocks = user_blocks(m.content.as_ref())?;
                push_blocks(&mut turns, "user", blocks);
            }
            "assistant" => {
                let mut blocks = assistant_text_blocks(m.content.as_ref());
                for call in m.tool_calls.iter().flatten() {
                    blocks.push(tool_use_block(call));
                }
                push_blocks(&mut turns, "assistant", blocks);
            }
            "tool" => push_tool_result(&mut turns, tool_result_block(m)?),
            "function" => {
                return Err(TranslateError::Unsupported(
                    "legacy function messages are not supported for Anthropic; use tool messages"
                        .to_string(),
                ))
            }
            other => {
                return Err(TranslateError::InvalidRequest(format!(
                    "unknown message role {other:?}"
                )))
            }
        }
    }
    let system = (!system.is_empty()).then(|| system.join("\n\n"));
    Ok((system, turns))
}

/// Adds blocks as a turn of `role`, or to the last turn when it has the same role (Anthropic
/// requires the roles to alternate). A message with nothing to carry adds nothing.
fn push_blocks(turns: &mut Vec<Turn>, role: &'static str, blocks: Vec<Value>) {
    if blocks.is_empty() {
        return;
    }
    match turns.last_mut() {
        Some(last) if last.role == role => last.content.extend(blocks),
        _ => turns.push(Turn {
            role,
            content: blocks,
        }),
    }
}

/// Adds a `tool_result` to a user turn, before any other block of it: Anthropic wants the
/// results first in the turn that follows the tool calls.
fn push_tool_result(turns: &mut Vec<Turn>, block: Value) {
    match turns.last_mut() {
        Some(last) if last.role == "user" => {
            let at = last
                .content
                .iter()
                .take_while(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
                .count();
            last.content.insert(at, block);
        }
        _ => turns.push(Turn {
            role: "user",
            content: vec![block],
        }),
    }
}

fn text_block(text: &str) -> Option<Value> {
    // Anthropic refuses empty text blocks.
    (!text.is_empty()).then(|| json!({"type": "text", "text": text}))
}

fn system_text(content: Option<&Content>) -> Result<String, TranslateError> {
    if let Some(Content::Text(text)) = content {
        return Ok(text.clone());
    }
    let texts = content_blocks(
        content,
        |t| Some(t.to_string()),
        |p| {
            let text = text_only(p, "Anthropic system prompts")?;
            Ok(text.filter(|t| !t.is_empty()).map(str::to_string))
        },
    )?;
    Ok(texts.join("\n"))
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
        "file" => {
            let data = p.extra.get("file").and_then(|f| f.get("file_data"));
            match data.and_then(Value::as_str).map(data_url) {
                Some(Ok((media_type, data))) if media_type == "application/pdf" => {
                    Ok(Some(json!({
                        "type": "document",
                        "source": {"type": "base64", "media_type": media_type, "data": data},
                    })))
                }
                _ => Err(TranslateError::Unsupported(
                    "Anthropic takes file parts only as PDF data URLs (file_data)".to_string(),
                )),
            }
        }
        other => Err(TranslateError::Unsupported(format!(
            "content part type {other:?} is not supported for Anthropic"
        ))),
    }
}

/// An image URL as an image block: `data:` URLs inline (base64), http(s) URLs by reference.
fn image_block(url: &str) -> Result<Value, TranslateError> {
    if url.starts_with("data:") {
        let (media_type, data) = data_url(url)?;
        return Ok(json!({
            "type": "image",
            "source": {"type": "base64", "media_type": media_type, "data": data},
        }));
    }
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return Err(TranslateError::Unsupported(format!(
            "Anthropic takes data: or http(s) image URLs, not {url:?}"
        )));
    }
    Ok(json!({"type": "image", "source": {"type": "url", "url": url}}))
}

/// A base64 `data:` URL's media type and data.
fn data_url(url: &str) -> Result<(&str, &str), TranslateError> {
    let rest = url.strip_prefix("data:").ok_or_else(|| {
        TranslateError::Unsupported("only data: URLs can be sent inline".to_string())
    })?;
    let (meta, data) = rest.split_once(',').unwrap_or((rest, ""));
    let Some(mime) = meta.strip_suffix(";base64") else {
        return Err(TranslateError::Unsupported(
            "only base64 data URLs can be sent to Anthropic".to_string(),
        ));
    };
    let mime = match mime.split(';').next().unwrap_or("") {
        "" | "image/jpg" => "image/jpeg",
        m => m,
    };
    Ok((mime, data))
}

/// An assistant tool call as a `tool_use` block; arguments that are not a JSON object (empty,
/// unparsable) become `{}`, as Anthropic requires an object `input`.
fn tool_use_block(call: &ToolCall) -> Value {
    let input = match serde_json::from_str::<Value>(call.function.arguments.trim()) {
        Ok(v @ Value::Object(_)) => v,
        _ => Value::Object(Map::new()),
    };
    json!({
        "type": "tool_use",
        "id": call.id,
        "name": call.function.name,
        "input": input,
    })
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
    Ok(json!({"type": "tool_result", "tool_use_id": id, "content": text}))
}

fn convert_tools(req: &ChatRequest) -> Result<Vec<Tool>, TranslateError> {
    let mut tools = Vec::new();
    for tool in req.tools.iter().flatten() {
        if tool.kind != "function" {
            return Err(TranslateError::Unsupported(format!(
                "tool type {:?} is not supported for Anthropic",
                tool.kind
            )));
        }
        let f = &tool.function;
        let input_schema = match &f.parameters {
            Some(schema @ Value::Object(_)) => schema.clone(),
            _ => json!({"type": "object", "properties": {}}),
        };
        tools.push(Tool {
            name: f.name.clone(),
            description: f.description.clone(),
            input_schema,
        });
    }
    Ok(tools)
}

fn convert_tool_choice(
    choice: Option<&Value>,
    parallel: Option<bool>,
) -> Result<Option<Value>, TranslateError> {
    let mut out = match choice {
        None | Some(Value::Null) => json!({"type": "auto"}),
        Some(Value::String(s)) => match s.as_str() {
            "auto" => json!({"type": "auto"}),
            "required" => json!({"type": "any"}),
            // `none` takes no `disable_parallel_tool_use`.
            "none" => return Ok(Some(json!({"type": "none"}))),
            other => {
                return Err(TranslateError::InvalidRequest(format!(
                    "unknown tool_choice {other:?}"
                )))
            }
        },
        Some(choice @ Value::Object(_)) => {
            match choice.pointer("/function/name").and_then(Value::as_str) {
                Some(name) => json!({"type": "tool", "name": name}),
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
    if parallel == Some(false) {
        if let Value::Object(map) = &mut out {
            map.insert("disable_parallel_tool_use".to_string(), Value::Bool(true));
        }
    } else if choice.is_none_or(Value::is_null) {
        // Left to Anthropic's default (auto).
        return Ok(None);
    }
    Ok(Some(out))
}

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
    for block in blocks {
        match block.kind.as_str() {
            "text" => text.push_str(block.text.as_deref().unwrap_or_default()),
            "tool_use" => calls.push(ToolCall {
                id: block.id.clone().unwrap_or_default(),
                kind: "function".to_string(),
                function: FunctionCall {
                    name: block.name.clone().unwrap_or_default(),
                    arguments: tool_arguments(block),
                },
            }),
            // thinking, redacted_thinking, server tool blocks: not part of the answer.
            _ => {}
        }
    }
    let finish = finish_reason(resp.stop_reason.as_deref(), !calls.is_empty());
    let out = ChatResponse {
        id: resp
            .id
            .clone()
            .filter(|id| !id.is_empty())
            .unwrap_or_else(generated_id),
        object: "chat.completion".to_string(),
        created: target.created,
        model: response_model(resp.model.as_deref(), target.model),
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
        usage: resp
            .usage
            .as_ref()
            .map(|u| ChatUsage::from_usage(&usage_from(u))),
        ..ChatResponse::default()
    };
    let body =
        serde_json::to_vec(&out).map_err(|e| TranslateError::InvalidResponse(e.to_string()))?;
    Ok(completion_facts(&out, body))
}

fn response_model(model: Option<&str>, fallback: &str) -> String {
    model
        .filter(|m| !m.is_empty())
        .unwrap_or(fallback)
        .to_string()
}

/// A `tool_use` block's `input` as OpenAI arguments text.
fn tool_arguments(block: &ContentBlock) -> String {
    match &block.input {
        None | Some(Value::Null) => "{}".to_string(),
        Some(input) => input.to_string(),
    }
}

/// An OpenAI `finish_reason` for an Anthropic `stop_reason`.
fn finish_reason(reason: Option<&str>, has_tool_calls: bool) -> &'static str {
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
        reasoning_tokens: None,
        estimated: false,
    }
}

/// A fresh `chatcmpl-` id for responses that carry no id.
fn generated_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("chatcmpl-{:016x}", hasher.finish())
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
fn error_body(status: u16, error: &Value) -> Vec<u8> {
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
fn error_status(kind: Option<&str>) -> u16 {
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
