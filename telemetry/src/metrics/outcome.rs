//! How a request ended, for the `error.type` of metrics and spans.

use super::*;

/// How a request ended, for the error counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The client went away before the answer was written.
    ClientDisconnected,
    /// An upstream failure, by kind (see [`upstream_error_kind`]).
    Upstream(&'static str),
    /// Any other failure (a 4xx the gateway or the upstream answered, ...).
    Failed,
}

/// The `error.type` of a failed request (the duration histogram's `error_type` label, and the
/// span's attribute): the [`upstream_error_kind`], `client_disconnected`, else the status
/// (`_OTHER` without an error status); `None` when it succeeded.
pub fn error_type(rec: &RequestRecord, outcome: Outcome) -> Option<Cow<'static, str>> {
    match outcome {
        Outcome::Ok => None,
        Outcome::ClientDisconnected => Some(Cow::Borrowed("client_disconnected")),
        Outcome::Upstream(kind) => Some(Cow::Borrowed(kind)),
        Outcome::Failed if rec.status >= 400 => Some(Cow::Owned(rec.status.to_string())),
        Outcome::Failed => Some(Cow::Borrowed("_OTHER")),
    }
}

/// Classifies `rec` from its status and the gateway's error text:
/// - an error text starting `client disconnected` / `client gone`: the client left;
/// - `upstream returned status N` (relayed): 429 → `rate_limited`, 5xx → `upstream_5xx`;
/// - made by the gateway: 502 (unreachable, broken exchange, unreadable answer) →
///   `connect`, 504 → `timeout`, 429 → `rate_limited`;
/// - `upstream stream ...` after a 200 (the stream broke midway) → `stream`.
pub fn upstream_error_kind(rec: &RequestRecord) -> Outcome {
    if rec
        .limit
        .as_ref()
        .is_some_and(|l| l.refused() || l.decision == "fail_closed")
    {
        // Refused by sluice's own limits, not by a provider: `sluice_limit_decisions_total`.
        return Outcome::Failed;
    }
    let Some(err) = rec.error.as_deref() else {
        return if rec.status >= 400 {
            Outcome::Failed
        } else {
            Outcome::Ok
        };
    };
    if err.starts_with("client disconnected") || err.starts_with("client gone") {
        return Outcome::ClientDisconnected;
    }
    if err.starts_with("upstream returned status") {
        return match rec.status {
            429 => Outcome::Upstream("rate_limited"),
            500..=599 => Outcome::Upstream("upstream_5xx"),
            _ => Outcome::Failed,
        };
    }
    match rec.status {
        429 => Outcome::Upstream("rate_limited"),
        502 => Outcome::Upstream("connect"),
        504 => Outcome::Upstream("timeout"),
        200..=299 if err.starts_with("upstream stream") => Outcome::Upstream("stream"),
        _ => Outcome::Failed,
    }
}
