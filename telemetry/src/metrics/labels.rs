//! The label sets of the metric families.

use super::*;

/// Provider, models and route: the labels shared by the GenAI histograms.
///
/// A request looks its set up in three families; the four strings are hashed once, into
/// `key`, and each family's map (std's SipHash) hashes only that. `key` comes from a hasher
/// seeded per process, so client-chosen model names cannot be picked to collide.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelLabels {
    pub(super) provider: String,
    pub(super) request_model: String,
    pub(super) response_model: String,
    pub(super) route: String,
    pub(super) key: u64,
}

impl Hash for ModelLabels {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.key);
    }
}

/// The per-process seed of [`ModelLabels`]' key.
fn label_hasher() -> &'static foldhash::quality::RandomState {
    static SEED: std::sync::OnceLock<foldhash::quality::RandomState> = std::sync::OnceLock::new();
    SEED.get_or_init(foldhash::quality::RandomState::default)
}

impl ModelLabels {
    pub fn new(
        provider: String,
        request_model: String,
        response_model: String,
        route: String,
    ) -> Self {
        let mut labels = ModelLabels {
            provider,
            request_model,
            response_model,
            route,
            key: 0,
        };
        labels.rekey();
        labels
    }

    fn rekey(&mut self) {
        use std::hash::BuildHasher;
        self.key = label_hasher().hash_one((
            &self.provider,
            &self.request_model,
            &self.response_model,
            &self.route,
        ));
    }

    fn encode_into(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        ("gen_ai_provider_name", self.provider.as_str()).encode(encoder.encode_label())?;
        ("gen_ai_request_model", self.request_model.as_str()).encode(encoder.encode_label())?;
        ("gen_ai_response_model", self.response_model.as_str()).encode(encoder.encode_label())?;
        ("route", self.route.as_str()).encode(encoder.encode_label())
    }

    pub(super) fn make_other(&mut self) {
        self.request_model = OTHER_MODEL.to_string();
        self.response_model = OTHER_MODEL.to_string();
        self.rekey();
    }
}

impl EncodeLabelSet for ModelLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        self.encode_into(encoder)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub(super) struct TokenLabels {
    pub(super) model: ModelLabels,
    pub(super) token_type: &'static str,
}

impl EncodeLabelSet for TokenLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        self.model.encode_into(encoder)?;
        ("gen_ai_token_type", self.token_type).encode(encoder.encode_label())
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub(super) struct DurationLabels {
    pub(super) model: ModelLabels,
    /// Present only when the request failed.
    pub(super) error_type: Option<Cow<'static, str>>,
}

impl EncodeLabelSet for DurationLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        self.model.encode_into(encoder)?;
        match &self.error_type {
            Some(e) => ("error_type", e.as_ref()).encode(encoder.encode_label()),
            None => Ok(()),
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub(super) struct RequestLabels {
    pub(super) route: String,
    pub(super) status: u16,
    pub(super) provider: String,
}

impl EncodeLabelSet for RequestLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        ("route", self.route.as_str()).encode(encoder.encode_label())?;
        ("status", self.status).encode(encoder.encode_label())?;
        ("gen_ai_provider_name", self.provider.as_str()).encode(encoder.encode_label())
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub(super) struct UpstreamErrorLabels {
    pub(super) route: String,
    pub(super) provider: String,
    pub(super) kind: &'static str,
}

impl EncodeLabelSet for UpstreamErrorLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        ("route", self.route.as_str()).encode(encoder.encode_label())?;
        ("gen_ai_provider_name", self.provider.as_str()).encode(encoder.encode_label())?;
        ("kind", self.kind).encode(encoder.encode_label())
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub(super) struct TokenTypeLabels {
    pub(super) route: String,
    pub(super) provider: String,
    pub(super) token_type: &'static str,
}

impl EncodeLabelSet for TokenTypeLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        ("route", self.route.as_str()).encode(encoder.encode_label())?;
        ("gen_ai_provider_name", self.provider.as_str()).encode(encoder.encode_label())?;
        ("gen_ai_token_type", self.token_type).encode(encoder.encode_label())
    }
}

/// What a request's cost is counted under.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub(super) struct CostLabels {
    pub(super) route: String,
    pub(super) provider: String,
    pub(super) request_model: String,
    /// The virtual key's id, empty without one.
    pub(super) key: String,
    /// Its team, empty without one.
    pub(super) team: String,
}

impl EncodeLabelSet for CostLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        ("route", self.route.as_str()).encode(encoder.encode_label())?;
        ("gen_ai_provider_name", self.provider.as_str()).encode(encoder.encode_label())?;
        ("gen_ai_request_model", self.request_model.as_str()).encode(encoder.encode_label())?;
        ("key", self.key.as_str()).encode(encoder.encode_label())?;
        ("team", self.team.as_str()).encode(encoder.encode_label())
    }
}

/// A model without a price.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub(super) struct UnpricedLabels {
    pub(super) provider: String,
    pub(super) request_model: String,
}

impl EncodeLabelSet for UnpricedLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        ("gen_ai_provider_name", self.provider.as_str()).encode(encoder.encode_label())?;
        ("gen_ai_request_model", self.request_model.as_str()).encode(encoder.encode_label())
    }
}

/// A counter of USD.
pub(super) type UsdCounter = Counter<f64, AtomicU64>;

/// One target of a balanced backend: the backend's name and the target's (`host:port`).
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub(super) struct EndpointLabels {
    pub(super) backend: String,
    pub(super) endpoint: String,
}

impl EncodeLabelSet for EndpointLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        ("backend", self.backend.as_str()).encode(encoder.encode_label())?;
        ("endpoint", self.endpoint.as_str()).encode(encoder.encode_label())
    }
}

/// A limit decision: the scope (`key:team-a`, `route:chat`; names from the config, so
/// bounded) and the decision (`allowed`, `refused`, `budget_exceeded`, `fail_open`,
/// `fail_closed`).
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub(super) struct LimitLabels {
    pub(super) scope: std::sync::Arc<str>,
    pub(super) decision: &'static str,
}

impl EncodeLabelSet for LimitLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        ("scope", &*self.scope).encode(encoder.encode_label())?;
        ("decision", self.decision).encode(encoder.encode_label())
    }
}

/// A backend (names from the config, so bounded).
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub(super) struct BackendLabels {
    pub(super) backend: String,
}

impl EncodeLabelSet for BackendLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        ("backend", self.backend.as_str()).encode(encoder.encode_label())
    }
}

/// A budget's scope (`key:<name>`, `team:<name>`, `route:<name>`; names from the config).
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub(super) struct ScopeLabels {
    pub(super) scope: std::sync::Arc<str>,
}

impl EncodeLabelSet for ScopeLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        ("scope", &*self.scope).encode(encoder.encode_label())
    }
}

pub(super) type UsdGauge = Gauge<f64, AtomicU64>;

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub(super) struct RouteLabels {
    pub(super) route: String,
}

impl EncodeLabelSet for RouteLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        ("route", self.route.as_str()).encode(encoder.encode_label())
    }
}

/// Makes a histogram with fixed buckets for a [`Family`].
#[derive(Clone, Copy, Debug)]
pub(super) struct Buckets(pub(super) &'static [f64]);

impl MetricConstructor<Histogram> for Buckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(self.0.iter().copied())
    }
}

pub(super) type Histograms<S> = Family<S, Histogram, Buckets>;
