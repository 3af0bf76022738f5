//! Unit tests of `fields`: the record they evaluate on and the helpers every topic module
//! (and `conventions_tests`) uses; the tests themselves in the modules below.

use std::time::{Duration, SystemTime};

use super::*;
use crate::facts::{LlmFacts, PromptMessage, ToolCall, ToolDefinition};
use crate::AttrValue;
use AttrValue::Str;

pub(super) fn record() -> RequestRecord {
    RequestRecord {
        listener: "http".into(),
        route: "openai".into(),
        route_path: "/openai".into(),
        endpoint: "api.openai.com:443".into(),
        source_address: "127.0.0.1:49576".into(),
        method: "POST".into(),
        host: "localhost".into(),
        path: "/openai/v1/chat/completions".into(),
        version: "HTTP/1.1",
        scheme: "http",
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("x-team".into(), "search".into()),
            ("x-team".into(), "ads".into()),
        ],
        status: 200,
        start: SystemTime::UNIX_EPOCH,
        duration: Duration::from_millis(812),
        upstream_time: Duration::from_millis(800),
        trace_id: [1; 16],
        span_id: [2; 8],
        parent_span_id: None,
        sampled: true,
        llm: Some(LlmFacts {
            attempts: 1,
            fallback_reasons: Vec::new(),
            provider: "openai".into(),
            request_model: "gpt-4o-mini".into(),
            response_model: Some("gpt-4o-mini-2024-07-18".into()),
            input_tokens: Some(12),
            output_tokens: Some(34),
            total_tokens: None,
            cached_input_tokens: Some(4),
            cache_creation_input_tokens: Some(6),
            cache_write_1h_tokens: None,
            reasoning_tokens: None,
            usage_estimated: false,
            cost: None,
            streaming: false,
            params: vec![
                ("temperature".into(), serde_json::json!(0.2)),
                ("max_tokens".into(), serde_json::json!(256)),
            ],
            prompt: vec![
                PromptMessage {
                    role: "system".into(),
                    content: "You are terse.".into(),
                },
                PromptMessage {
                    role: "user".into(),
                    content: "Say \"hi\"\n".into(),
                },
            ],
            completion: vec!["Hi!".into()],
            tool_calls: vec![ToolCall {
                id: "call_1".into(),
                name: "lookup".into(),
                arguments: "{\"q\":\"x\"}".into(),
            }],
            tools: vec![
                ToolDefinition {
                    name: "lookup".into(),
                    description: Some("Look a word up".into()),
                    parameters: Some(serde_json::json!({"type": "object"})),
                },
                ToolDefinition {
                    name: "web_search".into(),
                    ..ToolDefinition::default()
                },
            ],
            finish_reasons: vec!["stop".into()],
            time_to_first_token: Some(Duration::from_micros(123_456)),
        }),
        error: None,
        limit: None,
        key: String::new(),
        team: String::new(),
    }
}

pub(super) fn compile(add: &[(&str, &str)]) -> Fields {
    let add: Vec<(String, String)> = add
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    match Fields::compile(&add) {
        Ok(f) => f,
        Err(e) => panic!("{e:?}"),
    }
}

pub(super) fn eval(fields: &Fields, rec: &RequestRecord) -> (Vec<Attr<'static>>, u32) {
    let mut out = Vec::new();
    let failed = fields.evaluate(rec, &mut out);
    (out.into_iter().map(owned_attr).collect(), failed)
}

/// `fields.add` evaluated on [`record`]: the attributes, and no failure.
pub(super) fn run(add: &[(&str, &str)]) -> Vec<Attr<'static>> {
    let (out, failed) = eval(&compile(add), &record());
    assert_eq!(failed, 0, "{out:?}");
    out
}

/// One expression's single attribute value.
pub(super) fn one(expr: &str) -> AttrValue<'static> {
    let out = run(&[("k", expr)]);
    assert_eq!(out.len(), 1, "{expr}: {out:?}");
    assert_eq!(out[0].0, "k");
    out[0].1.clone()
}

pub(super) fn attrs(list: &[(&str, AttrValue<'static>)]) -> Vec<Attr<'static>> {
    list.iter()
        .map(|(k, v)| (k.to_string().into(), v.clone()))
        .collect()
}

pub(super) fn s(v: &str) -> AttrValue<'static> {
    Str(v.to_string().into())
}

const PROMPT_JSON: &str =
    r#"[{"role":"system","content":"You are terse."},{"role":"user","content":"Say \"hi\"\n"}]"#;

mod compiled;
mod functions;
mod seed_recipes;
mod variables;
