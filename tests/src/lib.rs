//! End-to-end test harness for the `sluice` gateway.
//!
//! Everything here talks over real sockets on `127.0.0.1:0`; nothing sleeps to wait for
//! readiness, everything polls or waits on a notification with a deadline.
//!
//! - [`otlp`]: a real OTLP trace receiver (gRPC and HTTP/protobuf) that records spans.
//! - [`upstream`]: a mock provider (HTTP/1.1) with queued, streamed and failing replies.
//! - [`gateway`]: runs the real `sluice` binary and captures its stdout/stderr.
//! - [`setup`]: finding/building the binary, `sluice` CLI runs, free ports, config templates.
//! - [`http`]: a small HTTP/1.1 client for tests, plus an SSE parser.
//! - [`logline`]: a parser for the gateway's text (logfmt-style) request log line.
//! - [`metrics`]: one series of `/metrics`, read or waited for.
//! - [`redis`]: a throwaway `redis-server` on a free port (shared-limits tests).
//! - [`serve`]: the small hyper HTTP/1.1 server loop the mocks share.
//! - [`tls`]: a TLS front for a mock, with a test CA the gateway can be told to trust.
//! - [`claude_code`]: Claude Code (the `claude` CLI) run against the gateway, offline.
//! - [`codex`]: OpenAI's Codex CLI (`codex exec`) run against the gateway, offline.
//! - [`codex_setup`]: the Codex tests' mock upstream, gateway and tap, and their shared checks.
//! - [`seed`]: the seed page's `/gemini` exchange and the checks of its answer, line and span.
//! - [`tap`]: a recording forwarder between a real client and the gateway.
//! - [`replies`]: streamed answers in each provider's wire format, with cache token usage.
//! - [`responses_replies`]: streamed OpenAI Responses answers (text, function call), and the
//!   Anthropic and Gemini tool calls a Responses client's tool round trip needs.
//!
//! [`Recorder`] is the shared "append-only list + wait until n items" building block.

pub mod claude_code;
pub mod codex;
pub mod codex_setup;
pub mod credentials;
pub mod gateway;
pub mod http;
pub mod logline;
pub mod metrics;
pub mod otlp;
pub mod postgres;
pub mod redis;
pub mod replies;
pub mod responses_replies;
pub mod seed;
pub mod serve;
pub mod setup;
pub mod tap;
pub mod tls;
pub mod upstream;

pub use gateway::{free_port, render, run_cli, run_cli_env, sluice_bin, Gateway, Ports};
pub use logline::{parse_log_line, LogLine};
pub use otlp::{AttrValue, OtlpReceiver, ReceivedSpan};
pub use postgres::PostgresServer;
pub use redis::RedisServer;
pub use upstream::{MockUpstream, RecordedRequest, Reply};

use std::sync::{Arc, Mutex};
use std::time::Duration;

/// An append-only list shared between a background server task and the test, with a way to
/// wait (notification-driven, with a deadline) until enough matching items have arrived.
#[derive(Debug)]
pub struct Recorder<T> {
    items: Mutex<Vec<T>>,
    notify: tokio::sync::Notify,
}

impl<T> Default for Recorder<T> {
    fn default() -> Self {
        Recorder {
            items: Mutex::new(Vec::new()),
            notify: tokio::sync::Notify::new(),
        }
    }
}

impl<T: Clone> Recorder<T> {
    /// A new, empty recorder behind an `Arc`.
    pub fn new_shared() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Appends one item and wakes every waiter.
    pub fn push(&self, item: T) {
        self.items.lock().unwrap().push(item);
        self.notify.notify_waiters();
    }

    /// Appends several items at once and wakes every waiter.
    pub fn extend(&self, items: impl IntoIterator<Item = T>) {
        self.items.lock().unwrap().extend(items);
        self.notify.notify_waiters();
    }

    /// A snapshot of everything recorded so far.
    pub fn snapshot(&self) -> Vec<T> {
        self.items.lock().unwrap().clone()
    }

    /// Number of items recorded so far.
    pub fn len(&self) -> usize {
        self.items.lock().unwrap().len()
    }

    /// True when nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets everything recorded so far.
    pub fn clear(&self) {
        self.items.lock().unwrap().clear();
    }

    /// Waits until at least `n` items match `pred`, returning all the matching items
    /// (possibly more than `n`). Returns `Err` with every item recorded so far on timeout.
    pub async fn wait_for(
        &self,
        n: usize,
        timeout: Duration,
        pred: impl Fn(&T) -> bool,
    ) -> Result<Vec<T>, Vec<T>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Register interest before checking, so a push in between is not missed.
            notified.as_mut().enable();
            let matching: Vec<T> = {
                let items = self.items.lock().unwrap();
                items.iter().filter(|i| pred(i)).cloned().collect()
            };
            if matching.len() >= n {
                return Ok(matching);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(self.snapshot());
            }
        }
    }
}

/// Polls `check` every `interval` until it returns `Some`, or `None` after `timeout`.
pub async fn poll_until<T, F, Fut>(timeout: Duration, interval: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(interval).await;
    }
}
