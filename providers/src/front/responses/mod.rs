//! The OpenAI Responses front door (`POST .../responses`, and the stored-response calls
//! `GET`/`DELETE .../responses/{id}`, `.../responses/{id}/input_items`,
//! `POST .../responses/input_tokens`).
//!
//! - Native: to `openai` and `azure`, the body passes with the documented edits and the answer
//!   and stream come back as they are.
//! - Across formats ([`to_hub`], [`from_hub`], [`stream`]): to every other provider, the
//!   request becomes the hub's OpenAI [`crate::openai::ChatRequest`] and the hub's answer a
//!   `response` object (or the Responses event stream) again.

#![allow(dead_code)]

mod from_hub;
mod stream;
mod to_hub;
