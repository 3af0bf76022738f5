//! `sluice run --listen [LISTENER=]ADDR`: the address a listener binds, over what the config
//! (or a Gateway listener's port) says. Set once at start-up and applied by every load of the
//! config file, reloads included, so a reload never moves a listener back to the file's
//! address.

use std::sync::OnceLock;

use serde_json::Value;

use super::ConfigError;

/// One `--listen` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenOverride {
    /// The listener's name; `None`: the config's only listener.
    pub listener: Option<String>,
    pub addr: String,
}

/// Parses `ADDR` or `LISTENER=ADDR` (for clap).
pub fn parse_listen(text: &str) -> Result<ListenOverride, String> {
    let (listener, addr) = match text.split_once('=') {
        Some((name, addr)) if !name.is_empty() => (Some(name.to_string()), addr),
        Some(_) => return Err("expected ADDR or LISTENER=ADDR".to_string()),
        None => (None, text),
    };
    if addr.parse::<std::net::SocketAddr>().is_err() {
        return Err(format!(
            "\"{addr}\" is not an address like 127.0.0.1:8080 or 0.0.0.0:8080"
        ));
    }
    Ok(ListenOverride {
        listener,
        addr: addr.to_string(),
    })
}

static OVERRIDES: OnceLock<Vec<ListenOverride>> = OnceLock::new();

/// Sets the overrides every later load applies; only the first call counts.
pub fn set_listen_overrides(overrides: Vec<ListenOverride>) {
    let _ = OVERRIDES.set(overrides);
}

/// Applies the process's overrides to a config tree.
pub(super) fn apply_set(tree: &mut Value, errors: &mut Vec<ConfigError>) {
    if let Some(overrides) = OVERRIDES.get() {
        apply(tree, overrides, errors);
    }
}

/// Sets `listeners[i].bind` as `overrides` say; a listener that is not there is an error.
pub(super) fn apply(tree: &mut Value, overrides: &[ListenOverride], errors: &mut Vec<ConfigError>) {
    if overrides.is_empty() {
        return;
    }
    let Some(listeners) = tree.get_mut("listeners").and_then(Value::as_array_mut) else {
        errors.push(ConfigError::new("--listen", "the config has no listeners"));
        return;
    };
    let name_of = |l: &Value| l.get("name").and_then(Value::as_str).map(str::to_string);
    let names: Vec<String> = listeners
        .iter()
        .enumerate()
        .map(|(i, l)| name_of(l).unwrap_or_else(|| format!("listener{i}")))
        .collect();
    for o in overrides {
        let index = match &o.listener {
            Some(name) => names.iter().position(|n| n == name),
            None if listeners.len() == 1 => Some(0),
            None => {
                errors.push(ConfigError::new(
                    "--listen",
                    format!(
                        "the config has {} listeners ({}); name one: --listen NAME={}",
                        listeners.len(),
                        names.join(", "),
                        o.addr
                    ),
                ));
                continue;
            }
        };
        match index
            .and_then(|i| listeners.get_mut(i))
            .and_then(Value::as_object_mut)
        {
            Some(listener) => {
                listener.insert("bind".into(), Value::from(o.addr.clone()));
            }
            None => errors.push(ConfigError::new(
                "--listen",
                format!(
                    "no listener named {}; the config's listeners: {}",
                    o.listener.as_deref().unwrap_or_default(),
                    names.join(", ")
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn over(text: &str) -> ListenOverride {
        parse_listen(text).unwrap()
    }

    #[test]
    fn parses_addr_and_named_addr() {
        assert_eq!(
            over("127.0.0.1:9000"),
            ListenOverride {
                listener: None,
                addr: "127.0.0.1:9000".into()
            }
        );
        assert_eq!(over("http=0.0.0.0:80").listener.as_deref(), Some("http"));
        assert!(parse_listen("9000").is_err());
        assert!(parse_listen("=1.2.3.4:5").is_err());
    }

    #[test]
    fn sets_the_only_or_the_named_listener() {
        let mut tree = serde_json::json!({"listeners": [{"name": "http", "bind": "0.0.0.0:8080"}]});
        let mut errors = Vec::new();
        apply(&mut tree, &[over("127.0.0.1:9000")], &mut errors);
        assert!(errors.is_empty());
        assert_eq!(tree["listeners"][0]["bind"], "127.0.0.1:9000");

        let mut tree = serde_json::json!({"listeners": [{"name": "a", "bind": "0.0.0.0:1"}, {"name": "b", "bind": "0.0.0.0:2"}]});
        apply(&mut tree, &[over("b=127.0.0.1:9")], &mut errors);
        assert_eq!(tree["listeners"][1]["bind"], "127.0.0.1:9");
        apply(
            &mut tree,
            &[over("127.0.0.1:9"), over("c=127.0.0.1:9")],
            &mut errors,
        );
        let texts: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            texts,
            [
                "--listen: the config has 2 listeners (a, b); name one: --listen NAME=127.0.0.1:9",
                "--listen: no listener named c; the config's listeners: a, b",
            ]
        );
    }
}
