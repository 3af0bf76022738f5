//! Chat Completions streams translated to Messages SSE, however split, and random bytes
//! through every translator without a panic.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sluice_providers::front::messages::{
    error_from_openai, request_to_openai, response_from_openai, AnthropicStream,
};
use sluice_providers::sse::SseParser;
use sluice_providers::StreamTranslator;

use crate::common::fuzz::feed_random_chunks;

fn chunk(delta: Value, finish: Value) -> String {
    format!(
        "data: {}\n\n",
        json!({"id": "chatcmpl-9", "object": "chat.completion.chunk", "created": 1,
               "model": "gpt-x", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    )
}

fn fixture() -> String {
    let mut s = String::new();
    s += &chunk(json!({"role": "assistant", "content": ""}), Value::Null);
    s += &chunk(json!({"content": "Let me "}), Value::Null);
    s += &chunk(json!({"content": "check."}), Value::Null);
    s += &chunk(
        json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                               "function": {"name": "get_weather", "arguments": ""}}]}),
        Value::Null,
    );
    s += &chunk(
        json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}),
        Value::Null,
    );
    s += &chunk(
        json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}),
        Value::Null,
    );
    s += &chunk(json!({}), json!("tool_calls"));
    s += &format!(
        "data: {}\n\n",
        json!({"id": "chatcmpl-9", "object": "chat.completion.chunk", "created": 1,
               "model": "gpt-x", "choices": [],
               "usage": {"prompt_tokens": 20, "completion_tokens": 12, "total_tokens": 32}})
    );
    s += "data: [DONE]\n\n";
    s
}

fn expected_events() -> Vec<(String, Value)> {
    let e = |n: &str, v: Value| (n.to_string(), v);
    vec![
        e(
            "message_start",
            json!({"type": "message_start", "message": {
                "id": "msg_chatcmpl-9", "type": "message", "role": "assistant", "model": "gpt-x",
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": 0, "output_tokens": 0}}}),
        ),
        e(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
                   "content_block": {"type": "text", "text": ""}}),
        ),
        e(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
                   "delta": {"type": "text_delta", "text": "Let me "}}),
        ),
        e(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
                   "delta": {"type": "text_delta", "text": "check."}}),
        ),
        e(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        e(
            "content_block_start",
            json!({"type": "content_block_start", "index": 1,
                   "content_block": {"type": "tool_use", "id": "call_1", "name": "get_weather",
                                     "input": {}}}),
        ),
        e(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 1,
                   "delta": {"type": "input_json_delta", "partial_json": "{\"city\":"}}),
        ),
        e(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 1,
                   "delta": {"type": "input_json_delta", "partial_json": "\"Paris\"}"}}),
        ),
        e(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 1}),
        ),
        e(
            "message_delta",
            json!({"type": "message_delta",
                   "delta": {"stop_reason": "tool_use", "stop_sequence": null},
                   "usage": {"input_tokens": 20, "output_tokens": 12}}),
        ),
        e("message_stop", json!({"type": "message_stop"})),
    ]
}

/// Parses Anthropic SSE output into (event name, data JSON) pairs, checking they agree.
fn parse_events(out: &[u8]) -> Vec<(String, Value)> {
    let mut events = Vec::new();
    let mut parser = SseParser::default();
    let mut push = |ev: sluice_providers::sse::SseEvent| {
        let data: Value = serde_json::from_str(&ev.data).expect("event data is JSON");
        let name = ev.event.expect("event name");
        assert_eq!(
            data["type"],
            Value::String(name.clone()),
            "name matches type"
        );
        events.push((name, data));
        Ok(())
    };
    parser.feed(out, &mut push).expect("parses");
    parser.finish(&mut push).expect("parses");
    events
}

fn run(input: &[u8], split: usize) -> (Vec<u8>, AnthropicStream) {
    let mut s = AnthropicStream::new("claude-x");
    let mut out = Vec::new();
    for piece in input.chunks(split.max(1)) {
        s.feed(piece, &mut out).expect("feeds");
    }
    s.finish(&mut out).expect("finishes");
    (out, s)
}

