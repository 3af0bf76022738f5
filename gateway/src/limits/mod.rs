//! Client keys, limits and budgets. A listener may require virtual API keys (stored as
//! SHA-256 hashes; the key itself is never kept, logged or forwarded); each key and each
//! route may carry requests-per-minute and tokens-per-minute limits, in fixed windows (clock
//! minutes): tokens are estimated before the call (the prompt) and reconciled with the real
//! usage after it. Keys, teams and routes may carry a dollar budget per window
//! ([`budget`]): admitted while the window's spend is under it, charged the request's cost
//! when it ends. A request is counted in all its scopes (key, team, route) or, when one
//! refuses, in none. Counters live in this process ([`LimitState`]) or, with
//! `config.limits.redis`, in Redis, shared by every replica ([`SharedLimits`]).

pub mod budget;
mod keys;
mod memory;
mod retry;
mod shared;
#[cfg(test)]
mod tests;

pub use budget::{Budget, BudgetWindow};
pub use keys::{hash_key, parse_hash, presented_key, query_key};
pub use memory::LimitState;
pub use retry::RetryBudget;
pub use shared::{SharedLimits, SharedOutcome};

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// A virtual key: its id and name, its team, its hash, its limits and budget, and (for keys
/// made through the admin API) what it may call.
#[derive(Clone, Debug)]
pub struct ClientKey {
    /// What logs, spans and metrics name it by: a config-file key's `name`, a store key's id.
    pub id: Arc<str>,
    pub name: String,
    /// `key:<id>`, its scope id (made once, at load).
    pub scope: Arc<str>,
    /// The team it belongs to, whose budget (if any) it shares.
    pub team: Option<Arc<str>>,
    pub hash: [u8; 32],
    pub limits: Limits,
    pub budget: Option<Budget>,
    /// A store key's routes, models, expiry and state; `None` for config-file keys.
    pub access: Option<Arc<KeyAccess>>,
}

/// What a key made through the admin API may do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyAccess {
    /// Route names it may use; empty: any.
    pub routes: Vec<String>,
    /// Models (names or globs with `*`) it may call; empty: any.
    pub models: Vec<String>,
    /// Unix seconds after which it is refused.
    pub expires_at: Option<i64>,
    pub disabled: bool,
}

impl KeyAccess {
    /// `None` when the key may use `route` now; else the status (401, 403) and why.
    pub fn refuse_route(&self, id: &str, route: &str, now: i64) -> Option<(u16, String)> {
        if self.disabled {
            return Some((401, format!("API key {id} is disabled")));
        }
        if self.expires_at.is_some_and(|at| now >= at) {
            return Some((401, format!("API key {id} has expired")));
        }
        if !self.routes.is_empty() && !self.routes.iter().any(|r| r == route) {
            return Some((
                403,
                format!(
                    "API key {id} may not use route {route} (allowed: {})",
                    self.routes.join(", ")
                ),
            ));
        }
        None
    }

    /// `None` when the key may call `model`; else why not (a 403).
    pub fn refuse_model(&self, id: &str, model: &str) -> Option<String> {
        if self.models.is_empty()
            || self
                .models
                .iter()
                .any(|m| sluice_providers::pricing::glob_matches(m, model))
        {
            return None;
        }
        Some(format!(
            "API key {id} may not call model {model:?} (allowed: {})",
            self.models.join(", ")
        ))
    }
}

/// What a request is counted against: a key's, a team's or a route's limits and budget,
/// named `key:<name>`, `team:<name>`, `route:<name>` (in 429 messages, logs, metrics and
/// Redis keys).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    pub id: Arc<str>,
    pub limits: Limits,
    pub budget: Option<Budget>,
}

impl Scope {
    /// Nothing to count: no limits and no budget.
    pub fn is_free(&self) -> bool {
        self.limits.is_unlimited() && self.budget.is_none()
    }
}

/// Why a request was refused: which scope, what was exceeded and when to come back.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    /// `key:team-a`, `route:chat`.
    pub scope: String,
    /// `key:team-a: 10 requests per minute`.
    pub what: String,
    pub retry_after: Duration,
    /// A budget was spent (rather than a rate limit reached).
    pub budget: bool,
}

impl Refusal {
    fn limit(scope: &str, exceeded: &str, limit: u64, retry_after: Duration) -> Self {
        Refusal {
            scope: scope.to_string(),
            what: format!("{scope}: {limit} {exceeded} per minute"),
            retry_after,
            budget: false,
        }
    }

