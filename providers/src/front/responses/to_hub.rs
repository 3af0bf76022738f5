//! OpenAI Responses request → the hub's OpenAI [`ChatRequest`], for providers that do not
//! speak Responses (to `openai` and `azure` the request goes natively). Every field is
//! carried, mapped, ignored because its loss cannot change the answer, or refused with a 400
//! that names it. Top-level fields:
//!
//! - carried: `model`, `temperature`, `top_p`, `stream` (with `stream_options.include_usage`
//!   asked for, so usage is always counted), `user`;
//! - mapped: `input` → the messages ([`super::input`]); `instructions` → a system message
//!   first; `max_output_tokens` → `max_tokens`; `tools` (function tools, whose Responses
//!   shape is flat: `{"type":"function","name","description","parameters","strict"}`) →
//!   chat's nested `function` (`strict` kept in it); `tool_choice` (`auto`, `none`,
//!   `required`, `{"type":"function","name"}` → `{"type":"function","function":{"name"}}`);
//!   `parallel_tool_calls: false` → the same in the hub (`true` is every provider's
//!   default); `text.format` (`json_schema` → `response_format: {"type":"json_schema",
//!   "json_schema":{"name","schema","strict","description"}}`, `json_object` → the same
//!   type, `text` → nothing); `reasoning.effort` → `reasoning_effort`;
//!   `safety_identifier` → `user` when `user` is absent (both name the end user for abuse
//!   tracking); `include: ["reasoning.encrypted_content"]` → reasoning items carry the
//!   thinking (read by [`super::Echo`]);
//! - ignored, cannot change the answer: `store` (nothing is stored when translated; the
//!   answer says `store: false`), `metadata` and `client_metadata` (tags for stored
//!   responses and the client's own bookkeeping; `metadata` is echoed), `prompt_cache_key`,
//!   `prompt_cache_retention`, `prompt_cache_options` (cache routing changes cost, not the
//!   answer), `service_tier`, `stream_options` (`include_obfuscation` pads events against
//!   side channels; sluice's events carry no padding), `truncation` (`disabled` is what
//!   sluice does; `auto` would drop middle items of a stored conversation when too long:
//!   nothing is stored, and the client's whole `input` is sent, so an input too long for the
//!   model fails as with `disabled`), `max_tool_calls` (it caps calls to built-in tools,
//!   which a translated request cannot have), `context_management` (server-side compaction:
//!   the provider sees the whole `input` the client sent), `reasoning.summary` and
//!   `reasoning.generate_summary` (the provider's thinking is given as it comes, as the
//!   summary), `text.verbosity` (a length hint of OpenAI's models that no other provider
//!   takes; what is asked is unchanged), a function tool's `defer_loading` (the tool is
//!   offered up front), `include` values about built-in tools' results
//!   (`file_search_call.results`, `web_search_call.results`,
//!   `web_search_call.action.sources`, `code_interpreter_call.outputs`,
//!   `computer_call_output.output.image_url`: such tools are refused) and
//!   `message.input_image.image_url` (it lists stored input items, and nothing is stored),
//!   `background: false`, `top_logprobs: 0`;
//! - refused: `previous_response_id` and `conversation` (the route's provider does not store
//!   responses: the client sends the whole conversation in `input`, or routes to an openai
//!   or azure backend), `background: true`, `prompt` (a stored prompt template),
//!   `top_logprobs` above 0 and `include: ["message.output_text.logprobs"]` (no logprobs
//!   across), `moderation`, built-in and custom tools (`web_search`, `file_search`,
//!   `code_interpreter`, `computer_use_preview`, `local_shell`, `shell`, `apply_patch`,
//!   `image_generation`, `mcp`, `custom`, `namespace`, `tool_search`, ...: no counterpart),
//!   `tool_choice` of those types or `allowed_tools`, and every other field.

use serde_json::{json, Map, Value};

use super::input::input_messages;
use crate::error::no_counterpart;
pub(super) use crate::front::read::{invalid, opt_str};
use crate::front::read::{opt_bool, opt_f64, opt_u64};
use crate::openai::{ChatRequest, Content, Message, StreamOptions};
use crate::TranslateError;

/// Where a field that cannot be carried is said to have no counterpart.
pub(super) const ACROSS: &str =
    "a translated request (the route's provider does not speak the Responses API)";

