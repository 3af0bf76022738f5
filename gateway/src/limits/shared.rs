//! Limits shared by every replica through Redis (`config.limits.redis`).
//!
//! Admission is one round trip: a Lua script (EVALSHA, EVAL when Redis does not know it yet)
//! checks the current minute's request and token counters of every scope of the request and,
//! only when all admit, increments them all, with an expiry. The minute is Redis's own clock
//! (`TIME`), so replicas with skewed clocks still share one window. Reconciliation (the
//! real usage replacing the prompt estimate) is an INCRBY of the difference on the tokens
//! counters, skipped for a counter that has already expired.
//!
//! Budgets ride along: the same admission script refuses a scope whose budget window's
//! spend (nano-dollars, one counter per window, on Redis's clock) has reached its budget,
//! and a second script adds a request's cost to its budgets' current windows when it ends
//! (one INCRBY each: replicas' charges never overwrite one another).
//!
//! Every call is bounded by `timeout`. When Redis cannot answer in time (down, unreachable,
//! slow), the request takes the configured fail mode, `sluice_limit_store_errors_total`
//! counts the failure, and a warning is logged at most every [`WARN_EVERY`]. After a failure
//! the store is left alone for [`BACKOFF`]: requests take the fail mode at once instead of
//! each waiting for the timeout.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Script;
use sluice_telemetry::Metrics;

use super::budget::WINDOW_LUA;
use super::{Budget, BudgetWindow, Refusal, Scope, Spent};
use crate::config::runtime::{FailMode, RedisLimitsConfig};

/// Longest a connection attempt runs (in the background of the requests waiting `timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// After a failure, how long requests take the fail mode without calling Redis.
pub const BACKOFF: Duration = Duration::from_secs(1);
/// At most one warning about the store this often.
pub const WARN_EVERY: Duration = Duration::from_secs(10);
/// Counters outlive their minute by this much (a late reconciliation still finds them).
const EXPIRE_SECS: u64 = 120;

/// KEYS: per scope, its limits' base key (`<prefix><scope id>`) and its budget's
/// (`<prefix><scope id>:b:<window label>`). ARGV[1]: the request's estimated tokens; then per
/// scope its requests and tokens per minute (-1: none), its budget in nano-dollars (-1: none)
/// and its budget window (seconds, 0 for calendar months; offset); last, the counters' expiry.
/// Returns {admitted (1/0), refusing scope (1-based), 1 requests | 2 tokens | 3 budget,
/// seconds left in the refusing window, minute id, the budget's spend (when 3)}.
const ADMIT_BODY: &str = r"
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1])
local window = math.floor(now / 60)
local left = 60 - (now % 60)
local tokens = tonumber(ARGV[1])
local n = #KEYS / 2
for i = 1, n do
  local base = KEYS[2 * i - 1] .. ':' .. window
  local a = 2 + 5 * (i - 1)
  local rpm, tpm, budget = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  if budget >= 0 then
    local id, bleft = window_of(now, tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]))
    local spent = tonumber(redis.call('GET', KEYS[2 * i] .. ':' .. id) or '0')
    if spent >= budget then
      return {0, i, 3, bleft, window, spent}
    end
  end
  if rpm >= 0 and tonumber(redis.call('GET', base .. ':r') or '0') >= rpm then
    return {0, i, 1, left, window, 0}
  end
  if tpm >= 0 and tonumber(redis.call('GET', base .. ':t') or '0') + tokens > tpm then
    return {0, i, 2, left, window, 0}
  end
end
for i = 1, n do
  local base = KEYS[2 * i - 1] .. ':' .. window
  local a = 2 + 5 * (i - 1)
  if tonumber(ARGV[a]) >= 0 then
    redis.call('INCR', base .. ':r')
    redis.call('EXPIRE', base .. ':r', ARGV[#ARGV])
  end
  if tonumber(ARGV[a + 1]) >= 0 then
    redis.call('INCRBY', base .. ':t', ARGV[1])
    redis.call('EXPIRE', base .. ':t', ARGV[#ARGV])
  end
end
return {1, 0, 0, left, window, 0}
";

/// KEYS: the tokens counters to correct. ARGV[1]: the difference (may be negative).
const RECONCILE: &str = r"
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('INCRBY', KEYS[i], ARGV[1])
  end
end
return 0
";

/// KEYS: the budgets' base keys. ARGV[1]: nano-dollars to add; then per key its window
/// (seconds, 0 for months; offset). Adds to each budget's current window on Redis's clock
/// (kept an hour past its end) and returns the spends since.
const CHARGE_BODY: &str = r"
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1])
local out = {}
for i = 1, #KEYS do
  local id, left = window_of(now, tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1]))
  local key = KEYS[i] .. ':' .. id
  out[i] = redis.call('INCRBY', key, ARGV[1])
  redis.call('EXPIRE', key, left + 3600)
