//! Translation cost per request and per stream chunk, on the golden fixtures:
//! OpenAI → Gemini request, Gemini → OpenAI response, per-chunk stream translation
//! (Gemini → OpenAI, OpenAI pass-through, OpenAI → Anthropic front door), and the native
//! pass-through's read and edit (chat → OpenAI, Claude Code's Messages request → Anthropic).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sluice_providers::openai::ChatRequest;
use sluice_providers::{
    front::messages, gemini, openai, ClientRequest, Front, Plan, ProviderKind, RequestTarget,
    ResponseTarget, StreamTranslator,
};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gemini/");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}{name}")).expect("fixture")
}

fn target() -> RequestTarget<'static> {
    RequestTarget {
        model: "gemini-2.0-flash",
        api_version: Some("v1beta"),
        vertex: None,
        ..RequestTarget::default()
    }
}

fn response_target() -> ResponseTarget<'static> {
    ResponseTarget {
        model: "gemini-2.0-flash",
        created: 1,
        include_usage: true,
    }
}

/// Splits an SSE body into its events, as an upstream would send them.
fn events(body: &[u8]) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(body).replace("\r\n", "\n");
    text.split_inclusive("\n\n")
        .map(|e| e.as_bytes().to_vec())
        .collect()
}

fn requests(c: &mut Criterion) {
    let mut g = c.benchmark_group("request");
    for case in ["basic", "tools", "system_and_params"] {
        let body = fixture(&format!("{case}.request.json"));
        g.bench_function(format!("parse+openai->gemini/{case}"), |b| {
            b.iter(|| {
                let req = ChatRequest::parse(black_box(&body)).expect("parse");
                gemini::translate_request(&req, &target()).expect("translate")
            })
        });
        g.bench_function(format!("read+chat native/{case}"), |b| {
            b.iter(|| {
                let mut req =
                    ClientRequest::read(Front::Chat, black_box(body.clone())).expect("read");
                let plan = Plan::choose(Front::Chat, ProviderKind::OpenAi, "gemini-2.0-flash");
                plan.request(&mut req, &target()).expect("native")
            })
        });
    }
    // Claude Code's first request (49 kB), Messages → anthropic on the diagonal: no hub parse.
    let claude = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/claude_code/first_request.raw.json"
    ))
    .expect("fixture");
    g.bench_function("read+messages native/claude_code_first", |b| {
        b.iter(|| {
            let mut req =
                ClientRequest::read(Front::Messages, black_box(claude.clone())).expect("read");
            let plan = Plan::choose(Front::Messages, ProviderKind::Anthropic, "claude-opus-5-5");
            let target = RequestTarget {
                model: "claude-opus-5-5",
                ..RequestTarget::default()
            };
            plan.request(&mut req, &target).expect("native")
        })
    });
    g.bench_function("read+messages->hub/claude_code_first", |b| {
        b.iter(|| messages::request_to_openai(black_box(&claude)).expect("hub"))
    });
    g.finish();
}

fn responses(c: &mut Criterion) {
    let mut g = c.benchmark_group("response");
    for case in ["basic", "tool_calls"] {
        let body = fixture(&format!("{case}.gemini-response.json"));
        g.bench_function(format!("gemini->openai/{case}"), |b| {
            b.iter(|| gemini::translate_response(black_box(&body), &response_target()).expect("ok"))
        });
    }
    let openai_body = fixture("basic.openai-response.json");
    g.bench_function("openai->anthropic front door", |b| {
        b.iter(|| messages::response_from_openai(black_box(&openai_body)).expect("ok"))
    });
    g.finish();
}

fn streams(c: &mut Criterion) {
    let mut g = c.benchmark_group("stream");
    let gemini_events = events(&fixture("stream_text.gemini.sse"));
    g.throughput(Throughput::Elements(gemini_events.len() as u64));
    g.bench_function("gemini->openai per stream", |b| {
        b.iter(|| {
            let mut t = gemini::GeminiStream::new(&response_target(), "id".into());
            let mut out = Vec::with_capacity(4096);
            for e in &gemini_events {
                t.feed(black_box(e), &mut out).expect("feed");
            }
            t.finish(&mut out).expect("finish");
            out
        })
    });
    let openai_events = events(&fixture("stream_text.openai.sse"));
    g.throughput(Throughput::Elements(openai_events.len() as u64));
    g.bench_function("openai passthrough per stream", |b| {
        b.iter(|| {
            let mut t = openai::OpenAiStream::new(&response_target());
            let mut out = Vec::with_capacity(4096);
            for e in &openai_events {
                t.feed(black_box(e), &mut out).expect("feed");
            }
            t.finish(&mut out).expect("finish");
            out
        })
    });
    g.bench_function("openai->anthropic front door per stream", |b| {
        b.iter(|| {
            let mut t = messages::AnthropicStream::new("m");
            let mut out = Vec::with_capacity(4096);
            for e in &openai_events {
                t.feed(black_box(e), &mut out).expect("feed");
            }
            t.finish(&mut out).expect("finish");
            out
        })
    });
    g.finish();
}

criterion_group!(benches, requests, responses, streams);
criterion_main!(benches);