/// Top-level fields dropped because their loss cannot change the answer (module docs).
const IGNORED: &[&str] = &[
    "store",
    "metadata",
    "client_metadata",
    "prompt_cache_key",
    "prompt_cache_retention",
    "prompt_cache_options",
    "service_tier",
    "stream_options",
    "max_tool_calls",
    "context_management",
];

/// `include` values understood or dropped (module docs).
const INCLUDE_UNDERSTOOD: &[&str] = &["reasoning.encrypted_content"];
const INCLUDE_IGNORED: &[&str] = &[
    "file_search_call.results",
    "web_search_call.results",
    "web_search_call.action.sources",
    "code_interpreter_call.outputs",
    "computer_call_output.output.image_url",
    "message.input_image.image_url",
];

/// The 400 for continuing a stored response or conversation.
pub(super) fn not_stored(field: &str) -> TranslateError {
    TranslateError::Unsupported(format!(
        "`{field}` cannot be followed: the route's provider does not store responses, so there is no earlier response or conversation to continue; send the whole conversation in `input` (and `store: false`), or route this request to a backend that serves the Responses API (openai, azure, a preset that serves it)"
    ))
}

/// A Responses request body → the hub request. Errors name the field.
pub fn request_to_hub(body: &[u8]) -> Result<ChatRequest, TranslateError> {
    let v: Value = crate::json::from_body(body).map_err(invalid)?;
    let obj = v
        .as_object()
        .ok_or_else(|| invalid("request body must be a JSON object"))?;
    let mut req = ChatRequest::default();
    let mut safety_identifier = None;
    for (key, value) in obj {
        match key.as_str() {
            "model" => req.model = opt_str(value, key)?.unwrap_or_default().to_string(),
            "input" => {}
            "instructions" => {
                if let Some(text) = opt_str(value, key)?.filter(|t| !t.is_empty()) {
                    req.messages.push(Message {
                        role: "system".to_string(),
                        content: Some(Content::Text(text.to_string())),
                        ..Message::default()
                    });
                }
            }
            "max_output_tokens" => req.max_tokens = opt_u64(value, key)?,
            "temperature" => req.temperature = opt_f64(value, key)?,
            "top_p" => req.top_p = opt_f64(value, key)?,
            "stream" => req.stream = opt_bool(value, key)?.unwrap_or(false),
            "tools" => req.tools = super::tools::hub_tools(value)?,
            "tool_choice" => req.tool_choice = tool_choice(value)?,
            "parallel_tool_calls" => {
                if opt_bool(value, key)? == Some(false) {
                    req.extra
                        .insert("parallel_tool_calls".to_string(), Value::Bool(false));
                }
            }
            "text" => req.response_format = text_format(value)?,
            "reasoning" => req.reasoning_effort = reasoning_effort(value)?,
            "user" => {
                if let Some(user) = opt_str(value, key)? {
                    req.extra.insert("user".to_string(), json!(user));
                }
            }
            "safety_identifier" => safety_identifier = opt_str(value, key)?,
            "include" => include(value)?,
            "truncation" => match value {
                Value::Null => {}
                Value::String(s) if s == "auto" || s == "disabled" => {}
                _ => return Err(invalid("`truncation` must be `auto` or `disabled`")),
            },
            "previous_response_id" | "conversation" => {
                if !value.is_null() {
                    return Err(not_stored(key));
                }
            }
            "background" => {
                if opt_bool(value, key)? == Some(true) {
                    return Err(no_counterpart("background", ACROSS));
                }
            }
            "top_logprobs" => {
                if opt_u64(value, key)?.is_some_and(|n| n > 0) {
                    return Err(no_counterpart("top_logprobs", ACROSS));
                }
            }
            k if IGNORED.contains(&k) => {}
            other => {
                if !value.is_null() {
                    return Err(no_counterpart(other, ACROSS));
                }
            }
        }
    }
    if let (Some(id), false) = (safety_identifier, req.extra.contains_key("user")) {
        req.extra.insert("user".to_string(), json!(id));
    }
    match obj.get("input") {
        None | Some(Value::Null) => return Err(invalid("`input` is required")),
        Some(input) => input_messages(input, &mut req.messages)?,
    }
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

/// The object at `at`; its keys then go through the caller's `match`.
fn object<'a>(v: &'a Value, at: &str) -> Result<&'a Map<String, Value>, TranslateError> {
    v.as_object()
        .ok_or_else(|| invalid(format!("`{at}` must be an object")))
}

