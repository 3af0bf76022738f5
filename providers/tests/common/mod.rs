//! Helpers shared by the providers' golden tests: JSON normalisation (tool arguments compared
//! as JSON, not text), SSE event comparison, and byte mutation for the no-panic tests.
#![allow(dead_code)] // each test file uses its own subset

use rand::rngs::StdRng;
use rand::Rng;
use serde_json::Value;
use sluice_providers::sse::SseParser;

/// Tool call arguments are JSON text: compared as JSON, so key order does not matter.
pub fn normalize(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                if key == "arguments" {
                    if let Some(parsed) = value.as_str().and_then(|s| serde_json::from_str(s).ok())
                    {
                        *value = parsed;
                        continue;
                    }
                }
                normalize(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize),
        _ => {}
    }
}

pub fn sse_events(bytes: &[u8]) -> Vec<String> {
    let mut parser = SseParser::default();
    let mut events = Vec::new();
    let mut push = |e: sluice_providers::sse::SseEvent| {
        events.push(e.data);
        Ok(())
    };
    parser.feed(bytes, &mut push).expect("output parses");
    parser.finish(&mut push).expect("output parses");
    events
}

pub fn assert_same_events(case: &str, got: &[u8], want: &[u8]) {
    let (got, want) = (sse_events(got), sse_events(want));
    assert_eq!(got.len(), want.len(), "{case}: event count\n got: {got:#?}");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        if w == "[DONE]" {
            assert_eq!(g, w, "{case}: event {i}");
            continue;
        }
        let mut g: Value =
            serde_json::from_str(g).unwrap_or_else(|e| panic!("{case} {i}: {e}: {g}"));
        let mut w: Value =
            serde_json::from_str(w).unwrap_or_else(|e| panic!("{case} {i}: {e}: {w}"));
        normalize(&mut g);
        normalize(&mut w);
        assert_eq!(g, w, "{case}: event {i}");
    }
}

pub fn mutate_bytes(input: &[u8], rng: &mut StdRng) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..rng.random_range(1..8) {
        if out.is_empty() {
            break;
        }
        let at = rng.random_range(0..out.len());
        match rng.random_range(0..3) {
            0 => out[at] = rng.random(),
            1 => out.truncate(at),
            _ => out.insert(at, rng.random()),
        }
    }
    out
}