    /// `scope`'s budget is spent: `spent` nano-dollars of it in this window.
    fn budget(scope: &Scope, spent: u64, retry_after: Duration) -> Self {
        let budget = scope.budget.map_or(0, |b| b.nano);
        Refusal {
            scope: scope.id.to_string(),
            what: format!(
                "{}: budget of {} USD spent ({} USD in this window)",
                scope.id,
                usd(budget),
                usd(spent)
            ),
            retry_after,
            budget: true,
        }
    }
}

/// Nano-dollars as USD for people: to the cent, or to the millionth under a cent.
fn usd(nano: u64) -> String {
    let v = budget::from_nano(nano);
    if nano == 0 || v >= 0.01 {
        format!("{v:.2}")
    } else {
        format!("{v:.6}")
    }
}

/// A budgeted scope's spend in its current window, after a charge.
#[derive(Clone, Debug, PartialEq)]
pub struct Spent {
    pub scope: Arc<str>,
    pub nano: u64,
    pub budget: Budget,
}

/// The minute `now` falls in, and how long until the next one (at least a second).
pub(crate) fn window_of(now: SystemTime) -> (u64, Duration) {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let id = secs / WINDOW.as_secs();
    let left = WINDOW.as_secs() - secs % WINDOW.as_secs();
    (id, Duration::from_secs(left.max(1)))
}

/// A request counted against limits and budgets, to reconcile and charge when it ends.
#[derive(Debug)]
pub struct Admitted {
    pub scopes: Vec<Scope>,
    /// The minute its limits were counted in; `None` when they were not (the shared store
    /// did not answer and `failMode` is open).
    pub window: Option<u64>,
    /// Prompt tokens estimated at admission.
    pub estimate: u64,
    /// Counted in Redis rather than in this process.
    pub shared: bool,
}

impl Admitted {
    /// Whether the request's cost is to be added to a budget.
    pub fn budgeted(&self) -> bool {
        self.scopes.iter().any(|s| s.budget.is_some())
    }
}

/// How a limited request's admission went.
#[derive(Debug)]
pub enum Verdict {
    /// Admitted and counted.
    Allowed(Admitted),
    Refused(Refusal),
    /// The shared store did not answer; admitted uncounted (`failMode: open`). Its cost is
    /// still charged to its budgets when it ends, if the store answers then.
    FailOpen(Admitted),
    /// The shared store did not answer; refused (`failMode: closed`), with why.
    FailClosed(String),
}

impl Verdict {
    /// `llm.limit` on the log line and span.
    pub fn decision(&self) -> &'static str {
        match self {
            Verdict::Allowed(_) => "allowed",
            Verdict::Refused(r) if r.budget => "budget_exceeded",
            Verdict::Refused(_) => "refused",
            Verdict::FailOpen(_) => "fail_open",
            Verdict::FailClosed(_) => "fail_closed",
        }
    }
}

/// Admits a request of about `estimate` prompt tokens under `scopes` (all or none; a spent
/// budget refuses like a reached limit), in Redis when `shared` is set, else in `memory`.
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
                window: Some(window),
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
            window: Some(window),
            estimate,
            shared: true,
        }),
        SharedOutcome::Refused(refusal) => Verdict::Refused(refusal),
        SharedOutcome::Unavailable(why) => match store.fail_mode {
            crate::config::runtime::FailMode::Open => Verdict::FailOpen(Admitted {
                scopes,
                window: None,
                estimate,
                shared: true,
            }),
            crate::config::runtime::FailMode::Closed => Verdict::FailClosed(why),
        },
    }
}

/// Replaces the admission's estimate with the `actual` tokens used, and adds the request's
/// cost (`nano` nano-dollars) to its budgets; returns the budgets' spend since.
pub async fn settle(
    memory: &LimitState,
    shared: Option<&SharedLimits>,
    admitted: &Admitted,
    actual: u64,
    nano: u64,
) -> Vec<Spent> {
    let budgeted = admitted.budgeted() && nano > 0;
    match shared {
        Some(store) if admitted.shared => {
            if let Some(window) = admitted.window.filter(|_| admitted.estimate != actual) {
                let delta = i64::try_from(actual)
                    .unwrap_or(i64::MAX)
                    .saturating_sub(i64::try_from(admitted.estimate).unwrap_or(i64::MAX));
                Box::pin(store.reconcile(&admitted.scopes, window, delta)).await;
            }
            if budgeted {
                return Box::pin(store.charge(&admitted.scopes, nano)).await;
            }
            Vec::new()
        }
        // Admitted by another generation's store: nothing of it here.
        Some(_) => Vec::new(),
        None => {
            if let Some(window) = admitted.window {
                memory.reconcile(&admitted.scopes, window, admitted.estimate, actual);
            }
            if budgeted {
                return memory.charge(&admitted.scopes, nano);
            }
            Vec::new()
        }
    }
}
