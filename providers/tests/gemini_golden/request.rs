//! Requests: OpenAI chat requests -> Gemini bodies and paths, thinking config, and refusals.

use serde_json::{json, Value};
use sluice_providers::gemini;
use sluice_providers::{RequestTarget, TranslateError};

use crate::common::{assert_json_eq, model_target, translate_json_request, translate_raw_request};
use crate::support::{fixture, json_fixture, translate_response_fixture, REQUEST_CASES};

fn translate_request_fixture(case: &str, model: &str, version: Option<&str>) -> (String, Vec<u8>) {
    let raw = fixture(&format!("{case}.request.json"));
    let target = RequestTarget {
        api_version: version,
        ..model_target(model)
    };
    translate_raw_request(gemini::translate_request, case, &raw, &target)
}

#[test]
fn request_goldens() {
    for &(case, model, version, path) in REQUEST_CASES {
        let (got_path, body) = translate_request_fixture(case, model, version);
        assert_eq!(got_path, path, "{case}: path");
        let got: Value = serde_json::from_slice(&body).expect("body is JSON");
        let want = json_fixture(&format!("{case}.upstream.json"));
        assert_json_eq(&format!("{case}: body"), &got, &want);
    }
}

#[test]
fn seed_request_is_byte_exact() {
    let (path, body) =
        translate_request_fixture("basic", "gemini-1.5-flash-latest", Some("v1beta"));
    assert_eq!(
        path,
        "/v1beta/models/gemini-1.5-flash-latest:generateContent"
    );
    assert_eq!(
        String::from_utf8(body).unwrap(),
        r#"{"contents":[{"role":"user","parts":[{"text":"Explain how AI works in simple terms."}]}]}"#
    );
}

#[test]
fn floats_stay_as_sent() {
    let (_, body) = translate_request_fixture("system_and_params", "gemini-2.0-flash", None);
    let body = String::from_utf8(body).unwrap();
    for expected in [
        r#""temperature":0.2"#,
        r#""topP":0.95"#,
        r#""presencePenalty":0.5"#,
        r#""frequencyPenalty":-0.25"#,
    ] {
        assert!(body.contains(expected), "{expected} missing in {body}");
    }
}

fn translate_json(req: Value, model: &str) -> Result<Value, TranslateError> {
    translate_json_request(gemini::translate_request, req, model)
}

#[test]
fn tool_choice_modes() {
    for (choice, config) in [
        (json!("none"), json!({"mode": "NONE"})),
        (json!("required"), json!({"mode": "ANY"})),
        (json!("auto"), json!({"mode": "AUTO"})),
    ] {
        let body = translate_json(
            json!({"messages": [{"role": "user", "content": "hi"}], "tool_choice": choice}),
            "gemini-2.0-flash",
        )
        .unwrap();
        assert_eq!(body["toolConfig"]["functionCallingConfig"], config);
    }
}

#[test]
fn invalid_requests_are_refused() {
    let user = json!({"role": "user", "content": "hi"});
    type Check = fn(&TranslateError) -> bool;
    let cases: Vec<(Value, &str, Check)> = vec![
        (json!({"messages": [user]}), "../../v1/files?key=x", |e| {
            matches!(e, TranslateError::InvalidRequest(_))
        }),
        (json!({"messages": [user]}), "", |e| {
            matches!(e, TranslateError::InvalidRequest(_))
        }),
        (
            json!({"messages": [{"role": "wizard", "content": "hi"}]}),
            "gemini-2.0-flash",
            |e| matches!(e, TranslateError::InvalidRequest(_)),
        ),
        (
            json!({"messages": [user, {"role": "tool", "tool_call_id": "call_9", "content": "x"}]}),
            "gemini-2.0-flash",
            |e| matches!(e, TranslateError::InvalidRequest(_)),
        ),
        (
            json!({"messages": [user, {"role": "assistant", "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}]}),
            "gemini-2.0-flash",
            |e| matches!(e, TranslateError::InvalidRequest(_)),
        ),
        (
            json!({"messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "ftp://example.com/a.png"}}]}]}),
            "gemini-2.0-flash",
            |e| matches!(e, TranslateError::Unsupported(_)),
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "video", "video": {}}]}]}),
            "gemini-2.0-flash",
            |e| matches!(e, TranslateError::Unsupported(_)),
        ),
        (
            json!({"messages": [user], "response_format": {"type": "yaml"}}),
            "gemini-2.0-flash",
            |e| matches!(e, TranslateError::Unsupported(_)),
        ),
    ];
    for (req, model, check) in cases {
        let err = translate_json(req.clone(), model).expect_err(&format!("{req} accepted"));
        assert!(check(&err), "{req}: unexpected error {err:?}");
    }
}

