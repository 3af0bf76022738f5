//! Config types that mirror the YAML file exactly. Unknown keys are errors; every value is
//! validated and resolved into the runtime types of [`super::runtime`].

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawConfig {
    pub name: Option<String>,
    #[serde(default)]
    pub config: RawGlobal,
    #[serde(default)]
    pub listeners: Vec<RawListener>,
    #[serde(default)]
    pub backends: Vec<RawBackend>,
    /// Teams with a budget shared by their keys.
    #[serde(default)]
    pub teams: Vec<RawTeam>,
}

/// A team: keys name it with `team:`; its budget covers all of them together.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawTeam {
    pub name: String,
    pub budget: Option<RawBudget>,
}

/// `budget: {usd: 50, window: 1d | 7d | 30d | month}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawBudget {
    pub usd: f64,
    /// `1d`, `7d`, `month` (default) or any duration.
    pub window: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawGlobal {
    pub admin_addr: Option<String>,
    pub tracing: Option<RawTracing>,
    pub logging: Option<RawLogging>,
    /// Largest request body accepted, in bytes (default 32 MiB).
    pub max_request_body_bytes: Option<u64>,
    /// Upper bound on draining in-flight requests at shutdown, e.g. `30s` (default 30s).
    pub grace_period: Option<String>,
    /// Worker threads of each listener (default: one per CPU available, see docs/configuration.md).
    pub worker_threads: Option<usize>,
    /// Unix socket over which `sluice run --upgrade` takes the listening sockets of the
    /// running process (default `/tmp/sluice_upgrade.sock`).
    pub upgrade_socket: Option<String>,
    /// Where limit counters live (default: in this process).
    pub limits: Option<RawGlobalLimits>,
    /// Most messages a chat request may carry (default 2048).
    pub max_messages: Option<usize>,
    /// Longest a streamed answer may run, e.g. `10m` (default).
    pub max_stream_duration: Option<String>,
    /// Longest a client may take to send its request body, e.g. `30s` (default).
    pub request_read_timeout: Option<String>,
    /// Prices that add to or override the built-in catalog.
    #[serde(default)]
    pub pricing: Vec<RawPrice>,
    /// Where keys made at runtime and spend are kept.
    pub store: Option<RawStore>,
    /// The bearer token of the admin API and page (a secret); without it they are off.
    pub admin_token: Option<RawSecret>,
}

/// `config.store`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawStore {
    /// `sqlite:///path/sluice.db` or `postgres://user:password@host/db` (a secret).
    pub url: RawSecret,
    /// How often each replica checks for changed keys, e.g. `1s` (default).
    pub refresh: Option<String>,
    /// How often spend is written, e.g. `5s` (default).
    pub flush_interval: Option<String>,
}

