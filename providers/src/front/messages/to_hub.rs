//! Anthropic Messages request → the hub's OpenAI [`ChatRequest`], for providers that do not
//! speak Messages (the native pass-through needs none of this). Every field is carried,
//! mapped, or refused with a 400 that names it; a few are ignored because their loss cannot
//! change the answer. Request fields:
//!
//! - carried: `model`, `messages`, `max_tokens`, `temperature`, `top_p`, `stream` (with
//!   usage asked for), `top_k` and `thinking` (hub extensions), `tools` (with their
//!   `cache_control`), `tool_choice` (`any` → `required`, `tool` → the named function,
//!   `disable_parallel_tool_use` → `parallel_tool_calls: false`);
//! - mapped: `system` → a system message first, `stop_sequences` → `stop`,
//!   `metadata.user_id` → `user`, `output_config.effort` → `reasoning_effort` (a message's
//!   own `output_config.effort`, the latest one, wins over the request's),
//!   `output_config.format` and the older `output_format` (`json_schema`) →
//!   `response_format` `{"type":"json_schema","json_schema":{"name":"output","schema"}}`;
//! - ignored, cannot change the answer: `cache_control` at the top level (caching changes
//!   cost, not the answer; breakpoints on blocks are carried), `context_management`
//!   (server-side clearing of old tool results and thinking: without it the provider sees
//!   the whole history the client sent), `service_tier`, `speed`, `inference_geo`, the other
//!   `metadata` keys, and a tool's `defer_loading` (the tool is offered up front);
//! - refused: every other field (`container`, `mcp_servers`, `output_config.task_budget`, ...).
//!
//! Messages: `user`, `assistant` and `system` turns (a `system` turn anywhere becomes a system
//! message at its place). Blocks: `text` (and its `cache_control`), `image` (base64 or URL),
//! `tool_use`, `tool_result` (text and image content; `is_error: true` prefixes the text with
//! `Error: `), `thinking` and `redacted_thinking` (→ the assistant message's
//! `reasoning_content` and `thinking_blocks`, signatures kept). Other block types are refused.

use serde_json::{json, Map, Value};

use crate::error::no_counterpart;
use crate::front::read::{invalid, opt_f64, opt_u64};
use crate::openai::{
    ChatRequest, Content, ContentPart, FunctionCall, FunctionDef, ImageUrl, Message, Stop,
    StreamOptions, Tool, ToolCall,
};
use crate::TranslateError;

/// Where a field that cannot be carried is said to have no counterpart.
const ACROSS: &str = "a translated request (the route's provider does not speak Messages)";

/// Top-level fields dropped because their loss cannot change the answer (module docs).
const IGNORED: &[&str] = &[
    "cache_control",
    "context_management",
    "service_tier",
    "speed",
    "inference_geo",
];

/// Anthropic Messages request body → the hub request. Errors → `TranslateError` with a
/// message that names the field.
pub fn request_to_openai(body: &[u8]) -> Result<ChatRequest, TranslateError> {
    let v: Value = crate::json::from_body(body).map_err(invalid)?;
    let obj = v
        .as_object()
        .ok_or_else(|| invalid("request body must be a JSON object"))?;

    let mut req = ChatRequest::default();
    let mut effort: Option<String> = None;
    for (key, value) in obj {
        match key.as_str() {
            "model" => {
                req.model = match value {
                    Value::Null => String::new(),
                    Value::String(s) => s.clone(),
                    _ => return Err(invalid("`model` must be a string")),
                }
            }
            "messages" => {}
            "system" => {
                if let Some(m) = system_message(value, "system")? {
                    req.messages.insert(0, m);
                }
            }
            "max_tokens" => req.max_tokens = opt_u64(value, key)?,
            "temperature" => req.temperature = opt_f64(value, key)?,
            "top_p" => req.top_p = opt_f64(value, key)?,
            "top_k" => req.top_k = opt_u64(value, key)?,
            "stop_sequences" => req.stop = stop_sequences(value)?,
            "stream" => match value {
                Value::Null => {}
                Value::Bool(b) => req.stream = *b,
                _ => return Err(invalid("`stream` must be a boolean")),
            },
            "tools" => req.tools = tools(value)?,
            "tool_choice" => {
                if !value.is_null() {
                    let (mapped, parallel) = convert_tool_choice(value)?;
                    req.tool_choice = Some(mapped);
                    if parallel == Some(false) {
                        req.extra
                            .insert("parallel_tool_calls".to_string(), Value::Bool(false));
                    }
                }
            }
            "metadata" => {
                if let Some(user) = value.get("user_id").and_then(Value::as_str) {
                    req.extra
                        .insert("user".to_string(), Value::String(user.to_string()));
                }
            }
            "thinking" => {
                if !value.is_null() {
                    req.thinking = Some(value.clone());
                }
            }
            "output_config" => {
                let (e, format) = output_config(value, "output_config")?;
                effort = e.or(effort);
                if format.is_some() {
                    req.response_format = format;
                }
            }
            "output_format" => req.response_format = json_schema_format(value, key)?,
            k if IGNORED.contains(&k) => {}
            other => return Err(no_counterpart(other, ACROSS)),
        }
    }

    let messages = obj
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("`messages` is required and must be an array"))?;
    for (i, m) in messages.iter().enumerate() {
        if let Some(e) = convert_message(i, m, &mut req.messages)? {
            effort = Some(e);
        }
    }
    req.reasoning_effort = effort;
    if req.stream {
        req.stream_options = Some(StreamOptions {
            include_usage: Some(true),
            ..StreamOptions::default()
        });
    }
    if req.tools.is_none() {
        // A tool_choice without tools makes no call either way.
        req.tool_choice = None;
        req.extra.remove("parallel_tool_calls");
    }
    Ok(req)
}

