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

#[cfg(test)]
mod tests {
    use crate::config::load_str;

    const CONFIG: &str = r#"
config:
  adminToken: token-0123456789abcdef
  store: {url: "postgres://sluice:pg-secret@db:5432/sluice", refresh: 2s}
listeners:
  - bind: 0.0.0.0:8080
    routes: [{match: {pathPrefix: /}, backend: mock}]
backends: [{name: mock, provider: mock}]
"#;

    #[test]
    fn the_store_and_admin_token_load_and_never_show() {
        let c = load_str(CONFIG).unwrap();
        let store = c.store.as_ref().unwrap();
        assert_eq!(store.refresh, std::time::Duration::from_secs(2));
        assert_eq!(store.flush_interval, super::DEFAULT_FLUSH_INTERVAL);
        assert_eq!(
            c.admin_token.as_ref().unwrap().expose(),
            "token-0123456789abcdef"
        );
        let shown = format!("{c:?}{}", c.redacted);
        assert!(!shown.contains("pg-secret") && !shown.contains("token-0123456789abcdef"));
        assert_eq!(
            c.redacted["config"]["store"]["url"],
            "postgres://<redacted>@db:5432/sluice"
        );
    }

    #[test]
    fn store_mistakes_name_their_path() {
        let bad = CONFIG
            .replace("postgres://sluice:pg-secret@db:5432/sluice", "mysql://db/x")
            .replace("token-0123456789abcdef", "tok-x9")
            .replace("refresh: 2s", "refresh: 10ms");
        let errors: Vec<String> = match load_str(&bad) {
            Ok(_) => panic!("accepted"),
            Err(e) => e.0.iter().map(ToString::to_string).collect(),
        };
        let has = |path: &str| errors.iter().any(|e| e.starts_with(path));
        assert!(has("config.store.url"), "{errors:?}");
        assert!(has("config.adminToken"), "{errors:?}");
        assert!(!errors.iter().any(|e| e.contains("tok-x9")), "{errors:?}");
    }
}
