//! No input makes the translation panic: random and mutated responses, streams and requests.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use sluice_providers::anthropic::{self, AnthropicUpstreamStream};

use crate::common::fuzz::{self, as_sse_events, mutate_bytes, random_bytes, Shapes};
use crate::common::{model_target, sse_events};
use crate::support::{
    fixture, json_fixture, response_target, REQUEST_CASES, RESPONSE_CASES, STREAM_CASES,
    TARGET_MODEL,
};

const SHAPES: Shapes = Shapes {
    keys: &[
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
    ],
    strings: &["end_turn", "tool_use", "max_tokens"],
    edge_numbers: true,
};

fn stream_random_chunks(input: &[u8], include_usage: bool, rng: &mut StdRng) {
    let stream = AnthropicUpstreamStream::new(&response_target(include_usage), "id".into());
    fuzz::stream_random_chunks(stream, input, rng);
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
            0 => random_bytes(&mut rng),
            1 => mutate_bytes(&streams[rng.random_range(0..streams.len())], 7, &mut rng),
            2 => SHAPES.random_value(&mut rng, 0).to_string().into_bytes(),
            3 => SHAPES.mutated(&events, &mut rng).to_string().into_bytes(),
            _ => SHAPES
                .mutated(&responses, &mut rng)
                .to_string()
                .into_bytes(),
        };
        let _ = anthropic::translate_response(&input, &response_target(false));
        let _ = anthropic::translate_error(rng.random(), &input);
        stream_random_chunks(&input, rng.random(), &mut rng);
        // The same bytes as a stream of SSE events.
        let sse = as_sse_events(&input, &mut rng);
        stream_random_chunks(&sse, rng.random(), &mut rng);
    }
    // Whole fixture streams with some events mutated.
    for _ in 0..500 {
        let base = &streams[rng.random_range(0..streams.len())];
        let mut sse = Vec::new();
        for mut event in stream_events(base) {
            if rng.random_range(0..4) == 0 {
                SHAPES.mutate_value(&mut event, &mut rng, 0);
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
    let target = model_target(TARGET_MODEL);
    let translated = SHAPES.translate_mutated_requests(&requests, 3000, &mut rng, |req| {
        anthropic::translate_request(req, &target).is_ok()
    });
    assert!(translated > 0);
}
