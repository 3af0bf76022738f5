//! A real OTLP trace receiver for tests, over the wire, in either protocol:
//!
//! - gRPC ([`OtlpReceiver::start_grpc`]): a tonic server implementing the collector's
//!   `TraceService`, accepting gzip-compressed requests.
//! - HTTP/protobuf ([`OtlpReceiver::start_http`]): `POST .../v1/traces` (any path ending
//!   so, e.g. `/api/public/otel/v1/traces`) with `application/x-protobuf`, optionally
//!   `Content-Encoding: gzip`; answers 200 with an empty `ExportTraceServiceResponse`.
//!
//! Every export request is recorded (path, headers, span count, the status answered), and
//! every span is flattened into a [`ReceivedSpan`].

mod span;

pub use span::{any_to_json, hex, spans_of, AttrValue, ReceivedSpan};

use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use tonic::codec::CompressionEncoding;

use crate::serve::{bind_local, spawn_http1, BoxError, ServerTask};
use crate::Recorder;

/// The gRPC method path every gRPC export is recorded under.
pub const GRPC_EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// Which OTLP transport a receiver speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Grpc,
    Http,
}

/// One export request as received.
#[derive(Debug, Clone)]
pub struct ReceivedExport {
    pub protocol: Protocol,
    /// The HTTP path (with query); [`GRPC_EXPORT_PATH`] for gRPC.
    pub path: String,
    /// Request headers (gRPC: metadata), lower-case names, in the order received.
    pub headers: Vec<(String, String)>,
    /// Spans decoded from this request (0 when it was rejected or undecodable).
    pub span_count: usize,
    /// The HTTP status answered (gRPC: 200 for OK, 503 when rejecting).
    pub status: u16,
}

impl ReceivedExport {
    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    spans: Recorder<ReceivedSpan>,
    exports: Recorder<ReceivedExport>,
    reject: AtomicBool,
}

impl State {
    fn accept(&self, export: ReceivedExport, spans: Vec<ReceivedSpan>) {
        // Record the request first so a test that waited for spans sees its headers too.
        self.exports.push(export);
        if !spans.is_empty() {
            self.spans.extend(spans);
        }
    }
}

/// A running OTLP trace receiver on `127.0.0.1:<ephemeral>`; stops when dropped.
pub struct OtlpReceiver {
    protocol: Protocol,
    addr: SocketAddr,
    state: Arc<State>,
    _task: ServerTask,
}

impl std::fmt::Debug for OtlpReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpReceiver")
            .field("protocol", &self.protocol)
            .field("addr", &self.addr)
            .finish()
    }
}

impl OtlpReceiver {
    /// Starts an OTLP/gRPC receiver (gzip accepted).
    pub async fn start_grpc() -> OtlpReceiver {
        let state = Arc::new(State::default());
        let listener = bind_local().await;
        let addr = listener.local_addr().expect("local_addr");
        let svc = TraceServiceServer::new(GrpcSvc(state.clone()))
            .accept_compressed(CompressionEncoding::Gzip);
        let incoming = tonic::transport::server::TcpIncoming::from(listener);
        let task = tokio::spawn(async move {
            if let Err(e) = tonic::transport::Server::builder()
                .add_service(svc)
                .serve_with_incoming(incoming)
                .await
            {
                eprintln!("otlp grpc receiver stopped: {e}");
            }
        });
        OtlpReceiver {
            protocol: Protocol::Grpc,
            addr,
            state,
            _task: task.into(),
        }
    }

    /// Starts an OTLP/HTTP (protobuf) receiver.
    pub async fn start_http() -> OtlpReceiver {
        let state = Arc::new(State::default());
        let listener = bind_local().await;
        let addr = listener.local_addr().expect("local_addr");
        let st = state.clone();
        let task = spawn_http1(listener, move |_peer, req| handle_http(st.clone(), req));
        OtlpReceiver {
            protocol: Protocol::Http,
            addr,
            state,
            _task: task.into(),
        }
    }

    /// Which protocol this receiver speaks.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` — for HTTP the base URL to which `/v1/traces` is appended.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// For HTTP: the full traces URL (`<endpoint>/v1/traces`).
    pub fn traces_url(&self) -> String {
        format!("{}/v1/traces", self.endpoint())
    }

