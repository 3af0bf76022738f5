//! An OpenAI stream passed through (native, or the hub's own stream for a chat client): its
//! events relayed as they are, its facts gathered.

use std::borrow::Cow;

use serde::Deserialize;

use super::{write_chunk_event, ChatChunk, ChatUsage, ToolCallDelta, DONE_EVENT};
use crate::sse::{SseEvent, SseParser};
use crate::{ResponseTarget, StreamFacts, StreamTranslator, ToolCallFact, TranslateError};

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
