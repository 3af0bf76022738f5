//! The retry budget: how many retries the gateway may spend across all requests.

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
