//! AWS Bedrock through its model-independent Converse API (`POST /model/{modelId}/converse`,
//! and `/converse-stream` answering in the binary event stream of [`eventstream`]),
//! translated from and to OpenAI Chat Completions (the hub). Signing (SigV4) is the gateway's.
//!
//! Each field of the hub request (see [`crate::openai`]), and what becomes of it:
//!
//! - `messages`: system and developer messages → `system` text blocks; user and assistant
//!   messages → `messages` with `text`, `image` (base64 data URLs only: Converse takes no
//!   image URLs) and `toolUse` blocks; tool messages → `toolResult` blocks (text, JSON or
//!   images) of a user turn. Consecutive turns of one role are merged, as Bedrock wants roles
//!   to alternate. A message's `name` and an image's `detail` are ignored (Converse has no
//!   place for them; the name of a tool result's function is known from its id).
//! - `cache_control` on a content part (system text, user and assistant text, images, tool
//!   results) → a `{"cachePoint":{"type":"default"}}` block right after that part's block;
//!   on a tool (`tools[].cache_control`) → a `cachePoint` entry right after that tool in
//!   `toolConfig.tools`. Its `ttl` (`5m`, `1h`) is kept; any other `ttl` or `type` is a 400.
//! - an assistant message's `thinking_blocks` → `reasoningContent` blocks first in its turn:
//!   `{"reasoningText":{"text","signature"}}` for `thinking`, `{"redactedContent":data}` for
//!   `redacted_thinking`. Gemini's (signature `sluice:gemini:...`) are left out: they are
//!   valid only on Gemini. Its `reasoning_content` is not sent: the thinking goes back as the
//!   signed blocks of `thinking_blocks`, which carry the same text (Claude refuses unsigned
//!   thinking).
//! - `max_completion_tokens` (else `max_tokens`) → `inferenceConfig.maxTokens`;
//!   `temperature` → `inferenceConfig.temperature`; `top_p` → `inferenceConfig.topP`;
//!   `stop` → `inferenceConfig.stopSequences`; `stream` → `converse-stream`.
//! - `tools` → `toolConfig.tools` (`toolSpec`); `tool_choice` → `toolConfig.toolChoice`
//!   (`auto` → `auto`, `required` → `any`, a function → `tool`). `none`: Converse has no such
//!   choice, so the tools are left out, unless the conversation already holds tool calls
//!   (Bedrock then requires `toolConfig`), in which case they stay without a choice (the
//!   model may call them).
//! - Claude models (`anthropic.claude` in the model id): `thinking` and `reasoning_effort` →
//!   `additionalModelRequestFields.thinking` and `additionalModelRequestFields.output_config
//!   .effort`, as [`crate::anthropic::thinking::claude_thinking`] gives them, with
//!   `inferenceConfig.maxTokens` raised above a thinking budget (from
//!   [`crate::anthropic::DEFAULT_MAX_TOKENS`] when the client sets none); `top_k` →
//!   `additionalModelRequestFields.top_k`.
//! - Other models: `thinking` and `reasoning_effort` are ignored: Converse has no reasoning
//!   field common to its models, and each family that reasons takes its own switch (or none)
//!   in `additionalModelRequestFields`; `top_k` is refused (no common field either).
//! - Ignored, as their loss cannot change the answer: `seed` (Converse has no seed; without
//!   it the answer is one sample of the same distribution), `user` and `safety_identifier`
//!   (end-user ids for OpenAI's abuse monitoring, not read by the model), `store` and
//!   `metadata` (OpenAI's storage of completions and its tags), `service_tier` (latency and
//!   price, not the answer), `prompt_cache_key` and `prompt_cache_retention` (OpenAI's cache
//!   routing and retention), `stream_options` (usage is always read, and sent when
//!   `include_usage`), and `n: 1`, `response_format: text`, `presence_penalty: 0`,
//!   `frequency_penalty: 0`, `parallel_tool_calls: true`, `logprobs: false` (the defaults).
//! - Refused with a 400 naming the field: `n > 1`, `response_format` other than text,
//!   non-zero `presence_penalty` or `frequency_penalty`, `top_k` for non-Claude models,
//!   `parallel_tool_calls: false`, `logprobs: true`, and every other field
//!   (`logit_bias`, `top_logprobs`, `audio`, `modalities`, `functions`, ...).
//!
//! Answers: text blocks joined, `toolUse` blocks → `tool_calls`, `reasoningContent` blocks →
//! `reasoning_content` (their texts joined) and `thinking_blocks` (the signed and the redacted
//! ones), `stopReason` → `finish_reason`. Usage: Bedrock's `inputTokens` leaves out cached
//! tokens, OpenAI's `prompt_tokens` includes them, so prompt tokens are `inputTokens +
//! cacheReadInputTokens + cacheWriteInputTokens`; `cacheReadInputTokens` are the cached
//! tokens, `cacheWriteInputTokens` the cache writes.

pub mod eventstream;
pub mod invoke;
mod request;
mod response;
mod stream;

pub(crate) use request::encode_path_segment;
pub use request::translate_request;
pub(crate) use response::{
    exception_status, finish_reason, redacted_block, thinking_block, usage_from, TokenUsage,
};
pub use response::{translate_error, translate_response};

pub use stream::BedrockStream;
