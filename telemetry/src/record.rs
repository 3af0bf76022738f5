//! The standard attributes of a request, in the seed's order: the log line's keys, and the
//! span's attributes before `url.scheme`, `network.protocol.version` and the CEL fields.

use std::borrow::Cow;

use crate::facts::{hex, RequestRecord};
use crate::metrics::{error_type, upstream_error_kind};
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
        if limit.refused() {
            if let Some(scope) = limit.scopes.first() {
                push("llm.limit.scope", (&**scope).into());
            }
        }
    }
    if !rec.key.is_empty() {
        // The virtual key's id and team (never the key itself).
        push("key.id", rec.key.as_str().into());
        if !rec.team.is_empty() {
            push("key.team", rec.team.as_str().into());
        }
    }
    if let Some(e) = &rec.error {
        push("error", e.as_str().into());
    }
    if let Some(cost) = rec.llm.as_ref().and_then(|l| l.cost) {
        // Last, so that the seed's keys keep their places; 10 significant digits are more
        // than any price has, and hide the float noise of the sum.
        push("llm.cost", AttrValue::Float(significant_digits(cost, 10)));
    }
}

/// `x` rounded to `digits` significant decimal digits: its shortest text (Rust's `Display`
/// for `f64`, never an exponent) then has at most that many.
pub fn significant_digits(x: f64, digits: usize) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    format!("{:.*e}", digits.saturating_sub(1), x)
        .parse()
        .unwrap_or(x)
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

/// `gen_ai.operation.name` for the API the client called: `generate_content` for Gemini's
/// `:generateContent` / `:streamGenerateContent`, `embeddings`, else `chat` (chat completions,
/// Messages, Responses).
pub fn semconv_operation(path: &str) -> &'static str {
    let path = path.trim_end_matches('/');
    if path.ends_with("/embeddings") {
        "embeddings"
    } else if path.ends_with(":generateContent") || path.ends_with(":streamGenerateContent") {
        "generate_content"
    } else {
        "chat"
    }
}

/// The GenAI semantic-convention attributes of an LLM request (spans without `fields.add`):
/// the conventions' inference span as far as a gateway's one server span can carry it. Left
/// out: message content (opt-in in the conventions: a recipe adds it), `server.address` /
/// `server.port` (on a server span they name the gateway itself; `endpoint` names the
/// upstream), `gen_ai.response.id` and `gen_ai.output.type` (not among the facts).
pub fn genai_attributes<'a>(rec: &'a RequestRecord, out: &mut Vec<Attr<'a>>) {
    let Some(llm) = &rec.llm else {
        return;
    };
    let mut push = |k: &'static str, v: AttrValue<'a>| out.push((Cow::Borrowed(k), v));
    push("gen_ai.operation.name", semconv_operation(&rec.path).into());
    push(
        "gen_ai.provider.name",
        semconv_provider(&llm.provider).into(),
    );
    push("gen_ai.request.model", llm.request_model.as_str().into());
    if llm.streaming {
        // "if and only if the request is streaming"
        push("gen_ai.request.stream", true.into());
    }
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
    if let Some(ttft) = llm.time_to_first_token.filter(|_| llm.streaming) {
        push(
            "gen_ai.response.time_to_first_chunk",
            AttrValue::Float(ttft.as_secs_f64()),
        );
    }
    if let Some(e) = error_type(rec, upstream_error_kind(rec)) {
        push("error.type", AttrValue::Str(e));
    }
    request_params(&llm.params, out);
}

