//! Validated config: what the proxy runs on. Built from [`super::raw`] by `TryFrom`, which
//! collects every problem with its YAML path. After that, invalid states are unrepresentable:
//! routes hold their backends, URLs are parsed, CEL is compiled.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::raw::{RawAuth, RawConfig, RawLimits, RawListener};
use super::{ConfigError, Secret};
use crate::limits::{Budget, ClientKey, Limits};

use super::backends::backend;
pub use super::backends::{Backend, Cloud};
use super::observability::{logging_config, tracing_config};
pub use super::observability::{LoggingConfig, TracingConfig};
pub use super::store::StoreConfig;
pub use super::upstream::Upstream;

pub use sluice_telemetry::settings::LogFormat;

pub const DEFAULT_MAX_BODY: u64 = 32 * 1024 * 1024;
pub const DEFAULT_GRACE: Duration = Duration::from_secs(30);
/// Pingora's upgrade socket, named for sluice.
pub const DEFAULT_UPGRADE_SOCKET: &str = "/tmp/sluice_upgrade.sock";
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(600);
pub const DEFAULT_MAX_MESSAGES: usize = 2048;
pub const DEFAULT_MAX_STREAM_DURATION: Duration = Duration::from_secs(600);
pub const DEFAULT_REQUEST_READ_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_millis(50);
pub const DEFAULT_REDIS_PREFIX: &str = "sluice:";

#[derive(Debug)]
pub struct Config {
    pub name: String,
    pub admin_addr: Option<String>,
    pub listeners: Vec<Listener>,
    pub backends: Vec<Arc<Backend>>,
    pub tracing: Option<TracingConfig>,
    pub logging: LoggingConfig,
    pub max_request_body_bytes: u64,
    pub grace_period: Duration,
    pub worker_threads: usize,
    /// Where a `sluice run --upgrade` process takes over the listening sockets.
    pub upgrade_socket: String,
    /// Limit counters in Redis, shared by every replica; `None`: in this process.
    pub limits_redis: Option<RedisLimitsConfig>,
    /// Most messages a chat request may carry.
    pub max_messages: usize,
    /// Longest a streamed answer may run before it is ended with an error event.
    pub max_stream_duration: Duration,
    /// Longest a client may take to send its whole request body (else 408).
    pub request_read_timeout: Duration,
    /// The price catalog with `config.pricing` on top, built once per config generation.
    pub pricing: sluice_providers::pricing::Catalog,
    /// Where keys made at runtime and spend are kept (`config.store`).
    pub store: Option<super::store::StoreConfig>,
    /// The admin API's bearer token; `None`: the admin API and page are off.
    pub admin_token: Option<Secret>,
    /// `teams:` by name.
    pub teams: HashMap<String, super::budgets::Team>,
    /// The config as loaded, secrets replaced by `<redacted>`: what `/config` shows.
    pub redacted: serde_json::Value,
}

/// What a limited request meets when Redis does not answer in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailMode {
    /// Admit it, uncounted.
    Open,
    /// Refuse it with 503.
    Closed,
}

/// `config.limits.redis`.
#[derive(Debug)]
pub struct RedisLimitsConfig {
    /// May carry a password.
    pub url: Secret,
    pub fail_mode: FailMode,
    pub prefix: String,
    pub timeout: Duration,
}

fn redis_limits(
    raw: &super::raw::RawRedisLimits,
    errors: &mut Vec<ConfigError>,
) -> Option<RedisLimitsConfig> {
    let base = "config.limits.redis";
    let url = super::backends::resolve_secret(&format!("{base}.url"), &raw.url, errors)?;
    if let Err(e) = redis::Client::open(url.expose()) {
        // The error's text is about the URL's shape (static texts in the redis crate); the
        // URL itself, which may hold a password, is never printed.
        let detail = e.to_string();
        errors.push(ConfigError::new(
            format!("{base}.url"),
            format!("not a usable Redis URL (expected redis://[:password@]host:port/db): {detail}"),
        ));
    }
    let fail_mode = match raw.fail_mode.as_deref() {
        None | Some("open") => FailMode::Open,
        Some("closed") => FailMode::Closed,
        Some(other) => {
            errors.push(ConfigError::new(
                format!("{base}.failMode"),
                format!("unknown fail mode \"{other}\"; expected one of open, closed"),
            ));
            FailMode::Open
        }
    };
    let timeout = parse_duration(
        &format!("{base}.timeout"),
        raw.timeout.as_deref(),
        DEFAULT_REDIS_TIMEOUT,
        errors,
    );
    if timeout.is_zero() {
        errors.push(ConfigError::new(
            format!("{base}.timeout"),
            "must be more than 0",
        ));
    }
    Some(RedisLimitsConfig {
        url,
        fail_mode,
        prefix: raw
            .prefix
            .clone()
            .unwrap_or_else(|| DEFAULT_REDIS_PREFIX.to_string()),
        timeout,
    })
}

