//! Request features: cache points, thinking for Claude (and not for other models), and
//! reasoning sent back.

use serde_json::{json, Value};
use sluice_providers::TranslateError;

use crate::support::{
    json_fixture, translate_json, translate_json_for, translate_request_fixture,
    translate_response_fixture, CLAUDE_4_5,
};

#[test]
fn cache_control_becomes_cache_points() {
    let (_, body) = translate_request_fixture("cache_and_thinking", CLAUDE_4_5);
    let body: Value = serde_json::from_slice(&body).unwrap();
    let point = json!({"cachePoint": {"type": "default"}});
    // System: the breakpoint stays after its own part, not after the joined text.
    assert_eq!(
        body["system"],
        json!([
            {"text": "You are a weather bot."},
            {"cachePoint": {"type": "default", "ttl": "1h"}},
            {"text": "Answer briefly."}
        ])
    );
    let user = &body["messages"][0]["content"];
    assert_eq!(user[1], point, "after the text part");
    assert_eq!(user[2]["image"]["format"], "png");
    assert_eq!(
        user[3],
        json!({"cachePoint": {"type": "default", "ttl": "5m"}}),
        "after the image"
    );
    let assistant = &body["messages"][1]["content"];
    assert_eq!(assistant[2], json!({"text": "Let me look."}));
    assert_eq!(assistant[3], point);
    let tool_result = &body["messages"][2]["content"];
    assert_eq!(tool_result[0]["toolResult"]["toolUseId"], "tooluse_1");
    assert_eq!(tool_result[1], point, "after the tool result");
    let tools = &body["toolConfig"]["tools"];
    assert_eq!(tools[0]["toolSpec"]["name"], "get_weather");
    assert_eq!(
        tools[1],
        json!({"cachePoint": {"type": "default", "ttl": "1h"}}),
        "after its tool"
    );
    // No breakpoint, no cache point.
    let body = translate_json(json!({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "hi"}]}]}))
    .unwrap();
    assert_eq!(body["messages"][0]["content"], json!([{"text": "hi"}]));
    // Only Anthropic's breakpoints exist.
    for control in [
        json!({"type": "ephemeral", "ttl": "2h"}),
        json!({"type": "persistent"}),
        json!("yes"),
    ] {
        let err = translate_json(json!({"messages": [{"role": "user", "content": [
            {"type": "text", "text": "hi", "cache_control": control}]}]}))
        .unwrap_err();
        assert!(
            matches!(&err, TranslateError::InvalidRequest(m) if m.contains("cache_control")),
            "{err:?}"
        );
    }
}

#[test]
fn thinking_goes_to_additional_fields_for_claude() {
    // The fixture: Anthropic's own thinking object, top_k, max_tokens under the budget.
    let (_, body) = translate_request_fixture("cache_and_thinking", CLAUDE_4_5);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        body["additionalModelRequestFields"],
        json!({"thinking": {"type": "enabled", "budget_tokens": 4000}, "top_k": 40})
    );
    assert_eq!(
        body["inferenceConfig"],
        json!({"maxTokens": 5000}),
        "room for the answer beyond the budget"
    );
    let user = json!({"role": "user", "content": "hi"});
    // reasoning_effort on a budget model: the effort table's budget.
    let body = translate_json_for(
        json!({"messages": [user], "reasoning_effort": "high"}),
        CLAUDE_4_5,
    )
    .unwrap();
    assert_eq!(
        body["additionalModelRequestFields"],
        json!({"thinking": {"type": "enabled", "budget_tokens": 16384}})
    );
    assert_eq!(body["inferenceConfig"]["maxTokens"], 16384 + 4096);
    // On a model that takes only adaptive thinking: adaptive, with the effort.
    let body = translate_json_for(
        json!({"messages": [user], "reasoning_effort": "medium", "max_tokens": 2000}),
        "global.anthropic.claude-opus-4-6-v1",
    )
    .unwrap();
    assert_eq!(
        body["additionalModelRequestFields"],
        json!({"thinking": {"type": "adaptive"}, "output_config": {"effort": "medium"}})
    );
    assert_eq!(body["inferenceConfig"]["maxTokens"], 2000);
    // Off: thinking disabled, and no limit the client did not set.
    let body = translate_json_for(
        json!({"messages": [user], "reasoning_effort": "none"}),
        CLAUDE_4_5,
    )
    .unwrap();
    assert_eq!(
        body["additionalModelRequestFields"],
        json!({"thinking": {"type": "disabled"}})
    );
    assert_eq!(body.get("inferenceConfig"), None);
    // Nothing asked: nothing added.
    let body = translate_json_for(json!({"messages": [user]}), CLAUDE_4_5).unwrap();
    assert_eq!(body.get("additionalModelRequestFields"), None);
}

#[test]
fn other_models_ignore_thinking_and_refuse_top_k() {
    let user = json!({"role": "user", "content": "hi"});
    let body = translate_json(json!({
        "messages": [user],
        "reasoning_effort": "high",
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "max_tokens": 100
    }))
    .unwrap();
    assert_eq!(body.get("additionalModelRequestFields"), None);
    assert_eq!(body["inferenceConfig"], json!({"maxTokens": 100}));
    let err = translate_json(json!({"messages": [user], "top_k": 5})).unwrap_err();
    assert!(err.to_string().contains("`top_k`"), "{err}");
}

#[test]
fn reasoning_round_trips() {
    // The answer's thinking, sent back with the assistant message, becomes the same blocks.
    let answer = json_fixture("reasoning.bedrock-response.json");
    let completion = translate_response_fixture("reasoning");
    let message: Value =
        serde_json::from_slice::<Value>(&completion.body).unwrap()["choices"][0]["message"].clone();
    assert_eq!(message["reasoning_content"], "Paris first, then the tool.");
    assert_eq!(completion.texts, vec!["It is 18 degrees in Paris."]);
    let body = translate_json_for(
        json!({"messages": [
            {"role": "user", "content": "Weather?"},
            message,
            {"role": "user", "content": "And tomorrow?"}
        ]}),
        CLAUDE_4_5,
    )
    .unwrap();
    assert_eq!(
        body["messages"][1]["content"],
        answer["output"]["message"]["content"]
    );
}
