//! Answers: hub chat completions -> `response` objects, and their reasoning sent back.

use serde_json::{json, Value};
use sluice_providers::front::responses::{request_to_hub, response_from_hub, Echo};
use sluice_providers::TranslateError;

use crate::support::{fixture, fixture_json};

#[test]
fn golden_answer_with_thinking_text_and_tool_call() {
    let echo = Echo::read(&fixture("codex.request.json")).expect("reads");
    let got =
        response_from_hub(&fixture("thinking_tool.hub-response.json"), &echo).expect("translates");
    let got: Value = serde_json::from_slice(&got).expect("JSON");
    assert_eq!(got, fixture_json("thinking_tool.response.json"));
}

#[test]
fn reasoning_goes_back_to_the_hub_as_it_came() {
    let echo = Echo::read(&fixture("codex.request.json")).expect("reads");
    let hub_answer = fixture_json("thinking_tool.hub-response.json");
    let answer = response_from_hub(hub_answer.to_string().as_bytes(), &echo).expect("translates");
    let answer: Value = serde_json::from_slice(&answer).expect("JSON");
    // The client sends the whole output back as its next input, with the tool's result.
    let mut input = answer["output"].as_array().unwrap().clone();
    input.push(json!({"type": "function_call_output", "call_id": "toolu_01", "output": "a\nb"}));
    let req = request_to_hub(json!({"model": "m", "input": input}).to_string().as_bytes())
        .expect("translates");
    let sent = &hub_answer["choices"][0]["message"];
    let m = &req.messages[0];
    assert_eq!(m.role, "assistant");
    assert_eq!(
        json!(m.thinking_blocks),
        sent["thinking_blocks"],
        "signatures intact"
    );
    assert_eq!(json!(m.reasoning_content), sent["reasoning_content"]);
    assert_eq!(json!(m.tool_calls), sent["tool_calls"]);
    assert_eq!(json!(m.content), sent["content"]);
    assert_eq!(req.messages[1].tool_call_id.as_deref(), Some("toolu_01"));

    // Without `include`, no encrypted_content: the summary alone comes back, unsigned.
    let echo = Echo::read(br#"{"model":"m","input":"x"}"#).unwrap();
    let answer: Value = serde_json::from_slice(
        &response_from_hub(hub_answer.to_string().as_bytes(), &echo).unwrap(),
    )
    .unwrap();
    assert!(answer["output"][0].get("encrypted_content").is_none());
    let req = request_to_hub(
        json!({"model": "m", "input": answer["output"]})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(req.messages[0].thinking_blocks, None);
    assert_eq!(
        req.messages[0].reasoning_content,
        sent["reasoning_content"].as_str().map(str::to_string)
    );
}

#[test]
fn cut_and_filtered_answers_are_incomplete() {
    let echo = Echo::read(br#"{"model":"asked","input":"x"}"#).unwrap();
    let hub = json!({"id": "", "created": 5, "model": "",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Partial"}, "finish_reason": "length"}]});
    let got: Value =
        serde_json::from_slice(&response_from_hub(hub.to_string().as_bytes(), &echo).unwrap())
            .unwrap();
    assert_eq!(got["status"], "incomplete");
    assert_eq!(
        got["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    assert_eq!(got["output"][0]["status"], "incomplete");
    assert_eq!(
        got["model"], "asked",
        "the asked model when the hub names none"
    );
    assert!(
        got["id"].as_str().unwrap().len() > "resp_".len(),
        "a fresh id"
    );
    assert_eq!(got["usage"], Value::Null);
    let hub = json!({"id": "c", "choices": [{"index": 0, "message": {"role": "assistant", "content": null},
                     "finish_reason": "content_filter"}]});
    let got: Value =
        serde_json::from_slice(&response_from_hub(hub.to_string().as_bytes(), &echo).unwrap())
            .unwrap();
    assert_eq!(got["incomplete_details"]["reason"], "content_filter");
    assert_eq!(
        got["output"][0]["content"][0]["text"], "",
        "an empty answer is an empty message"
    );
    let err = response_from_hub(b"{}", &echo).unwrap_err();
    assert!(matches!(err, TranslateError::InvalidResponse(_)), "{err}");
}
