//! Config loading: YAML text → tree → `$VAR` expansion → raw types (`raw`) → validated
//! runtime types (`runtime`), where every cross-reference is resolved and every CEL
//! expression compiled. Every error names its YAML path; no error carries a secret.

mod backends;
mod balancing;
mod budgets;
mod cloud_auth;
mod env;
mod kube;
mod listen;
mod observability;
mod pricing;
pub mod raw;
pub mod runtime;
mod secret;
pub mod store;
mod structure;
#[cfg(test)]
mod tests;
mod upstream;

use std::fmt;

pub use kube::translate_file;
pub use listen::{parse_listen, set_listen_overrides, ListenOverride};
pub use runtime::{
    Backend, Config, Listener, LogFormat, PathMatch, Route, TracingConfig, Upstream,
};
pub use secret::Secret;

/// The embedded demo config, the same text as `conf/demo.yaml`.
pub const DEMO_CONFIG: &str = include_str!("../../../conf/demo.yaml");

/// One problem in a config, at a YAML path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// All the problems found in one config.
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Loads and validates a config from YAML text: a sluice config, or Kubernetes objects
/// (the seed's Gateway, HTTPRoute, Backend, ...; see [`kube`]).
pub fn load_str(text: &str) -> Result<Config, ConfigErrors> {
    if let Some(objects) = kube::detect(text) {
        return kube::load(objects);
    }
    // YAML 1.2 booleans, as serde_yaml read them: only `true` and `false`, so `level: off`
    // is the string "off", not YAML 1.1's `false`.
    let options = serde_saphyr::options! { strict_booleans: true };
    let tree: serde_json::Value = serde_saphyr::from_str_with_options(text, options)
        .map_err(|e| ConfigErrors(vec![ConfigError::new("", yaml_error_text(&e.to_string()))]))?;
    load_tree(tree)
}

/// Loads and validates a config tree (YAML read, `$VAR`s not yet expanded).
fn load_tree(mut tree: serde_json::Value) -> Result<Config, ConfigErrors> {
    if tree.is_null() {
        tree = serde_json::Value::Object(Default::default());
    }
    // Unset variables are reported together with whatever else is wrong.
    let mut errors = Vec::new();
    env::expand_tree(&mut tree, &mut String::new(), &mut errors);
    listen::apply_set(&mut tree, &mut errors);
    let mut redacted = tree.clone();
    redact(&mut redacted, false);
    let Some(raw) = structure::read(tree, &mut errors) else {
        return Err(ConfigErrors(errors));
    };
    match Config::try_from(raw) {
        Ok(mut config) if errors.is_empty() => {
            config.redacted = redacted;
            Ok(config)
        }
        Ok(_) => Err(ConfigErrors(errors)),
        Err(more) => {
            for e in more {
                if !errors.iter().any(|known| known.path == e.path) {
                    errors.push(e);
                }
            }
            Err(ConfigErrors(errors))
        }
    }
}

/// Loads and validates the config file at `path`.
pub fn load_file(path: &str) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError::new(
            "",
            format!("cannot read config file {path}: {e}"),
        )])
    })?;
    load_str(&text)
}

/// Keys whose values are credentials (and, under `headers`, every value).
const SECRET_KEYS: &[&str] = &[
    "apiKey",
    "apiKeys",
    "key",
    "serviceAccount",
    "entraToken",
    "adminToken",
    "clientSecret",
];

/// Whether everything under the config key `key` is a secret (`redact`, `is_secret_path`).
fn holds_secrets(key: &str) -> bool {
    SECRET_KEYS.contains(&key) || key == "headers"
}

/// The config keys (`config.limits.redis`, `config.store`) whose `url` may carry credentials.
const URL_HOLDERS: &[&str] = &["redis", "store"];

/// Whether the config string at `path` (`backends[0].apiKey`, `config.store.url`) is a
/// secret, as [`redact`] decides: never to be quoted in an error.
pub(super) fn is_secret_path(path: &str) -> bool {
    let segments: Vec<&str> = path
        .split('.')
        .map(|s| s.split('[').next().unwrap_or(s))
        .collect();
    segments.iter().any(|s| holds_secrets(s))
        || (segments.last() == Some(&"url") && segments.iter().any(|s| URL_HOLDERS.contains(s)))
}

/// `msg` with every `` `quoted` `` value replaced by `<redacted>`.
fn unquote_values(msg: &str) -> String {
    msg.split('`')
        .enumerate()
        .map(|(i, part)| if i % 2 == 1 { "<redacted>" } else { part })
        .collect()
}

/// Replaces every credential in a config tree by `<redacted>`.
fn redact(value: &mut serde_json::Value, secret: bool) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if URL_HOLDERS.contains(&k.as_str()) {
                    redact_url_of(v);
                    continue;
                }
                let inner = secret || holds_secrets(k);
                redact(v, inner);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| redact(v, secret)),
        other if secret => *other = serde_json::Value::from("<redacted>"),
        _ => {}
    }
}

/// `config.limits.redis`, `config.store`: the URL's credentials
/// (`redis://user:password@host`, `postgres://user:password@host/db`) become `<redacted>`,
/// the rest stays readable; a `{env}` / `{file}` source is shown as written.
fn redact_url_of(value: &mut serde_json::Value) {
    let Some(url) = value.get_mut("url") else {
        return;
    };
    if let Some(text) = url.as_str() {
        *url = serde_json::Value::from(redact_url_credentials(text));
    }
}

/// `redis://:pw@host:6379/0` → `redis://<redacted>@host:6379/0`; a URL without credentials
/// is returned as is.
fn redact_url_credentials(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return "<redacted>".to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}<redacted>{}", &url[..scheme_end], &rest[at..]),
        None => url.to_string(),
    }
}

/// serde-saphyr's errors carry a source snippet; one line is enough for `sluice check`.
fn yaml_error_text(text: &str) -> String {
    let first = text.lines().next().unwrap_or(text).trim();
    format!("invalid YAML: {first}")
}
