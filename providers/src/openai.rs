//! The OpenAI Chat Completions wire format (the hub every translation goes through) and the
//! `openai` provider, which is a pass-through: credentials injected, model pinned, stream usage
//! requested so telemetry always has it.
//!
//! The hub carries, besides OpenAI's own fields, what other APIs have and OpenAI lacks, under
//! the names LiteLLM gave them (so its users' clients and ours agree), each documented in
//! `docs/providers.md`:
//! - `thinking` (request): Anthropic's thinking object (`enabled` with `budget_tokens`,
//!   `adaptive`, `disabled`), exact where `reasoning_effort` is coarse;
//! - `top_k` (request);
//! - `reasoning_content` (assistant message, response message, stream delta): the thinking
//!   text; `thinking_blocks` (same places): the thinking blocks with their signatures,
//!   `{"type":"thinking","thinking","signature"}` or `{"type":"redacted_thinking","data"}`,
//!   which a client sends back with the assistant message in its next turn;
//! - `cache_control` on content parts and tools (in their `extra` maps), Anthropic's cache
//!   breakpoints.
//!
//! The request-side extensions are never serialized into an OpenAI body: each provider maps
//! them, or refuses them, itself.

use std::borrow::Cow;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::open_object::open_object;

use crate::{
    sse::{SseEvent, SseParser},
    Completion, RequestTarget, ResponseTarget, StreamFacts, StreamTranslator, ToolCallFact,
    TranslateError, UpstreamRequest, Usage,
};

/// The chat completions path on an OpenAI base URL.
pub const CHAT_COMPLETIONS_PATH: &str = "/v1/chat/completions";

/// A chat completions request. Known fields are typed; the rest pass through in `extra`.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct ChatRequest {
    #[serde(default)]
    pub model: String,
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Stop>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
    /// Hub extension: Anthropic's `thinking` object (see the module docs).
    #[serde(default, skip_serializing)]
    pub thinking: Option<Value>,
    /// Hub extension: top-k sampling.
    #[serde(default, skip_serializing)]
    pub top_k: Option<u64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

// The request side is parsed on every request: read key by key (see `open_object`), not
// through `#[serde(flatten)]`.
open_object!(ChatRequest, "a chat completions request (a JSON object)",
    required { "messages" => messages }
    optional {
        "model" => model, "stream" => stream, "stream_options" => stream_options,
        "temperature" => temperature, "top_p" => top_p, "max_tokens" => max_tokens,
        "max_completion_tokens" => max_completion_tokens, "n" => n, "stop" => stop,
        "presence_penalty" => presence_penalty, "frequency_penalty" => frequency_penalty,
        "seed" => seed, "tools" => tools, "tool_choice" => tool_choice,
        "response_format" => response_format, "reasoning_effort" => reasoning_effort,
        "thinking" => thinking, "top_k" => top_k,
    }
);
open_object!(StreamOptions, "stream options (a JSON object)",
    required {}
    optional { "include_usage" => include_usage }
);
open_object!(Message, "a message (a JSON object)",
    required { "role" => role }
    optional {
        "content" => content, "name" => name, "tool_calls" => tool_calls,
        "tool_call_id" => tool_call_id, "reasoning_content" => reasoning_content,
        "thinking_blocks" => thinking_blocks,
    }
);
open_object!(ContentPart, "a content part (a JSON object)",
    required { "type" => kind }
    optional { "text" => text, "image_url" => image_url }
);
open_object!(FunctionDef, "a function definition (a JSON object)",
    required { "name" => name }
    optional { "description" => description, "parameters" => parameters }
);

