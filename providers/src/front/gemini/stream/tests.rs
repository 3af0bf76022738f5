//! The Gemini stream shapes (SSE and the JSON array) written from hub chunks: golden files
//! at any split of the input, the shapes' framing, signed thinking, facts and limits.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::openai::OpenAiStream;
use crate::ResponseTarget;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gemini_front");

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{DIR}/{name}");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The hub stream fed to a Gemini stream (over the OpenAI pass-through as the inner
/// translator) in pieces cut at `cuts`.
fn run(input: &[u8], cuts: &[usize], sse: bool) -> Vec<u8> {
    let target = ResponseTarget {
        model: "asked-model",
        created: 0,
        include_usage: true,
    };
    let inner = Box::new(OpenAiStream::new(&target));
    let mut stream = FromHubStream::new(inner, "asked-model", sse);
    let mut out = Vec::new();
    let mut from = 0;
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        stream.feed(&input[from..cut], &mut out).unwrap();
        from = cut;
    }
    stream.finish(&mut out).unwrap();
    out
}

const CASES: [&str; 4] = ["tools", "thinking", "error", "truncated"];

#[test]
fn streams_match_their_golden_files_at_any_split() {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    for case in CASES {
        let input = fixture(&format!("{case}.hub.sse"));
        for (sse, golden) in [(true, "gemini.sse"), (false, "gemini-array.json")] {
            let whole = run(&input, &[], sse);
            let want = fixture(&format!("{case}.{golden}"));
            assert_eq!(
                String::from_utf8_lossy(&whole),
                String::from_utf8_lossy(&want),
                "{case} {golden}"
            );
            for _ in 0..150 {
                let mut cuts: Vec<usize> = (0..rng.random_range(1..16))
                    .map(|_| rng.random_range(0..=input.len()))
                    .collect();
                cuts.sort_unstable();
                assert_eq!(
                    run(&input, &cuts, sse),
                    whole,
                    "{case} {golden} cuts {cuts:?}"
                );
            }
        }
    }
}

#[test]
fn the_json_array_parses_and_ends_with_finish_and_usage() {
    for case in ["tools", "thinking"] {
        let out = run(&fixture(&format!("{case}.hub.sse")), &[], false);
        let v: Value = serde_json::from_slice(&out).expect("one JSON array");
        let items = v.as_array().unwrap();
        let last = items.last().unwrap();
        assert_eq!(last["candidates"][0]["finishReason"], "STOP", "{case}");
        assert!(last["usageMetadata"]["totalTokenCount"].is_u64(), "{case}");
        for item in &items[..items.len() - 1] {
            assert!(item.get("usageMetadata").is_none(), "{case}: {item}");
            assert!(
                item["candidates"][0].get("finishReason").is_none(),
                "{case}"
            );
        }
    }
    let v: Value = serde_json::from_slice(&run(&fixture("error.hub.sse"), &[], false)).unwrap();
    let last = v.as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        last,
        json!({"error": {"code": 503, "message": "Overloaded", "status": "UNAVAILABLE"}})
    );
}

#[test]
fn sse_events_are_whole_responses_ended_by_crlf_pairs() {
    let out = run(&fixture("tools.hub.sse"), &[], true);
    let text = String::from_utf8(out).unwrap();
    let events: Vec<&str> = text.split_terminator("\r\n\r\n").collect();
    assert!(text.ends_with("\r\n\r\n"));
    for e in &events {
        let data = e.strip_prefix("data: ").expect("a data line");
        let v: Value = serde_json::from_str(data).expect("JSON");
        assert!(v["candidates"].is_array(), "{v}");
    }
    // The calls come whole, in order, after the text.
    let parts: Vec<Value> = events
        .iter()
        .flat_map(|e| {
            let v: Value = serde_json::from_str(&e[6..]).unwrap();
            v["candidates"][0]["content"]["parts"]
                .as_array()
                .unwrap()
                .clone()
        })
        .collect();
    assert_eq!(parts[0], json!({"text": "Let me "}));
    assert_eq!(
        parts[2],
        json!({"functionCall": {"id": "call_A", "name": "get_weather", "args": {"city": "Paris"}}})
    );
    assert_eq!(
        parts[3],
        json!({"functionCall": {"id": "call_B", "name": "get_time", "args": {"tz": "CET"}}})
    );
}

