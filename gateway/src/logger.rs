//! The gateway's own operational messages (start-up, export failures, reloads) through the
//! `log` crate, to stdout beside the request lines: `<level> <message>`. `SLUICE_LOG`
//! (error|warn|info|debug) sets the level, default info for sluice and warn for Pingora.

use std::io::Write;

use log::{Level, LevelFilter, Log, Metadata, Record};

struct StdoutLogger {
    level: LevelFilter,
}

impl Log for StdoutLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        let ours = metadata.target().starts_with("sluice");
        let limit = if ours || self.level >= LevelFilter::Debug {
            self.level
        } else {
            LevelFilter::Warn.min(self.level)
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

/// Installs the logger once; later calls do nothing.
pub fn init() {
    let level = match std::env::var("SLUICE_LOG").as_deref() {
        Ok("error") => LevelFilter::Error,
        Ok("warn") => LevelFilter::Warn,
        Ok("debug") => LevelFilter::Debug,
        Ok("trace") => LevelFilter::Trace,
        Ok("off") => LevelFilter::Off,
        _ => LevelFilter::Info,
    };
    if log::set_boxed_logger(Box::new(StdoutLogger { level })).is_ok() {
        log::set_max_level(level);
    }
}
