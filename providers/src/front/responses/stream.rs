//! The hub's `chat.completion.chunk` stream → the Responses API's event stream, for providers
//! that do not speak Responses.
//!
//! Events, each `event: <type>\ndata: <json>\n\n` with a `sequence_number` counting from 0:
//! `response.created` and `response.in_progress` (the `response` object, `in_progress`, no
//! output) at the first chunk; then one output item at a time, in the order the hub streams
//! them:
//! - thinking (`reasoning_content`, `thinking_blocks`) → a `reasoning` item:
//!   `response.output_item.added`, per thinking block `response.reasoning_summary_part.added`,
//!   `response.reasoning_summary_text.delta`..., `response.reasoning_summary_text.done`,
//!   `response.reasoning_summary_part.done` (a signature closes the part), then
//!   `response.output_item.done` with `encrypted_content` when asked (see
//!   [`super::thinking`]);
//! - text → a `message` item: `response.output_item.added`, `response.content_part.added`,
//!   `response.output_text.delta`..., `response.output_text.done`,
//!   `response.content_part.done`, `response.output_item.done`;
//! - each tool call → a `function_call` item: `response.output_item.added` (empty
//!   `arguments`), `response.function_call_arguments.delta`...,
//!   `response.function_call_arguments.done`, `response.output_item.done`. More of a tool
//!   call whose item is closed cannot be added to it and is left out (as for Messages).
//!
//! The stream ends once, with the whole `response` object and its usage:
//! `response.completed`, or `response.incomplete` when the hub's finish reason is `length` or
//! `content_filter` (at the finish reason plus usage, at `[DONE]`, or in `finish()`). It ends
//! with `response.failed` (`status: "failed"`, `error: {code, message}`) when the hub reports
//! an error chunk, or ends (`[DONE]`, `finish()`) before any finish reason: the upstream broke
//! off, or when the provider's stream cannot be translated (the inner translator's error,
//! also returned to the gateway). Items still open are closed `incomplete` first.

use serde_json::{json, Value};

use super::echo::{Answer, Echo, Ids, Status};
use super::from_hub::{message_item, output_text, reasoning_item};
use super::thinking;
use super::tools::{call_item, custom_input, item_prefix, ToolKind};
use crate::openai::{ChatChunk, ChatUsage, ToolCallDelta, MAX_STREAM_SLOTS};
use crate::sse::SseParser;
use crate::{StreamFacts, StreamTranslator, TranslateError};
use reasoning::Reasoning;

mod reasoning;

/// The message of `response.failed` when the upstream stream ends before the answer does.
const CUT_SHORT: &str = "the upstream stream ended before the model finished its answer";

/// The output item being streamed.
enum Open {
    Reasoning(Reasoning),
    Message {
        id: String,
        text: String,
    },
    Call {
        index: u32,
        id: String,
        call_id: String,
        name: String,
        arguments: String,
        kind: ToolKind,
    },
}

struct State {
    echo: Echo,
    ids: Ids,
    response_id: String,
    model: String,
    created_at: u64,
    sequence_number: u64,
    started: bool,
    ended: bool,
    /// The items closed so far; the open one's output index is its length.
    output: Vec<Value>,
    open: Option<Open>,
    /// Hub tool-call indexes whose item has been opened (and maybe closed).
    tools_seen: Vec<u32>,
    finish_reason: Option<String>,
    usage: Option<ChatUsage>,
}

impl State {
    fn new(echo: Echo) -> State {
        State {
            model: echo.model.clone(),
            echo,
            ids: Ids::default(),
            response_id: String::new(),
            created_at: 0,
            sequence_number: 0,
            started: false,
            ended: false,
            output: Vec::new(),
            open: None,
            tools_seen: Vec::new(),
            finish_reason: None,
            usage: None,
        }
    }

    fn handle(&mut self, data: &str, out: &mut Vec<u8>) {
        let data = data.trim();
        if self.ended || data.is_empty() {
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
            self.start(None, out);
            let (code, message) = error_fields(err);
            self.fail(code, &message, out);
            return;
        }
        self.start(Some(&chunk), out);
        for choice in chunk.choices.iter().filter(|c| c.index == 0) {
            let delta = &choice.delta;
            if let Some(t) = delta.reasoning_content.as_deref().filter(|t| !t.is_empty()) {
                self.thinking_text(t, out);
            }
            for block in delta.thinking_blocks.iter().flatten() {
                self.thinking_block(block, out);
            }
            if let Some(t) = delta.content.as_deref().filter(|t| !t.is_empty()) {
                self.text(t, out);
            }
            for call in delta.tool_calls.iter().flatten() {
                self.tool_call(call, out);
            }
            if let Some(reason) = &choice.finish_reason {
                let status = Status::of_finish(Some(reason));
                self.close(status.item_status(), out);
                self.finish_reason = Some(reason.clone());
            }
        }
        if chunk.usage.is_some() {
            self.usage = chunk.usage;
        }
        if self.finish_reason.is_some() && self.usage.is_some() {
            self.end(out);
        }
    }