fn stop_sequences(v: &Value) -> Result<Option<Stop>, TranslateError> {
    let bad = || invalid("`stop_sequences` must be an array of strings");
    match v {
        Value::Null => Ok(None),
        Value::Array(items) => {
            let out = items
                .iter()
                .map(|s| s.as_str().map(str::to_string).ok_or_else(bad))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((!out.is_empty()).then_some(Stop::Many(out)))
        }
        _ => Err(bad()),
    }
}

/// `output_config` (request or message level): its effort, and its format as a
/// `response_format`.
fn output_config(v: &Value, at: &str) -> Result<(Option<String>, Option<Value>), TranslateError> {
    let Some(obj) = v.as_object() else {
        return Err(invalid(format!("`{at}` must be an object")));
    };
    let mut effort = None;
    let mut format = None;
    for (key, value) in obj {
        match key.as_str() {
            "effort" => match value {
                Value::Null => {}
                Value::String(s) => effort = Some(s.clone()),
                _ => return Err(invalid(format!("`{at}.effort` must be a string"))),
            },
            "format" => format = json_schema_format(value, &format!("{at}.format"))?,
            other => return Err(no_counterpart(&format!("{at}.{other}"), ACROSS)),
        }
    }
    Ok((effort, format))
}

/// Anthropic's structured output format (`{"type":"json_schema","schema"}`) as OpenAI's
/// `response_format`.
fn json_schema_format(v: &Value, at: &str) -> Result<Option<Value>, TranslateError> {
    if v.is_null() {
        return Ok(None);
    }
    match v.get("type").and_then(Value::as_str) {
        Some("json_schema") => {
            let schema = v
                .get("schema")
                .cloned()
                .ok_or_else(|| invalid(format!("`{at}` of type json_schema needs a `schema`")))?;
            Ok(Some(json!({
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": schema, "strict": true},
            })))
        }
        Some(other) => Err(no_counterpart(&format!("{at}.type: {other}"), ACROSS)),
        None => Err(invalid(format!("`{at}` needs a `type`"))),
    }
}

/// A system prompt (the `system` field, or a `system` turn's content) as a hub system
/// message: a string stays a string; text blocks become text parts with their
/// `cache_control`. `None` when empty.
fn system_message(content: &Value, at: &str) -> Result<Option<Message>, TranslateError> {
    let content = match content {
        Value::Null => return Ok(None),
        Value::String(s) if s.is_empty() => return Ok(None),
        Value::String(s) => Content::Text(s.clone()),
        Value::Array(blocks) => {
            let mut parts = Vec::with_capacity(blocks.len());
            for (i, b) in blocks.iter().enumerate() {
                let at = format!("{at}[{i}]");
                if block_type(b) != Some("text") {
                    return Err(invalid(format!(
                        "{at}: system blocks must be of type `text`"
                    )));
                }
                parts.push(text_part(b, &at)?);
            }
            if parts.is_empty() {
                return Ok(None);
            }
            Content::Parts(parts)
        }
        _ => {
            return Err(invalid(format!(
                "`{at}` must be a string or an array of text blocks"
            )))
        }
    };
    Ok(Some(Message {
        role: "system".to_string(),
        content: Some(content),
        ..Message::default()
    }))
}

