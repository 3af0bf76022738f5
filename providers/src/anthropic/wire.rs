//! Anthropic Messages API wire types: only the fields sluice writes or reads. Field names follow
//! the API reference (`POST /v1/messages` request, `Message` response, stream events, `Usage`);
//! unknown response fields are ignored. Content blocks sluice writes are built as JSON values
//! in `mod.rs` (their shapes differ per block type).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The body of `POST /v1/messages`.
#[derive(Debug, Default, Serialize)]
pub struct MessagesRequest {
    pub model: String,
    pub max_tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<System>,
    pub messages: Vec<Turn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    /// `{"type":"enabled","budget_tokens"}`, `{"type":"adaptive"}` or `{"type":"disabled"}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_config: Option<OutputConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
}

/// The system prompt: a string, or text blocks when some carry `cache_control`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum System {
    Text(String),
    Blocks(Vec<Value>),
}

/// `output_config`: the thinking effort and the answer's format (`{"type":"json_schema",
/// "schema"}`).
#[derive(Debug, Default, Serialize)]
pub struct OutputConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effort: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<Value>,
}

/// One turn: `role` is `user` or `assistant`; `content` a list of content blocks.
#[derive(Debug, Serialize)]
pub struct Turn {
    pub role: &'static str,
    pub content: Vec<Value>,
}

#[derive(Debug, Serialize)]
pub struct Tool {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub input_schema: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<Value>,
}

#[derive(Debug, Serialize)]
pub struct Metadata {
    pub user_id: String,
}

/// A `Message` (the non-streamed response, and the `message` of `message_start`).
#[derive(Debug, Default, Deserialize)]
pub struct MessageResponse {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    /// Required in a response; empty in `message_start`.
    #[serde(default)]
    pub content: Option<Vec<ContentBlock>>,
    #[serde(default)]
    pub stop_reason: Option<String>,
    #[serde(default)]
    pub usage: Option<WireUsage>,
}

/// A response content block: `text`, `tool_use`, `thinking`, `redacted_thinking`, ... (only
/// the fields read).
#[derive(Debug, Default, Deserialize)]
pub struct ContentBlock {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub text: Option<String>,
    /// The text of a `thinking` block.
    #[serde(default)]
    pub thinking: Option<String>,
    /// The signature of a `thinking` block.
    #[serde(default)]
    pub signature: Option<String>,
    /// The encrypted thinking of a `redacted_thinking` block.
    #[serde(default)]
    pub data: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub input: Option<Value>,
}

/// Token counts. `input_tokens` excludes the cached parts, which come separately.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
pub struct WireUsage {
    #[serde(default)]
    pub input_tokens: Option<u64>,
    #[serde(default)]
    pub output_tokens: Option<u64>,
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
    /// The cache writes by lifetime (`ephemeral_5m_input_tokens`, `ephemeral_1h_input_tokens`),
    /// which add up to `cache_creation_input_tokens`.
    #[serde(default)]
    pub cache_creation: Option<CacheCreation>,
}

/// `usage.cache_creation`; only the 1-hour part is read, the rest of the writes being 5-minute.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
pub struct CacheCreation {
    #[serde(default)]
    pub ephemeral_1h_input_tokens: Option<u64>,
}

impl WireUsage {
    /// These counts updated by a later stream event's (`message_start`, then each
    /// `message_delta`): every count `newer` has replaces this one, as the counts are running
    /// totals (adding them would count tokens twice).
    pub fn updated_by(&self, newer: &WireUsage) -> WireUsage {
        let latest = |new: Option<u64>, old: Option<u64>| new.or(old);
        WireUsage {
            input_tokens: latest(newer.input_tokens, self.input_tokens),
            output_tokens: latest(newer.output_tokens, self.output_tokens),
            cache_creation_input_tokens: latest(
                newer.cache_creation_input_tokens,
                self.cache_creation_input_tokens,
            ),
            cache_read_input_tokens: latest(
                newer.cache_read_input_tokens,
                self.cache_read_input_tokens,
            ),
            cache_creation: match (newer.cache_creation, self.cache_creation) {
                (Some(new), Some(old)) => Some(CacheCreation {
                    ephemeral_1h_input_tokens: latest(
                        new.ephemeral_1h_input_tokens,
                        old.ephemeral_1h_input_tokens,
                    ),
                }),
                (new, old) => new.or(old),
            },
        }
    }

    /// Of the cache writes, those with the 1-hour lifetime.
    pub fn cache_write_1h_tokens(&self) -> Option<u64> {
        self.cache_creation
            .and_then(|c| c.ephemeral_1h_input_tokens)
    }
}

/// One stream event's data: `message_start`, `content_block_start`, `content_block_delta`,
/// `content_block_stop`, `message_delta`, `message_stop`, `ping` or `error`.
#[derive(Debug, Default, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub message: Option<MessageResponse>,
    #[serde(default)]
    pub index: Option<u64>,
    #[serde(default)]
    pub content_block: Option<ContentBlock>,
    #[serde(default)]
    pub delta: Option<EventDelta>,
    #[serde(default)]
    pub usage: Option<WireUsage>,
    #[serde(default)]
    pub error: Option<Value>,
}

/// The `delta` of `content_block_delta` (`text_delta`, `input_json_delta`, `thinking_delta`,
/// `signature_delta`, ...) or of `message_delta` (`stop_reason`).
#[derive(Debug, Default, Deserialize)]
pub struct EventDelta {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub thinking: Option<String>,
    #[serde(default)]
    pub signature: Option<String>,
    #[serde(default)]
    pub partial_json: Option<String>,
    #[serde(default)]
    pub stop_reason: Option<String>,
}
