//! Gemini's `streamGenerateContent?alt=sse` stream (one `GenerateContentResponse` per event,
//! no terminator) as an OpenAI `chat.completion.chunk` stream. Thought parts become
//! `reasoning_content` deltas and thought signatures `thinking_blocks` in the delta of the
//! chunk carrying their part (see [`super::thinking`]); thoughts count as the first token but
//! not as answer text.

use crate::openai::{
    write_chunk_event, ChatChunk, ChatUsage, ChunkChoice, Delta, FunctionCallDelta, ToolCallDelta,
    DONE_EVENT,
};
use crate::sse::SseParser;
use crate::{ResponseTarget, StreamFacts, StreamTranslator, ToolCallFact, TranslateError};

use super::thinking::part_reasoning;
use super::wire::GenerateContentResponse;
use super::{call_arguments, call_id, error_body, finish_reason, usage_from};

/// The most choices a stream may have (Gemini's `candidateCount` allows up to 8).
const MAX_CHOICES: u32 = 16;

/// Translates a Gemini SSE stream into the OpenAI chunk stream, chunk by chunk.
pub struct GeminiStream {
    parser: SseParser,
    state: State,
}

struct State {
    id: String,
    created: u64,
    model: String,
    include_usage: bool,
    usage_seen: bool,
    next_call: u64,
    choices: Vec<ChoiceState>,
    finished: bool,
    facts: StreamFacts,
    /// Whether the hub's chunks are written out (not when only the facts are wanted).
    write: bool,
}

#[derive(Clone, Copy, Default)]
struct ChoiceState {
    started: bool,
    tool_calls: u32,
    finished: bool,
}

impl GeminiStream {
    /// `id` is the `chatcmpl-` id every chunk carries.
    pub fn new(target: &ResponseTarget<'_>, id: String) -> Self {
        Self {
            parser: SseParser::default(),
            state: State {
                id,
                created: target.created,
                model: target.model.to_string(),
                include_usage: target.include_usage,
                usage_seen: false,
                next_call: 0,
                choices: Vec::new(),
                finished: false,
                facts: StreamFacts::default(),
                write: true,
            },
        }
    }

    /// A reader of a Gemini stream's facts only, for a stream relayed as it came: nothing is
    /// written out.
    pub fn facts_reader(target: &ResponseTarget<'_>) -> Self {
        let mut reader = Self::new(target, String::new());
        reader.state.write = false;
        reader
    }
}

impl StreamTranslator for GeminiStream {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), TranslateError> {
        let state = &mut self.state;
        self.parser
            .feed(chunk, |event| state.on_event(&event.data, out))
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), TranslateError> {
        let state = &mut self.state;
        self.parser
            .finish(|event| state.on_event(&event.data, out))?;
        if state.finished {
            return Ok(());
        }
        state.finished = true;
        if !state.write {
            return Ok(());
        }
        if state.include_usage && state.usage_seen {
            let mut chunk = state.chunk(Vec::new());
            chunk.usage = Some(ChatUsage::from_usage(&state.facts.usage));
            write_chunk_event(&chunk, out);
        }
        out.extend_from_slice(DONE_EVENT);
        Ok(())
    }

    fn facts(&self) -> &StreamFacts {
        &self.state.facts
    }
}

impl State {
    /// Writes a hub chunk, unless only the facts are wanted.
    fn emit(&self, chunk: &ChatChunk, out: &mut Vec<u8>) {
        if self.write {
            write_chunk_event(chunk, out);
        }
    }

