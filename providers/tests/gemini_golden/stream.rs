//! Streams: Gemini SSE -> OpenAI chunk SSE, at any split, and the facts taken from them.

use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{json, Value};
use sluice_providers::gemini::GeminiStream;
use sluice_providers::{StreamFacts, StreamTranslator, ToolCallFact, TranslateError, Usage};

use crate::common::{assert_same_events, assert_split_independent, run_translator, sse_events};
use crate::support::{fixture, response_target, STREAM_CASES};

fn run_stream<'a>(
    include_usage: bool,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<(Vec<u8>, StreamFacts), TranslateError> {
    let stream = GeminiStream::new(&response_target(include_usage), "chatcmpl-test".into());
    run_translator(stream, chunks)
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
        assert_split_independent(case, &input, 200, &mut rng, |pieces| {
            run_stream(include_usage, pieces.iter().copied()).unwrap()
        });
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
