//! Claude on Bedrock through `InvokeModel` / `InvokeModelWithResponseStream`, for Messages
//! clients passed natively (see [`crate::front::messages::native`] for the body's edits).
//! The answer is Anthropic's message JSON as it is; the stream is AWS's binary event stream
//! whose `chunk` events each carry one Anthropic stream event, base64-encoded, which this
//! module writes back out as Anthropic SSE.

use base64::Engine;
use serde::Deserialize;

use super::eventstream::{Decoder, Message};
use super::{encode_path_segment, exception_status};
use crate::anthropic::facts::EventReader;
use crate::edit::TopLevel;
use crate::front::messages::error_type;
use crate::{StreamFacts, StreamTranslator, TranslateError};

/// The `anthropic_version` Bedrock expects in Anthropic bodies.
pub const ANTHROPIC_VERSION: &str = "bedrock-2023-05-31";

/// Bedrock's own member of `message_stop`, which no Anthropic client asked for.
const INVOCATION_METRICS: &str = "amazon-bedrock-invocationMetrics";

/// Whether `model` is a Claude model id (`anthropic.claude-...`, or a cross-region inference
/// profile such as `us.anthropic.claude-...`, or its ARN).
pub fn is_claude(model: &str) -> bool {
    model.contains("anthropic.claude")
}

/// `InvokeModel`'s path, or `InvokeModelWithResponseStream`'s.
pub fn path(model: &str, stream: bool) -> String {
    let model = encode_path_segment(model);
    if stream {
        format!("/model/{model}/invoke-with-response-stream")
    } else {
        format!("/model/{model}/invoke")
    }
}

#[derive(Deserialize)]
struct ChunkPayload {
    #[serde(default)]
    bytes: String,
}

/// Relays `InvokeModelWithResponseStream` as Anthropic SSE, gathering the stream's facts.
#[derive(Default)]
pub struct InvokeStream {
    decoder: Decoder,
    reader: EventReader,
}

impl InvokeStream {
    pub fn new() -> Self {
        Self::default()
    }
}

impl StreamTranslator for InvokeStream {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), TranslateError> {
        let reader = &mut self.reader;
        self.decoder
            .feed(chunk, |message| relay_message(&message, reader, out))
    }

    fn finish(&mut self, _out: &mut Vec<u8>) -> Result<(), TranslateError> {
        self.decoder.finish()
    }

    fn facts(&self) -> &StreamFacts {
        self.reader.facts()
    }
}

fn relay_message(
    message: &Message,
    reader: &mut EventReader,
    out: &mut Vec<u8>,
) -> Result<(), TranslateError> {
    match message.header(":message-type") {
        Some("event") if message.header(":event-type") == Some("chunk") => {
            let payload: ChunkPayload = serde_json::from_slice(&message.payload)
                .map_err(|e| TranslateError::InvalidResponse(format!("Bedrock chunk: {e}")))?;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(payload.bytes.as_bytes())
                .map_err(|e| TranslateError::InvalidResponse(format!("Bedrock chunk: {e}")))?;
            write_event(&decoded, reader, out)
        }
        Some("event") => Ok(()),
        _ => {
            // An exception (throttling, model stream error, ...) or an error message: the
            // Anthropic stream's `error` event.
            let kind = message
                .header(":exception-type")
                .or(message.header(":error-code"))
                .unwrap_or("internalServerException");
            let text = serde_json::from_slice::<serde_json::Value>(&message.payload)
                .ok()
                .and_then(|v| {
                    v.get("message")
                        .and_then(|m| m.as_str())
                        .map(str::to_string)
                })
                .or_else(|| message.header(":error-message").map(str::to_string))
                .unwrap_or_else(|| kind.to_string());
            let status = exception_status(kind);
            let body = serde_json::json!({
                "type": "error",
                "error": {"type": error_type(status), "message": format!("{kind}: {text}")},
            })
            .to_string();
            reader.observe(&body);
            out.extend_from_slice(b"event: error\ndata: ");
            out.extend_from_slice(body.as_bytes());
            out.extend_from_slice(b"\n\n");
            Ok(())
        }
    }
}