    fn on_event(&mut self, data: &str, out: &mut Vec<u8>) -> Result<(), TranslateError> {
        let data = data.trim();
        if data.is_empty() || data == "[DONE]" || self.finished {
            return Ok(());
        }
        let resp: GenerateContentResponse = serde_json::from_str(data)
            .map_err(|e| TranslateError::InvalidResponse(e.to_string()))?;
        if let Some(error) = resp.error.as_ref().filter(|e| e.is_object()) {
            // An error in the middle of the stream: passed on as OpenAI streams do.
            let status = error
                .get("code")
                .and_then(|c| c.as_u64())
                .and_then(|c| u16::try_from(c).ok())
                .unwrap_or(500);
            if self.write {
                out.extend_from_slice(b"data: ");
                out.extend_from_slice(&error_body(status, error));
                out.extend_from_slice(b"\n\n");
            }
            return Ok(());
        }
        if let Some(model) = resp.model_version.as_ref().filter(|m| !m.is_empty()) {
            if self.facts.response_model.is_none() {
                self.facts.response_model = Some(model.clone());
            }
        }
        if let Some(usage) = &resp.usage_metadata {
            // Gemini repeats the running totals on every event: the latest is the truth.
            self.facts.usage = usage_from(usage);
            self.usage_seen = true;
        }
        let blocked = resp
            .prompt_feedback
            .as_ref()
            .is_some_and(|f| f.block_reason.is_some());
        if resp.candidates.is_empty() && blocked {
            self.finish_choice(0, None, true, out)?;
        }
        for cand in &resp.candidates {
            let index = cand.index.unwrap_or(0);
            let mut delta = self.start_choice(index)?;
            let mut text = String::new();
            let mut calls = Vec::new();
            let mut reasoning = String::new();
            let mut thinking_blocks = Vec::new();
            for part in cand.parts() {
                let (thought, block) = part_reasoning(part);
                thinking_blocks.extend(block);
                if let Some(thought) = thought {
                    reasoning.push_str(thought);
                    continue;
                }
                if let Some(t) = &part.text {
                    text.push_str(t);
                }
                if let Some(fc) = &part.function_call {
                    let id = call_id(fc, part.thought_signature.as_deref(), &mut self.next_call);
                    let arguments = call_arguments(fc);
                    let slot = &mut self.choices[index as usize].tool_calls;
                    calls.push(ToolCallDelta {
                        index: *slot,
                        id: Some(id.clone()),
                        kind: Some("function".to_string()),
                        function: Some(FunctionCallDelta {
                            name: Some(fc.name.clone()),
                            arguments: Some(arguments.clone()),
                        }),
                    });
                    *slot = slot.saturating_add(1);
                    self.facts.tool_calls.push(ToolCallFact {
                        id,
                        name: fc.name.clone(),
                        arguments,
                    });
                }
            }
            if !reasoning.is_empty() {
                self.facts.first_token_seen = true;
                delta.reasoning_content = Some(reasoning);
            }
            if !thinking_blocks.is_empty() {
                self.facts.first_token_seen = true;
                delta.thinking_blocks = Some(thinking_blocks);
            }
            if !text.is_empty() {
                self.facts.texts[index as usize].push_str(&text);
                self.facts.first_token_seen = true;
                delta.content = Some(text);
            }
            if !calls.is_empty() {
                self.facts.first_token_seen = true;
                delta.tool_calls = Some(calls);
            }
            if delta != Delta::default() {
                let chunk = self.choice_chunk(index, delta, None);
                self.emit(&chunk, out);
            }
            if let Some(reason) = cand.finish_reason.as_deref() {
                self.finish_choice(index, Some(reason), false, out)?;
            }
        }
        Ok(())
    }

    /// The delta opening a choice: the first one of each choice names the role.
    fn start_choice(&mut self, index: u32) -> Result<Delta, TranslateError> {
        if index >= MAX_CHOICES {
            return Err(TranslateError::InvalidResponse(format!(
                "candidate index {index} out of range"
            )));
        }
        let i = index as usize;
        if self.choices.len() <= i {
            self.choices.resize(i + 1, ChoiceState::default());
        }
        if self.facts.texts.len() <= i {
            self.facts.texts.resize(i + 1, String::new());
        }
        let mut delta = Delta::default();
        if !self.choices[i].started {
            self.choices[i].started = true;
            delta.role = Some("assistant".to_string());
            delta.content = Some(String::new());
        }
        Ok(delta)
    }

    /// Emits the chunk carrying a choice's `finish_reason` (once per choice), from Gemini's
    /// `finishReason` or, for a prompt blocked before any candidate, `content_filter`.
    fn finish_choice(
        &mut self,
        index: u32,
        reason: Option<&str>,
        prompt_blocked: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), TranslateError> {
        let delta = self.start_choice(index)?;
        if delta.role.is_some() {
            let chunk = self.choice_chunk(index, delta, None);
            self.emit(&chunk, out);
        }
        let state = &mut self.choices[index as usize];
        if state.finished {
            return Ok(());
        }
        state.finished = true;
        let finish = if prompt_blocked {
            "content_filter"
        } else {
            finish_reason(reason, state.tool_calls > 0)
        };
        self.facts.finish_reasons.push(finish.to_string());
        let chunk = self.choice_chunk(index, Delta::default(), Some(finish));
        self.emit(&chunk, out);
        Ok(())
    }

    fn choice_chunk(&self, index: u32, delta: Delta, finish: Option<&str>) -> ChatChunk {
        self.chunk(vec![ChunkChoice {
            index,
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
