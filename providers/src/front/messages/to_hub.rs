//! Anthropic Messages request → the hub's OpenAI [`ChatRequest`], for providers that do not
//! speak Messages (the native pass-through needs none of this).

use serde_json::{json, Map, Value};

use crate::openai::{
    ChatRequest, Content, ContentPart, FunctionCall, FunctionDef, ImageUrl, Message, Stop,
    StreamOptions, Tool, ToolCall,
};
use crate::TranslateError;

fn invalid(msg: impl Into<String>) -> TranslateError {
    TranslateError::InvalidRequest(msg.into())
}

/// Anthropic Messages request body → the hub request. Errors → `TranslateError::InvalidRequest`
/// with a clear message.
pub fn request_to_openai(body: &[u8]) -> Result<ChatRequest, TranslateError> {
    let v: Value = crate::json::from_body(body).map_err(invalid)?;
    let obj = v
        .as_object()
        .ok_or_else(|| invalid("request body must be a JSON object"))?;

    let mut req = ChatRequest {
        model: match obj.get("model") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(invalid("`model` must be a string")),
        },
        ..ChatRequest::default()
    };

    if let Some(system) = obj.get("system") {
        let text = system_text(system)?;
        if let Some(text) = text {
            req.messages.push(Message {
                role: "system".to_string(),
                content: Some(Content::Text(text)),
                ..Message::default()
            });
        }
    }

    let messages = obj
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("`messages` is required and must be an array"))?;
    for (i, m) in messages.iter().enumerate() {
        convert_message(i, m, &mut req.messages)?;
    }

    req.max_tokens = opt_u64(obj, "max_tokens")?;
    req.temperature = opt_f64(obj, "temperature")?;
    req.top_p = opt_f64(obj, "top_p")?;
    if let Some(stops) = obj.get("stop_sequences") {
        match stops {
            Value::Null => {}
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for s in items {
                    let s = s
                        .as_str()
                        .ok_or_else(|| invalid("`stop_sequences` must be an array of strings"))?;
                    out.push(s.to_string());
                }
                if !out.is_empty() {
                    req.stop = Some(Stop::Many(out));
                }
            }
            _ => return Err(invalid("`stop_sequences` must be an array of strings")),
        }
    }
    match obj.get("stream") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => req.stream = *b,
        Some(_) => return Err(invalid("`stream` must be a boolean")),
    }
    if req.stream {
        req.stream_options = Some(StreamOptions {
            include_usage: Some(true),
            ..StreamOptions::default()
        });
    }

    if let Some(tools) = obj.get("tools") {
        match tools {
            Value::Null => {}
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, t) in items.iter().enumerate() {
                    out.push(convert_tool(i, t)?);
                }
                if !out.is_empty() {
                    req.tools = Some(out);
                }
            }
            _ => return Err(invalid("`tools` must be an array")),
        }
    }

    if let Some(choice) = obj.get("tool_choice") {
        if !choice.is_null() {
            let (mapped, parallel) = convert_tool_choice(choice)?;
            req.tool_choice = Some(mapped);
            if parallel == Some(false) && req.tools.is_some() {
                req.extra
                    .insert("parallel_tool_calls".to_string(), Value::Bool(false));
            }
        }
    }

    if let Some(user) = obj
        .get("metadata")
        .and_then(|m| m.get("user_id"))
        .and_then(Value::as_str)
    {
        req.extra
            .insert("user".to_string(), Value::String(user.to_string()));
    }

    Ok(req)
}

fn opt_u64(obj: &Map<String, Value>, key: &str) -> Result<Option<u64>, TranslateError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| invalid(format!("`{key}` must be a non-negative integer"))),
    }
}

fn opt_f64(obj: &Map<String, Value>, key: &str) -> Result<Option<f64>, TranslateError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| invalid(format!("`{key}` must be a number"))),
    }
}

/// `system`: a string or a list of text blocks; `None` when empty.
fn system_text(system: &Value) -> Result<Option<String>, TranslateError> {
    let text = match system {
        Value::Null => return Ok(None),
        Value::String(s) => s.clone(),
        Value::Array(blocks) => {
            let mut texts = Vec::with_capacity(blocks.len());
            for b in blocks {
                if block_type(b) != Some("text") {
                    return Err(invalid("`system` blocks must be of type `text`"));
                }
                texts.push(block_text(b, "system")?);
            }
            texts.join("\n")
        }
        _ => {
            return Err(invalid(
                "`system` must be a string or an array of text blocks",
            ))
        }
    };
    Ok((!text.is_empty()).then_some(text))
}

fn block_type(b: &Value) -> Option<&str> {
    b.get("type").and_then(Value::as_str)
}

fn block_text(b: &Value, at: &str) -> Result<String, TranslateError> {
    b.get("text")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| invalid(format!("{at}: a `text` block needs a string `text`")))
}

