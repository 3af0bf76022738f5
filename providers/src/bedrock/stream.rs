//! Bedrock's `ConverseStream` answer (binary event stream, see [`super::eventstream`]) as an
//! OpenAI `chat.completion.chunk` stream:
//!
//! - `messageStart` -> the role chunk; `contentBlockStart` with `toolUse` -> a tool call delta
//!   with id and name; `contentBlockDelta` -> text or tool call `arguments` pieces, or
//!   reasoning: `reasoningContent.text` -> `reasoning_content`, `.signature` ->
//!   `thinking_blocks: [{"type":"thinking","thinking":"","signature"}]` (closing the thinking
//!   streamed before it), `.redactedContent` -> `thinking_blocks: [{"type":
//!   "redacted_thinking","data"}]`; `messageStop` -> the `finish_reason` chunk; `metadata`
//!   (after `messageStop`) -> usage (cache reads and writes included), the usage chunk if the
//!   client asked for it, and `[DONE]`.
//! - Reasoning counts as the first token (for time to first token) but not as answer text.
//! - An `exception` message (e.g. `throttlingException`) -> an OpenAI error event.

use std::collections::HashMap;

use serde::Deserialize;

use crate::error::{openai_error_body, openai_error_type};
use crate::openai::{
    accumulate_chunk, write_chunk_event, ChatChunk, ChatUsage, ChunkChoice, Delta,
    FunctionCallDelta, ToolCallDelta, DONE_EVENT, MAX_STREAM_SLOTS,
};
use crate::{ResponseTarget, StreamFacts, StreamTranslator, TranslateError};

use super::eventstream::{Decoder, Message};
use super::{
    exception_status, finish_reason, redacted_block, thinking_block, usage_from, TokenUsage,
};

/// Translates a ConverseStream event stream into the OpenAI chunk stream, chunk by chunk.
pub struct BedrockStream {
    decoder: Decoder,
    state: State,
}

struct State {
    id: String,
    created: u64,
    model: String,
    include_usage: bool,
    started: bool,
    /// `contentBlockIndex` of a tool use block -> its OpenAI tool call index.
    tool_blocks: HashMap<u64, u32>,
    stopped: bool,
    usage_seen: bool,
    usage_sent: bool,
    done: bool,
    facts: StreamFacts,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    #[serde(default)]
    content_block_index: Option<u64>,
    #[serde(default)]
    start: Option<BlockStart>,
    #[serde(default)]
    delta: Option<BlockDelta>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<TokenUsage>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockStart {
    #[serde(default)]
    tool_use: Option<ToolUseStart>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolUseStart {
    #[serde(default)]
    tool_use_id: String,
    #[serde(default)]
    name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockDelta {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    tool_use: Option<ToolUseDelta>,
    #[serde(default)]
    reasoning_content: Option<ReasoningDelta>,
}

/// One of `text`, `signature` or `redactedContent` (a union in AWS's model).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReasoningDelta {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    redacted_content: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ToolUseDelta {
    #[serde(default)]
    input: Option<String>,
}

impl BedrockStream {
    /// `id` is the `chatcmpl-` id every chunk carries.
    pub fn new(target: &ResponseTarget<'_>, id: String) -> Self {
        Self {
            decoder: Decoder::default(),
            state: State {
                id,
                created: target.created,
                model: target.model.to_string(),
                include_usage: target.include_usage,
                started: false,
                tool_blocks: HashMap::new(),
                stopped: false,
                usage_seen: false,
                usage_sent: false,
                done: false,
                facts: StreamFacts::default(),
            },
        }
    }
}

impl StreamTranslator for BedrockStream {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), TranslateError> {
        let state = &mut self.state;
        self.decoder.feed(chunk, |m| state.on_message(&m, out))
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), TranslateError> {
        self.decoder.finish()?;
        self.state.end(out);
        Ok(())
    }

    fn facts(&self) -> &StreamFacts {
        &self.state.facts
    }
}

impl State {
    fn on_message(&mut self, m: &Message, out: &mut Vec<u8>) -> Result<(), TranslateError> {
        if self.done {
            return Ok(());
        }
        match m.header(":message-type") {
            Some("event") | None => {}
            Some("exception") => {
                let kind = m
                    .header(":exception-type")
                    .unwrap_or("internalServerException");
                let message = serde_json::from_slice::<Event>(&m.payload)
                    .ok()
                    .and_then(|e| e.message)
                    .unwrap_or_else(|| String::from_utf8_lossy(&m.payload).into_owned());
                self.error_event(kind, &message, out);
                return Ok(());
            }
            Some("error") => {
                let kind = m.header(":error-code").unwrap_or("internalServerException");
                let message = m.header(":error-message").unwrap_or(kind).to_string();
                self.error_event(kind, &message, out);
                return Ok(());
            }
            Some(other) => {
                return Err(TranslateError::InvalidResponse(format!(
                    "unknown event stream message type {other:?}"
                )))
            }
        }
        let Some(kind) = m.header(":event-type") else {
            return Err(TranslateError::InvalidResponse(
                "event stream message without :event-type".to_string(),
            ));
        };
        let event: Event = serde_json::from_slice(&m.payload)
            .map_err(|e| TranslateError::InvalidResponse(format!("{kind}: {e}")))?;
        match kind {
            "messageStart" => self.start(out),
            "contentBlockStart" => {
                if let Some(tu) = event.start.and_then(|s| s.tool_use) {
                    let block = event.content_block_index.unwrap_or(0);
                    let index = u32::try_from(self.tool_blocks.len()).unwrap_or(u32::MAX);
                    if self.tool_blocks.len() >= MAX_STREAM_SLOTS {
                        return Err(TranslateError::InvalidResponse(
                            "too many tool calls in one stream".to_string(),
                        ));
                    }
                    self.tool_blocks.insert(block, index);
                    self.tool_delta(index, Some((tu.tool_use_id, tu.name)), String::new(), out);
                }
            }
            "contentBlockDelta" => {
                let Some(delta) = event.delta else {
                    return Ok(());
                };
                if let Some(r) = delta.reasoning_content {
                    self.reasoning(r, out);
                }
                if let Some(text) = delta.text.filter(|t| !t.is_empty()) {
                    let delta = Delta {
                        content: Some(text),
                        ..Delta::default()
                    };
                    self.emit(delta, None, out);
                }
                if let Some(input) = delta
                    .tool_use
                    .and_then(|t| t.input)
                    .filter(|i| !i.is_empty())
                {
                    let block = event.content_block_index.unwrap_or(0);
                    let Some(&index) = self.tool_blocks.get(&block) else {
                        return Err(TranslateError::InvalidResponse(format!(
                            "tool input for content block {block}, which started no tool use"
                        )));
                    };
                    self.tool_delta(index, None, input, out);
                }
            }
            "messageStop" if !self.stopped => {
                self.stopped = true;
                let has_calls = !self.tool_blocks.is_empty();
                let reason = finish_reason(event.stop_reason.as_deref(), has_calls);
                self.emit(Delta::default(), Some(reason), out);
            }
            "metadata" => {
                if let Some(usage) = event.usage {
                    self.facts.usage = usage_from(&usage);
                    self.usage_seen = true;
                }
                if self.stopped {
                    self.end(out);
                }
            }
            // contentBlockStop, a repeated messageStop, and events added later (reasoning, citations...).
            _ => {}
        }
        Ok(())
    }

