//! kgateway `Backend` (`spec.type: AI`) → sluice backends: `spec.ai.llm.<provider>` is one
//! backend; `spec.ai.priorityGroups` (one provider per group) a failover chain of them, in
//! group order. The provider's token comes inline, from a Secret's `Authorization` entry (a
//! leading `Bearer ` stripped, as kgateway does), or from the client (`Passthrough`).

use base64::Engine;
use serde_json::{Map, Value};

use super::assemble::{join, Cx, SecretMode};
use super::objects::{AuthToken, LlmProvider, LLM_FIELDS, PROVIDERS};
use super::Object;

/// The `anthropic-version` sluice sends.
const ANTHROPIC_VERSION: &str = sluice_providers::anthropic::ANTHROPIC_VERSION;
/// The Secret entry kgateway reads a token from.
const SECRET_KEY: &str = "Authorization";

/// One sluice backend and the origins of its keys: (`.key` suffix or "", object, path).
pub(super) struct BackendOut {
    pub tree: Map<String, Value>,
    pub origins: Vec<(String, String, String)>,
}

impl BackendOut {
    fn set(&mut self, key: &str, value: impl Into<Value>) {
        self.tree.insert(key.to_string(), value.into());
    }

    fn origin(&mut self, suffix: &str, label: &str, path: &str) {
        self.origins
            .push((suffix.to_string(), label.to_string(), path.to_string()));
    }
}

/// The backends of `obj`, in failover order; `None` when it cannot be served (the errors
/// are in `cx`).
pub(super) fn map(obj: &Object, cx: &mut Cx) -> Option<Vec<BackendOut>> {
    let spec: super::objects::BackendSpec = cx.spec(obj)?;
    for key in spec.other.keys() {
        let why = match key.as_str() {
            "static" | "aws" | "mcp" | "dynamicForwardProxy" => {
                "not supported: sluice serves AI backends (spec.ai)"
            }
            _ => "not supported by sluice",
        };
        cx.error(obj, &join("spec", key), why);
    }
    match spec.kind.as_deref() {
        Some(t) if t.eq_ignore_ascii_case("ai") => {}
        Some(t) => {
            cx.error(
                obj,
                "spec.type",
                format!("{t} not supported; sluice serves type AI"),
            );
            return None;
        }
        None => {
            cx.error(obj, "spec.type", "required (AI)");
            return None;
        }
    }
    let Some(ai) = spec.ai else {
        cx.error(obj, "spec.ai", "required for type AI");
        return None;
    };
    cx.refuse(obj, "spec.ai", &ai.other);
    let own_name = format!("{}/{}", obj.namespace, obj.name);
    match (ai.llm, ai.priority_groups) {
        (Some(llm), None) => provider(obj, "spec.ai.llm", &llm, own_name, cx).map(|b| vec![b]),
        (None, Some(groups)) => {
            let mut chain = Vec::new();
            let mut ok = true;
            for (g, group) in groups.into_iter().enumerate() {
                let gpath = format!("spec.ai.priorityGroups[{g}]");
                cx.refuse(obj, &gpath, &group.other);
                if group.providers.len() != 1 {
                    cx.error(
                        obj,
                        &format!("{gpath}.providers"),
                        format!(
                            "{} providers in one group (balanced between) not supported; one provider per group makes a failover chain, tried in group order",
                            group.providers.len()
                        ),
                    );
                    ok = false;
                    continue;
                }
                let ppath = format!("{gpath}.providers[0]");
                let mut value = group.providers.into_iter().next().unwrap_or_default();
                let name = match value.as_object_mut().and_then(|m| m.remove("name")) {
                    Some(Value::String(n)) => n,
                    _ => {
                        cx.error(obj, &format!("{ppath}.name"), "required (a string)");
                        ok = false;
                        continue;
                    }
                };
                let Some(llm) = cx.parse::<LlmProvider>(obj, &ppath, value) else {
                    ok = false;
                    continue;
                };
                match provider(obj, &ppath, &llm, format!("{own_name}/{name}"), cx) {
                    Some(b) => chain.push(b),
                    None => ok = false,
                }
            }
            (ok && !chain.is_empty()).then_some(chain)
        }
        _ => {
            cx.error(
                obj,
                "spec.ai",
                "expected exactly one of llm, priorityGroups",
            );
            None
        }
    }
}

