//! Backends with several targets (endpoints and/or API keys): which target serves a call, and
//! which are skipped. Round robin and weighted selection, and the active health state, are
//! Pingora's `LoadBalancer`; least outstanding requests and EWMA latency are here, on an
//! in-flight counter and a latency average per target. Passive ejection: a target failing
//! `consecutiveFailures` times in a row is skipped for `ejectFor`, then gets one trial call
//! (half-open): a success restores it, a failure ejects it again.
//!
//! Each config generation owns its balancers; a reload builds new ones (fresh state).

use std::collections::BTreeSet;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pingora::lb::selection::RoundRobin;
use pingora::lb::{Backend as Member, Backends, LoadBalancer};
use pingora::protocols::l4::socket::SocketAddr;
use sluice_telemetry::Metrics;

use crate::config::{Secret, Upstream};

/// How a target is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Each target in turn.
    RoundRobin,
    /// In turn, in proportion to the targets' weights.
    Weighted,
    /// The target with the fewest calls in flight.
    LeastRequests,
    /// The lowest average time to the response header, times calls in flight + 1.
    Ewma,
}

impl Policy {
    pub const NAMES: &'static [&'static str] = &["roundRobin", "weighted", "leastRequests", "ewma"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "roundRobin" => Some(Policy::RoundRobin),
            "weighted" => Some(Policy::Weighted),
            "leastRequests" => Some(Policy::LeastRequests),
            "ewma" => Some(Policy::Ewma),
            _ => None,
        }
    }
}

/// One place a backend's calls can go: a URL and the key used there.
#[derive(Debug)]
pub struct Target {
    /// `host:port`, with `#<n>` (1-based position) when several targets share it; the log
    /// line's `endpoint` and the metrics' label. Never the key.
    pub name: String,
    pub upstream: Upstream,
    /// Replaces the backend's key when set.
    pub api_key: Option<Secret>,
    /// The target's own AWS region (bedrock: signs with it) or Google Cloud location
    /// (vertex: the model's path names it), replacing the backend's.
    pub site: Option<String>,
    pub weight: u32,
}

/// Passive ejection settings (`outlierDetection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outlier {
    pub consecutive_failures: u32,
    pub eject_for: Duration,
}

impl Default for Outlier {
    fn default() -> Self {
        Outlier {
            consecutive_failures: 5,
            eject_for: Duration::from_secs(30),
        }
    }
}

/// Active health check settings (`healthCheck`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckSettings {
    pub path: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub expect_status: u16,
}

/// Most targets one backend may have (the per-request `Tried` set is a 64-bit mask).
pub const MAX_TARGETS: usize = 64;

/// Weight of the newest sample in the latency average.
const EWMA_WEIGHT: f64 = 0.3;
/// A failed call counts in the latency average as at least this long.
const FAILURE_LATENCY_US: f64 = 1_000_000.0;

/// The targets of one call already tried (so a failover within the backend goes elsewhere).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tried(u64);

impl Tried {
    fn has(self, i: usize) -> bool {
        self.0 & (1u64 << i) != 0
    }

    fn insert(&mut self, i: usize) {
        self.0 |= 1u64 << i;
    }
}

/// Where a target stands with passive ejection at a given moment.
#[derive(Debug, PartialEq, Eq)]
enum Standing {
    /// Takes traffic.
    In,
    /// Ejected, cooling down.
    Out,
    /// The cool-down is over; the next call is a trial (unless one is under way).
    Trial,
}

#[derive(Debug, Default)]
struct TargetState {
    in_flight: AtomicU32,
    /// Failures in a row since the last success.
    failures: AtomicU32,
    /// Until when (ms since the balancer's epoch) the target is skipped; 0 when not ejected.
    ejected_until: AtomicU64,
    /// A half-open trial call is under way.
    trial: AtomicBool,
    /// Average time to the response header, µs, as `f64` bits; 0 before the first call.
    ewma_us: AtomicU64,
}

impl TargetState {
    fn standing(&self, now: u64) -> Standing {
        match self.ejected_until.load(Ordering::Acquire) {
            0 => Standing::In,
            until if now < until => Standing::Out,
            _ => Standing::Trial,
        }
    }

    /// Whether a call may go here now; claims the trial of a target whose cool-down is over.
    fn admit(&self, now: u64) -> bool {
        match self.standing(now) {
            Standing::In => true,
            Standing::Out => false,
            Standing::Trial => self
                .trial
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_ok(),
        }
    }

