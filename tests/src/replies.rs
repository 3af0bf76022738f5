//! Streamed answers for a [`crate::MockUpstream`] in each provider's wire format, with token
//! usage that includes prompt-cache reads and writes: Anthropic Messages SSE (also what Claude
//! on Vertex streams, and, inside AWS's event stream, Claude on Bedrock), OpenAI Chat
//! Completions SSE and Gemini `streamGenerateContent?alt=sse`.
//!
//! Bedrock's binary framing is left to the caller (`sluice_providers::bedrock::eventstream::
//! encode_event`, a dev-dependency of the tests): [`bedrock_chunk_payload`] is what goes in it.

use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Value};

use crate::Reply;

/// The pause between two chunks of a streamed answer.
const CHUNK_GAP: Duration = Duration::from_millis(2);

/// One answer's token counts as a mock reports them. In Anthropic's terms `input` excludes
/// the cache (`input_tokens`); in OpenAI's and Gemini's it is the whole prompt
/// (`prompt_tokens`, `promptTokenCount`), of which `cache_read` is a part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MockUsage {
    pub input: u64,
    pub cache_read: u64,
    pub cache_creation: u64,
    pub output: u64,
}

/// An Anthropic message stream's events answering `text` (in two deltas) from `model`.
pub fn anthropic_text_events(model: &str, text: &str, u: MockUsage) -> Vec<Value> {
    let (a, b) = split_in_two(text);
    let usage = |output: u64| {
        json!({"input_tokens": u.input, "cache_creation_input_tokens": u.cache_creation,
               "cache_read_input_tokens": u.cache_read, "output_tokens": output})
    };
    vec![
        json!({"type": "message_start", "message": {"id": "msg_01SluiceMockAnswer", "type": "message",
            "role": "assistant", "model": model, "content": [], "stop_reason": null,
            "stop_sequence": null, "usage": usage(1)}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "ping"}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": a}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": b}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
            "usage": usage(u.output)}),
        json!({"type": "message_stop"}),
    ]
}

/// Anthropic SSE: one chunk per event, `event: <type>` then `data: <json>`.
pub fn anthropic_sse(events: &[Value]) -> Reply {
    let chunks = events
        .iter()
        .map(|e| {
            let kind = e["type"].as_str().unwrap_or("message");
            Bytes::from(format!("event: {kind}\ndata: {e}\n\n"))
        })
        .collect();
    event_stream(chunks)
}

/// A captured SSE body (a fixture file's text), one chunk per event.
pub fn sse_text(text: &str) -> Reply {
    event_stream(
        text.split_inclusive("\n\n")
            .map(|e| Bytes::from(e.to_string()))
            .collect(),
    )
}

/// A 200 `text/event-stream` of these chunks.
pub fn event_stream(chunks: Vec<Bytes>) -> Reply {
    Reply::stream(
        200,
        vec![
            (
                "content-type".into(),
                "text/event-stream; charset=utf-8".into(),
            ),
            ("cache-control".into(), "no-cache".into()),
        ],
        chunks,
        CHUNK_GAP,
    )
}

/// The JSON payload of one Bedrock `chunk` event carrying an Anthropic event:
/// `{"bytes": base64(event)}`.
pub fn bedrock_chunk_payload(event: &Value) -> Vec<u8> {
    json!({"bytes": base64(event.to_string().as_bytes())})
        .to_string()
        .into_bytes()
}

/// A 200 AWS event stream of these (already framed) messages.
pub fn aws_event_stream(frames: Vec<Bytes>) -> Reply {
    Reply::stream(
        200,
        vec![(
            "content-type".into(),
            "application/vnd.amazon.eventstream".into(),
        )],
        frames,
        CHUNK_GAP,
    )
}

/// A Chat Completions stream answering `text` from `model`, then a usage chunk (with
/// `prompt_tokens_details.cached_tokens`) and `[DONE]`.
pub fn openai_text_stream(model: &str, text: &str, u: MockUsage) -> Reply {
    let (a, b) = split_in_two(text);
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-sluice", "object": "chat.completion.chunk", "created": 1, "model": model,
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        .to_string()
    };
    let events = vec![
        chunk(json!({"role": "assistant", "content": ""}), Value::Null),
        chunk(json!({"content": a}), Value::Null),
        chunk(json!({"content": b}), Value::Null),
        chunk(json!({}), json!("stop")),
        json!({"id": "chatcmpl-sluice", "object": "chat.completion.chunk", "created": 1, "model": model,
               "choices": [], "usage": {"prompt_tokens": u.input, "completion_tokens": u.output,
               "total_tokens": u.input + u.output,
               "prompt_tokens_details": {"cached_tokens": u.cache_read}}})
        .to_string(),
        "[DONE]".to_string(),
    ];
    Reply::sse(&events, CHUNK_GAP)
}

/// A `streamGenerateContent?alt=sse` stream answering `text` from `model`, with
/// `usageMetadata` (and `cachedContentTokenCount`) on the last event.
pub fn gemini_text_stream(model: &str, text: &str, u: MockUsage) -> Reply {
    let (a, b) = split_in_two(text);
    let events = vec![
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": a}]}, "index": 0}],
               "modelVersion": model, "responseId": "sluice-gemini-1"})
        .to_string(),
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": b}]},
                               "finishReason": "STOP", "index": 0}],
               "usageMetadata": {"promptTokenCount": u.input, "candidatesTokenCount": u.output,
                                 "totalTokenCount": u.input + u.output,
                                 "cachedContentTokenCount": u.cache_read},
               "modelVersion": model, "responseId": "sluice-gemini-1"})
        .to_string(),
    ];
    Reply::sse(&events, CHUNK_GAP)
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Two halves of a text (at a char boundary), so an answer arrives in more than one delta.
fn split_in_two(text: &str) -> (&str, &str) {
    let mut mid = text.len() / 2;
    while !text.is_char_boundary(mid) {
        mid += 1;
    }
    text.split_at(mid)
}

/// A whole OpenAI chat answer from `model` reporting 1000 prompt tokens (200 of them cached)
/// and 500 completion tokens: at gpt-4o-mini's catalog prices (0.15 / 0.075 / 0.60 USD per
/// million) 800 × 0.15 + 200 × 0.075 + 500 × 0.60 = 435 µUSD.
pub fn openai_priced_answer(model: &str) -> Reply {
    Reply::json(
        200,
        &json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Cheap."},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500,
                      "prompt_tokens_details": {"cached_tokens": 200}}
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_pads_as_rfc_4648_says() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
        assert_eq!(base64(b"{\"type\":\"ping\"}"), "eyJ0eXBlIjoicGluZyJ9");
    }
}
