//! Helpers shared by the Anthropic golden modules: fixtures, targets, case tables and
//! request translation.

use serde_json::Value;
use sluice_providers::anthropic;
use sluice_providers::openai::ChatRequest;
use sluice_providers::{RequestTarget, ResponseTarget, TranslateError};

pub(crate) const CREATED: u64 = 1_700_000_000;
pub(crate) const TARGET_MODEL: &str = "claude-sonnet-4-5";

pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/anthropic/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

pub(crate) fn json_fixture(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).unwrap_or_else(|e| panic!("parsing {name}: {e}"))
}

pub(crate) fn response_target(include_usage: bool) -> ResponseTarget<'static> {
    ResponseTarget {
        model: TARGET_MODEL,
        created: CREATED,
        include_usage,
    }
}

pub(crate) fn assert_json_eq(case: &str, got: &Value, want: &Value) {
    assert_eq!(
        got,
        want,
        "{case}\n got: {}\nwant: {}",
        serde_json::to_string_pretty(got).unwrap_or_default(),
        serde_json::to_string_pretty(want).unwrap_or_default()
    );
}

/// (case, target model)
pub(crate) const REQUEST_CASES: &[(&str, &str)] = &[
    ("basic", "claude-sonnet-4-5-20250929"),
    ("system_and_params", "claude-opus-4-1"),
    ("tools", "claude-sonnet-4-5"),
    ("image", "claude-haiku-4-5"),
    ("thinking_history", "claude-sonnet-4-5"),
    ("cache_control", "claude-sonnet-4-5"),
    ("effort_budget", "claude-sonnet-4-5"),
    ("effort_adaptive", "claude-opus-4-6"),
    ("json_schema", "claude-sonnet-4-5"),
];

pub(crate) fn translate_request_fixture(case: &str, model: &str) -> (String, Vec<u8>) {
    let req = ChatRequest::parse(&fixture(&format!("{case}.request.json")))
        .unwrap_or_else(|e| panic!("{case}: {e}"));
    let target = RequestTarget {
        model,
        api_version: None,
        vertex: None,
        ..RequestTarget::default()
    };
    let up = anthropic::translate_request(&req, &target).unwrap_or_else(|e| panic!("{case}: {e}"));
    (up.path, up.body)
}

pub(crate) fn translate_json(req: Value) -> Result<Value, TranslateError> {
    let req: ChatRequest = serde_json::from_value(req).expect("valid ChatRequest");
    let target = RequestTarget {
        model: TARGET_MODEL,
        api_version: None,
        vertex: None,
        ..RequestTarget::default()
    };
    let up = anthropic::translate_request(&req, &target)?;
    Ok(serde_json::from_slice(&up.body).expect("body is JSON"))
}

pub(crate) const RESPONSE_CASES: &[&str] = &[
    "basic",
    "tool_calls",
    "tool_only",
    "max_tokens",
    "refusal",
    "stop_sequence",
    "thinking",
];

/// (case, include_usage)
pub(crate) const STREAM_CASES: &[(&str, bool)] = &[
    ("stream_text", true),
    ("stream_tools", true),
    ("stream_error", true),
    ("stream_truncated", true),
    ("stream_thinking", true),
];