/// A string, or a list of `T`: the shape of `content` and `stop`, read without serde's
/// untagged-enum buffering.
struct OneOrList<T, F>(fn(String) -> F, fn(Vec<T>) -> F, &'static str);

impl<'de, T: Deserialize<'de>, F> Visitor<'de> for OneOrList<T, F> {
    type Value = F;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.2)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<F, E> {
        Ok((self.0)(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<F, E> {
        Ok((self.0)(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<F, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok((self.1)(items))
    }
}

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(OneOrList(
            Content::Text,
            Content::Parts,
            "a string or a list of content parts",
        ))
    }
}

impl<'de> Deserialize<'de> for Stop {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(OneOrList(
            Stop::One,
            Stop::Many,
            "a string or a list of strings",
        ))
    }
}

impl ChatRequest {
    /// Parses a client's body; the error text says what is wrong, for a 400.
    pub fn parse(body: &[u8]) -> Result<Self, TranslateError> {
        crate::json::from_body(body).map_err(TranslateError::InvalidRequest)
    }

    /// The sampling parameters as sent, for `llm.params`: name and JSON value, in a fixed order.
    pub fn params(&self) -> Vec<(&'static str, Value)> {
        let mut out = Vec::new();
        let mut push = |name: &'static str, v: Option<Value>| {
            if let Some(v) = v {
                out.push((name, v));
            }
        };
        push("temperature", self.temperature.map(Value::from));
        push("top_p", self.top_p.map(Value::from));
        push("max_tokens", self.max_tokens.map(Value::from));
        push(
            "max_completion_tokens",
            self.max_completion_tokens.map(Value::from),
        );
        push("n", self.n.map(Value::from));
        push("presence_penalty", self.presence_penalty.map(Value::from));
        push("frequency_penalty", self.frequency_penalty.map(Value::from));
        push("seed", self.seed.map(Value::from));
        push(
            "stop",
            self.stop
                .as_ref()
                .and_then(|s| serde_json::to_value(s).ok()),
        );
        out
    }

    /// Whether the client asked for a usage chunk at the end of its stream.
    pub fn include_usage(&self) -> bool {
        self.stream_options
            .as_ref()
            .and_then(|o| o.include_usage)
            .unwrap_or(false)
    }

    /// The prompt as `(role, text)` pairs, for `llm.prompt`.
    pub fn prompt(&self) -> Vec<(String, String)> {
        self.messages
            .iter()
            .map(|m| {
                let text = m.content.as_ref().map(Content::text).unwrap_or_default();
                (m.role.clone(), text)
            })
            .collect()
    }
}

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct StreamOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_usage: Option<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Stop {
    One(String),
    Many(Vec<String>),
}

