//! No input makes the translation panic: random and mutated responses, streams and requests.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sluice_providers::bedrock::eventstream::{encode_event, encode_exception};
use sluice_providers::bedrock::{self, BedrockStream};
use sluice_providers::openai::ChatRequest;
use sluice_providers::{RequestTarget, StreamTranslator};

use crate::common::mutate_bytes;
use crate::support::{
    json_fixture, response_target, stream_bytes, REQUEST_CASES, RESPONSE_CASES, STREAM_CASES,
    TARGET_MODEL,
};

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
