//! Golden tests of the Anthropic provider translation, from the files in
//! `tests/fixtures/anthropic/`:
//! - `<case>.request.json` (OpenAI request) -> `<case>.upstream.json` (Anthropic body), among
//!   them thinking blocks in the history, cache breakpoints, efforts and JSON schemas;
//! - `tool_choice.cases.json`: `tool_choice` / `parallel_tool_calls` -> Anthropic `tool_choice`;
//! - `<case>.anthropic-response.json` -> `<case>.openai-response.json`;
//! - `<case>.anthropic.sse` -> `<case>.openai.sse`, also fed split at every size and at random;
//! - `<case>.anthropic-error.{json,txt}` -> `<case>.openai-error.json`.
//!
//! JSON is compared as `serde_json::Value` (key order is free); SSE event by event.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sluice_providers::anthropic::{self, AnthropicUpstreamStream};
use sluice_providers::openai::ChatRequest;
use sluice_providers::{
    RequestTarget, ResponseTarget, StreamFacts, StreamTranslator, ToolCallFact, TranslateError,
    Usage,
};

mod common;
use common::{assert_same_events, mutate_bytes, normalize, sse_events};

const CREATED: u64 = 1_700_000_000;
const TARGET_MODEL: &str = "claude-sonnet-4-5";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/anthropic/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

fn json_fixture(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).unwrap_or_else(|e| panic!("parsing {name}: {e}"))
}

fn response_target(include_usage: bool) -> ResponseTarget<'static> {
    ResponseTarget {
        model: TARGET_MODEL,
        created: CREATED,
        include_usage,
    }
}

fn assert_json_eq(case: &str, got: &Value, want: &Value) {
    assert_eq!(
        got,
        want,
        "{case}\n got: {}\nwant: {}",
        serde_json::to_string_pretty(got).unwrap_or_default(),
        serde_json::to_string_pretty(want).unwrap_or_default()
    );
}

// ---------------------------------------------------------------------------------------------
// Requests

