//! Telemetry facts read over Anthropic Messages answers as they are (native pass-through from
//! Anthropic, Claude on Vertex, Claude on Bedrock): model, usage with cache reads and writes,
//! stop reason, text, tool calls. Only these are read; the bytes go to the client untouched.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::usage_from;
use super::wire::WireUsage;
use crate::openai::MAX_STREAM_SLOTS;
use crate::{Completion, StreamFacts, ToolCallFact, TranslateError};

#[derive(Deserialize)]
struct MessageView<'a> {
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    stop_reason: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default, borrow)]
    content: Vec<BlockView<'a>>,
}

#[derive(Deserialize)]
struct BlockView<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    input: Option<&'a RawValue>,
}

/// The facts of a whole (non-streamed) Anthropic message; `body` becomes the client's answer
/// as it is.
pub fn message_facts(body: Vec<u8>) -> Result<Completion, TranslateError> {
    let view: MessageView<'_> =
        crate::json::from_body(&body).map_err(TranslateError::InvalidResponse)?;
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for block in &view.content {
        match block.kind.as_ref() {
            "text" => text.push_str(block.text.as_deref().unwrap_or_default()),
            "tool_use" | "server_tool_use" => tool_calls.push(ToolCallFact {
                id: block.id.as_deref().unwrap_or_default().to_string(),
                name: block.name.as_deref().unwrap_or_default().to_string(),
                arguments: block.input.map(|i| i.get().to_string()).unwrap_or_default(),
            }),
            _ => {}
        }
    }
    let usage = view.usage.as_ref().map(usage_from).unwrap_or_default();
    let response_model = view.model.as_deref().map(str::to_string);
    let finish_reasons = view.stop_reason.iter().map(|r| r.to_string()).collect();
    drop(view);
    Ok(Completion {
        body,
        usage,
        response_model,
        texts: vec![text],
        finish_reasons,
        tool_calls,
    })
}

#[derive(Deserialize)]
struct EventView<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    message: Option<StartView<'a>>,
    #[serde(default)]
    index: Option<u64>,
    #[serde(default, borrow)]
    content_block: Option<BlockView<'a>>,
    #[serde(default, borrow)]
    delta: Option<DeltaView<'a>>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default, borrow)]
    error: Option<ErrorView<'a>>,
}

#[derive(Deserialize)]
struct StartView<'a> {
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct DeltaView<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    partial_json: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    stop_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ErrorView<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    message: Cow<'a, str>,
}

/// Gathers a Messages stream's facts event by event.
#[derive(Debug, Default)]
pub struct EventReader {
    facts: StreamFacts,
    /// The latest counts: `message_delta` repeats running totals, it never adds to them.
    usage: WireUsage,
    /// Content block index → tool call slot.
    tool_blocks: Vec<(u64, usize)>,
    /// A `message_delta` has given the output count: until then `message_start`'s is only
    /// provisional, and a stream cut short has its output estimated from what was seen.
    output_final: bool,
}

