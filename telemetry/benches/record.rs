//! The whole per-request telemetry cost on the request path, for one realistic record
//! (3-message prompt, one choice) with the Langfuse recipe: the standard attributes
//! (`record::base_attributes`), the text (and JSON) log line (`Telemetry::log_line`) and the
//! span (`Telemetry::span`: HTTP attributes, the 9 recipe fields, `SpanRecord`). Spans are built,
//! not queued or exported (`Telemetry` is made without a trace sink; `span` takes the rules).
//!
//! `cargo bench -p sluice-telemetry --bench record -- --quick`

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use criterion::{criterion_group, criterion_main, Criterion};
use sluice_telemetry::fields::Fields;
use sluice_telemetry::{
    record as std_attrs, FieldRules, LlmFacts, LogFormat, Metrics, PromptMessage, RequestRecord,
    Telemetry, TelemetryStats,
};

fn record() -> RequestRecord {
    RequestRecord {
        listener: "http".into(),
        route: "openai".into(),
        route_path: "/openai".into(),
        endpoint: "api.openai.com:443".into(),
        source_address: "10.1.2.3:49576".into(),
        method: "POST".into(),
        host: "gateway.internal".into(),
        path: "/openai/v1/chat/completions".into(),
        version: "HTTP/1.1",
        scheme: "http",
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("user-agent".into(), "OpenAI/Python 1.54.0".into()),
            ("accept".into(), "application/json".into()),
        ],
        status: 200,
        start: SystemTime::UNIX_EPOCH,
        duration: Duration::from_millis(812),
        trace_id: [7; 16],
        span_id: [9; 8],
        parent_span_id: None,
        sampled: true,
        llm: Some(LlmFacts {
            attempts: 1,
            fallback_reasons: Vec::new(),
            provider: "openai".into(),
            request_model: "gpt-4o-mini".into(),
            response_model: Some("gpt-4o-mini-2024-07-18".into()),
            input_tokens: Some(187),
            output_tokens: Some(164),
            total_tokens: Some(351),
            cached_input_tokens: None,
            reasoning_tokens: None,
            usage_estimated: false,
            streaming: false,
            params: vec![
                ("temperature".into(), serde_json::json!(0.2)),
                ("max_tokens".into(), serde_json::json!(512)),
                ("top_p".into(), serde_json::json!(0.9)),
            ],
            prompt: vec![
                PromptMessage {
                    role: "system".into(),
                    content: "You are a helpful assistant for an online bookshop. Answer briefly, \
                              cite the catalogue when you can, and never invent prices."
                        .into(),
                },
                PromptMessage {
                    role: "user".into(),
                    content: "I liked \"The Left Hand of Darkness\". What should I read next? \
                              Something with a similar mood, ideally under 400 pages."
                        .into(),
                },
                PromptMessage {
                    role: "assistant".into(),
                    content: "Do you prefer more science fiction, or are you open to other \
                              genres with the same contemplative tone?"
                        .into(),
                },
            ],
            completion: vec![
                "Try \"The Dispossessed\" by the same author: an anarchist moon, \
                              a physicist between two worlds, and the same quiet, careful \
                              attention to how a society shapes its people. It runs about \
                              380 pages. If you want a change of author, \"A Memory Called \
                              Empire\" shares its interest in language and culture."
                    .into(),
            ],
            tool_calls: vec![],
            finish_reasons: vec!["stop".into()],
            time_to_first_token: Some(Duration::from_millis(312)),
        }),
        error: None,
        limit: None,
    }
}

fn compile(add: &[(&str, &str)]) -> Fields {
    let add: Vec<(String, String)> = add
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    match Fields::compile(&add) {
        Ok(f) => f,
        Err(e) => panic!("{e:?}"),
    }
}

const LANGFUSE_RECIPE: [(&str, &str); 9] = [
    ("gen_ai.operation.name", r#""chat""#),
    ("gen_ai.system", "llm.provider"),
    ("gen_ai.prompt", "llm.prompt"),
    (
        "gen_ai.completion",
        r#"llm.completion.map(c, {"role":"assistant", "content": c})"#,
    ),
    ("gen_ai.usage.completion_tokens", "llm.output_tokens"),
    ("gen_ai.usage.prompt_tokens", "llm.input_tokens"),
    ("gen_ai.request.model", "llm.request_model"),
    ("gen_ai.response.model", "llm.response_model"),
    ("gen_ai.request", "flatten(llm.params)"),
];

fn telemetry(format: LogFormat) -> Telemetry {
    let stats = Arc::new(TelemetryStats::default());
    Telemetry::new(
        "sluice".into(),
        format,
        FieldRules::default(),
        None,
        stats.clone(),
        Arc::new(Metrics::new(stats)),
    )
}

fn per_request(c: &mut Criterion) {
    let rec = record();
    let rules = FieldRules {
        fields: compile(&LANGFUSE_RECIPE),
        remove: Vec::new(),
    };
    let no_recipe = FieldRules::default();
    let mut group = c.benchmark_group("record");
    for (name, format) in [("text", LogFormat::Text), ("json", LogFormat::Json)] {
        let t = telemetry(format);
        // Sanity: the recipe adds its fields without CEL errors.
        let mut attrs = Vec::with_capacity(40);
        std_attrs::base_attributes(&t.gateway, &rec, &mut attrs);
        let span = t.span(&rec, attrs, &rules);
        assert!(span
            .attributes
            .iter()
            .any(|(k, _)| k == "gen_ai.request.temperature"));
        assert_eq!(
            t.stats
                .cel_errors
                .load(std::sync::atomic::Ordering::Relaxed),
            0
        );

        group.bench_function(format!("langfuse_9/{name}_log+span"), |b| {
            b.iter(|| {
                let rec = black_box(&rec);
                let mut attrs = Vec::with_capacity(40);
                std_attrs::base_attributes(&t.gateway, rec, &mut attrs);
                let line = t.log_line(rec, &attrs);
                let span = t.span(rec, attrs, &rules);
                black_box((line, span))
            })
        });
    }
    let t = telemetry(LogFormat::Text);
    group.bench_function("genai_defaults/text_log+span", |b| {
        b.iter(|| {
            let rec = black_box(&rec);
            let mut attrs = Vec::with_capacity(40);
            std_attrs::base_attributes(&t.gateway, rec, &mut attrs);
            let line = t.log_line(rec, &attrs);
            let span = t.span(rec, attrs, &no_recipe);
            black_box((line, span))
        })
    });
    group.bench_function("parts/base_attributes", |b| {
        b.iter(|| {
            let mut attrs = Vec::with_capacity(40);
            std_attrs::base_attributes(&t.gateway, black_box(&rec), &mut attrs);
            black_box(attrs)
        })
    });
    let mut base = Vec::with_capacity(40);
    std_attrs::base_attributes(&t.gateway, &rec, &mut base);
    group.bench_function("parts/text_log_line", |b| {
        b.iter(|| black_box(t.log_line(black_box(&rec), black_box(&base))))
    });
    group.bench_function("parts/span_langfuse_9", |b| {
        b.iter(|| black_box(t.span(black_box(&rec), base.clone(), &rules)))
    });
    group.bench_function("parts/metrics_record", |b| {
        b.iter(|| t.metrics.record(black_box(&rec)))
    });
    group.finish();
}

criterion_group!(benches, per_request);
criterion_main!(benches);
