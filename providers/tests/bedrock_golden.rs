//! Golden tests of the Bedrock translation, from the files in `tests/fixtures/bedrock/`:
//! - `<case>.request.json` (OpenAI request) -> `<case>.upstream.json` (Converse body), path below;
//! - `<case>.bedrock-response.json` -> `<case>.openai-response.json`;
//! - `<case>.events.json` (`[message type, event/exception type, payload]` triples, encoded
//!   here into binary event stream frames) -> `<case>.openai.sse`, also split at every size;
//! - `<case>.bedrock-error.{json,txt}` -> `<case>.openai-error.json`.
//!
//! `BLESS=1 cargo test -p sluice-providers --test bedrock_golden` rewrites the expected files
//! (to review by hand). JSON is compared as `serde_json::Value`; SSE event by event.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sluice_providers::bedrock::eventstream::{encode_event, encode_exception, encode_message};
use sluice_providers::bedrock::{self, BedrockStream};
use sluice_providers::openai::ChatRequest;
use sluice_providers::{
    RequestTarget, ResponseTarget, StreamFacts, StreamTranslator, ToolCallFact, TranslateError,
    Usage,
};

mod common;
use common::{assert_same_events, mutate_bytes, normalize, sse_events};

const CREATED: u64 = 1_700_000_000;
const TARGET_MODEL: &str = "anthropic.claude-3-5-sonnet-20240620-v1:0";

