//! Calling a provider over Pingora's pooled, keep-alive connections (`TransportConnector`, TLS
//! by rustls). The body is known before the call (read first, translated), so the request
//! goes out whole, header and body in one write; the response is read with Pingora's HTTP/1
//! client. See docs/design.md for why not the proxy loop.

use std::future::Future;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use pingora::connectors::TransportConnector;
use pingora::http::RequestHeader;
use pingora::protocols::http::client::HttpSession;
use pingora::protocols::http::v1::client::{http_req_header_to_wire, HttpSession as H1Session};
use pingora::upstreams::peer::{HttpPeer, Peer};
use pingora::ErrorType;
use tokio::io::AsyncWriteExt;

use crate::config::{Backend, Upstream};
use crate::proxy::dns::DnsCache;

/// How long an idle pooled connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(90);

/// Why a call failed before a response header arrived.
#[derive(Debug)]
pub enum CallError {
    /// Could not resolve or connect: 502.
    Unreachable(String),
    /// No response in time: 504.
    Timeout(String),
    /// Connected, but the exchange broke: 502.
    Broken(String),
}

impl CallError {
    pub fn status(&self) -> u16 {
        match self {
            CallError::Timeout(_) => 504,
            _ => 502,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            CallError::Unreachable(m) | CallError::Timeout(m) | CallError::Broken(m) => m,
        }
    }
}

fn classify(e: &pingora::Error, what: &str, endpoint: &str) -> CallError {
    let cause = match e.etype() {
        ErrorType::ConnectTimedout => "no connection within backends[].connectTimeout",
        ErrorType::ReadTimedout => "no data within backends[].readTimeout",
        ErrorType::WriteTimedout => "could not send within backends[].readTimeout",
        ErrorType::ConnectRefused => "connection refused",
        ErrorType::TLSHandshakeFailure => "TLS handshake failed",
        ErrorType::TLSHandshakeTimedout => "TLS handshake timed out",
        ErrorType::InvalidCert => "the upstream's certificate is not trusted",
        other => other.as_str(),
    };
    let text = format!("{what} {endpoint}: {cause}");
    match e.etype() {
        ErrorType::ConnectTimedout | ErrorType::ReadTimedout | ErrorType::WriteTimedout => {
            CallError::Timeout(text)
        }
        ErrorType::ConnectRefused
        | ErrorType::ConnectNoRoute
        | ErrorType::ConnectError
        | ErrorType::ConnectProxyFailure
        | ErrorType::TLSHandshakeFailure
        | ErrorType::TLSHandshakeTimedout
        | ErrorType::InvalidCert => CallError::Unreachable(text),
        _ => CallError::Broken(text),
    }
}

/// An open exchange with an upstream whose response header has arrived.
pub struct OpenCall {
    pub session: HttpSession,
    pub peer: HttpPeer,
    /// When the backend's total `timeout` runs out.
    pub deadline: Option<tokio::time::Instant>,
}

impl OpenCall {
    pub fn status(&self) -> u16 {
        self.session
            .response_header()
            .map(|h| h.status.as_u16())
            .unwrap_or(502)
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.session
            .response_header()
            .and_then(|h| h.headers.get(name))
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// The next body chunk; `None` at the end.
    pub async fn read_chunk(&mut self) -> Result<Option<Bytes>, CallError> {
        let read = self.session.read_response_body();
        let result = match self.deadline {
            Some(deadline) => match tokio::time::timeout_at(deadline, read).await {
                Ok(r) => r,
                Err(_) => {
                    return Err(CallError::Timeout(format!(
                        "{} did not finish within the backend's timeout",
                        self.endpoint()
                    )))
                }
            },
            None => read.await,
        };
        result.map_err(|e| classify(&e, "reading the response from", &self.endpoint()))
    }

    /// `host:port` of the upstream, for error messages.
    fn endpoint(&self) -> String {
        match self.peer._address.as_inet() {
            Some(addr) => format!("{}:{}", self.peer.sni, addr.port()),
            None => self.peer._address.to_string(),
        }
    }

    /// The next body chunk if it is already here (read with the previous one, say), without
    /// waiting; `None` when it would have to wait. Dropping an unfinished `read_chunk` loses
    /// nothing: Pingora's body readers take bytes from the socket only in a read that completes
    /// and commit their parse state before awaiting, and tokio keeps the socket's readiness for
    /// the next poll. The caller must then await something (it writes, then awaits
    /// [`read_chunk`](Self::read_chunk)): a wake-up owed to tokio's cooperative budget goes to
    /// the no-op waker here.
    pub fn ready_chunk(&mut self) -> Option<Result<Option<Bytes>, CallError>> {
        let read = std::pin::pin!(self.read_chunk());
        match read.poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(r) => Some(r),
            Poll::Pending => None,
        }
    }

