//! Hub (OpenAI chat) request → Anthropic Messages request; the module docs of [`super`] list
//! each field's disposition.

use serde_json::{json, Map, Value};

use super::{ANTHROPIC_VERSION, DEFAULT_MAX_TOKENS};
use crate::error::{no_counterpart, refuse_unknown, refuse_unmapped, Carries};
use crate::openai::{text_only, ChatRequest, Content, ContentPart, Message, ToolCall};
use crate::{RequestTarget, TranslateError, UpstreamRequest};

use super::wire::{MessagesRequest, Metadata, OutputConfig, System, Tool, Turn};

/// The path of the Messages API on the base URL.
const PATH: &str = "/v1/messages";

/// The API's name in refusals.
const API: &str = "Anthropic Messages";

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
    refuse_unmapped(
        req,
        &Carries {
            api: API,
            mapped: &["user", "parallel_tool_calls"],
            ignored: &[],
            penalties: false,
            choices: false,
        },
    )?;
    let format = output_format(req.response_format.as_ref())?;
    let (system, messages) = convert_messages(&req.messages)?;
    let tools = convert_tools(req)?;
    let tool_choice = if tools.is_empty() {
        // Anthropic refuses a tool_choice without tools; without tools none is made anyway.
        None
    } else {
        convert_tool_choice(req.tool_choice.as_ref(), parallel_tool_calls(req))?
    };
    let max_tokens = req
        .max_completion_tokens
        .or(req.max_tokens)
        .unwrap_or(DEFAULT_MAX_TOKENS);
    let claude = super::thinking::claude_thinking(req, target.model, max_tokens)?;
    let output_config = (claude.effort.is_some() || format.is_some()).then_some(OutputConfig {
        effort: claude.effort,
        format,
    });
    let body = MessagesRequest {
        model: target.model.to_string(),
        max_tokens: claude.max_tokens,
        system,
        messages,
        temperature: req.temperature,
        top_p: req.top_p,
        top_k: req.top_k,
        stop_sequences: req.stop.as_ref().map(|s| s.to_vec()).unwrap_or_default(),
        stream: req.stream,
        tools,
        tool_choice,
        thinking: claude.thinking,
        output_config,
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
        headers: vec![("anthropic-version", ANTHROPIC_VERSION.into())],
    })
}

/// `output_config.format` for a `response_format`.
fn output_format(format: Option<&Value>) -> Result<Option<Value>, TranslateError> {
    let Some(format) = format.filter(|f| !f.is_null()) else {
        return Ok(None);
    };
    match format.get("type").and_then(Value::as_str) {
        Some("text") => Ok(None),
        Some("json_schema") => {
            let spec = format
                .get("json_schema")
                .and_then(Value::as_object)
                .ok_or_else(|| {
                    TranslateError::InvalidRequest(
                        "response_format.json_schema: an object with a `schema` is required"
                            .to_string(),
                    )
                })?;
            let schema = spec
                .get("schema")
                .filter(|s| s.is_object())
                .ok_or_else(|| {
                    TranslateError::InvalidRequest(
                        "response_format.json_schema.schema: a JSON schema object is required"
                            .to_string(),
                    )
                })?;
            refuse_unknown(
                spec,
                "response_format.json_schema.",
                &["schema"],
                &["name", "strict"],
                API,
            )?;
            Ok(Some(json!({"type": "json_schema", "schema": schema})))
        }
        Some(other) => Err(no_counterpart(
            &format!("response_format.type: {other}"),
            API,
        )),
        None => Err(TranslateError::InvalidRequest(
            "response_format: a `type` is required".to_string(),
        )),
    }
}

/// `Some(false)` when the client turned parallel tool calls off.
fn parallel_tool_calls(req: &ChatRequest) -> Option<bool> {
    req.extra
        .get("parallel_tool_calls")
        .and_then(Value::as_bool)
}

type Converted = (Option<System>, Vec<Turn>);

