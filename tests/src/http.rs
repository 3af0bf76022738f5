//! A minimal HTTP/1.1 client for tests (hyper-util's legacy client, plain `http://` only),
//! a streaming variant that timestamps each chunk as it arrives, and an SSE body parser.
//!
//! The free functions use a fresh connection per request; [`Client`] keeps connections alive
//! between requests.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::{connect::HttpConnector, Client as HyperClient};
use hyper_util::rt::TokioExecutor;

/// A whole response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Lower-case names, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Response {
    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The body as UTF-8 (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with status and body if it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response body is not JSON ({e}); status {}: {:?}",
                self.status,
                self.text()
            )
        })
    }

    /// The SSE `data:` payloads of the body.
    pub fn sse_data(&self) -> Vec<String> {
        sse_data(&self.text())
    }
}

/// One chunk of a streamed body and when it arrived.
#[derive(Debug, Clone)]
pub struct Chunk {
    pub data: Bytes,
    /// Time since the request was sent.
    pub at: Duration,
}

/// A response whose body is read chunk by chunk as it arrives.
#[derive(Debug)]
pub struct StreamingResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// When the request was sent; chunk times are relative to this.
    pub started: Instant,
    /// Time from sending the request to receiving the response head.
    pub head_at: Duration,
    body: Incoming,
}

impl StreamingResponse {
    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The next data chunk, or `None` at the end of the body (trailers are skipped).
    /// An error cutting the body short is returned as `Err`.
    pub async fn next_chunk(&mut self) -> Option<Result<Chunk, hyper::Error>> {
        loop {
            match self.body.frame().await? {
                Err(e) => return Some(Err(e)),
                Ok(frame) => {
                    if let Ok(data) = frame.into_data() {
                        if data.is_empty() {
                            continue;
                        }
                        return Some(Ok(Chunk {
                            data,
                            at: self.started.elapsed(),
                        }));
                    }
                }
            }
        }
    }

    /// Reads until what was read contains `needle` (a client part-way through a stream),
    /// and returns it; panics if the stream ends first.
    pub async fn read_until(&mut self, needle: &str) -> String {
        let mut seen = String::new();
        while !seen.contains(needle) {
            match self.next_chunk().await {
                Some(Ok(c)) => seen.push_str(&String::from_utf8_lossy(&c.data)),
                other => panic!("stream ended before {needle:?}: {other:?}\n{seen}"),
            }
        }
        seen
    }

    /// Reads the rest of the body; panics if the body is cut short.
    pub async fn collect_chunks(mut self) -> Vec<Chunk> {
        let mut out = Vec::new();
        while let Some(c) = self.next_chunk().await {
            out.push(c.unwrap_or_else(|e| panic!("streamed body failed after {out:?}: {e}")));
        }
        out
    }

    /// Reads the rest of the body, returning the chunks so far and the error if it failed.
    pub async fn collect_chunks_lenient(mut self) -> (Vec<Chunk>, Option<hyper::Error>) {
        let mut out = Vec::new();
        while let Some(c) = self.next_chunk().await {
            match c {
                Ok(c) => out.push(c),
                Err(e) => return (out, Some(e)),
            }
        }
        (out, None)
    }
}

