//! Active health checks of balanced backends (`healthCheck:`): a GET of `path` on every target,
//! every `interval`, with Pingora's `LoadBalancer` loop. A target failing a probe is marked
//! down at once and up again on its first passing probe.
//!
//! Each probe carries the target's credentials as a call would, made afresh for each probe:
//! an API key, a Google OAuth token (vertex), a SigV4 signature over the GET in the target's
//! region (bedrock), an Entra ID token (azure). The path may name the target's
//! `{project}` and `{location}` (vertex) or `{region}` (bedrock).
//!
//! A probe whose credentials cannot be had (the cloud source is down) fails, taking its target
//! out, and counts in `sluice_credential_errors_total{backend}` as a request would.
//!
//! [`HealthChecks`] is the background service running the loops of the current config
//! generation; on a reload it stops them and starts the new generation's.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use http::header::{HeaderValue, HOST, USER_AGENT};
use pingora::connectors::http::Connector;
use pingora::http::RequestHeader;
use pingora::lb::health_check::HealthCheck;
use pingora::lb::Backend as Member;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use pingora::upstreams::peer::HttpPeer;
use pingora::{Error, ErrorType};
use sluice_providers::ProviderKind;
use sluice_telemetry::Metrics;

use crate::auth::{credential_headers, Credentials};
use crate::balance::{index_of, HealthCheckSettings, Target};
use crate::config::runtime::Cloud;
use crate::config::{Secret, Upstream};
use crate::state::{Generation, State};

/// How often the service looks for a new config generation.
const RELOAD_POLL: Duration = Duration::from_millis(250);

const SLUICE_AGENT: HeaderValue =
    HeaderValue::from_static(concat!("sluice/", env!("CARGO_PKG_VERSION")));

/// The process's metrics, for probes made at config load (before the metrics are at hand) and
/// given them when their loop starts.
pub type MetricsSlot = Arc<OnceLock<Arc<Metrics>>>;

/// One probe per target of a backend, each with its own host, TLS, path and credentials.
pub struct TargetProbes {
    backend: String,
    provider: ProviderKind,
    cloud: Option<Cloud>,
    probes: Vec<Probe>,
    timeout: Duration,
    expect_status: u16,
    /// New connections for every probe: a pooled one could hide a broken network path.
    connector: Connector,
    metrics: MetricsSlot,
}

struct Probe {
    name: String,
    upstream: Upstream,
    /// The base path joined with the check's path, placeholders filled.
    path: String,
    api_key: Option<Secret>,
    site: Option<String>,
}

impl TargetProbes {
    /// The probes of `targets` of a `provider` backend with `cloud` credentials: `GET <base
    /// path><settings.path>` with the provider's fixed headers and the target's credentials.
    pub fn new(
        backend: &str,
        provider: ProviderKind,
        cloud: Option<&Cloud>,
        targets: &[Target],
        settings: &HealthCheckSettings,
    ) -> Result<Self, String> {
        let mut probes = Vec::with_capacity(targets.len());
        for t in targets {
            let path = probe_path(&settings.path, provider, cloud, t.site.as_deref())?;
            let path = t.upstream.join_path(&path);
            // Checked here, so that a probe's request cannot fail on its path later.
            RequestHeader::build("GET", path.as_bytes(), None)
                .map_err(|_| format!("\"{path}\" is not a valid request path"))?;
            probes.push(Probe {
                name: t.name.clone(),
                upstream: t.upstream.clone(),
                path,
                api_key: t.api_key.clone(),
                site: t.site.clone(),
            });
        }
        Ok(TargetProbes {
            backend: backend.to_string(),
            provider,
            cloud: cloud.cloned(),
            probes,
            timeout: settings.timeout,
            expect_status: settings.expect_status,
            connector: Connector::new(None),
            metrics: MetricsSlot::default(),
        })
    }

    /// Where the probes find the metrics they count credential failures in.
    pub fn metrics_slot(&self) -> MetricsSlot {
        self.metrics.clone()
    }

    fn credential_error(&self) {
        if let Some(metrics) = self.metrics.get() {
            metrics.credential_error(&self.backend);
        }
    }

    fn probe(&self, member: &Member) -> Option<&Probe> {
        index_of(member).and_then(|i| self.probes.get(i))
    }

    /// The probe's request header, with credentials made now (tokens and signatures expire).
    async fn request(&self, probe: &Probe) -> pingora::Result<RequestHeader> {
        let creds = Credentials {
            provider: self.provider,
            cloud: self.cloud.as_ref(),
            api_key: probe.api_key.as_ref(),
            site: probe.site.as_deref(),
        };
        let up = &probe.upstream;
        let credentials = match credential_headers(creds, up, "GET", &probe.path, &[]).await {
            Ok(c) => c,
            Err(e) => {
                self.credential_error();
                return Error::e_explain(ErrorType::InternalError, e);
            }
        };
        let mut req = RequestHeader::build("GET", probe.path.as_bytes(), None)?;
        req.insert_header(HOST, up.host_value().clone())?;
        req.insert_header(USER_AGENT, SLUICE_AGENT)?;
        for (name, value) in self.provider.fixed_headers() {
            req.insert_header(*name, *value)?;
        }
        for (name, value) in credentials {
            req.insert_header(name, value)?;
        }
        Ok(req)
    }

