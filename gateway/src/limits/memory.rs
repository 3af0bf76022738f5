//! Limit counters and budget spend in this process (no `config.limits.redis`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{window_of, Refusal, Scope, Spent};

/// One minute's use of a scope's limits.
#[derive(Debug)]
pub(super) struct Window {
    /// Which minute (Unix seconds / 60).
    pub(super) id: u64,
    pub(super) requests: u64,
    pub(super) tokens: u64,
}

/// One budget window's spend.
#[derive(Debug)]
struct Spend {
    id: u64,
    nano: u64,
}

#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) windows: HashMap<Arc<str>, Window>,
    spend: HashMap<Arc<str>, Spend>,
}

/// In-memory fixed-window counters (windows are clock minutes) and budget spend, keyed by
/// scope id.
#[derive(Debug, Default)]
pub struct LimitState {
    pub(super) counters: Mutex<Counters>,
}

fn unix_secs(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl LimitState {
    /// Admits a request of about `tokens` prompt tokens under every scope in `scopes`, counting
    /// it in all of them; or, when any one refuses (a limit reached or a budget spent), counts
    /// it nowhere and says which. Returns the minute the request was counted in.
    pub fn admit(&self, scopes: &[Scope], tokens: u64) -> Result<u64, Refusal> {
        self.admit_at(SystemTime::now(), scopes, tokens)
    }

    pub(super) fn admit_at(
        &self,
        now: SystemTime,
        scopes: &[Scope],
        tokens: u64,
    ) -> Result<u64, Refusal> {
        let (id, retry_after) = window_of(now);
        let Ok(mut counters) = self.counters.lock() else {
            return Ok(id); // a poisoned lock fails open: limits never take the gateway down
        };
        // Check every scope first; count only when all admit (all or nothing).
        for scope in scopes {
            if let Some(budget) = &scope.budget {
                let (window, left) = budget.window.at(unix_secs(now));
                let spent = counters
                    .spend
                    .get(&*scope.id)
                    .filter(|s| s.id == window)
                    .map_or(0, |s| s.nano);
                if spent >= budget.nano {
                    return Err(Refusal::budget(scope, spent, Duration::from_secs(left)));
                }
            }
            let Some(w) = counters.windows.get(&*scope.id).filter(|w| w.id == id) else {
                // Nothing counted in this window yet: only a limit of 0 (or a request larger
                // than the whole token budget) refuses.
                if scope.limits.requests_per_minute == Some(0) {
                    return Err(Refusal::limit(&scope.id, "requests", 0, retry_after));
                }
                if let Some(tpm) = scope.limits.tokens_per_minute.filter(|&t| tokens > t) {
                    return Err(Refusal::limit(&scope.id, "tokens", tpm, retry_after));
                }
                continue;
            };
            if let Some(rpm) = scope.limits.requests_per_minute {
                if w.requests >= rpm {
                    return Err(Refusal::limit(&scope.id, "requests", rpm, retry_after));
                }
            }
            if let Some(tpm) = scope.limits.tokens_per_minute {
                if w.tokens.saturating_add(tokens) > tpm {
                    return Err(Refusal::limit(&scope.id, "tokens", tpm, retry_after));
                }
            }
        }
        for scope in scopes.iter().filter(|s| !s.limits.is_unlimited()) {
            let w = match counters.windows.get_mut(&*scope.id) {
                Some(w) => w,
                None => counters.windows.entry(scope.id.clone()).or_insert(Window {
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
        if let Ok(mut counters) = self.counters.lock() {
            for scope in scopes {
                if let Some(w) = counters
                    .windows
                    .get_mut(&*scope.id)
                    .filter(|w| w.id == window)
                {
                    w.tokens = w.tokens.saturating_sub(estimated).saturating_add(actual);
                }
            }
        }
    }

    /// Adds `nano` nano-dollars to the current window of every budgeted scope; returns each
    /// one's spend in its window since.
    pub fn charge(&self, scopes: &[Scope], nano: u64) -> Vec<Spent> {
        self.charge_at(SystemTime::now(), scopes, nano)
    }

    pub(super) fn charge_at(&self, now: SystemTime, scopes: &[Scope], nano: u64) -> Vec<Spent> {
        let Ok(mut counters) = self.counters.lock() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for scope in scopes {
            let Some(budget) = &scope.budget else {
                continue;
            };
            let (window, _) = budget.window.at(unix_secs(now));
            // The entry API needs an owned key: looked up first, inserted only the first time.
            let spend = match counters.spend.get_mut(&*scope.id) {
                Some(s) => s,
                None => counters.spend.entry(scope.id.clone()).or_insert(Spend {
                    id: window,
                    nano: 0,
                }),
            };
            if spend.id != window {
                *spend = Spend {
                    id: window,
                    nano: 0,
                };
            }
            spend.nano = spend.nano.saturating_add(nano);
            out.push(Spent {
                scope: scope.id.clone(),
                nano: spend.nano,
                budget: *budget,
            });
        }
        out
    }
}
