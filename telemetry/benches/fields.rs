//! `Fields::evaluate` per request, on a realistic record (3-message prompt, one choice):
//! the seed's default recipe (6 fields: a constant and plain paths) and the Langfuse recipe
//! (9 fields, with `llm.completion.map(...)` in the interpreter and `flatten(llm.params)`),
//! plus the Phoenix recipe (two interpreted `flatten_recursive(...map(...))`), and sluice's own
//! recipes for tracing UIs as shipped in `conf/tracing/` (`openinference.yaml`, `genai.yaml`).
//!
//! `cargo bench -p sluice-telemetry --bench fields -- --quick`

mod common;

use std::hint::black_box;

use common::{compile, record, LANGFUSE_RECIPE};
use criterion::{criterion_group, criterion_main, Criterion};

const DEFAULT_RECIPE: [(&str, &str); 6] = [
    ("gen_ai.operation.name", r#""chat""#),
    ("gen_ai.system", "llm.provider"),
    ("gen_ai.request.model", "llm.requestModel"),
    ("gen_ai.response.model", "llm.responseModel"),
    ("gen_ai.usage.completion_tokens", "llm.outputTokens"),
    ("gen_ai.usage.prompt_tokens", "llm.inputTokens"),
];

const PHOENIX_RECIPE: [(&str, &str); 8] = [
    ("span.name", r#""openai.chat""#),
    ("openinference.span.kind", r#""LLM""#),
    ("llm.system", "llm.provider"),
    (
        "llm.input_messages",
        r#"flatten_recursive(llm.prompt.map(c, {"message": c}))"#,
    ),
    (
        "llm.output_messages",
        r#"flatten_recursive(llm.completion.map(c, {"role":"assistant", "content": c}))"#,
    ),
    ("llm.token_count.completion", "llm.output_tokens"),
    ("llm.token_count.prompt", "llm.input_tokens"),
    ("llm.token_count.total", "llm.total_tokens"),
];

/// The `fields.add` of a recipe in `conf/tracing/`.
fn shipped(file: &str) -> Vec<(String, String)> {
    let path = format!("{}/../conf/tracing/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let tree: serde_json::Value = serde_saphyr::from_str(&text).expect("YAML");
    let add = tree["config"]["tracing"]["fields"]["add"]
        .as_object()
        .expect("fields.add");
    add.iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("CEL text").to_string()))
        .collect()
}

fn borrowed(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn evaluate(c: &mut Criterion) {
    let rec = record();
    let mut group = c.benchmark_group("fields/evaluate");
    let openinference = shipped("openinference.yaml");
    let genai = shipped("genai.yaml");
    let (openinference, genai) = (borrowed(&openinference), borrowed(&genai));
    for (name, recipe) in [
        ("default_6", &DEFAULT_RECIPE[..]),
        ("langfuse_9", &LANGFUSE_RECIPE[..]),
        ("phoenix_8", &PHOENIX_RECIPE[..]),
        ("openinference_shipped", &openinference[..]),
        ("genai_shipped", &genai[..]),
    ] {
        let fields = compile(recipe);
        let mut out = Vec::with_capacity(32);
        assert_eq!(fields.evaluate(&rec, &mut out), 0, "{name}: {out:?}");
        group.bench_function(name, |b| {
            b.iter(|| {
                // the caller gets owned attributes: their allocation is part of the cost
                out.clear();
                black_box(fields.evaluate(black_box(&rec), &mut out))
            })
        });
    }
    group.finish();
}

fn compile_once(c: &mut Criterion) {
    c.bench_function("fields/compile/langfuse_9", |b| {
        b.iter(|| black_box(compile(black_box(&LANGFUSE_RECIPE))))
    });
}

fn single(c: &mut Criterion) {
    let rec = record();
    let mut group = c.benchmark_group("fields/single");
    for (name, expr) in [
        ("prompt_native", "llm.prompt"),
        ("params_flatten_native", "flatten(llm.params)"),
        ("provider_interp", "llm.provider + ''"),
        ("completion_list_interp", "llm.completion.map(c, c)"),
        (
            "completion_map_interp",
            r#"llm.completion.map(c, {"role":"assistant", "content": c})"#,
        ),
        (
            "map_literal_interp",
            r#"{"role":"assistant", "content": llm.provider}"#,
        ),
        ("list_literal_interp", r#"[llm.provider]"#),
    ] {
        let fields = compile(&[("k", expr)]);
        let mut out = Vec::with_capacity(32);
        group.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                black_box(fields.evaluate(black_box(&rec), &mut out))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, evaluate, single, compile_once);
criterion_main!(benches);
