//! Streams on the diagonal: Anthropic's SSE passed byte for byte, Vertex's without its
//! `vertex_event`s, Bedrock's event stream turned back into the original SSE.

use base64::Engine;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{json, Value};
use sluice_providers::bedrock::eventstream::{encode_event, encode_exception};
use sluice_providers::sse::{SseEvent, SseParser};
use sluice_providers::{Plan, StreamFacts, ToolCallFact};

use crate::common::fuzz::random_pieces;
use crate::support::{
    fixture, json, messages_request, response_target, usage, CLIENT_MODEL, SITES,
};

const STREAMS: &[&str] = &["thinking_tool_stream.sse", "text_stream.sse"];

fn run_stream<'a>(
    plan: Plan,
    pieces: impl IntoIterator<Item = &'a [u8]>,
) -> (Vec<u8>, StreamFacts) {
    let req = messages_request();
    let mut relay = plan
        .stream(&response_target(), "msg_x".to_string(), &req)
        .expect("a stream");
    let mut out = Vec::new();
    for piece in pieces {
        relay.feed(piece, &mut out).expect("feed");
    }
    relay.finish(&mut out).expect("finish");
    (out, relay.facts().clone())
}

fn events(bytes: &[u8]) -> Vec<SseEvent> {
    let mut parser = SseParser::default();
    let mut out = Vec::new();
    let mut push = |e: SseEvent| {
        out.push(e);
        Ok(())
    };
    parser.feed(bytes, &mut push).expect("SSE");
    parser.finish(&mut push).expect("SSE");
    out
}

/// The facts each stream fixture must yield, on every site.
fn expected_facts(stream: &str) -> StreamFacts {
    let model = Some(CLIENT_MODEL.to_string());
    match stream {
        "thinking_tool_stream.sse" => StreamFacts {
            usage: usage(8, 0, 12355, 88),
            response_model: model,
            // Thinking is not answer text.
            texts: vec![String::new()],
            finish_reasons: vec!["tool_use".into()],
            tool_calls: vec![ToolCallFact {
                id: "toolu_01KmM4dbV8TV7FTSPNV7m6GU".into(),
                name: "Bash".into(),
                arguments:
                    r#"{"command":"echo hello-from-tool","description":"Print a marker string"}"#
                        .into(),
            }],
            first_token_seen: true,
            error: None,
        },
        "text_stream.sse" => StreamFacts {
            usage: usage(12, 11286, 1243, 9),
            response_model: model,
            texts: vec!["The command printed: hello-from-tool".into()],
            finish_reasons: vec!["end_turn".into()],
            tool_calls: Vec::new(),
            first_token_seen: true,
            error: None,
        },
        other => panic!("no facts for {other}"),
    }
}

#[test]
fn anthropic_streams_pass_byte_for_byte_however_split() {
    let plan = SITES[0].plan();
    let mut rng = StdRng::seed_from_u64(0xd1a6);
    for name in STREAMS {
        let input = fixture(name);
        let (out, facts) = run_stream(plan, [&input[..]]);
        assert!(out == input, "{name}: not byte for byte");
        assert_eq!(facts, expected_facts(name), "{name}");
        for _ in 0..100 {
            let pieces = random_pieces(&mut rng, &input);
            let (out, facts) = run_stream(plan, pieces.iter().copied());
            let sizes: Vec<usize> = pieces.iter().map(|p| p.len()).collect();
            assert!(out == input, "{name}: not byte for byte, pieces {sizes:?}");
            assert_eq!(facts, expected_facts(name), "{name}: pieces {sizes:?}");
        }
    }
}

