//! Client keys and limits. A listener may require virtual API keys (stored as SHA-256 hashes;
//! the key itself is never kept, logged or forwarded); each key and each route may carry
//! requests-per-minute and tokens-per-minute limits, in fixed windows (clock minutes): tokens
//! are estimated before the call (the prompt) and reconciled with the real usage after it.
//! A request is counted in all its scopes (key and route) or, when one refuses, in none.
//! Counters live in this process ([`LimitState`]) or, with `config.limits.redis`, in Redis,
//! shared by every replica ([`SharedLimits`]).

mod shared;

pub use shared::{SharedLimits, SharedOutcome};

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

const WINDOW: Duration = Duration::from_secs(60);

/// Requests and tokens per minute; `None` is unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    pub requests_per_minute: Option<u64>,
    pub tokens_per_minute: Option<u64>,
}

impl Limits {
    pub fn is_unlimited(&self) -> bool {
        self.requests_per_minute.is_none() && self.tokens_per_minute.is_none()
    }
}

/// A virtual key: the team it stands for, its hash, its limits.
#[derive(Clone, Debug)]
pub struct ClientKey {
    pub name: String,
    pub hash: [u8; 32],
    pub limits: Limits,
}

/// SHA-256 of a key.
pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Parses `sha256:<64 hex>`.
pub fn parse_hash(text: &str) -> Option<[u8; 32]> {
    let hex = text.strip_prefix("sha256:")?;
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The key a client presented: `Authorization: Bearer <key>`, `x-api-key`, `api-key` or
/// `x-goog-api-key` (Gemini's; its `?key=` is read by [`query_key`]).
pub fn presented_key<'a>(header: impl Fn(&str) -> Option<&'a str>) -> Option<&'a str> {
    if let Some(auth) = header("authorization") {
        let auth = auth.trim();
        if let Some(key) = auth
            .strip_prefix("Bearer ")
            .or_else(|| auth.strip_prefix("bearer "))
        {
            return Some(key.trim());
        }
    }
    header("x-api-key")
        .or_else(|| header("api-key"))
        .or_else(|| header("x-goog-api-key"))
        .map(str::trim)
}

/// The key in a query string's `key=` parameter (Gemini clients may send it so), unless empty
/// or percent-encoded (keys are plain ASCII; an encoded one is not taken as given).
pub fn query_key(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .find_map(|kv| kv.strip_prefix("key="))
        .filter(|k| !k.is_empty() && !k.contains('%'))
}

/// What a request is counted against: its key's or its route's limits, named `key:<name>` /
/// `route:<name>` (in 429 messages, logs, metrics and Redis keys).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    pub id: String,
    pub limits: Limits,
}

/// One window's use.
#[derive(Debug)]
struct Window {
    /// Which minute (Unix seconds / 60).
    id: u64,
    requests: u64,
    tokens: u64,
}

/// Why a request was refused: which scope, what was exceeded and when to come back.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    /// `key:team-a`, `route:chat`.
    pub scope: String,
    /// `key:team-a: 10 requests per minute`.
    pub what: String,
    pub retry_after: Duration,
}

impl Refusal {
    fn new(scope: &str, exceeded: &str, limit: u64, retry_after: Duration) -> Self {
        Refusal {
            scope: scope.to_string(),
            what: format!("{scope}: {limit} {exceeded} per minute"),
            retry_after,
        }
    }
}

/// The minute `now` falls in, and how long until the next one (at least a second).
pub(crate) fn window_of(now: SystemTime) -> (u64, Duration) {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let id = secs / WINDOW.as_secs();
    let left = WINDOW.as_secs() - secs % WINDOW.as_secs();
    (id, Duration::from_secs(left.max(1)))
}

/// In-memory fixed-window counters (windows are clock minutes), keyed by scope id.
#[derive(Debug, Default)]
pub struct LimitState {
    windows: Mutex<HashMap<String, Window>>,
}

impl LimitState {
    /// Admits a request of about `tokens` prompt tokens under every scope in `scopes`, counting
    /// it in all of them; or, when any one refuses, counts it nowhere and says which. Returns
    /// the window the request was counted in.
    pub fn admit(&self, scopes: &[Scope], tokens: u64) -> Result<u64, Refusal> {
        self.admit_at(SystemTime::now(), scopes, tokens)
    }