impl EventReader {
    /// One event's `data`. Data that is not an event (a keep-alive, a broken line) is skipped:
    /// telemetry never fails a stream.
    pub fn observe(&mut self, data: &str) {
        let Ok(event) = serde_json::from_str::<EventView<'_>>(data) else {
            return;
        };
        match event.kind.as_ref() {
            "message_start" => {
                if let Some(start) = &event.message {
                    if let Some(model) = start.model.as_deref().filter(|m| !m.is_empty()) {
                        self.facts.response_model = Some(model.to_string());
                    }
                    if let Some(u) = &start.usage {
                        self.merge_usage(u);
                    }
                }
                if self.facts.texts.is_empty() {
                    self.facts.texts.push(String::new());
                }
            }
            "content_block_start" => self.block_start(&event),
            "content_block_delta" => self.block_delta(&event),
            "message_delta" => {
                if let Some(u) = &event.usage {
                    self.output_final |= u.output_tokens.is_some();
                    self.merge_usage(u);
                }
                if let Some(reason) = event.delta.as_ref().and_then(|d| d.stop_reason.as_deref()) {
                    self.facts.finish_reasons = vec![reason.to_string()];
                }
            }
            "error" => {
                if let Some(e) = &event.error {
                    self.facts.error =
                        Some(format!("upstream stream error: {}: {}", e.kind, e.message));
                }
            }
            _ => {}
        }
    }

    pub fn facts(&self) -> &StreamFacts {
        &self.facts
    }

    fn block_start(&mut self, event: &EventView<'_>) {
        let Some(block) = &event.content_block else {
            return;
        };
        match block.kind.as_ref() {
            "tool_use" | "server_tool_use" => {
                self.facts.first_token_seen = true;
                let slot = self.facts.tool_calls.len();
                if slot >= MAX_STREAM_SLOTS {
                    return;
                }
                // A start carrying a whole input (not the usual `{}`) gives it at once.
                let arguments = block
                    .input
                    .map(|i| i.get())
                    .filter(|i| *i != "{}")
                    .unwrap_or_default();
                self.facts.tool_calls.push(ToolCallFact {
                    id: block.id.as_deref().unwrap_or_default().to_string(),
                    name: block.name.as_deref().unwrap_or_default().to_string(),
                    arguments: arguments.to_string(),
                });
                let index = event.index.unwrap_or(0);
                self.tool_blocks.retain(|(b, _)| *b != index);
                self.tool_blocks.push((index, slot));
            }
            "text" => self.text(block.text.as_deref().unwrap_or_default()),
            "thinking" | "redacted_thinking" => self.facts.first_token_seen = true,
            _ => {}
        }
    }

    fn block_delta(&mut self, event: &EventView<'_>) {
        let Some(delta) = &event.delta else {
            return;
        };
        match delta.kind.as_deref() {
            Some("text_delta") => self.text(delta.text.as_deref().unwrap_or_default()),
            Some("input_json_delta") => {
                let index = event.index.unwrap_or(0);
                let slot = self
                    .tool_blocks
                    .iter()
                    .find(|(b, _)| *b == index)
                    .map(|(_, s)| *s);
                if let (Some(slot), Some(part)) = (slot, delta.partial_json.as_deref()) {
                    if let Some(call) = self.facts.tool_calls.get_mut(slot) {
                        call.arguments.push_str(part);
                    }
                }
            }
            Some("thinking_delta") => self.facts.first_token_seen = true,
            _ => {}
        }
    }

    fn text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        self.facts.first_token_seen = true;
        match self.facts.texts.first_mut() {
            Some(t) => t.push_str(text),
            None => self.facts.texts.push(text.to_string()),
        }
    }

    fn merge_usage(&mut self, u: &WireUsage) {
        let merged = self.usage.updated_by(u);
        self.usage = merged;
        self.facts.usage = usage_from(&merged);
        if !self.output_final {
            self.facts.usage.output_tokens = None;
            self.facts.usage.total_tokens = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_yields_text_tools_and_usage_with_cache_tokens() {
        let body = br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[{"type":"thinking","thinking":"hm","signature":"s"},{"type":"text","text":"Hi"},{"type":"tool_use","id":"t1","name":"Bash","input":{"command":"ls"}}],"stop_reason":"tool_use","usage":{"input_tokens":10,"output_tokens":5,"cache_read_input_tokens":100,"cache_creation_input_tokens":20}}"#;
        let c = message_facts(body.to_vec()).unwrap();
        assert_eq!(c.body, body.to_vec());
        assert_eq!(c.texts, ["Hi"]);
        assert_eq!(c.tool_calls[0].name, "Bash");
        assert_eq!(c.tool_calls[0].arguments, r#"{"command":"ls"}"#);
        assert_eq!(c.finish_reasons, ["tool_use"]);
        assert_eq!(
            c.usage.input_tokens,
            Some(130),
            "cache reads and writes count as input"
        );
        assert_eq!(c.usage.cached_input_tokens, Some(100));
        assert_eq!(c.usage.cache_creation_input_tokens, Some(20));
        assert_eq!(c.usage.output_tokens, Some(5));
        assert_eq!(c.usage.total(), Some(135));
    }

    #[test]
    fn a_message_yields_its_1_hour_cache_writes() {
        let body = br#"{"type":"message","model":"claude-x","content":[],"usage":{"input_tokens":10,"output_tokens":5,"cache_read_input_tokens":0,"cache_creation_input_tokens":300,"cache_creation":{"ephemeral_5m_input_tokens":200,"ephemeral_1h_input_tokens":100}}}"#;
        let c = message_facts(body.to_vec()).unwrap();
        assert_eq!(c.usage.cache_creation_input_tokens, Some(300));
        assert_eq!(c.usage.cache_write_1h_tokens, Some(100));
        // Without `cache_creation` the split is unknown.
        let body = br#"{"type":"message","content":[],"usage":{"input_tokens":10,"output_tokens":5,"cache_creation_input_tokens":300}}"#;
        let c = message_facts(body.to_vec()).unwrap();
        assert_eq!(c.usage.cache_write_1h_tokens, None);
    }

    #[test]
    fn a_stream_keeps_the_latest_1_hour_cache_writes() {
        let mut r = EventReader::default();
        r.observe(r#"{"type":"message_start","message":{"model":"claude-x","usage":{"input_tokens":3,"output_tokens":1,"cache_read_input_tokens":0,"cache_creation_input_tokens":300,"cache_creation":{"ephemeral_5m_input_tokens":200,"ephemeral_1h_input_tokens":100}}}}"#);
        assert_eq!(r.facts().usage.cache_write_1h_tokens, Some(100));
        // A message_delta without `cache_creation` keeps message_start's.
        r.observe(r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"input_tokens":3,"cache_creation_input_tokens":300,"output_tokens":9}}"#);
        let f = r.facts();
        assert_eq!(f.usage.cache_creation_input_tokens, Some(300));
        assert_eq!(f.usage.cache_write_1h_tokens, Some(100));
        assert_eq!(f.usage.input_tokens, Some(303));
        // One with it replaces it (running totals, not added).
        r.observe(r#"{"type":"message_delta","delta":{},"usage":{"output_tokens":12,"cache_creation_input_tokens":300,"cache_creation":{"ephemeral_5m_input_tokens":180,"ephemeral_1h_input_tokens":120}}}"#);
        assert_eq!(r.facts().usage.cache_write_1h_tokens, Some(120));
        assert_eq!(r.facts().usage.cache_creation_input_tokens, Some(300));
    }

    #[test]
    fn a_stream_yields_the_same_facts_with_running_totals_not_added() {
        let mut r = EventReader::default();
        r.observe(r#"{"type":"message_start","message":{"model":"claude-x","usage":{"input_tokens":3,"output_tokens":1}}}"#);
        assert_eq!(r.facts().usage.input_tokens, Some(3));
        assert_eq!(
            r.facts().usage.output_tokens,
            None,
            "message_start's output count is provisional: a stream cut here is estimated"
        );
        for data in [
            r#"{"type":"message_start","message":{"model":"claude-x","usage":{"input_tokens":3,"output_tokens":1,"cache_read_input_tokens":7,"cache_creation_input_tokens":0}}}"#,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"x"}}"#,
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Hel"}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"lo"}}"#,
            r#"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"t","name":"Read","input":{}}}"#,
            r#"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}"#,
            r#"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"1}"}}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}"#,
            r#"{"type":"message_delta","delta":{},"usage":{"output_tokens":12}}"#,
        ] {
            r.observe(data);
        }
        let f = r.facts();
        assert_eq!(f.texts, ["Hello"]);
        assert!(f.usage.output_tokens.is_some());
        assert_eq!(f.tool_calls[0].arguments, r#"{"a":1}"#);
        assert_eq!(f.finish_reasons, ["tool_use"]);
        assert_eq!(f.usage.output_tokens, Some(12));
        assert_eq!(f.usage.input_tokens, Some(10));
        assert_eq!(f.usage.cached_input_tokens, Some(7));
        assert!(f.first_token_seen);
        assert_eq!(f.response_model.as_deref(), Some("claude-x"));
        r.observe(r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#);
        assert_eq!(
            r.facts().error.as_deref(),
            Some("upstream stream error: overloaded_error: Overloaded")
        );
    }
}
