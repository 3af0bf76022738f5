//! The `reasoning` output item of a translated Responses stream: its summary parts, streamed
//! from the hub's thinking, and the thinking blocks it keeps (see [`super`]).

use serde_json::{json, Value};

use super::super::thinking;
use super::{Open, State};

#[derive(Default)]
pub(super) struct Reasoning {
    pub(super) id: String,
    /// The texts of the summary parts closed so far.
    pub(super) summary: Vec<String>,
    /// The text of the summary part open (thinking streamed since the last signature).
    pub(super) part: Option<String>,
    /// The hub's thinking blocks, each with its text.
    pub(super) blocks: Vec<Value>,
}

impl State {
    pub(super) fn thinking_text(&mut self, text: &str, out: &mut Vec<u8>) {
        self.open_reasoning(out);
        let (output_index, summary_index, item_id) = match &self.open {
            Some(Open::Reasoning(r)) => (self.output.len(), r.summary.len(), r.id.clone()),
            _ => return,
        };
        let part_open = matches!(&self.open, Some(Open::Reasoning(r)) if r.part.is_some());
        if !part_open {
            self.emit(
                out,
                "response.reasoning_summary_part.added",
                json!({"item_id": item_id, "output_index": output_index,
                       "summary_index": summary_index, "part": thinking::summary_part("")}),
            );
        }
        self.emit(
            out,
            "response.reasoning_summary_text.delta",
            json!({"item_id": item_id, "output_index": output_index,
                   "summary_index": summary_index, "delta": text}),
        );
        if let Some(Open::Reasoning(r)) = &mut self.open {
            r.part.get_or_insert_with(String::new).push_str(text);
        }
    }

    /// Closes the open summary part; its text.
    pub(super) fn close_part(&mut self, out: &mut Vec<u8>) -> Option<String> {
        let output_index = self.output_index();
        let Some(Open::Reasoning(r)) = &mut self.open else {
            return None;
        };
        let text = r.part.take()?;
        let (item_id, summary_index) = (r.id.clone(), r.summary.len());
        r.summary.push(text.clone());
        self.emit(
            out,
            "response.reasoning_summary_text.done",
            json!({"item_id": item_id, "output_index": output_index,
                   "summary_index": summary_index, "text": text}),
        );
        self.emit(
            out,
            "response.reasoning_summary_part.done",
            json!({"item_id": item_id, "output_index": output_index,
                   "summary_index": summary_index, "part": thinking::summary_part(&text)}),
        );
        Some(text)
    }

    /// Thinking text not closed by a signature: an unsigned block of its own.
    pub(super) fn close_unsigned(&mut self, out: &mut Vec<u8>) {
        if let Some(text) = self.close_part(out) {
            self.push_block(json!({"type": "thinking", "thinking": text, "signature": ""}));
        }
    }

    fn push_block(&mut self, block: Value) {
        if let Some(Open::Reasoning(r)) = &mut self.open {
            r.blocks.push(block);
        }
    }

    /// A thinking block the hub completed: a signature closes the thinking streamed before it
    /// (the block takes that text); a block with its own text is a summary part of its own; a
    /// redacted block has no text.
    pub(super) fn thinking_block(&mut self, block: &Value, out: &mut Vec<u8>) {
        let kind = block.get("type").and_then(Value::as_str);
        if !matches!(kind, Some("thinking" | "redacted_thinking")) {
            return;
        }
        self.open_reasoning(out);
        let mut block = block.clone();
        if kind == Some("thinking") {
            let own = thinking::block_text(&block).to_string();
            if own.is_empty() {
                let text = self.close_part(out).unwrap_or_default();
                block["thinking"] = Value::String(text);
            } else {
                self.close_unsigned(out);
                self.thinking_text(&own, out);
                self.close_part(out);
            }
        }
        self.push_block(block);
    }

    pub(super) fn open_reasoning(&mut self, out: &mut Vec<u8>) {
        if matches!(self.open, Some(Open::Reasoning(_))) {
            return;
        }
        self.close("completed", out);
        let output_index = self.output_index();
        let id = self.ids.item("rs", output_index);
        self.emit(
            out,
            "response.output_item.added",
            json!({"output_index": output_index,
                   "item": {"id": id, "type": "reasoning", "summary": []}}),
        );
        self.open = Some(Open::Reasoning(Reasoning {
            id,
            ..Reasoning::default()
        }));
    }
}