/// Concatenates chunks into one text (lossy UTF-8).
pub fn chunks_text(chunks: &[Chunk]) -> String {
    let all: Vec<u8> = chunks.iter().flat_map(|c| c.data.iter().copied()).collect();
    String::from_utf8_lossy(&all).into_owned()
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn header_vec(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// An HTTP/1.1 client; `Client::new()` keeps connections alive, `Client::fresh()` does not.
#[derive(Clone, Debug)]
pub struct Client {
    inner: HyperClient<HttpConnector, Full<Bytes>>,
}

impl Default for Client {
    fn default() -> Self {
        Client::new()
    }
}

impl Client {
    /// A client that reuses connections (keep-alive).
    pub fn new() -> Client {
        Client {
            inner: HyperClient::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// A client that opens a new connection for every request.
    pub fn fresh() -> Client {
        Client {
            inner: HyperClient::builder(TokioExecutor::new())
                .pool_max_idle_per_host(0)
                .build_http(),
        }
    }

    /// Sends a request and returns the response head with the body still to read.
    pub async fn send_streaming(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Result<StreamingResponse, String> {
        let mut req = hyper::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(Full::new(body.into()))
            .map_err(|e| format!("bad request {method} {url}: {e}"))?;
        let started = Instant::now();
        let resp = self
            .inner
            .request(req)
            .await
            .map_err(|e| format!("{method} {url} failed: {e:?}"))?;
        let head_at = started.elapsed();
        let status = resp.status().as_u16();
        let headers = header_vec(resp.headers());
        Ok(StreamingResponse {
            status,
            headers,
            started,
            head_at,
            body: resp.into_body(),
        })
    }

    /// Sends a request and reads the whole response.
    pub async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Result<Response, String> {
        let resp = self.send_streaming(method, url, headers, body).await?;
        let body = resp
            .body
            .collect()
            .await
            .map_err(|e| format!("{method} {url}: reading the body failed: {e:?}"))?
            .to_bytes();
        Ok(Response {
            status: resp.status,
            headers: resp.headers,
            body,
        })
    }

    /// GET; panics if the request fails at the transport level.
    pub async fn get(&self, url: &str) -> Response {
        self.send("GET", url, &[], Bytes::new())
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// POST a JSON body (`content-type: application/json` unless given in `headers`).
    pub async fn post_json(
        &self,
        url: &str,
        body: &serde_json::Value,
        headers: &[(&str, &str)],
    ) -> Response {
        let hs = with_json_type(headers);
        let bytes = serde_json::to_vec(body).expect("serialize JSON");
        self.send("POST", url, &hs, bytes)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// POST raw bytes (for malformed bodies and the like).
    pub async fn post_raw(
        &self,
        url: &str,
        body: impl Into<Bytes>,
        headers: &[(&str, &str)],
    ) -> Response {
        self.send("POST", url, headers, body)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// POST a JSON body and return as soon as the response head arrives.
    pub async fn post_json_streaming(
        &self,
        url: &str,
        body: &serde_json::Value,
        headers: &[(&str, &str)],
    ) -> StreamingResponse {
        let hs = with_json_type(headers);
        let bytes = serde_json::to_vec(body).expect("serialize JSON");
        self.send_streaming("POST", url, &hs, bytes)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

fn with_json_type<'a>(headers: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut hs = headers.to_vec();
    if !hs
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        hs.push(("content-type", "application/json"));
    }
    hs
}

/// GET on a fresh connection.
pub async fn get(url: &str) -> Response {
    Client::fresh().get(url).await
}

/// POST JSON on a fresh connection.
pub async fn post_json(url: &str, body: &serde_json::Value, headers: &[(&str, &str)]) -> Response {
    Client::fresh().post_json(url, body, headers).await
}

/// POST raw bytes on a fresh connection.
pub async fn post_raw(url: &str, body: impl Into<Bytes>, headers: &[(&str, &str)]) -> Response {
    Client::fresh().post_raw(url, body, headers).await
}

/// POST JSON on a fresh connection, returning once the response head arrives.
pub async fn post_json_streaming(
    url: &str,
    body: &serde_json::Value,
    headers: &[(&str, &str)],
) -> StreamingResponse {
    Client::fresh()
        .post_json_streaming(url, body, headers)
        .await
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field, if any.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// Parses an SSE body into events (blank-line separated; `\r\n` accepted; comments skipped;
/// events with neither `event:` nor `data:` dropped).
pub fn parse_sse(body: &str) -> Vec<SseEvent> {
    let mut out = Vec::new();
    let mut cur = SseEvent::default();
    let mut has_data = false;
    let flush = |cur: &mut SseEvent, has_data: &mut bool, out: &mut Vec<SseEvent>| {
        if *has_data || cur.event.is_some() {
            out.push(std::mem::take(cur));
        }
        *cur = SseEvent::default();
        *has_data = false;
    };
    for line in body.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            flush(&mut cur, &mut has_data, &mut out);
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => {
                if has_data {
                    cur.data.push('\n');
                }
                cur.data.push_str(value);
                has_data = true;
            }
            "event" => cur.event = Some(value.to_string()),
            _ => {}
        }
    }
    flush(&mut cur, &mut has_data, &mut out);
    out
}

/// The `data:` payloads of an SSE body, in order (including a final `[DONE]`, if sent).
pub fn sse_data(body: &str) -> Vec<String> {
    parse_sse(body)
        .into_iter()
        .filter(|e| !e.data.is_empty() || e.event.is_none())
        .map(|e| e.data)
        .collect()
}