fn block_type(b: &Value) -> Option<&str> {
    b.get("type").and_then(Value::as_str)
}

/// The block's `cache_control`, to keep in a hub object's `extra`.
fn cache_control(b: &Value) -> Map<String, Value> {
    let mut extra = Map::new();
    if let Some(c) = b.get("cache_control").filter(|c| !c.is_null()) {
        extra.insert("cache_control".to_string(), c.clone());
    }
    extra
}

fn text_part(b: &Value, at: &str) -> Result<ContentPart, TranslateError> {
    let text = b
        .get("text")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("{at}: a `text` block needs a string `text`")))?;
    Ok(ContentPart {
        kind: "text".to_string(),
        text: Some(text.to_string()),
        extra: cache_control(b),
        ..ContentPart::default()
    })
}

fn image_part(b: &Value, at: &str) -> Result<ContentPart, TranslateError> {
    Ok(ContentPart {
        kind: "image_url".to_string(),
        image_url: Some(ImageUrl {
            url: image_url(b, at)?,
            detail: None,
        }),
        extra: cache_control(b),
        ..ContentPart::default()
    })
}

/// Parts as message content: one plain text part becomes a string.
fn parts_content(mut parts: Vec<ContentPart>) -> Content {
    if parts.len() == 1 && parts[0].kind == "text" && parts[0].extra.is_empty() {
        Content::Text(parts.remove(0).text.unwrap_or_default())
    } else {
        Content::Parts(parts)
    }
}

/// One Anthropic message → hub messages (a user turn with tool results becomes tool messages
/// first). Returns the message's own `output_config.effort`, if it has one.
fn convert_message(
    i: usize,
    m: &Value,
    out: &mut Vec<Message>,
) -> Result<Option<String>, TranslateError> {
    let at = format!("messages[{i}]");
    let role = m
        .get("role")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("{at}: `role` is required")))?;
    let mut effort = None;
    if let Some(obj) = m.as_object() {
        for (key, value) in obj {
            match key.as_str() {
                "role" | "content" => {}
                "output_config" => effort = output_config(value, &format!("{at}.output_config"))?.0,
                other => return Err(no_counterpart(&format!("{at}.{other}"), ACROSS)),
            }
        }
    }
    let content = m
        .get("content")
        .ok_or_else(|| invalid(format!("{at}: `content` is required")))?;
    match role {
        "system" => {
            if let Some(msg) = system_message(content, &format!("{at}.content"))? {
                out.push(msg);
            }
            return Ok(effort);
        }
        "user" | "assistant" => {}
        _ => {
            return Err(invalid(format!(
                "{at}: `role` must be `user`, `assistant` or `system`, not `{role}`"
            )))
        }
    }
    let blocks = match content {
        Value::String(s) => {
            out.push(Message {
                role: role.to_string(),
                content: Some(Content::Text(s.clone())),
                ..Message::default()
            });
            return Ok(effort);
        }
        Value::Array(blocks) => blocks,
        _ => {
            return Err(invalid(format!(
                "{at}: `content` must be a string or an array of content blocks"
            )))
        }
    };
    let mut turn = Turn::default();
    for (j, b) in blocks.iter().enumerate() {
        turn.add(role, b, &format!("{at}.content[{j}]"))?;
    }
    turn.finish(role, out);
    Ok(effort)
}

/// What one Anthropic turn's blocks become.
#[derive(Default)]
struct Turn {
    parts: Vec<ContentPart>,
    tool_calls: Vec<ToolCall>,
    tool_results: Vec<Message>,
    thinking_blocks: Vec<Value>,
    reasoning: Vec<String>,
}

