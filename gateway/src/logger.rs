//! The gateway's own operational messages (start-up, export failures, reloads) through the
//! `log` crate, to stdout beside the request lines: `<level> <message>`. `SLUICE_LOG`
//! (error|warn|info|debug) sets the level, default info for sluice and warn for Pingora.

use std::io::Write;

use log::{Level, LevelFilter, Log, Metadata, Record};

struct StdoutLogger;

impl Log for StdoutLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        let level = log::max_level();
        let ours = metadata.target().starts_with("sluice");
        let limit = if ours || level >= LevelFilter::Debug {
            level
        } else {
            LevelFilter::Warn.min(level)
        };
        metadata.level() <= limit
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        };
        let line = format!("{level} {}\n", record.args());
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {
        let _ = std::io::stdout().flush();
    }
}

/// The level `SLUICE_LOG` asks for (info when unset).
pub fn env_level() -> LevelFilter {
    match std::env::var("SLUICE_LOG").as_deref() {
        Ok("error") => LevelFilter::Error,
        Ok("warn") => LevelFilter::Warn,
        Ok("debug") => LevelFilter::Debug,
        Ok("trace") => LevelFilter::Trace,
        Ok("off") => LevelFilter::Off,
        _ => LevelFilter::Info,
    }
}

/// Installs the logger once; later calls do nothing. `config.logging.level`, when a config
/// sets it, replaces the level (see `state::Generation::new`).
pub fn init() {
    if log::set_boxed_logger(Box::new(StdoutLogger)).is_ok() {
        log::set_max_level(env_level());
    }
}