fn path_of(name: &str) -> String {
    format!(
        "{}/tests/fixtures/bedrock/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn fixture(name: &str) -> Vec<u8> {
    let path = path_of(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

fn json_fixture(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).unwrap_or_else(|e| panic!("parsing {name}: {e}"))
}

fn bless() -> bool {
    std::env::var_os("BLESS").is_some()
}

/// With `BLESS` set, writes `got` as the expected file `name`.
fn maybe_bless(name: &str, got: &[u8]) {
    if bless() {
        std::fs::write(path_of(name), got).unwrap();
    }
}

fn bless_json(name: &str, got: &Value) {
    if bless() {
        let mut text = serde_json::to_string_pretty(got).unwrap();
        text.push('\n');
        maybe_bless(name, text.as_bytes());
    }
}

fn response_target(include_usage: bool) -> ResponseTarget<'static> {
    ResponseTarget {
        model: TARGET_MODEL,
        created: CREATED,
        include_usage,
    }
}

// ---------------------------------------------------------------------------------------------
// Requests

/// (case, target model, expected path)
const REQUEST_CASES: &[(&str, &str, &str)] = &[
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

const CLAUDE_4_5: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";

fn translate_request_fixture(case: &str, model: &str) -> (String, Vec<u8>) {
    let req = ChatRequest::parse(&fixture(&format!("{case}.request.json")))
        .unwrap_or_else(|e| panic!("{case}: {e}"));
    let target = RequestTarget {
        model,
        api_version: None,
        vertex: None,
        ..RequestTarget::default()
    };
    let up = bedrock::translate_request(&req, &target).unwrap_or_else(|e| panic!("{case}: {e}"));
    (up.path, up.body)
}

#[test]
fn request_goldens() {
    for &(case, model, path) in REQUEST_CASES {
        let (got_path, body) = translate_request_fixture(case, model);
        assert_eq!(got_path, path, "{case}: path");
        let got: Value = serde_json::from_slice(&body).expect("body is JSON");
        bless_json(&format!("{case}.upstream.json"), &got);
        let want = json_fixture(&format!("{case}.upstream.json"));
        assert_eq!(
            got,
            want,
            "{case}: body\n got: {}\nwant: {}",
            serde_json::to_string_pretty(&got).unwrap_or_default(),
            serde_json::to_string_pretty(&want).unwrap_or_default()
        );
    }
}

#[test]
fn basic_request_is_byte_exact() {
    let (_, body) = translate_request_fixture("basic", "amazon.nova-lite-v1:0");
    assert_eq!(
        String::from_utf8(body).unwrap(),
        r#"{"messages":[{"role":"user","content":[{"text":"Explain how AI works in simple terms."}]}]}"#
    );
}

fn translate_json(req: Value) -> Result<Value, TranslateError> {
    translate_json_for(req, "amazon.nova-pro-v1:0")
}

fn translate_json_for(req: Value, model: &str) -> Result<Value, TranslateError> {
    let req: ChatRequest = serde_json::from_value(req).expect("valid ChatRequest");
    let target = RequestTarget {
        model,
        api_version: None,
        vertex: None,
        ..RequestTarget::default()
    };
    let up = bedrock::translate_request(&req, &target)?;
    Ok(serde_json::from_slice(&up.body).expect("body is JSON"))
}

#[test]
fn tool_choice_modes() {
    let tools = json!([{"type": "function", "function": {"name": "f"}}]);
    let user = json!({"role": "user", "content": "hi"});
    for (choice, want) in [
        (json!("auto"), json!({"auto": {}})),
        (json!("required"), json!({"any": {}})),
        (
            json!({"type": "function", "function": {"name": "f"}}),
            json!({"tool": {"name": "f"}}),
        ),
    ] {
        let body =
            translate_json(json!({"messages": [user], "tools": tools, "tool_choice": choice}))
                .unwrap();
        assert_eq!(body["toolConfig"]["toolChoice"], want);
        assert_eq!(
            body["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"],
            json!({"type": "object", "properties": {}})
        );
    }
    // "none": no tools, unless the conversation holds tool blocks (then no choice).
    let body =
        translate_json(json!({"messages": [user], "tools": tools, "tool_choice": "none"})).unwrap();
    assert_eq!(body.get("toolConfig"), None);
    let history = json!([
        user,
        {"role": "assistant", "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": ""}}]},
        {"role": "tool", "tool_call_id": "t1", "content": "ok"}
    ]);
    let body = translate_json(json!({"messages": history, "tools": tools, "tool_choice": "none"}))
        .unwrap();
    assert_eq!(body["toolConfig"].get("toolChoice"), None);
    assert_eq!(body["toolConfig"]["tools"][0]["toolSpec"]["name"], "f");
    assert_eq!(
        body["messages"][1]["content"][0]["toolUse"]["input"],
        json!({})
    );
    // No tools: no toolConfig whatever the choice.
    let body = translate_json(json!({"messages": [user], "tool_choice": "required"})).unwrap();
    assert_eq!(body.get("toolConfig"), None);
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
            json!({"messages": [user, {"role": "assistant", "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}]}),
            invalid,
        ),
        (
            json!({"messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}]}),
            unsupported,
        ),
        (
            json!({"messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "data:image/tiff;base64,AAAA"}}]}]}),
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
        (json!({"messages": [user], "n": 2}), unsupported),
        (
            json!({"messages": [user], "response_format": {"type": "json_object"}}),
            unsupported,
        ),
        (
            json!({"messages": [user], "tools": [{"type": "retrieval", "function": {"name": "r"}}]}),
            unsupported,
        ),
        (
            json!({"messages": [user], "tool_choice": "sometimes"}),
            invalid,
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
        bedrock::translate_request(&req, &target),
        Err(TranslateError::InvalidRequest(_))
    ));
}

#[test]
fn cache_control_becomes_cache_points() {
    let (_, body) = translate_request_fixture("cache_and_thinking", CLAUDE_4_5);
    let body: Value = serde_json::from_slice(&body).unwrap();
    let point = json!({"cachePoint": {"type": "default"}});
    // System: the breakpoint stays after its own part, not after the joined text.
    assert_eq!(
        body["system"],
        json!([
            {"text": "You are a weather bot."},
            {"cachePoint": {"type": "default", "ttl": "1h"}},
            {"text": "Answer briefly."}
        ])
    );
    let user = &body["messages"][0]["content"];
    assert_eq!(user[1], point, "after the text part");
    assert_eq!(user[2]["image"]["format"], "png");
    assert_eq!(
        user[3],
        json!({"cachePoint": {"type": "default", "ttl": "5m"}}),
        "after the image"
    );
    let assistant = &body["messages"][1]["content"];
    assert_eq!(assistant[2], json!({"text": "Let me look."}));
    assert_eq!(assistant[3], point);
    let tool_result = &body["messages"][2]["content"];
    assert_eq!(tool_result[0]["toolResult"]["toolUseId"], "tooluse_1");
    assert_eq!(tool_result[1], point, "after the tool result");
    let tools = &body["toolConfig"]["tools"];
    assert_eq!(tools[0]["toolSpec"]["name"], "get_weather");
    assert_eq!(
        tools[1],
        json!({"cachePoint": {"type": "default", "ttl": "1h"}}),
        "after its tool"
    );
    // No breakpoint, no cache point.
    let body = translate_json(json!({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "hi"}]}]}))
    .unwrap();
    assert_eq!(body["messages"][0]["content"], json!([{"text": "hi"}]));
    // Only Anthropic's breakpoints exist.
    for control in [
        json!({"type": "ephemeral", "ttl": "2h"}),
        json!({"type": "persistent"}),
        json!("yes"),
    ] {
        let err = translate_json(json!({"messages": [{"role": "user", "content": [
            {"type": "text", "text": "hi", "cache_control": control}]}]}))
        .unwrap_err();
        assert!(
            matches!(&err, TranslateError::InvalidRequest(m) if m.contains("cache_control")),
            "{err:?}"
        );
    }
}

#[test]
fn tool_results_carry_images() {
    let body = translate_json(json!({"messages": [
        {"role": "user", "content": "Take a picture."},
        {"role": "assistant", "tool_calls": [
            {"id": "t1", "type": "function", "function": {"name": "snap", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "t1", "content": [
            {"type": "text", "text": "Here it is."},
            {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}}]}
    ]}))
    .unwrap();
    assert_eq!(
        body["messages"][2]["content"],
        json!([{"toolResult": {"toolUseId": "t1", "content": [
            {"text": "Here it is."},
            {"image": {"format": "jpeg", "source": {"bytes": "/9j/4AAQ"}}}
        ]}}])
    );
}

#[test]
fn thinking_goes_to_additional_fields_for_claude() {
    // The fixture: Anthropic's own thinking object, top_k, max_tokens under the budget.
    let (_, body) = translate_request_fixture("cache_and_thinking", CLAUDE_4_5);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        body["additionalModelRequestFields"],
        json!({"thinking": {"type": "enabled", "budget_tokens": 4000}, "top_k": 40})
    );
    assert_eq!(
        body["inferenceConfig"],
        json!({"maxTokens": 5000}),
        "room for the answer beyond the budget"
    );
    let user = json!({"role": "user", "content": "hi"});
    // reasoning_effort on a budget model: the effort table's budget.
    let body = translate_json_for(
        json!({"messages": [user], "reasoning_effort": "high"}),
        CLAUDE_4_5,
    )
    .unwrap();
    assert_eq!(
        body["additionalModelRequestFields"],
        json!({"thinking": {"type": "enabled", "budget_tokens": 16384}})
    );
    assert_eq!(body["inferenceConfig"]["maxTokens"], 16384 + 4096);
    // On a model that takes only adaptive thinking: adaptive, with the effort.
    let body = translate_json_for(
        json!({"messages": [user], "reasoning_effort": "medium", "max_tokens": 2000}),
        "global.anthropic.claude-opus-4-6-v1",
    )
    .unwrap();
    assert_eq!(
        body["additionalModelRequestFields"],
        json!({"thinking": {"type": "adaptive"}, "output_config": {"effort": "medium"}})
    );
    assert_eq!(body["inferenceConfig"]["maxTokens"], 2000);
    // Off: thinking disabled, and no limit the client did not set.
    let body = translate_json_for(
        json!({"messages": [user], "reasoning_effort": "none"}),
        CLAUDE_4_5,
    )
    .unwrap();
    assert_eq!(
        body["additionalModelRequestFields"],
        json!({"thinking": {"type": "disabled"}})
    );
    assert_eq!(body.get("inferenceConfig"), None);
    // Nothing asked: nothing added.
    let body = translate_json_for(json!({"messages": [user]}), CLAUDE_4_5).unwrap();
    assert_eq!(body.get("additionalModelRequestFields"), None);
}

#[test]
fn other_models_ignore_thinking_and_refuse_top_k() {
    let user = json!({"role": "user", "content": "hi"});
    let body = translate_json(json!({
        "messages": [user],
        "reasoning_effort": "high",
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "max_tokens": 100
    }))
    .unwrap();
    assert_eq!(body.get("additionalModelRequestFields"), None);
    assert_eq!(body["inferenceConfig"], json!({"maxTokens": 100}));
    let err = translate_json(json!({"messages": [user], "top_k": 5})).unwrap_err();
    assert!(err.to_string().contains("`top_k`"), "{err}");
}

#[test]
fn refusals_name_the_field() {
    let user = json!({"role": "user", "content": "hi"});
    for (field, value) in [
        ("presence_penalty", json!(0.5)),
        ("frequency_penalty", json!(-1.0)),
        ("parallel_tool_calls", json!(false)),
        ("logprobs", json!(true)),
        ("logit_bias", json!({"50256": -100})),
        ("top_logprobs", json!(2)),
        ("modalities", json!(["text", "audio"])),
    ] {
        let mut req = json!({"messages": [user]});
        req[field] = value;
        let err = translate_json(req).unwrap_err();
        assert!(
            matches!(&err, TranslateError::Unsupported(m)
                if m.contains(&format!("`{field}`")) && m.contains("Bedrock Converse")),
            "{field}: {err:?}"
        );
    }
    // What cannot change the answer passes, and is not sent.
    let body = translate_json(json!({
        "messages": [user],
        "seed": 1, "user": "u-1", "store": true, "metadata": {"k": "v"},
        "service_tier": "auto", "prompt_cache_key": "k", "prompt_cache_retention": "24h",
        "safety_identifier": "s", "parallel_tool_calls": true, "logprobs": false,
        "presence_penalty": 0, "frequency_penalty": 0.0
    }))
    .unwrap();
    assert_eq!(
        body,
        json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]})
    );
}