/// One provider (`spec.ai.llm`, or an entry of a priority group at `path`) as the backend
/// named `name`.
fn provider(
    obj: &Object,
    path: &str,
    llm: &LlmProvider,
    name: String,
    cx: &mut Cx,
) -> Option<BackendOut> {
    let label = obj.label();
    let mut ok = true;
    for key in llm.other.keys() {
        let message = if LLM_FIELDS.contains(&key.as_str()) {
            "not supported by sluice".to_string()
        } else {
            format!("unknown provider; expected one of {}", PROVIDERS.join(", "))
        };
        cx.error(obj, &join(path, key), message);
        ok = false;
    }
    let set = [
        llm.openai.is_some(),
        llm.azureopenai.is_some(),
        llm.anthropic.is_some(),
        llm.gemini.is_some(),
        llm.vertexai.is_some(),
        llm.bedrock.is_some(),
    ];
    match set.iter().filter(|s| **s).count() {
        1 => {}
        0 if !ok => return None,
        n => {
            cx.error(
                obj,
                path,
                format!(
                    "{n} providers; expected exactly one of {}",
                    PROVIDERS.join(", ")
                ),
            );
            return None;
        }
    }
    let mut out = BackendOut {
        tree: Map::new(),
        origins: Vec::new(),
    };
    out.set("name", name);
    out.origin(".name", &label, "metadata.name");
    let mut token = None;
    if let Some(c) = &llm.openai {
        let pp = format!("{path}.openai");
        cx.refuse(obj, &pp, &c.other);
        out.set("provider", "openai");
        opt(&mut out, "model", &c.model);
        token = Some((pp, c.auth_token.as_ref()));
    } else if let Some(c) = &llm.azureopenai {
        let pp = format!("{path}.azureopenai");
        cx.refuse(obj, &pp, &c.other);
        out.set("provider", "azure");
        required(obj, &pp, "deploymentName", &c.deployment_name, cx);
        opt(&mut out, "model", &c.deployment_name);
        out.origin(".model", &label, &format!("{pp}.deploymentName"));
        opt(&mut out, "apiVersion", &c.api_version);
        if let Some(endpoint) = required(obj, &pp, "endpoint", &c.endpoint, cx) {
            // kgateway strips a scheme given with the endpoint; Azure is HTTPS.
            let host = endpoint
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .trim_end_matches('/');
            out.set("baseUrl", format!("https://{host}"));
            out.origin(".baseUrl", &label, &format!("{pp}.endpoint"));
        }
        token = Some((pp, c.auth_token.as_ref()));
    } else if let Some(c) = &llm.anthropic {
        let pp = format!("{path}.anthropic");
        cx.refuse(obj, &pp, &c.other);
        out.set("provider", "anthropic");
        opt(&mut out, "model", &c.model);
        if let Some(v) = c.api_version.as_deref().filter(|v| *v != ANTHROPIC_VERSION) {
            cx.error(
                obj,
                &format!("{pp}.apiVersion"),
                format!(
                    "\"{v}\" not supported: sluice sends anthropic-version {ANTHROPIC_VERSION}"
                ),
            );
        }
        token = Some((pp, c.auth_token.as_ref()));
    } else if let Some(c) = &llm.gemini {
        let pp = format!("{path}.gemini");
        cx.refuse(obj, &pp, &c.other);
        out.set("provider", "gemini");
        opt(&mut out, "model", &c.model);
        opt(&mut out, "apiVersion", &c.api_version);
        token = Some((pp, c.auth_token.as_ref()));
    } else if let Some(c) = &llm.vertexai {
        let pp = format!("{path}.vertexai");
        cx.refuse(obj, &pp, &c.other);
        out.set("provider", "vertex");
        opt(&mut out, "model", &c.model);
        if let Some(v) = c.api_version.as_deref().filter(|v| *v != "v1") {
            cx.error(
                obj,
                &format!("{pp}.apiVersion"),
                format!("\"{v}\" not supported: sluice calls Vertex AI's v1 API"),
            );
        }
        if let Some(p) = c.publisher.as_deref().filter(|p| *p != "GOOGLE") {
            cx.error(
                obj,
                &format!("{pp}.publisher"),
                format!("\"{p}\" not supported; expected GOOGLE"),
            );
        }
        opt(&mut out, "project", &c.project_id);
        out.origin(".project", &label, &format!("{pp}.projectId"));
        opt(&mut out, "location", &c.location);
        if c.auth_token.as_ref().and_then(|t| t.kind.as_deref()) == Some("Passthrough") {
            cx.error(
                obj,
                &format!("{pp}.authToken.kind"),
                "Passthrough not supported for vertexai: sluice needs an access token (Inline or SecretRef)",
            );
            return None;
        }
        token = Some((pp, c.auth_token.as_ref()));
    } else if let Some(c) = &llm.bedrock {
        let pp = format!("{path}.bedrock");
        for key in c.other.keys() {
            let why = match key.as_str() {
                "auth" => "not supported: sluice takes Bedrock's AWS credentials from the AWS default chain (environment, profiles, web identity, container credentials, instance metadata); name a source with auth in a sluice config",
                _ => "not supported by sluice",
            };
            cx.error(obj, &join(&pp, key), why);
        }
        out.set("provider", "bedrock");
        opt(&mut out, "model", &c.model);
        // kgateway's default region.
        out.set(
            "region",
            c.region.clone().unwrap_or_else(|| "us-east-1".into()),
        );
    }
    if let Some((pp, auth)) = token {
        if let Some((value, origin_label, origin_path)) = api_key(obj, &pp, auth, cx) {
            out.set("apiKey", value);
            out.origin(".apiKey", &origin_label, &origin_path);
        }
    }
    let mut base = match (&llm.host, llm.port) {
        (Some(host), Some(port)) => {
            out.origin(".baseUrl", &label, &format!("{path}.host"));
            Some(base_url(host, port))
        }
        (None, None) => None,
        _ => {
            cx.error(obj, path, "host and port must be set together");
            None
        }
    };
    if let Some(over) = &llm.path {
        let ppath = format!("{path}.path");
        cx.refuse(obj, &ppath, &over.other);
        let provider = out
            .tree
            .get("provider")
            .and_then(Value::as_str)
            .unwrap_or("");
        match path_prefix(provider, over.full.as_deref()) {
            Ok(prefix) => {
                let default = sluice_providers::ProviderKind::from_name(provider)
                    .and_then(|k| k.default_base_url())
                    .map(str::to_string);
                if let Some(b) = base.clone().or(default) {
                    base = Some(format!("{b}{prefix}"));
                    if llm.host.is_none() {
                        out.origin(".baseUrl", &label, &format!("{ppath}.full"));
                    }
                }
            }
            Err(message) => cx.error(obj, &format!("{ppath}.full"), message),
        }
    }
    if let Some(base) = base {
        out.set("baseUrl", base);
    }
    // Errors of the whole backend (a missing region, credentials) are the provider's.
    let provider_path = out
        .tree
        .get("provider")
        .and_then(Value::as_str)
        .map(|p| match p {
            "azure" => "azureopenai",
            "vertex" => "vertexai",
            other => other,
        })
        .map(|p| format!("{path}.{p}"))
        .unwrap_or_else(|| path.to_string());
    out.origin("", &label, &provider_path);
    out.origin(".provider", &label, &provider_path);
    Some(out)
}

