//! Golden tests of the Anthropic provider translation, from the files in
//! `tests/fixtures/anthropic/`:
//! - `<case>.request.json` (OpenAI request) -> `<case>.upstream.json` (Anthropic body), among
//!   them thinking blocks in the history, cache breakpoints, efforts and JSON schemas;
//! - `tool_choice.cases.json`: `tool_choice` / `parallel_tool_calls` -> Anthropic `tool_choice`;
//! - `<case>.anthropic-response.json` -> `<case>.openai-response.json`;
//! - `<case>.anthropic.sse` -> `<case>.openai.sse`, also fed split at every size and at random;
//! - `<case>.anthropic-error.{json,txt}` -> `<case>.openai-error.json`.
//!
//! JSON is compared as `serde_json::Value` (key order is free); SSE event by event.

#[path = "../common/mod.rs"]
mod common;
mod support;

mod errors;
mod no_panic;
mod request_features;
mod requests;
mod responses;
mod streams;
