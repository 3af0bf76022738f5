//! Kubernetes objects as config: the seed page's Gateway, GatewayParameters, ConfigMap,
//! Secret, kgateway `Backend` and `HTTPRoute`, in one multi-document YAML file, read into the
//! same config tree a sluice YAML file gives (`name`, `config`, `listeners`, `backends`), so
//! the rest of the loader is the one sluice configs go through.
//!
//! - detection ([`detect`]): a file whose documents carry `apiVersion` and `kind`;
//! - [`objects`]: the objects' serde types; [`backend`]: `Backend` → backends; [`route`]:
//!   `Gateway` listeners and `HTTPRoute` rules → listeners and routes; [`yaml`]: the YAML
//!   `sluice translate` prints.
//!
//! Whatever the objects say that sluice cannot honour is an error naming the object
//! (`Kind namespace/name`) and the field; errors the loader finds later in the assembled tree
//! are traced back to the object and field they came from ([`Origins`]).

mod assemble;
mod backend;
mod objects;
mod route;
#[cfg(test)]
mod tests;
mod yaml;

use serde_json::Value;

use super::{ConfigError, ConfigErrors};

pub use assemble::SecretMode;

/// One object of the file.
#[derive(Debug)]
pub(super) struct Object {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub body: serde_json::Map<String, Value>,
}

impl Object {
    /// `Kind namespace/name`, as errors name it.
    pub fn label(&self) -> String {
        format!("{} {}/{}", self.kind, self.namespace, self.name)
    }

    /// An error at `path` (e.g. `spec.rules[0].filters`) in this object.
    pub fn error(&self, path: &str, message: impl Into<String>) -> ConfigError {
        at(&self.label(), path, message)
    }
}

/// An error at `path` in the object labelled `label`.
pub(super) fn at(label: &str, path: &str, message: impl Into<String>) -> ConfigError {
    if path.is_empty() {
        ConfigError::new(label, message)
    } else {
        ConfigError::new(format!("{label}: {path}"), message)
    }
}

/// The documents of `text` when it is a file of Kubernetes objects: some document is a
/// mapping with `apiVersion` and `kind` (keys no sluice config has), or, when the YAML does
/// not parse, some line starts with both. `None` for anything else, a sluice config or a file
/// that is not YAML, which the sluice loader then reads and reports.
pub(super) fn detect(text: &str) -> Option<Result<Vec<Value>, ConfigErrors>> {
    if !(text.contains("apiVersion") && text.contains("kind")) {
        return None;
    }
    let options = serde_saphyr::options! { strict_booleans: true };
    match serde_saphyr::from_multiple_with_options::<Value>(text, options) {
        Ok(docs) => docs
            .iter()
            .any(|d| d.get("apiVersion").is_some() && d.get("kind").is_some())
            .then_some(Ok(docs)),
        Err(e) => {
            let starts = |key: &str| text.lines().any(|l| l.starts_with(key));
            (starts("apiVersion:") && starts("kind:")).then(|| {
                let text = e.to_string();
                let first = text.lines().next().unwrap_or_default().trim();
                Err(ConfigErrors(vec![ConfigError::new(
                    "",
                    format!("invalid YAML: {first}"),
                )]))
            })
        }
    }
}

/// Loads the objects in `docs` (from [`detect`]) as a config.
pub(super) fn load(docs: Result<Vec<Value>, ConfigErrors>) -> Result<super::Config, ConfigErrors> {
    let objects = read_objects(docs?)?;
    let assembly = assemble::assemble(&objects, SecretMode::Resolve).map_err(ConfigErrors)?;
    super::load_tree(assembly.tree).map_err(|e| ConfigErrors(assembly.origins.rewrite_all(e.0)))
}

/// `sluice translate`: the sluice config (YAML) equivalent to the objects in the file at
/// `path`. No secret is printed: a Secret's value that is a `$VAR` reference stays one, any
/// other becomes `{env: NAME}` with a comment saying which Secret key to put there.
pub fn translate_file(path: &str) -> Result<String, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError::new(
            "",
            format!("cannot read {path}: {e}"),
        )])
    })?;
    translate_str(&text, path)
}

/// [`translate_file`] on text; `source` names the file in the header comment.
pub(super) fn translate_str(text: &str, source: &str) -> Result<String, ConfigErrors> {
    let Some(docs) = detect(text) else {
        return Err(ConfigErrors(vec![ConfigError::new(
            "",
            format!(
                "{source}: no Kubernetes objects (documents with apiVersion and kind); \
                 translate reads kgateway objects, and a sluice config needs no translation"
            ),
        )]));
    };
    let objects = read_objects(docs?)?;
    let assembly = assemble::assemble(&objects, SecretMode::Placeholder).map_err(ConfigErrors)?;
    // The shape of what is printed (unknown keys in the ConfigMap's config block, ...);
    // what needs the secrets and the environment is `sluice check`'s job on the result.
    if let Err(e) =
        serde_path_to_error::deserialize::<_, super::raw::RawConfig>(assembly.tree.clone())
    {
        let error = ConfigError::new(e.path().to_string(), e.into_inner().to_string());
        return Err(ConfigErrors(assembly.origins.rewrite_all(vec![error])));
    }
    let mut out = format!(
        "# sluice config translated by `sluice translate` from {source}.\n\
         # Check it with `sluice check -c FILE`; serve it with `sluice run -c FILE`.\n"
    );
    for note in &assembly.notes {
        out.push_str("# ");
        out.push_str(note);
        out.push('\n');
    }
    yaml::write(&assembly.tree, &mut out);
    Ok(out)
}