#[test]
fn stream_text_then_tool_call_then_usage() {
    let (out, s) = run(fixture().as_bytes(), usize::MAX);
    assert_eq!(parse_events(&out), expected_events());
    let facts = s.facts();
    assert_eq!(facts.texts, vec!["Let me check.".to_string()]);
    assert_eq!(facts.tool_calls.len(), 1);
    assert_eq!(facts.tool_calls[0].name, "get_weather");
    assert_eq!(facts.tool_calls[0].arguments, "{\"city\":\"Paris\"}");
    assert_eq!(facts.usage.input_tokens, Some(20));
    assert_eq!(facts.usage.output_tokens, Some(12));
    assert_eq!(facts.finish_reasons, vec!["tool_calls".to_string()]);
    assert!(facts.first_token_seen);
    assert_eq!(facts.response_model.as_deref(), Some("gpt-x"));
}

#[test]
fn stream_split_invariance() {
    let input = fixture();
    let (whole, _) = run(input.as_bytes(), usize::MAX);
    for split in 1..=input.len() {
        let (out, _) = run(input.as_bytes(), split);
        assert_eq!(out, whole, "split size {split}");
    }
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..200 {
        let mut s = AnthropicStream::new("claude-x");
        let mut out = Vec::new();
        feed_random_chunks(&mut s, input.as_bytes(), 40, &mut rng, &mut out).expect("feeds");
        s.finish(&mut out).expect("finishes");
        assert_eq!(out, whole);
    }
}

#[test]
fn stream_end_emitted_once_without_done() {
    let input = fixture().replace("data: [DONE]\n\n", "");
    let (out, _) = run(input.as_bytes(), usize::MAX);
    assert_eq!(parse_events(&out), expected_events());

    // No usage chunk and no [DONE]: the end still comes, once, from finish().
    let mut s = String::new();
    s += &chunk(json!({"content": "hi"}), Value::Null);
    s += &chunk(json!({}), json!("length"));
    let (out, _) = run(s.as_bytes(), usize::MAX);
    let events = parse_events(&out);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(events[4].1["delta"]["stop_reason"], "max_tokens");
    assert_eq!(events[4].1["usage"], json!({"output_tokens": 0}));

    // Empty upstream: still a well-formed empty message.
    let (out, _) = run(b"", 1);
    let names: Vec<String> = parse_events(&out).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["message_start", "message_delta", "message_stop"]);
    assert_eq!(parse_events(&out)[0].1["message"]["model"], "claude-x");
}

#[test]
fn stream_two_tool_calls_and_usage_with_finish() {
    let mut s = String::new();
    s += &chunk(
        json!({"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "a", "arguments": "{}"}}]}),
        Value::Null,
    );
    s += &chunk(
        json!({"tool_calls": [{"index": 1, "id": "c2", "function": {"name": "b", "arguments": "{\"x\":1}"}}]}),
        Value::Null,
    );
    // Finish reason and usage in one chunk, then trailing junk after the end is ignored.
    s += &format!(
        "data: {}\n\n",
        json!({"id": "z", "model": "m", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}],
               "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7,
                         "prompt_tokens_details": {"cached_tokens": 3}}})
    );
    s += &chunk(json!({"content": "late"}), Value::Null);
    s += "data: [DONE]\n\n";
    let (out, _) = run(s.as_bytes(), 3);
    let events = parse_events(&out);
    let summary: Vec<(String, Value)> = events
        .iter()
        .map(|(n, v)| (n.clone(), v.get("index").cloned().unwrap_or(Value::Null)))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("message_start".to_string(), Value::Null),
            ("content_block_start".to_string(), json!(0)),
            ("content_block_delta".to_string(), json!(0)),
            ("content_block_stop".to_string(), json!(0)),
            ("content_block_start".to_string(), json!(1)),
            ("content_block_delta".to_string(), json!(1)),
            ("content_block_stop".to_string(), json!(1)),
            ("message_delta".to_string(), Value::Null),
            ("message_stop".to_string(), Value::Null),
        ]
    );
    assert_eq!(events[4].1["content_block"]["id"], "c2");
    assert_eq!(
        events[7].1["usage"],
        json!({"input_tokens": 2, "cache_read_input_tokens": 3, "output_tokens": 2})
    );
}

