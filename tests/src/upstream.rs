//! [`MockUpstream`]: a real HTTP/1.1 server standing in for a provider (Gemini, OpenAI, ...).
//!
//! Replies come from a queue ([`MockUpstream::push_reply`], each served once, in order), then
//! from a fixed default reply or a handler function. A [`Reply`] is a whole body, a chunked
//! stream with a delay between chunks (each chunk flushed), optionally delayed before the
//! headers, or an abort (connection closed without an answer, or in the middle of a stream).
//! Every request is recorded: method, path with query, lower-case headers, body.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};

use crate::serve::{bind_local, spawn_http1, BoxError, ServerTask};
use crate::Recorder;

/// One request as the mock upstream received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// Path with query, e.g. `/v1beta/models/x:generateContent?alt=sse`.
    pub path: String,
    /// Headers with lower-case names, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// When the whole request (body included) had been read.
    pub received_at: Instant,
    /// The client's address: requests on one kept-alive connection share it.
    pub peer: SocketAddr,
}

impl RecordedRequest {
    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of this (case-insensitive) header.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The path without its query.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or_default()
    }

    /// The query string (without `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.path.split_once('?').map(|(_, q)| q)
    }

    /// The body as UTF-8 (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON; panics with the body if it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "upstream request body is not JSON ({e}): {:?}",
                self.body_text()
            )
        })
    }
}

/// How a reply's body is produced.
#[derive(Debug, Clone)]
pub enum ReplyBody {
    /// One body with a `Content-Length`.
    Full(Bytes),
    /// Chunked transfer encoding, one chunk per item, `delay_between` between chunks;
    /// when `abort_after` is set the connection is cut after the last chunk (no terminator).
    Stream {
        chunks: Vec<Bytes>,
        delay_between: Duration,
        abort_after: bool,
    },
    /// No answer at all: the connection is closed once the request was read.
    Abort,
}

/// One reply of the mock upstream.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: ReplyBody,
    /// Wait this long before sending the status line and headers.
    pub delay: Duration,
}

impl Reply {
    /// A whole-body reply.
    pub fn new(status: u16, headers: Vec<(String, String)>, body: impl Into<Bytes>) -> Reply {
        Reply {
            status,
            headers,
            body: ReplyBody::Full(body.into()),
            delay: Duration::ZERO,
        }
    }

    /// A JSON reply (`content-type: application/json`).
    pub fn json(status: u16, body: &serde_json::Value) -> Reply {
        Reply::new(
            status,
            vec![("content-type".into(), "application/json".into())],
            serde_json::to_vec(body).expect("serialize JSON reply"),
        )
    }

    /// A plain-text reply.
    pub fn text(status: u16, body: &str) -> Reply {
        Reply::new(
            status,
            vec![("content-type".into(), "text/plain".into())],
            body.to_string(),
        )
    }

    /// A chunked streaming reply: each chunk is written and flushed, `delay_between` apart.
    pub fn stream(
        status: u16,
        headers: Vec<(String, String)>,
        chunks: Vec<Bytes>,
        delay_between: Duration,
    ) -> Reply {
        Reply {
            status,
            headers,
            body: ReplyBody::Stream {
                chunks,
                delay_between,
                abort_after: false,
            },
            delay: Duration::ZERO,
        }
    }

    /// A 200 `text/event-stream` reply with one `data: <event>\n\n` chunk per event.
    pub fn sse<S: AsRef<str>>(events: &[S], delay_between: Duration) -> Reply {
        let chunks = events
            .iter()
            .map(|e| Bytes::from(format!("data: {}\n\n", e.as_ref())))
            .collect();
        Reply::stream(
            200,
            vec![
                ("content-type".into(), "text/event-stream".into()),
                ("cache-control".into(), "no-cache".into()),
            ],
            chunks,
            delay_between,
        )
    }

    /// A slow OpenAI stream without usage: `count` chunks of one word each (`word0 `,
    /// `word1 `, ...), model `gpt-x`, `delay_between` apart, and no `[DONE]`.
    pub fn openai_words(count: usize, delay_between: Duration) -> Reply {
        let chunks: Vec<String> = (0..count)
            .map(|i| {
                format!(
                    r#"{{"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-x","choices":[{{"index":0,"delta":{{"content":"word{i} "}},"finish_reason":null}}]}}"#
                )
            })
            .collect();
        Reply::sse(&chunks, delay_between)
    }

    /// Closes the connection without answering.
    pub fn abort() -> Reply {
        Reply {
            status: 0,
            headers: Vec::new(),
            body: ReplyBody::Abort,
            delay: Duration::ZERO,
        }
    }

