//! Active health checks of balanced backends (`healthCheck:`): a GET of `path` on every target,
//! every `interval`, with Pingora's `HttpHealthCheck` and Pingora's `LoadBalancer` loop. A
//! target failing a probe is marked down at once and up again on its first passing probe.
//!
//! [`HealthChecks`] is the background service running the loops of the current config
//! generation; on a reload it stops them and starts the new generation's.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pingora::http::RequestHeader;
use pingora::lb::health_check::{HealthCheck, HttpHealthCheck};
use pingora::lb::Backend as Member;
use pingora::protocols::l4::socket::SocketAddr;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use pingora::{Error, ErrorType};
use sluice_providers::{Auth, ProviderKind};

use crate::balance::{index_of, HealthCheckSettings, Target};
use crate::state::{Generation, State};

/// How often the service looks for a new config generation.
const RELOAD_POLL: Duration = Duration::from_millis(250);

/// One probe per target of a backend, each with its own host, TLS and credentials.
pub struct TargetProbes {
    backend: String,
    probes: Vec<Probe>,
    /// Also bounds the name lookup, which Pingora's probe does not cover.
    timeout: Duration,
}

struct Probe {
    name: String,
    host: String,
    port: u16,
    check: HttpHealthCheck,
}

impl TargetProbes {
    /// The probes of `targets`: `GET <base path><settings.path>` with the provider's fixed
    /// headers and the target's key, as a call would carry them.
    pub fn new(
        backend: &str,
        provider: ProviderKind,
        targets: &[Target],
        settings: &HealthCheckSettings,
    ) -> Result<Self, String> {
        let mut probes = Vec::with_capacity(targets.len());
        for t in targets {
            let up = &t.upstream;
            let mut check = HttpHealthCheck::new(&up.host, up.tls);
            let timeout = Some(settings.timeout);
            let options = &mut check.peer_template.options;
            options.connection_timeout = timeout;
            options.total_connection_timeout = timeout;
            options.read_timeout = timeout;
            options.write_timeout = timeout;
            let path = up.join_path(&settings.path);
            let mut req = RequestHeader::build("GET", path.as_bytes(), None)
                .map_err(|_| format!("\"{path}\" is not a valid request path"))?;
            let mut headers: Vec<(&str, String)> = vec![
                ("host", up.host_header().to_string()),
                (
                    "user-agent",
                    concat!("sluice/", env!("CARGO_PKG_VERSION")).to_string(),
                ),
            ];
            headers.extend(
                provider
                    .fixed_headers()
                    .iter()
                    .map(|(k, v)| (*k, v.to_string())),
            );
            if let Some(key) = &t.api_key {
                match provider.auth() {
                    Auth::Bearer => {
                        headers.push(("authorization", format!("Bearer {}", key.expose())))
                    }
                    Auth::Header(name) => headers.push((name, key.expose().to_string())),
                    Auth::GoogleOAuth | Auth::SigV4(_) => {}
                }
            }
            for (name, value) in headers {
                // The message names the header, never its value (it may be a key).
                req.insert_header(name, value)
                    .map_err(|_| format!("the {name} header of {} is not valid", t.name))?;
            }
            check.req = req;
            let expect = settings.expect_status;
            check.validator = Some(Box::new(move |resp| {
                let status = resp.status.as_u16();
                if status == expect {
                    Ok(())
                } else {
                    Error::e_explain(
                        ErrorType::CustomCode("unexpected health check status", status),
                        format!("status {status}, expected {expect}"),
                    )
                }
            }));
            probes.push(Probe {
                name: t.name.clone(),
                host: up.host.clone(),
                port: up.port,
                check,
            });
        }
        Ok(TargetProbes {
            backend: backend.to_string(),
            probes,
            timeout: settings.timeout,
        })
    }

    fn probe(&self, member: &Member) -> Option<&Probe> {
        index_of(member).and_then(|i| self.probes.get(i))
    }
}

#[async_trait]
impl HealthCheck for TargetProbes {
    async fn check(&self, member: &Member) -> pingora::Result<()> {
        let Some(probe) = self.probe(member) else {
            return Error::e_explain(ErrorType::InternalError, "unknown target");
        };
        // The member's address is a placeholder: resolve the target's host for each probe.
        let lookup = tokio::net::lookup_host((probe.host.as_str(), probe.port));
        let addr = tokio::time::timeout(self.timeout, lookup)
            .await
            .ok()
            .and_then(Result::ok)
            .and_then(|mut addrs| addrs.next());
        let Some(addr) = addr else {
            return Error::e_explain(
                ErrorType::ConnectNoRoute,
                format!("cannot resolve {}", probe.host),
            );
        };
        let mut resolved = member.clone();
        resolved.addr = SocketAddr::Inet(addr);
        probe.check.check(&resolved).await
    }

    fn health_threshold(&self, _success: bool) -> usize {
        1
    }

    async fn health_status_change(&self, member: &Member, healthy: bool) {
        // Pingora warns of a target going down; its recovery is worth a line too.
        if healthy {
            log::info!(
                "{} passes its health check again",
                self.backend_summary(member)
            );
        }
    }

    fn backend_summary(&self, member: &Member) -> String {
        let name = self.probe(member).map_or("?", |p| p.name.as_str());
        format!("endpoint {name} of backend {}", self.backend)
    }
}

/// Runs the health-check loops of the current generation's balanced backends.
pub struct HealthChecks {
    pub state: Arc<State>,
}

impl HealthChecks {
    /// Starts one loop per backend with a health check; they stop when `stop` turns true.
    fn start(generation: &Arc<Generation>, stop: &tokio::sync::watch::Sender<bool>) -> usize {
        let mut started = 0;
        for (i, backend) in generation.config.backends.iter().enumerate() {
            let checked = backend
                .balancer
                .as_ref()
                .is_some_and(|b| b.health_check().is_some());
            if !checked {
                continue;
            }
            let generation = generation.clone();
            let stop = stop.subscribe();
            tokio::spawn(async move {
                if let Some(b) = generation.config.backends[i].balancer.as_ref() {
                    b.load_balancer().run(stop, None).await;
                }
            });
            started += 1;
        }
        started
    }
}

#[async_trait]
impl BackgroundService for HealthChecks {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        loop {
            let generation = self.state.generation();
            let (stop, _) = tokio::sync::watch::channel(false);
            let loops = Self::start(&generation, &stop);
            if loops > 0 {
                log::debug!("health checks: {loops} backend(s)");
            }
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(RELOAD_POLL) => {}
                    _ = shutdown.changed() => {
                        let _ = stop.send(true);
                        return;
                    }
                }
                if !Arc::ptr_eq(&generation, &self.state.generation()) {
                    break;
                }
            }
            // A new generation: its balancers replace these.
            let _ = stop.send(true);
        }
    }
}
