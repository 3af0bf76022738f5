//! `config.store` (where keys made at runtime and spend are kept) and `config.adminToken`
//! (the bearer token of the admin API and page).

use std::time::Duration;

use super::raw::RawStore;
use super::runtime::parse_duration;
use super::{ConfigError, Secret};

pub const DEFAULT_REFRESH: Duration = Duration::from_secs(1);
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(5);

/// `config.store`.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// `sqlite:///path` or `postgres://...`; a secret (it may hold a password).
    pub url: Secret,
    /// How often each replica checks the store for changed keys.
    pub refresh: Duration,
    /// How often spend is written.
    pub flush_interval: Duration,
}

pub(super) fn store_config(raw: &RawStore, errors: &mut Vec<ConfigError>) -> Option<StoreConfig> {
    let base = "config.store";
    let url = super::backends::resolve_secret(&format!("{base}.url"), &raw.url, errors)?;
    if let Err(e) = crate::store::Kind::of(url.expose()) {
        errors.push(ConfigError::new(format!("{base}.url"), e));
        return None;
    }
    let refresh = parse_duration(
        &format!("{base}.refresh"),
        raw.refresh.as_deref(),
        DEFAULT_REFRESH,
        errors,
    );
    let flush_interval = parse_duration(
        &format!("{base}.flushInterval"),
        raw.flush_interval.as_deref(),
        DEFAULT_FLUSH_INTERVAL,
        errors,
    );
    for (name, d) in [("refresh", refresh), ("flushInterval", flush_interval)] {
        if d < Duration::from_millis(100) {
            errors.push(ConfigError::new(
                format!("{base}.{name}"),
                "must be at least 100ms",
            ));
        }
    }
    Some(StoreConfig {
        url,
        refresh,
        flush_interval,
    })
}

/// `config.adminToken`: at least 16 characters, so it cannot be guessed.
pub(super) fn admin_token(
    raw: Option<&super::raw::RawSecret>,
    errors: &mut Vec<ConfigError>,
) -> Option<Secret> {
    let token = super::backends::resolve_secret("config.adminToken", raw?, errors)?;
    if token.expose().len() < 16 {
        errors.push(ConfigError::new(
            "config.adminToken",
            "too short: use at least 16 characters (e.g. openssl rand -hex 24)",
        ));
        return None;
    }
    Some(token)
}
