//! The objects → one sluice config tree: `name` from the Gateway, `config` from the ConfigMap
//! its GatewayParameters names, `listeners` from its listeners and the HTTPRoutes attached to
//! them, `backends` from the Backends; with the [`Origins`] of every part.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::objects::{GatewayParametersSpec, GatewaySpec};
use super::{backend, route, ConfigError, Object, Origins};

/// What the assembled tree holds where a Secret's (or an inline token's) value goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretMode {
    /// The value itself (a `$VAR` in `stringData` expanded, as the seed's heredoc did): for
    /// serving and `sluice check`.
    Resolve,
    /// Never the value: a `$VAR` reference stays one, anything else becomes `{env: NAME}`
    /// with a note saying what to set. For `sluice translate`, which prints the tree.
    Placeholder,
}

/// The assembled config tree, where its parts came from, and the notes `translate` prints.
#[derive(Debug)]
pub(super) struct Assembly {
    pub tree: Value,
    pub origins: Origins,
    pub notes: Vec<String>,
}

/// What the mapping functions share: the objects, the secret mode, and what they found.
pub(super) struct Cx<'a> {
    pub objects: &'a [Object],
    pub mode: SecretMode,
    pub errors: Vec<ConfigError>,
    pub notes: Vec<String>,
    /// Environment variable names handed out for placeholders, with what each stands for.
    env_names: Vec<(String, String)>,
}

impl<'a> Cx<'a> {
    pub fn find(&self, kind: &str, namespace: &str, name: &str) -> Option<&'a Object> {
        self.objects
            .iter()
            .find(|o| o.kind == kind && o.namespace == namespace && o.name == name)
    }

    pub fn of_kind(&self, kind: &'a str) -> impl Iterator<Item = &'a Object> + 'a {
        self.objects.iter().filter(move |o| o.kind == kind)
    }

    /// `spec` of `obj` as `T`; a mismatch is an error at its path.
    pub fn spec<T: DeserializeOwned>(&mut self, obj: &Object) -> Option<T> {
        let spec = obj
            .body
            .get("spec")
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new()));
        self.parse(obj, "spec", spec)
    }

    /// `value`, found at `path` in `obj`, as `T`; a mismatch is an error at its path.
    pub fn parse<T: DeserializeOwned>(
        &mut self,
        obj: &Object,
        path: &str,
        value: Value,
    ) -> Option<T> {
        match serde_path_to_error::deserialize(value) {
            Ok(t) => Some(t),
            Err(e) => {
                let inner = e.path().to_string();
                let full = if inner == "." {
                    path.to_string()
                } else {
                    format!("{path}.{inner}")
                };
                // serde quotes the value it did not expect: never a token's.
                let message = if full.ends_with("authToken.inline") {
                    "expected a string".to_string()
                } else {
                    e.into_inner().to_string()
                };
                self.errors.push(obj.error(&full, message));
                None
            }
        }
    }

    /// Every key of `other` (keys a serde type did not take) is an error: not supported.
    pub fn refuse(&mut self, obj: &Object, path: &str, other: &Map<String, Value>) {
        self.refuse_but(obj, path, other, &[]);
    }

    /// [`Self::refuse`], except the keys in `unused`, which change nothing sluice does.
    pub fn refuse_but(
        &mut self,
        obj: &Object,
        path: &str,
        other: &Map<String, Value>,
        unused: &[&str],
    ) {
        for key in other.keys().filter(|k| !unused.contains(&k.as_str())) {
            self.errors
                .push(obj.error(&join(path, key), "not supported by sluice"));
        }
    }

    pub fn error(&mut self, obj: &Object, path: &str, message: impl Into<String>) {
        self.errors.push(obj.error(path, message));
    }

    /// An environment variable name for the secret `what` (`Secret ns/name key K`), derived
    /// from `base`; the same `what` always gets the same name, two never share one. The bool
    /// says whether the name is new (and needs its note).
    pub fn env_name(&mut self, base: &str, what: &str) -> (String, bool) {
        if let Some((name, _)) = self.env_names.iter().find(|(_, w)| w == what) {
            return (name.clone(), false);
        }
        let mut stem: String = base
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        if stem.starts_with(|c: char| c.is_ascii_digit()) {
            stem.insert(0, '_');
        }
        let mut name = stem.clone();
        let mut n = 2;
        while self.env_names.iter().any(|(taken, _)| *taken == name) {
            name = format!("{stem}_{n}");
            n += 1;
        }
        self.env_names.push((name.clone(), what.to_string()));
        (name, true)
    }
}