impl Turn {
    fn add(&mut self, role: &str, b: &Value, at: &str) -> Result<(), TranslateError> {
        let kind = block_type(b).ok_or_else(|| invalid(format!("{at}: `type` is required")))?;
        let only = |wanted: &str, what: &str| {
            if role == wanted {
                Ok(())
            } else {
                Err(invalid(format!(
                    "{at}: `{what}` blocks are only allowed in {wanted} messages"
                )))
            }
        };
        match kind {
            "text" => self.parts.push(text_part(b, at)?),
            "image" => {
                only("user", "image")?;
                self.parts.push(image_part(b, at)?);
            }
            "tool_use" => {
                only("assistant", "tool_use")?;
                let id = b
                    .get("id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid(format!("{at}: `tool_use` needs a string `id`")))?;
                let name = b
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid(format!("{at}: `tool_use` needs a string `name`")))?;
                let input = b.get("input").cloned().unwrap_or_else(|| json!({}));
                self.tool_calls.push(ToolCall {
                    id: id.to_string(),
                    kind: "function".to_string(),
                    function: FunctionCall {
                        name: name.to_string(),
                        arguments: input.to_string(),
                    },
                });
            }
            "tool_result" => {
                only("user", "tool_result")?;
                self.tool_results.push(tool_result(b, at)?);
            }
            "thinking" => {
                only("assistant", "thinking")?;
                if let Some(t) = b.get("thinking").and_then(Value::as_str) {
                    self.reasoning.push(t.to_string());
                }
                self.thinking_blocks.push(b.clone());
            }
            "redacted_thinking" => {
                only("assistant", "redacted_thinking")?;
                self.thinking_blocks.push(b.clone());
            }
            other => {
                return Err(no_counterpart(
                    &format!("{at}: content block type `{other}`"),
                    ACROSS,
                ))
            }
        }
        Ok(())
    }

    fn finish(self, role: &str, out: &mut Vec<Message>) {
        out.extend(self.tool_results);
        if role == "assistant" {
            let cached = self.parts.iter().any(|p| !p.extra.is_empty());
            let content = if cached {
                Some(Content::Parts(self.parts))
            } else {
                let texts: Vec<String> = self.parts.into_iter().filter_map(|p| p.text).collect();
                let text = texts.join("");
                // An empty assistant turn (e.g. only thinking blocks) still keeps its place.
                (!text.is_empty() || self.tool_calls.is_empty()).then_some(Content::Text(text))
            };
            out.push(Message {
                role: "assistant".to_string(),
                content,
                tool_calls: (!self.tool_calls.is_empty()).then_some(self.tool_calls),
                reasoning_content: (!self.reasoning.is_empty()).then(|| self.reasoning.join("")),
                thinking_blocks: (!self.thinking_blocks.is_empty()).then_some(self.thinking_blocks),
                ..Message::default()
            });
        } else if !self.parts.is_empty() {
            out.push(Message {
                role: "user".to_string(),
                content: Some(parts_content(self.parts)),
                ..Message::default()
            });
        }
    }
}

fn image_url(b: &Value, at: &str) -> Result<String, TranslateError> {
    let source = b
        .get("source")
        .ok_or_else(|| invalid(format!("{at}: `image` needs a `source`")))?;
    match source.get("type").and_then(Value::as_str) {
        Some("base64") => {
            let media = source
                .get("media_type")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(format!("{at}: base64 image needs `media_type`")))?;
            let data = source
                .get("data")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(format!("{at}: base64 image needs `data`")))?;
            Ok(format!("data:{media};base64,{data}"))
        }
        Some("url") => source
            .get("url")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| invalid(format!("{at}: url image needs `url`"))),
        Some(other) => Err(no_counterpart(
            &format!("{at}: image source type `{other}`"),
            ACROSS,
        )),
        None => Err(invalid(format!("{at}: image source needs a `type`"))),
    }
}

