//! Stream translation: goldens, splits, facts, usage, first token, ends and invalid streams.

use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{json, Value};
use sluice_providers::anthropic::{self, AnthropicUpstreamStream};
use sluice_providers::{StreamFacts, StreamTranslator, ToolCallFact, TranslateError, Usage};

use crate::common::{assert_same_events, assert_split_independent, run_translator, sse_events};
use crate::support::{fixture, response_target, STREAM_CASES, TARGET_MODEL};

fn run_stream<'a>(
    include_usage: bool,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<(Vec<u8>, StreamFacts), TranslateError> {
    let stream =
        AnthropicUpstreamStream::new(&response_target(include_usage), "chatcmpl-test".into());
    run_translator(stream, chunks)
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
        assert_split_independent(case, &input, 200, &mut rng, |pieces| {
            run_stream(include_usage, pieces.iter().copied()).unwrap()
        });
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
