//! The admin listener (`config.adminAddr`): `/healthz` (the process answers), `/readyz`
//! (serving and not draining), `/metrics` (Prometheus, OpenMetrics text; see
//! [`sluice_telemetry::metrics`]), `/config`, and with `config.adminToken` the admin API
//! under `/admin/` ([`api`]) and the admin page at `/ui`. Served by its own Pingora service,
//! apart from traffic.

mod api;
mod keys;
mod routes;
mod spend;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use async_trait::async_trait;
use http::{Response, StatusCode};
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;

use crate::state::State;

pub struct AdminApp {
    pub state: Arc<State>,
}

pub(crate) fn text(status: StatusCode, body: &str) -> Response<Vec<u8>> {
    with_type(
        status,
        "text/plain; charset=utf-8",
        body.as_bytes().to_vec(),
    )
}

pub(crate) fn with_type(
    status: StatusCode,
    content_type: &str,
    body: Vec<u8>,
) -> Response<Vec<u8>> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("content-length", body.len())
        .body(body)
        .unwrap_or_default()
}

#[async_trait]
impl ServeHttp for AdminApp {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let path = session.req_header().uri.path().to_string();
        if path == "/admin" || path.starts_with("/admin/") || path == "/ui" {
            return api::handle(&self.state, session, &path).await;
        }
        match path.as_str() {
            "/healthz" => text(StatusCode::OK, "ok\n"),
            "/readyz" => {
                if self.state.draining.load(Ordering::SeqCst) {
                    text(StatusCode::SERVICE_UNAVAILABLE, "draining\n")
                } else if !self.state.listening.load(Ordering::SeqCst) {
                    text(StatusCode::SERVICE_UNAVAILABLE, "starting\n")
                } else {
                    text(StatusCode::OK, "ready\n")
                }
            }
            "/metrics" => {
                let in_flight = self.state.inflight.load(Ordering::Relaxed) as u64;
                // Ejections end with time: read every target's standing at scrape time.
                crate::balance::publish_health(
                    &self.state.generation().config,
                    &self.state.metrics,
                );
                let body = self.state.metrics.encode(in_flight);
                with_type(
                    StatusCode::OK,
                    sluice_telemetry::metrics::CONTENT_TYPE,
                    body.into_bytes(),
                )
            }
            "/config" => {
                // The running config as loaded, every credential replaced by `<redacted>`.
                let generation = self.state.generation();
                let body =
                    serde_json::to_vec_pretty(&generation.config.redacted).unwrap_or_default();
                with_type(StatusCode::OK, "application/json", body)
            }
            _ => text(
                StatusCode::NOT_FOUND,
                "not found; try /healthz, /readyz, /metrics, /config, /admin/ or /ui\n",
            ),
        }
    }
}