/// One Anthropic event (JSON) as SSE, named by its `type`.
fn write_event(
    json: &[u8],
    reader: &mut EventReader,
    out: &mut Vec<u8>,
) -> Result<(), TranslateError> {
    let mut top = TopLevel::parse(json)
        .map_err(|e| TranslateError::InvalidResponse(format!("Bedrock chunk: {e}")))?;
    let kind: String = top
        .get("type")
        .and_then(|t| serde_json::from_str(t.get()).ok())
        .unwrap_or_default();
    top.remove(INVOCATION_METRICS);
    let data = crate::edit::finish(&top, json);
    let data = String::from_utf8(data)
        .map_err(|e| TranslateError::InvalidResponse(format!("Bedrock chunk: {e}")))?;
    reader.observe(&data);
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    out.extend_from_slice(data.as_bytes());
    out.extend_from_slice(b"\n\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::eventstream::{encode_event, encode_exception};
    use super::*;

    fn chunk(event: &str) -> Vec<u8> {
        let b64 = base64::engine::general_purpose::STANDARD.encode(event);
        encode_event(
            "chunk",
            format!(r#"{{"bytes":"{b64}","p":"abc"}}"#).as_bytes(),
        )
    }

    #[test]
    fn chunks_become_anthropic_sse_without_bedrocks_metrics() {
        let mut wire = chunk(
            r#"{"type":"message_start","message":{"model":"claude-x","usage":{"input_tokens":4,"output_tokens":1}}}"#,
        );
        wire.extend(chunk(
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#,
        ));
        wire.extend(chunk(r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}"#));
        wire.extend(chunk(r#"{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":4,"outputTokenCount":2}}"#));
        let mut s = InvokeStream::new();
        let mut out = Vec::new();
        // Split anywhere, as a network read may.
        for piece in wire.chunks(7) {
            s.feed(piece, &mut out).unwrap();
        }
        s.finish(&mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.starts_with("event: message_start\ndata: {\"type\":\"message_start\","),
            "{out}"
        );
        assert!(out.contains("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"));
        assert!(
            out.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"),
            "{out}"
        );
        assert_eq!(s.facts().texts, ["Hi"]);
        assert_eq!(s.facts().usage.total(), Some(6));
    }

    #[test]
    fn the_1_hour_cache_writes_are_read_from_the_chunks() {
        let mut wire = chunk(
            r#"{"type":"message_start","message":{"model":"claude-x","usage":{"input_tokens":4,"output_tokens":1,"cache_creation_input_tokens":300,"cache_creation":{"ephemeral_5m_input_tokens":200,"ephemeral_1h_input_tokens":100}}}}"#,
        );
        wire.extend(chunk(r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}"#));
        wire.extend(chunk(r#"{"type":"message_stop"}"#));
        let mut s = InvokeStream::new();
        let mut out = Vec::new();
        s.feed(&wire, &mut out).unwrap();
        s.finish(&mut out).unwrap();
        let usage = s.facts().usage;
        assert_eq!(usage.cache_creation_input_tokens, Some(300));
        assert_eq!(usage.cache_write_1h_tokens, Some(100));
        assert_eq!(usage.input_tokens, Some(304));
    }

    #[test]
    fn exceptions_become_error_events() {
        let wire = encode_exception("throttlingException", br#"{"message":"Too many requests"}"#);
        let mut s = InvokeStream::new();
        let mut out = Vec::new();
        s.feed(&wire, &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!(
            out,
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"throttlingException: Too many requests\"}}\n\n"
        );
        assert!(s.facts().error.is_some());
    }

    #[test]
    fn claude_ids_and_profiles_are_told_apart() {
        assert!(is_claude("anthropic.claude-3-5-sonnet-20241022-v2:0"));
        assert!(is_claude("us.anthropic.claude-sonnet-4-20250514-v1:0"));
        assert!(!is_claude("amazon.nova-pro-v1:0"));
        assert_eq!(
            path("anthropic.claude-x-v1:0", true),
            "/model/anthropic.claude-x-v1%3A0/invoke-with-response-stream"
        );
    }
}