    /// Whether a call could go here now, without claiming anything.
    fn open(&self, now: u64) -> bool {
        match self.standing(now) {
            Standing::In => true,
            Standing::Out => false,
            Standing::Trial => !self.trial.load(Ordering::Acquire),
        }
    }

    fn ewma(&self) -> f64 {
        f64::from_bits(self.ewma_us.load(Ordering::Relaxed))
    }

    /// Folds one sample into the average (a racing update may be lost; it is an average).
    fn observe_latency(&self, us: f64) {
        let old = self.ewma();
        let new = if old == 0.0 {
            us
        } else {
            EWMA_WEIGHT * us + (1.0 - EWMA_WEIGHT) * old
        };
        self.ewma_us
            .store(new.max(1.0).to_bits(), Ordering::Relaxed);
    }
}

/// The targets of one backend, their selection and their health.
pub struct Balancer {
    backend: String,
    targets: Vec<Target>,
    states: Box<[TargetState]>,
    /// Pingora's view of the targets, by index (the address only identifies the target).
    members: Box<[Member]>,
    lb: LoadBalancer<RoundRobin>,
    policy: Policy,
    outlier: Outlier,
    health_check: Option<HealthCheckSettings>,
    /// The probes' metrics, given when their loop starts.
    probe_metrics: Option<crate::health::MetricsSlot>,
    epoch: Instant,
    /// Where scans start, so ties go round.
    rotation: AtomicUsize,
}

impl fmt::Debug for Balancer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Balancer")
            .field("policy", &self.policy)
            .field("targets", &self.targets)
            .field("outlier", &self.outlier)
            .field("health_check", &self.health_check)
            .finish()
    }
}

/// The index of a target, carried in its Pingora `Backend`'s extensions.
#[derive(Debug, Clone, Copy)]
struct TargetIndex(usize);

pub(crate) fn index_of(member: &Member) -> Option<usize> {
    member.ext.get::<TargetIndex>().map(|t| t.0)
}