/// `path.key`, or `key` at the top.
pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Assembles the config tree the objects describe, or every problem found on the way.
pub(super) fn assemble(objects: &[Object], mode: SecretMode) -> Result<Assembly, Vec<ConfigError>> {
    let mut cx = Cx {
        objects,
        mode,
        errors: Vec::new(),
        notes: Vec::new(),
        env_names: Vec::new(),
    };
    let mut origins = Origins::default();
    let gateways: Vec<&Object> = cx.of_kind("Gateway").collect();
    let Some(gateway) = gateways.first().copied() else {
        return Err(vec![ConfigError::new(
            "",
            "no Gateway in the file: sluice serves the listeners of one Gateway",
        )]);
    };
    for extra in &gateways[1..] {
        cx.error(
            extra,
            "",
            format!(
                "a second Gateway: sluice serves one per file (the first is {})",
                gateway.label()
            ),
        );
    }
    let Some(spec) = cx.spec::<GatewaySpec>(gateway) else {
        return Err(cx.errors);
    };
    let config = gateway_config(gateway, &spec, &mut cx, &mut origins);

    let mut backends = Vec::new();
    let mut chains: HashMap<(String, String), Vec<String>> = HashMap::new();
    for obj in cx.of_kind("Backend").collect::<Vec<_>>() {
        let Some(mapped) = backend::map(obj, &mut cx) else {
            continue;
        };
        let mut chain = Vec::new();
        for out in mapped {
            let i = backends.len();
            for (suffix, label, path) in &out.origins {
                origins.add(&format!("backends[{i}]{suffix}"), label, path);
            }
            if let Some(Value::String(name)) = out.tree.get("name") {
                chain.push(name.clone());
            }
            backends.push(Value::Object(out.tree));
        }
        chains.insert((obj.namespace.clone(), obj.name.clone()), chain);
    }

    let mut listeners = Vec::new();
    for (i, l) in route::listeners(gateway, &spec, &chains, &mut cx)
        .into_iter()
        .enumerate()
    {
        let gw = gateway.label();
        origins.add(
            &format!("listeners[{i}]"),
            &gw,
            &format!("spec.listeners[{}]", l.index),
        );
        origins.add(
            &format!("listeners[{i}].bind"),
            &gw,
            &format!("spec.listeners[{}].port", l.index),
        );
        let mut routes = Vec::new();
        for (j, r) in l.routes.iter().enumerate() {
            let base = format!("listeners[{i}].routes[{j}]");
            origins.add(&base, &r.label, &r.match_path);
            for key in [".match", ".match.pathPrefix", ".match.path"] {
                origins.add(&format!("{base}{key}"), &r.label, &r.value_path);
            }
            for key in [".backend", ".backends"] {
                origins.add(&format!("{base}{key}"), &r.label, &r.backend_path);
            }
            routes.push(r.tree());
        }
        let mut listener = Map::new();
        listener.insert("name".into(), Value::from(l.name));
        listener.insert("bind".into(), Value::from(format!("0.0.0.0:{}", l.port)));
        listener.insert("routes".into(), Value::Array(routes));
        listeners.push(Value::Object(listener));
    }

    if !cx.errors.is_empty() {
        return Err(cx.errors);
    }
    let gw = gateway.label();
    origins.add("name", &gw, "metadata.name");
    origins.add("listeners", &gw, "spec.listeners");
    let mut root = Map::new();
    root.insert(
        "name".into(),
        Value::from(format!("{}/{}", gateway.namespace, gateway.name)),
    );
    if !config.is_empty() {
        root.insert("config".into(), Value::Object(config));
    }
    root.insert("listeners".into(), Value::Array(listeners));
    root.insert("backends".into(), Value::Array(backends));
    Ok(Assembly {
        tree: Value::Object(root),
        origins,
        notes: cx.notes,
    })
}

/// The `config:` block: the one in the ConfigMap the Gateway's GatewayParameters names
/// (`spec.kube.agentgateway.customConfigMapName`, key `config.yaml`), with the
/// GatewayParameters' `logLevel` as `logging.level`. GatewayParameters and ConfigMaps the
/// Gateway does not lead to are errors: their settings would not apply.
fn gateway_config(
    gateway: &Object,
    spec: &GatewaySpec,
    cx: &mut Cx,
    origins: &mut Origins,
) -> Map<String, Value> {
    // The class picks the controller: sluice is the controller here.
    cx.refuse_but(gateway, "spec", &spec.other, &["gatewayClassName"]);
    let mut config = Map::new();
    let mut used_params = None;
    let mut used_map = None;
    if let Some(infra) = &spec.infrastructure {
        // Labels and annotations of generated Deployments and Services: none here.
        cx.refuse_but(
            gateway,
            "spec.infrastructure",
            &infra.other,
            &["labels", "annotations"],
        );
        if let Some(pref) = &infra.parameters_ref {
            let path = "spec.infrastructure.parametersRef";
            cx.refuse(gateway, path, &pref.other);
            let group = pref.group.as_deref().unwrap_or("gateway.kgateway.dev");
            let kind = pref.kind.as_deref().unwrap_or("GatewayParameters");
            if (group, kind) != ("gateway.kgateway.dev", "GatewayParameters") {
                cx.error(
                    gateway,
                    path,
                    format!(
                        "{kind} ({group}) not supported; expected a kgateway GatewayParameters"
                    ),
                );
            } else if let Some(params) =
                cx.find("GatewayParameters", &gateway.namespace, &pref.name)
            {
                used_params = Some(params);
                used_map = parameters_config(params, cx, origins, &mut config);
            } else {
                cx.error(
                    gateway,
                    &format!("{path}.name"),
                    format!(
                        "GatewayParameters {}/{} not found in the file",
                        gateway.namespace, pref.name
                    ),
                );
            }
        }
    }
    for params in cx.of_kind("GatewayParameters").collect::<Vec<_>>() {
        if !used_params.is_some_and(|u| std::ptr::eq(u, params)) {
            cx.error(
                params,
                "",
                format!(
                    "not used: {} does not name it in spec.infrastructure.parametersRef",
                    gateway.label()
                ),
            );
        }
    }
    for map in cx.of_kind("ConfigMap").collect::<Vec<_>>() {
        if !used_map.is_some_and(|u| std::ptr::eq(u, map)) {
            cx.error(
                map,
                "",
                "not used: no GatewayParameters of the Gateway names it in spec.kube.agentgateway.customConfigMapName",
            );
        }
    }
    config
}

