//! Hub (OpenAI chat) request → Bedrock Converse request; the module docs of [`super`] list
//! each field's disposition.

use serde_json::{json, Map, Value};

use crate::anthropic::{self, thinking::claude_thinking};
use crate::error::{no_counterpart, refuse_unmapped, Carries};
use crate::openai::{part_text, text_only, ChatRequest, Content, ContentPart, Message, ToolCall};
use crate::{RequestTarget, TranslateError, UpstreamRequest};

// ---------------------------------------------------------------------------------------------
// Requests

/// The API named in refusals.
const API: &str = "Bedrock Converse";

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
    if super::invoke::is_claude(target.model) {
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
    refuse_unmapped(
        req,
        &Carries {
            api: API,
            mapped: &[],
            ignored: &["user"],
            penalties: false,
            choices: false,
        },
    )
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
                if signature.starts_with(crate::gemini::thinking::SIGNATURE_PREFIX) {
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
    let input = call.arguments_object()?;
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