impl Stop {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            Stop::One(s) => vec![s.clone()],
            Stop::Many(v) => v.clone(),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Message {
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// Hub extension: the thinking text of an assistant turn (see the module docs).
    #[serde(default, skip_serializing)]
    pub reasoning_content: Option<String>,
    /// Hub extension: the thinking blocks of an assistant turn, signatures included.
    #[serde(default, skip_serializing)]
    pub thinking_blocks: Option<Vec<Value>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Message content: a string, or a list of typed parts.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Parts(Vec<ContentPart>),
}

impl Content {
    /// The text of the content; parts' texts joined with newlines, other parts left out.
    pub fn text(&self) -> String {
        match self {
            Content::Text(s) => s.clone(),
            Content::Parts(parts) => {
                let texts: Vec<&str> = parts.iter().filter_map(|p| p.text.as_deref()).collect();
                texts.join("\n")
            }
        }
    }
}

/// Converts message content into a provider's blocks: a plain string becomes one block by
/// `text`, each part of a list goes through `part`; `None`s are left out. Shared by every
/// provider's request translation.
pub fn content_blocks<T>(
    content: Option<&Content>,
    text: impl Fn(&str) -> Option<T>,
    mut part: impl FnMut(&ContentPart) -> Result<Option<T>, TranslateError>,
) -> Result<Vec<T>, TranslateError> {
    match content {
        None => Ok(Vec::new()),
        Some(Content::Text(s)) => Ok(text(s).into_iter().collect()),
        Some(Content::Parts(parts)) => {
            let mut out = Vec::with_capacity(parts.len());
            for p in parts {
                out.extend(part(p)?);
            }
            Ok(out)
        }
    }
}

impl ContentPart {
    /// The URL of an `image_url` part; an error for one that lacks it.
    pub fn image_url_str(&self) -> Result<&str, TranslateError> {
        self.image_url
            .as_ref()
            .map(|i| i.url.as_str())
            .ok_or_else(|| {
                TranslateError::InvalidRequest("image_url part without image_url".to_string())
            })
    }
}

/// The text of a text part; `None` for other parts.
pub fn part_text(p: &ContentPart) -> Option<&str> {
    (p.kind == "text").then_some(p.text.as_deref()).flatten()
}

/// The text of a text part, refusing any other part where only text is allowed (`what`
/// names the place, e.g. "Gemini system instructions").
pub fn text_only<'a>(p: &'a ContentPart, what: &str) -> Result<Option<&'a str>, TranslateError> {
    if p.kind != "text" {
        return Err(TranslateError::Unsupported(format!(
            "{what} take text only, not {:?} parts",
            p.kind
        )));
    }
    Ok(p.text.as_deref())
}

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct ContentPart {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<ImageUrl>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ImageUrl {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct Tool {
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    pub function: FunctionDef,
    /// `cache_control` (a hub extension) and fields of other tool types.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn function_type() -> String {
    "function".to_string()
}

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct FunctionDef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ToolCall {
    #[serde(default)]
    pub id: String,
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    pub function: FunctionCall,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct FunctionCall {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub arguments: String,
}

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

// ---------------------------------------------------------------------------------------------
// The `openai` provider: pass-through.

/// Which kind of OpenAI-speaking server a translated request goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// OpenAI itself, or Azure OpenAI: only OpenAI's own fields.
    Official,
    /// An OpenAI-compatible server (the presets, `mock`): OpenAI's fields and the common
    /// extensions (`top_k`, `cache_control`).
    Compatible,
}

/// The request for an OpenAI(-compatible) upstream, from the hub (a client of another API):
/// the model pinned, and for streams `stream_options.include_usage` forced on so usage is
/// always known (the usage chunk is stripped again for clients that did not ask for it).
/// The hub's extensions:
/// - `max_tokens` → `max_completion_tokens` for OpenAI and Azure (reasoning models refuse the
///   older name; every current model takes the newer);
/// - thinking → `reasoning_effort` (`low`, `medium` or `high`, by the effort table of
///   [`crate::reasoning`]; disabled → `minimal` for `gpt-5*`, else left out) for OpenAI
///   reasoning models (`o1`, `o3`, `o4-*`, `gpt-5*`, `codex-*`); ignored for others, which
///   cannot reason (sending it would be refused by them);
/// - `top_k` → passed to compatible servers; refused for OpenAI and Azure, which have none;
/// - `cache_control` on parts and tools → passed to compatible servers (OpenRouter and
///   LiteLLM-style servers take it); left out for OpenAI and Azure, which cache prompts by
///   themselves (it changes cost, not the answer);
/// - an assistant turn's `thinking_blocks` / `reasoning_content` → left out: Chat Completions
///   takes no reasoning back.
pub fn translate_request(
    req: &ChatRequest,
    target: &RequestTarget<'_>,
    dialect: Dialect,
) -> Result<UpstreamRequest, TranslateError> {
    let reasoning = crate::reasoning::Reasoning::of(req)?;
    let mut req = req.clone();
    req.model = target.model.to_string();
    if req.stream {
        req.stream_options
            .get_or_insert_with(StreamOptions::default)
            .include_usage = Some(true);
    }
    req.reasoning_effort = reasoning.and_then(|r| openai_effort(r, target.model));
    if dialect == Dialect::Official && req.max_completion_tokens.is_none() {
        // OpenAI's name for it: reasoning models refuse `max_tokens`, every model takes this.
        req.max_completion_tokens = req.max_tokens.take();
    }
    if let Some(k) = req.top_k {
        match dialect {
            Dialect::Official => {
                return Err(crate::error::no_counterpart(
                    "top_k",
                    "OpenAI Chat Completions",
                ))
            }
            Dialect::Compatible => {
                req.extra.insert("top_k".to_string(), Value::from(k));
            }
        }
    }
    if dialect == Dialect::Official {
        strip_cache_control(&mut req);
    }
    let body =
        serde_json::to_vec(&req).map_err(|e| TranslateError::InvalidRequest(e.to_string()))?;
    Ok(UpstreamRequest::new(
        CHAT_COMPLETIONS_PATH.to_string(),
        body,
    ))
}

/// Whether `model` is an OpenAI reasoning model, which takes `reasoning_effort`.
pub fn is_reasoning_model(model: &str) -> bool {
    let m = model.rsplit('/').next().unwrap_or(model);
    let o_series =
        m.len() >= 2 && m.starts_with('o') && m.as_bytes().get(1).is_some_and(u8::is_ascii_digit);
    o_series || m.starts_with("gpt-5") || m.starts_with("codex")
}

fn openai_effort(r: crate::reasoning::Reasoning, model: &str) -> Option<String> {
    use crate::reasoning::Reasoning;
    if !is_reasoning_model(model) {
        return None;
    }
    let m = model.rsplit('/').next().unwrap_or(model);
    match r {
        Reasoning::Off if m.starts_with("gpt-5") => Some("minimal".to_string()),
        Reasoning::Off => None,
        other => other.effort().map(|e| e.openai_common().to_string()),
    }
}

fn strip_cache_control(req: &mut ChatRequest) {
    for m in &mut req.messages {
        if let Some(Content::Parts(parts)) = m.content.as_mut() {
            for p in parts {
                p.extra.remove("cache_control");
            }
        }
    }
    for t in req.tools.iter_mut().flatten() {
        t.extra.remove("cache_control");
    }
}

/// Facts of an OpenAI chat completion body; the body itself passes through unchanged.
pub fn translate_response(
    body: &[u8],
    _target: &ResponseTarget<'_>,
) -> Result<Completion, TranslateError> {
    pass_through_response(body.to_vec())
}

/// Facts of an OpenAI chat completion body, which becomes the client's answer as it is.
pub fn pass_through_response(body: Vec<u8>) -> Result<Completion, TranslateError> {
    // Only what telemetry needs is read.
    let view: ResponseView<'_> =
        crate::json::from_body(&body).map_err(TranslateError::InvalidResponse)?;
    let choices = view.choices.iter().map(|c| {
        (
            c.message.content.as_deref(),
            c.message.tool_calls.as_deref(),
            c.finish_reason.as_deref(),
        )
    });
    let mut c = facts(&view.model, view.usage.as_ref(), choices, Vec::new());
    drop(view);
    c.body = body;
    Ok(c)
}

/// The part of an OpenAI chat completion that telemetry reads, for answers passed through
/// unchanged. Unlike [`ChatResponse`] it has no `#[serde(flatten)]` maps, so unknown fields are
/// skipped rather than buffered: the parse costs about a third (callgrind, BENCHMARKS.md).
/// It accepts what `ChatResponse` accepts (`choices` and each `message.role` required).
/// Strings without escapes are borrowed from the body: the facts copy what they keep.
#[derive(Deserialize)]
struct ResponseView<'a> {
    #[serde(default, borrow)]
    model: Cow<'a, str>,
    #[serde(borrow)]
    choices: Vec<ChoiceView<'a>>,
    #[serde(default)]
    usage: Option<ChatUsage>,
}

#[derive(Deserialize)]
struct ChoiceView<'a> {
    #[serde(borrow)]
    message: MessageView<'a>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct MessageView<'a> {
    #[serde(rename = "role", borrow)]
    _role: Cow<'a, str>,
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCall>>,
}

/// The telemetry facts of a chat completion, with `body` as what the client receives.
pub fn completion_facts(resp: &ChatResponse, body: Vec<u8>) -> Completion {
    let choices = resp.choices.iter().map(|c| {
        (
            c.message.content.as_deref(),
            c.message.tool_calls.as_deref(),
            c.finish_reason.as_deref(),
        )
    });
    facts(&resp.model, resp.usage.as_ref(), choices, body)
}

/// One choice as telemetry sees it: text, tool calls, finish reason.
type ChoiceFacts<'a> = (Option<&'a str>, Option<&'a [ToolCall]>, Option<&'a str>);

