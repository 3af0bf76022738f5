//! The OpenAI Responses front door across formats: request → hub, hub answer → `response`
//! object, hub chunk stream → Responses events, and errors. Goldens live in
//! `tests/fixtures/responses/`; `SLUICE_BLESS=1` rewrites the expected stream files.

#[path = "../common/mod.rs"]
mod common;

mod error;
mod no_panic;
mod request;
mod response;
mod stream;
mod stream_failures;
mod support;
