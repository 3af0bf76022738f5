//! The hub's answers: OpenAI's chat completion, usage, and stream chunks.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::open_object::open_object;

use super::ToolCall;
use crate::Usage;

/// A chat completion (non-streamed response).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ChatResponse {
    #[serde(default)]
    pub id: String,
    #[serde(default = "completion_object")]
    pub object: String,
    #[serde(default)]
    pub created: u64,
    #[serde(default)]
    pub model: String,
    pub choices: Vec<Choice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<ChatUsage>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn completion_object() -> String {
    "chat.completion".to_string()
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct Choice {
    #[serde(default)]
    pub index: u32,
    pub message: ResponseMessage,
    #[serde(default)]
    pub finish_reason: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ResponseMessage {
    pub role: String,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// The thinking text (a hub extension, see the module docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    /// The thinking blocks with their signatures (a hub extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking_blocks: Option<Vec<Value>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ResponseMessage {
    /// An assistant answer translated from another API: its text (left out when empty and
    /// there are tool calls), tool calls, and thinking (the hub's extensions), each only when
    /// there is some.
    pub fn assistant(
        text: String,
        calls: Vec<ToolCall>,
        reasoning: String,
        thinking_blocks: Vec<Value>,
    ) -> ResponseMessage {
        ResponseMessage {
            role: "assistant".to_string(),
            content: (!text.is_empty() || calls.is_empty()).then_some(text),
            tool_calls: (!calls.is_empty()).then_some(calls),
            reasoning_content: (!reasoning.is_empty()).then_some(reasoning),
            thinking_blocks: (!thinking_blocks.is_empty()).then_some(thinking_blocks),
            ..ResponseMessage::default()
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ChatUsage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub total_tokens: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_tokens_details: Option<CompletionTokensDetails>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PromptTokensDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u64>,
    /// Prompt tokens written to the cache (the OpenAI SDK's name; Anthropic's
    /// `cache_creation_input_tokens`, Bedrock's `cacheWriteInputTokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_tokens: Option<u64>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct CompletionTokensDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
}

impl ChatUsage {
    pub fn from_usage(u: &Usage) -> Self {
        let input = u.input_tokens.unwrap_or(0);
        let output = u.output_tokens.unwrap_or(0);
        ChatUsage {
            prompt_tokens: input,
            completion_tokens: output,
            total_tokens: u
                .total_tokens
                .unwrap_or_else(|| input.saturating_add(output)),
            prompt_tokens_details: (u.cached_input_tokens.is_some()
                || u.cache_creation_input_tokens.is_some())
            .then_some(PromptTokensDetails {
                cached_tokens: u.cached_input_tokens,
                cache_write_tokens: u.cache_creation_input_tokens,
            }),
            completion_tokens_details: u.reasoning_tokens.map(|r| CompletionTokensDetails {
                reasoning_tokens: Some(r),
            }),
        }
    }

    pub fn to_usage(&self) -> Usage {
        Usage {
            input_tokens: Some(self.prompt_tokens),
            output_tokens: Some(self.completion_tokens),
            total_tokens: Some(self.total_tokens),
            cached_input_tokens: self
                .prompt_tokens_details
                .as_ref()
                .and_then(|d| d.cached_tokens),
            cache_creation_input_tokens: self
                .prompt_tokens_details
                .as_ref()
                .and_then(|d| d.cache_write_tokens),
            cache_write_1h_tokens: None,
            reasoning_tokens: self
                .completion_tokens_details
                .as_ref()
                .and_then(|d| d.reasoning_tokens),
            estimated: false,
        }
    }
}

/// One `chat.completion.chunk` of a stream.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct ChatChunk {
    #[serde(default)]
    pub id: String,
    #[serde(default = "chunk_object")]
    pub object: String,
    #[serde(default)]
    pub created: u64,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub choices: Vec<ChunkChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<ChatUsage>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn chunk_object() -> String {
    "chat.completion.chunk".to_string()
}

// Read for every event of every stream: key by key (see `open_object`), not through
// `#[serde(flatten)]`.
open_object!(ChatChunk, "a chat completion chunk (a JSON object)",
    init ChatChunk { object: chunk_object(), ..ChatChunk::default() },
    required {}
    optional {
        "id" => id, "object" => object, "created" => created, "model" => model,
        "choices" => choices, "usage" => usage,
    }
);
open_object!(ChunkChoice, "a chunk choice (a JSON object)",
    required {}
    optional { "index" => index, "delta" => delta, "finish_reason" => finish_reason }
);
open_object!(Delta, "a delta (a JSON object)",
    required {}
    optional {
        "role" => role, "content" => content, "tool_calls" => tool_calls,
        "reasoning_content" => reasoning_content, "thinking_blocks" => thinking_blocks,
    }
);

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct ChunkChoice {
    #[serde(default)]
    pub index: u32,
    #[serde(default)]
    pub delta: Delta,
    #[serde(default)]
    pub finish_reason: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Delta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
    /// A piece of the thinking text (a hub extension, see the module docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    /// Thinking blocks completed by this chunk: a signature (`{"type":"thinking",
    /// "thinking":"","signature"}` closes the thinking streamed before it) or a redacted block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking_blocks: Option<Vec<Value>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ToolCallDelta {
    #[serde(default)]
    pub index: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionCallDelta>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct FunctionCallDelta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
}

/// Serialises one stream chunk as an SSE `data:` event into `out`.
pub fn write_chunk_event(chunk: &ChatChunk, out: &mut Vec<u8>) {
    out.extend_from_slice(b"data: ");
    // Serialising plain structs to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, chunk);
    out.extend_from_slice(b"\n\n");
}

/// The stream terminator of the OpenAI format.
pub const DONE_EVENT: &[u8] = b"data: [DONE]\n\n";

/// A fresh `chatcmpl-` id, for answers whose provider gave none.
pub(crate) fn generated_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("chatcmpl-{:016x}", hasher.finish())
}
