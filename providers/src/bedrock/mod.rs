//! AWS Bedrock through its model-independent Converse API (`POST /model/{modelId}/converse`,
//! and `/converse-stream` answering in the binary event stream of [`eventstream`]),
//! translated from and to OpenAI Chat Completions (the hub). Signing (SigV4) is the gateway's.
//!
//! Each field of the hub request (see [`crate::openai`]), and what becomes of it:
//!
//! - `messages`: system and developer messages → `system` text blocks; user and assistant
//!   messages → `messages` with `text`, `image` (base64 data URLs only: Converse takes no
//!   image URLs) and `toolUse` blocks; tool messages → `toolResult` blocks (text, JSON or
//!   images) of a user turn. Consecutive turns of one role are merged, as Bedrock wants roles
//!   to alternate. A message's `name` and an image's `detail` are ignored (Converse has no
//!   place for them; the name of a tool result's function is known from its id).
//! - `cache_control` on a content part (system text, user and assistant text, images, tool
//!   results) → a `{"cachePoint":{"type":"default"}}` block right after that part's block;
//!   on a tool (`tools[].cache_control`) → a `cachePoint` entry right after that tool in
//!   `toolConfig.tools`. Its `ttl` (`5m`, `1h`) is kept; any other `ttl` or `type` is a 400.
//! - an assistant message's `thinking_blocks` → `reasoningContent` blocks first in its turn:
//!   `{"reasoningText":{"text","signature"}}` for `thinking`, `{"redactedContent":data}` for
//!   `redacted_thinking`. Gemini's (signature `sluice:gemini:...`) are left out: they are
//!   valid only on Gemini. Its `reasoning_content` is not sent: the thinking goes back as the
//!   signed blocks of `thinking_blocks`, which carry the same text (Claude refuses unsigned
//!   thinking).
//! - `max_completion_tokens` (else `max_tokens`) → `inferenceConfig.maxTokens`;
//!   `temperature` → `inferenceConfig.temperature`; `top_p` → `inferenceConfig.topP`;
//!   `stop` → `inferenceConfig.stopSequences`; `stream` → `converse-stream`.
//! - `tools` → `toolConfig.tools` (`toolSpec`); `tool_choice` → `toolConfig.toolChoice`
//!   (`auto` → `auto`, `required` → `any`, a function → `tool`). `none`: Converse has no such
//!   choice, so the tools are left out, unless the conversation already holds tool calls
//!   (Bedrock then requires `toolConfig`), in which case they stay without a choice (the
//!   model may call them).
//! - Claude models (`anthropic.claude` in the model id): `thinking` and `reasoning_effort` →
//!   `additionalModelRequestFields.thinking` and `additionalModelRequestFields.output_config
//!   .effort`, as [`crate::anthropic::thinking::claude_thinking`] gives them, with
//!   `inferenceConfig.maxTokens` raised above a thinking budget (from
//!   [`crate::anthropic::DEFAULT_MAX_TOKENS`] when the client sets none); `top_k` →
//!   `additionalModelRequestFields.top_k`.
//! - Other models: `thinking` and `reasoning_effort` are ignored: Converse has no reasoning
//!   field common to its models, and each family that reasons takes its own switch (or none)
//!   in `additionalModelRequestFields`; `top_k` is refused (no common field either).
//! - Ignored, as their loss cannot change the answer: `seed` (Converse has no seed; without
//!   it the answer is one sample of the same distribution), `user` and `safety_identifier`
//!   (end-user ids for OpenAI's abuse monitoring, not read by the model), `store` and
//!   `metadata` (OpenAI's storage of completions and its tags), `service_tier` (latency and
//!   price, not the answer), `prompt_cache_key` and `prompt_cache_retention` (OpenAI's cache
//!   routing and retention), `stream_options` (usage is always read, and sent when
//!   `include_usage`), and `n: 1`, `response_format: text`, `presence_penalty: 0`,
//!   `frequency_penalty: 0`, `parallel_tool_calls: true`, `logprobs: false` (the defaults).
//! - Refused with a 400 naming the field: `n > 1`, `response_format` other than text,
//!   non-zero `presence_penalty` or `frequency_penalty`, `top_k` for non-Claude models,
//!   `parallel_tool_calls: false`, `logprobs: true`, and every other field
//!   (`logit_bias`, `top_logprobs`, `audio`, `modalities`, `functions`, ...).
//!
//! Answers: text blocks joined, `toolUse` blocks → `tool_calls`, `reasoningContent` blocks →
//! `reasoning_content` (their texts joined) and `thinking_blocks` (the signed and the redacted
//! ones), `stopReason` → `finish_reason`. Usage: Bedrock's `inputTokens` leaves out cached
//! tokens, OpenAI's `prompt_tokens` includes them, so prompt tokens are `inputTokens +
//! cacheReadInputTokens + cacheWriteInputTokens`; `cacheReadInputTokens` are the cached
//! tokens, `cacheWriteInputTokens` the cache writes.

