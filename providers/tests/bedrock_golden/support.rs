//! Helpers shared by the Bedrock golden modules: fixtures, blessing, targets, case tables,
//! request and response translation, and stream encoding.

use serde_json::Value;
use sluice_providers::bedrock;
use sluice_providers::bedrock::eventstream::{encode_event, encode_exception};
use sluice_providers::{ResponseTarget, TranslateError};

use crate::common::{
    fixture_path, model_target, read_fixture, read_json_fixture, translate_json_request,
    translate_raw_request,
};

pub(crate) const CREATED: u64 = 1_700_000_000;
pub(crate) const TARGET_MODEL: &str = "anthropic.claude-3-5-sonnet-20240620-v1:0";

pub(crate) fn fixture(name: &str) -> Vec<u8> {
    read_fixture("bedrock", name)
}

pub(crate) fn json_fixture(name: &str) -> Value {
    read_json_fixture("bedrock", name)
}

fn bless() -> bool {
    std::env::var_os("BLESS").is_some()
}

/// With `BLESS` set, writes `got` as the expected file `name`.
pub(crate) fn maybe_bless(name: &str, got: &[u8]) {
    if bless() {
        std::fs::write(fixture_path("bedrock", name), got).unwrap();
    }
}

pub(crate) fn bless_json(name: &str, got: &Value) {
    if bless() {
        let mut text = serde_json::to_string_pretty(got).unwrap();
        text.push('\n');
        maybe_bless(name, text.as_bytes());
    }
}

pub(crate) fn response_target(include_usage: bool) -> ResponseTarget<'static> {
    ResponseTarget {
        model: TARGET_MODEL,
        created: CREATED,
        include_usage,
    }
}

/// (case, target model, expected path)
pub(crate) const REQUEST_CASES: &[(&str, &str, &str)] = &[
    (
        "basic",
        "amazon.nova-lite-v1:0",
        "/model/amazon.nova-lite-v1%3A0/converse",
    ),
    (
        "system_and_params",
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse",
    ),
    (
        "tools",
        "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
        "/model/us.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse",
    ),
    (
        "tool_choice_stream",
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3-3-70b-instruct-v1:0",
        "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.meta.llama3-3-70b-instruct-v1%3A0/converse-stream",
    ),
    (
        "image",
        "anthropic.claude-3-haiku-20240307-v1:0",
        "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
    ),
    (
        "cache_and_thinking",
        CLAUDE_4_5,
        "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse",
    ),
];

pub(crate) const CLAUDE_4_5: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";

pub(crate) fn translate_request_fixture(case: &str, model: &str) -> (String, Vec<u8>) {
    let raw = fixture(&format!("{case}.request.json"));
    translate_raw_request(bedrock::translate_request, case, &raw, &model_target(model))
}

pub(crate) fn translate_json(req: Value) -> Result<Value, TranslateError> {
    translate_json_for(req, "amazon.nova-pro-v1:0")
}

pub(crate) fn translate_json_for(req: Value, model: &str) -> Result<Value, TranslateError> {
    translate_json_request(bedrock::translate_request, req, model)
}

pub(crate) const RESPONSE_CASES: &[&str] =
    &["basic", "tool_use", "max_tokens", "guardrail", "reasoning"];

pub(crate) fn translate_response_fixture(case: &str) -> sluice_providers::Completion {
    let body = fixture(&format!("{case}.bedrock-response.json"));
    bedrock::translate_response(&body, &response_target(false))
        .unwrap_or_else(|e| panic!("{case}: {e}"))
}

/// (case, include_usage)
pub(crate) const STREAM_CASES: &[(&str, bool)] = &[
    ("stream_text", true),
    ("stream_tools", false),
    ("stream_exception", true),
    ("stream_reasoning", true),
];

/// The binary event stream described by `<case>.events.json`.
pub(crate) fn stream_bytes(case: &str) -> Vec<u8> {
    let events = json_fixture(&format!("{case}.events.json"));
    let mut out = Vec::new();
    for e in events.as_array().expect("an array of events") {
        let (kind, name) = (e[0].as_str().unwrap(), e[1].as_str().unwrap());
        let payload = e[2].to_string();
        out.extend(match kind {
            "event" => encode_event(name, payload.as_bytes()),
            "exception" => encode_exception(name, payload.as_bytes()),
            other => panic!("{case}: message type {other}"),
        });
    }
    out
}
