//! Whole Chat Completions answers translated to Messages answers.

use serde_json::{json, Value};
use sluice_providers::front::messages::response_from_openai;
use sluice_providers::TranslateError;

fn resp(body: Value) -> Value {
    let out = response_from_openai(body.to_string().as_bytes()).expect("translates");
    serde_json::from_slice(&out).expect("json")
}

#[test]
fn response_text() {
    let v = resp(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-x",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}
    }));
    assert_eq!(
        v,
        json!({
            "id": "msg_chatcmpl-1", "type": "message", "role": "assistant", "model": "gpt-x",
            "content": [{"type": "text", "text": "Hello"}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 10, "output_tokens": 3}
        })
    );
}

#[test]
fn response_tool_use_and_cached_usage() {
    let v = resp(json!({
        "id": "msg_abc", "model": "gpt-x",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}},
            {"id": "call_2", "type": "function", "function": {"name": "g", "arguments": "oops"}}
        ]}, "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 7, "total_tokens": 107,
                  "prompt_tokens_details": {"cached_tokens": 60}}
    }));
    assert_eq!(
        v,
        json!({
            "id": "msg_abc", "type": "message", "role": "assistant", "model": "gpt-x",
            "content": [
                {"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}},
                {"type": "tool_use", "id": "call_2", "name": "g", "input": {}}
            ],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 40, "cache_read_input_tokens": 60, "output_tokens": 7}
        })
    );
}

#[test]
fn response_stop_reasons_and_empty() {
    for (finish, want) in [
        ("length", "max_tokens"),
        ("content_filter", "refusal"),
        ("stop", "end_turn"),
        ("weird", "end_turn"),
    ] {
        let v = resp(json!({
            "id": "x", "model": "m",
            "choices": [{"message": {"role": "assistant", "content": ""}, "finish_reason": finish}]
        }));
        assert_eq!(v["stop_reason"], want);
        assert_eq!(v["content"], json!([{"type": "text", "text": ""}]));
    }
    assert!(matches!(
        response_from_openai(b"{}"),
        Err(TranslateError::InvalidResponse(_))
    ));
}

#[test]
fn hub_thinking_becomes_thinking_blocks_in_answers() {
    let v = resp(json!({
        "id": "c", "model": "gemini-2.5-flash",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": null,
            "reasoning_content": "Let me think.",
            "thinking_blocks": [{"type": "thinking", "thinking": "", "signature": "sluice:gemini:abc"}],
            "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}
    }));
    assert_eq!(
        v["content"],
        json!([
            {"type": "thinking", "thinking": "Let me think.", "signature": "sluice:gemini:abc"},
            {"type": "tool_use", "id": "t1", "name": "f", "input": {}}
        ]),
        "the thought text joins the signed block"
    );
    let v = resp(json!({
        "id": "c", "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {
            "role": "assistant", "content": "Hi", "reasoning_content": "hm"}}]
    }));
    assert_eq!(
        v["content"],
        json!([{"type": "thinking", "thinking": "hm", "signature": ""}, {"type": "text", "text": "Hi"}])
    );
}