#[test]
fn a_streamed_turn_sent_back_keeps_its_signed_thinking() {
    let out = run(&fixture("thinking.hub.sse"), &[], false);
    let items: Vec<Value> = serde_json::from_slice(&out).unwrap();
    let parts: Vec<Value> = items
        .iter()
        .flat_map(|i| {
            i["candidates"][0]["content"]["parts"]
                .as_array()
                .unwrap()
                .clone()
        })
        .collect();
    let body = json!({"contents": [
        {"role": "user", "parts": [{"text": "Weather?"}]},
        {"role": "model", "parts": parts},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {}}}]},
    ]});
    let req = super::super::request_to_hub(body.to_string().as_bytes(), "claude").unwrap();
    let turn = &req.messages[1];
    assert_eq!(
        turn.reasoning_content.as_deref(),
        Some("Paris, so one call.")
    );
    assert_eq!(
        turn.thinking_blocks,
        Some(vec![
            json!({"type": "thinking", "thinking": "Paris, so one call.",
                         "signature": "EqQBCgIYAhIM"})
        ])
    );
    assert_eq!(req.messages[2].tool_call_id.as_deref(), Some("toolu_01"));
}

#[test]
fn facts_are_the_inner_streams() {
    let target = ResponseTarget {
        model: "m",
        created: 0,
        include_usage: true,
    };
    let mut stream = FromHubStream::new(Box::new(OpenAiStream::new(&target)), "m", true);
    let mut out = Vec::new();
    stream.feed(&fixture("tools.hub.sse"), &mut out).unwrap();
    stream.finish(&mut out).unwrap();
    let facts = stream.facts();
    assert_eq!(facts.texts, vec!["Let me check.".to_string()]);
    assert_eq!(facts.tool_calls.len(), 2);
    assert_eq!(facts.usage.input_tokens, Some(80));
    assert_eq!(facts.finish_reasons, vec!["tool_calls".to_string()]);
}

#[test]
fn endless_tool_arguments_are_refused() {
    let mut stream = FromHubStream::new(
        Box::new(OpenAiStream::new(&ResponseTarget {
            model: "m",
            created: 0,
            include_usage: true,
        })),
        "m",
        true,
    );
    let piece = format!(
        "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":0,\"function\":{{\"arguments\":\"{}\"}}}}]}}}}]}}\n\n",
        "x".repeat(1 << 20)
    );
    let mut out = Vec::new();
    let result = (0..6).try_for_each(|_| stream.feed(piece.as_bytes(), &mut out));
    assert_eq!(result, Err(TranslateError::LineTooLong(MAX_LINE)));
}

#[test]
fn a_gateway_error_closes_the_array() {
    let target = ResponseTarget {
        model: "m",
        created: 0,
        include_usage: true,
    };
    let inner = Box::new(OpenAiStream::new(&target));
    let mut stream = FromHubStream::new(inner, "m", false);
    let mut out = Vec::new();
    let input = fixture("tools.hub.sse");
    stream.feed(&input[..400], &mut out).unwrap();
    stream.fail(504, "upstream timed out", &mut out);
    stream.finish(&mut out).unwrap();
    let v: Value = serde_json::from_slice(&out).expect("one JSON array");
    let items = v.as_array().unwrap();
    assert_eq!(
        items.last().unwrap()["error"]["status"],
        "DEADLINE_EXCEEDED"
    );
    assert_eq!(items.len(), 2, "{v}");
}