    fn admit_at(&self, now: SystemTime, scopes: &[Scope], tokens: u64) -> Result<u64, Refusal> {
        let (id, retry_after) = window_of(now);
        let Ok(mut windows) = self.windows.lock() else {
            return Ok(id); // a poisoned lock fails open: limits never take the gateway down
        };
        // Check every scope first; count only when all admit (all or nothing).
        for scope in scopes {
            let Some(w) = windows.get(&scope.id).filter(|w| w.id == id) else {
                // Nothing counted in this window yet: only a limit of 0 (or a request larger
                // than the whole token budget) refuses.
                if scope.limits.requests_per_minute == Some(0) {
                    return Err(Refusal::new(&scope.id, "requests", 0, retry_after));
                }
                if let Some(tpm) = scope.limits.tokens_per_minute.filter(|&t| tokens > t) {
                    return Err(Refusal::new(&scope.id, "tokens", tpm, retry_after));
                }
                continue;
            };
            if let Some(rpm) = scope.limits.requests_per_minute {
                if w.requests >= rpm {
                    return Err(Refusal::new(&scope.id, "requests", rpm, retry_after));
                }
            }
            if let Some(tpm) = scope.limits.tokens_per_minute {
                if w.tokens.saturating_add(tokens) > tpm {
                    return Err(Refusal::new(&scope.id, "tokens", tpm, retry_after));
                }
            }
        }
        for scope in scopes {
            let w = match windows.get_mut(&scope.id) {
                Some(w) => w,
                None => windows.entry(scope.id.clone()).or_insert(Window {
                    id,
                    requests: 0,
                    tokens: 0,
                }),
            };
            if w.id != id {
                *w = Window {
                    id,
                    requests: 0,
                    tokens: 0,
                };
            }
            w.requests += 1;
            w.tokens = w.tokens.saturating_add(tokens);
        }
        Ok(id)
    }

    /// Replaces the estimate counted at admission (in `window`) with the real usage; nothing
    /// when that window has passed.
    pub fn reconcile(&self, scopes: &[Scope], window: u64, estimated: u64, actual: u64) {
        if estimated == actual {
            return;
        }
        if let Ok(mut windows) = self.windows.lock() {
            for scope in scopes {
                if let Some(w) = windows.get_mut(&scope.id).filter(|w| w.id == window) {
                    w.tokens = w.tokens.saturating_sub(estimated).saturating_add(actual);
                }
            }
        }
    }
}

/// A request counted against limits, to reconcile when it ends.
#[derive(Debug)]
pub struct Admitted {
    pub scopes: Vec<Scope>,
    /// The window it was counted in.
    pub window: u64,
    /// Prompt tokens estimated at admission.
    pub estimate: u64,
    /// Counted in Redis rather than in this process.
    pub shared: bool,
}

/// How a limited request's admission went.
#[derive(Debug)]
pub enum Verdict {
    /// Admitted and counted.
    Allowed(Admitted),
    Refused(Refusal),
    /// The shared store did not answer; admitted uncounted (`failMode: open`).
    FailOpen,
    /// The shared store did not answer; refused (`failMode: closed`), with why.
    FailClosed(String),
}

impl Verdict {
    /// `llm.limit` on the log line and span.
    pub fn decision(&self) -> &'static str {
        match self {
            Verdict::Allowed(_) => "allowed",
            Verdict::Refused(_) => "refused",
            Verdict::FailOpen => "fail_open",
            Verdict::FailClosed(_) => "fail_closed",
        }
    }
}

