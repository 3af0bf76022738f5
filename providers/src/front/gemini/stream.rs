//! The hub's chunk stream (OpenAI `chat.completion.chunk` SSE) → Gemini's
//! `streamGenerateContent` stream, in either of Google's framings:
//!
//! - `?alt=sse`: one `data: <GenerateContentResponse>\r\n\r\n` event per step (Google ends
//!   its events with CRLF pairs);
//! - without it: one JSON array written as it grows ([`super::framing::ArrayFraming`], the
//!   framing native streams get too), which clients parse incrementally.
//!
//! Each step's event carries the parts that step completed: text, thought text (`thought:
//! true`), and function calls, each whole (Gemini never streams a call in pieces: a hub tool
//! call's argument pieces are buffered until the next tool index, other content, or the
//! finish reason; pieces of a call already sent are dropped). The hub's `thinking_blocks` ride
//! in a `thoughtSignature` (see [`super::from_hub`]) on the next `functionCall` part, else on
//! an empty text part of the last event; a signed block that came without its text (as hub
//! streams send it, after the text) gets the thinking text streamed before it. Buffered text
//! (a call's arguments, thinking text) is capped at [`MAX_LINE`]. The last event carries each candidate's
//! `finishReason` and the `usageMetadata`; it is sent once every choice has finished and
//! usage is known, or at `[DONE]`, or when the input ends (then without a `finishReason` for
//! a choice the provider never finished: the stream was cut). An error inside the hub stream
//! (`{"error": ...}`) ends the stream with Google's `{"error": {...}}` as the last event or
//! array element, as Google ends a broken stream.

use serde_json::{json, Map, Value};

use super::framing::ArrayFraming;
use super::from_hub::{
    candidate, encode_signature, error_object, finish_reason, function_call_part, usage_metadata,
};
use crate::openai::{ChatChunk, ChatUsage, ToolCallDelta, MAX_STREAM_SLOTS};
use crate::sse::{SseParser, MAX_LINE};
use crate::{StreamFacts, StreamTranslator, TranslateError};

/// A hub tool call being gathered.
#[derive(Debug, Default)]
struct PendingCall {
    index: u32,
    id: String,
    name: String,
    arguments: String,
}

/// One choice (candidate) of the stream.
#[derive(Debug, Default)]
struct Candidate {
    call: Option<PendingCall>,
    /// Hub tool-call indexes already sent.
    sent: Vec<u32>,
    /// Thinking blocks waiting for a part to ride on.
    blocks: Vec<Value>,
    /// Thinking text since the last thinking block: a hub stream sends a signed block with
    /// empty text after the text it signs, and the provider wants the two back together.
    reasoning: String,
    finish: Option<String>,
    /// Parts completed by the finishing step, sent with the last event.
    last_parts: Vec<Value>,
}

impl Candidate {
    /// Sends the call being gathered (with the waiting thinking blocks) into `parts`.
    fn flush_call(&mut self, parts: &mut Vec<Value>) {
        let Some(call) = self.call.take() else {
            return;
        };
        let mut part = function_call_part(&call.id, &call.name, &call.arguments);
        if !self.blocks.is_empty() {
            part["thoughtSignature"] = Value::String(encode_signature(&self.blocks));
            self.blocks.clear();
        }
        self.sent.push(call.index);
        parts.push(part);
    }

    /// A thinking block of the hub stream, given the text it signs when it came without.
    fn thinking_block(&mut self, block: &Value) {
        let mut block = block.clone();
        let signs_text = block.get("type").and_then(Value::as_str) == Some("thinking")
            && block
                .get("thinking")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty);
        if signs_text {
            block["thinking"] = Value::String(std::mem::take(&mut self.reasoning));
        }
        self.blocks.push(block);
    }

    fn tool_delta(
        &mut self,
        d: &ToolCallDelta,
        parts: &mut Vec<Value>,
    ) -> Result<(), TranslateError> {
        if self.call.as_ref().is_some_and(|c| c.index != d.index) {
            self.flush_call(parts);
        }
        if self.sent.contains(&d.index) || self.sent.len() >= MAX_STREAM_SLOTS {
            return Ok(());
        }
        let call = self.call.get_or_insert_with(|| PendingCall {
            index: d.index,
            ..PendingCall::default()
        });
        if let Some(id) = d.id.as_deref().filter(|id| !id.is_empty()) {
            call.id = id.to_string();
        }
        if let Some(f) = &d.function {
            if let Some(name) = &f.name {
                call.name.push_str(name);
            }
            if let Some(args) = &f.arguments {
                call.arguments.push_str(args);
            }
        }
        capped(call.arguments.len())
    }
}

