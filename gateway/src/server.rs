//! Builds and runs the Pingora server: one proxy service per listener, the admin service,
//! the OTLP exporter as a background service, and our signal handling.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use async_trait::async_trait;
use pingora::connectors::TransportConnector;
use pingora::server::configuration::ServerConf;
use pingora::server::{RunArgs, Server, ShutdownWatch};
use pingora::services::background::{background_service, BackgroundService};
use sluice_telemetry::export::{self, ExportSettings, SpanExporter};
use sluice_telemetry::{Metrics, TelemetryStats};

use crate::admin::AdminApp;
use crate::cli::EXIT_RUNTIME;
use crate::config::Config;
use crate::proxy::dns::DnsCache;
use crate::proxy::LlmProxy;
use crate::shutdown::SignalWatch;
use crate::state::{Generation, State};

struct ExportService(Mutex<Option<SpanExporter>>);

#[async_trait]
impl BackgroundService for ExportService {
    async fn start(&self, _shutdown: ShutdownWatch) {
        let exporter = self.0.lock().ok().and_then(|mut e| e.take());
        if let Some(exporter) = exporter {
            // Runs past the shutdown broadcast: the drain flushes it before the process exits.
            exporter.run().await;
        }
    }
}

/// Marks sluice ready (`/readyz`) once every listener accepts, and tells systemd
/// (`Type=notify`, when `NOTIFY_SOCKET` is set) with this process as the service's main PID:
/// after a binary upgrade the new process takes over.
struct ReadyNotifier {
    binds: Vec<String>,
    state: Arc<State>,
}