    /// Writes one event: its `type`, `fields`, and the next sequence number.
    fn emit(&mut self, out: &mut Vec<u8>, kind: &str, fields: Value) {
        let mut event = json!({"type": kind});
        if let (Some(event), Value::Object(fields)) = (event.as_object_mut(), fields) {
            event.extend(fields);
            event.insert("sequence_number".to_string(), json!(self.sequence_number));
        }
        self.sequence_number += 1;
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"\ndata: ");
        let _ = serde_json::to_writer(&mut *out, &event);
        out.extend_from_slice(b"\n\n");
    }

    /// A `response.*` event (`kind`) with the whole `response` object.
    fn emit_response(&mut self, out: &mut Vec<u8>, kind: &str, status: Status<'_>) {
        let answer = Answer {
            id: &self.response_id,
            created_at: self.created_at,
            model: &self.model,
            status,
            output: &self.output,
            usage: self.usage.as_ref(),
        };
        self.echo
            .response_event(kind, self.sequence_number, &answer, out);
        self.sequence_number += 1;
    }

    /// `response.created` and `response.in_progress`, once, before anything else.
    fn start(&mut self, chunk: Option<&ChatChunk>, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        self.ids = Ids::new(chunk.map(|c| c.id.as_str()).unwrap_or(""));
        self.response_id = self.ids.response();
        if let Some(c) = chunk {
            if !c.model.is_empty() {
                self.model.clone_from(&c.model);
            }
            self.created_at = c.created;
        }
        self.emit_response(out, "response.created", Status::InProgress);
        self.emit_response(out, "response.in_progress", Status::InProgress);
    }

    fn output_index(&self) -> usize {
        self.output.len()
    }

    fn text(&mut self, text: &str, out: &mut Vec<u8>) {
        if !matches!(self.open, Some(Open::Message { .. })) {
            self.close("completed", out);
            let output_index = self.output_index();
            let id = self.ids.item("msg", output_index);
            self.emit(
                out,
                "response.output_item.added",
                json!({"output_index": output_index, "item": {
                    "id": id, "type": "message", "status": "in_progress",
                    "role": "assistant", "content": [],
                }}),
            );
            self.emit(
                out,
                "response.content_part.added",
                json!({"item_id": id, "output_index": output_index, "content_index": 0,
                       "part": output_text("")}),
            );
            self.open = Some(Open::Message {
                id,
                text: String::new(),
            });
        }
        let output_index = self.output_index();
        let Some(Open::Message { id, text: all }) = &mut self.open else {
            return;
        };
        all.push_str(text);
        let id = id.clone();
        self.emit(
            out,
            "response.output_text.delta",
            json!({"item_id": id, "output_index": output_index, "content_index": 0,
                   "delta": text, "logprobs": []}),
        );
    }

    fn tool_call(&mut self, call: &ToolCallDelta, out: &mut Vec<u8>) {
        let is_open = matches!(&self.open, Some(Open::Call { index, .. }) if *index == call.index);
        if !is_open {
            if self.tools_seen.contains(&call.index) || self.tools_seen.len() >= MAX_STREAM_SLOTS {
                return;
            }
            self.tools_seen.push(call.index);
            self.close("completed", out);
            let output_index = self.output_index();
            let name = call
                .function
                .as_ref()
                .and_then(|f| f.name.clone())
                .unwrap_or_default();
            let kind = self.echo.tool_map.kind(&name);
            let id = self.ids.item(item_prefix(&kind), output_index);
            let call_id = call
                .id
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| format!("call_sluice_{}", call.index));
            let item = call_item(&kind, &id, "in_progress", &call_id, &name, "");
            self.emit(
                out,
                "response.output_item.added",
                json!({"output_index": output_index, "item": item}),
            );
            self.open = Some(Open::Call {
                index: call.index,
                id,
                call_id,
                name,
                arguments: String::new(),
                kind,
            });
        }
        let Some(args) = call
            .function
            .as_ref()
            .and_then(|f| f.arguments.as_deref())
            .filter(|a| !a.is_empty())
        else {
            return;
        };
        let output_index = self.output_index();
        if let Some(Open::Call {
            id,
            arguments,
            kind,
            ..
        }) = &mut self.open
        {
            arguments.push_str(args);
            if is_custom(kind) {
                // A custom tool's input is a string inside the hub's JSON arguments: it is
                // sent whole when the call is complete.
                return;
            }
            let id = id.clone();
            self.emit(
                out,
                "response.function_call_arguments.delta",
                json!({"item_id": id, "output_index": output_index, "delta": args}),
            );
        }
    }

    /// Closes the open item with `status`: its `.done` events, then `output_item.done`.
    fn close(&mut self, status: &str, out: &mut Vec<u8>) {
        if matches!(self.open, Some(Open::Reasoning(_))) {
            self.close_unsigned(out);
        }
        let output_index = self.output_index();
        let item = match self.open.take() {
            None => return,
            Some(Open::Reasoning(r)) => {
                let summary = r
                    .summary
                    .iter()
                    .map(|t| thinking::summary_part(t))
                    .collect();
                reasoning_item(&r.id, summary, &r.blocks, &self.echo)
            }
            Some(Open::Message { id, text }) => {
                let at = json!({"item_id": id, "output_index": output_index, "content_index": 0});
                let mut done = at.clone();
                done["text"] = json!(text);
                done["logprobs"] = json!([]);
                self.emit(out, "response.output_text.done", done);
                let mut part = at;
                part["part"] = output_text(&text);
                self.emit(out, "response.content_part.done", part);
                message_item(&id, status, &text)
            }
            Some(Open::Call {
                id,
                call_id,
                name,
                arguments,
                kind,
                ..
            }) => {
                let item = call_item(&kind, &id, status, &call_id, &name, &arguments);
                if is_custom(&kind) {
                    let input = custom_input(&arguments);
                    let at = json!({"item_id": id, "output_index": output_index});
                    if !input.is_empty() {
                        let mut delta = at.clone();
                        delta["delta"] = json!(input);
                        self.emit(out, "response.custom_tool_call_input.delta", delta);
                    }
                    let mut done = at;
                    done["input"] = json!(input);
                    self.emit(out, "response.custom_tool_call_input.done", done);
                } else {
                    self.emit(
                        out,
                        "response.function_call_arguments.done",
                        json!({"item_id": id, "output_index": output_index,
                               "name": item["name"], "arguments": arguments}),
                    );
                }
                item
            }
        };
        self.emit(
            out,
            "response.output_item.done",
            json!({"output_index": output_index, "item": item}),
        );
        self.output.push(item);
    }

    /// The stream's end: `response.completed` / `response.incomplete`, or `response.failed`
    /// when the hub never gave a finish reason. Once.
    fn end(&mut self, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        self.start(None, out);
        let Some(reason) = self.finish_reason.clone() else {
            self.fail("server_error", CUT_SHORT, out);
            return;
        };
        let status = Status::of_finish(Some(&reason));
        self.close(status.item_status(), out);
        self.ended = true;
        self.emit_response(out, status.event_type(), status);
    }

    /// `response.failed`, the open item closed `incomplete` first.
    fn fail(&mut self, code: &str, message: &str, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        self.close("incomplete", out);
        self.ended = true;
        let status = Status::Failed { code, message };
        self.emit_response(out, status.event_type(), status);
    }
}

