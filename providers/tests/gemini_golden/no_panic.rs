//! No input makes the translation panic: random and mutated requests, answers and streams.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use sluice_providers::gemini::{self, GeminiStream};

use crate::common::fuzz::{self, as_sse_events, mutate_bytes, random_bytes, Shapes};
use crate::common::model_target;
use crate::support::{
    fixture, json_fixture, response_target, REQUEST_CASES, RESPONSE_CASES, STREAM_CASES,
};

const SHAPES: Shapes = Shapes {
    keys: &[
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
    ],
    strings: &["STOP", "MAX_TOKENS", "SAFETY"],
    edge_numbers: true,
};

fn stream_random_chunks(input: &[u8], include_usage: bool, rng: &mut StdRng) {
    let stream = GeminiStream::new(&response_target(include_usage), "id".into());
    fuzz::stream_random_chunks(stream, input, rng);
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
            0 => random_bytes(&mut rng),
            1 => mutate_bytes(&streams[rng.random_range(0..streams.len())], 7, &mut rng),
            2 => SHAPES.random_value(&mut rng, 0).to_string().into_bytes(),
            _ => SHAPES
                .mutated(&responses, &mut rng)
                .to_string()
                .into_bytes(),
        };
        let _ = gemini::translate_response(&input, &response_target(false));
        let _ = gemini::translate_error(rng.random(), &input);
        stream_random_chunks(&input, rng.random(), &mut rng);
        // The same bytes as a stream of SSE events.
        let events = as_sse_events(&input, &mut rng);
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
    let target = model_target("gemini-2.0-flash");
    let translated = SHAPES.translate_mutated_requests(&requests, 3000, &mut rng, |req| {
        gemini::translate_request(req, &target).is_ok()
    });
    assert!(translated > 0);
}