#[derive(Debug)]
pub struct Listener {
    pub name: String,
    pub bind: String,
    pub routes: Vec<Route>,
    /// Virtual keys; `None` when the listener takes any client.
    pub auth: Option<ListenerAuth>,
}

#[derive(Debug)]
pub struct ListenerAuth {
    pub required: bool,
    pub keys: Vec<Arc<ClientKey>>,
}

impl ListenerAuth {
    /// The key whose hash is `hash`.
    pub fn find(&self, hash: &[u8; 32]) -> Option<&Arc<ClientKey>> {
        self.keys.iter().find(|k| &k.hash == hash)
    }
}

fn limits(raw: Option<&RawLimits>) -> Limits {
    raw.map_or_else(Limits::default, |l| Limits {
        requests_per_minute: l.requests_per_minute,
        tokens_per_minute: l.tokens_per_minute,
    })
}

fn listener_auth(
    path: &str,
    raw: &RawAuth,
    teams: &HashMap<String, super::budgets::Team>,
    errors: &mut Vec<ConfigError>,
) -> ListenerAuth {
    let mut keys = Vec::new();
    for (i, k) in raw.keys.iter().enumerate() {
        let kpath = format!("{path}.keys[{i}]");
        let hash = match (&k.key, &k.key_hash) {
            (Some(secret), None) => {
                super::backends::resolve_secret(&format!("{kpath}.key"), secret, errors)
                    .map(|s| crate::limits::hash_key(s.expose()))
            }
            (None, Some(text)) => {
                let parsed = crate::limits::parse_hash(text);
                if parsed.is_none() {
                    errors.push(ConfigError::new(
                        format!("{kpath}.keyHash"),
                        "expected sha256:<64 hex digits>",
                    ));
                }
                parsed
            }
            _ => {
                errors.push(ConfigError::new(
                    kpath.clone(),
                    "expected exactly one of key, keyHash",
                ));
                None
            }
        };
        if let Some(hash) = hash {
            if keys.iter().any(|k: &Arc<ClientKey>| k.hash == hash) {
                errors.push(ConfigError::new(
                    kpath.clone(),
                    "the same key is listed twice",
                ));
            }
            if let Some(team) = &k.team {
                super::budgets::check_team(&format!("{kpath}.team"), team, teams, errors);
            }
            keys.push(Arc::new(ClientKey {
                id: k.name.as_str().into(),
                name: k.name.clone(),
                scope: format!("key:{}", k.name).into(),
                team: k.team.as_deref().map(Arc::from),
                access: None,
                hash,
                limits: limits(k.limits.as_ref()),
                budget: super::budgets::optional(&kpath, k.budget.as_ref(), errors),
            }));
        }
    }
    ListenerAuth {
        required: raw.required.unwrap_or(true),
        keys,
    }
}

#[derive(Debug)]
pub struct Route {
    pub name: String,
    pub matcher: PathMatch,
    /// Tried in order (a failover chain); never empty.
    pub backends: Vec<Arc<Backend>>,
    /// Client model name -> model called, for backends that pin none.
    pub aliases: HashMap<String, String>,
    pub limits: Limits,
    pub budget: Option<Budget>,
    /// `route:<name>`, its scope id.
    pub scope: Arc<str>,
    /// Requests and errors of the last five minutes (for the admin page; per config
    /// generation, so a reload starts them afresh).
    pub recent: Arc<crate::recent::RecentCounts>,
}

impl Route {
    /// The model `backend` is called with for a request naming `requested`: the backend's
    /// pinned model, else the route's alias for it, else the requested model itself.
    pub fn model_for(&self, backend: &Backend, requested: &str) -> String {
        if let Some(pinned) = &backend.model {
            return pinned.clone();
        }
        self.aliases
            .get(requested)
            .cloned()
            .unwrap_or_else(|| requested.to_string())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathMatch {
    Prefix(String),
    Exact(String),
}

impl PathMatch {
    /// The rest of `path` after the match, or `None` when it does not match. A prefix matches
    /// at segment boundaries only: `/gemini` matches `/gemini` and `/gemini/x`, not `/geminix`.
    pub fn strip<'a>(&self, path: &'a str) -> Option<&'a str> {
        match self {
            PathMatch::Exact(p) => (path == p).then_some(""),
            PathMatch::Prefix(p) => {
                let p = p.trim_end_matches('/');
                let rest = path.strip_prefix(p)?;
                (rest.is_empty() || rest.starts_with('/')).then_some(rest)
            }
        }
    }