#[test]
fn the_first_token_is_seen_at_the_first_content() {
    for name in STREAMS {
        let input = fixture(name);
        let first_block = find(&input, b"event: content_block_start");
        let req = messages_request();
        let mut relay = SITES[0]
            .plan()
            .stream(&response_target(), "x".into(), &req)
            .expect("a stream");
        let mut out = Vec::new();
        relay.feed(&input[..first_block], &mut out).expect("feed");
        assert!(!relay.facts().first_token_seen, "{name}: at message_start");
        assert_eq!(
            relay.facts().usage.output_tokens,
            None,
            "{name}: provisional"
        );
        let first_delta = find(&input, b"event: content_block_delta");
        relay
            .feed(&input[first_block..first_delta + 30], &mut out)
            .expect("feed");
        // A thinking block counts at its start, a text block at its first text.
        let at_start = name.starts_with("thinking");
        assert_eq!(relay.facts().first_token_seen, at_start, "{name}");
        relay
            .feed(&input[first_delta + 30..], &mut out)
            .expect("feed");
        assert!(relay.facts().first_token_seen, "{name}");
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("present")
}

#[test]
fn vertex_streams_pass_without_vertex_events() {
    let plan = SITES[1].plan();
    let mut rng = StdRng::seed_from_u64(0xd1a7);
    let vertex_event =
        "event: vertex_event\ndata: {\"type\":\"vertex_event\",\"usage\":{\"input_tokens\":8}}\n\n";
    for name in STREAMS {
        let original = String::from_utf8(fixture(name)).expect("UTF-8");
        // One after message_start, one before message_stop.
        let second = original.find("event: content_block_start").expect("block");
        let last = original.rfind("event: message_stop").expect("stop");
        let input = format!(
            "{}{vertex_event}{}{vertex_event}{}",
            &original[..second],
            &original[second..last],
            &original[last..]
        );
        assert_eq!(
            events(input.as_bytes()).len(),
            events(original.as_bytes()).len() + 2
        );
        let (out, facts) = run_stream(plan, [input.as_bytes()]);
        assert_eq!(String::from_utf8_lossy(&out), original, "{name}");
        assert_eq!(facts, expected_facts(name), "{name}");
        for _ in 0..100 {
            let pieces = random_pieces(&mut rng, input.as_bytes());
            let (out, facts) = run_stream(plan, pieces.iter().copied());
            assert!(out == original.as_bytes(), "{name}: split");
            assert_eq!(facts, expected_facts(name), "{name}: split");
        }
    }
}

/// The stream as Bedrock's `InvokeModelWithResponseStream` sends it: each Anthropic event a
/// `chunk` event with the JSON base64-encoded, Bedrock's metrics in `message_stop`.
fn bedrock_wire(sse: &[u8]) -> Vec<u8> {
    let mut wire = Vec::new();
    for event in events(sse) {
        let mut data = event.data.clone();
        if event.event.as_deref() == Some("message_stop") {
            let mut v = json(data.as_bytes());
            v["amazon-bedrock-invocationMetrics"] = json!({
                "inputTokenCount": 8,
                "outputTokenCount": 88,
                "invocationLatency": 2417,
                "firstByteLatency": 630,
            });
            data = v.to_string();
            assert!(data.contains("amazon-bedrock-invocationMetrics"));
        }
        let b64 = base64::engine::general_purpose::STANDARD.encode(data.as_bytes());
        let payload = json!({"bytes": b64, "p": "abcdefghijklmnopqrstuvwxyzABCDEF"});
        wire.extend(encode_event("chunk", payload.to_string().as_bytes()));
    }
    wire
}

/// Events compared by name and data JSON.
fn assert_same_events(case: &str, got: &[u8], want: &[u8]) {
    let named = |bytes: &[u8]| -> Vec<(Option<String>, Value)> {
        events(bytes)
            .into_iter()
            .map(|e| (e.event, json(e.data.as_bytes())))
            .collect()
    };
    let (got, want) = (named(got), named(want));
    assert_eq!(got.len(), want.len(), "{case}: event count");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "{case}: event {i}");
    }
}

#[test]
fn bedrock_event_streams_become_the_original_sse() {
    let plan = SITES[2].plan();
    let mut rng = StdRng::seed_from_u64(0xd1a8);
    for name in STREAMS {
        let original = fixture(name);
        let wire = bedrock_wire(&original);
        let (out, facts) = run_stream(plan, [&wire[..]]);
        assert_same_events(name, &out, &original);
        assert!(
            !String::from_utf8_lossy(&out).contains("invocationMetrics"),
            "{name}"
        );
        assert_eq!(facts, expected_facts(name), "{name}");
        for _ in 0..100 {
            let pieces = random_pieces(&mut rng, &wire);
            let (split, facts) = run_stream(plan, pieces.iter().copied());
            assert!(split == out, "{name}: depends on the split");
            assert_eq!(facts, expected_facts(name), "{name}: split");
        }
    }
}

#[test]
fn a_bedrock_exception_mid_stream_ends_it_with_an_error_event() {
    let original = fixture("text_stream.sse");
    let cut = find(&original, b"event: content_block_stop");
    let mut wire = bedrock_wire(&original[..cut]);
    wire.extend(encode_exception(
        "throttlingException",
        br#"{"message":"Too many tokens, please wait before trying again."}"#,
    ));
    let (out, facts) = run_stream(SITES[2].plan(), [&wire[..]]);
    let out_events = events(&out);
    let last = out_events.last().expect("events");
    assert_eq!(last.event.as_deref(), Some("error"));
    assert_eq!(
        json(last.data.as_bytes()),
        json!({"type":"error","error":{"type":"rate_limit_error",
            "message":"throttlingException: Too many tokens, please wait before trying again."}})
    );
    assert_same_events(
        "before the error",
        &out[..out.len() - last_len(&out)],
        &original[..cut],
    );
    assert_eq!(facts.texts, ["The command printed: hello-from-tool"]);
    assert!(facts
        .error
        .as_deref()
        .is_some_and(|e| e.contains("rate_limit_error")));
    assert!(facts.finish_reasons.is_empty());
}

/// The length of the last SSE event in `out` (which ends with a blank line).
fn last_len(out: &[u8]) -> usize {
    let body = &out[..out.len() - 2];
    let start = body
        .windows(2)
        .rposition(|w| w == b"\n\n")
        .map_or(0, |p| p + 2);
    out.len() - start
}