#[async_trait]
impl BackgroundService for ReadyNotifier {
    async fn start(&self, _shutdown: ShutdownWatch) {
        for bind in &self.binds {
            // A wildcard bind is reached on loopback.
            let addr = bind
                .replacen("0.0.0.0:", "127.0.0.1:", 1)
                .replacen("[::]:", "[::1]:", 1);
            let mut tries = 0;
            while tokio::net::TcpStream::connect(&addr).await.is_err() {
                tries += 1;
                if tries > 1000 {
                    log::warn!("listener {bind} not accepting after 10s; /readyz stays 503");
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
        self.state.listening.store(true, Ordering::SeqCst);
        if std::env::var_os("NOTIFY_SOCKET").is_none() {
            return;
        }
        let pid = std::process::id();
        if let Err(e) = sd_notify::notify(&[
            sd_notify::NotifyState::MainPid(pid),
            sd_notify::NotifyState::Ready,
        ]) {
            log::warn!("sd_notify READY failed: {e}");
        }
    }
}

/// Checks that every address can be bound before Pingora tries (it would panic in a thread).
fn check_binds(config: &Config) -> Result<(), String> {
    let mut addrs: Vec<(&str, &str)> = config
        .listeners
        .iter()
        .map(|l| (l.name.as_str(), l.bind.as_str()))
        .collect();
    if let Some(admin) = &config.admin_addr {
        addrs.push(("admin", admin.as_str()));
    }
    for (name, addr) in addrs {
        if let Err(e) = std::net::TcpListener::bind(addr) {
            return Err(format!("cannot bind {name} listener to {addr}: {e}"));
        }
    }
    Ok(())
}

/// How long start-up waits for a backend's cloud credentials.
const CREDENTIALS_AT_START: std::time::Duration = std::time::Duration::from_secs(15);

/// Fetches every bedrock backend's AWS credentials, every Application Default Credentials
/// token (vertex, gemini with OAuth) and every Entra ID token (azure `auth`) once (they are kept and refreshed from then on); the first that
/// cannot be had is the error, naming its backend and source.
fn check_cloud_credentials(config: &Config) -> Result<(), String> {
    use crate::config::runtime::Cloud;
    for (i, backend) in config.backends.iter().enumerate() {
        let got = match &backend.cloud {
            Some(Cloud::Aws { auth, .. }) => {
                let auth = auth.clone();
                crate::background::block_on(async move {
                    tokio::time::timeout(CREDENTIALS_AT_START, auth.credentials())
                        .await
                        .map(|r| r.map(drop))
                })?
            }
            Some(Cloud::AzureIdentity { auth }) => {
                let auth = auth.clone();
                crate::background::block_on(async move {
                    tokio::time::timeout(CREDENTIALS_AT_START, auth.token())
                        .await
                        .map(|r| r.map(drop))
                })?
            }
            Some(Cloud::Google { auth, .. } | Cloud::GeminiOAuth { auth, .. })
                if auth.adc_source().is_some() =>
            {
                let auth = auth.clone();
                crate::background::block_on(async move {
                    tokio::time::timeout(CREDENTIALS_AT_START, auth.token())
                        .await
                        .map(|r| r.map(drop).map_err(|e| e.to_string()))
                })?
            }
            _ => continue,
        };
        match got {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(format!("backends[{i}] ({}): {e}", backend.name)),
            Err(_) => {
                return Err(format!(
                    "backends[{i}] ({}): no credentials within {CREDENTIALS_AT_START:?}",
                    backend.name
                ))
            }
        }
    }
    Ok(())
}

/// The longest timeout left to Pingora's fast timer (see [`server_conf`]).
const FAST_TIMEOUT_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Pingora's settings for `config`.
fn server_conf(config: &Config) -> ServerConf {
    ServerConf {
        threads: config.worker_threads,
        upgrade_sock: config.upgrade_socket.clone(),
        grace_period_seconds: Some(config.grace_period.as_secs().max(1)),
        graceful_shutdown_timeout_seconds: Some(1),
        // Pingora's fast timeouts keep one timer per 10 ms deadline until the deadline
        // passes, even when the timed read finished long before: with `readTimeout`'s 600 s
        // default a worker holds up to 60,000 of them, and RSS grows for ten minutes. Timeouts
        // over a minute go to tokio's timer instead, which forgets a timer when its read
        // completes. This must be set here: `run_forever` applies this field (Pingora's
        // default is 15 minutes) over any threshold set earlier in the process.
        fast_timeout_to_tokio_threshold_seconds: Some(FAST_TIMEOUT_LIMIT.as_secs()),
        ..ServerConf::default()
    }
}

/// Serves `config` until a signal ends it; returns the exit code.
pub fn run(config: Config, config_path: Option<String>, upgrade: bool) -> i32 {
    crate::logger::init();
    // An upgrading process gets its listening sockets from the old one: they are taken.
    if !upgrade {
        if let Err(e) = check_binds(&config) {
            eprintln!("{e}");
            return EXIT_RUNTIME;
        }
    }
    let conf = server_conf(&config);
    let opt = pingora::server::configuration::Opt {
        upgrade,
        ..Default::default()
    };
    let mut server = Server::new_with_opt_and_conf(Some(opt), conf);
    server.bootstrap();

    let stats = Arc::new(TelemetryStats::default());
    let metrics = Arc::new(Metrics::new(stats.clone()));
    let (span_queue, exporter, flush) = match &config.tracing {
        Some(t) => {
            let settings = ExportSettings {
                endpoint: t.endpoint.clone(),
                protocol: t.protocol,
                headers: t
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.expose().to_string()))
                    .collect(),
                gzip: t.gzip,
                service_version: env!("CARGO_PKG_VERSION").to_string(),
            };
            let (q, e, f) = export::pipeline(settings, stats.clone());
            (Some(q), Some(e), Some(f))
        }
        None => (None, None, None),
    };
    if config
        .backends
        .iter()
        .any(|b| b.provider == sluice_providers::ProviderKind::Mock)
    {
        // The mock counts every answer with tiktoken; load its tokenizer before the first request.
        let _ = std::thread::Builder::new()
            .name("sluice-tiktoken".to_string())
            .spawn(sluice_providers::tokens::warm);
    }
    let served = crate::state::ServedListener::of(&config.listeners);
    let admin_addr = config.admin_addr.clone();
    let records = match sluice_telemetry::worker::RecordQueue::start() {
        Ok(q) => q,
        Err(e) => {
            eprintln!("cannot start the telemetry thread: {e}");
            return EXIT_RUNTIME;
        }
    };
    // Cloud credentials are fetched before anything serves: a backend whose credentials
    // cannot be had is an error naming it.
    if let Err(e) = check_cloud_credentials(&config) {
        eprintln!("{e}");
        return EXIT_RUNTIME;
    }
    // The store is opened (and migrated, and its keys loaded) before anything serves: a store
    // that cannot be had stops the start with the reason.
    let store = match &config.store {
        Some(s) => match crate::store::sync::StoreHandle::open(s) {
            Ok(h) => Some(h),
            Err(e) => {
                eprintln!("config.store.url: {e}");
                return EXIT_RUNTIME;
            }
        },
        None => None,
    };
    let generation = Generation::new(
        config,
        &served,
        span_queue.clone(),
        stats.clone(),
        metrics.clone(),
    );
    let state = Arc::new(State {
        current: ArcSwap::from_pointee(generation),
        limits: crate::limits::LimitState::default(),
        retry_budget: crate::limits::RetryBudget::default(),
        connector: TransportConnector::new(None),
        dns: DnsCache::default(),
        inflight: AtomicUsize::new(0),
        draining: AtomicBool::new(false),
        listening: AtomicBool::new(false),
        stats,
        metrics,
        span_queue,
        flush,
        records,
        config_path,
        store,
        served: served.clone(),
    });

    for (i, crate::state::ServedListener { name, bind }) in served.iter().enumerate() {
        let proxy = LlmProxy {
            state: state.clone(),
            listener: i,
        };
        let mut service = pingora::proxy::http_proxy_service_with_name(
            &server.configuration,
            proxy,
            &format!("listener {name}"),
        );
        service.add_tcp(bind);
        server.add_service(service);
        log::info!("listener {name} on {bind}");
    }
    if let Some(addr) = &admin_addr {
        let mut admin = pingora::services::listening::Service::new(
            "admin".to_string(),
            pingora::apps::http_app::HttpServer::new_app(AdminApp {
                state: state.clone(),
            }),
        );
        admin.add_tcp(addr);
        // Probes and scrapes: one thread is plenty, and each worker thread costs memory.
        admin.threads = Some(1);
        server.add_service(admin);
        log::info!("admin on {addr}");
    }
    if let Some(exporter) = exporter {
        server.add_service(background_service(
            "otlp export",
            ExportService(Mutex::new(Some(exporter))),
        ));
    }
    let health_checked = state.generation().config.backends.iter().any(|b| {
        b.balancer
            .as_ref()
            .is_some_and(|b| b.health_check().is_some())
    });
    // A reload may add health checks, so the service runs whenever the config can change.
    if health_checked || state.config_path.is_some() {
        server.add_service(background_service(
            "health checks",
            crate::health::HealthChecks {
                state: state.clone(),
            },
        ));
    }
    if state.config_path.is_some() {
        server.add_service(background_service(
            "config watch",
            crate::watch::ConfigWatch {
                state: state.clone(),
            },
        ));
    }
    let mut binds: Vec<String> = served.iter().map(|l| l.bind.clone()).collect();
    binds.extend(admin_addr.iter().cloned());
    server.add_service(background_service(
        "readiness",
        ReadyNotifier {
            binds,
            state: state.clone(),
        },
    ));
    server.run(RunArgs {
        shutdown_signal: Box::new(SignalWatch { state }),
    });
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_over_a_minute_leave_pingoras_fast_timer() {
        let config = crate::config::load_str(crate::config::DEMO_CONFIG).unwrap();
        let conf = server_conf(&config);
        assert_eq!(conf.fast_timeout_to_tokio_threshold_seconds, Some(60));
        assert_eq!(conf.threads, config.worker_threads);
        assert_eq!(conf.graceful_shutdown_timeout_seconds, Some(1));
    }
}
