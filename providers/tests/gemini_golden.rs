//! Golden tests of the Gemini translation, from the files in `tests/fixtures/gemini/`:
//! - `<case>.request.json` (OpenAI request) -> `<case>.upstream.json` (Gemini body), path below;
//! - `<case>.gemini-response.json` -> `<case>.openai-response.json`;
//! - `<case>.gemini.sse` -> `<case>.openai.sse`, also fed split at every size and at random;
//! - `<case>.gemini-error.{json,txt}` -> `<case>.openai-error.json`.
//!
//! JSON is compared as `serde_json::Value` (key order is free); SSE event by event.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sluice_providers::gemini::{self, GeminiStream};
use sluice_providers::openai::ChatRequest;
use sluice_providers::{
    RequestTarget, ResponseTarget, StreamFacts, StreamTranslator, ToolCallFact, TranslateError,
    Usage,
};

mod common;
use common::{assert_same_events, mutate_bytes, normalize, sse_events};

const CREATED: u64 = 1_700_000_000;
const TARGET_MODEL: &str = "gemini-1.5-pro";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/gemini/{name}",
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

// ---------------------------------------------------------------------------------------------
// Requests

/// (case, target model, api_version, expected path)
const REQUEST_CASES: &[(&str, &str, Option<&str>, &str)] = &[
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

fn translate_request_fixture(case: &str, model: &str, version: Option<&str>) -> (String, Vec<u8>) {
    let req = ChatRequest::parse(&fixture(&format!("{case}.request.json")))
        .unwrap_or_else(|e| panic!("{case}: {e}"));
    let target = RequestTarget {
        model,
        api_version: version,
        vertex: None,
        ..RequestTarget::default()
    };
    let up = gemini::translate_request(&req, &target).unwrap_or_else(|e| panic!("{case}: {e}"));
    (up.path, up.body)
}

#[test]
fn request_goldens() {
    for &(case, model, version, path) in REQUEST_CASES {
        let (got_path, body) = translate_request_fixture(case, model, version);
        assert_eq!(got_path, path, "{case}: path");
        let got: Value = serde_json::from_slice(&body).expect("body is JSON");
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
fn seed_request_is_byte_exact() {
    let (path, body) =
        translate_request_fixture("basic", "gemini-1.5-flash-latest", Some("v1beta"));
    assert_eq!(
        path,
        "/v1beta/models/gemini-1.5-flash-latest:generateContent"
    );
    assert_eq!(
        String::from_utf8(body).unwrap(),
        r#"{"contents":[{"role":"user","parts":[{"text":"Explain how AI works in simple terms."}]}]}"#
    );
}

#[test]
fn floats_stay_as_sent() {
    let (_, body) = translate_request_fixture("system_and_params", "gemini-2.0-flash", None);
    let body = String::from_utf8(body).unwrap();
    for expected in [
        r#""temperature":0.2"#,
        r#""topP":0.95"#,
        r#""presencePenalty":0.5"#,
        r#""frequencyPenalty":-0.25"#,
    ] {
        assert!(body.contains(expected), "{expected} missing in {body}");
    }
}

fn translate_json(req: Value, model: &str) -> Result<Value, TranslateError> {
    let req: ChatRequest = serde_json::from_value(req).expect("valid ChatRequest");
    let target = RequestTarget {
        model,
        api_version: None,
        vertex: None,
        ..RequestTarget::default()
    };
    let up = gemini::translate_request(&req, &target)?;
    Ok(serde_json::from_slice(&up.body).expect("body is JSON"))
}

#[test]
fn tool_choice_modes() {
    for (choice, config) in [
        (json!("none"), json!({"mode": "NONE"})),
        (json!("required"), json!({"mode": "ANY"})),
        (json!("auto"), json!({"mode": "AUTO"})),
    ] {
        let body = translate_json(
            json!({"messages": [{"role": "user", "content": "hi"}], "tool_choice": choice}),
            "gemini-2.0-flash",
        )
        .unwrap();
        assert_eq!(body["toolConfig"]["functionCallingConfig"], config);
    }
}

#[test]
fn invalid_requests_are_refused() {
    let user = json!({"role": "user", "content": "hi"});
    type Check = fn(&TranslateError) -> bool;
    let cases: Vec<(Value, &str, Check)> = vec![
        (json!({"messages": [user]}), "../../v1/files?key=x", |e| {
            matches!(e, TranslateError::InvalidRequest(_))
        }),
        (json!({"messages": [user]}), "", |e| {
            matches!(e, TranslateError::InvalidRequest(_))
        }),
        (
            json!({"messages": [{"role": "wizard", "content": "hi"}]}),
            "gemini-2.0-flash",
            |e| matches!(e, TranslateError::InvalidRequest(_)),
        ),
        (
            json!({"messages": [user, {"role": "tool", "tool_call_id": "call_9", "content": "x"}]}),
            "gemini-2.0-flash",
            |e| matches!(e, TranslateError::InvalidRequest(_)),
        ),
        (
            json!({"messages": [user, {"role": "assistant", "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}]}),
            "gemini-2.0-flash",
            |e| matches!(e, TranslateError::InvalidRequest(_)),
        ),
        (
            json!({"messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "ftp://example.com/a.png"}}]}]}),
            "gemini-2.0-flash",
            |e| matches!(e, TranslateError::Unsupported(_)),
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "video", "video": {}}]}]}),
            "gemini-2.0-flash",
            |e| matches!(e, TranslateError::Unsupported(_)),
        ),
        (
            json!({"messages": [user], "response_format": {"type": "yaml"}}),
            "gemini-2.0-flash",
            |e| matches!(e, TranslateError::Unsupported(_)),
        ),
    ];
    for (req, model, check) in cases {
        let err = translate_json(req.clone(), model).expect_err(&format!("{req} accepted"));
        assert!(check(&err), "{req}: unexpected error {err:?}");
    }
}

#[test]
fn thinking_config_by_model() {
    let user = json!({"role": "user", "content": "hi"});
    let config = |extra: Value, model: &str| {
        let mut req = json!({"messages": [user]});
        for (k, v) in extra.as_object().unwrap() {
            req[k] = v.clone();
        }
        let body = translate_json(req, model).unwrap();
        body["generationConfig"]["thinkingConfig"].clone()
    };
    let cases = [
        // reasoning_effort: a budget before Gemini 3, a level from it.
        (
            json!({"reasoning_effort": "low"}),
            "gemini-2.5-flash",
            json!({"includeThoughts": true, "thinkingBudget": 2048}),
        ),
        (
            json!({"reasoning_effort": "high"}),
            "gemini-2.5-pro",
            json!({"includeThoughts": true, "thinkingBudget": 16384}),
        ),
        (
            json!({"reasoning_effort": "medium"}),
            "gemini-3-pro-preview",
            json!({"includeThoughts": true, "thinkingLevel": "high"}),
        ),
        (
            json!({"reasoning_effort": "minimal"}),
            "gemini-3-pro-preview",
            json!({"includeThoughts": true, "thinkingLevel": "low"}),
        ),
        // Anthropic's thinking object: the budget as it is, or the level it amounts to.
        (
            json!({"thinking": {"type": "enabled", "budget_tokens": 5000}}),
            "gemini-2.5-flash",
            json!({"includeThoughts": true, "thinkingBudget": 5000}),
        ),
        (
            json!({"thinking": {"type": "enabled", "budget_tokens": 5000}}),
            "gemini-3-pro-preview",
            json!({"includeThoughts": true, "thinkingLevel": "low"}),
        ),
        (
            json!({"thinking": {"type": "enabled", "budget_tokens": 20000}}),
            "gemini-3-flash-preview",
            json!({"includeThoughts": true, "thinkingLevel": "high"}),
        ),
        (
            json!({"thinking": {"type": "adaptive"}}),
            "gemini-2.5-flash",
            json!({"includeThoughts": true, "thinkingBudget": -1}),
        ),
        (
            json!({"thinking": {"type": "adaptive"}}),
            "gemini-3-pro-preview",
            json!({"includeThoughts": true}),
        ),
        (
            json!({"thinking": {"type": "adaptive"}, "reasoning_effort": "low"}),
            "gemini-3-pro-preview",
            json!({"includeThoughts": true, "thinkingLevel": "low"}),
        ),
        // Off: no thinking where it can be turned off, the least where it cannot.
        (
            json!({"thinking": {"type": "disabled"}}),
            "gemini-2.5-flash",
            json!({"includeThoughts": false, "thinkingBudget": 0}),
        ),
        (
            json!({"reasoning_effort": "none"}),
            "gemini-3-pro-preview",
            json!({"includeThoughts": false, "thinkingLevel": "low"}),
        ),
        (json!({}), "gemini-2.5-flash", Value::Null),
    ];
    for (extra, model, want) in cases {
        let got = config(extra.clone(), model);
        assert_eq!(got, want, "{extra} on {model}");
        assert!(
            got.get("thinkingBudget").is_none() || got.get("thinkingLevel").is_none(),
            "never both: {got}"
        );
    }
    let err = translate_json(
        json!({"messages": [user], "reasoning_effort": "enormous"}),
        "gemini-2.5-flash",
    )
    .unwrap_err();
    assert!(err.to_string().contains("reasoning_effort"), "{err}");
}

#[test]
fn thought_signature_comes_back_from_thinking_blocks() {
    // The answer's message, sent back by a client that keeps thinking blocks but not the
    // tool call ids' signatures.
    let completion = translate_response_fixture("tool_calls");
    let mut message: Value =
        serde_json::from_slice::<Value>(&completion.body).unwrap()["choices"][0]["message"].clone();
    message["tool_calls"][0]["id"] = json!("call_0");
    let body = translate_json(
        json!({"messages": [
            {"role": "user", "content": "Weather in Paris and Tokyo?"},
            message,
            {"role": "tool", "tool_call_id": "call_0", "content": "18"},
            {"role": "tool", "tool_call_id": "call_1", "content": "22"}
        ]}),
        "gemini-3-pro-preview",
    )
    .unwrap();
    let parts = &body["contents"][1]["parts"];
    assert_eq!(parts[0]["thoughtSignature"], "CiIBVKhc7vB1bXs=");
    assert_eq!(parts[0]["functionCall"]["name"], "get_weather");
    assert_eq!(
        parts[1].get("thoughtSignature"),
        None,
        "only the first call"
    );
    assert_eq!(
        parts.as_array().unwrap().len(),
        2,
        "no thought text sent back"
    );
}

#[test]
fn refusals_name_the_field() {
    let user = json!({"role": "user", "content": "hi"});
    for (field, value) in [
        ("parallel_tool_calls", json!(false)),
        ("logprobs", json!(true)),
        ("logit_bias", json!({"50256": -100})),
        ("audio", json!({"voice": "alloy", "format": "mp3"})),
    ] {
        let mut req = json!({"messages": [user]});
        req[field] = value;
        let err = translate_json(req, "gemini-2.5-flash").unwrap_err();
        assert!(
            matches!(&err, TranslateError::Unsupported(m)
                if m.contains(&format!("`{field}`")) && m.contains("Gemini")),
            "{field}: {err:?}"
        );
    }
    let err = translate_json(
        json!({"messages": [
            user,
            {"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "snap", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c", "content": [
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}
        ]}),
        "gemini-2.5-flash",
    )
    .unwrap_err();
    assert!(err.to_string().contains("tool result"), "{err}");
    // What cannot change the answer passes, and is not sent.
    let body = translate_json(
        json!({
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]}],
            "user": "u-1", "store": true, "metadata": {"k": "v"}, "service_tier": "auto",
            "prompt_cache_key": "k", "prompt_cache_retention": "24h", "safety_identifier": "s",
            "parallel_tool_calls": true, "logprobs": false
        }),
        "gemini-2.5-flash",
    )
    .unwrap();
    assert_eq!(
        body,
        json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
    );
}

// ---------------------------------------------------------------------------------------------
// Responses

const RESPONSE_CASES: &[&str] = &[
    "basic",
    "tool_calls",
    "max_tokens_two_candidates",
    "prompt_blocked",
    "safety_stop",
    "thinking",
];

fn translate_response_fixture(case: &str) -> sluice_providers::Completion {
    let body = fixture(&format!("{case}.gemini-response.json"));
    gemini::translate_response(&body, &response_target(false))
        .unwrap_or_else(|e| panic!("{case}: {e}"))
}

#[test]
fn response_goldens() {
    for &case in RESPONSE_CASES {
        let completion = translate_response_fixture(case);
        let mut got: Value = serde_json::from_slice(&completion.body).expect("body is JSON");
        let mut want = json_fixture(&format!("{case}.openai-response.json"));
        if want["id"] == "<generated>" {
            let id = got["id"].as_str().unwrap_or_default().to_string();
            assert!(
                id.starts_with("chatcmpl-") && id.len() > 9,
                "{case}: id {id}"
            );
            want["id"] = Value::String(id);
        }
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

// ---------------------------------------------------------------------------------------------
// Streams

/// (case, include_usage)
const STREAM_CASES: &[(&str, bool)] = &[
    ("stream_text", true),
    ("stream_tools", false),
    ("stream_error", true),
    ("stream_blocked", false),
    ("stream_thinking", true),
];

fn run_stream<'a>(
    include_usage: bool,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<(Vec<u8>, StreamFacts), TranslateError> {
    let mut stream = GeminiStream::new(&response_target(include_usage), "chatcmpl-test".into());
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
        let input = fixture(&format!("{case}.gemini.sse"));
        let (out, _) =
            run_stream(include_usage, [&input[..]]).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_same_events(case, &out, &fixture(&format!("{case}.openai.sse")));
    }
}

#[test]
fn stream_output_does_not_depend_on_splits() {
    let mut rng = StdRng::seed_from_u64(7);
    for &(case, include_usage) in STREAM_CASES {
        let input = fixture(&format!("{case}.gemini.sse"));
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
    let input = fixture("stream_text.gemini.sse");
    let (_, facts) = run_stream(true, [&input[..]]).unwrap();
    assert_eq!(
        facts,
        StreamFacts {
            usage: Usage {
                input_tokens: Some(8),
                output_tokens: Some(12),
                total_tokens: Some(20),
                ..Usage::default()
            },
            response_model: Some("gemini-2.0-flash".into()),
            texts: vec!["AI learns patterns from data — then predicts. ✨".into()],
            finish_reasons: vec!["stop".into()],
            tool_calls: vec![],
            first_token_seen: true,
            error: None,
        }
    );

    let input = fixture("stream_thinking.gemini.sse");
    let (_, facts) = run_stream(true, [&input[..]]).unwrap();
    assert_eq!(
        facts.texts,
        vec!["It arrives tomorrow."],
        "thoughts left out"
    );
    assert_eq!(
        facts.usage,
        Usage {
            input_tokens: Some(120),
            output_tokens: Some(105),
            total_tokens: Some(225),
            cached_input_tokens: Some(100),
            reasoning_tokens: Some(100),
            ..Usage::default()
        }
    );

    let input = fixture("stream_tools.gemini.sse");
    let (_, facts) = run_stream(false, [&input[..]]).unwrap();
    assert_eq!(
        facts.usage,
        Usage {
            input_tokens: Some(40),
            output_tokens: Some(30),
            total_tokens: Some(70),
            reasoning_tokens: Some(10),
            ..Usage::default()
        }
    );
    assert_eq!(facts.texts, vec!["Checking both cities."]);
    assert_eq!(facts.finish_reasons, vec!["tool_calls"]);
    assert_eq!(
        facts.tool_calls,
        vec![
            ToolCallFact {
                id: "call_0__sig__Q2lJQlZLaGM=".into(),
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
}

#[test]
fn a_thought_is_the_first_token() {
    let mut stream = GeminiStream::new(&response_target(false), "id".into());
    let mut out = Vec::new();
    // No part yet: the role chunk goes out, but no token.
    let empty = "data: {\"candidates\":[{\"content\":{\"parts\":[]},\"index\":0}]}\n\n";
    stream.feed(empty.as_bytes(), &mut out).unwrap();
    assert!(!out.is_empty());
    assert!(!stream.facts().first_token_seen);
    // The first event of this stream is a thought only: streamed, so a token.
    let input = fixture("stream_tools.gemini.sse");
    let text = String::from_utf8(input).unwrap();
    let events: Vec<&str> = text.split_inclusive("\n\n").collect();
    stream.feed(events[0].as_bytes(), &mut out).unwrap();
    assert!(stream.facts().first_token_seen);
    assert_eq!(stream.facts().texts, vec![""]);
}

#[test]
fn usage_is_the_latest_not_a_sum() {
    let event = |n: u64| {
        format!(
            "data: {{\"candidates\":[{{\"content\":{{\"parts\":[{{\"text\":\"x\"}}]}}}}],\
             \"usageMetadata\":{{\"promptTokenCount\":5,\"candidatesTokenCount\":{n},\"totalTokenCount\":{}}}}}\n\n",
            5 + n
        )
    };
    let input = format!("{}{}{}", event(1), event(2), event(3));
    let (out, facts) = run_stream(true, [input.as_bytes()]).unwrap();
    assert_eq!(facts.usage.output_tokens, Some(3));
    assert_eq!(facts.usage.total_tokens, Some(8));
    let events = sse_events(&out);
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let usage: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
    assert_eq!(
        usage["usage"],
        json!({"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8})
    );
    assert_eq!(usage["choices"], json!([]));
}

#[test]
fn empty_stream_still_ends() {
    let (out, facts) = run_stream(true, []).unwrap();
    assert_eq!(out, b"data: [DONE]\n\n");
    assert!(!facts.first_token_seen);
}

#[test]
fn invalid_stream_event_is_an_error() {
    assert!(matches!(
        run_stream(false, [&b"data: {not json}\n\n"[..]]),
        Err(TranslateError::InvalidResponse(_))
    ));
    // Also when the bad event is the unterminated last one.
    assert!(matches!(
        run_stream(false, [&b"data: {\"candidates\": ["[..]]),
        Err(TranslateError::InvalidResponse(_))
    ));
    assert!(matches!(
        run_stream(
            false,
            [&b"data: {\"candidates\":[{\"index\":4000000000}]}\n\n"[..]]
        ),
        Err(TranslateError::InvalidResponse(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// Errors

/// (case, input file extension, HTTP status)
const ERROR_CASES: &[(&str, &str, u16)] = &[
    ("invalid_key", "json", 400),
    ("quota", "json", 429),
    ("model_not_found", "json", 404),
    ("html", "txt", 502),
    ("empty", "txt", 503),
];

#[test]
fn error_goldens() {
    for &(case, ext, status) in ERROR_CASES {
        let body = gemini::translate_error(status, &fixture(&format!("{case}.gemini-error.{ext}")));
        let got: Value = serde_json::from_slice(&body).expect("error body is JSON");
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
    "candidates",
    "content",
    "parts",
    "text",
    "thought",
    "thoughtSignature",
    "functionCall",
    "name",
    "args",
    "id",
    "finishReason",
    "index",
    "usageMetadata",
    "promptTokenCount",
    "candidatesTokenCount",
    "thoughtsTokenCount",
    "cachedContentTokenCount",
    "totalTokenCount",
    "modelVersion",
    "responseId",
    "promptFeedback",
    "blockReason",
    "error",
    "code",
    "message",
    "status",
    "role",
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
                "STOP",
                "MAX_TOKENS",
                "SAFETY",
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
    let mut stream = GeminiStream::new(&response_target(include_usage), "id".into());
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
    let mut rng = StdRng::seed_from_u64(0x5eed_6e41);
    let responses: Vec<Value> = RESPONSE_CASES
        .iter()
        .map(|c| json_fixture(&format!("{c}.gemini-response.json")))
        .collect();
    let streams: Vec<Vec<u8>> = STREAM_CASES
        .iter()
        .map(|(c, _)| fixture(&format!("{c}.gemini.sse")))
        .collect();
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
        let _ = gemini::translate_response(&input, &response_target(false));
        let _ = gemini::translate_error(rng.random(), &input);
        stream_random_chunks(&input, rng.random(), &mut rng);
        // The same bytes as a stream of SSE events.
        let mut events = Vec::new();
        for _ in 0..rng.random_range(1..4) {
            events.extend_from_slice(b"data: ");
            events.extend_from_slice(&input);
            events.extend_from_slice(b"\n\n");
        }
        stream_random_chunks(&events, rng.random(), &mut rng);
    }
}

#[test]
fn random_requests_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x7e9_0e57);
    let requests: Vec<Value> = REQUEST_CASES
        .iter()
        .map(|(c, ..)| json_fixture(&format!("{c}.request.json")))
        .collect();
    let target = RequestTarget {
        model: "gemini-2.0-flash",
        api_version: None,
        vertex: None,
        ..RequestTarget::default()
    };
    let mut translated = 0;
    for _ in 0..3000 {
        let mut v = requests[rng.random_range(0..requests.len())].clone();
        mutate_value(&mut v, &mut rng, 0);
        if let Ok(req) = serde_json::from_value::<ChatRequest>(v) {
            if gemini::translate_request(&req, &target).is_ok() {
                translated += 1;
            }
        }
    }
    assert!(translated > 0);
}