pub mod eventstream;
pub mod invoke;
mod stream;

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::anthropic::{self, thinking::claude_thinking};
use crate::error::{no_counterpart, openai_error_body, openai_error_type, refuse_unknown};
use crate::openai::{
    completion_facts, part_text, text_only, ChatRequest, ChatResponse, ChatUsage, Choice, Content,
    ContentPart, FunctionCall, Message, ResponseMessage, ToolCall,
};
use crate::{Completion, RequestTarget, ResponseTarget, TranslateError, UpstreamRequest, Usage};

pub use stream::BedrockStream;

/// The prefix sluice gives Gemini's thought signatures in the hub's `thinking_blocks`.
const GEMINI_SIGNATURE: &str = "sluice:gemini:";

// ---------------------------------------------------------------------------------------------
// Requests

/// The API named in refusals.
const API: &str = "Bedrock Converse";

/// Hub fields dropped because their loss cannot change the answer (see the module docs).
const IGNORED: &[&str] = &[
    "store",
    "metadata",
    "service_tier",
    "user",
    "safety_identifier",
    "prompt_cache_key",
    "prompt_cache_retention",
];

/// Hub fields taken only at their default value, which asks nothing of the model.
const DEFAULTS_ONLY: &[(&str, bool)] = &[("parallel_tool_calls", true), ("logprobs", false)];

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
    refuse_unsupported(req)?;
    let model = encode_path_segment(target.model);
    let path = if req.stream {
        format!("/model/{model}/converse-stream")
    } else {
        format!("/model/{model}/converse")
    };
    let (messages, system, has_tool_blocks) = convert_messages(&req.messages)?;
    let mut body = Map::new();
    body.insert("messages".into(), Value::Array(messages));
    if !system.is_empty() {
        body.insert("system".into(), Value::Array(system));
    }
    let mut config = Map::new();
    let mut max_tokens = req.max_completion_tokens.or(req.max_tokens);
    let mut additional = Map::new();
    if invoke::is_claude(target.model) {
        let thinking = claude_thinking(
            req,
            target.model,
            max_tokens.unwrap_or(anthropic::DEFAULT_MAX_TOKENS),
        )?;
        if let Some(t) = thinking.thinking {
            // Converse's own default for maxTokens is the model's limit: only a budget, or
            // the client's own limit, needs one.
            let disabled = t.get("type").and_then(Value::as_str) == Some("disabled");
            if max_tokens.is_some() || !disabled {
                max_tokens = Some(thinking.max_tokens);
            }
            additional.insert("thinking".into(), t);
        }
        if let Some(effort) = thinking.effort {
            additional.insert("output_config".into(), json!({ "effort": effort }));
        }
        if let Some(k) = req.top_k {
            additional.insert("top_k".into(), json!(k));
        }
    } else if req.top_k.is_some() {
        return Err(no_counterpart(
            "top_k",
            &format!("{API} (for models other than Claude)"),
        ));
    }
    if let Some(max) = max_tokens {
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
    if !additional.is_empty() {
        body.insert(
            "additionalModelRequestFields".into(),
            Value::Object(additional),
        );
    }
    let body = serde_json::to_vec(&Value::Object(body))
        .map_err(|e| TranslateError::InvalidRequest(e.to_string()))?;
    Ok(UpstreamRequest::new(path, body))
}

