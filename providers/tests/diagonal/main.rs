//! Golden tests of native pass-through on the diagonal (the client speaks the provider's own
//! API), on real-shaped bodies: the Claude Code 2.1.332 captures in
//! `tests/fixtures/claude_code/` (see its README) for Messages to Anthropic, Claude on Vertex
//! AI and Claude on Bedrock, and a realistic Chat Completions request for OpenAI and Azure.
//!
//! Each expected upstream body is the client's body with the edits the module docs of
//! `front::messages::native` and `front::chat` name, written here by hand on the client's
//! JSON; everything else must reach the provider untouched (nested values byte for byte).
//! Answers and streams must reach the client as the provider sent them, but for the named
//! differences (Vertex's `vertex_event`s, Bedrock's event stream and invocation metrics).
//!
//! `thinking_tool_message.json` is hand-written (not captured): the non-streamed answer shaped
//! like the `thinking_tool_stream.sse` one, with a text block and a cache read added.

#[path = "../common/mod.rs"]
mod common;

mod answers;
mod chat;
mod requests;
mod streams;
mod support;
