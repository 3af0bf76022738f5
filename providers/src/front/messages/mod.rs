//! The Anthropic Messages front door (`POST .../messages`, `?beta=true` allowed, and
//! `.../messages/count_tokens`).
//!
//! - Native ([`native`]): to Anthropic, and to Claude on Vertex AI and on Bedrock, the body
//!   passes with the few edits each of those APIs needs, the answer and stream come back as
//!   they are, and telemetry reads its facts from them ([`crate::anthropic::facts`]).
//! - Across formats ([`to_hub`], [`from_hub`], [`stream`]): to every other provider, the request
//!   becomes the hub's OpenAI [`crate::openai::ChatRequest`] and the hub's answer becomes an
//!   Anthropic answer again.

pub mod betas;
mod from_hub;
pub mod native;
mod prompt;
mod stream;
mod to_hub;
mod turns;

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::request::{present, Facts};
use crate::TranslateError;

pub use from_hub::{error_body as error_of_type, error_from_openai, error_type};
pub use from_hub::{response_from_openai, stop_reason};
pub use native::ClaudeSite;
pub use prompt::{prompt, prompt_of};
pub use stream::{AnthropicStream, FromHubStream};
pub use to_hub::request_to_openai;

/// The client's headers that reach a provider speaking Messages natively.
pub const FORWARDED_HEADERS: &[&str] = &["anthropic-beta", "anthropic-version"];

/// An error the gateway makes, in Anthropic's shape.
pub fn error_body(status: u16, message: &str) -> Vec<u8> {
    from_hub::error_body(error_type(status), message)
}

/// What the gateway reads of a Messages body before choosing an upstream; nested values are
/// not parsed.
#[derive(Deserialize)]
struct View<'a> {
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(borrow)]
    messages: Vec<&'a RawValue>,
    #[serde(default)]
    max_tokens: Option<u64>,
    #[serde(default)]
    temperature: Option<f64>,
    #[serde(default)]
    top_p: Option<f64>,
    #[serde(default)]
    top_k: Option<u64>,
    #[serde(default)]
    stop_sequences: Option<Value>,
}

/// Reads the request's facts; the error names what is wrong, for a 400.
pub(crate) fn read(body: &[u8]) -> Result<Facts, TranslateError> {
    let v: View<'_> = crate::json::from_body(body).map_err(TranslateError::InvalidRequest)?;
    let params = present([
        ("max_tokens", v.max_tokens.map(Value::from)),
        ("temperature", v.temperature.map(Value::from)),
        ("top_p", v.top_p.map(Value::from)),
        ("top_k", v.top_k.map(Value::from)),
        ("stop_sequences", v.stop_sequences.filter(|s| !s.is_null())),
    ]);
    Ok(Facts {
        model: v.model.map(Cow::into_owned).unwrap_or_default(),
        stream: v.stream.unwrap_or(false),
        // Usage is in every Messages stream.
        include_usage: true,
        message_count: v.messages.len(),
        params,
    })
}

/// `messages/count_tokens` answered by the gateway: the request's input tokens, counted with
/// tiktoken over its messages, system prompt and tool definitions (an estimate: each provider
/// tokenizes its own way).
pub fn count_tokens(body: &[u8]) -> Result<Vec<u8>, TranslateError> {
    read(body)?;
    let v: Value = crate::json::from_body(body).map_err(TranslateError::InvalidRequest)?;
    let turns = prompt_of(&v);
    let mut n = crate::tokens::estimate_prompt(turns.iter().map(|(r, t)| (r.as_str(), t.as_str())));
    for tool in v
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for key in ["name", "description"] {
            if let Some(s) = tool.get(key).and_then(Value::as_str) {
                n += crate::tokens::estimate(s);
            }
        }
        if let Some(schema) = tool.get("input_schema") {
            n += crate::tokens::estimate(&schema.to_string());
        }
    }
    Ok(serde_json::json!({ "input_tokens": n })
        .to_string()
        .into_bytes())
}
