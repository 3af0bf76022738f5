//! The OpenAI Responses front door (`POST .../responses`, and the stored-response calls
//! `GET`/`DELETE .../responses/{id}`, `.../responses/{id}/input_items`,
//! `POST .../responses/input_tokens`).
//!
//! - Native: to `openai` and `azure`, the body passes with the documented edits and the answer
//!   and stream come back as they are.
//! - Across formats ([`to_hub`], [`from_hub`], [`stream`]): to every other provider, the
//!   request becomes the hub's OpenAI [`crate::openai::ChatRequest`] and the hub's answer a
//!   `response` object (or the Responses event stream) again.

mod echo;
mod facts;
mod from_hub;
mod input;
pub mod native;
mod stream;
mod thinking;
mod to_hub;
mod tools;

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::request::{present, Facts};
use crate::TranslateError;

pub use echo::Echo;
pub use facts::{response_facts, Passthrough};
pub use from_hub::{error_body, error_from_hub, response_from_hub, stream_error_event};
pub use native::FORWARDED_HEADERS;
pub use stream::FromHubStream;
pub use to_hub::request_to_hub;
pub use tools::{ToolKind, ToolMap};

/// What the gateway reads of a Responses body before choosing an upstream; `input` items are
/// counted, not read.
#[derive(Deserialize)]
struct View<'a> {
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default, borrow)]
    input: Option<&'a RawValue>,
    #[serde(default)]
    temperature: Option<f64>,
    #[serde(default)]
    top_p: Option<f64>,
    #[serde(default)]
    max_output_tokens: Option<u64>,
    #[serde(default, borrow)]
    reasoning: Option<ReasoningView<'a>>,
}

#[derive(Deserialize)]
struct ReasoningView<'a> {
    #[serde(default, borrow)]
    effort: Option<Cow<'a, str>>,
}

/// Reads the request's facts; the error names what is wrong, for a 400.
pub(crate) fn read(body: &[u8]) -> Result<Facts, TranslateError> {
    let v: View<'_> = crate::json::from_body(body).map_err(TranslateError::InvalidRequest)?;
    let message_count = match v.input {
        None => 0,
        Some(raw) => match raw.get().as_bytes().first() {
            Some(b'[') => serde_json::from_str::<Vec<&RawValue>>(raw.get())
                .map_err(|e| TranslateError::InvalidRequest(format!("`input`: {e}")))?
                .len(),
            Some(b'"') => 1,
            _ => {
                return Err(TranslateError::InvalidRequest(
                    "`input` must be a string or a list of items".to_string(),
                ))
            }
        },
    };
    let params = present([
        ("temperature", v.temperature.map(Value::from)),
        ("top_p", v.top_p.map(Value::from)),
        ("max_output_tokens", v.max_output_tokens.map(Value::from)),
        (
            "reasoning_effort",
            v.reasoning
                .and_then(|r| r.effort)
                .map(|e| Value::from(e.as_ref())),
        ),
    ]);
    Ok(Facts {
        model: v.model.map(Cow::into_owned).unwrap_or_default(),
        stream: v.stream.unwrap_or(false),
        // Usage is in every Responses stream.
        include_usage: true,
        message_count,
        params,
    })
}