fn facts<'a>(
    model: &str,
    usage: Option<&ChatUsage>,
    choices: impl Iterator<Item = ChoiceFacts<'a>> + Clone,
    body: Vec<u8>,
) -> Completion {
    let tool_calls = choices
        .clone()
        .flat_map(|(_, calls, _)| calls.unwrap_or_default())
        .map(|call| ToolCallFact {
            id: call.id.clone(),
            name: call.function.name.clone(),
            arguments: call.function.arguments.clone(),
        })
        .collect();
    Completion {
        body,
        usage: usage.map(ChatUsage::to_usage).unwrap_or_default(),
        response_model: (!model.is_empty()).then(|| model.to_string()),
        texts: choices
            .clone()
            .map(|(text, _, _)| text.unwrap_or_default().to_string())
            .collect(),
        finish_reasons: choices
            .filter_map(|(_, _, finish)| finish.map(str::to_string))
            .collect(),
        tool_calls,
    }
}

/// An OpenAI error body passes through when it has the OpenAI shape; anything else is wrapped.
pub fn translate_error(status: u16, body: &[u8]) -> Vec<u8> {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        if v.get("error").is_some_and(Value::is_object) {
            return body.to_vec();
        }
    }
    crate::error::text_error_body(status, body)
}

/// Passes an OpenAI stream through while gathering its facts; drops the usage-only chunk when
/// the client did not ask for usage (sluice asked for it on the client's behalf).
pub struct OpenAiStream {
    parser: SseParser,
    facts: StreamFacts,
    include_usage: bool,
}

