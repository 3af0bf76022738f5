//! A route's recent requests and errors (status 500 and above) over the last five minutes,
//! for the admin page: five one-minute buckets of atomics, reused in turn. Recording is two
//! relaxed atomic adds (three at a minute's first request); a bucket being reset while
//! another thread counts into it may lose that count, which a rate shown to people can bear.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

const BUCKETS: usize = 5;
pub const WINDOW_SECS: u64 = 60 * BUCKETS as u64;

#[derive(Debug, Default)]
struct Bucket {
    minute: AtomicU64,
    requests: AtomicU64,
    errors: AtomicU64,
}

#[derive(Debug, Default)]
pub struct RecentCounts {
    buckets: [Bucket; BUCKETS],
}

fn minute_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 60)
}

impl RecentCounts {
    /// Counts one finished request.
    pub fn record(&self, error: bool) {
        self.record_at(minute_now(), error);
    }

    fn record_at(&self, minute: u64, error: bool) {
        let b = &self.buckets[(minute % BUCKETS as u64) as usize];
        let seen = b.minute.load(Ordering::Relaxed);
        if seen != minute
            && b.minute
                .compare_exchange(seen, minute, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            b.requests.store(0, Ordering::Relaxed);
            b.errors.store(0, Ordering::Relaxed);
        }
        b.requests.fetch_add(1, Ordering::Relaxed);
        if error {
            b.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Requests and errors over the last five minutes (this one included).
    pub fn snapshot(&self) -> (u64, u64) {
        self.snapshot_at(minute_now())
    }

    fn snapshot_at(&self, minute: u64) -> (u64, u64) {
        self.buckets
            .iter()
            .filter(|b| {
                let m = b.minute.load(Ordering::Relaxed);
                m <= minute && minute - m < BUCKETS as u64
            })
            .fold((0, 0), |(r, e), b| {
                (
                    r + b.requests.load(Ordering::Relaxed),
                    e + b.errors.load(Ordering::Relaxed),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_last_five_minutes() {
        let c = RecentCounts::default();
        c.record_at(100, false);
        c.record_at(100, true);
        c.record_at(103, true);
        assert_eq!(c.snapshot_at(104), (3, 2));
        // Minute 100 has left the window at 105; 103 is still in it.
        assert_eq!(c.snapshot_at(105), (1, 1));
        // A bucket reused five minutes later starts from zero.
        c.record_at(105, false);
        assert_eq!(c.snapshot_at(105), (2, 1));
        assert_eq!(c.snapshot_at(200), (0, 0));
    }
}
