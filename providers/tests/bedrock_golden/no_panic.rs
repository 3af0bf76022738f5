//! No input makes the translation panic: random and mutated responses, streams and requests.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use sluice_providers::bedrock::eventstream::{encode_event, encode_exception};
use sluice_providers::bedrock::{self, BedrockStream};

use crate::common::fuzz::{self, mutate_bytes, random_bytes, Shapes};
use crate::common::model_target;
use crate::support::{
    json_fixture, response_target, stream_bytes, REQUEST_CASES, RESPONSE_CASES, STREAM_CASES,
    TARGET_MODEL,
};

const SHAPES: Shapes = Shapes {
    keys: &[
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
    ],
    strings: &["end_turn", "tool_use", "max_tokens"],
    edge_numbers: false,
};

fn stream_random_chunks(input: &[u8], include_usage: bool, rng: &mut StdRng) {
    let stream = BedrockStream::new(&response_target(include_usage), "id".into());
    fuzz::stream_random_chunks(stream, input, rng);
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
            0 => random_bytes(&mut rng),
            1 => mutate_bytes(&streams[rng.random_range(0..streams.len())], 7, &mut rng),
            2 => SHAPES.random_value(&mut rng, 0).to_string().into_bytes(),
            _ => SHAPES
                .mutated(&responses, &mut rng)
                .to_string()
                .into_bytes(),
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
    let target = model_target(TARGET_MODEL);
    let translated = SHAPES.translate_mutated_requests(&requests, 3000, &mut rng, |req| {
        bedrock::translate_request(req, &target).is_ok()
    });
    assert!(translated > 0);
}
