//! [`Tap`]: a recording HTTP/1.1 forwarder put between a real client and the gateway, so a
//! test sees the exact request the client sent (a client such as Claude Code builds its body
//! itself) and can compare it with what reached the mock upstream behind the gateway.
//!
//! Every request is recorded as a [`RecordedRequest`] (method, path with query, lower-case
//! headers, body) and sent on to `target` with the same method, path, headers and body; the
//! answer is streamed back as it arrives, frame by frame, so SSE stays SSE.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;

use crate::serve::{bind_local, spawn_http1, BoxError, ServerTask};
use crate::{RecordedRequest, Recorder};

/// Hop-by-hop headers, and those the forwarding client sets itself.
const NOT_FORWARDED: &[&str] = &[
    "host",
    "connection",
    "keep-alive",
    "content-length",
    "transfer-encoding",
    "te",
    "upgrade",
    "proxy-connection",
];

/// A running tap on `127.0.0.1:<ephemeral>` forwarding to `target`; stops when dropped.
pub struct Tap {
    addr: SocketAddr,
    requests: Arc<Recorder<RecordedRequest>>,
    _task: ServerTask,
}

impl std::fmt::Debug for Tap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tap").field("addr", &self.addr).finish()
    }
}

impl Tap {
    /// Starts forwarding to `target` (`http://host:port`, no path).
    pub async fn start(target: &str) -> Tap {
        let target = target.trim_end_matches('/').to_string();
        let requests = Recorder::new_shared();
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let listener = bind_local().await;
        let addr = listener.local_addr().expect("local_addr");
        let rec = requests.clone();
        let task = spawn_http1(listener, move |peer, req| {
            forward(client.clone(), target.clone(), rec.clone(), peer, req)
        });
        Tap {
            addr,
            requests,
            _task: task.into(),
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.snapshot()
    }

    /// Waits until at least `n` requests have arrived; panics with what arrived on timeout.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<RecordedRequest> {
        match self.requests.wait_for(n, timeout, |_| true).await {
            Ok(r) => r,
            Err(all) => panic!(
                "tap at {}: timed out after {timeout:?} waiting for {n} request(s); got {}: {:?}",
                self.addr,
                all.len(),
                all.iter().map(|r| (&r.method, &r.path)).collect::<Vec<_>>()
            ),
        }
    }
}

type RespBody = BoxBody<Bytes, BoxError>;

async fn forward(
    client: Client<HttpConnector, Full<Bytes>>,
    target: String,
    requests: Arc<Recorder<RecordedRequest>>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<RespBody>, BoxError> {
    let method = req.method().clone();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = req.into_body().collect().await?.to_bytes();

    let mut out = Request::builder()
        .method(method.clone())
        .uri(format!("{target}{path}"));
    for (k, v) in &headers {
        if !NOT_FORWARDED.contains(&k.as_str()) {
            out = out.header(k.as_str(), v.as_str());
        }
    }
    let out = out.body(Full::new(body.clone()))?;
    requests.push(RecordedRequest {
        method: method.to_string(),
        path,
        headers,
        body,
        received_at: Instant::now(),
        peer,
    });

    let resp = client.request(out).await?;
    let mut back = Response::builder().status(resp.status());
    for (k, v) in resp.headers() {
        if !NOT_FORWARDED.contains(&k.as_str()) {
            back = back.header(k, v);
        }
    }
    Ok(back.body(resp.into_body().map_err(BoxError::from).boxed())?)
}
