//! The standard attributes of a request, in the seed's order: the log line's keys, and the
//! span's attributes before `url.scheme`, `network.protocol.version` and the CEL fields.

use std::borrow::Cow;

use crate::facts::{hex, RequestRecord};
use crate::{Attr, AttrValue};

/// The log line's keys, in order, with typed values. Keys without a value (no route, no
/// tokens reported) are left out rather than printed empty, except `llm.request.model`,
/// which the seed prints empty when the client sent `"model": ""`.
pub fn base_attributes<'a>(gateway: &'a str, rec: &'a RequestRecord, out: &mut Vec<Attr<'a>>) {
    let mut push = |k: &'static str, v: AttrValue<'a>| out.push((Cow::Borrowed(k), v));
    push("gateway", gateway.into());
    push("listener", rec.listener.as_str().into());
    if !rec.route.is_empty() {
        push("route", rec.route.as_str().into());
    }
    if !rec.endpoint.is_empty() {
        push("endpoint", rec.endpoint.as_str().into());
    }
    push("src.addr", rec.source_address.as_str().into());
    push("http.method", rec.method.as_str().into());
    push("http.host", rec.host.as_str().into());
    push("http.path", rec.path.as_str().into());
    push("http.version", rec.version.into());
    push("http.status", i64::from(rec.status).into());
    push("trace.id", hex(&rec.trace_id).into());
    push("span.id", hex(&rec.span_id).into());
    if let Some(llm) = &rec.llm {
        push("llm.provider", llm.provider.as_str().into());
        push("llm.request.model", llm.request_model.as_str().into());
        if let Some(t) = llm.input_tokens {
            push("llm.request.tokens", t.into());
        }
        if let Some(m) = &llm.response_model {
            push("llm.response.model", m.as_str().into());
        }
        if let Some(t) = llm.output_tokens {
            push("llm.response.tokens", t.into());
        }
    }
    let mut millis = itoa::Buffer::new();
    let millis = millis.format(rec.duration.as_millis());
    let mut duration = String::with_capacity(millis.len() + 2);
    duration.push_str(millis);
    duration.push_str("ms");
    push("duration", duration.into());
    if let Some(llm) = rec.llm.as_ref().filter(|l| l.attempts > 1) {
        // A failover chain was walked: how far, and why.
        push("llm.attempts", i64::from(llm.attempts).into());
        push(
            "llm.fallback_reason",
            llm.fallback_reasons.join("; ").into(),
        );
    }
    if rec.llm.as_ref().is_some_and(|l| l.usage_estimated) {
        // Counted by sluice (tiktoken) because the provider reported none or the client left.
        push("llm.usage.estimated", true.into());
    }
    if let Some(limit) = &rec.limit {
        // Only requests subject to a limit carry the decision (and, refused, the scope).
        push("llm.limit", limit.decision.into());
        if limit.decision == "refused" {
            if let Some(scope) = limit.scopes.first() {
                push("llm.limit.scope", scope.as_str().into());
            }
        }
    }
    if let Some(e) = &rec.error {
        push("error", e.as_str().into());
    }
}

/// The span's extra HTTP attributes (OpenTelemetry HTTP conventions).
pub fn span_http_attributes<'a>(rec: &'a RequestRecord, out: &mut Vec<Attr<'a>>) {
    out.push((Cow::Borrowed("url.scheme"), rec.scheme.into()));
    let version = rec.version.strip_prefix("HTTP/").unwrap_or(rec.version);
    out.push((Cow::Borrowed("network.protocol.version"), version.into()));
}

/// `gen_ai.provider.name` of the OpenTelemetry GenAI conventions for a sluice provider name.
pub fn semconv_provider(provider: &str) -> &str {
    match provider {
        "gemini" => "gcp.gemini",
        "vertex" => "gcp.vertex_ai",
        "bedrock" => "aws.bedrock",
        "azure" => "azure.ai.openai",
        "mistral" => "mistral_ai",
        "xai" => "x_ai",
        other => other,
    }
}

/// The GenAI semantic-convention attributes of an LLM request (spans without `fields.add`).
pub fn genai_attributes<'a>(rec: &'a RequestRecord, out: &mut Vec<Attr<'a>>) {
    let Some(llm) = &rec.llm else {
        return;
    };
    let mut push = |k: &'static str, v: AttrValue<'a>| out.push((Cow::Borrowed(k), v));
    let operation = if rec.path.trim_end_matches('/').ends_with("/embeddings") {
        "embeddings"
    } else {
        "chat"
    };
    push("gen_ai.operation.name", operation.into());
    push(
        "gen_ai.provider.name",
        semconv_provider(&llm.provider).into(),
    );
    push("gen_ai.request.model", llm.request_model.as_str().into());
    if let Some(m) = &llm.response_model {
        push("gen_ai.response.model", m.as_str().into());
    }
    if let Some(t) = llm.input_tokens {
        push("gen_ai.usage.input_tokens", t.into());
    }
    if let Some(t) = llm.output_tokens {
        push("gen_ai.usage.output_tokens", t.into());
    }
    // Parts of `input_tokens`, which counts them too, as the conventions say.
    if let Some(t) = llm.cached_input_tokens {
        push("gen_ai.usage.cache_read.input_tokens", t.into());
    }
    if let Some(t) = llm.cache_creation_input_tokens {
        push("gen_ai.usage.cache_creation.input_tokens", t.into());
    }
    if let Some(t) = llm.reasoning_tokens {
        push("gen_ai.usage.reasoning.output_tokens", t.into());
    }
    if !llm.finish_reasons.is_empty() {
        push(
            "gen_ai.response.finish_reasons",
            AttrValue::StrList(llm.finish_reasons.clone()),
        );
    }
    for (name, value) in &llm.params {
        let key = match name.as_str() {
            "max_completion_tokens" => "max_tokens",
            "stop" => "stop_sequences",
            "n" => "choice.count",
            other => other,
        };
        let value = match value {
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => AttrValue::Int(i),
                None => AttrValue::Float(n.as_f64().unwrap_or_default()),
            },
            serde_json::Value::String(s) => AttrValue::StrList(vec![s.clone()]),
            serde_json::Value::Array(items) => AttrValue::StrList(
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect(),
            ),
            serde_json::Value::Bool(b) => AttrValue::Bool(*b),
            _ => continue,
        };
        out.push((Cow::Owned(format!("gen_ai.request.{key}")), value));
    }
}

/// Removes every attribute named in `remove`.
pub fn apply_remove(attrs: &mut Vec<Attr<'_>>, remove: &[String]) {
    if !remove.is_empty() {
        attrs.retain(|(k, _)| !remove.iter().any(|r| r == k));
    }
}

/// Appends `fields` (CEL results) to `attrs`; a field with the name of a standard attribute
/// replaces it in place.
pub fn merge_fields<'a>(attrs: &mut Vec<Attr<'a>>, fields: Vec<Attr<'a>>) {
    for (k, v) in fields {
        match attrs.iter_mut().find(|(existing, _)| *existing == k) {
            Some(slot) => slot.1 = v,
            None => attrs.push((k, v)),
        }
    }
}