/// (case, target model)
const REQUEST_CASES: &[(&str, &str)] = &[
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

fn translate_request_fixture(case: &str, model: &str) -> (String, Vec<u8>) {
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

fn translate_json(req: Value) -> Result<Value, TranslateError> {
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
    let target = RequestTarget {
        model: "",
        api_version: None,
        vertex: None,
        ..RequestTarget::default()
    };
    assert!(matches!(
        anthropic::translate_request(&req, &target),
        Err(TranslateError::InvalidRequest(_))
    ));
}

fn translate_for(model: &str, req: Value) -> Result<Value, TranslateError> {
    let req: ChatRequest = serde_json::from_value(req).expect("valid ChatRequest");
    let target = RequestTarget {
        model,
        ..RequestTarget::default()
    };
    let up = anthropic::translate_request(&req, &target)?;
    Ok(serde_json::from_slice(&up.body).expect("body is JSON"))
}

#[test]
fn thinking_blocks_go_back_first_with_their_signatures() {
    let (_, body) = translate_request_fixture("thinking_history", "claude-sonnet-4-5");
    let body: Value = serde_json::from_slice(&body).unwrap();
    let first = &body["messages"][1]["content"];
    assert_eq!(first[0]["type"], "thinking");
    assert_eq!(
        first[0]["thinking"],
        "The user wants the weather. I should call the tool."
    );
    assert_eq!(first[0]["signature"], "EqQBCgIYAhIM1gbcDa9GJwZA2b3h");
    assert_eq!(
        first[1],
        json!({"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT"})
    );
    assert_eq!(first[2]["type"], "text");
    assert_eq!(first[3]["type"], "tool_use");
    // Gemini-signed, unsigned and data-less blocks, and reasoning_content alone: left out.
    for turn in [3, 5] {
        assert_eq!(
            body["messages"][turn]["content"].as_array().unwrap().len(),
            1,
            "{}",
            body["messages"][turn]
        );
        assert_eq!(body["messages"][turn]["content"][0]["type"], "text");
    }
    let text = body.to_string();
    for gone in [
        "sluice:gemini:",
        "Unsigned thinking.",
        "Only text, no signature.",
    ] {
        assert!(!text.contains(gone), "{gone} sent: {text}");
    }
    // The client's own thinking object goes as it is, max_tokens raised above its budget.
    assert_eq!(
        body["thinking"],
        json!({"type": "enabled", "budget_tokens": 2048})
    );
    assert_eq!(body["max_tokens"], 2048 + 1024);
}

#[test]
fn cache_control_reaches_system_parts_tools_and_tool_results() {
    let (_, body) = translate_request_fixture("cache_control", "claude-sonnet-4-5");
    let body: Value = serde_json::from_slice(&body).unwrap();
    let eph = json!({"type": "ephemeral"});
    // System as blocks, each with its own breakpoint (or none).
    assert_eq!(body["system"][0].get("cache_control"), None);
    assert_eq!(
        body["system"][1]["cache_control"],
        json!({"type": "ephemeral", "ttl": "1h"})
    );
    assert_eq!(body["system"][2]["text"], "Answer in French.");
    assert_eq!(body["messages"][0]["content"][1]["type"], "image");
    assert_eq!(body["messages"][0]["content"][1]["cache_control"], eph);
    let results = &body["messages"][2]["content"];
    assert_eq!(results[0]["content"][1]["cache_control"], eph);
    // A message's own cache_control goes on its (last) block.
    assert_eq!(results[1]["cache_control"], eph);
    // A breakpoint on an empty part moves to the block before it.
    assert_eq!(
        body["messages"][4]["content"],
        json!([{"type": "text", "text": "And tomorrow?", "cache_control": eph}])
    );
    assert_eq!(body["tools"][0]["cache_control"], eph);
    assert_eq!(body["tools"][0]["strict"], true);
    assert_eq!(body["top_k"], 40);
    // A message-level breakpoint on a tool message goes on its tool_result.
    let body = translate_json(json!({"messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "tool_calls": [
            {"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "t1", "content": "r", "cache_control": {"type": "ephemeral"}},
    ]}))
    .unwrap();
    assert_eq!(
        body["messages"][2]["content"][0],
        json!({"type": "tool_result", "tool_use_id": "t1", "content": "r", "cache_control": eph})
    );
}

#[test]
fn system_is_a_string_without_cache_control() {
    let body = translate_json(json!({"messages": [
        {"role": "system", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
        {"role": "user", "content": "hi"},
        {"role": "developer", "content": "c"},
    ]}))
    .unwrap();
    assert_eq!(body["system"], "a\nb\n\nc");
}

#[test]
fn reasoning_effort_becomes_thinking() {
    let req = |effort: &str| json!({"messages": [{"role": "user", "content": "hi"}], "reasoning_effort": effort});
    // Budget models: enabled with the effort's budget, max_tokens raised above it.
    let body = translate_for("claude-sonnet-4-5", req("high")).unwrap();
    assert_eq!(
        body["thinking"],
        json!({"type": "enabled", "budget_tokens": 16384})
    );
    assert_eq!(body["max_tokens"], 16384 + 4096);
    assert_eq!(body.get("output_config"), None);
    // Adaptive-only models: adaptive thinking and output_config.effort.
    let body = translate_for("claude-opus-4-6", req("low")).unwrap();
    assert_eq!(body["thinking"], json!({"type": "adaptive"}));
    assert_eq!(body["output_config"], json!({"effort": "low"}));
    assert_eq!(body["max_tokens"], 4096);
    let body = translate_for("claude-sonnet-4-5", req("none")).unwrap();
    assert_eq!(body["thinking"], json!({"type": "disabled"}));
    // Nothing asked, nothing sent.
    let body = translate_json(json!({"messages": [{"role": "user", "content": "hi"}]})).unwrap();
    assert_eq!(body.get("thinking"), None);
    let err = translate_json(req("enormous")).unwrap_err();
    assert!(err.to_string().contains("reasoning_effort"), "{err}");
}

#[test]
fn json_schema_becomes_output_config_format() {
    let schema = json!({"type": "object", "properties": {"a": {"type": "integer"}}});
    let body = translate_json(json!({
        "messages": [{"role": "user", "content": "hi"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "strict": true, "schema": schema}},
    }))
    .unwrap();
    assert_eq!(
        body["output_config"],
        json!({"format": {"type": "json_schema", "schema": schema}})
    );
    // With an effort: one output_config holding both.
    let body = translate_for(
        "claude-opus-4-6",
        json!({
            "messages": [{"role": "user", "content": "hi"}],
            "reasoning_effort": "medium",
            "response_format": {"type": "json_schema", "json_schema": {"schema": schema}},
        }),
    )
    .unwrap();
    assert_eq!(
        body["output_config"],
        json!({"effort": "medium", "format": {"type": "json_schema", "schema": schema}})
    );
    let body = translate_json(json!({
        "messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "text"},
    }))
    .unwrap();
    assert_eq!(body.get("output_config"), None);
    for bad in [
        json!({"type": "json_schema"}),
        json!({"type": "json_schema", "json_schema": {"name": "x"}}),
        json!({"json_schema": {"schema": {}}}),
    ] {
        let err = translate_json(json!({
            "messages": [{"role": "user", "content": "hi"}], "response_format": bad,
        }))
        .expect_err("accepted");
        assert!(
            matches!(err, TranslateError::InvalidRequest(_)),
            "{bad}: {err:?}"
        );
        assert!(err.to_string().contains("response_format"), "{err}");
    }
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

// ---------------------------------------------------------------------------------------------
// Responses

const RESPONSE_CASES: &[&str] = &[
    "basic",
    "tool_calls",
    "tool_only",
    "max_tokens",
    "refusal",
    "stop_sequence",
    "thinking",
];

fn translate_response_fixture(case: &str) -> sluice_providers::Completion {
    let body = fixture(&format!("{case}.anthropic-response.json"));
    anthropic::translate_response(&body, &response_target(false))
        .unwrap_or_else(|e| panic!("{case}: {e}"))
}

#[test]
fn response_goldens() {
    for &case in RESPONSE_CASES {
        let completion = translate_response_fixture(case);
        let mut got: Value = serde_json::from_slice(&completion.body).expect("body is JSON");
        let mut want = json_fixture(&format!("{case}.openai-response.json"));
        normalize(&mut got);
        normalize(&mut want);
        assert_json_eq(case, &got, &want);
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

// ---------------------------------------------------------------------------------------------
// Streams

/// (case, include_usage)
const STREAM_CASES: &[(&str, bool)] = &[
    ("stream_text", true),
    ("stream_tools", true),
    ("stream_error", true),
    ("stream_truncated", true),
    ("stream_thinking", true),
];

fn run_stream<'a>(
    include_usage: bool,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<(Vec<u8>, StreamFacts), TranslateError> {
    let mut stream =
        AnthropicUpstreamStream::new(&response_target(include_usage), "chatcmpl-test".into());
    let mut out = Vec::new();
    for chunk in chunks {
        stream.feed(chunk, &mut out)?;
    }
    stream.finish(&mut out)?;
    Ok((out, stream.facts().clone()))
}

#[test]
fn stream_goldens() {
    for &(case, include_usage) in STREAM_CASES {
        let input = fixture(&format!("{case}.anthropic.sse"));
        let (out, _) =
            run_stream(include_usage, [&input[..]]).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_same_events(case, &out, &fixture(&format!("{case}.openai.sse")));
    }
}

#[test]
fn stream_without_usage_request_has_no_usage_chunk() {
    let input = fixture("stream_tools.anthropic.sse");
    let (with, _) = run_stream(true, [&input[..]]).unwrap();
    let (without, facts) = run_stream(false, [&input[..]]).unwrap();
    let (with, without) = (sse_events(&with), sse_events(&without));
    assert_eq!(without.len() + 1, with.len());
    assert!(without.iter().all(|e| !e.contains("\"usage\"")));
    assert_eq!(without.last().map(String::as_str), Some("[DONE]"));
    // Usage is still known to telemetry.
    assert_eq!(facts.usage.output_tokens, Some(89));
}

#[test]
fn stream_output_does_not_depend_on_splits() {
    let mut rng = StdRng::seed_from_u64(7);
    for &(case, include_usage) in STREAM_CASES {
        let input = fixture(&format!("{case}.anthropic.sse"));
        let whole = run_stream(include_usage, [&input[..]]).unwrap();
        for size in 1..=input.len() {
            let split = run_stream(include_usage, input.chunks(size)).unwrap();
            assert_eq!(split, whole, "{case}: chunks of {size}");
        }
        for _ in 0..200 {
            let mut cuts: Vec<usize> = (0..rng.random_range(1..12))
                .map(|_| rng.random_range(0..=input.len()))
                .collect();
            cuts.push(0);
            cuts.push(input.len());
            cuts.sort_unstable();
            let pieces = cuts.windows(2).map(|w| &input[w[0]..w[1]]);
            let split = run_stream(include_usage, pieces).unwrap();
            assert_eq!(split, whole, "{case}: random cuts {cuts:?}");
        }
    }
}

#[test]
fn stream_facts() {
    let input = fixture("stream_text.anthropic.sse");
    let (_, facts) = run_stream(true, [&input[..]]).unwrap();
    assert_eq!(
        facts,
        StreamFacts {
            usage: Usage {
                input_tokens: Some(30),
                output_tokens: Some(12),
                total_tokens: Some(42),
                cached_input_tokens: Some(5),
                cache_creation_input_tokens: Some(0),
                ..Usage::default()
            },
            response_model: Some("claude-sonnet-4-5-20250929".into()),
            texts: vec!["AI learns patterns from data — then predicts. ✨".into()],
            finish_reasons: vec!["stop".into()],
            tool_calls: vec![],
            first_token_seen: true,
            error: None,
        }
    );

    let input = fixture("stream_tools.anthropic.sse");
    let (_, facts) = run_stream(false, [&input[..]]).unwrap();
    assert_eq!(facts.texts, vec!["Checking both cities."]);
    assert_eq!(facts.finish_reasons, vec!["tool_calls"]);
    assert_eq!(
        facts.tool_calls,
        vec![
            ToolCallFact {
                id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6".into(),
                name: "get_weather".into(),
                arguments: r#"{"city": "Paris"}"#.into(),
            },
            ToolCallFact {
                id: "toolu_02".into(),
                name: "get_weather".into(),
                arguments: r#"{"city":"Tokyo","unit":"celsius"}"#.into(),
            },
            ToolCallFact {
                id: "toolu_03".into(),
                name: "get_time".into(),
                arguments: "{}".into(),
            },
        ]
    );
}

#[test]
fn stream_thinking_becomes_reasoning_and_thinking_blocks() {
    let input = fixture("stream_thinking.anthropic.sse");
    let (out, facts) = run_stream(false, [&input[..]]).unwrap();
    let deltas: Vec<Value> = sse_events(&out)
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e).ok())
        .map(|c| c["choices"][0]["delta"].clone())
        .collect();
    let reasoning: String = deltas
        .iter()
        .filter_map(|d| d["reasoning_content"].as_str())
        .collect();
    assert_eq!(
        reasoning,
        "Suppose finitely many primes, multiply them, add one."
    );
    let blocks: Vec<Value> = deltas
        .iter()
        .filter_map(|d| d["thinking_blocks"].as_array())
        .flatten()
        .cloned()
        .collect();
    assert_eq!(
        blocks,
        vec![
            json!({"type": "thinking", "thinking": "", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"}),
            json!({"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT"}),
        ]
    );
    // Thinking is not the answer's text.
    assert_eq!(
        facts.texts,
        vec!["Their product plus one has a new prime factor."]
    );
    assert!(facts.first_token_seen);
    assert_eq!(facts.usage.cached_input_tokens, Some(900));
    assert_eq!(facts.usage.input_tokens, Some(920));
}

/// `message_delta` usage is cumulative: the last one is the total, never a sum of them (nor
/// of them and `message_start`'s `output_tokens`).
#[test]
fn stream_usage_is_the_last_message_delta_not_a_sum() {
    let input = fixture("stream_tools.anthropic.sse");
    let text = String::from_utf8(input.clone()).unwrap();
    let last_delta: Value = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .rfind(|v| v["type"] == "message_delta")
        .expect("a message_delta");
    let last_output = last_delta["usage"]["output_tokens"].as_u64().unwrap();
    assert_eq!(last_output, 89);

    let (out, facts) = run_stream(true, [&input[..]]).unwrap();
    assert_eq!(
        facts.usage,
        Usage {
            input_tokens: Some(572),
            output_tokens: Some(last_output),
            total_tokens: Some(572 + last_output),
            cached_input_tokens: Some(100),
            ..Usage::default()
        }
    );
    let events = sse_events(&out);
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let usage: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["completion_tokens"], json!(last_output));
    // One finish_reason although two message_deltas carried a stop_reason.
    let finishes = events
        .iter()
        .filter(|e| e.contains("\"finish_reason\":\"tool_calls\""))
        .count();
    assert_eq!(finishes, 1);
}

/// The 1-hour part of the cache writes (`usage.cache_creation`) reaches the facts, answer and
/// stream alike, but not the client's chat usage, which has no place for it.
#[test]
fn one_hour_cache_writes_are_facts_not_chat_usage() {
    let body = br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","usage":{"input_tokens":10,"cache_read_input_tokens":0,"cache_creation_input_tokens":300,"cache_creation":{"ephemeral_5m_input_tokens":200,"ephemeral_1h_input_tokens":100},"output_tokens":5}}"#;
    let c = anthropic::translate_response(body, &response_target(false)).unwrap();
    assert_eq!(c.usage.cache_creation_input_tokens, Some(300));
    assert_eq!(c.usage.cache_write_1h_tokens, Some(100));
    let out: Value = serde_json::from_slice(&c.body).unwrap();
    assert_eq!(
        out["usage"]["prompt_tokens_details"],
        json!({"cached_tokens": 0, "cache_write_tokens": 300})
    );

    let input = concat!(
        "event: message_start\n",
        r#"data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[],"usage":{"input_tokens":10,"cache_read_input_tokens":0,"cache_creation_input_tokens":300,"cache_creation":{"ephemeral_5m_input_tokens":200,"ephemeral_1h_input_tokens":100},"output_tokens":1}}}"#,
        "\n\n",
        "event: content_block_start\n",
        r#"data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        "\n\n",
        "event: content_block_delta\n",
        r#"data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"ok"}}"#,
        "\n\n",
        "event: content_block_stop\n",
        r#"data: {"type":"content_block_stop","index":0}"#,
        "\n\n",
        "event: message_delta\n",
        r#"data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"input_tokens":10,"cache_read_input_tokens":0,"cache_creation_input_tokens":300,"output_tokens":5}}"#,
        "\n\n",
        "event: message_stop\n",
        r#"data: {"type":"message_stop"}"#,
        "\n\n",
    );
    let (out, facts) = run_stream(true, [input.as_bytes()]).unwrap();
    assert_eq!(facts.usage.cache_creation_input_tokens, Some(300));
    assert_eq!(
        facts.usage.cache_write_1h_tokens,
        Some(100),
        "message_start's split, kept through a message_delta without one"
    );
    assert_eq!(facts.usage.input_tokens, Some(310));
    let events = sse_events(&out);
    let usage: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
    assert_eq!(
        usage["usage"]["prompt_tokens_details"],
        json!({"cached_tokens": 0, "cache_write_tokens": 300})
    );
}

/// The first token is the first output, thinking included (the time to it is what a client
/// waits): not the role chunk, not an empty thinking block's start.
#[test]
fn first_token_is_the_first_thinking_or_content() {
    let input = fixture("stream_tools.anthropic.sse");
    let text = String::from_utf8(input).unwrap();
    let events: Vec<&str> = text.split_inclusive("\n\n").collect();
    let mut stream = AnthropicUpstreamStream::new(&response_target(false), "id".into());
    let mut out = Vec::new();
    // message_start and the empty start of the thinking block: the role chunk goes out, but
    // no token yet.
    for event in &events[..2] {
        stream.feed(event.as_bytes(), &mut out).unwrap();
    }
    assert!(!out.is_empty());
    assert!(!stream.facts().first_token_seen);
    stream.feed(events[2].as_bytes(), &mut out).unwrap();
    assert!(
        stream.facts().first_token_seen,
        "thinking is the first token"
    );
    // A redacted thinking block is output too.
    let (_, facts) = run_stream(
        false,
        [&br#"data: {"type":"content_block_start","index":0,"content_block":{"type":"redacted_thinking","data":"x"}}

"#[..]],
    )
    .unwrap();
    assert!(facts.first_token_seen);
}

#[test]
fn done_is_sent_exactly_once() {
    for &(case, include_usage) in STREAM_CASES {
        let input = fixture(&format!("{case}.anthropic.sse"));
        let mut stream = AnthropicUpstreamStream::new(&response_target(include_usage), "id".into());
        let mut out = Vec::new();
        stream.feed(&input, &mut out).unwrap();
        stream.finish(&mut out).unwrap();
        stream.finish(&mut out).unwrap();
        let dones = sse_events(&out).iter().filter(|e| *e == "[DONE]").count();
        let want = usize::from(case != "stream_error");
        assert_eq!(dones, want, "{case}");
    }
}

#[test]
fn empty_stream_still_ends() {
    let (out, facts) = run_stream(true, []).unwrap();
    assert_eq!(out, b"data: [DONE]\n\n");
    assert!(!facts.first_token_seen);
}

#[test]
fn stream_id_falls_back_to_the_given_one() {
    let input =
        b"data: {\"type\":\"message_start\",\"message\":{\"type\":\"message\",\"content\":[]}}\n\n";
    let (out, facts) = run_stream(false, [&input[..]]).unwrap();
    let events = sse_events(&out);
    let first: Value = serde_json::from_str(&events[0]).unwrap();
    assert_eq!(first["id"], "chatcmpl-test");
    assert_eq!(first["model"], TARGET_MODEL);
    assert_eq!(facts.response_model, None);
}

#[test]
fn invalid_stream_event_is_an_error() {
    assert!(matches!(
        run_stream(false, [&b"data: {not json}\n\n"[..]]),
        Err(TranslateError::InvalidResponse(_))
    ));
    // Also when the bad event is the unterminated last one.
    assert!(matches!(
        run_stream(false, [&b"data: {\"type\": \"message_st"[..]]),
        Err(TranslateError::InvalidResponse(_))
    ));
}

#[test]
fn tool_calls_are_capped() {
    let mut input = String::new();
    for i in 0..200 {
        input.push_str(&format!(
            "data: {{\"type\":\"content_block_start\",\"index\":{i},\
             \"content_block\":{{\"type\":\"tool_use\",\"id\":\"t{i}\",\"name\":\"f\",\"input\":{{}}}}}}\n\n"
        ));
    }
    assert!(matches!(
        run_stream(false, [input.as_bytes()]),
        Err(TranslateError::InvalidResponse(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// Errors

/// (case, input file extension, HTTP status)
const ERROR_CASES: &[(&str, &str, u16)] = &[
    ("invalid_request", "json", 400),
    ("auth", "json", 401),
    ("rate_limit", "json", 429),
    ("overloaded", "json", 529),
    ("html", "txt", 502),
    ("empty", "txt", 503),
];

#[test]
fn error_goldens() {
    for &(case, ext, status) in ERROR_CASES {
        let body =
            anthropic::translate_error(status, &fixture(&format!("{case}.anthropic-error.{ext}")));
        let got: Value = serde_json::from_slice(&body).expect("error body is JSON");
        assert_json_eq(
            case,
            &got,
            &json_fixture(&format!("{case}.openai-error.json")),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// No input makes the translation panic

const KEYS: &[&str] = &[
    "type",
    "id",
    "model",
    "role",
    "content",
    "text",
    "name",
    "input",
    "stop_reason",
    "stop_sequence",
    "usage",
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "message",
    "index",
    "content_block",
    "delta",
    "partial_json",
    "error",
    "tool_use",
    "text_delta",
    "input_json_delta",
    "thinking",
    "signature",
    "data",
    "redacted_thinking",
    "thinking_delta",
    "signature_delta",
];

fn random_value(rng: &mut StdRng, depth: u32) -> Value {
    match rng.random_range(0..if depth > 3 { 6 } else { 8 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.random()),
        2 => [
            json!(0),
            json!(1),
            json!(u32::MAX),
            json!(u64::MAX),
            json!(-1),
            json!(1.5),
            json!(1e300),
        ][rng.random_range(0..7)]
        .clone(),
        3 => json!(rng.random::<u64>()),
        4 | 5 => json!(
            [
                "end_turn",
                "tool_use",
                "max_tokens",
                "",
                "x",
                "é✨",
                "{}",
                "[DONE]"
            ][rng.random_range(0..8)]
        ),
        6 => Value::Array(
            (0..rng.random_range(0..4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.random_range(0..5))
                .map(|_| {
                    let key = KEYS[rng.random_range(0..KEYS.len())].to_string();
                    (key, random_value(rng, depth + 1))
                })
                .collect(),
        ),
    }
}

/// Replaces random subtrees of `v` (and adds random keys) to explore near-valid shapes.
fn mutate_value(v: &mut Value, rng: &mut StdRng, depth: u32) {
    if rng.random_range(0..8) == 0 {
        *v = random_value(rng, depth);
        return;
    }
    match v {
        Value::Object(map) => {
            if rng.random_range(0..4) == 0 {
                let key = KEYS[rng.random_range(0..KEYS.len())].to_string();
                map.insert(key, random_value(rng, depth + 1));
            }
            for value in map.values_mut() {
                mutate_value(value, rng, depth + 1);
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| mutate_value(item, rng, depth + 1)),
        // Counts and indexes at the edges, where arithmetic overflows and vectors explode.
        Value::Number(_) if rng.random_range(0..3) == 0 => {
            *v = [
                json!(u64::MAX),
                json!(u64::MAX / 2 + 1),
                json!(u32::MAX),
                json!(-1),
                json!(1e300),
            ][rng.random_range(0..5)]
            .clone();
        }
        _ => {}
    }
}

fn stream_random_chunks(input: &[u8], include_usage: bool, rng: &mut StdRng) {
    let mut stream = AnthropicUpstreamStream::new(&response_target(include_usage), "id".into());
    let mut out = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let n = rng.random_range(1..=rest.len().min(64));
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        if stream.feed(chunk, &mut out).is_err() {
            return;
        }
    }
    let _ = stream.finish(&mut out);
}

/// The JSON data of every event of a stream fixture.
fn stream_events(input: &[u8]) -> Vec<Value> {
    sse_events(input)
        .iter()
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect()
}

#[test]
fn random_input_never_panics() {
    let mut rng = StdRng::seed_from_u64(0x05ee_da7c);
    let responses: Vec<Value> = RESPONSE_CASES
        .iter()
        .map(|c| json_fixture(&format!("{c}.anthropic-response.json")))
        .collect();
    let streams: Vec<Vec<u8>> = STREAM_CASES
        .iter()
        .map(|(c, _)| fixture(&format!("{c}.anthropic.sse")))
        .collect();
    let events: Vec<Value> = streams.iter().flat_map(|s| stream_events(s)).collect();
    for i in 0..3000 {
        let input: Vec<u8> = match i % 6 {
            0 => (0..rng.random_range(0..256))
                .map(|_| rng.random())
                .collect(),
            1 => mutate_bytes(&streams[rng.random_range(0..streams.len())], &mut rng),
            2 => random_value(&mut rng, 0).to_string().into_bytes(),
            3 => {
                let mut v = events[rng.random_range(0..events.len())].clone();
                mutate_value(&mut v, &mut rng, 0);
                v.to_string().into_bytes()
            }
            _ => {
                let mut v = responses[rng.random_range(0..responses.len())].clone();
                mutate_value(&mut v, &mut rng, 0);
                v.to_string().into_bytes()
            }
        };
        let _ = anthropic::translate_response(&input, &response_target(false));
        let _ = anthropic::translate_error(rng.random(), &input);
        stream_random_chunks(&input, rng.random(), &mut rng);
        // The same bytes as a stream of SSE events.
        let mut sse = Vec::new();
        for _ in 0..rng.random_range(1..4) {
            sse.extend_from_slice(b"data: ");
            sse.extend_from_slice(&input);
            sse.extend_from_slice(b"\n\n");
        }
        stream_random_chunks(&sse, rng.random(), &mut rng);
    }
    // Whole fixture streams with some events mutated.
    for _ in 0..500 {
        let base = &streams[rng.random_range(0..streams.len())];
        let mut sse = Vec::new();
        for mut event in stream_events(base) {
            if rng.random_range(0..4) == 0 {
                mutate_value(&mut event, &mut rng, 0);
            }
            sse.extend_from_slice(b"data: ");
            sse.extend_from_slice(event.to_string().as_bytes());
            sse.extend_from_slice(b"\n\n");
        }
        stream_random_chunks(&sse, rng.random(), &mut rng);
    }
}

#[test]
fn random_requests_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x07e9_0a7c);
    let requests: Vec<Value> = REQUEST_CASES
        .iter()
        .map(|(c, _)| json_fixture(&format!("{c}.request.json")))
        .collect();
    let target = RequestTarget {
        model: TARGET_MODEL,
        api_version: None,
        vertex: None,
        ..RequestTarget::default()
    };
    let mut translated = 0;
    for _ in 0..3000 {
        let mut v = requests[rng.random_range(0..requests.len())].clone();
        mutate_value(&mut v, &mut rng, 0);
        if let Ok(req) = serde_json::from_value::<ChatRequest>(v) {
            if anthropic::translate_request(&req, &target).is_ok() {
                translated += 1;
            }
        }
    }
    assert!(translated > 0);
}