impl OpenAiStream {
    pub fn new(target: &ResponseTarget<'_>) -> Self {
        Self {
            parser: SseParser::default(),
            facts: StreamFacts::default(),
            include_usage: target.include_usage,
        }
    }
}

/// Choices and tool calls per stream at most: an index past it is ignored, so a broken
/// upstream cannot make the gateway allocate without bound.
pub const MAX_STREAM_SLOTS: usize = 128;

/// Folds one chunk's facts into the stream's facts.
pub fn accumulate_chunk(facts: &mut StreamFacts, chunk: &ChatChunk) {
    let choices = chunk.choices.iter().map(|c| ChunkFacts {
        index: c.index,
        content: c.delta.content.as_deref(),
        tool_calls: c.delta.tool_calls.as_deref(),
        finish_reason: c.finish_reason.as_deref(),
    });
    accumulate(facts, &chunk.model, chunk.usage.as_ref(), choices);
}

/// One choice of a chunk, as the stream's facts read it.
struct ChunkFacts<'a> {
    index: u32,
    content: Option<&'a str>,
    tool_calls: Option<&'a [ToolCallDelta]>,
    finish_reason: Option<&'a str>,
}

fn accumulate<'a>(
    facts: &mut StreamFacts,
    model: &str,
    usage: Option<&ChatUsage>,
    choices: impl Iterator<Item = ChunkFacts<'a>>,
) {
    if !model.is_empty() && facts.response_model.is_none() {
        facts.response_model = Some(model.to_string());
    }
    if let Some(u) = usage {
        facts.usage = u.to_usage();
    }
    for choice in choices {
        let i = choice.index as usize;
        if i >= MAX_STREAM_SLOTS {
            continue;
        }
        if facts.texts.len() <= i {
            facts.texts.resize(i + 1, String::new());
        }
        if let Some(text) = choice.content {
            if !text.is_empty() {
                facts.first_token_seen = true;
            }
            facts.texts[i].push_str(text);
        }
        for call in choice.tool_calls.into_iter().flatten() {
            facts.first_token_seen = true;
            let slot = call.index as usize;
            if slot >= MAX_STREAM_SLOTS {
                continue;
            }
            if facts.tool_calls.len() <= slot {
                facts.tool_calls.resize(slot + 1, ToolCallFact::default());
            }
            let fact = &mut facts.tool_calls[slot];
            if let Some(id) = &call.id {
                fact.id.clone_from(id);
            }
            if let Some(f) = &call.function {
                if let Some(name) = &f.name {
                    fact.name.push_str(name);
                }
                if let Some(args) = &f.arguments {
                    fact.arguments.push_str(args);
                }
            }
        }
        if let Some(reason) = choice.finish_reason {
            facts.finish_reasons.push(reason.to_string());
        }
    }
}

/// The part of a passed-through chunk the stream's facts read. Like [`ResponseView`]: no
/// `extra` maps, so unknown fields are skipped, not stored, and text without escapes is
/// borrowed from the event. A chunk is parsed in full ([`ChatChunk`]) only to be rewritten.
#[derive(Deserialize)]
struct ChunkView<'a> {
    #[serde(default, borrow)]
    model: Cow<'a, str>,
    #[serde(default, borrow)]
    choices: Vec<ChunkChoiceView<'a>>,
    #[serde(default)]
    usage: Option<ChatUsage>,
}

#[derive(Deserialize)]
struct ChunkChoiceView<'a> {
    #[serde(default)]
    index: u32,
    #[serde(default, borrow)]
    delta: DeltaView<'a>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Default, Deserialize)]
struct DeltaView<'a> {
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCallDelta>>,
}

impl ChunkView<'_> {
    fn accumulate_into(&self, facts: &mut StreamFacts) {
        let choices = self.choices.iter().map(|c| ChunkFacts {
            index: c.index,
            content: c.delta.content.as_deref(),
            tool_calls: c.delta.tool_calls.as_deref(),
            finish_reason: c.finish_reason.as_deref(),
        });
        accumulate(facts, &self.model, self.usage.as_ref(), choices);
    }
}