/// The base URL path that makes sluice call `full` (kgateway's `path.full`): sluice appends
/// the API's own path (`/v1/chat/completions`, `/v1/messages`) to the base URL's, one `/v1`
/// not doubled, so `full` must end in it; what comes before is the prefix. The prefix holds
/// for the provider's other endpoints too (Responses, embeddings, models).
fn path_prefix(provider: &str, full: Option<&str>) -> Result<String, String> {
    let suffix = match provider {
        "openai" => "/chat/completions",
        "anthropic" => "/messages",
        other => {
            return Err(format!(
                "not supported for {other}: sluice builds this provider's paths itself"
            ))
        }
    };
    let Some(full) = full else {
        return Err("required in path".to_string());
    };
    match full.strip_suffix(suffix) {
        Some(prefix) if prefix.ends_with("/v1") => Ok(prefix.to_string()),
        _ => Err(format!(
            "\"{full}\" not supported: for {provider}, sluice can only put a prefix before /v1{suffix}"
        )),
    }
}

/// `host:port` as a base URL: HTTPS on 443, plain HTTP on any other port (kgateway too
/// talks plain HTTP to an overridden host unless a TLS policy says otherwise, e.g. to Ollama
/// on 11434).
pub(super) fn base_url(host: &str, port: u16) -> String {
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    match port {
        443 => format!("https://{host}"),
        80 => format!("http://{host}"),
        _ => format!("http://{host}:{port}"),
    }
}