/// One price override, USD per million tokens.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawPrice {
    pub provider: String,
    /// An exact model id or a glob (`*` matches any run of characters).
    pub model: String,
    pub input: f64,
    pub output: f64,
    /// Cached input; without it, billed as `input`.
    pub cache_read: Option<f64>,
    /// Prompt-cache writes (5-minute life; `cacheWrite` as the contract's example spells
    /// it); without it, billed as `input`.
    #[serde(alias = "cacheWrite")]
    pub cache_write_5m: Option<f64>,
    /// Prompt-cache writes with a 1-hour life; without it, as `cacheWrite5m`.
    pub cache_write_1h: Option<f64>,
    /// Output tokens spent thinking; without it, billed as `output`.
    pub reasoning: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawTracing {
    /// Without it: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, then `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub otlp_endpoint: Option<String>,
    /// Without it: `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` / `OTEL_EXPORTER_OTLP_PROTOCOL`, else grpc.
    pub otlp_protocol: Option<String>,
    /// `gzip` or `none`. Without it: `OTEL_EXPORTER_OTLP_TRACES_COMPRESSION` /
    /// `OTEL_EXPORTER_OTLP_COMPRESSION`, else none.
    pub compression: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub random_sampling: Option<Value>,
    #[serde(default)]
    pub fields: RawFields,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawLogging {
    pub format: Option<String>,
    /// `debug` | `info` (default) | `warn` | `error` | `off`: the gateway's own messages at or
    /// above it; request lines (info) only at `info` or `debug`.
    pub level: Option<String>,
    /// A CEL expression: a request is logged only when it is true.
    pub filter: Option<String>,
    #[serde(default)]
    pub fields: RawFields,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFields {
    /// Attribute name -> CEL expression. Any key is allowed here; order is kept.
    #[serde(default)]
    pub add: Map<String, Value>,
    #[serde(default)]
    pub remove: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawListener {
    pub name: Option<String>,
    pub bind: String,
    /// Virtual API keys clients must (or may) present.
    pub auth: Option<RawAuth>,
    #[serde(default)]
    pub routes: Vec<RawRoute>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRoute {
    pub name: Option<String>,
    #[serde(rename = "match")]
    pub matcher: RawMatch,
    pub backend: Option<String>,
    pub backends: Option<Vec<String>>,
    /// Requests and tokens per minute for the whole route.
    pub limits: Option<RawLimits>,
    /// USD per window for the whole route.
    pub budget: Option<RawBudget>,
    /// Model aliases: the model a client names -> the model called (unless the backend pins one).
    #[serde(default)]
    pub models: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawMatch {
    pub path_prefix: Option<String>,
    pub path: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawBackend {
    pub name: String,
    pub provider: String,
    pub model: Option<String>,
    pub api_version: Option<String>,
    pub api_key: Option<RawSecret>,
    pub base_url: Option<String>,
    /// AWS region (bedrock).
    pub region: Option<String>,
    /// Google Cloud project (vertex).
    pub project: Option<String>,
    /// Google Cloud location, e.g. `us-central1` or `global` (vertex).
    pub location: Option<String>,
    /// A Microsoft Entra ID access token for azure, sent as `Authorization: Bearer`.
    pub entra_token: Option<RawSecret>,
    /// A Google service-account key (its JSON text, `{env}` or `{file}`) for vertex.
    pub service_account: Option<RawSecret>,
    /// Where a cloud backend's credentials come from (bedrock: `source`, `profile`,
    /// `roleArn`); nothing: the cloud's default chain.
    pub auth: Option<RawCloudAuth>,
    /// Connect timeout, e.g. `5s` (default 10s).
    pub connect_timeout: Option<String>,
    /// Longest wait for the upstream's response header, and between two body reads,
    /// e.g. `300s` (default 600s).
    pub read_timeout: Option<String>,
    /// Retries of this backend (before the next in a chain) on connect failure, timeout,
    /// 429 or 5xx, with backoff (default 0).
    pub retries: Option<u32>,
    /// Longest a whole call may take, streams included, e.g. `120s` (default: none).
    pub timeout: Option<String>,
    /// Several URLs instead of one `baseUrl`, balanced.
    pub endpoints: Option<Vec<RawEndpoint>>,
    /// Several keys instead of one `apiKey`: each is a target of its own on the same URL.
    pub api_keys: Option<Vec<RawSecret>>,
    /// `roundRobin` (default) | `weighted` | `leastRequests` | `ewma`.
    pub load_balancing: Option<String>,
    /// Active HTTP health check of every target (off by default).
    pub health_check: Option<RawHealthCheck>,
    /// Passive ejection of failing targets.
    pub outlier_detection: Option<RawOutlierDetection>,
}

/// A backend's `auth:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawCloudAuth {
    /// bedrock: `chain` (default), `env`, `profile`, `webIdentity`, `container`, `imds`;
    /// vertex: `adc` (default), `metadata`; azure: `managedIdentity`, `workloadIdentity`,
    /// `clientSecret`.
    pub source: Option<String>,
    /// bedrock, `source: profile`: the profile's name (default: `AWS_PROFILE`, else `default`).
    pub profile: Option<String>,
    /// bedrock: a role to assume with the source's credentials.
    pub role_arn: Option<String>,
    /// azure: the app's or user-assigned identity's client id.
    pub client_id: Option<String>,
    /// azure: the Entra ID tenant (`clientSecret`, `workloadIdentity`).
    pub tenant_id: Option<String>,
    /// azure, `source: clientSecret`: the app's secret (a string, `{env}` or `{file}`).
    pub client_secret: Option<RawSecret>,
}

/// One entry of a backend's `endpoints`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawEndpoint {
    /// Where to call; bedrock and vertex endpoints may give `region` / `location` instead.
    pub url: Option<String>,
    /// bedrock: this endpoint's AWS region (signs with it; the URL follows from it).
    pub region: Option<String>,
    /// vertex: this endpoint's Google Cloud location (the model's path and URL name it).
    pub location: Option<String>,
    /// Share of traffic under `loadBalancing: weighted` (default 1).
    pub weight: Option<u32>,
    /// This endpoint's key, instead of the backend's.
    pub api_key: Option<RawSecret>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawHealthCheck {
    /// Path probed with GET, joined to each endpoint's base URL (e.g. `/v1/models`); vertex
    /// paths may name `{project}` and `{location}`, bedrock paths `{region}`.
    pub path: String,
    /// Between two probes, e.g. `10s` (default).
    pub interval: Option<String>,
    /// Connect and answer timeout of one probe, e.g. `2s` (default).
    pub timeout: Option<String>,
    /// The status a healthy target answers (default 200).
    pub expect_status: Option<u16>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawOutlierDetection {
    /// Failures in a row that eject a target (default 5).
    pub consecutive_failures: Option<u32>,
    /// How long an ejected target is skipped, e.g. `30s` (default).
    pub eject_for: Option<String>,
}

/// `apiKey: $KEY` | `apiKey: {env: NAME}` | `apiKey: {file: /path}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawSecret {
    Inline(String),
    Source(RawSecretSource),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSecretSource {
    pub env: Option<String>,
    pub file: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawAuth {
    /// Refuse requests without a valid key (default true).
    pub required: Option<bool>,
    #[serde(default)]
    pub keys: Vec<RawClientKey>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawClientKey {
    /// The application or person the key stands for (in logs and limits; never the key).
    pub name: String,
    /// The team it belongs to: `teams[].name`, for the team's budget.
    pub team: Option<String>,
    /// The key itself (a string, `{env}` or `{file}`); hashed at load and then forgotten.
    pub key: Option<RawSecret>,
    /// Or its hash: `sha256:<hex>`.
    pub key_hash: Option<String>,
    pub limits: Option<RawLimits>,
    /// USD per window for this key.
    pub budget: Option<RawBudget>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawLimits {
    pub requests_per_minute: Option<u64>,
    pub tokens_per_minute: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawGlobalLimits {
    /// Counters in Redis, shared by every replica.
    pub redis: Option<RawRedisLimits>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRedisLimits {
    /// `redis://[:password@]host:port/db` (a string, `{env}` or `{file}`); a secret.
    pub url: RawSecret,
    /// `open` (default: admit when Redis does not answer) | `closed` (refuse with 503).
    pub fail_mode: Option<String>,
    /// Prefix of every key (default `sluice:`).
    pub prefix: Option<String>,
    /// Longest wait for Redis per request, e.g. `50ms` (default).
    pub timeout: Option<String>,
}
