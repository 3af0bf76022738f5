//! Response translation: goldens, facts, thinking blocks and invalid responses.

use serde_json::{json, Value};
use sluice_providers::anthropic;
use sluice_providers::{ToolCallFact, TranslateError, Usage};

use crate::common::assert_normalized_eq;
use crate::support::{fixture, json_fixture, response_target, RESPONSE_CASES, TARGET_MODEL};

fn translate_response_fixture(case: &str) -> sluice_providers::Completion {
    let body = fixture(&format!("{case}.anthropic-response.json"));
    anthropic::translate_response(&body, &response_target(false))
        .unwrap_or_else(|e| panic!("{case}: {e}"))
}

#[test]
fn response_goldens() {
    for &case in RESPONSE_CASES {
        let completion = translate_response_fixture(case);
        let got: Value = serde_json::from_slice(&completion.body).expect("body is JSON");
        let want = json_fixture(&format!("{case}.openai-response.json"));
        assert_normalized_eq(case, got, want);
    }
}

#[test]
fn response_facts() {
    let c = translate_response_fixture("tool_calls");
    assert_eq!(
        c.response_model.as_deref(),
        Some("claude-opus-4-1-20250805")
    );
    assert_eq!(c.finish_reasons, vec!["tool_calls"]);
    assert_eq!(c.texts, vec!["Checking both cities."]);
    assert_eq!(
        c.usage,
        Usage {
            input_tokens: Some(370),
            output_tokens: Some(90),
            total_tokens: Some(460),
            cached_input_tokens: Some(300),
            reasoning_tokens: None,
            estimated: false,
            cache_creation_input_tokens: Some(20),
            cache_write_1h_tokens: None,
        }
    );
    assert_eq!(
        c.tool_calls,
        vec![
            ToolCallFact {
                id: "toolu_01A09q90qw90lq917835lq9".into(),
                name: "get_weather".into(),
                arguments: r#"{"city":"Paris"}"#.into(),
            },
            ToolCallFact {
                id: "toolu_01B".into(),
                name: "get_weather".into(),
                arguments: r#"{"city":"Tokyo","unit":"celsius"}"#.into(),
            },
        ]
    );
    let c = translate_response_fixture("max_tokens");
    assert_eq!(c.response_model.as_deref(), Some(TARGET_MODEL));
    assert_eq!(c.finish_reasons, vec!["length"]);
    assert_eq!(c.usage.total(), Some(13));
}

#[test]
fn thinking_becomes_reasoning_content_and_thinking_blocks() {
    let c = translate_response_fixture("thinking");
    let body: Value = serde_json::from_slice(&c.body).unwrap();
    let message = &body["choices"][0]["message"];
    assert_eq!(
        message["reasoning_content"],
        "Primes: suppose finitely many, multiply them and add one."
    );
    let blocks = message["thinking_blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), 3);
    assert_eq!(blocks[0]["signature"], "EqQBCgIYAhIM1gbcDa9GJwZA2b3h");
    assert_eq!(blocks[1]["type"], "redacted_thinking");
    assert_eq!(blocks[1]["data"], "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT");
    assert_eq!(blocks[2]["thinking"], "multiply them and add one.");
    assert_eq!(blocks[2]["signature"], "ErUBCkYIBRgCIkA");
    // The answer is the text only.
    assert_eq!(
        c.texts,
        vec!["Assume finitely many primes; their product plus one has a prime factor not among them."]
    );
    // Cache writes count as prompt tokens and are reported as such.
    assert_eq!(body["usage"]["prompt_tokens"], 1020);
    assert_eq!(
        body["usage"]["prompt_tokens_details"],
        json!({"cached_tokens": 0, "cache_write_tokens": 1000})
    );
    assert_eq!(c.usage.cache_creation_input_tokens, Some(1000));
    // Without thinking, neither field appears.
    let c = translate_response_fixture("basic");
    let body: Value = serde_json::from_slice(&c.body).unwrap();
    let message = body["choices"][0]["message"].as_object().unwrap();
    assert!(!message.contains_key("reasoning_content") && !message.contains_key("thinking_blocks"));
}

#[test]
fn invalid_response_is_an_error() {
    for body in [
        &b"not json"[..],
        b"",
        b"[1,2]",
        b"{}",
        b"{\"type\":\"message\",\"content\":3}",
        b"{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"x\"}}",
        b"{\"type\":\"message\",\"content\":[],\"usage\":{\"input_tokens\":-1}}",
    ] {
        assert!(
            matches!(
                anthropic::translate_response(body, &response_target(false)),
                Err(TranslateError::InvalidResponse(_))
            ),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}
