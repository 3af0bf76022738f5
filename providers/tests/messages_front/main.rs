//! The Anthropic Messages front door: request, response, stream and error translation.

#[path = "../common/mod.rs"]
mod common;

mod claude_code;
mod errors;
mod requests;
mod responses;
mod streams;