/// Kinds read and not needed: they name the controller, a namespace or grant references
/// sluice does not restrict.
const SKIPPED_KINDS: &[&str] = &["GatewayClass", "Namespace", "ReferenceGrant"];

/// The objects of `docs` (a `List` is flattened), each checked for an `apiVersion` sluice
/// reads for its kind, a name, and no top-level keys it does not know.
fn read_objects(docs: Vec<Value>) -> Result<Vec<Object>, ConfigErrors> {
    let mut flat = Vec::new();
    for (i, doc) in docs.into_iter().enumerate() {
        if doc.get("kind").and_then(Value::as_str) == Some("List") {
            let items = doc.get("items").and_then(Value::as_array).cloned();
            for (j, item) in items.unwrap_or_default().into_iter().enumerate() {
                flat.push((format!("document {}, items[{j}]", i + 1), item));
            }
        } else {
            flat.push((format!("document {}", i + 1), doc));
        }
    }
    let mut errors = Vec::new();
    let mut objects: Vec<Object> = Vec::new();
    for (place, doc) in flat {
        let Value::Object(body) = doc else {
            errors.push(ConfigError::new(
                place,
                "not a Kubernetes object (a mapping)",
            ));
            continue;
        };
        let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_string);
        let (Some(api_version), Some(kind)) = (text("apiVersion"), text("kind")) else {
            errors.push(ConfigError::new(
                place,
                "not a Kubernetes object: apiVersion and kind are required",
            ));
            continue;
        };
        let meta = body.get("metadata");
        let meta_text = |key: &str| meta.and_then(|m| m.get(key)).and_then(Value::as_str);
        let Some(name) = meta_text("name").map(str::to_string) else {
            errors.push(ConfigError::new(
                format!("{place} ({kind})"),
                "metadata.name is required",
            ));
            continue;
        };
        let namespace = meta_text("namespace").unwrap_or("default").to_string();
        let object = Object {
            kind,
            namespace,
            name,
            body,
        };
        if let Some(message) = unsupported_api_version(&object.kind, &api_version) {
            errors.push(object.error("apiVersion", message));
            continue;
        }
        if SKIPPED_KINDS.contains(&object.kind.as_str()) {
            continue;
        }
        if objects.iter().any(|o| {
            (&o.kind, &o.namespace, &o.name) == (&object.kind, &object.namespace, &object.name)
        }) {
            errors.push(object.error("", "defined twice in the file"));
            continue;
        }
        let known: &[&str] = match object.kind.as_str() {
            "Secret" => &["stringData", "data", "type", "immutable"],
            "ConfigMap" => &["data", "immutable"],
            _ => &["spec"],
        };
        for key in object.body.keys() {
            let fine = ["apiVersion", "kind", "metadata", "status"].contains(&key.as_str());
            if !fine && !known.contains(&key.as_str()) {
                errors.push(object.error(key, "not supported"));
            }
        }
        objects.push(object);
    }
    if errors.is_empty() {
        Ok(objects)
    } else {
        Err(ConfigErrors(errors))
    }
}

/// Why sluice does not read `kind` at `api_version`, or `None` when it does.
fn unsupported_api_version(kind: &str, api_version: &str) -> Option<String> {
    let wanted: &[&str] = match kind {
        "Gateway" | "HTTPRoute" | "GatewayClass" | "ReferenceGrant" => &[
            "gateway.networking.k8s.io/v1",
            "gateway.networking.k8s.io/v1beta1",
        ],
        "Backend" | "GatewayParameters" => &["gateway.kgateway.dev/v1alpha1"],
        "ConfigMap" | "Secret" | "Namespace" => &["v1"],
        _ => {
            return Some(format!(
                "kind {kind} ({api_version}) not supported; sluice reads Gateway, HTTPRoute, \
                 Backend, GatewayParameters, ConfigMap and Secret"
            ))
        }
    };
    (!wanted.contains(&api_version)).then(|| {
        format!(
            "{api_version} not supported for kind {kind}; expected {}",
            wanted.join(" or ")
        )
    })
}

/// Where a part of the assembled tree came from: for each tree path (`backends[0]`,
/// `backends[0].apiKey`, `config`), the object and its path. An error the loader reports at a
/// tree path is moved to the longest entry it falls under, the rest of its path kept.
#[derive(Debug, Default)]
pub(super) struct Origins(Vec<(String, String, String)>);

impl Origins {
    /// Errors at `tree_path` (and under it) are errors of `label` at `object_path`.
    pub fn add(&mut self, tree_path: &str, label: &str, object_path: &str) {
        self.0.push((
            tree_path.to_string(),
            label.to_string(),
            object_path.to_string(),
        ));
    }

    pub fn rewrite_all(&self, errors: Vec<ConfigError>) -> Vec<ConfigError> {
        errors.into_iter().map(|e| self.rewrite(e)).collect()
    }

    /// `e` at the object it came from; unchanged when no entry covers its path.
    pub fn rewrite(&self, e: ConfigError) -> ConfigError {
        let under = |tree: &str| {
            e.path == tree
                || (e.path.starts_with(tree)
                    && matches!(e.path.as_bytes().get(tree.len()), Some(b'.' | b'[')))
        };
        let best = self
            .0
            .iter()
            .filter(|(tree, _, _)| under(tree))
            .max_by_key(|(tree, _, _)| tree.len());
        let Some((tree, label, object_path)) = best else {
            return e;
        };
        let rest = &e.path[tree.len()..];
        let path = if object_path.is_empty() {
            rest.trim_start_matches('.').to_string()
        } else {
            format!("{object_path}{rest}")
        };
        at(label, &path, e.message)
    }
}
