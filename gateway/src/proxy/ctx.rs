//! `RequestCtx`: everything one request accumulates on its way, grouped as route, upstream,
//! LLM facts, timings and telemetry ids; turned into a `RequestRecord` at the end.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use pingora::proxy::Session;
use sluice_telemetry::trace_context::{parse_traceparent, SpanIds};
use sluice_telemetry::{LlmFacts, RequestRecord};

use crate::limits::ClientKey;
use crate::state::{Generation, InflightGuard, State};

/// Request headers never copied into telemetry: they carry credentials.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "x-goog-api-key",
    "api-key",
    "cookie",
];

#[derive(Debug)]
pub struct RequestCtx {
    /// The config this request runs on, fixed at its start.
    pub generation: Arc<Generation>,
    _inflight: InflightGuard,
    pub listener: usize,
    pub route: Option<String>,
    pub route_path: String,
    /// Upstream `host:port` called.
    pub endpoint: String,
    pub ids: SpanIds,
    pub start: SystemTime,
    pub started: Instant,
    /// Time spent waiting on upstreams so far (see `RequestRecord::upstream_time`).
    pub upstream_time: Duration,
    pub llm: Option<LlmFacts>,
    /// The model the backend is called with (pinned, aliased or as requested): what the
    /// request is priced as when the provider names no priced model of its own.
    pub called_model: String,
    /// Status written to the client (0 until written).
    pub status: u16,
    /// An error the gateway answered with or met (client gone, upstream broke).
    pub error: Option<String>,
    /// The virtual key the client presented, when the listener has keys.
    pub client_key: Option<Arc<ClientKey>>,
    /// The client's credentials were meant for sluice (a keyed listener): never forward them.
    pub client_auth_consumed: bool,
    /// The limits this request was counted against, to reconcile with its real usage.
    pub admitted: Option<crate::limits::Admitted>,
    /// The limit decision, when the request was subject to a limit.
    pub limit: Option<sluice_telemetry::LimitFacts>,
    /// The route's recent counts, to count this request in when it ends.
    pub recent: Option<Arc<crate::recent::RecentCounts>>,
}

impl RequestCtx {
    pub fn new(state: &Arc<State>, listener: usize) -> Self {
        RequestCtx {
            generation: state.generation(),
            _inflight: state.enter(),
            listener,
            route: None,
            route_path: String::new(),
            endpoint: String::new(),
            ids: SpanIds::new(None, 0.0),
            start: SystemTime::now(),
            started: Instant::now(),
            upstream_time: Duration::ZERO,
            llm: None,
            called_model: String::new(),
            status: 0,
            error: None,
            client_key: None,
            client_auth_consumed: false,
            admitted: None,
            limit: None,
            recent: None,
        }
    }

    /// Marks the request's start and sets its trace ids (continuing an incoming trace).
    pub fn begin(&mut self, session: &Session) {
        self.start = SystemTime::now();
        self.started = Instant::now();
        let parent = session
            .get_header("traceparent")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_traceparent);
        let ratio = self
            .generation
            .config
            .tracing
            .as_ref()
            .map_or(0.0, |t| t.sampling_ratio);
        self.ids = SpanIds::new(parent, ratio);
    }

    /// Counts the time since `since` as time spent waiting on an upstream.
    pub fn waited_since(&mut self, since: Instant) {
        self.upstream_time += since.elapsed();
    }

    /// The record telemetry turns into a log line and a span. Called once, at the end: the
    /// request's route and endpoint move into it.
    pub fn finish(&mut self, session: &Session) -> RequestRecord {
        let req = session.req_header();
        let host = req
            .headers
            .get("host")
            .and_then(|v| v.to_str().ok())
            .or_else(|| req.uri.host())
            .unwrap_or("");
        let host = strip_port(host);
        let version = match req.version {
            http::Version::HTTP_10 => "HTTP/1.0",
            http::Version::HTTP_2 => "HTTP/2",
            _ => "HTTP/1.1",
        };
        let status = if self.status != 0 {
            self.status
        } else {
            session.response_written().map_or(0, |h| h.status.as_u16())
        };
        let listener = self
            .generation
            .listener(self.listener)
            .map(|l| l.name.clone())
            .unwrap_or_default();
        let telemetry = &self.generation.telemetry;
        let headers = if telemetry.uses_request_headers() {
            req.headers
                .iter()
                .filter(|(k, _)| !SECRET_HEADERS.contains(&k.as_str()))
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        RequestRecord {
            listener,
            // The request is over: its strings move to the record.
            route: self.route.take().unwrap_or_default(),
            route_path: std::mem::take(&mut self.route_path),
            endpoint: std::mem::take(&mut self.endpoint),
            source_address: session
                .client_addr()
                .map(source_address)
                .unwrap_or_default(),
            method: req.method.as_str().to_string(),
            host: host.to_string(),
            path: req.uri.path().to_string(),
            version,
            scheme: "http",
            headers,
            status,
            start: self.start,
            duration: self.started.elapsed(),
            upstream_time: self.upstream_time,
            trace_id: self.ids.trace_id,
            span_id: self.ids.span_id,
            parent_span_id: self.ids.parent_span_id,
            sampled: self.ids.sampled,
            llm: self.llm.take(),
            error: self.error.take(),
            limit: self.limit.take(),
            key: self
                .client_key
                .as_ref()
                .map(|k| k.id.to_string())
                .unwrap_or_default(),
            team: self
                .client_key
                .as_ref()
                .and_then(|k| k.team.as_deref())
                .unwrap_or_default()
                .to_string(),
        }
    }
}

/// The client's `ip:port`, as `SocketAddr`'s `Display` writes it; IPv4 (the common case)
/// without `core::fmt`, whose padding machinery costs more than the rest of the record.
fn source_address(addr: &pingora::protocols::l4::socket::SocketAddr) -> String {
    let Some(std::net::SocketAddr::V4(v4)) = addr.as_inet() else {
        return addr.to_string();
    };
    let mut s = String::with_capacity(21);
    let mut digits = itoa::Buffer::new();
    for (i, octet) in v4.ip().octets().into_iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        s.push_str(digits.format(octet));
    }
    s.push(':');
    s.push_str(digits.format(v4.port()));
    s
}

/// `localhost:8080` → `localhost`; `[::1]:8080` → `[::1]`.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |i| &host[..=i]);
    }
    match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn strips_ports() {
        assert_eq!(super::strip_port("localhost:8080"), "localhost");
        assert_eq!(super::strip_port("localhost"), "localhost");
        assert_eq!(super::strip_port("[::1]:80"), "[::1]");
    }

    #[test]
    fn source_addresses_print_as_display_does() {
        use pingora::protocols::l4::socket::SocketAddr;
        for a in [
            "127.0.0.1:8080",
            "10.200.3.45:65535",
            "0.0.0.0:0",
            "[::1]:443",
        ] {
            let std_addr: std::net::SocketAddr = a.parse().unwrap();
            assert_eq!(super::source_address(&SocketAddr::Inet(std_addr)), a);
        }
    }
}