/// Admits a request of about `estimate` prompt tokens under `scopes` (all or none), in
/// Redis when `shared` is set, else in `memory`.
pub async fn admit(
    memory: &LimitState,
    shared: Option<&SharedLimits>,
    scopes: Vec<Scope>,
    estimate: u64,
) -> Verdict {
    let Some(store) = shared else {
        return match memory.admit(&scopes, estimate) {
            Ok(window) => Verdict::Allowed(Admitted {
                scopes,
                window,
                estimate,
                shared: false,
            }),
            Err(refusal) => Verdict::Refused(refusal),
        };
    };
    // The Redis futures are boxed: large, and only awaited when a store is configured, so
    // they stay out of every request's future.
    match Box::pin(store.admit(&scopes, estimate)).await {
        SharedOutcome::Admitted(window) => Verdict::Allowed(Admitted {
            scopes,
            window,
            estimate,
            shared: true,
        }),
        SharedOutcome::Refused(refusal) => Verdict::Refused(refusal),
        SharedOutcome::Unavailable(why) => match store.fail_mode {
            crate::config::runtime::FailMode::Open => Verdict::FailOpen,
            crate::config::runtime::FailMode::Closed => Verdict::FailClosed(why),
        },
    }
}

/// Replaces the admission's estimate with the `actual` tokens used.
pub async fn reconcile(
    memory: &LimitState,
    shared: Option<&SharedLimits>,
    admitted: &Admitted,
    actual: u64,
) {
    if admitted.estimate == actual {
        return;
    }
    match shared {
        Some(store) if admitted.shared => {
            let delta = i64::try_from(actual)
                .unwrap_or(i64::MAX)
                .saturating_sub(i64::try_from(admitted.estimate).unwrap_or(i64::MAX));
            Box::pin(store.reconcile(&admitted.scopes, admitted.window, delta)).await;
        }
        Some(_) => {}
        None => memory.reconcile(&admitted.scopes, admitted.window, admitted.estimate, actual),
    }
}

/// A retry budget shared by all requests: each request adds a fifth of a retry, each retry
/// takes a whole one, and at most ten are banked. Under a provider outage retries stay
/// within about 20% of traffic instead of multiplying it (no retry storms).
#[derive(Debug)]
pub struct RetryBudget {
    /// Thousandths of a retry.
    milli: std::sync::atomic::AtomicI64,
}

const RETRY_DEPOSIT: i64 = 200;
const RETRY_COST: i64 = 1000;
const RETRY_CAP: i64 = 10 * RETRY_COST;

impl Default for RetryBudget {
    fn default() -> Self {
        RetryBudget {
            milli: std::sync::atomic::AtomicI64::new(RETRY_CAP),
        }
    }
}