/// Buffered text (a call's arguments, thinking text) is capped like an SSE line.
fn capped(len: usize) -> Result<(), TranslateError> {
    if len > MAX_LINE {
        return Err(TranslateError::LineTooLong(MAX_LINE));
    }
    Ok(())
}

#[derive(Debug)]
struct Encoder {
    sse: bool,
    model: String,
    response_id: String,
    candidates: Vec<Candidate>,
    usage: Option<ChatUsage>,
    /// The JSON array, for streams without `?alt=sse`.
    array: ArrayFraming,
    /// Events written.
    written: usize,
    /// No more events: the last one (or an error) is out.
    ended: bool,
}

impl Encoder {
    fn new(model: &str, sse: bool) -> Self {
        Encoder {
            sse,
            model: model.to_string(),
            response_id: String::new(),
            candidates: Vec::new(),
            usage: None,
            array: ArrayFraming::default(),
            written: 0,
            ended: false,
        }
    }

    fn write(&mut self, event: &Value, out: &mut Vec<u8>) {
        // Serialising values to a Vec cannot fail.
        let json = event.to_string();
        if self.sse {
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(json.as_bytes());
            out.extend_from_slice(b"\r\n\r\n");
        } else {
            self.array.element(json.as_bytes(), out);
        }
        self.written += 1;
    }

    /// The array's `]` (JSON-array framing), once.
    fn close(&mut self, out: &mut Vec<u8>) {
        if !self.sse {
            self.array.end(out);
        }
    }

    /// An event with these candidates (and usage, for the last one).
    fn event(&self, candidates: Vec<Value>, usage: Option<&ChatUsage>) -> Value {
        let mut e = Map::new();
        e.insert("candidates".into(), Value::Array(candidates));
        if let Some(u) = usage {
            e.insert("usageMetadata".into(), usage_metadata(u));
        }
        e.insert("modelVersion".into(), json!(self.model));
        if !self.response_id.is_empty() {
            e.insert("responseId".into(), json!(self.response_id));
        }
        Value::Object(e)
    }

    fn handle(&mut self, data: &str, out: &mut Vec<u8>) -> Result<(), TranslateError> {
        let data = data.trim();
        if self.ended || data.is_empty() {
            return Ok(());
        }
        if data == "[DONE]" {
            self.end(out);
            return Ok(());
        }
        let Ok(chunk) = serde_json::from_str::<ChatChunk>(data) else {
            return Ok(());
        };
        if let Some(err) = chunk.extra.get("error") {
            self.error(status_of(err), &message_of(err), out);
            return Ok(());
        }
        if self.response_id.is_empty() && !chunk.id.is_empty() {
            self.response_id.clone_from(&chunk.id);
        }
        if !chunk.model.is_empty() && self.written == 0 {
            self.model.clone_from(&chunk.model);
        }
        let mut candidates = Vec::new();
        for choice in &chunk.choices {
            let i = choice.index as usize;
            if i >= MAX_STREAM_SLOTS {
                continue;
            }
            if self.candidates.len() <= i {
                self.candidates.resize_with(i + 1, Candidate::default);
            }
            let c = &mut self.candidates[i];
            if c.finish.is_some() {
                continue;
            }
            let mut parts = Vec::new();
            let delta = &choice.delta;
            if let Some(r) = delta.reasoning_content.as_deref().filter(|r| !r.is_empty()) {
                c.flush_call(&mut parts);
                parts.push(json!({"text": r, "thought": true}));
                c.reasoning.push_str(r);
                capped(c.reasoning.len())?;
            }
            for block in delta.thinking_blocks.iter().flatten() {
                c.thinking_block(block);
            }
            if let Some(text) = delta.content.as_deref().filter(|t| !t.is_empty()) {
                c.flush_call(&mut parts);
                parts.push(json!({ "text": text }));
            }
            for d in delta.tool_calls.iter().flatten() {
                c.tool_delta(d, &mut parts)?;
            }
            if let Some(reason) = &choice.finish_reason {
                c.flush_call(&mut parts);
                c.finish = Some(reason.clone());
                c.last_parts = parts;
            } else if !parts.is_empty() {
                candidates.push(candidate(parts, None, choice.index));
            }
        }
        if !candidates.is_empty() {
            let event = self.event(candidates, None);
            self.write(&event, out);
        }
        if chunk.usage.is_some() {
            self.usage.clone_from(&chunk.usage);
        }
        let all_finished =
            !self.candidates.is_empty() && self.candidates.iter().all(|c| c.finish.is_some());
        if all_finished && self.usage.is_some() {
            self.end(out);
        }
        Ok(())
    }

