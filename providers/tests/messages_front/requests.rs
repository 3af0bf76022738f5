//! Messages requests translated to Chat Completions: system, parameters, tools, images,
//! refused fields and invalid bodies.

use serde_json::{json, Value};
use sluice_providers::front::messages::request_to_openai;
use sluice_providers::openai::{Content, Stop};
use sluice_providers::TranslateError;

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
