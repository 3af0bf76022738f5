//! Telemetry facts read from native Responses API answers and streams (OpenAI, Azure), which
//! reach the client as they came. Only what telemetry needs is read; unknown fields are
//! skipped, not buffered.
//!
//! Usage: `input_tokens` counts cached tokens too (as OpenAI's chat `prompt_tokens` does),
//! `input_tokens_details.cached_tokens` are the cached ones; `output_tokens` counts reasoning
//! tokens too, `output_tokens_details.reasoning_tokens` are those.

use std::borrow::Cow;

use serde::Deserialize;

use crate::sse::SseParser;
use crate::{Completion, StreamFacts, StreamTranslator, ToolCallFact, TranslateError, Usage};

#[derive(Deserialize)]
struct ResponseView<'a> {
    #[serde(default, borrow)]
    model: Cow<'a, str>,
    #[serde(default, borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    incomplete_details: Option<IncompleteView<'a>>,
    #[serde(default, borrow)]
    output: Vec<ItemView<'a>>,
    #[serde(default)]
    usage: Option<UsageView>,
}

#[derive(Deserialize)]
struct IncompleteView<'a> {
    #[serde(default, borrow)]
    reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ItemView<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    content: Option<Vec<PartView<'a>>>,
    #[serde(default, borrow)]
    call_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    arguments: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct PartView<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct UsageView {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    total_tokens: Option<u64>,
    #[serde(default)]
    input_tokens_details: Option<InputDetails>,
    #[serde(default)]
    output_tokens_details: Option<OutputDetails>,
}

#[derive(Deserialize)]
struct InputDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct OutputDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

impl UsageView {
    fn to_usage(&self) -> Usage {
        Usage {
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            total_tokens: self.total_tokens,
            cached_input_tokens: self
                .input_tokens_details
                .as_ref()
                .and_then(|d| d.cached_tokens),
            cache_creation_input_tokens: None,
            cache_write_1h_tokens: None,
            reasoning_tokens: self
                .output_tokens_details
                .as_ref()
                .and_then(|d| d.reasoning_tokens),
            estimated: false,
        }
    }
}

/// What one `response` object says, as facts.
struct ResponseFacts {
    usage: Usage,
    model: Option<String>,
    text: String,
    finish: Option<String>,
    tool_calls: Vec<ToolCallFact>,
}

fn read_response(view: &ResponseView<'_>) -> ResponseFacts {
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for item in &view.output {
        match item.kind.as_ref() {
            "message" => {
                for part in item.content.iter().flatten() {
                    if part.kind == "output_text" {
                        text.push_str(part.text.as_deref().unwrap_or_default());
                    }
                }
            }
            "function_call" => tool_calls.push(ToolCallFact {
                id: item.call_id.as_deref().unwrap_or_default().to_string(),
                name: item.name.as_deref().unwrap_or_default().to_string(),
                arguments: item.arguments.as_deref().unwrap_or_default().to_string(),
            }),
            _ => {}
        }
    }
    let finish = match view.status.as_deref() {
        Some("incomplete") => Some(
            match view
                .incomplete_details
                .as_ref()
                .and_then(|d| d.reason.as_deref())
            {
                Some("content_filter") => "content_filter",
                _ => "length",
            },
        ),
        Some("completed") if !tool_calls.is_empty() => Some("tool_calls"),
        Some("completed") => Some("stop"),
        Some("failed") => Some("error"),
        _ => None,
    };
    ResponseFacts {
        usage: view
            .usage
            .as_ref()
            .map(UsageView::to_usage)
            .unwrap_or_default(),
        model: (!view.model.is_empty()).then(|| view.model.to_string()),
        text,
        finish: finish.map(str::to_string),
        tool_calls,
    }
}

/// Facts of a `response` object, which becomes the client's answer as it is.
pub fn response_facts(body: Vec<u8>) -> Result<Completion, TranslateError> {
    let view: ResponseView<'_> =
        crate::json::from_body(&body).map_err(TranslateError::InvalidResponse)?;
    let f = read_response(&view);
    drop(view);
    Ok(Completion {
        body,
        usage: f.usage,
        response_model: f.model,
        texts: vec![f.text],
        finish_reasons: f.finish.into_iter().collect(),
        tool_calls: f.tool_calls,
    })
}

/// One stream event, as far as facts go.
#[derive(Deserialize)]
struct EventView<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    delta: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    response: Option<ResponseView<'a>>,
    #[serde(default, borrow)]
    message: Option<Cow<'a, str>>,
}

/// Relays a Responses event stream byte for byte, gathering its facts: text from
/// `response.output_text.delta` (so a stream cut short still has what was said), the first
/// token at the first delta, and usage, model, tool calls and finish from the final
/// `response.completed` / `response.incomplete` / `response.failed`.
#[derive(Default)]
pub struct Passthrough {
    parser: SseParser,
    facts: StreamFacts,
}

