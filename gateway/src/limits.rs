//! Client keys and limits. A listener may require virtual API keys (stored as SHA-256 hashes;
//! the key itself is never kept, logged or forwarded); each key and each route may carry
//! requests-per-minute and tokens-per-minute limits. Limit state lives in this process
//! (fixed one-minute windows): tokens are estimated before the call (the prompt) and
//! reconciled with the real usage after it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

/// The key a client presented: `Authorization: Bearer <key>`, `x-api-key` or `api-key`.
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
        .map(str::trim)
}

/// One window's use.
#[derive(Debug)]
struct Window {
    start: Instant,
    requests: u64,
    tokens: u64,
}

/// Why a request was refused: what was exceeded and when to come back.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    pub what: String,
    pub retry_after: Duration,
}

/// In-memory fixed-window counters, keyed by scope (`key:team-a`, `route:chat`).
#[derive(Debug, Default)]
pub struct LimitState {
    windows: Mutex<HashMap<String, Window>>,
}

impl LimitState {
    /// Admits a request of about `tokens` prompt tokens under `limits` for `scope`, counting it;
    /// or says why not.
    pub fn admit(&self, scope: &str, limits: &Limits, tokens: u64) -> Result<(), Refusal> {
        if limits.is_unlimited() {
            return Ok(());
        }
        let Ok(mut windows) = self.windows.lock() else {
            return Ok(()); // a poisoned lock fails open: limits never take the gateway down
        };
        let now = Instant::now();
        let w = windows.entry(scope.to_string()).or_insert(Window {
            start: now,
            requests: 0,
            tokens: 0,
        });
        if now.duration_since(w.start) >= WINDOW {
            *w = Window {
                start: now,
                requests: 0,
                tokens: 0,
            };
        }
        let retry_after = WINDOW.saturating_sub(now.duration_since(w.start));
        if let Some(rpm) = limits.requests_per_minute {
            if w.requests >= rpm {
                return Err(Refusal {
                    what: format!("{scope}: {rpm} requests per minute"),
                    retry_after,
                });
            }
        }
        if let Some(tpm) = limits.tokens_per_minute {
            if w.tokens.saturating_add(tokens) > tpm {
                return Err(Refusal {
                    what: format!("{scope}: {tpm} tokens per minute"),
                    retry_after,
                });
            }
        }
        w.requests += 1;
        w.tokens = w.tokens.saturating_add(tokens);
        Ok(())
    }

    /// Replaces the estimate counted at admission with the real usage.
    pub fn reconcile(&self, scope: &str, estimated: u64, actual: u64) {
        if let Ok(mut windows) = self.windows.lock() {
            if let Some(w) = windows.get_mut(scope) {
                w.tokens = w.tokens.saturating_sub(estimated).saturating_add(actual);
            }
        }
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

    #[test]
    fn requests_and_tokens_per_minute() {
        let state = LimitState::default();
        let limits = Limits {
            requests_per_minute: Some(2),
            tokens_per_minute: Some(100),
        };
        assert!(state.admit("key:a", &limits, 10).is_ok());
        assert!(state.admit("key:a", &limits, 10).is_ok());
        let refused = state.admit("key:a", &limits, 10).unwrap_err();
        assert_eq!(refused.what, "key:a: 2 requests per minute");
        assert!(refused.retry_after <= WINDOW && refused.retry_after > Duration::from_secs(55));
        // Another scope is separate; tokens count too.
        let tpm = Limits {
            requests_per_minute: None,
            tokens_per_minute: Some(100),
        };
        assert!(state.admit("key:b", &tpm, 60).is_ok());
        assert_eq!(
            state.admit("key:b", &tpm, 60).unwrap_err().what,
            "key:b: 100 tokens per minute"
        );
        // The real usage was smaller than estimated: room again.
        state.reconcile("key:b", 60, 10);
        assert!(state.admit("key:b", &tpm, 60).is_ok());
    }

    #[test]
    fn keys_are_found_and_hashed() {
        let headers = [("authorization", "Bearer sk-team-a")];
        let get = |n: &str| headers.iter().find(|(k, _)| *k == n).map(|(_, v)| *v);
        assert_eq!(presented_key(get), Some("sk-team-a"));
        let h = hash_key("sk-team-a");
        let text = format!(
            "sha256:{}",
            h.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        assert_eq!(parse_hash(&text), Some(h));
        assert_eq!(parse_hash("sha256:xyz"), None);
    }
}
