//! Request translation: goldens, exact bytes, tool choice and results, and the requests
//! and fields refused.

use serde_json::{json, Value};
use sluice_providers::anthropic;
use sluice_providers::openai::ChatRequest;
use sluice_providers::TranslateError;

use crate::common::{assert_json_eq, model_target};
use crate::support::{json_fixture, translate_json, translate_request_fixture, REQUEST_CASES};

#[test]
fn request_goldens() {
    for &(case, model) in REQUEST_CASES {
        let (path, body) = translate_request_fixture(case, model);
        assert_eq!(path, "/v1/messages", "{case}: path");
        let got: Value = serde_json::from_slice(&body).expect("body is JSON");
        assert_json_eq(case, &got, &json_fixture(&format!("{case}.upstream.json")));
    }
}

#[test]
fn basic_request_is_byte_exact() {
    let (_, body) = translate_request_fixture("basic", "claude-sonnet-4-5-20250929");
    assert_eq!(
        String::from_utf8(body).unwrap(),
        r#"{"model":"claude-sonnet-4-5-20250929","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"Explain how AI works in simple terms."}]}]}"#
    );
    assert_eq!(anthropic::DEFAULT_MAX_TOKENS, 4096);
    assert_eq!(anthropic::ANTHROPIC_VERSION, "2023-06-01");
}

#[test]
fn floats_stay_as_sent() {
    let (_, body) = translate_request_fixture("system_and_params", "claude-opus-4-1");
    let body = String::from_utf8(body).unwrap();
    for expected in [r#""temperature":0.2"#, r#""top_p":0.95"#] {
        assert!(body.contains(expected), "{expected} missing in {body}");
    }
}

#[test]
fn tool_choice_goldens() {
    let cases = json_fixture("tool_choice.cases.json");
    for case in cases.as_array().expect("a list of cases") {
        let mut req = json!({
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {"name": "get_weather"}}],
        });
        for key in ["tool_choice", "parallel_tool_calls"] {
            if let Some(v) = case.get(key) {
                req[key] = v.clone();
            }
        }
        let body = translate_json(req).unwrap_or_else(|e| panic!("{case}: {e}"));
        let got = body.get("tool_choice").cloned().unwrap_or(Value::Null);
        assert_json_eq(&case.to_string(), &got, &case["expected"]);
    }
    // Without tools no tool_choice is sent (Anthropic refuses one).
    let body = translate_json(json!({
        "messages": [{"role": "user", "content": "hi"}], "tool_choice": "none"
    }))
    .unwrap();
    assert!(body.get("tool_choice").is_none() && body.get("tools").is_none());
}

