//! Per-request telemetry: the facts of one finished request ([`RequestRecord`]) become CEL
//! fields, an OTLP span, a log line and metrics ([`metrics::Metrics`]).
//!
//! The request path only hands the record to the telemetry thread ([`worker::RecordQueue`]),
//! which records the metrics, formats the log line, builds the span's attributes and hands
//! the span to a bounded queue ([`export::SpanQueue`]); export happens in a background task
//! ([`export::SpanExporter`]). A full span queue drops the span and counts the drop; a full
//! record queue has the request thread do the work itself. CEL programs are compiled once, at
//! config load ([`fields::Fields`]).
#![forbid(unsafe_code)]

pub mod export;
pub mod facts;
pub mod fields;
pub mod logline;
pub mod metrics;
pub mod otlp;
pub mod record;
pub mod settings;
pub mod trace_context;
pub mod value;
pub mod worker;

#[cfg(test)]
mod cost_tests;

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;

pub use export::TelemetryStats;
pub use facts::{
    LimitFacts, LlmFacts, Needs, PromptMessage, RequestRecord, ToolCall, ToolDefinition,
};
pub use metrics::Metrics;
pub use otlp::SpanRecord;
pub use settings::{LogFormat, OtlpProtocol};
pub use value::{Attr, AttrKey, AttrValue};

use fields::Fields;

/// What to add to and remove from the standard attributes.
#[derive(Debug, Default)]
pub struct FieldRules {
    pub fields: Fields,
    pub remove: Vec<String>,
}

/// Which requests get a log line: none when `enabled` is false (`logging.level` above info),
/// else those for which the CEL `logging.filter` is true (all without one).
#[derive(Debug)]
pub struct LogFilter {
    pub enabled: bool,
    /// One compiled field named `filter`; empty when there is none.
    pub filter: Fields,
}

impl Default for LogFilter {
    fn default() -> Self {
        LogFilter {
            enabled: true,
            filter: Fields::default(),
        }
    }
}

impl LogFilter {
    fn allows(&self, rec: &RequestRecord, stats: &TelemetryStats) -> bool {
        if !self.enabled {
            return false;
        }
        if self.filter.is_empty() {
            return true;
        }
        let mut out = Vec::with_capacity(1);
        let errors = self.filter.evaluate(rec, &mut out);
        if errors > 0 {
            stats
                .cel_errors
                .fetch_add(u64::from(errors), Ordering::Relaxed);
        }
        // An expression that fails or is not a bool logs the line: better noise than loss.
        !matches!(out.first(), Some((_, AttrValue::Bool(false))))
    }
}

/// The span side of the pipeline.
#[derive(Debug)]
pub struct TraceSink {
    pub rules: FieldRules,
    pub queue: export::SpanQueue,
}

/// One config generation's telemetry: log line format and fields, span fields and queue.
#[derive(Debug)]
pub struct Telemetry {
    pub gateway: String,
    pub log_format: LogFormat,
    pub log_rules: FieldRules,
    pub trace: Option<TraceSink>,
    pub stats: Arc<TelemetryStats>,
    /// Shared by every generation, so metrics survive reloads.
    pub metrics: Arc<Metrics>,
    /// Which requests get a log line (all, by default).
    pub log_filter: LogFilter,
}

