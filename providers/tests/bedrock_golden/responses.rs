//! Response translation: goldens, facts and invalid responses.

use serde_json::{json, Value};
use sluice_providers::bedrock;
use sluice_providers::{ToolCallFact, TranslateError, Usage};

use crate::common::assert_normalized_eq;
use crate::support::{
    bless_json, json_fixture, response_target, translate_response_fixture, RESPONSE_CASES,
    TARGET_MODEL,
};

#[test]
fn response_goldens() {
    for &case in RESPONSE_CASES {
        let completion = translate_response_fixture(case);
        let mut got: Value = serde_json::from_slice(&completion.body).expect("body is JSON");
        let id = got["id"].as_str().unwrap_or_default().to_string();
        assert!(
            id.starts_with("chatcmpl-") && id.len() > 9,
            "{case}: id {id}"
        );
        got["id"] = json!("<generated>");
        bless_json(&format!("{case}.openai-response.json"), &got);
        let want = json_fixture(&format!("{case}.openai-response.json"));
        assert_normalized_eq(case, got, want);
    }
}

#[test]
fn response_facts() {
    let c = translate_response_fixture("tool_use");
    assert_eq!(c.response_model.as_deref(), Some(TARGET_MODEL));
    assert_eq!(c.finish_reasons, vec!["tool_calls"]);
    assert_eq!(c.texts, vec!["Let me check."]);
    assert_eq!(
        c.usage,
        Usage {
            input_tokens: Some(140),
            output_tokens: Some(30),
            total_tokens: Some(170),
            cached_input_tokens: Some(100),
            reasoning_tokens: None,
            estimated: false,
            cache_creation_input_tokens: Some(0),
            cache_write_1h_tokens: None,
        }
    );
    assert_eq!(
        c.tool_calls,
        vec![
            ToolCallFact {
                id: "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q".into(),
                name: "get_weather".into(),
                arguments: r#"{"city":"Paris"}"#.into(),
            },
            ToolCallFact {
                id: "tooluse_2".into(),
                name: "get_time".into(),
                arguments: "{}".into(),
            },
        ]
    );
    let c = translate_response_fixture("max_tokens");
    assert_eq!(c.finish_reasons, vec!["length"]);
    assert_eq!(c.usage.total(), Some(8));
}

#[test]
fn invalid_response_is_an_error() {
    for body in [&b"not json"[..], b"", b"{\"output\": 3}", b"[1,2]"] {
        assert!(matches!(
            bedrock::translate_response(body, &response_target(false)),
            Err(TranslateError::InvalidResponse(_))
        ));
    }
}