/// A `tool_result` block as a hub tool message: its text (and image) content as parts, the
/// block's `cache_control` on the last part, `is_error` as an `Error: ` prefix.
fn tool_result(b: &Value, at: &str) -> Result<Message, TranslateError> {
    let id = b
        .get("tool_use_id")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("{at}: `tool_result` needs a string `tool_use_id`")))?;
    let mut parts = match b.get("content") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![ContentPart {
            kind: "text".to_string(),
            text: Some(s.clone()),
            ..ContentPart::default()
        }],
        Some(Value::Array(blocks)) => {
            let mut parts = Vec::with_capacity(blocks.len());
            for (k, c) in blocks.iter().enumerate() {
                let at = format!("{at}.content[{k}]");
                match block_type(c) {
                    Some("text") => parts.push(text_part(c, &at)?),
                    Some("image") => parts.push(image_part(c, &at)?),
                    Some(other) => {
                        return Err(no_counterpart(
                            &format!("{at}: tool result block type `{other}`"),
                            ACROSS,
                        ))
                    }
                    None => return Err(invalid(format!("{at}: `type` is required"))),
                }
            }
            parts
        }
        Some(_) => {
            return Err(invalid(format!(
                "{at}: `tool_result` content must be a string or an array of blocks"
            )))
        }
    };
    if b.get("is_error").and_then(Value::as_bool) == Some(true) {
        match parts.iter_mut().find(|p| p.kind == "text") {
            Some(p) => {
                let text = p.text.take().unwrap_or_default();
                p.text = Some(format!("Error: {text}"));
            }
            None => parts.insert(
                0,
                ContentPart {
                    kind: "text".to_string(),
                    text: Some("Error".to_string()),
                    ..ContentPart::default()
                },
            ),
        }
    }
    let cache = cache_control(b);
    if !cache.is_empty() {
        match parts.last_mut() {
            Some(last) => last.extra.extend(cache),
            None => parts.push(ContentPart {
                kind: "text".to_string(),
                text: Some(String::new()),
                extra: cache,
                ..ContentPart::default()
            }),
        }
    }
    // Text alone (the common case) is one string, as every provider's tool result takes.
    let plain = parts.iter().all(|p| p.kind == "text" && p.extra.is_empty());
    let content = if plain {
        let texts: Vec<String> = parts.into_iter().filter_map(|p| p.text).collect();
        Content::Text(texts.join("\n"))
    } else {
        parts_content(parts)
    };
    Ok(Message {
        role: "tool".to_string(),
        content: Some(content),
        tool_call_id: Some(id.to_string()),
        ..Message::default()
    })
}

fn tools(v: &Value) -> Result<Option<Vec<Tool>>, TranslateError> {
    match v {
        Value::Null => Ok(None),
        Value::Array(items) => {
            let out = items
                .iter()
                .enumerate()
                .map(|(i, t)| convert_tool(i, t))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((!out.is_empty()).then_some(out))
        }
        _ => Err(invalid("`tools` must be an array")),
    }
}

fn convert_tool(i: usize, t: &Value) -> Result<Tool, TranslateError> {
    let at = format!("tools[{i}]");
    if let Some(kind) = t.get("type").and_then(Value::as_str) {
        if kind != "custom" {
            return Err(no_counterpart(&format!("{at}.type: {kind}"), ACROSS));
        }
    }
    let mut extra = Map::new();
    if let Some(obj) = t.as_object() {
        for (key, value) in obj {
            match key.as_str() {
                "type" | "name" | "description" | "input_schema" | "defer_loading" => {}
                "cache_control" => {
                    if !value.is_null() {
                        extra.insert(key.clone(), value.clone());
                    }
                }
                other => return Err(no_counterpart(&format!("{at}.{other}"), ACROSS)),
            }
        }
    }
    let name = t
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("{at}: `name` is required")))?;
    let schema = t
        .get("input_schema")
        .cloned()
        .ok_or_else(|| invalid(format!("{at}: `input_schema` is required")))?;
    Ok(Tool {
        kind: "function".to_string(),
        function: FunctionDef {
            name: name.to_string(),
            description: t
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_string),
            parameters: Some(schema),
            extra: Map::new(),
        },
        extra,
    })
}

/// `tool_choice` → the OpenAI value, and the parallel-calls switch if the client set one.
fn convert_tool_choice(choice: &Value) -> Result<(Value, Option<bool>), TranslateError> {
    let kind = choice
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("`tool_choice` needs a `type`"))?;
    let parallel = choice
        .get("disable_parallel_tool_use")
        .and_then(Value::as_bool)
        .map(|d| !d);
    let mapped = match kind {
        "auto" => json!("auto"),
        "any" => json!("required"),
        "none" => json!("none"),
        "tool" => {
            let name = choice
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("`tool_choice` of type `tool` needs a `name`"))?;
            json!({"type": "function", "function": {"name": name}})
        }
        other => {
            return Err(invalid(format!(
                "`tool_choice` type `{other}` is not supported"
            )))
        }
    };
    Ok((mapped, parallel))
}