    /// Every span received so far, in arrival order.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.state.spans.snapshot()
    }

    /// Every export request received so far.
    pub fn exports(&self) -> Vec<ReceivedExport> {
        self.state.exports.snapshot()
    }

    /// The headers of every export request, in arrival order.
    pub fn requests_headers(&self) -> Vec<Vec<(String, String)>> {
        self.exports().into_iter().map(|e| e.headers).collect()
    }

    /// The path of every export request, in arrival order.
    pub fn request_paths(&self) -> Vec<String> {
        self.exports().into_iter().map(|e| e.path).collect()
    }

    /// Forgets every span and request received so far.
    pub fn clear(&self) {
        self.state.spans.clear();
        self.state.exports.clear();
    }

    /// While set, every export is answered with 503 / `UNAVAILABLE` and its spans dropped
    /// (the request is still recorded).
    pub fn set_reject(&self, reject: bool) {
        self.state.reject.store(reject, Ordering::SeqCst);
    }

    /// Waits until at least `n` spans have arrived; panics with what arrived on timeout.
    pub async fn wait_for_spans(&self, n: usize, timeout: Duration) -> Vec<ReceivedSpan> {
        self.wait_for_spans_matching(n, timeout, |_| true).await
    }

    /// Waits until at least `n` spans match `pred`, returning the matching ones.
    pub async fn wait_for_spans_matching(
        &self,
        n: usize,
        timeout: Duration,
        pred: impl Fn(&ReceivedSpan) -> bool,
    ) -> Vec<ReceivedSpan> {
        match self.state.spans.wait_for(n, timeout, pred).await {
            Ok(spans) => spans,
            Err(all) => panic!(
                "OTLP {:?} receiver at {}: timed out after {timeout:?} waiting for {n} matching \
                 span(s); received {} span(s): {:#?}\nexport requests: {:#?}",
                self.protocol,
                self.addr,
                all.len(),
                all.iter()
                    .map(|s| (&s.name, &s.trace_id, &s.attributes))
                    .collect::<Vec<_>>(),
                self.exports(),
            ),
        }
    }

    /// Waits for the first span named `name`.
    pub async fn wait_for_span_named(&self, name: &str, timeout: Duration) -> ReceivedSpan {
        self.wait_for_spans_matching(1, timeout, |s| s.name == name)
            .await
            .remove(0)
    }

    /// Waits until at least `n` export requests have arrived (accepted or not).
    pub async fn wait_for_exports(&self, n: usize, timeout: Duration) -> Vec<ReceivedExport> {
        match self.state.exports.wait_for(n, timeout, |_| true).await {
            Ok(e) => e,
            Err(all) => panic!(
                "OTLP {:?} receiver at {}: timed out after {timeout:?} waiting for {n} export \
                 request(s); got {}: {all:#?}",
                self.protocol,
                self.addr,
                all.len()
            ),
        }
    }
}

#[derive(Clone)]
struct GrpcSvc(Arc<State>);

#[tonic::async_trait]
impl TraceService for GrpcSvc {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let headers = header_vec(&request.metadata().clone().into_headers());
        let reject = self.0.reject.load(Ordering::SeqCst);
        let spans = if reject {
            Vec::new()
        } else {
            spans_of(request.get_ref())
        };
        let export = ReceivedExport {
            protocol: Protocol::Grpc,
            path: GRPC_EXPORT_PATH.to_string(),
            headers,
            span_count: spans.len(),
            status: if reject { 503 } else { 200 },
        };
        self.0.accept(export, spans);
        if reject {
            return Err(tonic::Status::unavailable(
                "test receiver is rejecting exports",
            ));
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

fn header_vec(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

async fn handle_http(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, BoxError> {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let headers = header_vec(req.headers());
    let is_post = req.method() == http::Method::POST;
    let body = req.into_body().collect().await?.to_bytes();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.to_ascii_lowercase())
            .unwrap_or_default()
    };

    let outcome: Result<Vec<ReceivedSpan>, (StatusCode, String)> = (|| {
        let p = path.split('?').next().unwrap_or_default();
        if !p.ends_with("/v1/traces") {
            return Err((StatusCode::NOT_FOUND, format!("no OTLP endpoint at {p}")));
        }
        if !is_post {
            return Err((StatusCode::METHOD_NOT_ALLOWED, "POST only".into()));
        }
        if state.reject.load(Ordering::SeqCst) {
            return Err((StatusCode::SERVICE_UNAVAILABLE, "rejecting".into()));
        }
        let ct = header("content-type");
        if !ct.starts_with("application/x-protobuf") {
            return Err((
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("content-type {ct:?}: only application/x-protobuf is supported"),
            ));
        }
        let raw = match header("content-encoding").as_str() {
            "" | "identity" => body.to_vec(),
            "gzip" => {
                let mut out = Vec::new();
                flate2::read::GzDecoder::new(&body[..])
                    .read_to_end(&mut out)
                    .map_err(|e| (StatusCode::BAD_REQUEST, format!("bad gzip: {e}")))?;
                out
            }
            other => {
                return Err((
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    format!("content-encoding {other:?} not supported"),
                ))
            }
        };
        let decoded = ExportTraceServiceRequest::decode(&raw[..])
            .map_err(|e| (StatusCode::BAD_REQUEST, format!("bad protobuf: {e}")))?;
        Ok(spans_of(&decoded))
    })();

    let (status, spans, reply) = match outcome {
        Ok(spans) => (
            StatusCode::OK,
            spans,
            Bytes::from(ExportTraceServiceResponse::default().encode_to_vec()),
        ),
        Err((status, msg)) => (status, Vec::new(), Bytes::from(msg)),
    };
    let export = ReceivedExport {
        protocol: Protocol::Http,
        path,
        headers,
        span_count: spans.len(),
        status: status.as_u16(),
    };
    state.accept(export, spans);
    let content_type = if status == StatusCode::OK {
        "application/x-protobuf"
    } else {
        "text/plain"
    };
    Ok(Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(reply))?)
}
