//! Request features: thinking blocks in the history, cache breakpoints, the system prompt,
//! reasoning effort and JSON-schema output.

use serde_json::{json, Value};
use sluice_providers::anthropic;
use sluice_providers::TranslateError;

use crate::common::translate_json_request;
use crate::support::{translate_json, translate_request_fixture};

fn translate_for(model: &str, req: Value) -> Result<Value, TranslateError> {
    translate_json_request(anthropic::translate_request, req, model)
}

#[test]
fn thinking_blocks_go_back_first_with_their_signatures() {
    let (_, body) = translate_request_fixture("thinking_history", "claude-sonnet-4-5");
    let body: Value = serde_json::from_slice(&body).unwrap();
    let first = &body["messages"][1]["content"];
    assert_eq!(first[0]["type"], "thinking");
    assert_eq!(
        first[0]["thinking"],
        "The user wants the weather. I should call the tool."
    );
    assert_eq!(first[0]["signature"], "EqQBCgIYAhIM1gbcDa9GJwZA2b3h");
    assert_eq!(
        first[1],
        json!({"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT"})
    );
    assert_eq!(first[2]["type"], "text");
    assert_eq!(first[3]["type"], "tool_use");
    // Gemini-signed, unsigned and data-less blocks, and reasoning_content alone: left out.
    for turn in [3, 5] {
        assert_eq!(
            body["messages"][turn]["content"].as_array().unwrap().len(),
            1,
            "{}",
            body["messages"][turn]
        );
        assert_eq!(body["messages"][turn]["content"][0]["type"], "text");
    }
    let text = body.to_string();
    for gone in [
        "sluice:gemini:",
        "Unsigned thinking.",
        "Only text, no signature.",
    ] {
        assert!(!text.contains(gone), "{gone} sent: {text}");
    }
    // The client's own thinking object goes as it is, max_tokens raised above its budget.
    assert_eq!(
        body["thinking"],
        json!({"type": "enabled", "budget_tokens": 2048})
    );
    assert_eq!(body["max_tokens"], 2048 + 1024);
}

#[test]
fn cache_control_reaches_system_parts_tools_and_tool_results() {
    let (_, body) = translate_request_fixture("cache_control", "claude-sonnet-4-5");
    let body: Value = serde_json::from_slice(&body).unwrap();
    let eph = json!({"type": "ephemeral"});
    // System as blocks, each with its own breakpoint (or none).
    assert_eq!(body["system"][0].get("cache_control"), None);
    assert_eq!(
        body["system"][1]["cache_control"],
        json!({"type": "ephemeral", "ttl": "1h"})
    );
    assert_eq!(body["system"][2]["text"], "Answer in French.");
    assert_eq!(body["messages"][0]["content"][1]["type"], "image");
    assert_eq!(body["messages"][0]["content"][1]["cache_control"], eph);
    let results = &body["messages"][2]["content"];
    assert_eq!(results[0]["content"][1]["cache_control"], eph);
    // A message's own cache_control goes on its (last) block.
    assert_eq!(results[1]["cache_control"], eph);
    // A breakpoint on an empty part moves to the block before it.
    assert_eq!(
        body["messages"][4]["content"],
        json!([{"type": "text", "text": "And tomorrow?", "cache_control": eph}])
    );
    assert_eq!(body["tools"][0]["cache_control"], eph);
    assert_eq!(body["tools"][0]["strict"], true);
    assert_eq!(body["top_k"], 40);
    // A message-level breakpoint on a tool message goes on its tool_result.
    let body = translate_json(json!({"messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "tool_calls": [
            {"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "t1", "content": "r", "cache_control": {"type": "ephemeral"}},
    ]}))
    .unwrap();
    assert_eq!(
        body["messages"][2]["content"][0],
        json!({"type": "tool_result", "tool_use_id": "t1", "content": "r", "cache_control": eph})
    );
}

#[test]
fn system_is_a_string_without_cache_control() {
    let body = translate_json(json!({"messages": [
        {"role": "system", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
        {"role": "user", "content": "hi"},
        {"role": "developer", "content": "c"},
    ]}))
    .unwrap();
    assert_eq!(body["system"], "a\nb\n\nc");
}

#[test]
fn reasoning_effort_becomes_thinking() {
    let req = |effort: &str| json!({"messages": [{"role": "user", "content": "hi"}], "reasoning_effort": effort});
    // Budget models: enabled with the effort's budget, max_tokens raised above it.
    let body = translate_for("claude-sonnet-4-5", req("high")).unwrap();
    assert_eq!(
        body["thinking"],
        json!({"type": "enabled", "budget_tokens": 16384})
    );
    assert_eq!(body["max_tokens"], 16384 + 4096);
    assert_eq!(body.get("output_config"), None);
    // Adaptive-only models: adaptive thinking and output_config.effort.
    let body = translate_for("claude-opus-4-6", req("low")).unwrap();
    assert_eq!(body["thinking"], json!({"type": "adaptive"}));
    assert_eq!(body["output_config"], json!({"effort": "low"}));
    assert_eq!(body["max_tokens"], 4096);
    let body = translate_for("claude-sonnet-4-5", req("none")).unwrap();
    assert_eq!(body["thinking"], json!({"type": "disabled"}));
    // Nothing asked, nothing sent.
    let body = translate_json(json!({"messages": [{"role": "user", "content": "hi"}]})).unwrap();
    assert_eq!(body.get("thinking"), None);
    let err = translate_json(req("enormous")).unwrap_err();
    assert!(err.to_string().contains("reasoning_effort"), "{err}");
}

#[test]
fn json_schema_becomes_output_config_format() {
    let schema = json!({"type": "object", "properties": {"a": {"type": "integer"}}});
    let body = translate_json(json!({
        "messages": [{"role": "user", "content": "hi"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "strict": true, "schema": schema}},
    }))
    .unwrap();
    assert_eq!(
        body["output_config"],
        json!({"format": {"type": "json_schema", "schema": schema}})
    );
    // With an effort: one output_config holding both.
    let body = translate_for(
        "claude-opus-4-6",
        json!({
            "messages": [{"role": "user", "content": "hi"}],
            "reasoning_effort": "medium",
            "response_format": {"type": "json_schema", "json_schema": {"schema": schema}},
        }),
    )
    .unwrap();
    assert_eq!(
        body["output_config"],
        json!({"effort": "medium", "format": {"type": "json_schema", "schema": schema}})
    );
    let body = translate_json(json!({
        "messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "text"},
    }))
    .unwrap();
    assert_eq!(body.get("output_config"), None);
    for bad in [
        json!({"type": "json_schema"}),
        json!({"type": "json_schema", "json_schema": {"name": "x"}}),
        json!({"json_schema": {"schema": {}}}),
    ] {
        let err = translate_json(json!({
            "messages": [{"role": "user", "content": "hi"}], "response_format": bad,
        }))
        .expect_err("accepted");
        assert!(
            matches!(err, TranslateError::InvalidRequest(_)),
            "{bad}: {err:?}"
        );
        assert!(err.to_string().contains("response_format"), "{err}");
    }
}