fn convert_message(i: usize, m: &Value, out: &mut Vec<Message>) -> Result<(), TranslateError> {
    let at = format!("messages[{i}]");
    let role = m
        .get("role")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("{at}: `role` is required")))?;
    if role != "user" && role != "assistant" {
        return Err(invalid(format!(
            "{at}: `role` must be `user` or `assistant`, not `{role}`"
        )));
    }
    let content = m
        .get("content")
        .ok_or_else(|| invalid(format!("{at}: `content` is required")))?;
    let blocks = match content {
        Value::String(s) => {
            out.push(Message {
                role: role.to_string(),
                content: Some(Content::Text(s.clone())),
                ..Message::default()
            });
            return Ok(());
        }
        Value::Array(blocks) => blocks,
        _ => {
            return Err(invalid(format!(
                "{at}: `content` must be a string or an array of content blocks"
            )))
        }
    };

    let mut parts: Vec<ContentPart> = Vec::new();
    let mut tool_calls: Vec<ToolCall> = Vec::new();
    let mut tool_results: Vec<Message> = Vec::new();
    for (j, b) in blocks.iter().enumerate() {
        let at = format!("{at}.content[{j}]");
        let kind = block_type(b).ok_or_else(|| invalid(format!("{at}: `type` is required")))?;
        match kind {
            "text" => parts.push(ContentPart {
                kind: "text".to_string(),
                text: Some(block_text(b, &at)?),
                ..ContentPart::default()
            }),
            "image" => {
                if role != "user" {
                    return Err(invalid(format!(
                        "{at}: images are only allowed in user messages"
                    )));
                }
                parts.push(ContentPart {
                    kind: "image_url".to_string(),
                    image_url: Some(ImageUrl {
                        url: image_url(b, &at)?,
                        detail: None,
                    }),
                    ..ContentPart::default()
                });
            }
            "tool_use" => {
                if role != "assistant" {
                    return Err(invalid(format!(
                        "{at}: `tool_use` blocks are only allowed in assistant messages"
                    )));
                }
                let id = b
                    .get("id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid(format!("{at}: `tool_use` needs a string `id`")))?;
                let name = b
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid(format!("{at}: `tool_use` needs a string `name`")))?;
                let input = b.get("input").cloned().unwrap_or_else(|| json!({}));
                tool_calls.push(ToolCall {
                    id: id.to_string(),
                    kind: "function".to_string(),
                    function: FunctionCall {
                        name: name.to_string(),
                        arguments: input.to_string(),
                    },
                });
            }
            "tool_result" => {
                if role != "user" {
                    return Err(invalid(format!(
                        "{at}: `tool_result` blocks are only allowed in user messages"
                    )));
                }
                let id = b
                    .get("tool_use_id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        invalid(format!("{at}: `tool_result` needs a string `tool_use_id`"))
                    })?;
                tool_results.push(Message {
                    role: "tool".to_string(),
                    content: Some(Content::Text(tool_result_text(b, &at)?)),
                    tool_call_id: Some(id.to_string()),
                    ..Message::default()
                });
            }
            "thinking" | "redacted_thinking" => {}
            other => {
                return Err(invalid(format!(
                    "{at}: content block type `{other}` is not supported"
                )))
            }
        }
    }

    out.extend(tool_results);
    if role == "assistant" {
        let texts: Vec<String> = parts.into_iter().filter_map(|p| p.text).collect();
        let text = texts.join("");
        if text.is_empty() && tool_calls.is_empty() {
            // An empty assistant turn (e.g. only thinking blocks) still keeps its place.
            out.push(Message {
                role: "assistant".to_string(),
                content: Some(Content::Text(String::new())),
                ..Message::default()
            });
            return Ok(());
        }
        out.push(Message {
            role: "assistant".to_string(),
            content: (!text.is_empty()).then_some(Content::Text(text)),
            tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
            ..Message::default()
        });
    } else if !parts.is_empty() {
        let content = if parts.len() == 1 && parts[0].image_url.is_none() {
            Content::Text(parts.remove(0).text.unwrap_or_default())
        } else {
            Content::Parts(parts)
        };
        out.push(Message {
            role: "user".to_string(),
            content: Some(content),
            ..Message::default()
        });
    }
    Ok(())
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
        Some(other) => Err(invalid(format!(
            "{at}: image source type `{other}` is not supported"
        ))),
        None => Err(invalid(format!("{at}: image source needs a `type`"))),
    }
}

/// The text of a `tool_result`'s content: a string or text blocks (other blocks left out).
fn tool_result_text(b: &Value, at: &str) -> Result<String, TranslateError> {
    match b.get("content") {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(blocks)) => {
            let mut texts = Vec::new();
            for c in blocks {
                if block_type(c) == Some("text") {
                    texts.push(block_text(c, at)?);
                }
            }
            Ok(texts.join("\n"))
        }
        Some(_) => Err(invalid(format!(
            "{at}: `tool_result` content must be a string or an array of blocks"
        ))),
    }
}

fn convert_tool(i: usize, t: &Value) -> Result<Tool, TranslateError> {
    let at = format!("tools[{i}]");
    if let Some(kind) = t.get("type").and_then(Value::as_str) {
        if kind != "custom" {
            return Err(invalid(format!(
                "{at}: tool type `{kind}` is not supported (only client tools with `input_schema`)"
            )));
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
        extra: Map::new(),
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