/// How a request parameter becomes a `gen_ai.request.*` attribute.
enum Param {
    /// A double in the conventions (`temperature`), whatever the JSON number was.
    Double(&'static str),
    Int(&'static str),
    Strings(&'static str),
    /// `gen_ai.request.choice.count`: only when not 1, as the conventions say.
    ChoiceCount,
    /// Not in the conventions: `gen_ai.request.<name>`, typed as sent.
    Other,
}

fn param(name: &str) -> Param {
    match name {
        "temperature" => Param::Double("gen_ai.request.temperature"),
        "top_p" => Param::Double("gen_ai.request.top_p"),
        "top_k" => Param::Double("gen_ai.request.top_k"),
        "frequency_penalty" => Param::Double("gen_ai.request.frequency_penalty"),
        "presence_penalty" => Param::Double("gen_ai.request.presence_penalty"),
        // each front door's spelling of the same limit
        "max_tokens" | "max_completion_tokens" | "max_output_tokens" => {
            Param::Int("gen_ai.request.max_tokens")
        }
        "seed" => Param::Int("gen_ai.request.seed"),
        "stop" | "stop_sequences" => Param::Strings("gen_ai.request.stop_sequences"),
        "n" | "candidate_count" => Param::ChoiceCount,
        _ => Param::Other,
    }
}

/// The request's parameters as `gen_ai.request.*`, each name once.
fn request_params<'a>(params: &'a [(String, serde_json::Value)], out: &mut Vec<Attr<'a>>) {
    use serde_json::Value as J;
    let strings = |v: &J| match v {
        J::String(s) => Some(vec![s.clone()]),
        J::Array(items) => Some(
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
        ),
        _ => None,
    };
    for (name, value) in params {
        let (key, value): (Cow<'a, str>, Option<AttrValue<'a>>) = match param(name) {
            Param::Double(key) => (key.into(), value.as_f64().map(AttrValue::Float)),
            Param::Int(key) => (key.into(), value.as_i64().map(AttrValue::Int)),
            Param::Strings(key) => (
                key.into(),
                strings(value)
                    .filter(|s| !s.is_empty())
                    .map(AttrValue::StrList),
            ),
            Param::ChoiceCount => (
                "gen_ai.request.choice.count".into(),
                value.as_i64().filter(|n| *n != 1).map(AttrValue::Int),
            ),
            Param::Other => {
                let value = match value {
                    J::Number(n) => match n.as_i64() {
                        Some(i) => Some(AttrValue::Int(i)),
                        None => n.as_f64().map(AttrValue::Float),
                    },
                    J::String(s) => Some(AttrValue::Str(Cow::Borrowed(s))),
                    J::Bool(b) => Some(AttrValue::Bool(*b)),
                    _ => None,
                };
                (format!("gen_ai.request.{name}").into(), value)
            }
        };
        if let Some(value) = value {
            if !out.iter().any(|(k, _)| *k == key) {
                out.push((key, value));
            }
        }
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::facts::{sample_record, LlmFacts};

    fn genai(rec: &RequestRecord) -> Vec<(String, AttrValue<'static>)> {
        let mut out = Vec::new();
        genai_attributes(rec, &mut out);
        out.into_iter()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    fn get<'v>(
        attrs: &'v [(String, AttrValue<'static>)],
        key: &str,
    ) -> Option<&'v AttrValue<'static>> {
        attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn llm(params: Vec<(&str, serde_json::Value)>) -> LlmFacts {
        LlmFacts {
            provider: "gemini".into(),
            request_model: "gemini-2.0-flash".into(),
            response_model: Some("gemini-2.0-flash-001".into()),
            input_tokens: Some(8),
            output_tokens: Some(12),
            finish_reasons: vec!["stop".into()],
            params: params
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            ..LlmFacts::default()
        }
    }

    #[test]
    fn a_streamed_gemini_call_is_generate_content_with_its_first_chunk_time() {
        let mut rec = sample_record();
        rec.path = "/gemini/v1beta/models/gemini-2.0-flash:streamGenerateContent".into();
        rec.llm = Some(LlmFacts {
            streaming: true,
            time_to_first_token: Some(Duration::from_millis(250)),
            ..llm(Vec::new())
        });
        let attrs = genai(&rec);
        let keys: Vec<&str> = attrs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "gen_ai.operation.name",
                "gen_ai.provider.name",
                "gen_ai.request.model",
                "gen_ai.request.stream",
                "gen_ai.response.model",
                "gen_ai.usage.input_tokens",
                "gen_ai.usage.output_tokens",
                "gen_ai.response.finish_reasons",
                "gen_ai.response.time_to_first_chunk",
            ]
        );
        assert_eq!(
            get(&attrs, "gen_ai.operation.name"),
            Some(&"generate_content".into())
        );
        assert_eq!(
            get(&attrs, "gen_ai.provider.name"),
            Some(&"gcp.gemini".into())
        );
        assert_eq!(get(&attrs, "gen_ai.request.stream"), Some(&true.into()));
        assert_eq!(
            get(&attrs, "gen_ai.response.time_to_first_chunk"),
            Some(&AttrValue::Float(0.25))
        );
    }

    #[test]
    fn operation_names_follow_the_api_called() {
        assert_eq!(semconv_operation("/v1/chat/completions"), "chat");
        assert_eq!(semconv_operation("/anthropic/v1/messages"), "chat");
        assert_eq!(semconv_operation("/v1/responses"), "chat");
        assert_eq!(semconv_operation("/v1/embeddings/"), "embeddings");
        assert_eq!(
            semconv_operation("/g/v1/models/m:generateContent"),
            "generate_content"
        );
    }

    #[test]
    fn parameters_take_the_conventions_names_and_types() {
        let mut rec = sample_record();
        rec.llm = Some(llm(vec![
            // an integer temperature is still a double
            ("temperature", json!(1)),
            ("top_k", json!(40)),
            ("max_output_tokens", json!(300)),
            // a second spelling of the same limit does not repeat the attribute
            ("max_tokens", json!(100)),
            ("stop", json!("\n")),
            ("n", json!(1)),
            ("seed", json!(7)),
            ("reasoning_effort", json!("low")),
        ]));
        let attrs = genai(&rec);
        let params: Vec<(&str, &AttrValue)> = attrs
            .iter()
            .filter(|(k, _)| k.starts_with("gen_ai.request.") && k != "gen_ai.request.model")
            .map(|(k, v)| (k.as_str(), v))
            .collect();
        assert_eq!(
            params,
            [
                ("gen_ai.request.temperature", &AttrValue::Float(1.0)),
                ("gen_ai.request.top_k", &AttrValue::Float(40.0)),
                ("gen_ai.request.max_tokens", &AttrValue::Int(300)),
                (
                    "gen_ai.request.stop_sequences",
                    &AttrValue::StrList(vec!["\n".into()])
                ),
                ("gen_ai.request.seed", &AttrValue::Int(7)),
                ("gen_ai.request.reasoning_effort", &"low".into()),
            ],
            "n: 1 is the default and left out"
        );
        rec.llm = Some(llm(vec![("candidate_count", json!(3))]));
        assert_eq!(
            get(&genai(&rec), "gen_ai.request.choice.count"),
            Some(&AttrValue::Int(3))
        );
    }

    #[test]
    fn a_failed_call_names_its_error_type_as_the_metric_does() {
        let mut rec = sample_record();
        rec.llm = Some(llm(Vec::new()));
        assert_eq!(get(&genai(&rec), "error.type"), None);
        rec.status = 504;
        rec.error = Some("upstream timed out".into());
        assert_eq!(get(&genai(&rec), "error.type"), Some(&"timeout".into()));
        rec.status = 400;
        rec.error = Some("upstream returned status 400".into());
        assert_eq!(get(&genai(&rec), "error.type"), Some(&"400".into()));
        // no LLM facts, no GenAI attributes
        rec.llm = None;
        assert!(genai(&rec).is_empty());
    }
}
