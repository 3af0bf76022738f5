//! Responses: Gemini answers -> OpenAI chat completions, and the facts taken from them.

use serde_json::Value;
use sluice_providers::gemini;
use sluice_providers::{ToolCallFact, TranslateError, Usage};

use crate::common::assert_normalized_eq;
use crate::support::{
    json_fixture, response_target, translate_response_fixture, RESPONSE_CASES, TARGET_MODEL,
};

#[test]
fn response_goldens() {
    for &case in RESPONSE_CASES {
        let completion = translate_response_fixture(case);
        let got: Value = serde_json::from_slice(&completion.body).expect("body is JSON");
        let mut want = json_fixture(&format!("{case}.openai-response.json"));
        if want["id"] == "<generated>" {
            let id = got["id"].as_str().unwrap_or_default().to_string();
            assert!(
                id.starts_with("chatcmpl-") && id.len() > 9,
                "{case}: id {id}"
            );
            want["id"] = Value::String(id);
        }
        assert_normalized_eq(case, got, want);
    }
}

#[test]
fn response_facts() {
    let c = translate_response_fixture("tool_calls");
    assert_eq!(c.response_model.as_deref(), Some("gemini-2.5-flash"));
    assert_eq!(c.finish_reasons, vec!["tool_calls"]);
    assert_eq!(c.texts, vec![""]);
    assert_eq!(
        c.usage,
        Usage {
            input_tokens: Some(60),
            output_tokens: Some(82),
            total_tokens: Some(174),
            cached_input_tokens: Some(32),
            reasoning_tokens: Some(52),
            estimated: false,
            cache_creation_input_tokens: None,
            cache_write_1h_tokens: None,
        }
    );
    assert_eq!(
        c.tool_calls,
        vec![
            ToolCallFact {
                id: "call_0__sig__CiIBVKhc7vB1bXs=".into(),
                name: "get_weather".into(),
                arguments: r#"{"city":"Paris"}"#.into(),
            },
            ToolCallFact {
                id: "call_1".into(),
                name: "get_weather".into(),
                arguments: r#"{"city":"Tokyo","unit":"celsius"}"#.into(),
            },
        ]
    );

    let c = translate_response_fixture("max_tokens_two_candidates");
    assert_eq!(c.texts, vec!["Once upon a time", "In a land far away"]);
    assert_eq!(c.finish_reasons, vec!["length", "length"]);
    assert_eq!(c.usage.total(), Some(15));

    let c = translate_response_fixture("thinking");
    assert_eq!(
        c.texts,
        vec!["It arrives tomorrow. Track it online."],
        "thoughts are not answer text"
    );
    assert_eq!(
        c.usage,
        Usage {
            input_tokens: Some(120),
            output_tokens: Some(109),
            total_tokens: Some(229),
            cached_input_tokens: Some(100),
            reasoning_tokens: Some(100),
            ..Usage::default()
        }
    );

    let c = translate_response_fixture("safety_stop");
    assert_eq!(c.response_model.as_deref(), Some(TARGET_MODEL));
}

#[test]
fn generated_ids_differ() {
    let a = translate_response_fixture("max_tokens_two_candidates");
    let b = translate_response_fixture("max_tokens_two_candidates");
    let id = |c: &sluice_providers::Completion| {
        serde_json::from_slice::<Value>(&c.body).unwrap()["id"].clone()
    };
    assert_ne!(id(&a), id(&b));
}

#[test]
fn invalid_response_is_an_error() {
    for body in [&b"not json"[..], b"", b"{\"candidates\": 3}", b"[1,2]"] {
        assert!(matches!(
            gemini::translate_response(body, &response_target(false)),
            Err(TranslateError::InvalidResponse(_))
        ));
    }
}
