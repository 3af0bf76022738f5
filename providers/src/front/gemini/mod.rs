//! The Gemini front door (`.../models/{model}:generateContent`, `:streamGenerateContent` with
//! `?alt=sse` or as a JSON array, `:countTokens`; under `v1` and `v1beta`).
//!
//! - Native: to `gemini` and to Gemini models on `vertex`, the body passes as it came (the
//!   model is in the path) and the answer and stream come back as they are.
//! - Across formats ([`to_hub`], [`from_hub`], [`stream`]): to every other provider, the
//!   request becomes the hub's OpenAI [`crate::openai::ChatRequest`] and the hub's answer a
//!   `GenerateContentResponse` (or its stream) again.

pub mod call;
mod framing;
mod from_hub;
pub mod native;
mod stream;
mod to_hub;

pub use from_hub::{error_body, error_from_hub, error_status, response_from_hub};
pub use stream::FromHubStream;
pub use to_hub::request_to_hub;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::request::{present, Facts};
use crate::TranslateError;

pub use call::{GeminiCall, Method};
pub use native::GeminiSite;

/// What the gateway reads of a Gemini body before choosing an upstream (the model and the
/// method are in the path); `contents` are counted, not read. The REST API takes both the
/// JSON (camelCase) and the proto (snake_case) spellings.
#[derive(Deserialize)]
struct View<'a> {
    #[serde(default, borrow)]
    contents: Option<Vec<&'a RawValue>>,
    #[serde(default, alias = "generation_config")]
    #[serde(rename = "generationConfig")]
    generation_config: Option<ConfigView>,
}

#[derive(Deserialize)]
struct ConfigView {
    #[serde(default)]
    temperature: Option<f64>,
    #[serde(default, rename = "topP", alias = "top_p")]
    top_p: Option<f64>,
    #[serde(default, rename = "topK", alias = "top_k")]
    top_k: Option<f64>,
    #[serde(default, rename = "maxOutputTokens", alias = "max_output_tokens")]
    max_output_tokens: Option<u64>,
    #[serde(default, rename = "candidateCount", alias = "candidate_count")]
    candidate_count: Option<u64>,
    #[serde(default, rename = "stopSequences", alias = "stop_sequences")]
    stop_sequences: Option<Value>,
    #[serde(default)]
    seed: Option<i64>,
}

/// Reads the request's facts (the model and stream from the call's path); the error names
/// what is wrong, for a 400.
pub(crate) fn read(body: &[u8], call: &GeminiCall) -> Result<Facts, TranslateError> {
    let v: View<'_> = crate::json::from_body(body).map_err(TranslateError::InvalidRequest)?;
    let c = v.generation_config;
    let c = c.as_ref();
    let params = present([
        (
            "temperature",
            c.and_then(|c| c.temperature).map(Value::from),
        ),
        ("top_p", c.and_then(|c| c.top_p).map(Value::from)),
        ("top_k", c.and_then(|c| c.top_k).map(Value::from)),
        (
            "max_output_tokens",
            c.and_then(|c| c.max_output_tokens).map(Value::from),
        ),
        (
            "candidate_count",
            c.and_then(|c| c.candidate_count).map(Value::from),
        ),
        (
            "stop_sequences",
            c.and_then(|c| c.stop_sequences.clone())
                .filter(|s| !s.is_null()),
        ),
        ("seed", c.and_then(|c| c.seed).map(Value::from)),
    ]);
    Ok(Facts {
        model: call.model.clone(),
        stream: call.stream(),
        // Usage is in every Gemini stream's last response.
        include_usage: true,
        message_count: v.contents.map_or(0, |c| c.len()),
        params,
    })
}
