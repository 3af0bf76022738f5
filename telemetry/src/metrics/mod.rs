//! Prometheus metrics (OpenMetrics text at the admin listener's `/metrics`), after the
//! OpenTelemetry GenAI semantic conventions and their advised bucket boundaries.
//!
//! Built on the maintained `prometheus-client` crate (the Prometheus project's Rust client):
//! it is small (dtoa, itoa, parking_lot and a derive macro) and needs no runtime. Each metric
//! family is a map behind a `parking_lot` read lock; a histogram or counter update takes that
//! read lock, plus a short lock (histogram) or an atomic add (counter). Only a label set seen
//! for the first time takes the map's write lock. [`Metrics::record`] is called once per
//! finished request, from [`crate::Telemetry::record`].
//!
//! Exported:
//! - `gen_ai_client_token_usage` histogram (tokens; `gen_ai_token_type` = input | output),
//! - `gen_ai_client_operation_duration_seconds` histogram (+ `error_type` when it failed),
//! - `gen_ai_server_time_to_first_token_seconds` histogram (when the first token was seen),
//! - `gen_ai_server_time_per_output_token_seconds` histogram (streams, ≥ 2 output tokens),
//!
//!   all four with `gen_ai_provider_name`, `gen_ai_request_model`, `gen_ai_response_model`
//!   and `route`;
//! - `sluice_gateway_overhead_seconds` histogram by `route`: a request's duration less its
//!   time waiting on upstreams, for requests that called one,
//! - `sluice_requests_total` by `route`, `status`, `gen_ai_provider_name`,
//! - `sluice_upstream_errors_total` by `route`, `gen_ai_provider_name`, `kind`
//!   (see [`upstream_error_kind`]), `sluice_client_disconnects_total` by `route`,
//! - `sluice_tokens_total` by `route`, `gen_ai_provider_name` and `gen_ai_token_type` =
//!   input | output | cache_read | cache_creation | reasoning (cache reads and writes are
//!   part of input, reasoning part of output),
//! - `sluice_cost_usd_total` (USD, a float) by `route`, `gen_ai_provider_name`,
//!   `gen_ai_request_model`, `key` and `team` (the virtual key's id and team, empty without
//!   one), and
//!   `sluice_unpriced_requests_total` by `gen_ai_provider_name`, `gen_ai_request_model`:
//!   requests with usage whose model has no price,
//! - `sluice_otlp_spans_exported_total`, `sluice_otlp_spans_dropped_total`,
//!   `sluice_otlp_export_failures_total`, `sluice_cel_errors_total` (read from
//!   [`TelemetryStats`] at scrape time) and the `sluice_requests_in_flight` gauge,
//! - `sluice_limit_decisions_total` by `scope` (`key:<name>`, `team:<name>`, `route:<name>`)
//!   and `decision`, `sluice_limit_store_errors_total` (Redis calls that failed or timed out),
//! - `sluice_credential_errors_total` by `backend`: requests whose cloud credentials could not
//!   be had (answered 503, or failed over),
//! - `sluice_budget_usd` and `sluice_budget_spent_usd` gauges by `scope`: each budget, and
//!   its current window's spend as of the scope's last finished request (set by the gateway),
//! - `sluice_endpoint_ejections_total` and the `sluice_endpoint_healthy` gauge by `backend`,
//!   `endpoint`, for backends with several targets (set by the gateway).
//!
//! Cardinality: models come from clients, so every family carrying model labels holds at
//! most [`MAX_LABEL_SETS`] label sets; a request whose label set would be a new one past that
//! is recorded with both model labels set to `"other"` (those sets, bounded by routes ×
//! providers × token types / error types, are admitted past the cap, and racing first-time
//! inserts may overshoot it by a few). The other labels (route, provider, status, kind) are
//! bounded by the config and by HTTP.

use std::borrow::Cow;
use std::fmt;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabel, EncodeLabelSet, EncodeMetric, LabelSetEncoder,
};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::export::TelemetryStats;
use crate::facts::RequestRecord;

mod labels;
mod outcome;
#[cfg(test)]
mod tests;

pub use labels::ModelLabels;
use labels::{
    BackendLabels, Buckets, CostLabels, DurationLabels, EndpointLabels, Histograms, LimitLabels,
    RequestLabels, RouteLabels, ScopeLabels, TokenLabels, TokenTypeLabels, UnpricedLabels,
    UpstreamErrorLabels, UsdCounter, UsdGauge,
};
pub use outcome::{error_type, upstream_error_kind, Outcome};