    /// The last event: every candidate's remaining parts and finish reason, and the usage.
    fn end(&mut self, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        self.ended = true;
        if self.candidates.is_empty() {
            self.candidates.push(Candidate::default());
        }
        let mut candidates = Vec::with_capacity(self.candidates.len());
        for (i, c) in self.candidates.iter_mut().enumerate() {
            let mut parts = std::mem::take(&mut c.last_parts);
            c.flush_call(&mut parts);
            if !c.blocks.is_empty() {
                parts.push(json!({"text": "", "thoughtSignature": encode_signature(&c.blocks)}));
            }
            let finish = c.finish.as_deref().map(finish_reason);
            candidates.push(candidate(
                parts,
                finish,
                u32::try_from(i).unwrap_or(u32::MAX),
            ));
        }
        let event = self.event(candidates, self.usage.as_ref());
        self.write(&event, out);
        self.close(out);
    }

    /// Google's error as the last event (element), and the stream is over.
    fn error(&mut self, status: u16, message: &str, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        self.ended = true;
        self.write(&json!({ "error": error_object(status, message) }), out);
        self.close(out);
    }
}

/// The message of a hub stream's `error` value.
fn message_of(err: &Value) -> String {
    match err {
        Value::String(s) => s.clone(),
        _ => err
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("upstream stream error")
            .to_string(),
    }
}

/// The HTTP status a hub stream error amounts to, told by its `code` or `type`.
fn status_of(err: &Value) -> u16 {
    if let Some(code) = err.get("code").and_then(Value::as_u64) {
        if let Ok(code @ 400..=599) = u16::try_from(code) {
            return code;
        }
    }
    let said = |k: &str| err.get(k).and_then(Value::as_str).unwrap_or("");
    let kind = format!("{} {}", said("code"), said("type"));
    match () {
        _ if kind.contains("rate_limit") || kind.contains("resource_exhausted") => 429,
        _ if kind.contains("overloaded") || kind.contains("unavailable") => 503,
        _ if kind.contains("authentication") => 401,
        _ if kind.contains("permission") => 403,
        _ if kind.contains("invalid_request") => 400,
        _ if kind.contains("timeout") => 504,
        _ => 500,
    }
}

/// A provider's hub stream translator (provider stream → hub chunks) followed by the Gemini
/// encoding of those chunks: a translated stream for a Gemini client.
pub struct FromHubStream {
    inner: Box<dyn StreamTranslator>,
    parser: SseParser,
    encoder: Encoder,
    buf: Vec<u8>,
}

impl FromHubStream {
    /// `model` names the model when the chunks do not; `sse` picks `?alt=sse` framing, else
    /// the JSON array.
    pub fn new(inner: Box<dyn StreamTranslator>, model: &str, sse: bool) -> Self {
        FromHubStream {
            inner,
            parser: SseParser::default(),
            encoder: Encoder::new(model, sse),
            buf: Vec::with_capacity(4096),
        }
    }

    /// Ends the stream with an error the gateway met (the upstream broke off, a limit was
    /// hit), framed for where the stream stands; nothing more is written after it.
    pub fn fail(&mut self, status: u16, message: &str, out: &mut Vec<u8>) {
        self.encoder.error(status, message, out);
    }

    fn encode(&mut self, out: &mut Vec<u8>) -> Result<(), TranslateError> {
        let encoder = &mut self.encoder;
        self.parser
            .feed(&self.buf, |event| encoder.handle(&event.data, out))
    }
}

impl StreamTranslator for FromHubStream {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), TranslateError> {
        self.buf.clear();
        self.inner.feed(chunk, &mut self.buf)?;
        self.encode(out)
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), TranslateError> {
        self.buf.clear();
        self.inner.finish(&mut self.buf)?;
        self.encode(out)?;
        let encoder = &mut self.encoder;
        self.parser
            .finish(|event| encoder.handle(&event.data, out))?;
        self.encoder.end(out);
        self.encoder.close(out);
        Ok(())
    }

    fn facts(&self) -> &StreamFacts {
        self.inner.facts()
    }
}

#[cfg(test)]
mod tests;