    /// `req` (a GET of `probe`) sent to `addr`: the answer's status must be the expected one.
    async fn get(
        &self,
        probe: &Probe,
        req: RequestHeader,
        addr: std::net::SocketAddr,
    ) -> pingora::Result<()> {
        let up = &probe.upstream;
        let sni = if up.tls {
            up.host.clone()
        } else {
            String::new()
        };
        let mut peer = HttpPeer::new(addr, up.tls, sni);
        let options = &mut peer.options;
        options.connection_timeout = Some(self.timeout);
        options.total_connection_timeout = Some(self.timeout);
        options.read_timeout = Some(self.timeout);
        options.write_timeout = Some(self.timeout);
        let (mut session, _) = self.connector.get_http_session(&peer).await?;
        session.set_write_timeout(Some(self.timeout));
        session.set_read_timeout(Some(self.timeout));
        session.write_request_header(Box::new(req)).await?;
        session.finish_request_body().await?;
        session.read_response_header().await?;
        let status = session.response_header().map_or(0, |r| r.status.as_u16());
        if status != self.expect_status {
            let expect = self.expect_status;
            return Error::e_explain(
                ErrorType::CustomCode("unexpected health check status", status),
                format!("status {status}, expected {expect}"),
            );
        }
        while session.read_response_body().await?.is_some() {}
        Ok(())
    }
}

/// `path` for one target: `{project}` and `{location}` (vertex) or `{region}` (bedrock)
/// replaced with the target's own location or region, else the backend's.
fn probe_path(
    path: &str,
    provider: ProviderKind,
    cloud: Option<&Cloud>,
    site: Option<&str>,
) -> Result<String, String> {
    let fills: Vec<(&str, &str)> = match cloud {
        Some(Cloud::Google {
            project, location, ..
        }) => vec![
            ("{project}", project),
            ("{location}", site.unwrap_or(location)),
        ],
        Some(Cloud::Aws { region, .. }) => vec![("{region}", site.unwrap_or(region))],
        _ => Vec::new(),
    };
    let mut filled = path.to_string();
    for (name, value) in fills {
        filled = filled.replace(name, value);
    }
    if let Some(open) = filled.find('{') {
        let name = filled[open..].split_inclusive('}').next().unwrap_or("{");
        return Err(format!(
            "{name} is not a placeholder of provider {provider}; vertex paths may name {{project}} and {{location}}, bedrock paths {{region}}"
        ));
    }
    Ok(filled)
}

#[async_trait]
impl HealthCheck for TargetProbes {
    async fn check(&self, member: &Member) -> pingora::Result<()> {
        let Some(probe) = self.probe(member) else {
            return Error::e_explain(ErrorType::InternalError, "unknown target");
        };
        // The member's address is a placeholder: resolve the target's host for each probe.
        let up = &probe.upstream;
        let lookup = tokio::net::lookup_host((up.host.as_str(), up.port));
        let addr = tokio::time::timeout(self.timeout, lookup)
            .await
            .ok()
            .and_then(Result::ok)
            .and_then(|mut addrs| addrs.next());
        let Some(addr) = addr else {
            return Error::e_explain(
                ErrorType::ConnectNoRoute,
                format!("cannot resolve {}", up.host),
            );
        };
        // Credentials come from the kept ones; a fetch under way is waited for within the
        // timeout too.
        let req = match tokio::time::timeout(self.timeout, self.request(probe)).await {
            Ok(req) => req?,
            Err(_) => {
                self.credential_error();
                return Error::e_explain(
                    ErrorType::ConnectTimedout,
                    "the target's credentials were not ready in time",
                );
            }
        };
        self.get(probe, req, addr).await
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
    fn start(
        generation: &Arc<Generation>,
        metrics: &Arc<Metrics>,
        stop: &tokio::sync::watch::Sender<bool>,
    ) -> usize {
        let mut started = 0;
        for (i, backend) in generation.config.backends.iter().enumerate() {
            let Some(balancer) = backend.balancer.as_ref() else {
                continue;
            };
            if balancer.health_check().is_none() {
                continue;
            }
            balancer.count_probe_errors_in(metrics);
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
            let loops = Self::start(&generation, &self.state.metrics, &stop);
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sluice_providers::ProviderKind;

    use super::probe_path;
    use crate::auth::google::GoogleAuth;
    use crate::config::runtime::Cloud;

    #[test]
    fn probe_paths_name_the_targets_site() {
        let vertex = Cloud::Google {
            project: "p".into(),
            location: "us-central1".into(),
            auth: Arc::new(GoogleAuth::static_token("t".into())),
        };
        let path = "/v1/projects/{project}/locations/{location}";
        let p = |site| probe_path(path, ProviderKind::Vertex, Some(&vertex), site);
        assert_eq!(p(None).unwrap(), "/v1/projects/p/locations/us-central1");
        assert_eq!(
            p(Some("europe-west4")).unwrap(),
            "/v1/projects/p/locations/europe-west4"
        );
        // Other providers' paths are taken as written, but a brace is a mistake.
        assert_eq!(
            probe_path("/v1/models", ProviderKind::OpenAi, None, None).unwrap(),
            "/v1/models"
        );
        let e = probe_path("/x/{region}", ProviderKind::OpenAi, None, None).unwrap_err();
        assert!(
            e.starts_with("{region} is not a placeholder of provider openai"),
            "{e}"
        );
    }
}
