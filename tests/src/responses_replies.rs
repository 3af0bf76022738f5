//! Streamed answers of the OpenAI Responses API (`POST /v1/responses` with `stream: true`) for
//! a [`crate::MockUpstream`]: a text answer and a function call, each with `usage` on
//! `response.completed`. Also the answers a Responses client's tool round trip needs from
//! the other providers: an Anthropic `tool_use` stream and a Gemini `functionCall` stream
//! (their text answers are in [`crate::replies`]).
//!
//! The events are the ones OpenAI streams, in its order, with `sequence_number`s; Codex CLI
//! 0.171 reads `response.output_item.done` (the whole item) and `response.completed`, and
//! ignores what it does not know (`providers/tests/fixtures/codex/README.md`).

use bytes::Bytes;
use serde_json::{json, Value};

use crate::replies::{event_stream, MockUsage};
use crate::Reply;

/// The `usage` of a Responses answer: `input_tokens` is the whole prompt, of which
/// `cached_tokens` were read from the cache (the Responses API reports no cache writes).
pub fn responses_usage(u: MockUsage) -> Value {
    json!({"input_tokens": u.input, "input_tokens_details": {"cached_tokens": u.cache_read},
           "output_tokens": u.output, "output_tokens_details": {"reasoning_tokens": 0},
           "total_tokens": u.input + u.output})
}

/// A `response` object in the state `status`, with `output` items and `usage` (or null).
fn response_object(id: &str, model: &str, status: &str, output: Vec<Value>, usage: Value) -> Value {
    json!({"id": id, "object": "response", "created_at": 1_796_000_000, "status": status,
           "model": model, "output": output, "usage": usage, "store": false,
           "parallel_tool_calls": true, "tool_choice": "auto", "tools": [],
           "error": null, "incomplete_details": null})
}

/// Numbers the events (`sequence_number`, from 0), as the API does.
fn numbered(mut events: Vec<Value>) -> Vec<Value> {
    for (i, e) in events.iter_mut().enumerate() {
        e["sequence_number"] = json!(i);
    }
    events
}

/// The events of an answer `text` (in two deltas) from `model`, as response `id`.
pub fn responses_text_events(id: &str, model: &str, text: &str, u: MockUsage) -> Vec<Value> {
    let mut mid = text.len() / 2;
    while !text.is_char_boundary(mid) {
        mid += 1;
    }
    let (a, b) = text.split_at(mid);
    let item_id = format!("msg_{id}");
    let item = |status: &str, content: Value| {
        json!({"id": item_id, "type": "message", "status": status, "role": "assistant",
               "content": content})
    };
    let part = |t: &str| json!({"type": "output_text", "text": t, "annotations": []});
    let at = |kind: &str| json!({"type": kind, "item_id": item_id, "output_index": 0, "content_index": 0});
    let with = |mut v: Value, key: &str, val: Value| {
        v[key] = val;
        v
    };
    let done = item("completed", json!([part(text)]));
    numbered(vec![
        json!({"type": "response.created",
               "response": response_object(id, model, "in_progress", vec![], Value::Null)}),
        json!({"type": "response.in_progress",
               "response": response_object(id, model, "in_progress", vec![], Value::Null)}),
        json!({"type": "response.output_item.added", "output_index": 0,
               "item": item("in_progress", json!([]))}),
        with(at("response.content_part.added"), "part", part("")),
        with(at("response.output_text.delta"), "delta", json!(a)),
        with(at("response.output_text.delta"), "delta", json!(b)),
        with(at("response.output_text.done"), "text", json!(text)),
        with(at("response.content_part.done"), "part", part(text)),
        json!({"type": "response.output_item.done", "output_index": 0, "item": done}),
        json!({"type": "response.completed",
               "response": response_object(id, model, "completed", vec![done], responses_usage(u))}),
    ])
}

/// The events of an answer that calls the function `name` with `arguments` (sent as a JSON
/// string, as the API does) under `call_id`.
pub fn responses_function_call_events(
    id: &str,
    model: &str,
    call_id: &str,
    name: &str,
    arguments: &Value,
    u: MockUsage,
) -> Vec<Value> {
    let args = arguments.to_string();
    let item_id = format!("fc_{id}");
    let item = |status: &str, args: &str| {
        json!({"id": item_id, "type": "function_call", "status": status, "call_id": call_id,
               "name": name, "arguments": args})
    };
    let done = item("completed", &args);
    numbered(vec![
        json!({"type": "response.created",
               "response": response_object(id, model, "in_progress", vec![], Value::Null)}),
        json!({"type": "response.in_progress",
               "response": response_object(id, model, "in_progress", vec![], Value::Null)}),
        json!({"type": "response.output_item.added", "output_index": 0, "item": item("in_progress", "")}),
        json!({"type": "response.function_call_arguments.delta", "item_id": item_id,
               "output_index": 0, "delta": args}),
        json!({"type": "response.function_call_arguments.done", "item_id": item_id,
               "output_index": 0, "arguments": args}),
        json!({"type": "response.output_item.done", "output_index": 0, "item": done}),
        json!({"type": "response.completed",
               "response": response_object(id, model, "completed", vec![done], responses_usage(u))}),
    ])
}