/// Label sets per model-carrying metric family at most; past it models become `"other"`.
pub const MAX_LABEL_SETS: usize = 1000;

/// The model label value used once a family is full.
pub const OTHER_MODEL: &str = "other";

/// `gen_ai.client.token.usage` buckets (semconv advice).
pub const TOKEN_BUCKETS: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];
/// `gen_ai.client.operation.duration` buckets (semconv advice).
pub const DURATION_BUCKETS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/// `gen_ai.server.time_to_first_token` buckets (semconv advice).
pub const TTFT_BUCKETS: [f64; 16] = [
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
/// `gen_ai.server.time_per_output_token` buckets (semconv advice).
pub const TPOT_BUCKETS: [f64; 13] = [
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
];

/// `sluice_gateway_overhead_seconds` buckets: 50 µs to 1 s, finest below a millisecond.
pub const OVERHEAD_BUCKETS: [f64; 17] = [
    0.00005, 0.0001, 0.00015, 0.0002, 0.0003, 0.0004, 0.0005, 0.00075, 0.001, 0.0025, 0.005, 0.01,
    0.025, 0.05, 0.1, 0.25, 1.0,
];

/// The content type of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Reads [`TelemetryStats`] at scrape time.
#[derive(Debug)]
struct StatsCollector(Arc<TelemetryStats>);

impl Collector for StatsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let s = &self.0;
        let counters: [(&str, &str, u64); 4] = [
            (
                "sluice_otlp_spans_exported",
                "Spans the OTLP collector accepted.",
                s.spans_exported.load(Ordering::Relaxed),
            ),
            (
                "sluice_otlp_spans_dropped",
                "Spans dropped: queue full or export failed.",
                s.spans_dropped.load(Ordering::Relaxed),
            ),
            (
                "sluice_otlp_export_failures",
                "OTLP export calls that failed.",
                s.export_failures.load(Ordering::Relaxed),
            ),
            (
                "sluice_cel_errors",
                "CEL field evaluations that failed.",
                s.cel_errors.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, value) in counters {
            let counter = ConstCounter::new(value);
            let metric = encoder.encode_descriptor(name, help, None, counter.metric_type())?;
            counter.encode(metric)?;
        }
        Ok(())
    }
}

/// The gateway's metrics: one per process, shared by every config generation.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    token_usage: Capped<TokenLabels>,
    duration: Capped<DurationLabels>,
    ttft: Capped<ModelLabels>,
    tpot: Capped<ModelLabels>,
    overhead: Histograms<RouteLabels>,
    requests: Family<RequestLabels, Counter>,
    upstream_errors: Family<UpstreamErrorLabels, Counter>,
    client_disconnects: Family<RouteLabels, Counter>,
    tokens: Family<TokenTypeLabels, Counter>,
    cost: Capped<CostLabels, UsdCounter, fn() -> UsdCounter>,
    unpriced: Capped<UnpricedLabels, Counter, fn() -> Counter>,
    in_flight: Gauge,
    limit_decisions: Family<LimitLabels, Counter>,
    limit_store_errors: Counter,
    budget: Family<ScopeLabels, UsdGauge>,
    credential_errors: Family<BackendLabels, Counter>,
    budget_spent: Family<ScopeLabels, UsdGauge>,
    endpoint_ejections: Family<EndpointLabels, Counter>,
    endpoint_healthy: Family<EndpointLabels, Gauge>,
}

