//! Every translator against hostile input: arbitrary bytes, split anywhere, into every stream
//! translator and JSON translator of every provider and front door. None may panic, and none
//! may buffer without bound (an endless line or frame is refused, not stored).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sluice_providers::openai::ChatRequest;
use sluice_providers::{
    embeddings, front::messages, ProviderKind, RequestTarget, ResponseTarget, StreamTranslator,
    VertexSite,
};

use crate::common::fuzz::feed_random_chunks;

mod common;

const PROVIDERS: &[&str] = &[
    "openai",
    "gemini",
    "anthropic",
    "vertex",
    "bedrock",
    "azure",
    "groq",
];

fn target() -> ResponseTarget<'static> {
    ResponseTarget {
        model: "m",
        created: 1,
        include_usage: true,
    }
}

fn translators() -> Vec<(String, Box<dyn StreamTranslator>)> {
    let mut out: Vec<(String, Box<dyn StreamTranslator>)> = PROVIDERS
        .iter()
        .map(|name| {
            let kind = ProviderKind::from_name(name).unwrap();
            (
                name.to_string(),
                kind.stream_translator(&target(), "id".into()),
            )
        })
        .collect();
    out.push((
        "anthropic front door".into(),
        Box::new(messages::AnthropicStream::new("m")),
    ));
    out
}

/// Random bytes biased towards the characters streams are made of.
fn noise(rng: &mut StdRng, len: usize) -> Vec<u8> {
    const ALPHABET: &[u8] =
        b"data: {}[]\":,\n\n\r event:message_start content_block_delta choices delta 0123456789";
    (0..len)
        .map(|_| {
            if rng.random_bool(0.7) {
                ALPHABET[rng.random_range(0..ALPHABET.len())]
            } else {
                rng.random()
            }
        })
        .collect()
}

#[test]
fn stream_translators_survive_noise_split_anywhere() {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    for round in 0..300 {
        let len = rng.random_range(0..4096);
        let input = noise(&mut rng, len);
        for (name, mut t) in translators() {
            let mut out = Vec::new();
            let _ = feed_random_chunks(t.as_mut(), &input, 97, &mut rng, &mut out);
            let _ = t.finish(&mut out);
            assert!(
                out.len() < 64 * input.len() + 4096,
                "{name} round {round}: output blew up"
            );
        }
    }
}

#[test]
fn an_endless_line_is_refused_not_buffered() {
    let big = vec![b'x'; 1024 * 1024];
    for (name, mut t) in translators() {
        let mut out = Vec::new();
        let mut refused = false;
        for _ in 0..32 {
            if t.feed(&big, &mut out).is_err() {
                refused = true;
                break;
            }
        }
        assert!(refused, "{name} buffered 32 MiB without refusing");
    }
}

#[test]
fn json_translators_survive_noise() {
    let mut rng = StdRng::seed_from_u64(7);
    let req_target = RequestTarget {
        model: "m",
        api_version: None,
        vertex: Some(VertexSite {
            project: "p",
            location: "l",
        }),
        ..RequestTarget::default()
    };
    for _ in 0..2000 {
        let len = rng.random_range(0..512);
        let input = noise(&mut rng, len);
        for name in PROVIDERS {
            let kind = ProviderKind::from_name(name).unwrap();
            let _ = kind.translate_response(&input, &target());
            let _ = kind.translate_error(rng.random_range(100..600), &input);
        }
        let _ = messages::request_to_openai(&input);
        let _ = messages::response_from_openai(&input);
        let _ = messages::error_from_openai(400, &input);
        let _ = messages::count_tokens(&input);
        let _ = embeddings::EmbeddingsRequest::parse(&input);
        if let Ok(req) = ChatRequest::parse(&input) {
            for name in PROVIDERS {
                let kind = ProviderKind::from_name(name).unwrap();
                let _ = kind.translate_request(&req, &req_target);
            }
        }
    }
}
