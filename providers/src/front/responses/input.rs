//! A Responses request's `input` → the hub's messages.
//!
//! - A string: one user message.
//! - `message` items (`type` may be left out): `user` as it is, `system` and `developer` as
//!   `system` (every provider takes them as system instructions), `assistant` into the
//!   assistant turn below. Content: a string, or parts: `input_text`, `output_text` (its
//!   `annotations` and `logprobs` describe an earlier answer and are dropped) and `refusal` →
//!   text; `input_image` (`image_url`, a URL or data URL, and `detail`) → an `image_url`
//!   part; `input_file` with `file_data` (a data URL) → a `file` part. A part's
//!   `prompt_cache_breakpoint` → `cache_control: {"type":"ephemeral"}` on it. An item's `id`
//!   and `status` are dropped (they name stored items), and so is `phase` (OpenAI's label of
//!   an assistant message as commentary or final answer; the text is kept).
//! - Consecutive assistant items (`reasoning`, assistant `message`, `function_call`) make one
//!   assistant message: texts as its content (parts when more than one), function calls as its
//!   `tool_calls` (`call_id` → `id`), reasoning as its `thinking_blocks` and
//!   `reasoning_content`. Any other item ends the turn.
//! - `function_call_output` → a `tool` message (`call_id` → `tool_call_id`), its `output` a
//!   string or a list of `input_text`, `input_image`, `input_file` parts.
//! - `reasoning`: an `encrypted_content` sluice wrote ([`super::thinking`]) → the turn's
//!   `thinking_blocks` (signatures intact) and their texts as `reasoning_content`. Another
//!   `encrypted_content` (OpenAI's) is dropped: it is OpenAI's encryption of its own model's
//!   reasoning, which no other provider can read. The item's `content` (`reasoning_text`) or
//!   else `summary` texts are then kept as the turn's `reasoning_content` only, without
//!   blocks: providers take unsigned thinking from no one (each leaves it out), so nothing
//!   reaches the model that it did not think, while the hub keeps the text.
//! - Refused by name: `file_id` of images and files (no counterpart: files live on OpenAI),
//!   `file_url` of files, `item_reference` items (stored items), every other item type
//!   (built-in tools' calls and outputs, `custom_tool_call`, `compaction`, ...), and unknown
//!   fields.

use serde_json::{json, Map, Value};

use super::thinking;
use super::to_hub::{invalid, opt_str, ACROSS};
use crate::error::no_counterpart;
use crate::openai::{Content, ContentPart, FunctionCall, ImageUrl, Message, ToolCall};
use crate::TranslateError;

/// `input` → hub messages, appended to `out`.
pub(super) fn input_messages(input: &Value, out: &mut Vec<Message>) -> Result<(), TranslateError> {
    let items = match input {
        Value::String(s) => {
            out.push(message("user", Content::Text(s.clone())));
            return Ok(());
        }
        Value::Array(items) => items,
        _ => return Err(invalid("`input` must be a string or an array of items")),
    };
    let mut turn = AssistantTurn::default();
    for (i, item) in items.iter().enumerate() {
        let at = format!("input[{i}]");
        let obj = item
            .as_object()
            .ok_or_else(|| invalid(format!("{at} must be an object")))?;
        let kind = match obj.get("type") {
            None | Some(Value::Null) if obj.contains_key("role") => "message",
            Some(Value::String(t)) => t.as_str(),
            _ => return Err(invalid(format!("{at}: `type` is required"))),
        };
        match kind {
            "message" => message_item(obj, &at, &mut turn, out)?,
            "function_call" => turn.tool_calls.push(tool_call(obj, &at, false)?),
            "custom_tool_call" => turn.tool_calls.push(tool_call(obj, &at, true)?),
            "function_call_output" | "custom_tool_call_output" => {
                turn.flush(out);
                out.push(function_call_output(obj, &at)?);
            }
            "reasoning" => turn.reasoning_item(obj, &at)?,
            "item_reference" => {
                return Err(super::to_hub::not_stored(&format!(
                    "{at}.type: item_reference"
                )))
            }
            other => return Err(no_counterpart(&format!("{at}.type: {other}"), ACROSS)),
        }
    }
    turn.flush(out);
    Ok(())
}

fn message(role: &str, content: Content) -> Message {
    Message {
        role: role.to_string(),
        content: Some(content),
        ..Message::default()
    }
}

/// Refuses the first key of `obj` outside `known` whose value is not null.
fn known_keys(obj: &Map<String, Value>, at: &str, known: &[&str]) -> Result<(), TranslateError> {
    match obj
        .iter()
        .find(|(k, v)| !known.contains(&k.as_str()) && !v.is_null())
    {
        Some((k, _)) => Err(no_counterpart(&format!("{at}.{k}"), ACROSS)),
        None => Ok(()),
    }
}

/// A function call or its output may name who made the call: only the model itself
/// (`direct`) has a counterpart.
fn direct_caller(obj: &Map<String, Value>, at: &str) -> Result<(), TranslateError> {
    match obj.get("caller") {
        None | Some(Value::Null) => Ok(()),
        Some(c) if c.get("type").and_then(Value::as_str) == Some("direct") => Ok(()),
        Some(_) => Err(no_counterpart(&format!("{at}.caller"), ACROSS)),
    }
}