#[test]
fn thinking_config_by_model() {
    let user = json!({"role": "user", "content": "hi"});
    let config = |extra: Value, model: &str| {
        let mut req = json!({"messages": [user]});
        for (k, v) in extra.as_object().unwrap() {
            req[k] = v.clone();
        }
        let body = translate_json(req, model).unwrap();
        body["generationConfig"]["thinkingConfig"].clone()
    };
    let cases = [
        // reasoning_effort: a budget before Gemini 3, a level from it.
        (
            json!({"reasoning_effort": "low"}),
            "gemini-2.5-flash",
            json!({"includeThoughts": true, "thinkingBudget": 2048}),
        ),
        (
            json!({"reasoning_effort": "high"}),
            "gemini-2.5-pro",
            json!({"includeThoughts": true, "thinkingBudget": 16384}),
        ),
        (
            json!({"reasoning_effort": "medium"}),
            "gemini-3-pro-preview",
            json!({"includeThoughts": true, "thinkingLevel": "high"}),
        ),
        (
            json!({"reasoning_effort": "minimal"}),
            "gemini-3-pro-preview",
            json!({"includeThoughts": true, "thinkingLevel": "low"}),
        ),
        // Anthropic's thinking object: the budget as it is, or the level it amounts to.
        (
            json!({"thinking": {"type": "enabled", "budget_tokens": 5000}}),
            "gemini-2.5-flash",
            json!({"includeThoughts": true, "thinkingBudget": 5000}),
        ),
        (
            json!({"thinking": {"type": "enabled", "budget_tokens": 5000}}),
            "gemini-3-pro-preview",
            json!({"includeThoughts": true, "thinkingLevel": "low"}),
        ),
        (
            json!({"thinking": {"type": "enabled", "budget_tokens": 20000}}),
            "gemini-3-flash-preview",
            json!({"includeThoughts": true, "thinkingLevel": "high"}),
        ),
        (
            json!({"thinking": {"type": "adaptive"}}),
            "gemini-2.5-flash",
            json!({"includeThoughts": true, "thinkingBudget": -1}),
        ),
        (
            json!({"thinking": {"type": "adaptive"}}),
            "gemini-3-pro-preview",
            json!({"includeThoughts": true}),
        ),
        (
            json!({"thinking": {"type": "adaptive"}, "reasoning_effort": "low"}),
            "gemini-3-pro-preview",
            json!({"includeThoughts": true, "thinkingLevel": "low"}),
        ),
        // Off: no thinking where it can be turned off, the least where it cannot.
        (
            json!({"thinking": {"type": "disabled"}}),
            "gemini-2.5-flash",
            json!({"includeThoughts": false, "thinkingBudget": 0}),
        ),
        (
            json!({"reasoning_effort": "none"}),
            "gemini-3-pro-preview",
            json!({"includeThoughts": false, "thinkingLevel": "low"}),
        ),
        (json!({}), "gemini-2.5-flash", Value::Null),
    ];
    for (extra, model, want) in cases {
        let got = config(extra.clone(), model);
        assert_eq!(got, want, "{extra} on {model}");
        assert!(
            got.get("thinkingBudget").is_none() || got.get("thinkingLevel").is_none(),
            "never both: {got}"
        );
    }
    let err = translate_json(
        json!({"messages": [user], "reasoning_effort": "enormous"}),
        "gemini-2.5-flash",
    )
    .unwrap_err();
    assert!(err.to_string().contains("reasoning_effort"), "{err}");
}

#[test]
fn thought_signature_comes_back_from_thinking_blocks() {
    // The answer's message, sent back by a client that keeps thinking blocks but not the
    // tool call ids' signatures.
    let completion = translate_response_fixture("tool_calls");
    let mut message: Value =
        serde_json::from_slice::<Value>(&completion.body).unwrap()["choices"][0]["message"].clone();
    message["tool_calls"][0]["id"] = json!("call_0");
    let body = translate_json(
        json!({"messages": [
            {"role": "user", "content": "Weather in Paris and Tokyo?"},
            message,
            {"role": "tool", "tool_call_id": "call_0", "content": "18"},
            {"role": "tool", "tool_call_id": "call_1", "content": "22"}
        ]}),
        "gemini-3-pro-preview",
    )
    .unwrap();
    let parts = &body["contents"][1]["parts"];
    assert_eq!(parts[0]["thoughtSignature"], "CiIBVKhc7vB1bXs=");
    assert_eq!(parts[0]["functionCall"]["name"], "get_weather");
    assert_eq!(
        parts[1].get("thoughtSignature"),
        None,
        "only the first call"
    );
    assert_eq!(
        parts.as_array().unwrap().len(),
        2,
        "no thought text sent back"
    );
}

#[test]
fn refusals_name_the_field() {
    let user = json!({"role": "user", "content": "hi"});
    for (field, value) in [
        ("parallel_tool_calls", json!(false)),
        ("logprobs", json!(true)),
        ("logit_bias", json!({"50256": -100})),
        ("audio", json!({"voice": "alloy", "format": "mp3"})),
    ] {
        let mut req = json!({"messages": [user]});
        req[field] = value;
        let err = translate_json(req, "gemini-2.5-flash").unwrap_err();
        assert!(
            matches!(&err, TranslateError::Unsupported(m)
                if m.contains(&format!("`{field}`")) && m.contains("Gemini")),
            "{field}: {err:?}"
        );
    }
    let err = translate_json(
        json!({"messages": [
            user,
            {"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "snap", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c", "content": [
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}
        ]}),
        "gemini-2.5-flash",
    )
    .unwrap_err();
    assert!(err.to_string().contains("tool result"), "{err}");
    // What cannot change the answer passes, and is not sent.
    let body = translate_json(
        json!({
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]}],
            "user": "u-1", "store": true, "metadata": {"k": "v"}, "service_tier": "auto",
            "prompt_cache_key": "k", "prompt_cache_retention": "24h", "safety_identifier": "s",
            "parallel_tool_calls": true, "logprobs": false
        }),
        "gemini-2.5-flash",
    )
    .unwrap();
    assert_eq!(
        body,
        json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
    );
}