impl Passthrough {
    fn observe(&mut self, data: &str) {
        // The delta events are the many; their type is checked before a full read.
        let Ok(event) = serde_json::from_str::<EventView<'_>>(data) else {
            return;
        };
        let facts = &mut self.facts;
        match event.kind.as_ref() {
            "response.output_text.delta" => {
                facts.first_token_seen = true;
                if facts.texts.is_empty() {
                    facts.texts.push(String::new());
                }
                if let (Some(text), Some(delta)) = (facts.texts.first_mut(), event.delta) {
                    text.push_str(&delta);
                }
            }
            "response.function_call_arguments.delta"
            | "response.reasoning_summary_text.delta"
            | "response.reasoning_text.delta" => facts.first_token_seen = true,
            "response.created" | "response.in_progress" => {
                if let Some(model) = event.response.as_ref().map(|r| &r.model) {
                    if !model.is_empty() && facts.response_model.is_none() {
                        facts.response_model = Some(model.to_string());
                    }
                }
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                let Some(view) = event.response.as_ref() else {
                    return;
                };
                let f = read_response(view);
                facts.usage = f.usage;
                if f.model.is_some() {
                    facts.response_model = f.model;
                }
                if facts.texts.is_empty() || !f.text.is_empty() {
                    facts.texts = vec![f.text];
                }
                facts.finish_reasons = f.finish.into_iter().collect();
                facts.tool_calls = f.tool_calls;
                if event.kind == "response.failed" {
                    facts.error = Some("the upstream reported response.failed".to_string());
                }
            }
            "error" => {
                facts.error = Some(
                    event
                        .message
                        .as_deref()
                        .unwrap_or("the upstream reported an error")
                        .to_string(),
                );
            }
            _ => {}
        }
    }
}

impl StreamTranslator for Passthrough {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), TranslateError> {
        out.extend_from_slice(chunk);
        let mut events = Vec::new();
        self.parser.feed(chunk, |e| {
            events.push(e.data);
            Ok(())
        })?;
        events.iter().for_each(|d| self.observe(d));
        Ok(())
    }

    fn finish(&mut self, _out: &mut Vec<u8>) -> Result<(), TranslateError> {
        let mut events = Vec::new();
        self.parser.finish(|e| {
            events.push(e.data);
            Ok(())
        })?;
        events.iter().for_each(|d| self.observe(d));
        Ok(())
    }

    fn facts(&self) -> &StreamFacts {
        &self.facts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &str = r#"{"id":"resp_1","object":"response","status":"completed","model":"gpt-5-2025-08-07","output":[{"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"gAAA"},{"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"Hello","annotations":[]}]},{"type":"function_call","id":"fc_1","call_id":"call_1","name":"shell","arguments":"{\"command\":[\"ls\"]}"}],"usage":{"input_tokens":12,"input_tokens_details":{"cached_tokens":8},"output_tokens":30,"output_tokens_details":{"reasoning_tokens":20},"total_tokens":42}}"#;

    #[test]
    fn a_response_objects_facts() {
        let c = response_facts(ANSWER.as_bytes().to_vec()).unwrap();
        assert_eq!(c.body, ANSWER.as_bytes());
        assert_eq!(c.texts, ["Hello"]);
        assert_eq!(c.finish_reasons, ["tool_calls"]);
        assert_eq!(c.response_model.as_deref(), Some("gpt-5-2025-08-07"));
        assert_eq!(c.tool_calls[0].name, "shell");
        assert_eq!(c.tool_calls[0].id, "call_1");
        assert_eq!(c.usage.input_tokens, Some(12));
        assert_eq!(c.usage.cached_input_tokens, Some(8));
        assert_eq!(c.usage.output_tokens, Some(30));
        assert_eq!(c.usage.reasoning_tokens, Some(20));
        assert_eq!(c.usage.total_tokens, Some(42));
        let cut = r#"{"model":"m","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"output":[]}"#;
        let c = response_facts(cut.as_bytes().to_vec()).unwrap();
        assert_eq!(c.finish_reasons, ["length"]);
    }

    #[test]
    fn a_stream_passes_byte_for_byte_with_its_facts_however_split() {
        let stream = format!(
            "event: response.created\ndata: {{\"type\":\"response.created\",\"sequence_number\":0,\"response\":{{\"model\":\"gpt-5\",\"status\":\"in_progress\",\"output\":[]}}}}\n\n\
             event: response.output_text.delta\ndata: {{\"type\":\"response.output_text.delta\",\"sequence_number\":1,\"delta\":\"Hel\"}}\n\n\
             event: response.output_text.delta\ndata: {{\"type\":\"response.output_text.delta\",\"sequence_number\":2,\"delta\":\"lo\"}}\n\n\
             event: response.completed\ndata: {{\"type\":\"response.completed\",\"sequence_number\":3,\"response\":{ANSWER}}}\n\n"
        );
        for split in [1, 5, 33, stream.len()] {
            let mut p = Passthrough::default();
            let mut out = Vec::new();
            for piece in stream.as_bytes().chunks(split) {
                p.feed(piece, &mut out).unwrap();
            }
            p.finish(&mut out).unwrap();
            assert_eq!(out, stream.as_bytes());
            let f = p.facts();
            assert!(f.first_token_seen);
            assert_eq!(f.texts, ["Hello"]);
            assert_eq!(f.usage.total_tokens, Some(42));
            assert_eq!(f.finish_reasons, ["tool_calls"]);
            assert_eq!(f.tool_calls.len(), 1);
        }
        // Cut short: what was said is still there.
        let mut p = Passthrough::default();
        let mut out = Vec::new();
        let head = stream.find("event: response.completed").unwrap();
        p.feed(&stream.as_bytes()[..head], &mut out).unwrap();
        assert_eq!(p.facts().texts, ["Hello"]);
        assert_eq!(p.facts().response_model.as_deref(), Some("gpt-5"));
        assert_eq!(p.facts().usage.output_tokens, None);
    }
}