fn opt(out: &mut BackendOut, key: &str, value: &Option<String>) {
    if let Some(v) = value {
        out.set(key, v.clone());
    }
}

fn required<'v>(
    obj: &Object,
    path: &str,
    key: &str,
    value: &'v Option<String>,
    cx: &mut Cx,
) -> Option<&'v str> {
    if value.is_none() {
        cx.error(obj, &format!("{path}.{key}"), "required");
    }
    value.as_deref()
}

/// The `apiKey` value for `authToken` at `path.authToken`, with the object and path it came
/// from; `None` for `Passthrough` (the client's own credentials go upstream) or on error.
fn api_key(
    obj: &Object,
    path: &str,
    token: Option<&AuthToken>,
    cx: &mut Cx,
) -> Option<(Value, String, String)> {
    let tpath = format!("{path}.authToken");
    let Some(token) = token else {
        cx.error(
            obj,
            &tpath,
            "required (kind Inline, SecretRef or Passthrough)",
        );
        return None;
    };
    cx.refuse(obj, &tpath, &token.other);
    if token.inline.is_some() && token.secret_ref.is_some() {
        cx.error(obj, &tpath, "expected at most one of inline, secretRef");
        return None;
    }
    match token.kind.as_deref() {
        Some("Inline") => {
            let ipath = format!("{tpath}.inline");
            let Some(inline) = &token.inline else {
                cx.error(obj, &ipath, "required for kind Inline");
                return None;
            };
            let value = match cx.mode {
                // Expanded by the loader like any string of the file.
                SecretMode::Resolve => Value::from(inline.clone()),
                SecretMode::Placeholder if is_env_reference(inline) => Value::from(inline.clone()),
                SecretMode::Placeholder => {
                    let what = format!("the inline authToken of {}", obj.label());
                    placeholder(cx, &format!("{}_{}_token", obj.namespace, obj.name), &what)
                }
            };
            Some((value, obj.label(), ipath))
        }
        Some("SecretRef") => {
            let npath = format!("{tpath}.secretRef.name");
            let Some(sref) = &token.secret_ref else {
                cx.error(
                    obj,
                    &format!("{tpath}.secretRef"),
                    "required for kind SecretRef",
                );
                return None;
            };
            cx.refuse(obj, &format!("{tpath}.secretRef"), &sref.other);
            let Some(secret) = cx.find("Secret", &obj.namespace, &sref.name) else {
                cx.error(
                    obj,
                    &npath,
                    format!(
                        "Secret {}/{} not found in the file",
                        obj.namespace, sref.name
                    ),
                );
                return None;
            };
            secret_value(obj, &npath, secret, cx)
        }
        Some("Passthrough") => None,
        Some(other) => {
            cx.error(
                obj,
                &format!("{tpath}.kind"),
                format!("\"{other}\" not supported; expected Inline, SecretRef or Passthrough"),
            );
            None
        }
        None => {
            cx.error(
                obj,
                &format!("{tpath}.kind"),
                "required (Inline, SecretRef or Passthrough)",
            );
            None
        }
    }
}

