//! Anthropic Messages API (`POST /v1/messages`), translated from and to OpenAI Chat Completions
//! (the hub, [`crate::openai`]), for Anthropic and for Claude on Vertex ([`crate::vertex`]).
//!
//! # Requests: each hub field and what becomes of it
//!
//! Mapped:
//! - `model`: the backend's model.
//! - `messages`: `system` and `developer` messages, wherever they stand, become the top-level
//!   `system`: a string (messages joined by blank lines, a message's parts by newlines), or
//!   text blocks, one per part, when any part or message carries `cache_control`. `user`
//!   messages become user turns of `text`, `image` (`data:` URLs inline, http(s) URLs by
//!   reference) and `document` (PDF `file_data`) blocks. `assistant` messages become assistant
//!   turns: `thinking_blocks` first, then `text` (text and `refusal` parts), then a `tool_use`
//!   per `tool_calls` entry (arguments that are not a JSON object become `{}`). `tool` messages
//!   become `tool_result` blocks at the head of the next user turn: string content as a string,
//!   parts as blocks (text, image, document). Consecutive turns of one role are merged, since
//!   Anthropic requires user and assistant turns to alternate.
//! - `messages[].thinking_blocks` (assistant): `{"type":"thinking","thinking","signature"}` and
//!   `{"type":"redacted_thinking","data"}` blocks, text, signature and data exactly as given.
//! - `cache_control` (hub extension): on a content part → on its block (text, image, document,
//!   also inside a `tool_result`); on a message → on the message's last block (a `tool`
//!   message's `tool_result`; never a thinking block, which Anthropic does not let be marked);
//!   on a tool → on the Anthropic tool.
//! - `max_completion_tokens`, else `max_tokens`, else [`DEFAULT_MAX_TOKENS`] → `max_tokens`
//!   (Anthropic requires one), raised above a thinking budget ([`thinking`]).
//! - `reasoning_effort`, `thinking` (hub extension) → `thinking` and `output_config.effort`, by
//!   [`thinking::claude_thinking`] (a budget, or adaptive thinking on Claude 4.6 and later).
//! - `temperature`, `top_p`, `top_k` (hub extension), `stream`: same names. `stop` →
//!   `stop_sequences`.
//! - `tools` (type `function`) → `tools`: `name`, `description`, `parameters` as
//!   `input_schema` (`{}` when absent), `strict`, `cache_control`. `tool_choice` →
//!   `tool_choice`: `auto`, `required` → `any`, `none`, a named function → `tool`.
//!   `parallel_tool_calls: false` → `tool_choice.disable_parallel_tool_use`. Without tools no
//!   `tool_choice` is sent (Anthropic refuses one; no call can be made anyway).
//! - `response_format` `{"type":"json_schema","json_schema":{"schema"}}` →
//!   `output_config.format` `{"type":"json_schema","schema"}`; `{"type":"text"}` → nothing (the
//!   default).
//! - `user` → `metadata.user_id`.
//! - `stream_options.include_usage`: honoured by the stream translation (the usage chunk).
//!
//! Ignored, as their loss cannot change the answer:
//! - `seed`: Anthropic has none, and sampling is not reproducible across providers anyway.
//! - `presence_penalty`, `frequency_penalty` at `0`: no penalty, which is what Anthropic does.
//! - `store`, `metadata` (OpenAI's stored-completion tags), `service_tier`,
//!   `prompt_cache_key`, `prompt_cache_retention`, `safety_identifier`: OpenAI account
//!   features (storage, billing tier, its own cache routing, abuse monitoring).
//! - `stream_options` other than `include_usage` (e.g. `include_obfuscation`): stream framing.
//! - Top-level fields set to `null`, and `logprobs: false`, `top_logprobs: 0`,
//!   `logit_bias: {}`, `modalities: ["text"]`: they ask for nothing.
//! - `response_format.json_schema.name` and `.strict`: the name only labels the schema, and
//!   Anthropic's structured output is always strict.
//! - `messages[].reasoning_content` (assistant): thinking goes back to Anthropic only as signed
//!   `thinking_blocks` (unsigned thinking is refused by Anthropic), and with them it repeats
//!   their text.
//! - Thinking blocks Anthropic cannot verify: without a signature (or `data`), signed by
//!   another provider (signatures starting with `sluice:gemini:` are Gemini's thought
//!   signatures carried by sluice), or of another type. Anthropic would refuse them, and it
//!   drops the thinking of earlier turns from the context anyway.
//! - `cache_control` on a part that makes no block (an empty text) goes on the block before
//!   it in the same message, and is dropped when there is none: a cache breakpoint changes
//!   cost and latency, never the answer.
//! - `messages[].name`: Anthropic turns have no author name.
//! - `image_url.detail`: Anthropic sizes images itself.
//!
//! Refused, with a 400 that names the field ([`crate::error::no_counterpart`]):
//! - `n` > 1 (one choice per request); non-zero `presence_penalty` or `frequency_penalty`;
//!   `response_format` `json_object` (Anthropic constrains output to a schema only) or any
//!   other type; `response_format.json_schema.description`.
//! - Every other top-level field: `logprobs`, `top_logprobs`, `logit_bias`, `audio`,
//!   `modalities` (other than text), `prediction`, `web_search_options`, `verbosity`, legacy
//!   `functions` / `function_call`, and any field sluice does not know.
//! - Fields of a tool other than `type`, `function`, `cache_control`, and of its function
//!   other than `name`, `description`, `parameters`, `strict`; tools of a type other than
//!   `function`.
//! - `function` messages; content parts other than text, `image_url` and `file` (user and
//!   tool messages), text and `refusal` (assistant), text (system); files other than PDF
//!   `file_data`; image URLs other than base64 `data:` and http(s).
//!
//! # Responses, streams, errors
//!
//! - Responses: text blocks joined into `content`; `tool_use` blocks become `tool_calls`;
//!   `thinking` blocks' texts joined into `reasoning_content`, and every `thinking` /
//!   `redacted_thinking` block, signature and data as given, into `thinking_blocks`.
//!   Anthropic's `input_tokens` excludes cache reads and writes, while OpenAI's
//!   `prompt_tokens` includes them: `prompt_tokens = input + cache_read + cache_creation`,
//!   with `cache_read` as `prompt_tokens_details.cached_tokens` and `cache_creation` as
//!   `prompt_tokens_details.cache_write_tokens`. The 1-hour part of the writes
//!   (`usage.cache_creation.ephemeral_1h_input_tokens`) has no place there: it stays in the
//!   facts ([`crate::Usage::cache_write_1h_tokens`]), for pricing.
//! - Streams ([`AnthropicUpstreamStream`]): `thinking_delta` → `delta.reasoning_content`;
//!   `signature_delta` → `delta.thinking_blocks: [{"type":"thinking","thinking":"",
//!   "signature"}]` (closing the thinking streamed before it); a `redacted_thinking` block →
//!   `delta.thinking_blocks: [{"type":"redacted_thinking","data"}]`.
//! - Errors: `{"type":"error","error":{"type","message"}}` becomes an OpenAI error whose `code`
//!   is Anthropic's error type.

pub mod facts;
mod request;
mod response;
mod stream;
pub mod thinking;
mod wire;

pub use request::translate_request;
pub(crate) use response::usage_from;
use response::{error_body, error_status, finish_reason, tool_arguments};
pub use response::{translate_error, translate_response};

/// `max_tokens` sent when the client sets neither `max_completion_tokens` nor `max_tokens`.
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

/// The `anthropic-version` header value every request carries.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

pub use stream::AnthropicUpstreamStream;
