//! Shared by the modules: fixtures, the hub request as JSON, and running and reading streams.

use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};
use sluice_providers::front::responses::{request_to_hub, Echo, FromHubStream};
use sluice_providers::openai::{ChatRequest, OpenAiStream};
use sluice_providers::sse::SseParser;
use sluice_providers::{ResponseTarget, StreamFacts, StreamTranslator};

use crate::common::{read_fixture, read_json_fixture};

pub(crate) fn fixture(name: &str) -> Vec<u8> {
    read_fixture("responses", name)
}

pub(crate) fn fixture_json(name: &str) -> Value {
    read_json_fixture("responses", name)
}

/// The hub request as JSON, with the extensions serde leaves out (`thinking`, `top_k`,
/// `reasoning_content`, `thinking_blocks`), so a golden sees everything.
pub(crate) fn hub_json(req: &ChatRequest) -> Value {
    let mut v = serde_json::to_value(req).expect("serialises");
    if let Some(t) = &req.thinking {
        v["thinking"] = t.clone();
    }
    if let Some(k) = req.top_k {
        v["top_k"] = json!(k);
    }
    for (m, out) in req
        .messages
        .iter()
        .zip(v["messages"].as_array_mut().unwrap())
    {
        if let Some(r) = &m.reasoning_content {
            out["reasoning_content"] = json!(r);
        }
        if let Some(b) = &m.thinking_blocks {
            out["thinking_blocks"] = json!(b);
        }
    }
    v
}

pub(crate) fn to_hub(body: Value) -> Value {
    hub_json(&request_to_hub(body.to_string().as_bytes()).expect("translates"))
}

/// Feeds `input` through a [`FromHubStream`] over the hub's own stream (as the gateway's
/// mock provider does), in chunks cut at `cuts`.
pub(crate) fn run_stream(input: &[u8], echo: &Echo, cuts: &[usize]) -> (Vec<u8>, StreamFacts) {
    let target = ResponseTarget {
        model: "m",
        created: 0,
        include_usage: true,
    };
    let mut stream = FromHubStream::new(Box::new(OpenAiStream::new(&target)), echo.clone());
    let mut out = Vec::new();
    let mut from = 0;
    for &cut in cuts.iter().chain([input.len()].iter()) {
        stream.feed(&input[from..cut], &mut out).expect("feeds");
        from = cut;
    }
    stream.finish(&mut out).expect("finishes");
    (out, stream.facts().clone())
}

pub(crate) fn random_cuts(rng: &mut StdRng, len: usize) -> Vec<usize> {
    let n = rng.random_range(0..24);
    let mut cuts: Vec<usize> = (0..n).map(|_| rng.random_range(0..=len)).collect();
    cuts.sort_unstable();
    cuts
}

/// The events of a Responses stream: their `event:` names (checked against `type`) and data.
pub(crate) fn events(out: &[u8]) -> Vec<Value> {
    let mut parser = SseParser::default();
    let mut events = Vec::new();
    let mut push = |e: sluice_providers::sse::SseEvent| {
        let data: Value = serde_json::from_str(&e.data).expect("event data is JSON");
        assert_eq!(
            e.event.as_deref(),
            data["type"].as_str(),
            "event line names the type"
        );
        events.push(data);
        Ok(())
    };
    parser.feed(out, &mut push).expect("parses");
    parser.finish(&mut push).expect("parses");
    events
}

pub(crate) fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

pub(crate) fn hub_chunk(delta: Value, finish: Option<&str>) -> String {
    let chunk = json!({"id": "chatcmpl-e", "created": 1, "model": "x",
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
    format!("data: {chunk}\n\n")
}
