//! Anthropic Messages turns and their blocks → the hub's OpenAI messages, for
//! [`super::to_hub`]: the system prompt, `user` / `assistant` / `system` turns, text, image,
//! tool use and tool result blocks, thinking blocks with their signatures. A block that
//! cannot be carried is refused with a 400 naming its place (`messages[2].content[1]`).

use serde_json::{json, Map, Value};

use crate::error::no_counterpart;
use crate::front::read::invalid;
use crate::openai::{Content, ContentPart, FunctionCall, ImageUrl, Message, ToolCall};
use crate::TranslateError;

use super::to_hub::{output_config, ACROSS};

/// A system prompt (the `system` field, or a `system` turn's content) as a hub system
/// message: a string stays a string; text blocks become text parts with their
/// `cache_control`. `None` when empty.
pub(super) fn system_message(content: &Value, at: &str) -> Result<Option<Message>, TranslateError> {
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

/// One Anthropic message → hub messages (a user turn with tool results becomes tool messages
/// first). Returns the message's own `output_config.effort`, if it has one.
pub(super) fn convert_message(
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
                content: Some(Content::from_parts(self.parts)),
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
        Content::from_parts(parts)
    };
    Ok(Message {
        role: "tool".to_string(),
        content: Some(content),
        tool_call_id: Some(id.to_string()),
        ..Message::default()
    })
}
