//! Stream translation: goldens, splits, facts, first token, ends and invalid streams.

use rand::rngs::StdRng;
use rand::SeedableRng;
use sluice_providers::bedrock::eventstream::{encode_event, encode_message};
use sluice_providers::bedrock::BedrockStream;
use sluice_providers::{StreamFacts, StreamTranslator, ToolCallFact, TranslateError, Usage};

use crate::common::{assert_same_events, assert_split_independent, run_translator, sse_events};
use crate::support::{
    fixture, maybe_bless, response_target, stream_bytes, STREAM_CASES, TARGET_MODEL,
};

fn run_stream<'a>(
    include_usage: bool,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<(Vec<u8>, StreamFacts), TranslateError> {
    let stream = BedrockStream::new(&response_target(include_usage), "chatcmpl-test".into());
    run_translator(stream, chunks)
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
        assert_split_independent(case, &input, 200, &mut rng, |pieces| {
            run_stream(include_usage, pieces.iter().copied()).unwrap()
        });
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

/// A stream past its `messageStart`: the role chunk is out, but no token yet.
fn started_stream() -> BedrockStream {
    let mut stream = BedrockStream::new(&response_target(false), "id".into());
    let mut out = Vec::new();
    let start = encode_event("messageStart", br#"{"role":"assistant"}"#);
    stream.feed(&start, &mut out).unwrap();
    assert!(!out.is_empty());
    assert!(!stream.facts().first_token_seen);
    stream
}

fn feed_delta(stream: &mut BedrockStream, delta: &[u8]) {
    let event = encode_event("contentBlockDelta", delta);
    stream.feed(&event, &mut Vec::new()).unwrap();
}

#[test]
fn first_token_waits_for_content() {
    let mut stream = started_stream();
    feed_delta(
        &mut stream,
        br#"{"contentBlockIndex":0,"delta":{"text":"x"}}"#,
    );
    assert!(stream.facts().first_token_seen);
}

#[test]
fn reasoning_is_the_first_token() {
    let mut stream = started_stream();
    let delta = br#"{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"hm"}}}"#;
    feed_delta(&mut stream, delta);
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
