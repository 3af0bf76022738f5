//! The Anthropic Messages front door: request, response, stream and error translation.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sluice_providers::front::messages::{
    error_from_openai, request_to_openai, response_from_openai, AnthropicStream,
};
use sluice_providers::openai::{Content, Stop};
use sluice_providers::sse::SseParser;
use sluice_providers::{StreamTranslator, TranslateError};

fn req_json(body: Value) -> Value {
    let req = request_to_openai(body.to_string().as_bytes()).expect("translates");
    serde_json::to_value(&req).expect("serialises")
}

#[test]
fn request_system_string_and_blocks() {
    let v = req_json(json!({
        "model": "claude-x", "max_tokens": 100, "system": "be brief",
        "messages": [{"role": "user", "content": "hi"}]
    }));
    assert_eq!(
        v,
        json!({
            "model": "claude-x", "max_tokens": 100,
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "hi"}
            ]
        })
    );
    let v = req_json(json!({
        "model": "m", "max_tokens": 1,
        "system": [{"type": "text", "text": "a", "cache_control": {"type": "ephemeral"}},
                   {"type": "text", "text": "b"}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    }));
    assert_eq!(
        v["messages"][0],
        json!({"role": "system", "content": [
            {"type": "text", "text": "a", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "b"}
        ]}),
        "the breakpoint stays on its block"
    );
    assert_eq!(v["messages"][1], json!({"role": "user", "content": "hi"}));
}

#[test]
fn request_params_tools_and_choice() {
    let v = req_json(json!({
        "model": "m", "max_tokens": 256, "temperature": 0.5, "top_p": 0.9, "top_k": 5,
        "stop_sequences": ["END", "STOP"], "stream": true,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "metadata": {"user_id": "u-1"},
        "tools": [{"name": "get_weather", "description": "Weather",
                   "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
        "tool_choice": {"type": "tool", "name": "get_weather"},
        "messages": [{"role": "user", "content": "weather?"}]
    }));
    assert_eq!(
        v,
        json!({
            "model": "m", "max_tokens": 256, "temperature": 0.5, "top_p": 0.9,
            "stop": ["END", "STOP"], "stream": true,
            "stream_options": {"include_usage": true},
            "user": "u-1",
            "tools": [{"type": "function", "function": {
                "name": "get_weather", "description": "Weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "messages": [{"role": "user", "content": "weather?"}]
        })
    );
    for (choice, want) in [
        (json!({"type": "auto"}), json!("auto")),
        (json!({"type": "any"}), json!("required")),
        (json!({"type": "none"}), json!("none")),
    ] {
        let v = req_json(json!({
            "model": "m", "max_tokens": 1, "tool_choice": choice,
            "tools": [{"name": "f", "input_schema": {"type": "object"}}],
            "messages": [{"role": "user", "content": "x"}]
        }));
        assert_eq!(v["tool_choice"], want);
        let v = req_json(json!({
            "model": "m", "max_tokens": 1, "tool_choice": choice,
            "messages": [{"role": "user", "content": "x"}]
        }));
        assert!(
            v.get("tool_choice").is_none(),
            "no tools, no choice to make"
        );
    }
    let req = request_to_openai(
        json!({"model": "m", "max_tokens": 1, "stop_sequences": ["a"],
               "messages": [{"role": "user", "content": "x"}]})
        .to_string()
        .as_bytes(),
    )
    .expect("ok");
    assert_eq!(req.stop, Some(Stop::Many(vec!["a".to_string()])));
    assert!(!req.stream);
    assert!(req.stream_options.is_none());
}

#[test]
fn request_tool_use_and_tool_result_round_trip() {
    let v = req_json(json!({
        "model": "m", "max_tokens": 100,
        "messages": [
            {"role": "user", "content": "weather in Paris and Rome?"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "s"},
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                {"type": "tool_result", "tool_use_id": "toolu_2",
                 "content": [{"type": "text", "text": "rain"}, {"type": "text", "text": "cold"}]},
                {"type": "text", "text": "thanks"}
            ]}
        ]
    }));
    assert_eq!(
        v["messages"],
        json!([
            {"role": "user", "content": "weather in Paris and Rome?"},
            {"role": "assistant", "content": "Checking.", "tool_calls": [
                {"id": "toolu_1", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "toolu_2", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"},
            {"role": "tool", "tool_call_id": "toolu_2", "content": "rain\ncold"},
            {"role": "user", "content": "thanks"}
        ])
    );
}

#[test]
fn request_images() {
    let req = request_to_openai(
        json!({
            "model": "m", "max_tokens": 10,
            "messages": [{"role": "user", "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
                {"type": "image", "source": {"type": "url", "url": "https://x/y.jpg"}},
                {"type": "text", "text": "what is this?"}
            ]}]
        })
        .to_string()
        .as_bytes(),
    )
    .expect("ok");
    let Some(Content::Parts(parts)) = &req.messages[0].content else {
        panic!("expected parts");
    };
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[0].kind, "image_url");
    assert_eq!(
        parts[0].image_url.as_ref().map(|u| u.url.as_str()),
        Some("data:image/png;base64,AAAA")
    );
    assert_eq!(
        parts[1].image_url.as_ref().map(|u| u.url.as_str()),
        Some("https://x/y.jpg")
    );
    assert_eq!(parts[2].text.as_deref(), Some("what is this?"));
}

#[test]
fn request_errors_are_invalid_request() {
    for body in [
        "not json".to_string(),
        json!([1, 2]).to_string(),
        json!({"model": "m"}).to_string(),
        json!({"model": "m", "messages": [{"role": "user", "content": 5}]}).to_string(),
        json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "tool_use", "id": "a", "name": "b", "input": {}}]}]})
        .to_string(),
        json!({"model": "m", "messages": [], "max_tokens": "many"}).to_string(),
    ] {
        match request_to_openai(body.as_bytes()) {
            Err(TranslateError::InvalidRequest(msg)) => assert!(!msg.is_empty()),
            other => panic!("{body}: expected InvalidRequest, got {other:?}"),
        }
    }
}

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
fn error_mapping() {
    let cases = [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
        (413, "request_too_large"),
        (429, "rate_limit_error"),
        (529, "overloaded_error"),
        (500, "api_error"),
        (502, "api_error"),
    ];
    for (status, kind) in cases {
        let body = json!({"error": {"message": "boom", "type": "x", "param": null, "code": null}});
        let out = error_from_openai(status, body.to_string().as_bytes());
        let v: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(
            v,
            json!({"type": "error", "error": {"type": kind, "message": "boom"}})
        );
    }
    let v: Value =
        serde_json::from_slice(&error_from_openai(502, b"  Bad Gateway \n")).expect("json");
    assert_eq!(v["error"]["message"], "Bad Gateway");
    let v: Value = serde_json::from_slice(&error_from_openai(503, b"")).expect("json");
    assert_eq!(v["error"]["message"], "upstream returned status 503");
    assert_eq!(v["error"]["type"], "api_error");
}