/// The `Authorization` entry of `secret` (named by `obj` at `npath`): `stringData` first, as
/// Kubernetes merges it over `data`.
fn secret_value(
    obj: &Object,
    npath: &str,
    secret: &Object,
    cx: &mut Cx,
) -> Option<(Value, String, String)> {
    let label = secret.label();
    let what = format!("{label} key {SECRET_KEY}");
    let string_data = secret
        .body
        .get("stringData")
        .and_then(|d| d.get(SECRET_KEY));
    if let Some(raw) = string_data {
        let path = format!("stringData.{SECRET_KEY}");
        let Some(text) = scalar_text(raw) else {
            cx.error(secret, &path, "expected a string");
            return None;
        };
        let value = match cx.mode {
            SecretMode::Resolve => {
                // The seed's Secret is `Authorization: $GOOGLE_KEY` in a shell heredoc.
                match super::super::env::expand(&text, &|n| std::env::var(n).ok()) {
                    Ok(expanded) => Value::from(escape_dollars(strip_bearer(&expanded))),
                    Err(message) => {
                        cx.error(secret, &path, message);
                        return None;
                    }
                }
            }
            SecretMode::Placeholder => {
                let text = strip_bearer(&text);
                if is_env_reference(text) {
                    Value::from(text)
                } else {
                    placeholder(cx, &format!("{}_{SECRET_KEY}", secret.name), &what)
                }
            }
        };
        return Some((value, label, path));
    }
    let Some(raw) = secret.body.get("data").and_then(|d| d.get(SECRET_KEY)) else {
        cx.error(
            obj,
            npath,
            format!("{label} has no {SECRET_KEY} entry (kgateway reads the token from it)"),
        );
        return None;
    };
    let path = format!("data.{SECRET_KEY}");
    let decoded = raw
        .as_str()
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let Some(text) = decoded else {
        cx.error(secret, &path, "expected base64 of UTF-8 text");
        return None;
    };
    let value = match cx.mode {
        SecretMode::Resolve => Value::from(escape_dollars(strip_bearer(&text))),
        SecretMode::Placeholder => placeholder(cx, &format!("{}_{SECRET_KEY}", secret.name), &what),
    };
    Some((value, label, path))
}

/// `{env: NAME}` for the secret `what`, with a note (once per secret) saying what to set.
fn placeholder(cx: &mut Cx, base: &str, what: &str) -> Value {
    let (name, new) = cx.env_name(base, what);
    if new {
        cx.notes.push(format!(
            "Not printed: {what}. Set the environment variable {name} to it (apiKey: {{env: {name}}})."
        ));
    }
    let mut m = Map::new();
    m.insert("env".into(), Value::from(name));
    Value::Object(m)
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// kgateway takes a Secret's `Authorization: Bearer <token>` as the token.
fn strip_bearer(text: &str) -> &str {
    let text = text.trim();
    text.strip_prefix("Bearer ").unwrap_or(text).trim_start()
}

/// A literal for the loader's `$VAR` expansion, which runs over the whole tree.
fn escape_dollars(text: &str) -> String {
    text.replace('$', "$$")
}

/// `$NAME` or `${NAME}` and nothing else: a reference, not a secret.
pub(super) fn is_env_reference(text: &str) -> bool {
    let name = match text.strip_prefix("${") {
        Some(rest) => rest.strip_suffix('}'),
        None => text.strip_prefix('$'),
    };
    name.is_some_and(|n| {
        n.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}
