//! Golden tests of the Bedrock translation, from the files in `tests/fixtures/bedrock/`:
//! - `<case>.request.json` (OpenAI request) -> `<case>.upstream.json` (Converse body), path below;
//! - `<case>.bedrock-response.json` -> `<case>.openai-response.json`;
//! - `<case>.events.json` (`[message type, event/exception type, payload]` triples, encoded
//!   here into binary event stream frames) -> `<case>.openai.sse`, also split at every size;
//! - `<case>.bedrock-error.{json,txt}` -> `<case>.openai-error.json`.
//!
//! `BLESS=1 cargo test -p sluice-providers --test bedrock_golden` rewrites the expected files
//! (to review by hand). JSON is compared as `serde_json::Value`; SSE event by event.

#[path = "../common/mod.rs"]
mod common;
mod support;

mod errors;
mod no_panic;
mod request_features;
mod requests;
mod responses;
mod streams;
