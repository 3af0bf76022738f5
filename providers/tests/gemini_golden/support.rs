//! Shared by the modules: fixture loading, the response target, and the case tables that
//! both the goldens and the no-panic tests walk.

use serde_json::Value;
use sluice_providers::gemini;
use sluice_providers::ResponseTarget;

use crate::common::{read_fixture, read_json_fixture};

const CREATED: u64 = 1_700_000_000;
pub(crate) const TARGET_MODEL: &str = "gemini-1.5-pro";

pub(crate) fn fixture(name: &str) -> Vec<u8> {
    read_fixture("gemini", name)
}

pub(crate) fn json_fixture(name: &str) -> Value {
    read_json_fixture("gemini", name)
}

pub(crate) fn response_target(include_usage: bool) -> ResponseTarget<'static> {
    ResponseTarget {
        model: TARGET_MODEL,
        created: CREATED,
        include_usage,
    }
}

/// (case, target model, api_version, expected path)
pub(crate) const REQUEST_CASES: &[(&str, &str, Option<&str>, &str)] = &[
    (
        "basic",
        "gemini-1.5-flash-latest",
        Some("v1beta"),
        "/v1beta/models/gemini-1.5-flash-latest:generateContent",
    ),
    (
        "system_and_params",
        "models/gemini-2.0-flash",
        None,
        "/v1beta/models/gemini-2.0-flash:generateContent",
    ),
    (
        "tools",
        "gemini-2.5-flash",
        Some("v1beta"),
        "/v1beta/models/gemini-2.5-flash:generateContent",
    ),
    (
        "tool_choice_stream",
        "gemini-3-pro-preview",
        Some("v1alpha"),
        "/v1alpha/models/gemini-3-pro-preview:streamGenerateContent?alt=sse",
    ),
    (
        "image",
        "gemini-2.0-flash",
        Some("v1beta"),
        "/v1beta/models/gemini-2.0-flash:generateContent",
    ),
    (
        "json_schema",
        "gemini-2.5-flash",
        Some("v1beta"),
        "/v1beta/models/gemini-2.5-flash:generateContent",
    ),
    (
        "thinking_history",
        "gemini-3-pro-preview",
        None,
        "/v1beta/models/gemini-3-pro-preview:generateContent",
    ),
];

pub(crate) const RESPONSE_CASES: &[&str] = &[
    "basic",
    "tool_calls",
    "max_tokens_two_candidates",
    "prompt_blocked",
    "safety_stop",
    "thinking",
];

pub(crate) fn translate_response_fixture(case: &str) -> sluice_providers::Completion {
    let body = fixture(&format!("{case}.gemini-response.json"));
    gemini::translate_response(&body, &response_target(false))
        .unwrap_or_else(|e| panic!("{case}: {e}"))
}

/// (case, include_usage)
pub(crate) const STREAM_CASES: &[(&str, bool)] = &[
    ("stream_text", true),
    ("stream_tools", false),
    ("stream_error", true),
    ("stream_blocked", false),
    ("stream_thinking", true),
];