impl RetryBudget {
    /// A request arrived.
    pub fn deposit(&self) {
        use std::sync::atomic::Ordering;
        let _ = self
            .milli
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |m| {
                Some((m + RETRY_DEPOSIT).min(RETRY_CAP))
            });
    }

    /// Takes one retry, if the budget has one.
    pub fn take(&self) -> bool {
        use std::sync::atomic::Ordering;
        self.milli
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |m| {
                (m >= RETRY_COST).then_some(m - RETRY_COST)
            })
            .is_ok()
    }

    /// Returns a retry taken but not used.
    pub fn give_back(&self) {
        use std::sync::atomic::Ordering;
        let _ = self
            .milli
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |m| {
                Some((m + RETRY_COST).min(RETRY_CAP))
            });
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_retry_budget_is_bounded() {
        let b = super::RetryBudget::default();
        let taken = (0..100).filter(|_| b.take()).count();
        assert_eq!(taken, 10, "ten banked");
        for _ in 0..10 {
            b.deposit();
        }
        assert!(b.take(), "ten requests earn two retries");
        assert!(b.take());
        assert!(!b.take());
    }

    use super::*;

    fn scope(id: &str, rpm: Option<u64>, tpm: Option<u64>) -> Scope {
        Scope {
            id: id.to_string(),
            limits: Limits {
                requests_per_minute: rpm,
                tokens_per_minute: tpm,
            },
        }
    }

    /// 10 s into a minute.
    fn at(minute: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(minute * 60 + 10)
    }

    #[test]
    fn requests_and_tokens_per_minute() {
        let state = LimitState::default();
        let a = [scope("key:a", Some(2), Some(100))];
        assert!(state.admit_at(at(1), &a, 10).is_ok());
        assert!(state.admit_at(at(1), &a, 10).is_ok());
        let refused = state.admit_at(at(1), &a, 10).unwrap_err();
        assert_eq!(refused.what, "key:a: 2 requests per minute");
        assert_eq!(refused.scope, "key:a");
        assert_eq!(refused.retry_after, Duration::from_secs(50));
        // The next minute starts afresh.
        assert_eq!(state.admit_at(at(2), &a, 10), Ok(2));
        // Another scope is separate; tokens count too.
        let b = [scope("key:b", None, Some(100))];
        assert!(state.admit_at(at(1), &b, 60).is_ok());
        assert_eq!(
            state.admit_at(at(1), &b, 60).unwrap_err().what,
            "key:b: 100 tokens per minute"
        );
        // The real usage was smaller than estimated: room again.
        state.reconcile(&b, 1, 60, 10);
        assert!(state.admit_at(at(1), &b, 60).is_ok());
        // A reconciliation for a window that has passed changes nothing.
        state.reconcile(&b, 0, 60, 0);
        assert!(state.admit_at(at(1), &b, 60).is_err());
        // A request larger than the whole budget is refused even in a fresh window.
        assert!(state.admit_at(at(3), &b, 101).is_err());
    }

    #[test]
    fn admission_is_all_or_nothing_across_scopes() {
        let state = LimitState::default();
        let key = scope("key:team-a", Some(10), Some(1000));
        let route = scope("route:chat", Some(1), None);
        let both = [key.clone(), route.clone()];
        assert!(state.admit_at(at(1), &both, 10).is_ok());
        // The route refuses: the key must not be charged for it, however often it happens.
        for _ in 0..20 {
            let refused = state.admit_at(at(1), &both, 10).unwrap_err();
            assert_eq!(refused.scope, "route:chat");
            assert_eq!(refused.what, "route:chat: 1 requests per minute");
        }
        // The key has used 1 request and 10 tokens of its budget, not 21 and 210.
        let windows = state.windows.lock().unwrap();
        assert_eq!(windows["key:team-a"].requests, 1);
        assert_eq!(windows["key:team-a"].tokens, 10);
        assert_eq!(windows["route:chat"].requests, 1);
        drop(windows);
        // And the key still admits elsewhere: 9 more requests.
        let other_route = [key.clone(), scope("route:other", None, None)];
        for _ in 0..9 {
            assert!(state.admit_at(at(1), &other_route, 10).is_ok());
        }
        assert_eq!(
            state.admit_at(at(1), &other_route, 10).unwrap_err().scope,
            "key:team-a"
        );
        // A key refusal leaves the route uncharged too.
        let fresh_route = [key, scope("route:fresh", Some(1), None)];
        assert!(state.admit_at(at(1), &fresh_route, 10).is_err());
        assert!(!state.windows.lock().unwrap().contains_key("route:fresh"));
    }

    #[test]
    fn windows_are_clock_minutes() {
        let (id, left) = window_of(UNIX_EPOCH + Duration::from_secs(125));
        assert_eq!(id, 2);
        assert_eq!(left, Duration::from_secs(55));
        let (_, left) = window_of(UNIX_EPOCH + Duration::from_secs(120));
        assert_eq!(left, Duration::from_secs(60));
    }

    #[test]
    fn keys_are_found_and_hashed() {
        let headers = [("authorization", "Bearer sk-team-a")];
        let get = |n: &str| headers.iter().find(|(k, _)| *k == n).map(|(_, v)| *v);
        assert_eq!(presented_key(get), Some("sk-team-a"));
        let headers = [("x-goog-api-key", " g-key ")];
        let get = |n: &str| headers.iter().find(|(k, _)| *k == n).map(|(_, v)| *v);
        assert_eq!(presented_key(get), Some("g-key"));
        assert_eq!(query_key(Some("alt=sse&key=k-1")), Some("k-1"));
        assert_eq!(query_key(Some("alt=sse")), None);
        assert_eq!(query_key(Some("key=")), None);
        let h = hash_key("sk-team-a");
        let text = format!(
            "sha256:{}",
            h.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        assert_eq!(parse_hash(&text), Some(h));
        assert_eq!(parse_hash("sha256:xyz"), None);
    }
}