/// The Responses SSE of these events: `event: <type>` and `data: <json>`, one chunk each.
pub fn responses_sse(events: &[Value]) -> Reply {
    let chunks = events
        .iter()
        .map(|e| {
            let kind = e["type"].as_str().unwrap_or("message");
            Bytes::from(format!("event: {kind}\ndata: {e}\n\n"))
        })
        .collect();
    event_stream(chunks)
}

/// A streamed Responses text answer (see [`responses_text_events`]).
pub fn responses_text_stream(model: &str, text: &str, u: MockUsage) -> Reply {
    responses_sse(&responses_text_events("resp_sluice_text", model, text, u))
}

/// A streamed Responses function call (see [`responses_function_call_events`]).
pub fn responses_function_call_stream(
    model: &str,
    call_id: &str,
    name: &str,
    arguments: &Value,
    u: MockUsage,
) -> Reply {
    responses_sse(&responses_function_call_events(
        "resp_sluice_call",
        model,
        call_id,
        name,
        arguments,
        u,
    ))
}

/// An Anthropic message stream's events calling the tool `name` with `input` as block `id`
/// (the input streamed as two `input_json_delta`s), stopping for `tool_use`.
pub fn anthropic_tool_use_events(
    model: &str,
    id: &str,
    name: &str,
    input: &Value,
    u: MockUsage,
) -> Vec<Value> {
    let json_text = input.to_string();
    let mut mid = json_text.len() / 2;
    while !json_text.is_char_boundary(mid) {
        mid += 1;
    }
    let (a, b) = json_text.split_at(mid);
    let usage = |output: u64| {
        json!({"input_tokens": u.input, "cache_creation_input_tokens": u.cache_creation,
               "cache_read_input_tokens": u.cache_read, "output_tokens": output})
    };
    let delta = |part: &str| {
        json!({"type": "content_block_delta", "index": 0,
               "delta": {"type": "input_json_delta", "partial_json": part}})
    };
    vec![
        json!({"type": "message_start", "message": {"id": "msg_01SluiceMockToolUse", "type": "message",
            "role": "assistant", "model": model, "content": [], "stop_reason": null,
            "stop_sequence": null, "usage": usage(1)}}),
        json!({"type": "content_block_start", "index": 0,
               "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}}),
        delta(a),
        delta(b),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null},
               "usage": usage(u.output)}),
        json!({"type": "message_stop"}),
    ]
}

/// A `streamGenerateContent?alt=sse` answer calling the function `name` with `args`, with
/// `usageMetadata` (Gemini gives a call no id: the gateway has to make one up).
pub fn gemini_function_call_stream(model: &str, name: &str, args: &Value, u: MockUsage) -> Reply {
    let event = json!({
        "candidates": [{"content": {"role": "model", "parts": [{"functionCall": {"name": name, "args": args}}]},
                        "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": u.input, "candidatesTokenCount": u.output,
                          "totalTokenCount": u.input + u.output,
                          "cachedContentTokenCount": u.cache_read},
        "modelVersion": model, "responseId": "sluice-gemini-call"});
    Reply::sse(&[event.to_string()], std::time::Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: MockUsage = MockUsage {
        input: 100,
        cache_read: 60,
        cache_creation: 0,
        output: 7,
    };

    #[test]
    fn text_events_end_with_the_whole_item_and_usage() {
        let ev = responses_text_events("r1", "gpt-x", "Hello there", U);
        let kinds: Vec<&str> = ev.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(kinds.first(), Some(&"response.created"));
        assert_eq!(kinds.last(), Some(&"response.completed"));
        let deltas: String = ev
            .iter()
            .filter(|e| e["type"] == "response.output_text.delta")
            .map(|e| e["delta"].as_str().unwrap())
            .collect();
        assert_eq!(deltas, "Hello there");
        let done = ev
            .iter()
            .find(|e| e["type"] == "response.output_item.done")
            .unwrap();
        assert_eq!(done["item"]["content"][0]["text"], "Hello there");
        let last = ev.last().unwrap();
        assert_eq!(last["response"]["usage"]["input_tokens"], 100);
        assert_eq!(
            last["response"]["usage"]["input_tokens_details"]["cached_tokens"],
            60
        );
        assert_eq!(last["response"]["output"][0], done["item"]);
        assert!(ev
            .iter()
            .enumerate()
            .all(|(i, e)| e["sequence_number"] == json!(i)));
    }

    #[test]
    fn function_call_arguments_are_a_json_string() {
        let args = json!({"cmd": "echo hi"});
        let ev = responses_function_call_events("r2", "gpt-x", "call_1", "exec_command", &args, U);
        let done = ev
            .iter()
            .find(|e| e["type"] == "response.output_item.done")
            .unwrap();
        assert_eq!(done["item"]["call_id"], "call_1");
        let sent: Value =
            serde_json::from_str(done["item"]["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(sent, args);
    }

    #[test]
    fn anthropic_tool_input_reassembles() {
        let input = json!({"cmd": "echo é"});
        let ev = anthropic_tool_use_events("claude-x", "toolu_1", "exec_command", &input, U);
        let text: String = ev
            .iter()
            .filter_map(|e| e["delta"]["partial_json"].as_str())
            .collect();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), input);
    }
}
