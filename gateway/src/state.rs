//! State shared by every request: the current config generation (swapped whole on reload),
//! the upstream connector and its connection pool, in-flight accounting for draining, and
//! telemetry counters.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use pingora::connectors::TransportConnector;
use sluice_telemetry::export::{FlushHandle, SpanQueue};
use sluice_telemetry::worker::RecordQueue;
use sluice_telemetry::{FieldRules, LogFilter, Metrics, Telemetry, TelemetryStats, TraceSink};

use crate::config::{Config, Listener};
use crate::proxy::dns::DnsCache;

/// One loaded config and the telemetry built from it. Requests hold the generation they
/// started with, so a reload never changes a request midway.
#[derive(Debug)]
pub struct Generation {
    pub config: Config,
    /// Shared with the telemetry thread, which formats this generation's records.
    pub telemetry: Arc<Telemetry>,
    /// Limit counters in Redis (`config.limits.redis`), shared by every replica.
    pub shared_limits: Option<crate::limits::SharedLimits>,
    /// For each listener served since start (by its index then), the index of this config's
    /// listener it serves; see [`serving`].
    serves: Vec<Option<usize>>,
}

impl Generation {
    /// Builds the telemetry of `config`; spans go to `queue` when the config traces. `stats`
    /// and `metrics` are the process's own, shared by every generation.
    pub fn new(
        mut config: Config,
        served: &[ServedListener],
        queue: Option<SpanQueue>,
        stats: Arc<TelemetryStats>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let log_rules = FieldRules {
            fields: std::mem::take(&mut config.logging.fields),
            remove: std::mem::take(&mut config.logging.remove),
        };
        let trace = match (config.tracing.as_mut(), queue) {
            (Some(t), Some(queue)) => Some(TraceSink {
                rules: FieldRules {
                    fields: std::mem::take(&mut t.fields),
                    remove: std::mem::take(&mut t.remove),
                },
                queue,
            }),
            _ => None,
        };
        let shared_limits = config
            .limits_redis
            .as_ref()
            .and_then(|r| crate::limits::SharedLimits::new(r, metrics.clone()));
        let telemetry = Telemetry::new(
            config.name.clone(),
            config.logging.format,
            log_rules,
            trace,
            stats,
            metrics,
        )
        .with_log_filter(LogFilter {
            enabled: config
                .logging
                .level
                .is_none_or(|l| l >= log::LevelFilter::Info),
            filter: std::mem::take(&mut config.logging.filter),
        });
        // The gateway's own messages follow the config's level (SLUICE_LOG when unset); set on
        // every generation so a reload can also lower or restore it.
        log::set_max_level(
            config
                .logging
                .level
                .unwrap_or_else(crate::logger::env_level),
        );
        Generation {
            serves: serving(served, &config.listeners),
            config,
            telemetry: Arc::new(telemetry),
            shared_limits,
        }
    }

    /// The listener of this config served by the listening socket opened at start as listener
    /// `service`; `None` when the config no longer has it.
    pub fn listener(&self, service: usize) -> Option<&Listener> {
        let i = self.serves.get(service).copied().flatten()?;
        self.config.listeners.get(i)
    }
}

/// A listener as it was at start, when its socket was opened: sockets are not reopened on
/// reload, so each keeps its address until a restart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServedListener {
    pub name: String,
    pub bind: String,
}

impl ServedListener {
    pub fn of(listeners: &[Listener]) -> Vec<ServedListener> {
        listeners
            .iter()
            .map(|l| ServedListener {
                name: l.name.clone(),
                bind: l.bind.clone(),
            })
            .collect()
    }
}

/// Which of `listeners` each socket in `served` serves: the one at its address, else the one
/// of its name (its address changed: the change waits for a restart), else none (removed).
/// So a reload that reorders, adds or removes listeners never puts one listener's routes on
/// another's socket.
pub(crate) fn serving(served: &[ServedListener], listeners: &[Listener]) -> Vec<Option<usize>> {
    served
        .iter()
        .map(|s| {
            listeners
                .iter()
                .position(|l| l.bind == s.bind)
                .or_else(|| listeners.iter().position(|l| l.name == s.name))
        })
        .collect()
}

pub struct State {
    pub current: ArcSwap<Generation>,
    /// Per-key and per-route limit windows (kept across reloads).
    pub limits: crate::limits::LimitState,
    pub retry_budget: crate::limits::RetryBudget,
    pub connector: TransportConnector,
    pub dns: DnsCache,
    pub inflight: AtomicUsize,
    pub draining: AtomicBool,
    /// Every listener accepts connections (Pingora binds them as its services start, the
    /// admin listener possibly first): until then `/readyz` says "starting".
    pub listening: AtomicBool,
    pub stats: Arc<TelemetryStats>,
    /// Served at the admin listener's `/metrics`; kept across reloads.
    pub metrics: Arc<Metrics>,
    pub span_queue: Option<SpanQueue>,
    pub flush: Option<FlushHandle>,
    /// Finished requests on their way to the telemetry thread (log lines and spans).
    pub records: RecordQueue,
    /// The config file, for reloads; `None` when serving the embedded demo.
    pub config_path: Option<String>,
    /// The listeners whose sockets were opened at start, by service index.
    pub served: Vec<ServedListener>,
    /// Keys made at runtime and spend (`config.store`), opened at start; a reload does not
    /// change it.
    pub store: Option<Arc<crate::store::sync::StoreHandle>>,
}

impl State {
    pub fn generation(&self) -> Arc<Generation> {
        self.current.load_full()
    }

    /// Counts a request in flight until the guard drops.
    pub fn enter(self: &Arc<Self>) -> InflightGuard {
        self.inflight.fetch_add(1, Ordering::SeqCst);
        InflightGuard(self.clone())
    }
}

/// Decrements the in-flight count when the request's context is dropped.
pub struct InflightGuard(Arc<State>);

impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.0.inflight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl std::fmt::Debug for InflightGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InflightGuard")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listener(name: &str, bind: &str) -> Listener {
        Listener {
            name: name.to_string(),
            bind: bind.to_string(),
            routes: Vec::new(),
            auth: None,
        }
    }

    #[test]
    fn each_socket_serves_the_listener_of_its_address_else_of_its_name() {
        let served = ServedListener::of(&[
            listener("http", "0.0.0.0:8080"),
            listener("internal", "0.0.0.0:9090"),
            listener("old", "0.0.0.0:7070"),
        ]);
        // Reordered, `internal` moved to another port, `old` removed, `new` added.
        let now = [
            listener("new", "0.0.0.0:6060"),
            listener("internal", "0.0.0.0:9191"),
            listener("http", "0.0.0.0:8080"),
        ];
        assert_eq!(serving(&served, &now), vec![Some(2), Some(1), None]);
        // An address now taken by another name: the address wins.
        let swapped = [listener("public", "0.0.0.0:8080")];
        assert_eq!(serving(&served[..1], &swapped), vec![Some(0)]);
    }
}