end
return out
";

/// What the shared store said.
#[derive(Debug)]
pub enum SharedOutcome {
    /// Counted in every scope, in this window.
    Admitted(u64),
    Refused(Refusal),
    /// No answer in time; why.
    Unavailable(String),
}

/// The Redis limit store of one config generation.
pub struct SharedLimits {
    client: redis::Client,
    /// Made on first use, inside the runtime of the request that needs it; it reconnects
    /// by itself after a failure.
    connection: OnceLock<ConnectionManager>,
    admit: Script,
    reconcile: Script,
    charge: Script,
    prefix: String,
    timeout: Duration,
    pub fail_mode: FailMode,
    metrics: Arc<Metrics>,
    /// Milliseconds since the Unix epoch until which Redis is not called (after a failure).
    skip_until_ms: AtomicU64,
    /// When the last warning was logged (ms since the epoch), and failures since.
    warned_ms: AtomicU64,
    failures_since_warning: AtomicU64,
}

impl std::fmt::Debug for SharedLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: never printed.
        f.debug_struct("SharedLimits")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("fail_mode", &self.fail_mode)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl SharedLimits {
    /// The store for `config` (no connection yet); `None` when its URL does not parse, which
    /// config validation has already ruled out.
    pub fn new(config: &RedisLimitsConfig, metrics: Arc<Metrics>) -> Option<Self> {
        let client = redis::Client::open(config.url.expose()).ok()?;
        Some(SharedLimits {
            client,
            connection: OnceLock::new(),
            admit: Script::new(&format!("{WINDOW_LUA}{ADMIT_BODY}")),
            reconcile: Script::new(RECONCILE),
            charge: Script::new(&format!("{WINDOW_LUA}{CHARGE_BODY}")),
            prefix: config.prefix.clone(),
            timeout: config.timeout,
            fail_mode: config.fail_mode,
            metrics,
            skip_until_ms: AtomicU64::new(0),
            warned_ms: AtomicU64::new(0),
            failures_since_warning: AtomicU64::new(0),
        })
    }

    fn connection(&self) -> Result<ConnectionManager, String> {
        if let Some(c) = self.connection.get() {
            return Ok(c.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let made = ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            .map_err(|e| e.to_string())?;
        Ok(self.connection.get_or_init(|| made).clone())
    }

    /// Runs `call` against Redis within the timeout, unless a recent failure says not to try.
    async fn call<T, F, Fut>(&self, call: F) -> Result<T, String>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        if now_ms() < self.skip_until_ms.load(Ordering::Relaxed) {
            return Err("Redis failed less than a second ago".to_string());
        }
        let result = match self.connection() {
            Ok(conn) => match tokio::time::timeout(self.timeout, call(conn)).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) => e.to_string(),
                Err(_) => format!("no answer within {:?}", self.timeout),
            },
            Err(e) => e,
        };
        self.failed(&result);
        Err(result)
    }

    /// Counts a failure, backs off, and warns (at most every [`WARN_EVERY`]).
    fn failed(&self, why: &str) {
        self.metrics.limit_store_error();
        let now = now_ms();
        self.skip_until_ms.store(
            now.saturating_add(BACKOFF.as_millis() as u64),
            Ordering::Relaxed,
        );
        let since = self.failures_since_warning.fetch_add(1, Ordering::Relaxed) + 1;
        let last = self.warned_ms.load(Ordering::Relaxed);
        let due = last == 0 || now.saturating_sub(last) >= WARN_EVERY.as_millis() as u64;
        if due
            && self
                .warned_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.failures_since_warning.store(0, Ordering::Relaxed);
            let mode = match self.fail_mode {
                FailMode::Open => "admitting requests uncounted (failMode: open)",
                FailMode::Closed => "refusing limited requests with 503 (failMode: closed)",
            };
            log::warn!(
                "limit store (Redis) unavailable: {why}; {mode}; {since} failure(s) since the last warning"
            );
        }
    }

    /// The base key of `scope`'s budget.
    fn budget_key(&self, scope: &Scope, budget: &Budget) -> String {
        format!("{}{}:b:{}", self.prefix, scope.id, budget.window.label())
    }

    /// Admits a request of `tokens` estimated tokens under every scope, or not at all.
    pub async fn admit(&self, scopes: &[Scope], tokens: u64) -> SharedOutcome {
        let mut invocation = self.admit.prepare_invoke();
        invocation.arg(tokens);
        let signed = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let limit = |l: Option<u64>| l.map_or(-1, signed);
        for scope in scopes {
            invocation.key(format!("{}{}", self.prefix, scope.id));
            invocation
                .arg(limit(scope.limits.requests_per_minute))
                .arg(limit(scope.limits.tokens_per_minute));
            match &scope.budget {
                Some(budget) => {
                    let (secs, offset) = window_args(&budget.window);
                    invocation
                        .key(self.budget_key(scope, budget))
                        .arg(signed(budget.nano))
                        .arg(secs)
                        .arg(offset);
                }
                None => {
                    invocation.key(format!("{}{}:b", self.prefix, scope.id));
                    invocation.arg(-1).arg(0).arg(0);
                }
            }
        }
        invocation.arg(EXPIRE_SECS);
        let answer: Result<Vec<i64>, String> = self
            .call(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await;
        match answer.as_deref() {
            Ok([1, _, _, _, window, _]) => SharedOutcome::Admitted((*window).max(0) as u64),
            Ok([0, index, which, left, _, spent]) => {
                let scope = usize::try_from(*index - 1).ok().and_then(|i| scopes.get(i));
                let Some(scope) = scope else {
                    return SharedOutcome::Unavailable("unexpected answer from Redis".into());
                };
                let retry_after = Duration::from_secs((*left).max(1) as u64);
                let refusal = match which {
                    1 => Refusal::limit(
                        &scope.id,
                        "requests",
                        scope.limits.requests_per_minute.unwrap_or(0),
                        retry_after,
                    ),
                    2 => Refusal::limit(
                        &scope.id,
                        "tokens",
                        scope.limits.tokens_per_minute.unwrap_or(0),
                        retry_after,
                    ),
                    _ => Refusal::budget(scope, (*spent).max(0) as u64, retry_after),
                };
                SharedOutcome::Refused(refusal)
            }
            Ok(_) => SharedOutcome::Unavailable("unexpected answer from Redis".into()),
            Err(e) => SharedOutcome::Unavailable(e.clone()),
        }
    }

    /// Adds `nano` nano-dollars to the current window of every budgeted scope; returns each
    /// one's spend since (nothing when Redis does not answer: that cost is lost to the
    /// budget, and `sluice_limit_store_errors_total` counts the failure).
    pub async fn charge(&self, scopes: &[Scope], nano: u64) -> Vec<Spent> {
        let mut invocation = self.charge.prepare_invoke();
        invocation.arg(i64::try_from(nano).unwrap_or(i64::MAX));
        let budgeted: Vec<(&Scope, Budget)> = scopes
            .iter()
            .filter_map(|s| s.budget.map(|b| (s, b)))
            .collect();
        for (scope, budget) in &budgeted {
            let (secs, offset) = window_args(&budget.window);
            invocation
                .key(self.budget_key(scope, budget))
                .arg(secs)
                .arg(offset);
        }
        let answer: Result<Vec<i64>, String> = self
            .call(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await;
        let Ok(spends) = answer else {
            return Vec::new();
        };
        budgeted
            .iter()
            .zip(spends)
            .map(|((scope, budget), spent)| Spent {
                scope: scope.id.clone(),
                nano: spent.max(0) as u64,
                budget: *budget,
            })
            .collect()
    }

    /// Adds `delta` (real usage − estimate) to the tokens counters of `scopes` in `window`.
    pub async fn reconcile(&self, scopes: &[Scope], window: u64, delta: i64) {
        let mut invocation = self.reconcile.prepare_invoke();
        let mut any = false;
        for scope in scopes
            .iter()
            .filter(|s| s.limits.tokens_per_minute.is_some())
        {
            invocation.key(format!("{}{}:{window}:t", self.prefix, scope.id));
            any = true;
        }
        if !any || delta == 0 {
            return;
        }
        invocation.arg(delta);
        let _: Result<i64, String> = self
            .call(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await;
    }
}

/// A budget window as the Lua's `window_of` takes it: seconds (0 for calendar months) and
/// offset.
fn window_args(window: &BudgetWindow) -> (u64, u64) {
    match *window {
        BudgetWindow::Every { secs, offset } => (secs, offset),
        BudgetWindow::Month => (0, 0),
    }
}
