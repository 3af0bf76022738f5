//! Anthropic's Messages stream (`message_start`, `content_block_start` / `_delta` / `_stop`,
//! `message_delta`, `message_stop`, `ping`, `error` events) as an OpenAI
//! `chat.completion.chunk` stream, event by event. Thinking goes out as the hub's extensions:
//! its text as `delta.reasoning_content`, its signature (which closes the thinking streamed
//! before it) and redacted blocks as `delta.thinking_blocks`. Thinking is output: it counts as
//! the first token.

use serde_json::json;

use crate::openai::{
    write_chunk_event, ChatChunk, ChatUsage, ChunkChoice, Delta, FunctionCallDelta, ToolCallDelta,
    DONE_EVENT, MAX_STREAM_SLOTS,
};
use crate::sse::SseParser;
use crate::{ResponseTarget, StreamFacts, StreamTranslator, ToolCallFact, TranslateError};

use super::wire::{StreamEvent, WireUsage};
use super::{error_body, error_status, finish_reason, tool_arguments, usage_from};

/// Translates an Anthropic SSE stream into the OpenAI chunk stream, chunk by chunk.
pub struct AnthropicUpstreamStream {
    parser: SseParser,
    state: State,
}

struct State {
    id: String,
    created: u64,
    model: String,
    include_usage: bool,
    /// The role chunk went out.
    started: bool,
    /// The finish_reason chunk went out.
    finish_sent: bool,
    /// `[DONE]` (or an error) went out: nothing more is written.
    done: bool,
    /// The latest usage counts; `message_delta` repeats running totals, never increments.
    usage: WireUsage,
    usage_seen: bool,
    /// Content block index -> tool call index, for the `tool_use` blocks of the message.
    tool_blocks: Vec<(u64, u32)>,
    facts: StreamFacts,
}

impl AnthropicUpstreamStream {
    /// `id` is the `chatcmpl-` id chunks carry until `message_start` names the message's own.
    pub fn new(target: &ResponseTarget<'_>, id: String) -> Self {
        Self {
            parser: SseParser::default(),
            state: State {
                id,
                created: target.created,
                model: target.model.to_string(),
                include_usage: target.include_usage,
                started: false,
                finish_sent: false,
                done: false,
                usage: WireUsage::default(),
                usage_seen: false,
                tool_blocks: Vec::new(),
                facts: StreamFacts::default(),
            },
        }
    }
}

impl StreamTranslator for AnthropicUpstreamStream {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), TranslateError> {
        let state = &mut self.state;
        self.parser.feed(chunk, |event| {
            state.on_event(event.event.as_deref(), &event.data, out)
        })
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), TranslateError> {
        let state = &mut self.state;
        self.parser
            .finish(|event| state.on_event(event.event.as_deref(), &event.data, out))?;
        // The stream ended without `message_stop`: end the client's stream all the same.
        state.end(out);
        Ok(())
    }

    fn facts(&self) -> &StreamFacts {
        &self.state.facts
    }
}

impl State {
    fn on_event(
        &mut self,
        name: Option<&str>,
        data: &str,
        out: &mut Vec<u8>,
    ) -> Result<(), TranslateError> {
        let data = data.trim();
        if self.done || data.is_empty() || data == "[DONE]" {
            return Ok(());
        }
        let event: StreamEvent = serde_json::from_str(data)
            .map_err(|e| TranslateError::InvalidResponse(e.to_string()))?;
        // The data's `type` names the event; the SSE `event:` line repeats it.
        match event.kind.as_deref().or(name).unwrap_or_default() {
            "message_start" => self.message_start(&event, out),
            "content_block_start" => self.block_start(&event, out)?,
            "content_block_delta" => self.block_delta(&event, out)?,
            "content_block_stop" => self.block_stop(&event, out),
            "message_delta" => self.message_delta(&event, out),
            "message_stop" => self.end(out),
            "error" => self.error(&event, out),
            // ping, and event types added later.
            _ => {}
        }
        Ok(())
    }

    fn message_start(&mut self, event: &StreamEvent, out: &mut Vec<u8>) {
        if let Some(message) = &event.message {
            if let Some(id) = message.id.as_ref().filter(|id| !id.is_empty()) {
                if !self.started {
                    self.id.clone_from(id);
                }
            }
            if let Some(model) = message.model.as_ref().filter(|m| !m.is_empty()) {
                if self.facts.response_model.is_none() {
                    self.facts.response_model = Some(model.clone());
                }
            }
            if let Some(usage) = &message.usage {
                self.update_usage(usage);
            }
        }
        self.start(out);
    }

