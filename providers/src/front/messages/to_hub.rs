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
use crate::openai::{ChatRequest, FunctionDef, Stop, StreamOptions, Tool};
use crate::TranslateError;

use super::turns::{convert_message, system_message};

/// Where a field that cannot be carried is said to have no counterpart.
pub(super) const ACROSS: &str =
    "a translated request (the route's provider does not speak Messages)";

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
pub(super) fn output_config(
    v: &Value,
    at: &str,
) -> Result<(Option<String>, Option<Value>), TranslateError> {
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