/// Reads `params` into `config`; returns the ConfigMap it names, when found.
fn parameters_config<'a>(
    params: &'a Object,
    cx: &mut Cx<'a>,
    origins: &mut Origins,
    config: &mut Map<String, Value>,
) -> Option<&'a Object> {
    let spec: GatewayParametersSpec = cx.spec(params)?;
    cx.refuse(params, "spec", &spec.other);
    let kube = spec.kube?;
    cx.refuse(params, "spec.kube", &kube.other);
    let agw = kube.agentgateway?;
    let path = "spec.kube.agentgateway";
    cx.refuse(params, path, &agw.other);
    if agw.enabled == Some(false) {
        cx.error(
            params,
            &format!("{path}.enabled"),
            "false not supported: sluice is the agentgateway proxy here",
        );
    }
    let mut used = None;
    if let Some(name) = &agw.custom_config_map_name {
        match cx.find("ConfigMap", &params.namespace, name) {
            Some(map) => {
                used = Some(map);
                if let Some(block) = config_block(map, cx) {
                    origins.add("config", &map.label(), r#"data["config.yaml"].config"#);
                    *config = block;
                }
            }
            None => cx.error(
                params,
                &format!("{path}.customConfigMapName"),
                format!(
                    "ConfigMap {}/{name} not found in the file",
                    params.namespace
                ),
            ),
        }
    }
    if let Some(level) = agw.log_level {
        let logging = config
            .entry("logging")
            .or_insert_with(|| Value::Object(Map::new()));
        match logging {
            Value::Object(l) if !l.contains_key("level") => {
                l.insert("level".into(), Value::from(level));
                origins.add(
                    "config.logging.level",
                    &params.label(),
                    &format!("{path}.logLevel"),
                );
            }
            _ => cx.error(
                params,
                &format!("{path}.logLevel"),
                "the ConfigMap's config.logging.level says it too: keep one",
            ),
        }
    }
    used
}

/// The `config:` block of `map`'s `config.yaml` (agentgateway's config file): it may hold only
/// `config:`, since listeners, routes and backends come from the other objects.
fn config_block(map: &Object, cx: &mut Cx) -> Option<Map<String, Value>> {
    let key = r#"data["config.yaml"]"#;
    let Some(text) = map
        .body
        .get("data")
        .and_then(|d| d.get("config.yaml"))
        .and_then(Value::as_str)
    else {
        cx.error(
            map,
            key,
            "not found: the agentgateway config is read from this key",
        );
        return None;
    };
    let options = serde_saphyr::options! { strict_booleans: true };
    let file: Value = match serde_saphyr::from_str_with_options(text, options) {
        Ok(v) => v,
        Err(e) => {
            let first = e.to_string();
            let first = first.lines().next().unwrap_or_default().trim().to_string();
            cx.error(map, key, format!("invalid YAML: {first}"));
            return None;
        }
    };
    let file = match file {
        Value::Null => return Some(Map::new()),
        Value::Object(m) => m,
        _ => {
            cx.error(map, key, "expected a mapping with a config: block");
            return None;
        }
    };
    let mut block = None;
    for (k, v) in file {
        match (k.as_str(), v) {
            ("config", Value::Object(c)) => block = Some(c),
            ("config", Value::Null) => block = Some(Map::new()),
            ("config", _) => cx.error(map, &format!("{key}.config"), "expected a mapping"),
            (other, _) => cx.error(
                map,
                &format!("{key}.{other}"),
                "not supported: listeners, routes and backends come from the Gateway, HTTPRoute and Backend objects",
            ),
        }
    }
    Some(block.unwrap_or_default())
}