// ------------------------------------------------------------------------------------------
// Streams

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
        let mut rest = input.as_bytes();
        while !rest.is_empty() {
            let n = rng.random_range(1..=rest.len().min(40));
            let (head, tail) = rest.split_at(n);
            s.feed(head, &mut out).expect("feeds");
            rest = tail;
        }
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
fn request_parallel_switch_and_plain_turns() {
    let v = req_json(json!({
        "model": "m", "max_tokens": 5,
        "tools": [{"name": "f", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
        "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "t1", "is_error": true}]},
            {"role": "assistant", "content": "done"}
        ]
    }));
    assert_eq!(v["tool_choice"], "auto");
    assert_eq!(v["parallel_tool_calls"], false);
    assert_eq!(
        v["messages"],
        json!([
            {"role": "user", "content": "go"},
            {"role": "assistant", "tool_calls": [
                {"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "t1", "content": "Error"},
            {"role": "assistant", "content": "done"}
        ])
    );
}

fn claude_code(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/claude_code/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

#[test]
fn claude_codes_first_request_crosses_with_everything_carried() {
    let req = request_to_openai(&claude_code("first_request.raw.json")).expect("translates");
    let roles: Vec<&str> = req.messages.iter().map(|m| m.role.as_str()).collect();
    assert_eq!(
        roles,
        ["system", "user", "system"],
        "the system turn keeps its place"
    );
    // The system prompt's breakpoints stay on their blocks.
    let Some(Content::Parts(system)) = &req.messages[0].content else {
        panic!("system as parts: {:?}", req.messages[0].content);
    };
    assert_eq!(system.len(), 3);
    assert!(system[0].extra.get("cache_control").is_none());
    assert_eq!(
        system[1].extra["cache_control"],
        json!({"type": "ephemeral"})
    );
    assert_eq!(
        system[2].extra["cache_control"],
        json!({"type": "ephemeral"})
    );
    let Some(Content::Parts(env)) = &req.messages[2].content else {
        panic!("system turn as parts");
    };
    assert_eq!(env[0].extra["cache_control"], json!({"type": "ephemeral"}));
    assert_eq!(
        req.thinking,
        Some(json!({"type": "adaptive", "display": "omitted"}))
    );
    assert_eq!(req.reasoning_effort.as_deref(), Some("medium"));
    assert_eq!(req.max_tokens, Some(128000));
    assert!(req.stream);
    let tools = req.tools.as_ref().expect("tools");
    assert_eq!(tools.len(), 12);
    assert!(tools.iter().any(|t| t.function.name == "Bash"));
    assert!(req.extra["user"]
        .as_str()
        .is_some_and(|u| u.contains("session_id")));
}

#[test]
fn claude_codes_tool_result_turn_keeps_thinking_and_breakpoints() {
    let req = request_to_openai(&claude_code("tool_result_request.raw.json")).expect("translates");
    let raw: Value = serde_json::from_slice(&claude_code("tool_result_request.raw.json")).unwrap();
    let thinking = &raw["messages"][2]["content"][0];
    let assistant = req
        .messages
        .iter()
        .find(|m| m.role == "assistant")
        .expect("assistant turn");
    assert_eq!(
        assistant.thinking_blocks.as_deref(),
        Some(&[thinking.clone()][..])
    );
    assert_eq!(
        assistant.reasoning_content.as_deref(),
        thinking["thinking"].as_str()
    );
    assert_eq!(assistant.tool_calls.as_ref().map(Vec::len), Some(1));
    let tool = req
        .messages
        .iter()
        .find(|m| m.role == "tool")
        .expect("tool result");
    let Some(Content::Parts(parts)) = &tool.content else {
        panic!("cached tool result as parts: {:?}", tool.content);
    };
    assert_eq!(
        parts.last().unwrap().extra["cache_control"],
        json!({"type": "ephemeral"})
    );
    assert_eq!(parts[0].text.as_deref(), Some("hello-from-tool"));
}

#[test]
fn fields_without_a_counterpart_are_refused_by_name() {
    for (extra, named) in [
        (json!({"mcp_servers": []}), "mcp_servers"),
        (json!({"container": "c1"}), "container"),
        (
            json!({"output_config": {"task_budget": {"type": "tokens", "total": 5}}}),
            "output_config.task_budget",
        ),
        (
            json!({"tools": [{"type": "web_search_20250305", "name": "w"}]}),
            "tools[0].type: web_search_20250305",
        ),
    ] {
        let mut body =
            json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let err = request_to_openai(body.to_string().as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("`{named}` has no counterpart")),
            "{err}"
        );
    }
    let err = request_to_openai(
        json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [
            {"type": "document", "source": {"type": "text", "data": "x"}}]}]})
        .to_string()
        .as_bytes(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("content block type `document`"), "{err}");
    // Ignored, documented: they cannot change the answer.
    let ok = request_to_openai(
        json!({"model": "m", "max_tokens": 5, "service_tier": "auto", "speed": "fast",
               "context_management": {"edits": []}, "cache_control": {"type": "ephemeral"},
               "messages": [{"role": "user", "content": "x"}]})
        .to_string()
        .as_bytes(),
    );
    assert!(ok.is_ok(), "{ok:?}");
}

#[test]
fn structured_output_and_message_level_effort_are_mapped() {
    let req = request_to_openai(
        json!({"model": "m", "max_tokens": 5,
               "output_config": {"effort": "low", "format": {"type": "json_schema", "schema": {"type": "object"}}},
               "messages": [{"role": "user", "content": "x"},
                            {"role": "system", "content": "y", "output_config": {"effort": "high"}}]})
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(
        req.reasoning_effort.as_deref(),
        Some("high"),
        "the latest turn's effort wins"
    );
    assert_eq!(
        req.response_format,
        Some(
            json!({"type": "json_schema", "json_schema": {"name": "output", "schema": {"type": "object"}, "strict": true}})
        )
    );
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