fn required_str<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<&'a str, TranslateError> {
    obj.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("{at}: `{key}` is required and must be a string")))
}

fn optional_str<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<Option<&'a str>, TranslateError> {
    opt_str(obj.get(key).unwrap_or(&Value::Null), &format!("{at}.{key}"))
}

fn message_item(
    obj: &Map<String, Value>,
    at: &str,
    turn: &mut AssistantTurn,
    out: &mut Vec<Message>,
) -> Result<(), TranslateError> {
    known_keys(
        obj,
        at,
        &["type", "role", "content", "id", "status", "phase"],
    )?;
    let role = required_str(obj, "role", at)?;
    let parts = match obj.get("content") {
        Some(Value::String(s)) => vec![text_part(s.clone())],
        Some(Value::Array(parts)) => parts
            .iter()
            .enumerate()
            .map(|(j, p)| content_part(p, &format!("{at}.content[{j}]")))
            .collect::<Result<Vec<_>, _>>()?,
        _ => {
            return Err(invalid(format!(
                "{at}: `content` is required and must be a string or an array of parts"
            )))
        }
    };
    let role = match role {
        "assistant" => {
            turn.parts.extend(parts);
            return Ok(());
        }
        "user" => "user",
        "system" | "developer" => "system",
        other => {
            return Err(invalid(format!(
                "{at}: `role` must be user, assistant, system or developer, not {other:?}"
            )))
        }
    };
    turn.flush(out);
    out.push(message(role, Content::from_parts(parts)));
    Ok(())
}

fn text_part(text: String) -> ContentPart {
    ContentPart {
        kind: "text".to_string(),
        text: Some(text),
        ..ContentPart::default()
    }
}

/// One content part (of a message, or of a function call's output) as a hub part.
fn content_part(p: &Value, at: &str) -> Result<ContentPart, TranslateError> {
    let obj = p
        .as_object()
        .ok_or_else(|| invalid(format!("{at} must be an object")))?;
    let kind = required_str(obj, "type", at)?;
    let mut part = match kind {
        "input_text" | "output_text" => {
            let known: &[&str] = &[
                "type",
                "text",
                "annotations",
                "logprobs",
                "prompt_cache_breakpoint",
            ];
            known_keys(obj, at, known)?;
            text_part(required_str(obj, "text", at)?.to_string())
        }
        "refusal" => {
            known_keys(obj, at, &["type", "refusal"])?;
            text_part(required_str(obj, "refusal", at)?.to_string())
        }
        "input_image" => {
            known_keys(
                obj,
                at,
                &[
                    "type",
                    "image_url",
                    "file_id",
                    "detail",
                    "prompt_cache_breakpoint",
                ],
            )?;
            if obj.get("file_id").is_some_and(|f| !f.is_null()) {
                return Err(no_counterpart(&format!("{at}.file_id"), ACROSS));
            }
            ContentPart {
                kind: "image_url".to_string(),
                image_url: Some(ImageUrl {
                    url: required_str(obj, "image_url", at)?.to_string(),
                    detail: optional_str(obj, "detail", at)?.map(str::to_string),
                }),
                ..ContentPart::default()
            }
        }
        "input_file" => {
            let known: &[&str] = &[
                "type",
                "file_data",
                "filename",
                "detail",
                "prompt_cache_breakpoint",
            ];
            known_keys(obj, at, known)?;
            let mut file = Map::new();
            file.insert(
                "file_data".to_string(),
                json!(required_str(obj, "file_data", at)?),
            );
            if let Some(name) = obj.get("filename").filter(|n| !n.is_null()) {
                file.insert("filename".to_string(), name.clone());
            }
            let mut extra = Map::new();
            extra.insert("file".to_string(), Value::Object(file));
            ContentPart {
                kind: "file".to_string(),
                extra,
                ..ContentPart::default()
            }
        }
        other => return Err(no_counterpart(&format!("{at}.type: {other}"), ACROSS)),
    };
    if obj
        .get("prompt_cache_breakpoint")
        .is_some_and(|b| !b.is_null())
    {
        part.extra
            .insert("cache_control".to_string(), json!({"type": "ephemeral"}));
    }
    Ok(part)
}

/// A `function_call` item, or a `custom_tool_call` (`custom`) as the call of the hub function
/// that stands for its tool ([`super::tools`]).
fn tool_call(obj: &Map<String, Value>, at: &str, custom: bool) -> Result<ToolCall, TranslateError> {
    let payload = if custom { "input" } else { "arguments" };
    known_keys(
        obj,
        at,
        &[
            "type",
            "call_id",
            "name",
            payload,
            "id",
            "status",
            "caller",
            "namespace",
        ],
    )?;
    direct_caller(obj, at)?;
    let given = required_str(obj, payload, at)?;
    Ok(ToolCall {
        id: required_str(obj, "call_id", at)?.to_string(),
        kind: "function".to_string(),
        function: FunctionCall {
            name: tool_name(obj, at)?,
            arguments: if custom {
                super::tools::custom_arguments(given)
            } else {
                given.to_string()
            },
        },
    })
}

