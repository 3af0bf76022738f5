//! Helpers shared by the Anthropic golden modules: fixtures, targets, case tables and
//! request translation.

use serde_json::Value;
use sluice_providers::anthropic;
use sluice_providers::{ResponseTarget, TranslateError};

use crate::common::{
    model_target, read_fixture, read_json_fixture, translate_json_request, translate_raw_request,
};

pub(crate) const CREATED: u64 = 1_700_000_000;
pub(crate) const TARGET_MODEL: &str = "claude-sonnet-4-5";

pub(crate) fn fixture(name: &str) -> Vec<u8> {
    read_fixture("anthropic", name)
}

pub(crate) fn json_fixture(name: &str) -> Value {
    read_json_fixture("anthropic", name)
}

pub(crate) fn response_target(include_usage: bool) -> ResponseTarget<'static> {
    ResponseTarget {
        model: TARGET_MODEL,
        created: CREATED,
        include_usage,
    }
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
    let raw = fixture(&format!("{case}.request.json"));
    let target = model_target(model);
    translate_raw_request(anthropic::translate_request, case, &raw, &target)
}

pub(crate) fn translate_json(req: Value) -> Result<Value, TranslateError> {
    translate_json_request(anthropic::translate_request, req, TARGET_MODEL)
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
