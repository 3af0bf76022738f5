//! OpenAI `chat.completion.chunk` SSE stream → Anthropic Messages SSE events.

use serde_json::{json, Map, Value};

use super::from_hub::{error_body, message_id, stop_reason, usage_json};
use crate::openai::{accumulate_chunk, ChatChunk, ChatUsage};
use crate::sse::SseParser;
use crate::{StreamFacts, StreamTranslator, TranslateError};

/// The content block currently open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Block {
    Text,
    /// A thinking block (its text streamed as `thinking_delta`s).
    Thinking,
    /// A redacted thinking block: complete at its start.
    Redacted,
    /// A tool_use block, for the OpenAI tool call of this index.
    Tool(u32),
}

#[derive(Debug, Default)]
struct State {
    model: String,
    facts: StreamFacts,
    started: bool,
    ended: bool,
    open: Option<Block>,
    /// The Anthropic index of the next block.
    next_index: u32,
    /// OpenAI tool-call indexes whose block has been opened (and maybe closed).
    tools_seen: Vec<u32>,
    finish_reason: Option<String>,
    usage: Option<ChatUsage>,
}

/// Re-encodes an OpenAI chat.completion.chunk SSE stream (bytes, split anywhere) as Anthropic
/// SSE events: `message_start`, `content_block_start`/`_delta`/`_stop` per text or tool_use
/// block, then `message_delta` (stop reason, cumulative usage) and `message_stop`, the last two
/// exactly once (at the finish reason plus usage, at `[DONE]`, or in `finish()`).
pub struct AnthropicStream {
    parser: SseParser,
    state: State,
}

impl AnthropicStream {
    /// `model` names the model in `message_start` when the chunks do not.
    pub fn new(model: &str) -> Self {
        Self {
            parser: SseParser::default(),
            state: State {
                model: model.to_string(),
                ..State::default()
            },
        }
    }
}

fn write_event(out: &mut Vec<u8>, name: &str, data: &Value) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    out.extend_from_slice(data.to_string().as_bytes());
    out.extend_from_slice(b"\n\n");
}