/// The hub function name of a call's tool: its `name`, joined to its `namespace` if any.
fn tool_name(obj: &Map<String, Value>, at: &str) -> Result<String, TranslateError> {
    let name = required_str(obj, "name", at)?;
    Ok(match optional_str(obj, "namespace", at)? {
        Some(namespace) => super::tools::joined(namespace, name),
        None => name.to_string(),
    })
}

fn function_call_output(obj: &Map<String, Value>, at: &str) -> Result<Message, TranslateError> {
    // `name` repeats the call's; the hub's tool message is matched by id alone.
    known_keys(
        obj,
        at,
        &[
            "type", "call_id", "output", "id", "status", "caller", "name",
        ],
    )?;
    direct_caller(obj, at)?;
    let content = match obj.get("output") {
        Some(Value::String(s)) => Content::Text(s.clone()),
        Some(Value::Array(parts)) => {
            let parts = parts
                .iter()
                .enumerate()
                .map(|(j, p)| content_part(p, &format!("{at}.output[{j}]")))
                .collect::<Result<Vec<_>, _>>()?;
            let plain = parts.iter().all(|p| p.kind == "text" && p.extra.is_empty());
            if plain {
                let texts: Vec<String> = parts.into_iter().filter_map(|p| p.text).collect();
                Content::Text(texts.join("\n"))
            } else {
                Content::Parts(parts)
            }
        }
        _ => {
            return Err(invalid(format!(
                "{at}: `output` is required and must be a string or an array of parts"
            )))
        }
    };
    Ok(Message {
        role: "tool".to_string(),
        content: Some(content),
        tool_call_id: Some(required_str(obj, "call_id", at)?.to_string()),
        ..Message::default()
    })
}

/// The assistant message being gathered from consecutive assistant items.
#[derive(Default)]
struct AssistantTurn {
    parts: Vec<ContentPart>,
    tool_calls: Vec<ToolCall>,
    blocks: Vec<Value>,
    reasoning: Vec<String>,
}

impl AssistantTurn {
    fn reasoning_item(&mut self, obj: &Map<String, Value>, at: &str) -> Result<(), TranslateError> {
        known_keys(
            obj,
            at,
            &[
                "type",
                "id",
                "summary",
                "content",
                "encrypted_content",
                "status",
            ],
        )?;
        let encrypted = optional_str(obj, "encrypted_content", at)?;
        if let Some(decoded) =
            encrypted.and_then(|e| thinking::decode(e, &format!("{at}.encrypted_content")))
        {
            for block in decoded? {
                let text = thinking::block_text(&block);
                if !text.is_empty() {
                    self.reasoning.push(text.to_string());
                }
                self.blocks.push(block);
            }
            return Ok(());
        }
        // Not ours: the text alone (module docs).
        let texts = |key: &str, kind: &str| -> Result<Vec<String>, TranslateError> {
            let Some(parts) = obj.get(key).filter(|v| !v.is_null()) else {
                return Ok(Vec::new());
            };
            let parts = parts
                .as_array()
                .ok_or_else(|| invalid(format!("{at}.{key} must be an array")))?;
            parts
                .iter()
                .map(|p| match p.get("type").and_then(Value::as_str) {
                    Some(t) if t == kind => p
                        .get("text")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .ok_or_else(|| {
                            invalid(format!("{at}.{key}: a {kind} part needs a `text`"))
                        }),
                    _ => Err(invalid(format!("{at}.{key}: parts must be of type {kind}"))),
                })
                .collect()
        };
        let content = texts("content", "reasoning_text")?;
        let summary = texts("summary", "summary_text")?;
        let text = if content.is_empty() { summary } else { content }.join("\n\n");
        if !text.is_empty() {
            self.reasoning.push(text);
        }
        Ok(())
    }

    /// The gathered assistant message, if any, onto `out`.
    fn flush(&mut self, out: &mut Vec<Message>) {
        let turn = std::mem::take(self);
        if turn.parts.is_empty()
            && turn.tool_calls.is_empty()
            && turn.blocks.is_empty()
            && turn.reasoning.is_empty()
        {
            return;
        }
        let plain = |p: &ContentPart| p.kind == "text" && p.extra.is_empty();
        let content = if turn.parts.len() > 1 || !turn.parts.iter().all(plain) {
            Some(Content::Parts(turn.parts))
        } else {
            let text = turn
                .parts
                .into_iter()
                .next()
                .and_then(|p| p.text)
                .unwrap_or_default();
            // An assistant turn of thinking alone still keeps its place.
            (!text.is_empty() || turn.tool_calls.is_empty()).then_some(Content::Text(text))
        };
        out.push(Message {
            role: "assistant".to_string(),
            content,
            tool_calls: (!turn.tool_calls.is_empty()).then_some(turn.tool_calls),
            reasoning_content: (!turn.reasoning.is_empty()).then(|| turn.reasoning.join("")),
            thinking_blocks: (!turn.blocks.is_empty()).then_some(turn.blocks),
            ..Message::default()
        });
    }
}