    /// Emits the role chunk, once, before anything else of the choice.
    fn start(&mut self, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        self.facts.texts.push(String::new());
        let delta = Delta {
            role: Some("assistant".to_string()),
            content: Some(String::new()),
            ..Delta::default()
        };
        write_chunk_event(&self.choice_chunk(delta, None), out);
    }

    fn block_start(
        &mut self,
        event: &StreamEvent,
        out: &mut Vec<u8>,
    ) -> Result<(), TranslateError> {
        let Some(block) = &event.content_block else {
            return Ok(());
        };
        match block.kind.as_str() {
            "text" => {
                let text = block.text.clone().unwrap_or_default();
                self.text(text, out);
            }
            "tool_use" => {
                let block_index = event.index.unwrap_or(0);
                let tool_index = self.facts.tool_calls.len();
                if tool_index >= MAX_STREAM_SLOTS {
                    return Err(TranslateError::InvalidResponse(format!(
                        "more than {MAX_STREAM_SLOTS} tool calls in one stream"
                    )));
                }
                let tool_index = u32::try_from(tool_index).unwrap_or(u32::MAX);
                let id = block.id.clone().unwrap_or_default();
                let name = block.name.clone().unwrap_or_default();
                // The input arrives in `input_json_delta`s; a start carrying a whole input
                // (not the usual `{}`) gives it at once.
                let arguments = match &block.input {
                    Some(serde_json::Value::Object(m)) if !m.is_empty() => tool_arguments(block),
                    _ => String::new(),
                };
                self.tool_blocks.retain(|(b, _)| *b != block_index);
                self.tool_blocks.push((block_index, tool_index));
                self.facts.tool_calls.push(ToolCallFact {
                    id: id.clone(),
                    name: name.clone(),
                    arguments: arguments.clone(),
                });
                self.tool_delta(
                    ToolCallDelta {
                        index: tool_index,
                        id: Some(id),
                        kind: Some("function".to_string()),
                        function: Some(FunctionCallDelta {
                            name: Some(name),
                            arguments: Some(arguments),
                        }),
                    },
                    out,
                );
            }
            "thinking" => {
                let thinking = block.thinking.clone().unwrap_or_default();
                self.reasoning(thinking, out);
            }
            "redacted_thinking" => {
                let data = block.data.clone().unwrap_or_default();
                self.thinking_block(json!({"type": "redacted_thinking", "data": data}), out);
            }
            // Server tool blocks and their results: not part of the answer.
            _ => {}
        }
        Ok(())
    }

    fn block_delta(
        &mut self,
        event: &StreamEvent,
        out: &mut Vec<u8>,
    ) -> Result<(), TranslateError> {
        let Some(delta) = &event.delta else {
            return Ok(());
        };
        match delta.kind.as_deref() {
            Some("text_delta") => {
                let text = delta.text.clone().unwrap_or_default();
                self.text(text, out);
            }
            Some("input_json_delta") => {
                let partial = delta.partial_json.as_deref().unwrap_or_default();
                let Some(tool_index) = self.tool_index(event.index.unwrap_or(0)) else {
                    return Ok(()); // a delta of a block that is not a tool call
                };
                if partial.is_empty() {
                    return Ok(());
                }
                if let Some(fact) = self.facts.tool_calls.get_mut(tool_index as usize) {
                    fact.arguments.push_str(partial);
                }
                self.arguments_delta(tool_index, partial.to_string(), out);
            }
            Some("thinking_delta") => {
                let thinking = delta.thinking.clone().unwrap_or_default();
                self.reasoning(thinking, out);
            }
            Some("signature_delta") => {
                let Some(signature) = delta.signature.clone().filter(|s| !s.is_empty()) else {
                    return Ok(());
                };
                let block = json!({"type": "thinking", "thinking": "", "signature": signature});
                self.thinking_block(block, out);
            }
            // citations_delta, ...
            _ => {}
        }
        Ok(())
    }

    /// A tool call whose input never came (a tool without parameters streams no JSON) gets
    /// `{}`, so clients can parse its arguments.
    fn block_stop(&mut self, event: &StreamEvent, out: &mut Vec<u8>) {
        let Some(tool_index) = self.tool_index(event.index.unwrap_or(0)) else {
            return;
        };
        let empty = self
            .facts
            .tool_calls
            .get(tool_index as usize)
            .is_some_and(|f| f.arguments.is_empty());
        if empty {
            if let Some(fact) = self.facts.tool_calls.get_mut(tool_index as usize) {
                fact.arguments.push_str("{}");
            }
            self.arguments_delta(tool_index, "{}".to_string(), out);
        }
    }