#[test]
fn tool_results_alternate_with_assistant_turns() {
    let (_, body) = translate_request_fixture("tools", "claude-sonnet-4-5");
    let body: Value = serde_json::from_slice(&body).unwrap();
    let roles: Vec<&str> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user"]);
    // A user text sent before the tool results still leaves the results first.
    let body = translate_json(json!({"messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "tool_calls": [
            {"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]},
        {"role": "user", "content": "also this"},
        {"role": "tool", "tool_call_id": "t1", "content": "r"},
    ]}))
    .unwrap();
    assert_eq!(
        body["messages"][2]["content"],
        json!([
            {"type": "tool_result", "tool_use_id": "t1", "content": "r"},
            {"type": "text", "text": "also this"}
        ])
    );
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
            json!({"messages": [user], "tools": [{"type": "function", "function": {"name": "f"}}],
                "tool_choice": "sometimes"}),
            invalid,
        ),
        (
            json!({"messages": [user], "tools": [{"type": "function", "function": {"name": "f"}}],
                "tool_choice": 3}),
            invalid,
        ),
        (
            json!({"messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "ftp://example.com/a.png"}}]}]}),
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
        (
            json!({"messages": [{"role": "system", "content": [
            {"type": "image_url", "image_url": {"url": "https://x/a.png"}}]}, user]}),
            unsupported,
        ),
        (json!({"messages": [user], "n": 2}), unsupported),
        (
            json!({"messages": [user], "response_format": {"type": "json_object"}}),
            unsupported,
        ),
        (
            json!({"messages": [user], "tools": [{"type": "web_search", "function": {"name": "f"}}]}),
            unsupported,
        ),
    ];
    for (req, check) in cases {
        let err = translate_json(req.clone()).expect_err(&format!("{req} accepted"));
        assert!(check(&err), "{req}: unexpected error {err:?}");
    }
    let req = ChatRequest::parse(br#"{"messages":[{"role":"user","content":"hi"}]}"#).unwrap();
    let target = model_target("");
    assert!(matches!(
        anthropic::translate_request(&req, &target),
        Err(TranslateError::InvalidRequest(_))
    ));
}

/// Fields Anthropic has no counterpart for are refused with a 400 naming them.
#[test]
fn refusals_name_the_field() {
    let user = json!({"role": "user", "content": "hi"});
    let tool = json!({"type": "function", "function": {"name": "f"}});
    let cases: Vec<(Value, &str)> = vec![
        (json!({"logit_bias": {"50256": -100}}), "`logit_bias`"),
        (json!({"frequency_penalty": 0.5}), "`frequency_penalty`"),
        (json!({"presence_penalty": -1.0}), "`presence_penalty`"),
        (json!({"n": 3}), "`n`"),
        (
            json!({"response_format": {"type": "json_object"}}),
            "`response_format.type: json_object`",
        ),
        (
            json!({"response_format": {"type": "json_schema", "json_schema": {"schema": {}, "description": "d"}}}),
            "`response_format.json_schema.description`",
        ),
        (json!({"logprobs": true}), "`logprobs`"),
        (json!({"top_logprobs": 3}), "`top_logprobs`"),
        (
            json!({"audio": {"voice": "alloy", "format": "wav"}}),
            "`audio`",
        ),
        (json!({"modalities": ["text", "audio"]}), "`modalities`"),
        (
            json!({"prediction": {"type": "content", "content": "x"}}),
            "`prediction`",
        ),
        (json!({"functions": [{"name": "f"}]}), "`functions`"),
        (json!({"verbosity": "low"}), "`verbosity`"),
        (
            json!({"tools": [{"type": "function", "function": {"name": "f"}, "defer": true}]}),
            "`tools[0].defer`",
        ),
        (
            json!({"tools": [tool, {"type": "function", "function": {"name": "g", "examples": []}}]}),
            "`tools[1].function.examples`",
        ),
    ];
    for (fields, name) in cases {
        let mut req = json!({"messages": [user]});
        for (k, v) in fields.as_object().unwrap() {
            req[k] = v.clone();
        }
        let err = translate_json(req.clone()).expect_err(&format!("{req} accepted"));
        assert!(
            matches!(err, TranslateError::Unsupported(_)),
            "{req}: {err:?}"
        );
        let message = err.to_string();
        assert!(message.contains(name), "{name} not named in: {message}");
        assert!(message.contains("Anthropic Messages"), "{message}");
    }
}

/// Fields whose loss cannot change the answer, and values that ask for nothing, pass.
#[test]
fn fields_that_cannot_change_the_answer_are_accepted() {
    let body = translate_json(json!({
        "messages": [{"role": "user", "content": "hi", "name": "alice"}],
        "presence_penalty": 0, "frequency_penalty": 0.0, "seed": 1, "n": 1,
        "store": true, "metadata": {"k": "v"}, "service_tier": "auto",
        "prompt_cache_key": "k", "prompt_cache_retention": "24h", "safety_identifier": "s",
        "logprobs": false, "top_logprobs": 0, "logit_bias": {}, "modalities": ["text"],
        "audio": null, "prediction": null, "user": "u1", "parallel_tool_calls": true,
        "stream_options": {"include_usage": true, "include_obfuscation": false},
    }))
    .unwrap();
    assert_eq!(body["metadata"], json!({"user_id": "u1"}));
    for gone in ["seed", "store", "service_tier", "logprobs", "n"] {
        assert_eq!(body.get(gone), None, "{gone}");
    }
}
