//! The hub's answer (a `chat.completion` body, or an OpenAI-shaped error) → the Responses
//! API's `response` object (or error), for providers that do not speak Responses.
//!
//! Output items, in this order: a `reasoning` item when the answer has thinking (see
//! [`super::thinking`]), a `message` item with one `output_text` part (when there is text,
//! or nothing else), then one `function_call` item per tool call (`call_id` the hub's tool
//! call id). A finish reason of `length` makes the response `incomplete` with
//! `incomplete_details.reason: "max_output_tokens"`, `content_filter` with
//! `"content_filter"`; the items are then `incomplete` too. The response object's other
//! fields are [`Echo`]'s.

use serde_json::{json, Value};

use super::echo::{Answer, Echo, Ids, Status};
use super::{thinking, tools};
use crate::error::openai_error_type;
use crate::openai::{ChatResponse, ToolCall};
use crate::TranslateError;

/// A hub `chat.completion` body → a Responses `response` object.
pub fn response_from_hub(hub_body: &[u8], echo: &Echo) -> Result<Vec<u8>, TranslateError> {
    let resp: ChatResponse =
        crate::json::from_body(hub_body).map_err(TranslateError::InvalidResponse)?;
    let ids = Ids::new(&resp.id);
    let choice = resp.choices.first();
    let status = Status::of_finish(choice.and_then(|c| c.finish_reason.as_deref()));
    let item_status = status.item_status();
    let mut output = Vec::new();
    if let Some(message) = choice.map(|c| &c.message) {
        let blocks = thinking::hub_blocks(
            message.thinking_blocks.as_deref(),
            message.reasoning_content.as_deref(),
        );
        if !blocks.is_empty() {
            let id = ids.item("rs", output.len());
            let summary = thinking::summary(&blocks);
            output.push(reasoning_item(&id, summary, &blocks, echo));
        }
        let text = message.content.as_deref().unwrap_or("");
        let calls = message.tool_calls.as_deref().unwrap_or_default();
        if !text.is_empty() || calls.is_empty() {
            let id = ids.item("msg", output.len());
            output.push(message_item(&id, item_status, text));
        }
        for call in calls {
            let prefix = tools::item_prefix(&echo.tool_map.kind(&call.function.name));
            let id = ids.item(prefix, output.len());
            output.push(function_call_item(&id, item_status, call, echo));
        }
    }
    let response_id = ids.response();
    Ok(echo.response_body(&Answer {
        id: &response_id,
        created_at: resp.created,
        model: &resp.model,
        status,
        output: &output,
        usage: resp.usage.as_ref(),
    }))
}

/// A `reasoning` output item; `encrypted_content` only when the request asked for it.
pub(super) fn reasoning_item(
    id: &str,
    summary: Vec<Value>,
    blocks: &[Value],
    echo: &Echo,
) -> Value {
    let mut item = json!({"id": id, "type": "reasoning", "summary": summary});
    if echo.encrypted_reasoning {
        item["encrypted_content"] = Value::String(thinking::encode(blocks));
    }
    item
}

/// An `output_text` content part.
pub(super) fn output_text(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
}

/// A `message` output item with one `output_text` part.
pub(super) fn message_item(id: &str, status: &str, text: &str) -> Value {
    json!({
        "id": id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": [output_text(text)],
    })
}

/// The output item of a hub tool call: a `function_call`, or what its tool stands for
/// ([`super::tools`]).
fn function_call_item(id: &str, status: &str, call: &ToolCall, echo: &Echo) -> Value {
    let name = &call.function.name;
    let kind = echo.tool_map.kind(name);
    tools::call_item(&kind, id, status, &call.id, name, &call.function.arguments)
}

/// An error the gateway makes, in OpenAI's shape (the Responses API's errors are chat's).
pub fn error_body(status: u16, message: &str) -> Vec<u8> {
    crate::front::chat::error_body(status, message)
}

/// A hub (OpenAI-shaped) error body → the Responses API's error body,
/// `{"error":{"message","type","param","code"}}`: the hub's message, type, param and code
/// kept, the missing ones filled (`type` from the status); a body of another shape becomes
/// the message.
pub fn error_from_hub(status: u16, hub_error_body: &[u8]) -> Vec<u8> {
    let parsed = serde_json::from_slice::<Value>(hub_error_body).ok();
    let Some(error) = parsed.as_ref().and_then(|v| v.get("error")) else {
        return crate::error::text_error_body(status, hub_error_body);
    };
    let field = |name: &str| error.get(name).filter(|v| !v.is_null()).cloned();
    let message = match error {
        Value::String(s) => s.clone(),
        _ => match field("message") {
            Some(Value::String(s)) => s,
            _ => format!("upstream returned status {status}"),
        },
    };
    let kind = field("type").unwrap_or_else(|| json!(openai_error_type(status)));
    json!({
        "error": {
            "message": message,
            "type": kind,
            "param": field("param").unwrap_or(Value::Null),
            "code": field("code").unwrap_or(Value::Null),
        }
    })
    .to_string()
    .into_bytes()
}

/// An error the gateway meets inside a stream already under way (the upstream connection
/// broke, the stream ran too long), as the Responses API's `error` event. Written without
/// the stream's state, it has no `sequence_number`. A stream whose provider reports an
/// error, or that [`super::FromHubStream`] cannot translate, already ends with
/// `response.failed` (see the `stream` module).
pub fn stream_error_event(status: u16, message: &str) -> Vec<u8> {
    let code = openai_error_type(status);
    let event = json!({"type": "error", "code": code, "message": message, "param": null});
    let mut out = b"event: error\ndata: ".to_vec();
    out.extend_from_slice(event.to_string().as_bytes());
    out.extend_from_slice(b"\n\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_errors_keep_their_fields_and_get_the_missing_ones() {
        let got = error_from_hub(
            429,
            br#"{"error":{"message":"slow down","type":"rate_limit_error","code":"rate"}}"#,
        );
        let v: Value = serde_json::from_slice(&got).unwrap();
        assert_eq!(
            v,
            json!({"error": {"message": "slow down", "type": "rate_limit_error", "param": null, "code": "rate"}})
        );
        let v: Value =
            serde_json::from_slice(&error_from_hub(503, br#"{"error":"down"}"#)).unwrap();
        assert_eq!(v["error"]["message"], "down");
        assert_eq!(v["error"]["type"], "api_error");
        let v: Value =
            serde_json::from_slice(&error_from_hub(502, b"<html>bad gateway</html>")).unwrap();
        assert_eq!(v["error"]["message"], "<html>bad gateway</html>");
        assert!(v["error"].get("param").is_some());
    }

    #[test]
    fn a_broken_stream_gets_an_error_event() {
        let out = String::from_utf8(stream_error_event(502, "upstream stream broke")).unwrap();
        assert!(out.starts_with("event: error\ndata: {"), "{out}");
        let data: Value = serde_json::from_str(out["event: error\ndata: ".len()..].trim()).unwrap();
        assert_eq!(data["type"], "error");
        assert_eq!(data["message"], "upstream stream broke");
        assert_eq!(data["code"], "api_error");
    }
}