impl Metrics {
    pub fn new(stats: Arc<TelemetryStats>) -> Self {
        let token_usage = Capped::new(&TOKEN_BUCKETS);
        let duration = Capped::new(&DURATION_BUCKETS);
        let ttft = Capped::new(&TTFT_BUCKETS);
        let tpot = Capped::new(&TPOT_BUCKETS);
        let overhead = Histograms::<RouteLabels>::new_with_constructor(Buckets(&OVERHEAD_BUCKETS));
        let requests = Family::<RequestLabels, Counter>::default();
        let upstream_errors = Family::<UpstreamErrorLabels, Counter>::default();
        let client_disconnects = Family::<RouteLabels, Counter>::default();
        let tokens = Family::<TokenTypeLabels, Counter>::default();
        let cost = Capped::counters();
        let unpriced = Capped::counters();
        let in_flight = Gauge::default();
        let limit_decisions = Family::<LimitLabels, Counter>::default();
        let limit_store_errors = Counter::default();
        let budget = Family::<ScopeLabels, UsdGauge>::default();
        let credential_errors = Family::<BackendLabels, Counter>::default();
        let budget_spent = Family::<ScopeLabels, UsdGauge>::default();
        let endpoint_ejections = Family::<EndpointLabels, Counter>::default();
        let endpoint_healthy = Family::<EndpointLabels, Gauge>::default();

        let mut registry = Registry::default();
        registry.register(
            "gen_ai_client_token_usage",
            "Number of input and output tokens used.",
            token_usage.family.clone(),
        );
        registry.register_with_unit(
            "gen_ai_client_operation_duration",
            "GenAI operation duration.",
            Unit::Seconds,
            duration.family.clone(),
        );
        registry.register_with_unit(
            "gen_ai_server_time_to_first_token",
            "Time to generate the first token, for streams.",
            Unit::Seconds,
            ttft.family.clone(),
        );
        registry.register_with_unit(
            "gen_ai_server_time_per_output_token",
            "Time per output token after the first, for streams.",
            Unit::Seconds,
            tpot.family.clone(),
        );
        registry.register_with_unit(
            "sluice_gateway_overhead",
            "Time a request spent in the gateway itself: its duration less the time spent \
             waiting on upstreams (connecting, sending, awaiting and reading answers, pauses \
             between retries). Requests that called an upstream.",
            Unit::Seconds,
            overhead.clone(),
        );
        registry.register(
            "sluice_requests",
            "Requests answered, by route, HTTP status and provider.",
            requests.clone(),
        );
        registry.register(
            "sluice_upstream_errors",
            "Upstream failures, by kind: rate_limited, upstream_5xx, connect, timeout, stream.",
            upstream_errors.clone(),
        );
        registry.register(
            "sluice_tokens",
            "Tokens by type: input (every prompt token, cached ones too), output, and of those \
             cache_read, cache_creation (prompt tokens read from and written to the \
             provider's cache) and reasoning (output tokens spent thinking).",
            tokens.clone(),
        );
        registry.register(
            "sluice_cost_usd",
            "What requests cost in USD, from the price catalog and `config.pricing`, by \
             route, provider, requested model, virtual key id and its team (empty without).",
            cost.family.clone(),
        );
        registry.register(
            "sluice_unpriced_requests",
            "Requests with usage whose model has no price (no cost counted).",
            unpriced.family.clone(),
        );
        registry.register(
            "sluice_client_disconnects",
            "Requests whose client went away before the answer was written.",
            client_disconnects.clone(),
        );
        registry.register(
            "sluice_requests_in_flight",
            "Requests being served.",
            in_flight.clone(),
        );
        registry.register(
            "sluice_endpoint_ejections",
            "Targets of a balanced backend ejected after consecutive failures.",
            endpoint_ejections.clone(),
        );
        registry.register(
            "sluice_endpoint_healthy",
            "1 when a target of a balanced backend takes traffic (health check passing, not ejected), else 0.",
            endpoint_healthy.clone(),
        );
        registry.register(
            "sluice_limit_decisions",
            "Admissions of requests subject to a limit, by scope and decision.",
            limit_decisions.clone(),
        );
        registry.register(
            "sluice_limit_store_errors",
            "Calls to the shared limit store (Redis) that failed or timed out.",
            limit_store_errors.clone(),
        );
        registry.register(
            "sluice_credential_errors",
            "Requests and health probes whose backend's cloud credentials could not be had \
             (AWS, Google, Azure credential sources), by backend.",
            credential_errors.clone(),
        );
        registry.register(
            "sluice_budget_usd",
            "Each budget (USD per window), by scope.",
            budget.clone(),
        );
        registry.register(
            "sluice_budget_spent_usd",
            "Spend in the current window of each budget, by scope, as of its last finished \
             request (shared budgets: the total of every replica).",
            budget_spent.clone(),
        );
        registry.register_collector(Box::new(StatsCollector(stats)));
        Self {
            registry,
            token_usage,
            duration,
            ttft,
            tpot,
            overhead,
            requests,
            upstream_errors,
            client_disconnects,
            tokens,
            cost,
            unpriced,
            in_flight,
            limit_decisions,
            limit_store_errors,
            budget,
            credential_errors,
            budget_spent,
            endpoint_ejections,
            endpoint_healthy,
        }
    }