fn convert_messages(messages: &[Message]) -> Result<Converted, TranslateError> {
    // The blocks of each system message.
    let mut system: Vec<Vec<Value>> = Vec::new();
    let mut turns: Vec<Turn> = Vec::new();
    for m in messages {
        let cache = cache_control(&m.extra);
        match m.role.as_str() {
            "system" | "developer" => {
                let mut blocks = blocks_of(m.content.as_ref(), |p| {
                    Ok(text_only(p, "Anthropic system prompts")?.and_then(text_block))
                })?;
                mark_last(&mut blocks, cache);
                if !blocks.is_empty() {
                    system.push(blocks);
                }
            }
            "user" => {
                let mut blocks = blocks_of(m.content.as_ref(), user_block)?;
                mark_last(&mut blocks, cache);
                push_blocks(&mut turns, "user", blocks);
            }
            "assistant" => {
                let mut blocks = thinking_blocks(m);
                blocks.extend(blocks_of(m.content.as_ref(), assistant_block)?);
                for call in m.tool_calls.iter().flatten() {
                    blocks.push(tool_use_block(call));
                }
                mark_last(&mut blocks, cache);
                push_blocks(&mut turns, "assistant", blocks);
            }
            "tool" => {
                let mut block = tool_result_block(m)?;
                if let Some(cache) = cache {
                    set_cache_control(&mut block, cache);
                }
                push_tool_result(&mut turns, block);
            }
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
    Ok((system_prompt(system), turns))
}

/// The system prompt: a string as long as no block carries `cache_control` (messages joined
/// by blank lines, parts by newlines), else the blocks, each keeping its own.
fn system_prompt(messages: Vec<Vec<Value>>) -> Option<System> {
    if messages.is_empty() {
        return None;
    }
    if messages
        .iter()
        .flatten()
        .any(|b| b.get("cache_control").is_some())
    {
        return Some(System::Blocks(messages.into_iter().flatten().collect()));
    }
    let texts: Vec<String> = messages
        .iter()
        .map(|blocks| {
            let parts: Vec<&str> = blocks
                .iter()
                .filter_map(|b| b.get("text").and_then(Value::as_str))
                .collect();
            parts.join("\n")
        })
        .collect();
    Some(System::Text(texts.join("\n\n")))
}

/// A part's or a message's `cache_control` (a hub extension), when set.
fn cache_control(extra: &Map<String, Value>) -> Option<&Value> {
    extra.get("cache_control").filter(|c| !c.is_null())
}

fn set_cache_control(block: &mut Value, cache: &Value) {
    if let Value::Object(map) = block {
        map.insert("cache_control".to_string(), cache.clone());
    }
}

/// Puts a message's `cache_control` on its last block that may carry one (not a thinking
/// block); with none, the breakpoint is dropped (it changes cost, never the answer).
fn mark_last(blocks: &mut [Value], cache: Option<&Value>) {
    let Some(cache) = cache else {
        return;
    };
    let last = blocks.iter_mut().rev().find(|b| {
        !matches!(
            b.get("type").and_then(Value::as_str),
            Some("thinking" | "redacted_thinking")
        )
    });
    if let Some(block) = last {
        set_cache_control(block, cache);
    }
}

/// Converts message content into blocks: a string into a text block, each part through
/// `part`, keeping the part's `cache_control` on its block. A breakpoint on a part that makes
/// no block (an empty text) goes on the block before it.
fn blocks_of(
    content: Option<&Content>,
    mut part: impl FnMut(&ContentPart) -> Result<Option<Value>, TranslateError>,
) -> Result<Vec<Value>, TranslateError> {
    let parts = match content {
        None => return Ok(Vec::new()),
        Some(Content::Text(text)) => return Ok(text_block(text).into_iter().collect()),
        Some(Content::Parts(parts)) => parts,
    };
    let mut out: Vec<Value> = Vec::with_capacity(parts.len());
    for p in parts {
        let cache = cache_control(&p.extra);
        match (part(p)?, cache) {
            (Some(mut block), Some(cache)) => {
                set_cache_control(&mut block, cache);
                out.push(block);
            }
            (Some(block), None) => out.push(block),
            (None, Some(cache)) => {
                if let Some(last) = out.last_mut() {
                    set_cache_control(last, cache);
                }
            }
            (None, None) => {}
        }
    }
    Ok(out)
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

/// An assistant content part: text, or a refusal (the assistant's words all the same).
fn assistant_block(p: &ContentPart) -> Result<Option<Value>, TranslateError> {
    match p.kind.as_str() {
        "text" => Ok(p.text.as_deref().and_then(text_block)),
        "refusal" => Ok(p
            .extra
            .get("refusal")
            .and_then(Value::as_str)
            .and_then(text_block)),
        other => Err(TranslateError::Unsupported(format!(
            "content part type {other:?} is not supported in assistant messages for Anthropic"
        ))),
    }
}

/// The thinking blocks of an assistant message that Anthropic can verify, as given: signed
/// `thinking` blocks and `redacted_thinking` blocks. Unsigned thinking (and so
/// `reasoning_content` alone) is refused by Anthropic, and signatures of other providers
/// (`sluice:gemini:...`) are not Anthropic's: both are left out.
fn thinking_blocks(m: &Message) -> Vec<Value> {
    let blocks = m.thinking_blocks.iter().flatten();
    blocks
        .filter_map(|b| match b.get("type").and_then(Value::as_str)? {
            "thinking" => {
                let signature = b.get("signature").and_then(Value::as_str).filter(|s| {
                    !s.is_empty() && !s.starts_with(crate::gemini::thinking::SIGNATURE_PREFIX)
                })?;
                let text = b.get("thinking").and_then(Value::as_str).unwrap_or("");
                Some(json!({"type": "thinking", "thinking": text, "signature": signature}))
            }
            "redacted_thinking" => {
                let data = b
                    .get("data")
                    .and_then(Value::as_str)
                    .filter(|d| !d.is_empty())?;
                Some(json!({"type": "redacted_thinking", "data": data}))
            }
            _ => None,
        })
        .collect()
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

/// A `tool` message as a `tool_result`: string content as a string, parts as blocks (each
/// keeping its `cache_control`).
fn tool_result_block(m: &Message) -> Result<Value, TranslateError> {
    let id = m
        .tool_call_id
        .as_deref()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            TranslateError::InvalidRequest("tool message without tool_call_id".to_string())
        })?;
    let content = match &m.content {
        None => Value::String(String::new()),
        Some(Content::Text(text)) => Value::String(text.clone()),
        Some(content @ Content::Parts(_)) => {
            let blocks = blocks_of(Some(content), user_block)?;
            if blocks.is_empty() {
                Value::String(String::new())
            } else {
                Value::Array(blocks)
            }
        }
    };
    Ok(json!({"type": "tool_result", "tool_use_id": id, "content": content}))
}

fn convert_tools(req: &ChatRequest) -> Result<Vec<Tool>, TranslateError> {
    let mut tools = Vec::new();
    for (i, tool) in req.tools.iter().flatten().enumerate() {
        if tool.kind != "function" {
            return Err(TranslateError::Unsupported(format!(
                "tool type {:?} is not supported for Anthropic",
                tool.kind
            )));
        }
        refuse_unknown(
            &tool.extra,
            &format!("tools[{i}]."),
            &["cache_control"],
            &[],
            API,
        )?;
        let f = &tool.function;
        refuse_unknown(
            &f.extra,
            &format!("tools[{i}].function."),
            &["strict"],
            &[],
            API,
        )?;
        let input_schema = match &f.parameters {
            Some(schema @ Value::Object(_)) => schema.clone(),
            _ => json!({"type": "object", "properties": {}}),
        };
        tools.push(Tool {
            name: f.name.clone(),
            description: f.description.clone(),
            input_schema,
            strict: f.extra.get("strict").filter(|s| !s.is_null()).cloned(),
            cache_control: cache_control(&tool.extra).cloned(),
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
