//! Random and mutated input for the no-panic tests: JSON shaped like a provider's own, bytes,
//! and streams fed in random chunks.

use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};
use sluice_providers::openai::ChatRequest;
use sluice_providers::{StreamTranslator, TranslateError};

/// String values every provider's random JSON has, after its own.
const EDGE_STRINGS: &[&str] = &["", "x", "é✨", "{}", "[DONE]"];

/// What a provider's JSON is made of, for random values close to its own.
pub struct Shapes {
    /// Object keys.
    pub keys: &'static [&'static str],
    /// String values of its own (finish reasons and the like), besides [`EDGE_STRINGS`].
    pub strings: &'static [&'static str],
    /// Whether mutation also turns numbers into edge values, where arithmetic overflows and
    /// vectors explode.
    pub edge_numbers: bool,
}

impl Shapes {
    fn key(&self, rng: &mut StdRng) -> String {
        self.keys[rng.random_range(0..self.keys.len())].to_string()
    }

    fn string(&self, rng: &mut StdRng) -> &'static str {
        let own = self.strings.len();
        match rng.random_range(0..own + EDGE_STRINGS.len()) {
            i if i < own => self.strings[i],
            i => EDGE_STRINGS[i - own],
        }
    }

    /// A random JSON value, of the shapes' keys and strings.
    pub fn random_value(&self, rng: &mut StdRng, depth: u32) -> Value {
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
            4 | 5 => json!(self.string(rng)),
            6 => Value::Array(
                (0..rng.random_range(0..4))
                    .map(|_| self.random_value(rng, depth + 1))
                    .collect(),
            ),
            _ => Value::Object(
                (0..rng.random_range(0..5))
                    .map(|_| (self.key(rng), self.random_value(rng, depth + 1)))
                    .collect(),
            ),
        }
    }

    /// Replaces random subtrees of `v` (and adds random keys) to explore near-valid shapes.
    pub fn mutate_value(&self, v: &mut Value, rng: &mut StdRng, depth: u32) {
        if rng.random_range(0..8) == 0 {
            *v = self.random_value(rng, depth);
            return;
        }
        match v {
            Value::Object(map) => {
                if rng.random_range(0..4) == 0 {
                    let key = self.key(rng);
                    map.insert(key, self.random_value(rng, depth + 1));
                }
                for value in map.values_mut() {
                    self.mutate_value(value, rng, depth + 1);
                }
            }
            Value::Array(items) => items
                .iter_mut()
                .for_each(|item| self.mutate_value(item, rng, depth + 1)),
            Value::Number(_) if self.edge_numbers && rng.random_range(0..3) == 0 => {
                *v = [
                    json!(u64::MAX),
                    json!(u64::MAX / 2 + 1),
                    json!(u32::MAX),
                    json!(-1),
                    json!(1e300),
                ][rng.random_range(0..5)]
                .clone();
            }
            _ => {}
        }
    }

    /// A random one of `values`, mutated.
    pub fn mutated(&self, values: &[Value], rng: &mut StdRng) -> Value {
        let mut v = values[rng.random_range(0..values.len())].clone();
        self.mutate_value(&mut v, rng, 0);
        v
    }

    /// Mutates `rounds` random ones of `requests` and translates those still chat requests:
    /// how many `translate` accepted.
    pub fn translate_mutated_requests(
        &self,
        requests: &[Value],
        rounds: usize,
        rng: &mut StdRng,
        translate: impl Fn(&ChatRequest) -> bool,
    ) -> usize {
        (0..rounds)
            .filter(|_| {
                serde_json::from_value::<ChatRequest>(self.mutated(requests, rng))
                    .is_ok_and(|req| translate(&req))
            })
            .count()
    }
}

/// 0 to 255 random bytes.
pub fn random_bytes(rng: &mut StdRng) -> Vec<u8> {
    (0..rng.random_range(0..256))
        .map(|_| rng.random())
        .collect()
}

/// `input` with 1 to `max_edits` random bytes changed, inserted, or cut off there.
pub fn mutate_bytes(input: &[u8], max_edits: i32, rng: &mut StdRng) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..rng.random_range(1..max_edits + 1) {
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

/// `data` as the data of 1 to 3 SSE events.
pub fn as_sse_events(data: &[u8], rng: &mut StdRng) -> Vec<u8> {
    let mut sse = Vec::new();
    for _ in 0..rng.random_range(1..4) {
        sse.extend_from_slice(b"data: ");
        sse.extend_from_slice(data);
        sse.extend_from_slice(b"\n\n");
    }
    sse
}

/// Feeds `input` to `stream` in random chunks of 1 to `max_chunk` bytes, up to the first error.
pub fn feed_random_chunks(
    stream: &mut dyn StreamTranslator,
    input: &[u8],
    max_chunk: usize,
    rng: &mut StdRng,
    out: &mut Vec<u8>,
) -> Result<(), TranslateError> {
    let mut rest = input;
    while !rest.is_empty() {
        let n = rng.random_range(1..=rest.len().min(max_chunk));
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        stream.feed(chunk, out)?;
    }
    Ok(())
}

/// Feeds `input` to `stream` in random chunks of up to 64 bytes, and finishes it if it took
/// them all: errors are fine, panics are not.
pub fn stream_random_chunks(mut stream: impl StreamTranslator, input: &[u8], rng: &mut StdRng) {
    let mut out = Vec::new();
    if feed_random_chunks(&mut stream, input, 64, rng, &mut out).is_ok() {
        let _ = stream.finish(&mut out);
    }
}

/// `input` cut at 1 to 11 random places.
pub fn random_pieces<'a>(rng: &mut StdRng, input: &'a [u8]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = (0..rng.random_range(1..12))
        .map(|_| rng.random_range(0..=input.len()))
        .collect();
    cuts.push(0);
    cuts.push(input.len());
    cuts.sort_unstable();
    cuts.windows(2).map(|w| &input[w[0]..w[1]]).collect()
}
