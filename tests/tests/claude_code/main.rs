//! Claude Code itself as the client, end to end: the real `claude` CLI (npm
//! `@anthropic-ai/claude-code`, pinned by `scripts/test.sh`, binary in `$CLAUDE_BIN`), run
//! offline with `ANTHROPIC_BASE_URL` at a sluice route, against a mock of each upstream:
//! Anthropic, Claude on Vertex AI and Claude on Bedrock (the Messages request passed natively)
//! and OpenAI and Gemini (translated). Plus one run where the model calls Claude Code's Bash
//! tool and Claude Code sends the result back.
//!
//! A recording forwarder ([`Tap`]) sits between Claude Code and the gateway, so every test
//! compares Claude Code's own request with what reached the upstream: byte for byte to
//! Anthropic, equal but for the documented edits to Vertex and Bedrock
//! (`providers/src/front/messages/native.rs`), and in the mapped form for OpenAI and Gemini.
//! Each test also checks Claude Code's answer (`result` of `--output-format json`), its usage,
//! and the gateway's log line and OTLP span with the mock's cache tokens.

mod native;
mod setup;
mod tool_round_trip;
mod translated;
mod upstreams;