fn include(v: &Value) -> Result<(), TranslateError> {
    let items = match v {
        Value::Null => return Ok(()),
        Value::Array(items) => items,
        _ => return Err(invalid("`include` must be an array of strings")),
    };
    for item in items {
        let name = item
            .as_str()
            .ok_or_else(|| invalid("`include` must be an array of strings"))?;
        if !INCLUDE_UNDERSTOOD.contains(&name) && !INCLUDE_IGNORED.contains(&name) {
            return Err(no_counterpart(&format!("include: {name}"), ACROSS));
        }
    }
    Ok(())
}

/// `reasoning` → the effort; `summary` and `generate_summary` are ignored (module docs).
fn reasoning_effort(v: &Value) -> Result<Option<String>, TranslateError> {
    if v.is_null() {
        return Ok(None);
    }
    let mut effort = None;
    for (key, value) in object(v, "reasoning")? {
        match key.as_str() {
            "effort" => effort = opt_str(value, "reasoning.effort")?.map(str::to_string),
            "summary" | "generate_summary" => {}
            other => {
                if !value.is_null() {
                    return Err(no_counterpart(&format!("reasoning.{other}"), ACROSS));
                }
            }
        }
    }
    Ok(effort)
}

/// `text` → the hub's `response_format`; `verbosity` is ignored (module docs).
fn text_format(v: &Value) -> Result<Option<Value>, TranslateError> {
    if v.is_null() {
        return Ok(None);
    }
    let mut format = None;
    for (key, value) in object(v, "text")? {
        match key.as_str() {
            "format" => format = response_format(value)?,
            "verbosity" => {}
            other => {
                if !value.is_null() {
                    return Err(no_counterpart(&format!("text.{other}"), ACROSS));
                }
            }
        }
    }
    Ok(format)
}

fn response_format(v: &Value) -> Result<Option<Value>, TranslateError> {
    if v.is_null() {
        return Ok(None);
    }
    let obj = object(v, "text.format")?;
    match obj.get("type").and_then(Value::as_str) {
        Some("text") => Ok(None),
        Some("json_object") => Ok(Some(json!({"type": "json_object"}))),
        Some("json_schema") => {
            let mut spec = Map::new();
            for (key, value) in obj {
                match key.as_str() {
                    "type" => {}
                    "name" | "schema" | "strict" | "description" => {
                        if !value.is_null() {
                            spec.insert(key.clone(), value.clone());
                        }
                    }
                    other => return Err(no_counterpart(&format!("text.format.{other}"), ACROSS)),
                }
            }
            if !spec.contains_key("schema") {
                return Err(invalid(
                    "`text.format` of type json_schema needs a `schema`",
                ));
            }
            if !spec.contains_key("name") {
                spec.insert("name".to_string(), json!("output"));
            }
            Ok(Some(json!({"type": "json_schema", "json_schema": spec})))
        }
        Some(other) => Err(no_counterpart(
            &format!("text.format.type: {other}"),
            ACROSS,
        )),
        None => Err(invalid("`text.format` needs a `type`")),
    }
}

fn tool_choice(v: &Value) -> Result<Option<Value>, TranslateError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if matches!(s.as_str(), "auto" | "none" | "required") => {
            Ok(Some(v.clone()))
        }
        Value::String(s) => Err(invalid(format!(
            "`tool_choice` must be auto, none, required or an object, not {s:?}"
        ))),
        Value::Object(obj) => match obj.get("type").and_then(Value::as_str) {
            Some("function") => {
                let name = obj
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid("`tool_choice` of type function needs a `name`"))?;
                Ok(Some(
                    json!({"type": "function", "function": {"name": name}}),
                ))
            }
            Some(other) => Err(no_counterpart(
                &format!("tool_choice.type: {other}"),
                ACROSS,
            )),
            None => Err(invalid("`tool_choice` needs a `type`")),
        },
        _ => Err(invalid("`tool_choice` must be a string or an object")),
    }
}