impl Balancer {
    /// Builds the balancer of `backend`; with a health check, `probe` makes it from the
    /// targets (see [`crate::health`]).
    pub fn new(
        backend: &str,
        targets: Vec<Target>,
        policy: Policy,
        outlier: Outlier,
        health_check: Option<(HealthCheckSettings, crate::health::TargetProbes)>,
    ) -> Self {
        // Pingora identifies a backend by address and weight; targets may share a URL (several
        // keys) and are resolved per call, so each gets a placeholder address of its own.
        let members: Box<[Member]> = targets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let port = u16::try_from(i + 1).unwrap_or(u16::MAX);
                let mut ext = pingora::lb::Extensions::new();
                ext.insert(TargetIndex(i));
                Member {
                    addr: SocketAddr::Inet(std::net::SocketAddr::from(([0, 0, 0, 0], port))),
                    weight: match policy {
                        Policy::Weighted => t.weight.max(1) as usize,
                        _ => 1,
                    },
                    ext,
                }
            })
            .collect();
        let discovery =
            pingora::lb::discovery::Static::new(members.iter().cloned().collect::<BTreeSet<_>>());
        let mut view = Backends::new(discovery);
        let mut probe_metrics = None;
        let settings = health_check.map(|(settings, probes)| {
            probe_metrics = Some(probes.metrics_slot());
            view.set_health_check(Box::new(probes));
            settings
        });
        let mut lb = LoadBalancer::<RoundRobin>::from_backends(view);
        lb.health_check_frequency = settings.as_ref().map(|s| s.interval);
        lb.parallel_health_check = true;
        // Static discovery answers at once: publish the members now, not on the first tick.
        {
            let update = std::pin::pin!(lb.update());
            let _ = std::future::Future::poll(
                update,
                &mut std::task::Context::from_waker(std::task::Waker::noop()),
            );
        }
        Balancer {
            backend: backend.to_string(),
            states: targets.iter().map(|_| TargetState::default()).collect(),
            targets,
            members,
            lb,
            policy,
            outlier,
            health_check: settings,
            probe_metrics,
            epoch: Instant::now(),
            rotation: AtomicUsize::new(0),
        }
    }

    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    pub fn outlier(&self) -> Outlier {
        self.outlier
    }

    /// The active health check, when configured.
    pub fn health_check(&self) -> Option<&HealthCheckSettings> {
        self.health_check.as_ref()
    }

    /// Gives the health probes the metrics they count credential failures in (once; the
    /// process's metrics are the same for every generation).
    pub fn count_probe_errors_in(&self, metrics: &Arc<Metrics>) {
        if let Some(slot) = &self.probe_metrics {
            let _ = slot.set(metrics.clone());
        }
    }

    /// Pingora's load balancer: its `run` is the active health-check loop.
    pub fn load_balancer(&self) -> &LoadBalancer<RoundRobin> {
        &self.lb
    }

    /// Milliseconds since the epoch, never 0 (0 means "not ejected").
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .saturating_add(1)
    }

    fn ready(&self, i: usize) -> bool {
        self.lb.backends().ready(&self.members[i])
    }

    /// Picks a target for a call, skipping those in `tried`, unhealthy or ejected (and adds it
    /// to `tried`); `None` when no target can take it.
    pub fn select(&self, tried: &mut Tried) -> Option<Lease<'_>> {
        self.select_at(self.now(), tried)
    }

    fn select_at(&self, now: u64, tried: &mut Tried) -> Option<Lease<'_>> {
        let chosen = match self.policy {
            Policy::RoundRobin | Policy::Weighted => {
                let t = *tried;
                let max_iterations = self.targets.len() * 2 + 1;
                self.lb
                    .select_with(b"", max_iterations, |member, healthy| {
                        healthy
                            && index_of(member)
                                .is_some_and(|i| !t.has(i) && self.states[i].admit(now))
                    })
                    .and_then(|m| index_of(&m))
                    // Concurrent calls move the shared round-robin counter, so Pingora's walk
                    // may skip a target; a last scan finds it.
                    .or_else(|| self.lowest(now, t, |_| 0.0))
            }
            Policy::LeastRequests => self.lowest(now, *tried, |s| {
                f64::from(s.in_flight.load(Ordering::Relaxed))
            }),
            Policy::Ewma => self.lowest(now, *tried, |s| {
                s.ewma() * f64::from(s.in_flight.load(Ordering::Relaxed).saturating_add(1))
            }),
        }?;
        tried.insert(chosen);
        let state = &self.states[chosen];
        state.in_flight.fetch_add(1, Ordering::Relaxed);
        Some(Lease {
            balancer: self,
            index: chosen,
            started: Instant::now(),
            reported: false,
        })
    }

    /// The admissible target with the lowest `score`, ties going round; a target whose
    /// cool-down is over is tried first (its trial call).
    fn lowest(&self, now: u64, tried: Tried, score: impl Fn(&TargetState) -> f64) -> Option<usize> {
        let n = self.targets.len();
        let start = self.rotation.fetch_add(1, Ordering::Relaxed);
        let mut best: Option<(usize, f64)> = None;
        for k in 0..n {
            let i = (start + k) % n;
            if tried.has(i) || !self.ready(i) {
                continue;
            }
            let state = &self.states[i];
            match state.standing(now) {
                Standing::Out => {}
                Standing::Trial => {
                    if state.admit(now) {
                        return Some(i);
                    }
                }
                Standing::In => {
                    let s = score(state);
                    if best.is_none_or(|(_, b)| s < b) {
                        best = Some((i, s));
                    }
                }
            }
        }
        best.map(|(i, _)| i)
    }

    /// Whether a target outside `tried` could take a call now.
    pub fn has_spare(&self, tried: Tried) -> bool {
        let now = self.now();
        (0..self.targets.len()).any(|i| !tried.has(i) && self.ready(i) && self.states[i].open(now))
    }

    /// Why no target could be chosen.
    pub fn exhausted(&self, tried: Tried) -> String {
        if (0..self.targets.len()).all(|i| tried.has(i)) {
            format!("every endpoint of {} failed", self.backend)
        } else {
            format!(
                "all endpoints of {} ejected or failing their health check",
                self.backend
            )
        }
    }

    /// Each target's name and whether it takes traffic (health check passing, not ejected).
    pub fn health(&self) -> impl Iterator<Item = (&str, bool)> + '_ {
        let now = self.now();
        self.targets.iter().enumerate().map(move |(i, t)| {
            let up = self.ready(i) && self.states[i].standing(now) != Standing::Out;
            (t.name.as_str(), up)
        })
    }

    pub fn backend(&self) -> &str {
        &self.backend
    }

    fn succeeded(&self, i: usize, latency: Duration) {
        let state = &self.states[i];
        state.failures.store(0, Ordering::Relaxed);
        if state.ejected_until.swap(0, Ordering::AcqRel) != 0 {
            log::info!(
                "endpoint {} of backend {} answers again; restored",
                self.targets[i].name,
                self.backend
            );
        }
        state.trial.store(false, Ordering::Release);
        state.observe_latency(latency.as_secs_f64() * 1e6);
    }

    /// Counts a failure; true when it ejects the target.
    fn failed_at(&self, i: usize, now: u64, latency: Duration) -> bool {
        let state = &self.states[i];
        state.observe_latency(
            (latency.as_secs_f64() * 1e6)
                .max(state.ewma() * 2.0)
                .max(FAILURE_LATENCY_US),
        );
        let until = now
            .saturating_add(u64::try_from(self.outlier.eject_for.as_millis()).unwrap_or(u64::MAX));
        let was_trial = state.ejected_until.load(Ordering::Acquire) != 0;
        let eject = was_trial
            || state
                .failures
                .fetch_add(1, Ordering::AcqRel)
                .saturating_add(1)
                >= self.outlier.consecutive_failures;
        if eject {
            state.failures.store(0, Ordering::Relaxed);
            state.ejected_until.store(until, Ordering::Release);
        }
        state.trial.store(false, Ordering::Release);
        eject
    }
}

