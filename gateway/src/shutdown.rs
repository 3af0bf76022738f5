//! Signals. SIGTERM and SIGINT: stop accepting (Pingora's graceful terminate), then exit as
//! soon as the last in-flight request (streams included) is done and telemetry is flushed;
//! Pingora's grace period, set to `config.gracePeriod`, is only the upper bound (left alone,
//! Pingora sleeps the whole period). SIGHUP: reload the config file; an invalid new config
//! is reported and the old one keeps serving. SIGQUIT: zero-downtime binary upgrade (Pingora's):
//! the listening sockets go to the new process (`sluice run --upgrade`, waiting on the upgrade
//! socket), this one keeps accepting for Pingora's 5 s hand-over, then drains like SIGTERM.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pingora::server::{ShutdownSignal, ShutdownSignalWatch};
use tokio::signal::unix::{signal, SignalKind};

use crate::state::{Generation, ServedListener, State};

pub struct SignalWatch {
    pub state: Arc<State>,
}

#[async_trait]
impl ShutdownSignalWatch for SignalWatch {
    async fn recv(&self) -> ShutdownSignal {
        let (Ok(mut term), Ok(mut int), Ok(mut hup), Ok(mut quit)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
            signal(SignalKind::quit()),
        ) else {
            log::error!("cannot install signal handlers; shutting down");
            return ShutdownSignal::FastShutdown;
        };
        let upgrade = loop {
            tokio::select! {
                _ = term.recv() => break false,
                _ = int.recv() => break false,
                _ = quit.recv() => break true,
                _ = hup.recv() => reload(&self.state),
            }
        };
        self.state.draining.store(true, Ordering::SeqCst);
        // On upgrade, Pingora hands the sockets over and keeps accepting for its 5 s close
        // timeout (the new process accepts too); only then do the listeners close.
        let (hand_over, shutdown) = if upgrade {
            log::info!(
                "SIGQUIT: handing the listening sockets to the new process over {}",
                self.state.generation().config.upgrade_socket
            );
            (UPGRADE_HAND_OVER, ShutdownSignal::GracefulUpgrade)
        } else {
            // After an upgrade the new process is the service and has said READY: only a
            // real stop is announced.
            let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
            (Duration::ZERO, ShutdownSignal::GracefulTerminate)
        };
        let grace = self.state.generation().config.grace_period;
        log::info!(
            "shutting down: draining {} in-flight request(s), at most {}s",
            self.state.inflight.load(Ordering::SeqCst),
            grace.as_secs()
        );
        let state = self.state.clone();
        let spawned = std::thread::Builder::new()
            .name("sluice-drain".to_string())
            .spawn(move || drain_then_exit(&state, hand_over, grace));
        if spawned.is_err() {
            log::error!("cannot start the drain thread; Pingora's grace period applies");
        }
        shutdown
    }
}

/// Pingora's close timeout after handing the sockets over (5 s), and a margin.
const UPGRADE_HAND_OVER: Duration = Duration::from_millis(5500);

/// Waits `hand_over`, then for in-flight requests to finish (or the grace period to pass),
/// writes the log lines still queued and flushes spans, and exits the process with status 0.
fn drain_then_exit(state: &State, hand_over: Duration, grace: Duration) {
    std::thread::sleep(hand_over);
    let deadline = Instant::now() + grace;
    // Let Pingora's shutdown broadcast close the listeners first.
    std::thread::sleep(Duration::from_millis(50));
    let mut idle_checks = 0;
    while Instant::now() < deadline {
        if state.inflight.load(Ordering::SeqCst) == 0 {
            idle_checks += 1;
            // Twice in a row, 20 ms apart: a request accepted just before the listeners
            // closed has had time to register.
            if idle_checks >= 2 {
                break;
            }
        } else {
            idle_checks = 0;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let left = state.inflight.load(Ordering::SeqCst);
    if left > 0 {
        log::warn!("grace period over with {left} request(s) still in flight");
    }
    // Log lines and spans of the finished requests first, then the span export.
    if !state.records.flush_blocking(Duration::from_secs(5)) {
        log::warn!("telemetry thread did not finish in 5s");
    }
    if let Some(flush) = &state.flush {
        if !flush.flush_blocking(Duration::from_secs(5)) {
            log::warn!("telemetry flush did not finish in 5s");
        }
    }
    // The spend of the finished requests (their log lines, just written, added it).
    if let Some(store) = &state.store {
        store.flush_blocking(Duration::from_secs(5));
    }
    log::info!("shutdown complete");
    std::process::exit(0);
}

/// Loads the config file again and swaps it in; on error the old config keeps serving.
pub fn reload(state: &State) {
    let Some(path) = &state.config_path else {
        log::info!("SIGHUP: serving the embedded demo config; nothing to reload");
        return;
    };
    match crate::config::load_file(path) {
        Ok(config) => {
            let old = state.generation();
            warn_of_listener_changes(&state.served, &config.listeners);
            if config.admin_addr != old.config.admin_addr {
                log::warn!("config reload: config.adminAddr changed; it takes effect at restart");
            }
            if config.tracing.is_some() && state.span_queue.is_none() {
                log::warn!("config reload: tracing was added; it takes effect at restart");
            }
            let generation = Generation::new(
                config,
                &state.served,
                state.span_queue.clone(),
                state.stats.clone(),
                state.metrics.clone(),
            );
            state.current.store(Arc::new(generation));
            log::info!("config reloaded from {path}");
        }
        Err(errors) => {
            log::error!(
                "config reload from {path} failed; the running config keeps serving: {}",
                errors.to_string().replace('\n', "; ")
            );
        }
    }
}

/// Sockets are opened at start only: a reload's new, moved or removed listeners wait for a
/// restart, and each socket goes on serving the listener of its address, else of its name
/// ([`crate::state::serving`]).
fn warn_of_listener_changes(served: &[ServedListener], listeners: &[crate::config::Listener]) {
    let serves = crate::state::serving(served, listeners);
    for (s, i) in served.iter().zip(&serves) {
        match i.and_then(|i| listeners.get(i)) {
            None => log::warn!(
                "config reload: listener {} on {} is no longer in the config; it answers 404 until restart",
                s.name,
                s.bind
            ),
            Some(l) if l.bind != s.bind => log::warn!(
                "config reload: listener {} moves to {} at restart; until then it is served on {}",
                l.name,
                l.bind,
                s.bind
            ),
            Some(_) => {}
        }
    }
    for (i, l) in listeners.iter().enumerate() {
        if !serves.contains(&Some(i)) {
            log::warn!(
                "config reload: listener {} on {} takes effect at restart",
                l.name,
                l.bind
            );
        }
    }
}
