//! The whole per-request telemetry cost on the request path, for one realistic record
//! (3-message prompt, one choice) with the Langfuse recipe: the standard attributes
//! (`record::base_attributes`), the text (and JSON) log line (`Telemetry::log_line`) and the
//! span (`Telemetry::span`: HTTP attributes, the 9 recipe fields, `SpanRecord`). Spans are built,
//! not queued or exported (`Telemetry` is made without a trace sink; `span` takes the rules);
//! `parts/span_encode_langfuse_9` is the span's protobuf encoding, done on the telemetry thread.
//!
//! `cargo bench -p sluice-telemetry --bench record -- --quick`

mod common;

use std::hint::black_box;
use std::sync::Arc;

use common::{compile, record, LANGFUSE_RECIPE};
use criterion::{criterion_group, criterion_main, Criterion};
use sluice_telemetry::{
    otlp, record as std_attrs, FieldRules, LogFormat, Metrics, Telemetry, TelemetryStats,
};

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
    let span = t.span(&rec, base.clone(), &rules);
    group.bench_function("parts/span_encode_langfuse_9", |b| {
        b.iter(|| black_box(otlp::encode(black_box(&span))))
    });
    group.bench_function("parts/metrics_record", |b| {
        b.iter(|| t.metrics.record(black_box(&rec)))
    });
    group.finish();
}

criterion_group!(benches, per_request);
criterion_main!(benches);