/// Where one call of a backend goes: a leased target of its balancer, or its own `baseUrl`.
pub struct Pick<'a> {
    pub lease: Option<Lease<'a>>,
    pub upstream: &'a Upstream,
    pub api_key: Option<&'a Secret>,
    /// The target's region or location when it has its own (see [`Target::site`]).
    pub site: Option<&'a str>,
    /// The log line's `endpoint`: the target's name, or the `baseUrl`'s `host:port`.
    pub endpoint: &'a str,
    /// Whether another target of the backend could take over if this one fails.
    pub spare: bool,
}

/// Picks where a call of `backend` (whose `baseUrl` is `upstream`) goes, outside `tried`;
/// the reason when every target is ejected, failing its health check or tried already.
pub fn pick<'a>(
    backend: &'a crate::config::Backend,
    upstream: &'a Upstream,
    tried: &mut Tried,
) -> Result<Pick<'a>, String> {
    let Some(balancer) = &backend.balancer else {
        return Ok(Pick {
            lease: None,
            upstream,
            api_key: backend.api_key.as_ref(),
            site: None,
            endpoint: upstream.endpoint(),
            spare: false,
        });
    };
    let lease = balancer
        .select(tried)
        .ok_or_else(|| balancer.exhausted(*tried))?;
    let target = lease.target();
    Ok(Pick {
        upstream: &target.upstream,
        // The targets were built with the backend's keys already.
        api_key: target.api_key.as_ref(),
        site: target.site.as_deref(),
        endpoint: &target.name,
        spare: balancer.has_spare(*tried),
        lease: Some(lease),
    })
}

/// One call's hold on a target: counted in flight until dropped. Report how the call went
/// with [`Lease::answered`] or [`Lease::failed`].
pub struct Lease<'a> {
    balancer: &'a Balancer,
    index: usize,
    started: Instant,
    reported: bool,
}

impl<'a> Lease<'a> {
    pub fn target(&self) -> &'a Target {
        &self.balancer.targets[self.index]
    }

    /// The target answered with `status`: a 5xx or a 429 (the target is busy: another key or
    /// endpoint may not be) counts as a failure, anything else as a success, its time to the
    /// response header going into the latency average.
    pub fn answered(&mut self, status: u16, metrics: &Metrics) {
        if status >= 500 || status == 429 {
            self.failed(metrics);
        } else {
            self.reported = true;
            self.balancer.succeeded(self.index, self.started.elapsed());
        }
    }

    /// The call failed before an answer (connect error, timeout, broken exchange).
    pub fn failed(&mut self, metrics: &Metrics) {
        self.reported = true;
        let b = self.balancer;
        if b.failed_at(self.index, b.now(), self.started.elapsed()) {
            let name = &b.targets[self.index].name;
            log::warn!(
                "endpoint {name} of backend {} ejected for {}",
                b.backend,
                humantime::format_duration(b.outlier.eject_for)
            );
            metrics.endpoint_ejected(&b.backend, name);
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let state = &self.balancer.states[self.index];
        state.in_flight.fetch_sub(1, Ordering::Relaxed);
        if !self.reported {
            // A trial that ended without a verdict (the client left): let another call try.
            state.trial.store(false, Ordering::Release);
        }
    }
}

/// Sets `sluice_endpoint_healthy` from every balanced backend of `config`.
pub fn publish_health(config: &crate::config::Config, metrics: &Metrics) {
    let balancers: Vec<&Balancer> = config
        .backends
        .iter()
        .filter_map(|b| b.balancer.as_ref())
        .collect();
    metrics.set_endpoint_health(
        balancers
            .iter()
            .flat_map(|b| b.health().map(move |(name, up)| (b.backend(), name, up))),
    );
}

#[cfg(test)]
mod tests;