/// The 400s for what Converse cannot do (see the module docs).
fn refuse_unsupported(req: &ChatRequest) -> Result<(), TranslateError> {
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
    for (name, value) in [
        ("presence_penalty", req.presence_penalty),
        ("frequency_penalty", req.frequency_penalty),
    ] {
        if value.is_some_and(|v| v != 0.0) {
            return Err(no_counterpart(name, API));
        }
    }
    for &(name, default) in DEFAULTS_ONLY {
        match req.extra.get(name) {
            None | Some(Value::Null) => {}
            Some(Value::Bool(b)) if *b == default => {}
            Some(_) => return Err(no_counterpart(name, API)),
        }
    }
    let carried: Vec<&str> = DEFAULTS_ONLY.iter().map(|(name, _)| *name).collect();
    refuse_unknown(&req.extra, "", &carried, IGNORED, API)
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
                system.extend(blocks_of(m.content.as_ref(), |p| {
                    Ok(text_only(p, "Bedrock system prompts")?.and_then(text_block))
                })?);
                continue;
            }
            "user" => ("user", blocks_of(m.content.as_ref(), user_block)?),
            "assistant" => {
                let mut blocks = reasoning_blocks(m.thinking_blocks.as_deref())?;
                blocks.extend(blocks_of(m.content.as_ref(), |p| {
                    Ok(part_text(p).and_then(text_block))
                })?);
                for call in m.tool_calls.iter().flatten() {
                    has_tool_blocks = true;
                    blocks.push(tool_use_block(call)?);
                }
                ("assistant", blocks)
            }
            "tool" | "function" => {
                has_tool_blocks = true;
                ("user", tool_result_blocks(m)?)
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

/// The blocks of message content: a string as one text block, each part through `part`,
/// followed by a `cachePoint` when the part carries `cache_control` (a breakpoint with no
/// block before it in the message marks nothing, and is left out).
fn blocks_of(
    content: Option<&Content>,
    mut part: impl FnMut(&ContentPart) -> Result<Option<Value>, TranslateError>,
) -> Result<Vec<Value>, TranslateError> {
    let mut out = Vec::new();
    match content {
        None => {}
        Some(Content::Text(s)) => out.extend(text_block(s)),
        Some(Content::Parts(parts)) => {
            for p in parts {
                out.extend(part(p)?);
                if let Some(point) = cache_point(&p.extra)? {
                    if !out.is_empty() {
                        out.push(point);
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The `cachePoint` block for the `cache_control` in a hub object's `extra`, if any.
fn cache_point(extra: &Map<String, Value>) -> Result<Option<Value>, TranslateError> {
    let Some(control) = extra.get("cache_control").filter(|c| !c.is_null()) else {
        return Ok(None);
    };
    let invalid = |what: String| TranslateError::InvalidRequest(format!("cache_control: {what}"));
    let Some(control) = control.as_object() else {
        return Err(invalid("must be an object".to_string()));
    };
    match control.get("type") {
        None | Some(Value::Null) => {}
        Some(t) if t == "ephemeral" => {}
        Some(t) => return Err(invalid(format!("unknown type {t}; expected \"ephemeral\""))),
    }
    let mut point = Map::new();
    point.insert("type".into(), json!("default"));
    match control.get("ttl") {
        None | Some(Value::Null) => {}
        Some(ttl) if ttl == "5m" || ttl == "1h" => {
            point.insert("ttl".into(), ttl.clone());
        }
        Some(ttl) => {
            return Err(invalid(format!(
                "unknown ttl {ttl}; expected \"5m\" or \"1h\""
            )))
        }
    }
    Ok(Some(json!({ "cachePoint": point })))
}

/// An assistant turn's thinking blocks as `reasoningContent` blocks (module docs).
fn reasoning_blocks(blocks: Option<&[Value]>) -> Result<Vec<Value>, TranslateError> {
    let mut out = Vec::new();
    for b in blocks.unwrap_or_default() {
        let field = |name: &str| b.get(name).and_then(Value::as_str);
        match field("type") {
            Some("thinking") => {
                let signature = field("signature").unwrap_or("");
                if signature.starts_with(GEMINI_SIGNATURE) {
                    continue;
                }
                let mut text = Map::new();
                text.insert("text".into(), json!(field("thinking").unwrap_or("")));
                if !signature.is_empty() {
                    text.insert("signature".into(), json!(signature));
                }
                out.push(json!({ "reasoningContent": { "reasoningText": text } }));
            }
            Some("redacted_thinking") => {
                let data = field("data").ok_or_else(|| {
                    TranslateError::InvalidRequest(
                        "thinking_blocks: a redacted_thinking block needs a string `data`"
                            .to_string(),
                    )
                })?;
                out.push(json!({ "reasoningContent": { "redactedContent": data } }));
            }
            _ => {
                let kind = b.get("type").unwrap_or(&Value::Null);
                return Err(TranslateError::InvalidRequest(format!(
                    "thinking_blocks: unknown block type {kind}"
                )));
            }
        }
    }
    Ok(out)
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

/// A tool message as a `toolResult` block: text parts joined (a JSON object as `json`),
/// images as `image` blocks; a `cachePoint` after it when a part carries `cache_control`.
fn tool_result_blocks(m: &Message) -> Result<Vec<Value>, TranslateError> {
    let id = m
        .tool_call_id
        .as_deref()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            TranslateError::InvalidRequest("tool message without tool_call_id".to_string())
        })?;
    let text = m.content.as_ref().map(Content::text).unwrap_or_default();
    let parts = match m.content.as_ref() {
        Some(Content::Parts(parts)) => parts.as_slice(),
        _ => &[],
    };
    let all_text = parts.iter().all(|p| p.kind == "text");
    let content = if !all_text {
        let mut blocks = Vec::with_capacity(parts.len());
        for p in parts {
            match p.kind.as_str() {
                "text" => blocks.extend(p.text.as_deref().and_then(text_block)),
                "image_url" => blocks.push(image_block(p.image_url_str()?)?),
                other => {
                    return Err(TranslateError::Unsupported(format!(
                        "content part type {other:?} is not supported in a Bedrock tool result"
                    )))
                }
            }
        }
        Value::Array(blocks)
    } else {
        match serde_json::from_str::<Value>(&text) {
            Ok(v @ Value::Object(_)) => json!([{ "json": v }]),
            _ => json!([{ "text": text }]),
        }
    };
    let mut out = vec![json!({ "toolResult": { "toolUseId": id, "content": content } })];
    let mut point = None;
    for p in parts {
        point = cache_point(&p.extra)?.or(point);
    }
    out.extend(point);
    Ok(out)
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
        tools.extend(cache_point(&tool.extra)?);
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
                reasoning_content: (!reasoning.is_empty()).then_some(reasoning),
                thinking_blocks: (!thinking_blocks.is_empty()).then_some(thinking_blocks),
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