/// The `error.code` and message of a hub error chunk's `error`.
fn is_custom(kind: &ToolKind) -> bool {
    matches!(
        kind,
        ToolKind::Custom | ToolKind::Namespaced { custom: true, .. }
    )
}

fn error_fields(err: &Value) -> (&'static str, String) {
    let message = match err {
        Value::String(s) => s.clone(),
        _ => err
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("upstream stream error")
            .to_string(),
    };
    let code = match err.get("type").and_then(Value::as_str) {
        Some("rate_limit_error") => "rate_limit_exceeded",
        _ => "server_error",
    };
    (code, message)
}

/// A provider's hub stream translator (provider stream → hub chunks) followed by the
/// Responses events of the module docs: a translated stream for a Responses client. Its facts
/// are the inner translator's.
pub struct FromHubStream {
    inner: Box<dyn StreamTranslator>,
    parser: SseParser,
    state: State,
    buf: Vec<u8>,
}

impl FromHubStream {
    pub fn new(inner: Box<dyn StreamTranslator>, echo: Echo) -> Self {
        FromHubStream {
            inner,
            parser: SseParser::default(),
            state: State::new(echo),
            buf: Vec::with_capacity(4096),
        }
    }
}

impl FromHubStream {
    /// Translates the hub events the inner translator wrote; an error of the inner translator
    /// (`inner`) or of the hub events ends the client's stream with `response.failed` (the
    /// error is still returned, for the gateway's records).
    fn relay(
        &mut self,
        inner: Result<(), TranslateError>,
        out: &mut Vec<u8>,
    ) -> Result<(), TranslateError> {
        let state = &mut self.state;
        let parsed = self.parser.feed(&self.buf, |event| {
            state.handle(&event.data, out);
            Ok(())
        });
        let result = inner.and(parsed);
        if let Err(e) = &result {
            self.state.start(None, out);
            self.state.fail("server_error", &e.to_string(), out);
        }
        result
    }
}

impl StreamTranslator for FromHubStream {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), TranslateError> {
        self.buf.clear();
        let inner = self.inner.feed(chunk, &mut self.buf);
        self.relay(inner, out)
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), TranslateError> {
        self.buf.clear();
        let inner = self.inner.finish(&mut self.buf);
        let relayed = self.relay(inner, out);
        let state = &mut self.state;
        let parsed = self.parser.finish(|event| {
            state.handle(&event.data, out);
            Ok(())
        });
        self.state.end(out);
        relayed.and(parsed)
    }

    fn facts(&self) -> &StreamFacts {
        self.inner.facts()
    }
}
