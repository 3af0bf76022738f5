//! Helpers shared by the providers' tests: fixtures, JSON normalisation (tool arguments
//! compared as JSON, not text) and comparison, SSE event comparison, request translation,
//! streams run whole and split, and (in `fuzz`) random input for the no-panic tests.
#![allow(dead_code)] // each test file uses its own subset

pub mod fuzz;

use std::fmt::Debug;

use rand::rngs::StdRng;
use serde_json::Value;
use sluice_providers::openai::ChatRequest;
use sluice_providers::sse::SseParser;
use sluice_providers::{
    RequestTarget, StreamFacts, StreamTranslator, TranslateError, UpstreamRequest,
};

/// The path of the fixture `name` in `tests/fixtures/<dir>/`.
pub fn fixture_path(dir: &str, name: &str) -> String {
    format!("{}/tests/fixtures/{dir}/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The fixture `name` of `tests/fixtures/<dir>/`.
pub fn read_fixture(dir: &str, name: &str) -> Vec<u8> {
    let path = fixture_path(dir, name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// The JSON fixture `name` of `tests/fixtures/<dir>/`.
pub fn read_json_fixture(dir: &str, name: &str) -> Value {
    serde_json::from_slice(&read_fixture(dir, name))
        .unwrap_or_else(|e| panic!("parsing {name}: {e}"))
}

/// `got` is `want`; if not, both are printed pretty.
pub fn assert_json_eq(case: &str, got: &Value, want: &Value) {
    assert_eq!(
        got,
        want,
        "{case}\n got: {}\nwant: {}",
        serde_json::to_string_pretty(got).unwrap_or_default(),
        serde_json::to_string_pretty(want).unwrap_or_default()
    );
}

/// [`assert_json_eq`] after [`normalize`] on both.
pub fn assert_normalized_eq(case: &str, mut got: Value, mut want: Value) {
    normalize(&mut got);
    normalize(&mut want);
    assert_json_eq(case, &got, &want);
}

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

/// A provider's request translation (`anthropic::translate_request` and the like).
pub type TranslateRequest =
    fn(&ChatRequest, &RequestTarget<'_>) -> Result<UpstreamRequest, TranslateError>;

/// A target naming only the model.
pub fn model_target(model: &str) -> RequestTarget<'_> {
    RequestTarget {
        model,
        ..RequestTarget::default()
    }
}

/// The chat request `raw` of `case` translated for `target`: the path and body.
pub fn translate_raw_request(
    translate: TranslateRequest,
    case: &str,
    raw: &[u8],
    target: &RequestTarget<'_>,
) -> (String, Vec<u8>) {
    let req = ChatRequest::parse(raw).unwrap_or_else(|e| panic!("{case}: {e}"));
    let up = translate(&req, target).unwrap_or_else(|e| panic!("{case}: {e}"));
    (up.path, up.body)
}

/// The chat request `req` translated for `model`: the body, as JSON.
pub fn translate_json_request(
    translate: TranslateRequest,
    req: Value,
    model: &str,
) -> Result<Value, TranslateError> {
    let req: ChatRequest = serde_json::from_value(req).expect("valid ChatRequest");
    let up = translate(&req, &model_target(model))?;
    Ok(serde_json::from_slice(&up.body).expect("body is JSON"))
}

/// Feeds `chunks` to `stream` and finishes it: the output and the facts.
pub fn run_translator<'a>(
    mut stream: impl StreamTranslator,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<(Vec<u8>, StreamFacts), TranslateError> {
    let mut out = Vec::new();
    for chunk in chunks {
        stream.feed(chunk, &mut out)?;
    }
    stream.finish(&mut out)?;
    Ok((out, stream.facts().clone()))
}

/// `run` gives for `input` split in chunks of every size, and cut at `random_rounds` sets of
/// random places, what it gives for `input` whole.
pub fn assert_split_independent<R: PartialEq + Debug>(
    case: &str,
    input: &[u8],
    random_rounds: usize,
    rng: &mut StdRng,
    run: impl Fn(&[&[u8]]) -> R,
) {
    let whole = run(&[input]);
    for size in 1..=input.len() {
        let chunks: Vec<&[u8]> = input.chunks(size).collect();
        assert_eq!(run(&chunks), whole, "{case}: chunks of {size}");
    }
    for _ in 0..random_rounds {
        let pieces = fuzz::random_pieces(rng, input);
        let sizes: Vec<usize> = pieces.iter().map(|p| p.len()).collect();
        assert_eq!(run(&pieces), whole, "{case}: pieces of {sizes:?}");
    }
}