impl State {
    fn handle(&mut self, data: &str, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        let data = data.trim();
        if data.is_empty() {
            return;
        }
        if data == "[DONE]" {
            self.end(out);
            return;
        }
        let Ok(chunk) = serde_json::from_str::<ChatChunk>(data) else {
            return;
        };
        if let Some(err) = chunk.extra.get("error") {
            self.error(err, out);
            return;
        }
        accumulate_chunk(&mut self.facts, &chunk);
        self.start(Some(&chunk), out);
        for choice in chunk.choices.iter().filter(|c| c.index == 0) {
            if let Some(thinking) = choice
                .delta
                .reasoning_content
                .as_deref()
                .filter(|t| !t.is_empty())
            {
                self.open_thinking(out);
                self.delta(out, json!({"type": "thinking_delta", "thinking": thinking}));
            }
            for block in choice.delta.thinking_blocks.iter().flatten() {
                self.thinking_block(block, out);
            }
            if let Some(text) = choice.delta.content.as_deref().filter(|t| !t.is_empty()) {
                if self.open != Some(Block::Text) {
                    self.open_block(Block::Text, json!({"type": "text", "text": ""}), out);
                }
                self.delta(out, json!({"type": "text_delta", "text": text}));
            }
            for call in choice.delta.tool_calls.iter().flatten() {
                if self.open != Some(Block::Tool(call.index)) {
                    if self.tools_seen.contains(&call.index) {
                        // More of a tool call whose block is closed: Anthropic cannot reopen it.
                        continue;
                    }
                    if self.tools_seen.len() >= crate::openai::MAX_STREAM_SLOTS {
                        continue;
                    }
                    self.tools_seen.push(call.index);
                    let id = call
                        .id
                        .clone()
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| format!("toolu_sluice_{}", call.index));
                    let name = call
                        .function
                        .as_ref()
                        .and_then(|f| f.name.clone())
                        .unwrap_or_default();
                    self.open_block(
                        Block::Tool(call.index),
                        json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
                        out,
                    );
                }
                if let Some(args) = call
                    .function
                    .as_ref()
                    .and_then(|f| f.arguments.as_deref())
                    .filter(|a| !a.is_empty())
                {
                    self.delta(
                        out,
                        json!({"type": "input_json_delta", "partial_json": args}),
                    );
                }
            }
            if let Some(reason) = &choice.finish_reason {
                self.close_block(out);
                self.finish_reason = Some(reason.clone());
            }
        }
        if chunk.usage.is_some() {
            self.usage.clone_from(&chunk.usage);
        }
        if self.finish_reason.is_some() && self.usage.is_some() {
            self.end(out);
        }
    }

    fn delta(&self, out: &mut Vec<u8>, delta: Value) {
        write_event(
            out,
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": self.next_index, "delta": delta}),
        );
    }

    /// Closes the open block and starts `block` (its `content_block` as given).
    fn open_block(&mut self, block: Block, content_block: Value, out: &mut Vec<u8>) {
        self.close_block(out);
        write_event(
            out,
            "content_block_start",
            &json!({
                "type": "content_block_start",
                "index": self.next_index,
                "content_block": content_block,
            }),
        );
        self.open = Some(block);
    }

    fn open_thinking(&mut self, out: &mut Vec<u8>) {
        if self.open != Some(Block::Thinking) {
            let block = json!({"type": "thinking", "thinking": "", "signature": ""});
            self.open_block(Block::Thinking, block, out);
        }
    }

    /// A thinking block the hub completed: a signature ends the thinking streamed before it
    /// (or a block of its own text); a redacted block is a block of its own.
    fn thinking_block(&mut self, block: &Value, out: &mut Vec<u8>) {
        match block.get("type").and_then(Value::as_str) {
            Some("thinking") => {
                let text = block.get("thinking").and_then(Value::as_str).unwrap_or("");
                let signature = block.get("signature").and_then(Value::as_str).unwrap_or("");
                if !text.is_empty() {
                    self.open_thinking(out);
                    self.delta(out, json!({"type": "thinking_delta", "thinking": text}));
                }
                if !signature.is_empty() {
                    self.open_thinking(out);
                    self.delta(
                        out,
                        json!({"type": "signature_delta", "signature": signature}),
                    );
                    self.close_block(out);
                }
            }
            Some("redacted_thinking") => {
                let data = block.get("data").cloned().unwrap_or(Value::Null);
                let block = json!({"type": "redacted_thinking", "data": data});
                self.open_block(Block::Redacted, block, out);
                self.close_block(out);
            }
            _ => {}
        }
    }

    /// `message_start`, once, before anything else.
    fn start(&mut self, chunk: Option<&ChatChunk>, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        let id = message_id(chunk.map(|c| c.id.as_str()).unwrap_or(""));
        let model = chunk
            .map(|c| c.model.as_str())
            .filter(|m| !m.is_empty())
            .unwrap_or(&self.model)
            .to_string();
        let mut usage = Map::new();
        let input = chunk
            .and_then(|c| c.usage.as_ref())
            .and_then(|u| usage_json(u).get("input_tokens").cloned())
            .unwrap_or(json!(0));
        usage.insert("input_tokens".to_string(), input);
        usage.insert("output_tokens".to_string(), json!(0));
        write_event(
            out,
            "message_start",
            &json!({
                "type": "message_start",
                "message": {
                    "id": id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": null,
                    "stop_sequence": null,
                    "usage": usage,
                },
            }),
        );
    }

    fn close_block(&mut self, out: &mut Vec<u8>) {
        if self.open.take().is_some() {
            write_event(
                out,
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": self.next_index}),
            );
            self.next_index += 1;
        }
    }

    /// `message_delta` and `message_stop`, once.
    fn end(&mut self, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        self.start(None, out);
        self.close_block(out);
        self.ended = true;
        let usage = match &self.usage {
            Some(u) => usage_json(u),
            None => {
                let mut m = Map::new();
                m.insert("output_tokens".to_string(), json!(0));
                m
            }
        };
        write_event(
            out,
            "message_delta",
            &json!({
                "type": "message_delta",
                "delta": {
                    "stop_reason": stop_reason(self.finish_reason.as_deref()),
                    "stop_sequence": null,
                },
                "usage": usage,
            }),
        );
        write_event(out, "message_stop", &json!({"type": "message_stop"}));
    }

    /// An error reported inside the stream: an Anthropic `error` event, and the stream is over.
    fn error(&mut self, err: &Value, out: &mut Vec<u8>) {
        let message = match err {
            Value::String(s) => s.clone(),
            _ => err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("upstream stream error")
                .to_string(),
        };
        self.ended = true;
        out.extend_from_slice(b"event: error\ndata: ");
        out.extend_from_slice(&error_body("api_error", &message));
        out.extend_from_slice(b"\n\n");
    }
}

impl StreamTranslator for AnthropicStream {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), TranslateError> {
        let state = &mut self.state;
        self.parser.feed(chunk, |event| {
            state.handle(&event.data, out);
            Ok(())
        })
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), TranslateError> {
        let state = &mut self.state;
        self.parser.finish(|event| {
            state.handle(&event.data, out);
            Ok(())
        })?;
        self.state.end(out);
        Ok(())
    }

    fn facts(&self) -> &StreamFacts {
        &self.state.facts
    }
}

/// A provider's hub stream translator (provider stream → OpenAI chunks) followed by
/// [`AnthropicStream`] (OpenAI chunks → Messages events): a translated stream for a Messages
/// client.
pub struct FromHubStream {
    inner: Box<dyn StreamTranslator>,
    outer: AnthropicStream,
    buf: Vec<u8>,
}

impl FromHubStream {
    pub fn new(inner: Box<dyn StreamTranslator>, model: &str) -> Self {
        FromHubStream {
            inner,
            outer: AnthropicStream::new(model),
            buf: Vec::with_capacity(4096),
        }
    }
}

impl StreamTranslator for FromHubStream {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), TranslateError> {
        self.buf.clear();
        self.inner.feed(chunk, &mut self.buf)?;
        self.outer.feed(&self.buf, out)
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), TranslateError> {
        self.buf.clear();
        self.inner.finish(&mut self.buf)?;
        self.outer.feed(&self.buf, out)?;
        self.outer.finish(out)
    }

    fn facts(&self) -> &StreamFacts {
        self.inner.facts()
    }
}
