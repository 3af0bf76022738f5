//! The OpenAI Chat Completions front door. Its request view, its native pass-through to
//! OpenAI, Azure OpenAI and the OpenAI-compatible presets, and its error shape. The hub itself
//! is this API ([`crate::openai::ChatRequest`]), so answers through the hub need no reshaping.
//!
//! Native pass-through edits (nothing else of the body changes; see `docs/providers.md`):
//! - `model` is set to the model called when the backend pins one or the route aliases it;
//! - a stream gets `stream_options.include_usage: true`, so usage is always counted (the usage
//!   chunk is taken out again for a client that did not ask for it).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::edit::{self, TopLevel};
use crate::error::{openai_error_body, openai_error_type};
use crate::request::{present, Facts};
use crate::{ProviderKind, RequestTarget, TranslateError, UpstreamRequest};

/// What the gateway reads of a chat completions body before choosing an upstream. Nested
/// values are not parsed (messages are counted, not read).
#[derive(Deserialize)]
pub(crate) struct View<'a> {
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptionsView>,
    #[serde(borrow)]
    messages: Vec<&'a RawValue>,
    #[serde(default)]
    temperature: Option<f64>,
    #[serde(default)]
    top_p: Option<f64>,
    #[serde(default)]
    max_tokens: Option<u64>,
    #[serde(default)]
    max_completion_tokens: Option<u64>,
    #[serde(default)]
    n: Option<u32>,
    #[serde(default)]
    presence_penalty: Option<f64>,
    #[serde(default)]
    frequency_penalty: Option<f64>,
    #[serde(default)]
    seed: Option<i64>,
    #[serde(default)]
    stop: Option<Value>,
    #[serde(default, borrow)]
    reasoning_effort: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct StreamOptionsView {
    #[serde(default)]
    include_usage: Option<bool>,
}

/// Reads the request's facts; the error names what is wrong, for a 400.
pub(crate) fn read(body: &[u8]) -> Result<Facts, TranslateError> {
    let v: View<'_> = crate::json::from_body(body).map_err(TranslateError::InvalidRequest)?;
    let params = present([
        ("temperature", v.temperature.map(Value::from)),
        ("top_p", v.top_p.map(Value::from)),
        ("max_tokens", v.max_tokens.map(Value::from)),
        (
            "max_completion_tokens",
            v.max_completion_tokens.map(Value::from),
        ),
        ("n", v.n.map(Value::from)),
        ("presence_penalty", v.presence_penalty.map(Value::from)),
        ("frequency_penalty", v.frequency_penalty.map(Value::from)),
        ("seed", v.seed.map(Value::from)),
        ("stop", v.stop.filter(|s| !s.is_null())),
        (
            "reasoning_effort",
            v.reasoning_effort.map(|e| Value::from(e.as_ref())),
        ),
    ]);
    Ok(Facts {
        model: v.model.map(Cow::into_owned).unwrap_or_default(),
        stream: v.stream.unwrap_or(false),
        include_usage: v
            .stream_options
            .and_then(|o| o.include_usage)
            .unwrap_or(false),
        message_count: v.messages.len(),
        params,
    })
}

/// The request for an OpenAI-speaking provider: the client's body with the edits of the
/// module docs. `include_usage` says whether the client already asked for stream usage.
pub(crate) fn native_request(
    provider: ProviderKind,
    body: &[u8],
    client_model: &str,
    stream: bool,
    include_usage: bool,
    target: &RequestTarget<'_>,
) -> Result<UpstreamRequest, TranslateError> {
    let path = match provider {
        ProviderKind::Azure => crate::registry::azure_path(target, "chat/completions")?,
        _ => crate::openai::CHAT_COMPLETIONS_PATH.to_string(),
    };
    let rename = target.model != client_model;
    let ask_usage = stream && !include_usage;
    if !rename && !ask_usage {
        // Nothing to edit: the body was read once already (its facts), not again.
        return Ok(UpstreamRequest::new(path, body.to_vec()));
    }
    let mut top = TopLevel::parse(body)?;
    if rename {
        top.set("model", &target.model);
    }
    if ask_usage {
        let mut options = match top.get("stream_options") {
            Some(raw) => serde_json::from_str::<Map<String, Value>>(raw.get()).unwrap_or_default(),
            None => Map::new(),
        };
        options.insert("include_usage".to_string(), Value::Bool(true));
        top.set("stream_options", &options);
    }
    Ok(UpstreamRequest::new(path, edit::finish(&top, body)))
}

/// An error the gateway makes, in OpenAI's shape (`code` set for the statuses it names).
pub fn error_body(status: u16, message: &str) -> Vec<u8> {
    let code = match status {
        404 => Some("not_found"),
        408 => Some("request_timeout"),
        413 => Some("request_too_large"),
        502 => Some("upstream_unavailable"),
        504 => Some("upstream_timeout"),
        _ => None,
    };
    openai_error_body(message, openai_error_type(status), code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn target(model: &str) -> RequestTarget<'_> {
        RequestTarget {
            model,
            ..RequestTarget::default()
        }
    }

    #[test]
    fn the_body_goes_as_it_came_when_nothing_needs_editing() {
        let raw = br#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],  "x":1}"#;
        let f = read(raw).unwrap();
        assert_eq!(
            (f.model.as_str(), f.stream, f.message_count),
            ("gpt-4o", false, 1)
        );
        let up = native_request(
            ProviderKind::OpenAi,
            raw,
            &f.model,
            false,
            false,
            &target("gpt-4o"),
        )
        .unwrap();
        assert_eq!(up.body, raw.to_vec(), "byte for byte, spacing and all");
        assert_eq!(up.path, "/v1/chat/completions");
    }

    #[test]
    fn a_pinned_model_and_stream_usage_are_the_only_edits() {
        let raw = br#"{"model":"a","stream":true,"stream_options":{"x":2},"messages":[],"logit_bias":{"1":2}}"#;
        let f = read(raw).unwrap();
        let up = native_request(
            ProviderKind::OpenAi,
            raw,
            &f.model,
            true,
            false,
            &target("b"),
        )
        .unwrap();
        let body: Value = serde_json::from_slice(&up.body).unwrap();
        assert_eq!(
            body,
            json!({"model":"b","stream":true,"stream_options":{"x":2,"include_usage":true},"messages":[],"logit_bias":{"1":2}})
        );
    }

    #[test]
    fn azure_calls_the_deployment_with_its_api_version() {
        let raw = br#"{"messages":[{"role":"user","content":"hi"}]}"#;
        let up = native_request(
            ProviderKind::Azure,
            raw,
            "",
            false,
            false,
            &target("my-gpt4o"),
        )
        .unwrap();
        assert_eq!(
            up.path,
            "/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21"
        );
        for bad in [
            "",
            "..",
            "a/../../openai/files",
            "a?api-version=1",
            "a#",
            "a b",
        ] {
            let err = native_request(ProviderKind::Azure, raw, "", false, false, &target(bad))
                .unwrap_err();
            assert!(
                matches!(err, TranslateError::InvalidRequest(_)),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn bad_bodies_are_named() {
        let err = read(br#"{"messages":"x"}"#).unwrap_err().to_string();
        assert!(err.contains("invalid type"), "{err}");
        let err = read(br#"{"model":"m"}"#).unwrap_err().to_string();
        assert!(err.contains("missing field `messages`"), "{err}");
    }
}
