//! The Gemini front door (`.../models/{model}:generateContent`, `:streamGenerateContent` with
//! `?alt=sse` or as a JSON array, `:countTokens`; under `v1` and `v1beta`).
//!
//! - Native: to `gemini` and to Gemini models on `vertex`, the body passes as it came (the
//!   model is in the path) and the answer and stream come back as they are.
//! - Across formats ([`to_hub`], [`from_hub`], [`stream`]): to every other provider, the
//!   request becomes the hub's OpenAI [`crate::openai::ChatRequest`] and the hub's answer a
//!   `GenerateContentResponse` (or its stream) again.

#![allow(dead_code)]

mod from_hub;
mod stream;
mod to_hub;