    /// What the span is named after: the prefix or exact path as configured.
    pub fn as_str(&self) -> &str {
        match self {
            PathMatch::Exact(p) | PathMatch::Prefix(p) => p,
        }
    }
}

pub(super) fn parse_duration(
    path: &str,
    text: Option<&str>,
    default: Duration,
    errors: &mut Vec<ConfigError>,
) -> Duration {
    match text {
        None => default,
        Some(t) => match humantime::parse_duration(t) {
            Ok(d) => d,
            Err(e) => {
                errors.push(ConfigError::new(
                    path,
                    format!("invalid duration \"{t}\": {e}"),
                ));
                default
            }
        },
    }
}

fn listener(
    i: usize,
    raw: &RawListener,
    // `None`: declared, but not valid (reported at the backend).
    backends: &HashMap<&str, Option<Arc<Backend>>>,
    teams: &HashMap<String, super::budgets::Team>,
    errors: &mut Vec<ConfigError>,
) -> Listener {
    let path = format!("listeners[{i}]");
    if raw.bind.parse::<std::net::SocketAddr>().is_err() {
        errors.push(ConfigError::new(
            format!("{path}.bind"),
            format!("\"{}\" is not an address like 0.0.0.0:8080", raw.bind),
        ));
    }
    let mut routes = Vec::new();
    for (j, r) in raw.routes.iter().enumerate() {
        let rpath = format!("{path}.routes[{j}]");
        let matcher = match (&r.matcher.path_prefix, &r.matcher.path) {
            (Some(p), None) => PathMatch::Prefix(p.clone()),
            (None, Some(p)) => PathMatch::Exact(p.clone()),
            _ => {
                errors.push(ConfigError::new(
                    format!("{rpath}.match"),
                    "expected exactly one of pathPrefix, path",
                ));
                continue;
            }
        };
        if !matcher.as_str().starts_with('/') {
            errors.push(ConfigError::new(
                format!("{rpath}.match"),
                "a path must start with /",
            ));
        }
        let names: Vec<(String, &String)> = match (&r.backend, &r.backends) {
            (Some(b), None) => vec![(format!("{rpath}.backend"), b)],
            (None, Some(list)) if !list.is_empty() => list
                .iter()
                .enumerate()
                .map(|(k, b)| (format!("{rpath}.backends[{k}]"), b))
                .collect(),
            _ => {
                errors.push(ConfigError::new(
                    rpath.clone(),
                    "expected exactly one of backend, backends (a non-empty list)",
                ));
                continue;
            }
        };
        let mut chain = Vec::new();
        for (bpath, name) in names {
            match backends.get(name.as_str()) {
                Some(Some(b)) => chain.push(b.clone()),
                Some(None) => {}
                None => {
                    let mut known: Vec<&str> = backends.keys().copied().collect();
                    known.sort_unstable();
                    errors.push(ConfigError::new(
                        bpath,
                        format!(
                            "unknown backend \"{name}\"; defined backends: {}",
                            if known.is_empty() {
                                "(none)".to_string()
                            } else {
                                known.join(", ")
                            }
                        ),
                    ));
                }
            }
        }
        if chain.is_empty() {
            continue;
        }
        let name = r.name.clone().unwrap_or_else(|| format!("route{j}"));
        routes.push(Route {
            scope: format!("route:{name}").into(),
            recent: Arc::default(),
            name,
            matcher,
            backends: chain,
            aliases: r
                .models
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            limits: limits(r.limits.as_ref()),
            budget: super::budgets::optional(&rpath, r.budget.as_ref(), errors),
        });
    }
    Listener {
        name: raw.name.clone().unwrap_or_else(|| format!("listener{i}")),
        bind: raw.bind.clone(),
        routes,
        auth: raw
            .auth
            .as_ref()
            .map(|a| listener_auth(&format!("{path}.auth"), a, teams, errors)),
    }
}

impl TryFrom<RawConfig> for Config {
    type Error = Vec<ConfigError>;