    fn message_delta(&mut self, event: &StreamEvent, out: &mut Vec<u8>) {
        if let Some(usage) = &event.usage {
            self.update_usage(usage);
        }
        let Some(reason) = event.delta.as_ref().and_then(|d| d.stop_reason.as_deref()) else {
            return;
        };
        self.start(out);
        if self.finish_sent {
            return;
        }
        self.finish_sent = true;
        let finish = finish_reason(Some(reason), !self.facts.tool_calls.is_empty());
        self.facts.finish_reasons.push(finish.to_string());
        write_chunk_event(&self.choice_chunk(Delta::default(), Some(finish)), out);
    }

    /// `message_stop` (or the end of the input): the usage chunk if asked for, then `[DONE]`.
    fn end(&mut self, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        self.done = true;
        if self.include_usage && self.usage_seen {
            let mut chunk = self.chunk(Vec::new());
            chunk.usage = Some(ChatUsage::from_usage(&self.facts.usage));
            write_chunk_event(&chunk, out);
        }
        out.extend_from_slice(DONE_EVENT);
    }

    /// An `error` event: passed on as an OpenAI error event, and the stream ends there.
    fn error(&mut self, event: &StreamEvent, out: &mut Vec<u8>) {
        self.done = true;
        let empty = serde_json::Value::Object(serde_json::Map::new());
        let error = event
            .error
            .as_ref()
            .filter(|e| e.is_object())
            .unwrap_or(&empty);
        let status = error_status(error.get("type").and_then(serde_json::Value::as_str));
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(&error_body(status, error));
        out.extend_from_slice(b"\n\n");
    }

    /// Takes the latest counts: every field present replaces the one before (the counts of
    /// `message_delta` are cumulative, so adding them would count tokens twice).
    fn update_usage(&mut self, u: &WireUsage) {
        self.usage = self.usage.updated_by(u);
        self.usage_seen = true;
        self.facts.usage = usage_from(&self.usage);
    }

    fn tool_index(&self, block_index: u64) -> Option<u32> {
        self.tool_blocks
            .iter()
            .find(|(b, _)| *b == block_index)
            .map(|(_, t)| *t)
    }

    fn text(&mut self, text: String, out: &mut Vec<u8>) {
        self.start(out);
        if text.is_empty() {
            return;
        }
        self.facts.first_token_seen = true;
        if let Some(t) = self.facts.texts.first_mut() {
            t.push_str(&text);
        }
        let delta = Delta {
            content: Some(text),
            ..Delta::default()
        };
        write_chunk_event(&self.choice_chunk(delta, None), out);
    }

    /// A piece of thinking text, as `delta.reasoning_content`.
    fn reasoning(&mut self, thinking: String, out: &mut Vec<u8>) {
        self.start(out);
        if thinking.is_empty() {
            return;
        }
        self.facts.first_token_seen = true;
        let delta = Delta {
            reasoning_content: Some(thinking),
            ..Delta::default()
        };
        write_chunk_event(&self.choice_chunk(delta, None), out);
    }

    /// A signature or a redacted thinking block, as `delta.thinking_blocks`.
    fn thinking_block(&mut self, block: serde_json::Value, out: &mut Vec<u8>) {
        self.start(out);
        self.facts.first_token_seen = true;
        let delta = Delta {
            thinking_blocks: Some(vec![block]),
            ..Delta::default()
        };
        write_chunk_event(&self.choice_chunk(delta, None), out);
    }

    fn arguments_delta(&mut self, index: u32, arguments: String, out: &mut Vec<u8>) {
        self.tool_delta(
            ToolCallDelta {
                index,
                function: Some(FunctionCallDelta {
                    name: None,
                    arguments: Some(arguments),
                }),
                ..ToolCallDelta::default()
            },
            out,
        );
    }

    fn tool_delta(&mut self, call: ToolCallDelta, out: &mut Vec<u8>) {
        self.start(out);
        self.facts.first_token_seen = true;
        let delta = Delta {
            tool_calls: Some(vec![call]),
            ..Delta::default()
        };
        write_chunk_event(&self.choice_chunk(delta, None), out);
    }

    fn choice_chunk(&self, delta: Delta, finish: Option<&str>) -> ChatChunk {
        self.chunk(vec![ChunkChoice {
            index: 0,
            delta,
            finish_reason: finish.map(str::to_string),
            ..ChunkChoice::default()
        }])
    }

    fn chunk(&self, choices: Vec<ChunkChoice>) -> ChatChunk {
        ChatChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".to_string(),
            created: self.created,
            model: self
                .facts
                .response_model
                .clone()
                .unwrap_or_else(|| self.model.clone()),
            choices,
            ..ChatChunk::default()
        }
    }
}