    /// A reasoning delta: its text, and the blocks its signature or redacted data close.
    fn reasoning(&mut self, r: ReasoningDelta, out: &mut Vec<u8>) {
        let mut blocks = Vec::new();
        if let Some(sig) = r.signature.as_deref().filter(|s| !s.is_empty()) {
            blocks.push(thinking_block("", sig));
        }
        if let Some(data) = r.redacted_content.as_deref() {
            blocks.push(redacted_block(data));
        }
        let delta = Delta {
            reasoning_content: r.text.filter(|t| !t.is_empty()),
            thinking_blocks: (!blocks.is_empty()).then_some(blocks),
            ..Delta::default()
        };
        if delta.reasoning_content.is_some() || delta.thinking_blocks.is_some() {
            self.emit(delta, None, out);
            self.facts.first_token_seen = true;
        }
    }

    /// The role chunk, once, before any other.
    fn start(&mut self, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        let delta = Delta {
            role: Some("assistant".to_string()),
            content: Some(String::new()),
            ..Delta::default()
        };
        self.write(delta, None, out);
    }

    fn emit(&mut self, delta: Delta, finish: Option<&str>, out: &mut Vec<u8>) {
        self.start(out);
        self.write(delta, finish, out);
    }

    fn write(&mut self, delta: Delta, finish: Option<&str>, out: &mut Vec<u8>) {
        let chunk = self.chunk(vec![ChunkChoice {
            index: 0,
            delta,
            finish_reason: finish.map(str::to_string),
            ..ChunkChoice::default()
        }]);
        accumulate_chunk(&mut self.facts, &chunk);
        write_chunk_event(&chunk, out);
    }

    fn tool_delta(
        &mut self,
        index: u32,
        head: Option<(String, String)>,
        arguments: String,
        out: &mut Vec<u8>,
    ) {
        let (id, name) = head.unzip();
        let is_start = id.is_some();
        let call = ToolCallDelta {
            index,
            id,
            kind: is_start.then(|| "function".to_string()),
            function: Some(FunctionCallDelta {
                name,
                arguments: Some(arguments),
            }),
        };
        let delta = Delta {
            tool_calls: Some(vec![call]),
            ..Delta::default()
        };
        self.emit(delta, None, out);
    }

    fn error_event(&mut self, kind: &str, message: &str, out: &mut Vec<u8>) {
        let status = exception_status(kind);
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(&openai_error_body(
            message,
            openai_error_type(status),
            Some(kind),
        ));
        out.extend_from_slice(b"\n\n");
        // Bedrock sends nothing after an exception.
        self.end(out);
    }

    /// The usage chunk (if asked for and known) and `[DONE]`, once.
    fn end(&mut self, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        self.done = true;
        if self.include_usage && self.usage_seen && !self.usage_sent {
            self.usage_sent = true;
            let mut chunk = self.chunk(Vec::new());
            chunk.usage = Some(ChatUsage::from_usage(&self.facts.usage));
            write_chunk_event(&chunk, out);
        }
        out.extend_from_slice(DONE_EVENT);
    }

    fn chunk(&self, choices: Vec<ChunkChoice>) -> ChatChunk {
        ChatChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".to_string(),
            created: self.created,
            model: self.model.clone(),
            choices,
            ..ChatChunk::default()
        }
    }
}
