//! The admin listener (`config.adminAddr`): `/healthz` (the process answers), `/readyz`
//! (serving and not draining). Served by its own Pingora service, apart from traffic.

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

fn text(status: StatusCode, body: &str) -> Response<Vec<u8>> {
    let body = body.as_bytes().to_vec();
    Response::builder()
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .header("content-length", body.len())
        .body(body)
        .unwrap_or_default()
}

#[async_trait]
impl ServeHttp for AdminApp {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        match session.req_header().uri.path() {
            "/healthz" => text(StatusCode::OK, "ok\n"),
            "/readyz" => {
                if self.state.draining.load(Ordering::SeqCst) {
                    text(StatusCode::SERVICE_UNAVAILABLE, "draining\n")
                } else {
                    text(StatusCode::OK, "ready\n")
                }
            }
            _ => text(
                StatusCode::NOT_FOUND,
                "not found; try /healthz or /readyz\n",
            ),
        }
    }
}
