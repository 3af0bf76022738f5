//! Request translation: goldens, exact bytes, tool choice, tool results, and the requests
//! and fields refused.

use serde_json::{json, Value};
use sluice_providers::bedrock;
use sluice_providers::openai::ChatRequest;
use sluice_providers::TranslateError;

use crate::common::{assert_json_eq, model_target};
use crate::support::{
    bless_json, json_fixture, translate_json, translate_request_fixture, REQUEST_CASES,
};

#[test]
fn request_goldens() {
    for &(case, model, path) in REQUEST_CASES {
        let (got_path, body) = translate_request_fixture(case, model);
        assert_eq!(got_path, path, "{case}: path");
        let got: Value = serde_json::from_slice(&body).expect("body is JSON");
        bless_json(&format!("{case}.upstream.json"), &got);
        let want = json_fixture(&format!("{case}.upstream.json"));
        assert_json_eq(&format!("{case}: body"), &got, &want);
    }
}

#[test]
fn basic_request_is_byte_exact() {
    let (_, body) = translate_request_fixture("basic", "amazon.nova-lite-v1:0");
    assert_eq!(
        String::from_utf8(body).unwrap(),
        r#"{"messages":[{"role":"user","content":[{"text":"Explain how AI works in simple terms."}]}]}"#
    );
}

#[test]
fn tool_choice_modes() {
    let tools = json!([{"type": "function", "function": {"name": "f"}}]);
    let user = json!({"role": "user", "content": "hi"});
    for (choice, want) in [
        (json!("auto"), json!({"auto": {}})),
        (json!("required"), json!({"any": {}})),
        (
            json!({"type": "function", "function": {"name": "f"}}),
            json!({"tool": {"name": "f"}}),
        ),
    ] {
        let body =
            translate_json(json!({"messages": [user], "tools": tools, "tool_choice": choice}))
                .unwrap();
        assert_eq!(body["toolConfig"]["toolChoice"], want);
        assert_eq!(
            body["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"],
            json!({"type": "object", "properties": {}})
        );
    }
    // "none": no tools, unless the conversation holds tool blocks (then no choice).
    let body =
        translate_json(json!({"messages": [user], "tools": tools, "tool_choice": "none"})).unwrap();
    assert_eq!(body.get("toolConfig"), None);
    let history = json!([
        user,
        {"role": "assistant", "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": ""}}]},
        {"role": "tool", "tool_call_id": "t1", "content": "ok"}
    ]);
    let body = translate_json(json!({"messages": history, "tools": tools, "tool_choice": "none"}))
        .unwrap();
    assert_eq!(body["toolConfig"].get("toolChoice"), None);
    assert_eq!(body["toolConfig"]["tools"][0]["toolSpec"]["name"], "f");
    assert_eq!(
        body["messages"][1]["content"][0]["toolUse"]["input"],
        json!({})
    );
    // No tools: no toolConfig whatever the choice.
    let body = translate_json(json!({"messages": [user], "tool_choice": "required"})).unwrap();
    assert_eq!(body.get("toolConfig"), None);
}

#[test]
fn invalid_requests_are_refused() {
    let user = json!({"role": "user", "content": "hi"});
    type Check = fn(&TranslateError) -> bool;
    let invalid: Check = |e| matches!(e, TranslateError::InvalidRequest(_));
    let unsupported: Check = |e| matches!(e, TranslateError::Unsupported(_));
    let cases: Vec<(Value, Check)> = vec![
        (
            json!({"messages": [{"role": "wizard", "content": "hi"}]}),
            invalid,
        ),
        (
            json!({"messages": [user, {"role": "tool", "content": "x"}]}),
            invalid,
        ),
        (
            json!({"messages": [user, {"role": "assistant", "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}]}),
            invalid,
        ),
        (
            json!({"messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}]}),
            unsupported,
        ),
        (
            json!({"messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "data:image/tiff;base64,AAAA"}}]}]}),
            unsupported,
        ),
        (
            json!({"messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "data:image/png,rawbytes"}}]}]}),
            unsupported,
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]}),
            unsupported,
        ),
        (json!({"messages": [user], "n": 2}), unsupported),
        (
            json!({"messages": [user], "response_format": {"type": "json_object"}}),
            unsupported,
        ),
        (
            json!({"messages": [user], "tools": [{"type": "retrieval", "function": {"name": "r"}}]}),
            unsupported,
        ),
        (
            json!({"messages": [user], "tool_choice": "sometimes"}),
            invalid,
        ),
    ];
    for (req, check) in cases {
        let err = translate_json(req.clone()).expect_err(&format!("{req} accepted"));
        assert!(check(&err), "{req}: unexpected error {err:?}");
    }
    let req = ChatRequest::parse(br#"{"messages":[{"role":"user","content":"hi"}]}"#).unwrap();
    let target = model_target("");
    assert!(matches!(
        bedrock::translate_request(&req, &target),
        Err(TranslateError::InvalidRequest(_))
    ));
}

#[test]
fn tool_results_carry_images() {
    let body = translate_json(json!({"messages": [
        {"role": "user", "content": "Take a picture."},
        {"role": "assistant", "tool_calls": [
            {"id": "t1", "type": "function", "function": {"name": "snap", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "t1", "content": [
            {"type": "text", "text": "Here it is."},
            {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}}]}
    ]}))
    .unwrap();
    assert_eq!(
        body["messages"][2]["content"],
        json!([{"toolResult": {"toolUseId": "t1", "content": [
            {"text": "Here it is."},
            {"image": {"format": "jpeg", "source": {"bytes": "/9j/4AAQ"}}}
        ]}}])
    );
}

#[test]
fn refusals_name_the_field() {
    let user = json!({"role": "user", "content": "hi"});
    for (field, value) in [
        ("presence_penalty", json!(0.5)),
        ("frequency_penalty", json!(-1.0)),
        ("parallel_tool_calls", json!(false)),
        ("logprobs", json!(true)),
        ("logit_bias", json!({"50256": -100})),
        ("top_logprobs", json!(2)),
        ("modalities", json!(["text", "audio"])),
    ] {
        let mut req = json!({"messages": [user]});
        req[field] = value;
        let err = translate_json(req).unwrap_err();
        assert!(
            matches!(&err, TranslateError::Unsupported(m)
                if m.contains(&format!("`{field}`")) && m.contains("Bedrock Converse")),
            "{field}: {err:?}"
        );
    }
    // What cannot change the answer passes, and is not sent.
    let body = translate_json(json!({
        "messages": [user],
        "seed": 1, "user": "u-1", "store": true, "metadata": {"k": "v"},
        "service_tier": "auto", "prompt_cache_key": "k", "prompt_cache_retention": "24h",
        "safety_identifier": "s", "parallel_tool_calls": true, "logprobs": false,
        "presence_penalty": 0, "frequency_penalty": 0.0
    }))
    .unwrap();
    assert_eq!(
        body,
        json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]})
    );
}