    /// Reads the rest of the body, up to `cap` bytes.
    pub async fn read_all(&mut self, cap: usize) -> Result<Vec<u8>, CallError> {
        let mut body = Vec::new();
        while let Some(chunk) = self.read_chunk().await? {
            if body.len() + chunk.len() > cap {
                return Err(CallError::Broken(format!(
                    "upstream response larger than {cap} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// Gives the connection back to the pool when the response was read to its end (and the
    /// upstream keeps it alive).
    pub async fn release(mut self, connector: &TransportConnector) {
        if !self.session.response_done() {
            self.session.shutdown().await;
        } else if let HttpSession::H1(mut h1) = self.session {
            h1.respect_keepalive();
            if let Some(stream) = h1.reuse().await {
                connector.release_stream(stream, self.peer.reuse_hash(), Some(POOL_IDLE));
            }
        }
    }
}

/// Sends `header` and `body` to `upstream` and waits for the response header.
pub async fn call(
    connector: &TransportConnector,
    dns: &DnsCache,
    backend: &Backend,
    upstream: &Upstream,
    header: &RequestHeader,
    body: &[u8],
) -> Result<OpenCall, CallError> {
    let deadline = backend.timeout.map(|t| tokio::time::Instant::now() + t);
    let exchange = exchange(connector, dns, backend, upstream, header, body);
    let mut call = match deadline {
        Some(deadline) => match tokio::time::timeout_at(deadline, exchange).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(CallError::Timeout(format!(
                    "{} did not answer within the backend's timeout",
                    upstream.endpoint()
                )))
            }
        },
        None => exchange.await?,
    };
    call.deadline = deadline;
    Ok(call)
}

/// Connects (or reuses a pooled connection), sends, and waits for the response header.
async fn exchange(
    connector: &TransportConnector,
    dns: &DnsCache,
    backend: &Backend,
    upstream: &Upstream,
    header: &RequestHeader,
    body: &[u8],
) -> Result<OpenCall, CallError> {
    let endpoint = upstream.endpoint();
    let addr = dns
        .resolve(&upstream.host, upstream.port)
        .await
        .map_err(|e| CallError::Unreachable(format!("cannot resolve {}: {e}", upstream.host)))?;
    let mut peer = HttpPeer::new(addr, upstream.tls, upstream.host.clone());
    peer.options.connection_timeout = Some(backend.connect_timeout);
    peer.options.total_connection_timeout = Some(backend.connect_timeout);
    peer.options.idle_timeout = Some(POOL_IDLE);
    // Header and body leave in one write, so the upstream gets one segment and wakes once.
    // (Pingora's client flushes the header before the body is written: two sends.) The copy
    // of the body this costs is small next to the parse the body has already had.
    let mut wire = http_req_header_to_wire(header).ok_or_else(|| {
        CallError::Broken(format!(
            "calling {endpoint}: the request header cannot be written"
        ))
    })?;
    wire.extend_from_slice(body);
    // A pooled connection may have been closed by the upstream while idle; the first write or
    // read then fails at once. Such a request never reached the upstream, so try once more on
    // a fresh connection.
    for attempt in 0..2 {
        let (mut stream, reused) = match connector.reused_stream(&peer).await {
            Some(pooled) => (pooled, true),
            // Connecting (TCP, maybe TLS) is a large future: boxed here, when it runs, rather
            // than inline in every request's future, which Pingora boxes (copies) per request.
            None => (
                Box::pin(connector.new_stream(&peer))
                    .await
                    .map_err(|e| classify(&e, "connecting to", endpoint))?,
                false,
            ),
        };
        let write = async {
            stream.write_all(&wire).await?;
            stream.flush().await
        };
        let written = match tokio::time::timeout(backend.read_timeout, write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(CallError::Broken(format!("calling {endpoint}: {e}"))),
            Err(_) => Err(CallError::Timeout(format!(
                "calling {endpoint}: could not send within backends[].readTimeout"
            ))),
        };
        if let Err(e) = written {
            if reused && attempt == 0 {
                continue;
            }
            return Err(e);
        }
        let mut session = HttpSession::H1(H1Session::new_with_options(stream, &peer));
        // Pingora's client applies a peer's timeouts only inside its proxy loop: set them here.
        // `readTimeout` bounds the wait for the response header and each body read after it.
        session.set_read_timeout(Some(backend.read_timeout));
        match session.read_response_header().await {
            Ok(()) => {
                return Ok(OpenCall {
                    session,
                    peer,
                    deadline: None,
                })
            }
            Err(e) if reused && attempt == 0 && !matches!(e.etype(), ErrorType::ReadTimedout) => {
                continue;
            }
            Err(e) => return Err(classify(&e, "calling", endpoint)),
        }
    }
    Err(CallError::Broken(format!(
        "calling {endpoint}: connection closed"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classified(etype: ErrorType) -> (u16, String) {
        let e = pingora::Error::new(etype);
        let c = classify(&e, "connecting to", "api.example.com:443");
        (c.status(), c.message().to_string())
    }

    #[test]
    fn timeouts_are_504s_that_name_their_setting_and_the_rest_502s() {
        assert_eq!(
            classified(ErrorType::ConnectTimedout),
            (
                504,
                "connecting to api.example.com:443: no connection within backends[].connectTimeout"
                    .to_string()
            )
        );
        let (status, message) = classified(ErrorType::ReadTimedout);
        assert_eq!(status, 504);
        assert!(message.ends_with("no data within backends[].readTimeout"));
        assert_eq!(classified(ErrorType::WriteTimedout).0, 504);
        assert_eq!(
            classified(ErrorType::ConnectRefused),
            (
                502,
                "connecting to api.example.com:443: connection refused".to_string()
            )
        );
        assert_eq!(
            classified(ErrorType::TLSHandshakeFailure).1,
            "connecting to api.example.com:443: TLS handshake failed"
        );
        assert_eq!(
            classified(ErrorType::InvalidCert).1,
            "connecting to api.example.com:443: the upstream's certificate is not trusted"
        );
        // Anything else keeps Pingora's name for it.
        assert_eq!(classified(ErrorType::ConnectionClosed).0, 502);
    }
}