#[test]
fn reasoning_round_trips() {
    // The answer's thinking, sent back with the assistant message, becomes the same blocks.
    let answer = json_fixture("reasoning.bedrock-response.json");
    let completion = translate_response_fixture("reasoning");
    let message: Value =
        serde_json::from_slice::<Value>(&completion.body).unwrap()["choices"][0]["message"].clone();
    assert_eq!(message["reasoning_content"], "Paris first, then the tool.");
    assert_eq!(completion.texts, vec!["It is 18 degrees in Paris."]);
    let body = translate_json_for(
        json!({"messages": [
            {"role": "user", "content": "Weather?"},
            message,
            {"role": "user", "content": "And tomorrow?"}
        ]}),
        CLAUDE_4_5,
    )
    .unwrap();
    assert_eq!(
        body["messages"][1]["content"],
        answer["output"]["message"]["content"]
    );
}

// ---------------------------------------------------------------------------------------------
// Responses

const RESPONSE_CASES: &[&str] = &["basic", "tool_use", "max_tokens", "guardrail", "reasoning"];

fn translate_response_fixture(case: &str) -> sluice_providers::Completion {
    let body = fixture(&format!("{case}.bedrock-response.json"));
    bedrock::translate_response(&body, &response_target(false))
        .unwrap_or_else(|e| panic!("{case}: {e}"))
}

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
        let mut want = json_fixture(&format!("{case}.openai-response.json"));
        normalize(&mut got);
        normalize(&mut want);
        assert_eq!(
            got,
            want,
            "{case}\n got: {}\nwant: {}",
            serde_json::to_string_pretty(&got).unwrap_or_default(),
            serde_json::to_string_pretty(&want).unwrap_or_default()
        );
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