    fn try_from(raw: RawConfig) -> Result<Self, Self::Error> {
        let mut errors = Vec::new();
        let mut by_name: HashMap<&str, Option<Arc<Backend>>> = HashMap::new();
        let mut backends = Vec::new();
        for (i, b) in raw.backends.iter().enumerate() {
            if by_name.contains_key(b.name.as_str()) {
                errors.push(ConfigError::new(
                    format!("backends[{i}].name"),
                    format!("duplicate backend name \"{}\"", b.name),
                ));
                continue;
            }
            let built = backend(i, b, &mut errors).map(Arc::new);
            backends.extend(built.clone());
            by_name.insert(b.name.as_str(), built);
        }
        if raw.listeners.is_empty() {
            errors.push(ConfigError::new(
                "listeners",
                "at least one listener is required",
            ));
        }
        let teams = super::budgets::teams(&raw.teams, &mut errors);
        let listeners: Vec<Listener> = raw
            .listeners
            .iter()
            .enumerate()
            .map(|(i, l)| listener(i, l, &by_name, &teams, &mut errors))
            .collect();
        let g = &raw.config;
        if let Some(addr) = &g.admin_addr {
            if addr.parse::<std::net::SocketAddr>().is_err() {
                errors.push(ConfigError::new(
                    "config.adminAddr",
                    format!("\"{addr}\" is not an address like 127.0.0.1:15000"),
                ));
            }
        }
        let tracing = g.tracing.as_ref().map(|t| tracing_config(t, &mut errors));
        let logging = logging_config(g.logging.as_ref(), &mut errors);
        let grace_period = parse_duration(
            "config.gracePeriod",
            g.grace_period.as_deref(),
            DEFAULT_GRACE,
            &mut errors,
        );
        let limits_redis = g
            .limits
            .as_ref()
            .and_then(|l| l.redis.as_ref())
            .and_then(|r| redis_limits(r, &mut errors));
        let max_messages = g.max_messages.unwrap_or(DEFAULT_MAX_MESSAGES);
        if max_messages == 0 {
            errors.push(ConfigError::new("config.maxMessages", "must be at least 1"));
        }
        let max_stream_duration = parse_duration(
            "config.maxStreamDuration",
            g.max_stream_duration.as_deref(),
            DEFAULT_MAX_STREAM_DURATION,
            &mut errors,
        );
        let request_read_timeout = parse_duration(
            "config.requestReadTimeout",
            g.request_read_timeout.as_deref(),
            DEFAULT_REQUEST_READ_TIMEOUT,
            &mut errors,
        );
        for (path, d) in [
            ("config.maxStreamDuration", max_stream_duration),
            ("config.requestReadTimeout", request_read_timeout),
        ] {
            if d.is_zero() {
                errors.push(ConfigError::new(path, "must be more than 0"));
            }
        }
        // One per CPU this process may use (affinity and cgroup quota included), as Envoy and
        // agentgateway do: measured faster than one on 2 cores with sluice's work per request.
        let worker_threads = g
            .worker_threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        if worker_threads == 0 {
            errors.push(ConfigError::new(
                "config.workerThreads",
                "must be at least 1",
            ));
        }
        let pricing = super::pricing::catalog(&g.pricing, &mut errors);
        let store = g
            .store
            .as_ref()
            .and_then(|s| super::store::store_config(s, &mut errors));
        let admin_token = super::store::admin_token(g.admin_token.as_ref(), &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Config {
            redacted: serde_json::Value::Null,
            pricing,
            teams,
            store,
            admin_token,
            name: raw.name.unwrap_or_else(|| "sluice".to_string()),
            admin_addr: g.admin_addr.clone(),
            listeners,
            backends,
            tracing,
            logging,
            max_request_body_bytes: g.max_request_body_bytes.unwrap_or(DEFAULT_MAX_BODY),
            grace_period,
            worker_threads,
            upgrade_socket: g
                .upgrade_socket
                .clone()
                .unwrap_or_else(|| DEFAULT_UPGRADE_SOCKET.to_string()),
            limits_redis,
            max_messages,
            max_stream_duration,
            request_read_timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_matches_on_segment_boundaries() {
        let m = PathMatch::Prefix("/gemini".into());
        assert_eq!(m.strip("/gemini"), Some(""));
        assert_eq!(
            m.strip("/gemini/v1/chat/completions"),
            Some("/v1/chat/completions")
        );
        assert_eq!(m.strip("/geminix"), None);
        assert_eq!(
            PathMatch::Prefix("/".into()).strip("/v1/messages"),
            Some("/v1/messages")
        );
        assert_eq!(PathMatch::Exact("/a".into()).strip("/a/b"), None);
    }
}