impl Telemetry {
    pub fn new(
        gateway: String,
        log_format: LogFormat,
        log_rules: FieldRules,
        trace: Option<TraceSink>,
        stats: Arc<TelemetryStats>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            gateway,
            log_format,
            log_rules,
            trace,
            stats,
            metrics,
            log_filter: LogFilter::default(),
        }
    }

    /// Logs only the requests `filter` lets through.
    pub fn with_log_filter(mut self, filter: LogFilter) -> Self {
        self.log_filter = filter;
        self
    }

    /// The copied facts this generation's log and span fields read: the gateway fills only
    /// those per request. Spans without `fields.add` carry the GenAI defaults, which include
    /// the request's parameters.
    pub fn needs(&self) -> Needs {
        let mut needs = self.log_rules.fields.needs();
        if let Some(trace) = &self.trace {
            needs = needs.union(trace.rules.fields.needs());
            if trace.rules.fields.is_empty() {
                needs.params = true;
            }
        }
        needs
    }

    /// Whether any CEL field reads `request.headers` (only then are headers copied).
    pub fn uses_request_headers(&self) -> bool {
        self.needs().headers
    }

    /// Whether spans are being made at all (tracing configured).
    pub fn tracing_enabled(&self) -> bool {
        self.trace.is_some()
    }

    /// Records the request's metrics, writes its log line to stdout and queues its span (when
    /// sampled), all on the calling thread. The gateway hands records to a
    /// [`worker::RecordQueue`] instead, which does the same work off the request thread.
    pub fn record(&self, rec: &RequestRecord) {
        let mut line = Vec::new();
        self.record_into(rec, &mut line);
        if !line.is_empty() {
            // A closed stdout must not take the gateway down; the line is lost, nothing else.
            let _ = std::io::stdout().lock().write_all(&line);
        }
    }

    /// Records the request's metrics, appends its log line (if any) to `out` and queues its
    /// span (when sampled).
    pub fn record_into(&self, rec: &RequestRecord, out: &mut Vec<u8>) {
        // Metrics first: once the log line is out, a scrape sees the request.
        self.metrics.record(rec);
        self.emit(rec, out);
    }

    /// The log line and span of `rec` (not its metrics): appends the line, if the filter lets
    /// it through, to `out`, and queues the span when sampled.
    fn emit(&self, rec: &RequestRecord, out: &mut Vec<u8>) {
        let log = self.log_filter.allows(rec, &self.stats);
        let trace = self.trace.as_ref().filter(|_| rec.sampled);
        if !log && trace.is_none() {
            return;
        }
        let mut attrs = Vec::with_capacity(40);
        record::base_attributes(&self.gateway, rec, &mut attrs);
        if log {
            self.write_log_line(rec, &attrs, out);
        }
        if let Some(trace) = trace {
            let span = self.span(rec, attrs, &trace.rules);
            trace.queue.push(span);
        }
    }

    /// The log line (with its newline) for `rec`, given its standard attributes.
    pub fn log_line(&self, rec: &RequestRecord, base: &[Attr<'_>]) -> Vec<u8> {
        let mut line = Vec::with_capacity(512);
        self.write_log_line(rec, base, &mut line);
        line
    }

    fn write_log_line(&self, rec: &RequestRecord, base: &[Attr<'_>], line: &mut Vec<u8>) {
        let rules = &self.log_rules;
        if rules.fields.is_empty() && rules.remove.is_empty() {
            self.format(rec, base, line);
        } else {
            let mut attrs = base.to_vec();
            let mut extra = Vec::new();
            self.count_errors(rules.fields.evaluate(rec, &mut extra));
            record::merge_fields(&mut attrs, extra);
            record::apply_remove(&mut attrs, &rules.remove);
            self.format(rec, &attrs, line);
        }
    }

    fn format(&self, rec: &RequestRecord, attrs: &[Attr<'_>], out: &mut Vec<u8>) {
        match self.log_format {
            LogFormat::Text => logline::format_text(attrs, out),
            LogFormat::Json => logline::format_json(rec.start + rec.duration, attrs, out),
        }
    }

    fn count_errors(&self, n: u32) {
        if n > 0 {
            self.stats
                .cel_errors
                .fetch_add(u64::from(n), Ordering::Relaxed);
        }
    }

    /// The span for `rec`: standard attributes, HTTP attributes, then CEL fields.
    pub fn span<'a>(
        &self,
        rec: &'a RequestRecord,
        mut attrs: Vec<Attr<'a>>,
        rules: &'a FieldRules,
    ) -> SpanRecord<'a> {
        record::span_http_attributes(rec, &mut attrs);
        if rules.fields.is_empty() {
            // No recipe: the span follows the GenAI semantic conventions by itself.
            record::genai_attributes(rec, &mut attrs);
        }
        let mut extra = Vec::new();
        self.count_errors(rules.fields.evaluate(rec, &mut extra));
        record::merge_fields(&mut attrs, extra);
        record::apply_remove(&mut attrs, &rules.remove);
        let mut name = String::with_capacity(rec.method.len() + 1 + rec.route_path.len());
        name.push_str(&rec.method);
        if !rec.route_path.is_empty() {
            name.push(' ');
            name.push_str(&rec.route_path);
        }
        if let Some(i) = attrs.iter().position(|(k, _)| k == "span.name") {
            let (_, v) = attrs.remove(i);
            name = v.to_string();
        }
        SpanRecord {
            name,
            trace_id: rec.trace_id,
            span_id: rec.span_id,
            parent_span_id: rec.parent_span_id,
            start: rec.start,
            end: rec.start + rec.duration,
            attributes: attrs,
            error: (rec.status >= 500).then(|| rec.error.clone().unwrap_or_default()),
        }
    }
}