    /// Waits `delay` before the status line and headers (for timeout tests).
    pub fn with_delay(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// For a stream: cut the connection after the last chunk instead of ending cleanly.
    pub fn then_abort(mut self) -> Reply {
        if let ReplyBody::Stream { abort_after, .. } = &mut self.body {
            *abort_after = true;
        }
        self
    }
}

/// A function choosing the reply for a request when the queue is empty.
pub type Handler = Arc<dyn Fn(&RecordedRequest) -> Reply + Send + Sync>;

struct State {
    queue: Mutex<VecDeque<Reply>>,
    default: Handler,
    requests: Recorder<RecordedRequest>,
}

/// A running mock provider on `127.0.0.1:<ephemeral>`; stops (with its connections) on drop.
pub struct MockUpstream {
    addr: SocketAddr,
    state: Arc<State>,
    _task: ServerTask,
}

impl std::fmt::Debug for MockUpstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockUpstream")
            .field("addr", &self.addr)
            .finish()
    }
}

impl MockUpstream {
    /// Starts serving `default_reply` to every request not served from the queue.
    pub async fn start(default_reply: Reply) -> MockUpstream {
        MockUpstream::start_with_handler(move |_| default_reply.clone()).await
    }

    /// Starts with a handler choosing the reply for every request not served from the queue.
    pub async fn start_with_handler(
        handler: impl Fn(&RecordedRequest) -> Reply + Send + Sync + 'static,
    ) -> MockUpstream {
        let state = Arc::new(State {
            queue: Mutex::new(VecDeque::new()),
            default: Arc::new(handler),
            requests: Recorder::default(),
        });
        let listener = bind_local().await;
        let addr = listener.local_addr().expect("local_addr");
        let st = state.clone();
        let task = spawn_http1(listener, move |peer, req| handle(st.clone(), peer, req));
        MockUpstream {
            addr,
            state,
            _task: task.into(),
        }
    }

    /// Queues a reply, served once, before the default (queued replies go in order).
    pub fn push_reply(&self, reply: Reply) {
        self.state.queue.lock().unwrap().push_back(reply);
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests.snapshot()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.state.requests.clear();
    }

    /// Waits until at least `n` requests have arrived; panics with what arrived on timeout.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<RecordedRequest> {
        match self.state.requests.wait_for(n, timeout, |_| true).await {
            Ok(r) => r,
            Err(all) => panic!(
                "mock upstream at {}: timed out after {timeout:?} waiting for {n} request(s); \
                 got {}: {:#?}",
                self.addr,
                all.len(),
                all.iter()
                    .map(|r| (&r.method, &r.path, r.body_text()))
                    .collect::<Vec<_>>()
            ),
        }
    }
}

type RespBody = BoxBody<Bytes, BoxError>;

async fn handle(
    state: Arc<State>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<RespBody>, BoxError> {
    let method = req.method().to_string();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let headers = req
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
    let recorded = RecordedRequest {
        method,
        path,
        headers,
        body,
        received_at: Instant::now(),
        peer,
    };
    let queued = state.queue.lock().unwrap().pop_front();
    let reply = queued.unwrap_or_else(|| (state.default)(&recorded));
    state.requests.push(recorded);

    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut builder = Response::builder().status(reply.status);
    for (k, v) in &reply.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let body: RespBody = match reply.body {
        ReplyBody::Abort => return Err("mock upstream: aborting the connection".into()),
        ReplyBody::Full(b) => Full::new(b).map_err(|e| match e {}).boxed(),
        ReplyBody::Stream {
            chunks,
            delay_between,
            abort_after,
        } => {
            // An ordered channel: data and a final error (abort) arrive in the order sent.
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, BoxError>>(1);
            tokio::spawn(async move {
                let n = chunks.len();
                for (i, chunk) in chunks.into_iter().enumerate() {
                    if tx.send(Ok(chunk)).await.is_err() {
                        return; // the client went away
                    }
                    if i + 1 < n && !delay_between.is_zero() {
                        tokio::time::sleep(delay_between).await;
                    }
                }
                if abort_after {
                    let _ = tx
                        .send(Err("mock upstream: stream cut on purpose".into()))
                        .await;
                }
            });
            let body = ChanBody(rx);
            body.boxed()
        }
    };
    Ok(builder.body(body)?)
}

/// A streaming body fed by a channel; an `Err` item aborts the body (and the connection).
struct ChanBody(tokio::sync::mpsc::Receiver<Result<Bytes, BoxError>>);

impl hyper::body::Body for ChanBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, BoxError>>> {
        self.0
            .poll_recv(cx)
            .map(|item| item.map(|r| r.map(hyper::body::Frame::data)))
    }
}