// ---------------------------------------------------------------------------------------------
// Streams

/// (case, include_usage)
const STREAM_CASES: &[(&str, bool)] = &[
    ("stream_text", true),
    ("stream_tools", false),
    ("stream_exception", true),
    ("stream_reasoning", true),
];

/// The binary event stream described by `<case>.events.json`.
fn stream_bytes(case: &str) -> Vec<u8> {
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

fn run_stream<'a>(
    include_usage: bool,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<(Vec<u8>, StreamFacts), TranslateError> {
    let mut stream = BedrockStream::new(&response_target(include_usage), "chatcmpl-test".into());
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
        let input = stream_bytes(case);
        let (out, _) =
            run_stream(include_usage, [&input[..]]).unwrap_or_else(|e| panic!("{case}: {e}"));
        maybe_bless(&format!("{case}.openai.sse"), &out);
        assert_same_events(case, &out, &fixture(&format!("{case}.openai.sse")));
        let events = sse_events(&out);
        assert_eq!(
            events.iter().filter(|e| *e == "[DONE]").count(),
            1,
            "{case}: one [DONE]"
        );
        assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    }
}

#[test]
fn stream_output_does_not_depend_on_splits() {
    let mut rng = StdRng::seed_from_u64(7);
    for &(case, include_usage) in STREAM_CASES {
        let input = stream_bytes(case);
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
    let (_, facts) = run_stream(true, [&stream_bytes("stream_text")[..]]).unwrap();
    assert_eq!(
        facts,
        StreamFacts {
            usage: Usage {
                input_tokens: Some(18),
                output_tokens: Some(12),
                total_tokens: Some(30),
                cached_input_tokens: Some(10),
                ..Usage::default()
            },
            response_model: Some(TARGET_MODEL.into()),
            texts: vec!["AI learns patterns from data — then predicts. ✨".into()],
            finish_reasons: vec!["stop".into()],
            tool_calls: vec![],
            first_token_seen: true,
            error: None,
        }
    );

    let (_, facts) = run_stream(true, [&stream_bytes("stream_reasoning")[..]]).unwrap();
    assert_eq!(
        facts.texts,
        vec!["18 degrees."],
        "reasoning is not answer text"
    );
    assert_eq!(
        facts.usage,
        Usage {
            input_tokens: Some(1520),
            output_tokens: Some(40),
            total_tokens: Some(1560),
            cached_input_tokens: Some(1000),
            cache_creation_input_tokens: Some(500),
            ..Usage::default()
        }
    );

    let (_, facts) = run_stream(false, [&stream_bytes("stream_tools")[..]]).unwrap();
    assert_eq!(facts.usage.total_tokens, Some(70));
    assert_eq!(facts.texts, vec!["Checking both cities."]);
    assert_eq!(facts.finish_reasons, vec!["tool_calls"]);
    assert_eq!(
        facts.tool_calls,
        vec![
            ToolCallFact {
                id: "tooluse_paris".into(),
                name: "get_weather".into(),
                arguments: r#"{"city": "Paris"}"#.into(),
            },
            ToolCallFact {
                id: "tooluse_tokyo".into(),
                name: "get_weather".into(),
                arguments: r#"{"city": "Tokyo", "unit": "celsius"}"#.into(),
            },
        ]
    );
}

#[test]
fn first_token_waits_for_content() {
    let mut stream = BedrockStream::new(&response_target(false), "id".into());
    let mut out = Vec::new();
    stream
        .feed(
            &encode_event("messageStart", br#"{"role":"assistant"}"#),
            &mut out,
        )
        .unwrap();
    assert!(!out.is_empty());
    assert!(!stream.facts().first_token_seen);
    let delta = br#"{"contentBlockIndex":0,"delta":{"text":"x"}}"#;
    stream
        .feed(&encode_event("contentBlockDelta", delta), &mut out)
        .unwrap();
    assert!(stream.facts().first_token_seen);
}

#[test]
fn reasoning_is_the_first_token() {
    let mut stream = BedrockStream::new(&response_target(false), "id".into());
    let mut out = Vec::new();
    stream
        .feed(
            &encode_event("messageStart", br#"{"role":"assistant"}"#),
            &mut out,
        )
        .unwrap();
    assert!(!stream.facts().first_token_seen);
    let delta = br#"{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"hm"}}}"#;
    stream
        .feed(&encode_event("contentBlockDelta", delta), &mut out)
        .unwrap();
    assert!(stream.facts().first_token_seen);
    assert_eq!(stream.facts().texts, vec![""]);
}

#[test]
fn stream_end_cases() {
    // An empty stream still ends, once.
    let (out, facts) = run_stream(true, []).unwrap();
    assert_eq!(out, b"data: [DONE]\n\n");
    assert!(!facts.first_token_seen);
    // No metadata: finish() ends the stream; a metadata event ends it early, and later
    // events (and finish) add nothing.
    let mut input = stream_bytes("stream_text");
    let (whole, _) = run_stream(true, [&input[..]]).unwrap();
    input.extend(encode_event(
        "contentBlockDelta",
        br#"{"contentBlockIndex":0,"delta":{"text":"late"}}"#,
    ));
    let (with_late, _) = run_stream(true, [&input[..]]).unwrap();
    assert_eq!(whole, with_late);
}

#[test]
fn invalid_streams_are_errors() {
    let cases: Vec<Vec<u8>> = vec![
        encode_event("contentBlockDelta", b"{not json"),
        encode_message(&[(":message-type", "event")], b"{}"),
        encode_message(&[(":message-type", "party")], b"{}"),
        encode_event(
            "contentBlockDelta",
            br#"{"contentBlockIndex":3,"delta":{"toolUse":{"input":"{}"}}}"#,
        ),
        // Cut inside a frame.
        encode_event("messageStart", br#"{"role":"assistant"}"#)[..20].to_vec(),
    ];
    for input in cases {
        assert!(
            matches!(
                run_stream(false, [&input[..]]),
                Err(TranslateError::InvalidResponse(_))
            ),
            "{input:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

/// (case, input file extension, HTTP status)
const ERROR_CASES: &[(&str, &str, u16)] = &[
    ("throttling", "json", 429),
    ("validation", "json", 400),
    ("access_denied", "json", 403),
    ("unrecognized", "json", 403),
    ("html", "txt", 502),
    ("empty", "txt", 503),
];

#[test]
fn error_goldens() {
    for &(case, ext, status) in ERROR_CASES {
        let body =
            bedrock::translate_error(status, &fixture(&format!("{case}.bedrock-error.{ext}")));
        let got: Value = serde_json::from_slice(&body).expect("error body is JSON");
        bless_json(&format!("{case}.openai-error.json"), &got);
        assert_eq!(
            got,
            json_fixture(&format!("{case}.openai-error.json")),
            "{case}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// No input makes the translation panic

const KEYS: &[&str] = &[
    "output",
    "message",
    "content",
    "text",
    "toolUse",
    "toolUseId",
    "name",
    "input",
    "stopReason",
    "usage",
    "inputTokens",
    "outputTokens",
    "totalTokens",
    "cacheReadInputTokens",
    "cacheWriteInputTokens",
    "reasoningContent",
    "reasoningText",
    "signature",
    "redactedContent",
    "contentBlockIndex",
    "start",
    "delta",
    "role",
    "__type",
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
        _ => {}
    }
}

fn stream_random_chunks(input: &[u8], include_usage: bool, rng: &mut StdRng) {
    let mut stream = BedrockStream::new(&response_target(include_usage), "id".into());
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

#[test]
fn random_input_never_panics() {
    let mut rng = StdRng::seed_from_u64(0x5eed_bed0);
    let responses: Vec<Value> = RESPONSE_CASES
        .iter()
        .map(|c| json_fixture(&format!("{c}.bedrock-response.json")))
        .collect();
    let streams: Vec<Vec<u8>> = STREAM_CASES.iter().map(|(c, _)| stream_bytes(c)).collect();
    let event_types = [
        "messageStart",
        "contentBlockStart",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
    ];
    for i in 0..3000 {
        let input: Vec<u8> = match i % 5 {
            0 => (0..rng.random_range(0..256))
                .map(|_| rng.random())
                .collect(),
            1 => mutate_bytes(&streams[rng.random_range(0..streams.len())], &mut rng),
            2 => random_value(&mut rng, 0).to_string().into_bytes(),
            _ => {
                let mut v = responses[rng.random_range(0..responses.len())].clone();
                mutate_value(&mut v, &mut rng, 0);
                v.to_string().into_bytes()
            }
        };
        let _ = bedrock::translate_response(&input, &response_target(false));
        let _ = bedrock::translate_error(rng.random(), &input);
        stream_random_chunks(&input, rng.random(), &mut rng);
        // The same bytes as payloads of well-framed events.
        let mut frames = Vec::new();
        for _ in 0..rng.random_range(1..4) {
            let kind = event_types[rng.random_range(0..event_types.len())];
            frames.extend(if rng.random_range(0..8) == 0 {
                encode_exception(kind, &input)
            } else {
                encode_event(kind, &input)
            });
        }
        stream_random_chunks(&frames, rng.random(), &mut rng);
    }
}

#[test]
fn random_requests_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x7e9_bed0);
    let requests: Vec<Value> = REQUEST_CASES
        .iter()
        .map(|(c, ..)| json_fixture(&format!("{c}.request.json")))
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
            if bedrock::translate_request(&req, &target).is_ok() {
                translated += 1;
            }
        }
    }
    assert!(translated > 0);
}