    /// Counts one ejection of `endpoint` (a target of `backend`).
    pub fn endpoint_ejected(&self, backend: &str, endpoint: &str) {
        self.endpoint_ejections
            .get_or_create(&EndpointLabels {
                backend: backend.to_string(),
                endpoint: endpoint.to_string(),
            })
            .inc();
    }

    /// Replaces every `sluice_endpoint_healthy` value by `states` (backend, endpoint, healthy):
    /// targets gone with a reload disappear.
    pub fn set_endpoint_health<'a>(
        &self,
        states: impl IntoIterator<Item = (&'a str, &'a str, bool)>,
    ) {
        self.endpoint_healthy.clear();
        for (backend, endpoint, healthy) in states {
            self.endpoint_healthy
                .get_or_create(&EndpointLabels {
                    backend: backend.to_string(),
                    endpoint: endpoint.to_string(),
                })
                .set(i64::from(healthy));
        }
    }

    /// Counts one failed or timed-out call to the shared limit store.
    pub fn limit_store_error(&self) {
        self.limit_store_errors.inc();
    }

    /// Counts a request or health probe whose backend's cloud credentials could not be had.
    pub fn credential_error(&self, backend: &str) {
        self.credential_errors
            .get_or_create(&BackendLabels {
                backend: backend.to_string(),
            })
            .inc();
    }

    /// Sets a budget's gauges: `spent_usd` of `budget_usd` in its current window.
    pub fn budget_spent(&self, scope: &Arc<str>, spent_usd: f64, budget_usd: f64) {
        let labels = ScopeLabels {
            scope: scope.clone(),
        };
        self.budget.get_or_create(&labels).set(budget_usd);
        self.budget_spent.get_or_create(&labels).set(spent_usd);
    }

    /// Records one finished (or aborted) request.
    pub fn record(&self, rec: &RequestRecord) {
        if let Some(limit) = &rec.limit {
            for scope in &limit.scopes {
                self.limit_decisions
                    .get_or_create(&LimitLabels {
                        scope: scope.clone(),
                        decision: limit.decision,
                    })
                    .inc();
            }
        }
        let provider = rec.llm.as_ref().map_or("", |l| l.provider.as_str());
        self.requests
            .get_or_create(&RequestLabels {
                route: rec.route.clone(),
                status: rec.status,
                provider: provider.to_string(),
            })
            .inc();
        if !rec.endpoint.is_empty() {
            let own = rec.duration.saturating_sub(rec.upstream_time);
            self.overhead
                .get_or_create(&RouteLabels {
                    route: rec.route.clone(),
                })
                .observe(own.as_secs_f64());
        }
        let outcome = upstream_error_kind(rec);
        match outcome {
            Outcome::ClientDisconnected => {
                self.client_disconnects
                    .get_or_create(&RouteLabels {
                        route: rec.route.clone(),
                    })
                    .inc();
            }
            Outcome::Upstream(kind) => {
                self.upstream_errors
                    .get_or_create(&UpstreamErrorLabels {
                        route: rec.route.clone(),
                        provider: provider.to_string(),
                        kind,
                    })
                    .inc();
            }
            Outcome::Ok | Outcome::Failed => {}
        }

        let Some(llm) = &rec.llm else { return };
        for (token_type, count) in [
            ("input", llm.input_tokens),
            ("output", llm.output_tokens),
            ("cache_read", llm.cached_input_tokens),
            ("cache_creation", llm.cache_creation_input_tokens),
            ("reasoning", llm.reasoning_tokens),
        ] {
            if let Some(n) = count.filter(|n| *n > 0) {
                self.tokens
                    .get_or_create(&TokenTypeLabels {
                        route: rec.route.clone(),
                        provider: llm.provider.clone(),
                        token_type,
                    })
                    .inc_by(n);
            }
        }
        self.record_cost(rec, llm);
        // One set of model labels, built once and moved from label set to label set: a
        // lookup that finds its series allocates nothing more.
        let mut tokens = TokenLabels {
            model: ModelLabels::new(
                llm.provider.clone(),
                llm.request_model.clone(),
                llm.response_model.clone().unwrap_or_default(),
                rec.route.clone(),
            ),
            token_type: "input",
        };
        for (token_type, count) in [("input", llm.input_tokens), ("output", llm.output_tokens)] {
            if let Some(n) = count {
                tokens.token_type = token_type;
                self.token_usage
                    .observe(&tokens, |l| l.model.make_other(), n as f64);
            }
        }
        let error_type = error_type(rec, outcome);
        let duration = DurationLabels {
            model: tokens.model,
            error_type,
        };
        self.duration.observe(
            &duration,
            |l| l.model.make_other(),
            rec.duration.as_secs_f64(),
        );

        if let Some(ttft) = llm.time_to_first_token {
            let model = &duration.model;
            self.ttft
                .observe(model, ModelLabels::make_other, ttft.as_secs_f64());
            let output = llm.output_tokens.unwrap_or(0);
            if llm.streaming && output >= 2 {
                let per_token =
                    rec.duration.saturating_sub(ttft).as_secs_f64() / (output - 1) as f64;
                self.tpot.observe(model, ModelLabels::make_other, per_token);
            }
        }
    }

    /// Adds the request's cost, or counts its model as unpriced when it had usage but no cost.
    fn record_cost(&self, rec: &RequestRecord, llm: &crate::facts::LlmFacts) {
        if let Some(usd) = llm.cost {
            let labels = CostLabels {
                route: rec.route.clone(),
                provider: llm.provider.clone(),
                request_model: llm.request_model.clone(),
                key: rec.key.clone(),
                team: rec.team.clone(),
            };
            let other = |l: &mut CostLabels| l.request_model = OTHER_MODEL.to_string();
            self.cost.update(&labels, other, |c| {
                c.inc_by(usd);
            });
        } else if llm.input_tokens.is_some() || llm.output_tokens.is_some() {
            let labels = UnpricedLabels {
                provider: llm.provider.clone(),
                request_model: llm.request_model.clone(),
            };
            let other = |l: &mut UnpricedLabels| l.request_model = OTHER_MODEL.to_string();
            self.unpriced.update(&labels, other, |c| {
                c.inc();
            });
        }
    }

    /// The metrics in the OpenMetrics text format ([`CONTENT_TYPE`]); `in_flight` is the
    /// number of requests being served now.
    pub fn encode(&self, in_flight: u64) -> String {
        self.in_flight
            .set(i64::try_from(in_flight).unwrap_or(i64::MAX));
        let mut out = String::with_capacity(16 * 1024);
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// A metric family holding at most about [`MAX_LABEL_SETS`] label sets.
#[derive(Debug)]
struct Capped<S, M = Histogram, C = Buckets> {
    family: Family<S, M, C>,
    /// Label sets created (racing first-time inserts of one set may count it twice, which
    /// only makes the cap stricter).
    sets: AtomicUsize,
}

impl<S: Clone + Hash + Eq> Capped<S> {
    fn new(buckets: &'static [f64]) -> Self {
        Self {
            family: Family::new_with_constructor(Buckets(buckets)),
            sets: AtomicUsize::new(0),
        }
    }

    /// Observes `v` under `labels` (see [`Capped::update`]).
    fn observe(&self, labels: &S, other: impl FnOnce(&mut S), v: f64) {
        self.update(labels, other, |h| h.observe(v));
    }
}

impl<S: Clone + Hash + Eq, M: Default> Capped<S, M, fn() -> M> {
    fn counters() -> Self {
        Self {
            family: Family::default(),
            sets: AtomicUsize::new(0),
        }
    }
}

impl<S: Clone + Hash + Eq, M, C: MetricConstructor<M>> Capped<S, M, C> {
    /// Updates the metric under `labels`, or under `labels` passed through `other` when the
    /// family is full and `labels` would be a new set. Only a new set clones `labels`.
    fn update(&self, labels: &S, other: impl FnOnce(&mut S), f: impl FnOnce(&M)) {
        if let Some(m) = self.family.get(labels) {
            f(&m);
            return;
        }
        let mut labels = labels.clone();
        if self.sets.load(Ordering::Relaxed) >= MAX_LABEL_SETS {
            other(&mut labels);
        } else {
            self.sets.fetch_add(1, Ordering::Relaxed);
        }
        f(&self.family.get_or_create(&labels));
    }
}