#[test]
fn stream_error_event() {
    let s = format!(
        "{}data: {}\n\n",
        chunk(json!({"content": "a"}), Value::Null),
        json!({"error": {"message": "upstream died", "type": "server_error"}})
    );
    let (out, _) = run(s.as_bytes(), usize::MAX);
    let events = parse_events(&out);
    let last = events.last().expect("events");
    assert_eq!(last.0, "error");
    assert_eq!(
        last.1,
        json!({"type": "error", "error": {"type": "api_error", "message": "upstream died"}})
    );
    assert!(!events.iter().any(|(n, _)| n == "message_stop"));
}

#[test]
fn random_bytes_do_not_panic() {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let base = fixture().into_bytes();
    for round in 0..300 {
        let mut s = AnthropicStream::new("m");
        let mut out = Vec::new();
        let input: Vec<u8> = if round % 2 == 0 {
            (0..rng.random_range(0..2000))
                .map(|_| rng.random())
                .collect()
        } else {
            // The fixture with random bytes flipped: mostly-valid structure.
            let mut b = base.clone();
            for _ in 0..rng.random_range(1..20) {
                let i = rng.random_range(0..b.len());
                b[i] = rng.random();
            }
            b
        };
        let mut rest = &input[..];
        while !rest.is_empty() {
            let n = rng.random_range(1..=rest.len());
            let (head, tail) = rest.split_at(n);
            let _ = s.feed(head, &mut out);
            rest = tail;
        }
        let _ = s.finish(&mut out);
        let _ = s.facts();
        let _ = request_to_openai(&input);
        let _ = response_from_openai(&input);
        let _ = error_from_openai(500, &input);
    }
}

#[test]
fn hub_thinking_streams_as_thinking_blocks() {
    let chunk = |delta: Value| {
        format!(
            "data: {}\n\n",
            json!({"id": "c", "model": "m", "choices": [{"index": 0, "delta": delta}]})
        )
    };
    let input = [
        chunk(json!({"role": "assistant", "reasoning_content": "Think"})),
        chunk(json!({"reasoning_content": "ing."})),
        chunk(json!({"thinking_blocks": [{"type": "thinking", "thinking": "", "signature": "sig1"}]})),
        chunk(json!({"thinking_blocks": [{"type": "redacted_thinking", "data": "enc"}]})),
        chunk(json!({"content": "Answer"})),
        "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2,\"total_tokens\":6}}\n\n".to_string(),
        "data: [DONE]\n\n".to_string(),
    ]
    .concat();
    let (out, _) = run(input.as_bytes(), usize::MAX);
    let events: Vec<Value> = parse_events(&out).into_iter().map(|(_, d)| d).collect();
    let kinds: Vec<String> = events
        .iter()
        .map(|e| {
            let t = e["type"].as_str().unwrap_or_default();
            let sub = e["content_block"]["type"]
                .as_str()
                .or(e["delta"]["type"].as_str())
                .unwrap_or_default();
            format!("{t}:{sub}")
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "message_start:",
            "content_block_start:thinking",
            "content_block_delta:thinking_delta",
            "content_block_delta:thinking_delta",
            "content_block_delta:signature_delta",
            "content_block_stop:",
            "content_block_start:redacted_thinking",
            "content_block_stop:",
            "content_block_start:text",
            "content_block_delta:text_delta",
            "content_block_stop:",
            "message_delta:",
            "message_stop:",
        ]
    );
    assert_eq!(events[4]["delta"]["signature"], "sig1");
    assert_eq!(events[6]["content_block"]["data"], "enc");
    assert_eq!(events[8]["index"], 2, "blocks numbered in order");
}
