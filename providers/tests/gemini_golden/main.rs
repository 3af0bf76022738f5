//! Golden tests of the Gemini translation, from the files in `tests/fixtures/gemini/`:
//! - `<case>.request.json` (OpenAI request) -> `<case>.upstream.json` (Gemini body), path below;
//! - `<case>.gemini-response.json` -> `<case>.openai-response.json`;
//! - `<case>.gemini.sse` -> `<case>.openai.sse`, also fed split at every size and at random;
//! - `<case>.gemini-error.{json,txt}` -> `<case>.openai-error.json`.
//!
//! JSON is compared as `serde_json::Value` (key order is free); SSE event by event.

#[path = "../common/mod.rs"]
mod common;
mod error;
mod no_panic;
mod request;
mod response;
mod stream;
mod support;