/// One event of a passed-through stream: its facts gathered, then written on as it came, or
/// without the usage the client did not ask for (dropped whole when usage is all it holds).
fn relay_event(event: &SseEvent, include_usage: bool, facts: &mut StreamFacts, out: &mut Vec<u8>) {
    let data = event.data.trim();
    if data == "[DONE]" {
        out.extend_from_slice(DONE_EVENT);
        return;
    }
    if let Ok(view) = serde_json::from_str::<ChunkView<'_>>(data) {
        view.accumulate_into(facts);
        if view.usage.is_some() && !include_usage {
            if view.choices.is_empty() {
                return;
            }
            // Rewritten without the usage: only now is the whole chunk read.
            if let Ok(mut parsed) = serde_json::from_str::<ChatChunk>(data) {
                parsed.usage = None;
                write_chunk_event(&parsed, out);
                return;
            }
        }
    }
    event.write_to(out);
}

impl StreamTranslator for OpenAiStream {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), TranslateError> {
        let include_usage = self.include_usage;
        let facts = &mut self.facts;
        self.parser.feed(chunk, |event| {
            relay_event(&event, include_usage, facts, out);
            Ok(())
        })
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), TranslateError> {
        let include_usage = self.include_usage;
        let facts = &mut self.facts;
        self.parser.finish(|event| {
            relay_event(&event, include_usage, facts, out);
            Ok(())
        })
    }

    fn facts(&self) -> &StreamFacts {
        &self.facts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = concat!(
        "data: {\"id\":\"c\",\"model\":\"gpt-4o\",\"system_fingerprint\":\"fp\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"},\"logprobs\":null}]}\n\n",
        "data: {\"id\":\"c\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo \\\"x\\\"\",\"tool_calls\":[{\"index\":0,\"id\":\"t1\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},\"finish_reason\":\"stop\"}]}\n\n",
        "data: {\"id\":\"c\",\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}\n\n",
        "data: [DONE]\n\n",
    );

    fn run(include_usage: bool) -> (String, StreamFacts) {
        let target = ResponseTarget {
            model: "gpt-4o",
            created: 0,
            include_usage,
        };
        let mut stream = OpenAiStream::new(&target);
        let mut out = Vec::new();
        // Split mid-line, as a network read may.
        let (a, b) = STREAM.as_bytes().split_at(97);
        stream.feed(a, &mut out).unwrap();
        stream.feed(b, &mut out).unwrap();
        stream.finish(&mut out).unwrap();
        (String::from_utf8(out).unwrap(), stream.facts().clone())
    }

    #[test]
    fn a_passed_through_stream_keeps_its_bytes_and_yields_its_facts() {
        let (out, facts) = run(true);
        assert_eq!(out, STREAM, "passed through byte for byte");
        assert_eq!(facts.texts, ["Hello \"x\""]);
        assert_eq!(facts.finish_reasons, ["stop"]);
        assert_eq!(facts.response_model.as_deref(), Some("gpt-4o"));
        assert_eq!(facts.usage.input_tokens, Some(5));
        assert_eq!(facts.usage.output_tokens, Some(2));
        assert_eq!(facts.tool_calls[0].name, "f");
        assert!(facts.first_token_seen);
    }

    #[test]
    fn usage_the_client_did_not_ask_for_is_counted_but_not_sent() {
        let (out, facts) = run(false);
        assert!(!out.contains("usage"), "{out}");
        assert!(out.ends_with("data: [DONE]\n\n"));
        assert_eq!(facts.usage.total_tokens, Some(7));
    }

    #[test]
    fn an_unterminated_last_event_is_relayed_like_any_other() {
        let target = ResponseTarget {
            model: "gpt-4o",
            created: 0,
            include_usage: false,
        };
        let mut stream = OpenAiStream::new(&target);
        let mut out = Vec::new();
        // The stream ends without the blank line that closes its last event.
        let last = "data: {\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}";
        stream.feed(last.as_bytes(), &mut out).unwrap();
        assert!(out.is_empty(), "nothing before the event is complete");
        stream.finish(&mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains("\"content\":\"x\""), "{out}");
        assert!(
            !out.contains("usage"),
            "usage stripped at the end too: {out}"
        );
        assert_eq!(stream.facts().usage.total_tokens, Some(2));
    }
}
