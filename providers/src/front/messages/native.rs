//! Messages requests passed natively to the providers that speak the Messages API: Anthropic,
//! Claude on Vertex AI, Claude on Bedrock. The body is not parsed: only its top-level members
//! are read (see [`crate::edit`]), and only these edits are made:
//!
//! - **Anthropic** (`POST /v1/messages`): `model` is set to the model called when the backend
//!   pins one or the route aliases it; the client's `?beta=true` stays; the client's
//!   `anthropic-version` (else `2023-06-01`) and `anthropic-beta` headers go on.
//! - **Vertex AI** (`:rawPredict`, `:streamRawPredict`): `model` moves into the URL (out of the
//!   body); `anthropic_version: "vertex-2023-10-16"` is added unless the body has one; the
//!   `anthropic-beta` header goes on, with only the betas Vertex serves ([`super::betas`]).
//!   The stream's Vertex-only `vertex_event` events, which no
//!   Anthropic client asked for, are left out.
//! - **Bedrock** (`InvokeModel`, `InvokeModelWithResponseStream`): `model` moves into the URL
//!   and `stream` into the choice of call (both out of the body);
//!   `anthropic_version: "bedrock-2023-05-31"` is added unless the body has one; the
//!   `anthropic-beta` header's values Bedrock serves ([`super::betas`]) become the body's
//!   `anthropic_beta` (unless it has one).
//!   The AWS event stream is turned back into Anthropic SSE, without the
//!   `amazon-bedrock-invocationMetrics` Bedrock adds to `message_stop`.
//!
//! Answers and streams reach the client as the provider sent them, but for the above; errors
//! in Anthropic's shape pass as they are, others (Google's, AWS's) are put in it.

use std::borrow::Cow;

use serde_json::Value;

use crate::anthropic::facts::{message_facts, EventReader};
use crate::edit::{self, TopLevel};
use crate::sse::SseParser;
use crate::{
    bedrock, vertex, Completion, RequestTarget, StreamFacts, StreamTranslator, TranslateError,
    UpstreamRequest,
};

use super::betas;
use super::from_hub::{error_body, error_type};

/// The `anthropic-version` sent to Anthropic when the client names none.
pub const DEFAULT_ANTHROPIC_VERSION: &str = crate::anthropic::ANTHROPIC_VERSION;

/// Where a Claude model is served with the Messages API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaudeSite {
    Anthropic,
    Vertex,
    Bedrock,
}

impl ClaudeSite {
    /// The upstream request: the client's body with this site's edits (module docs).
    pub fn request(
        self,
        body: &[u8],
        client_model: &str,
        stream: bool,
        target: &RequestTarget<'_>,
    ) -> Result<UpstreamRequest, TranslateError> {
        let beta = target.forwarded_header("anthropic-beta");
        let mut headers = Vec::new();
        if self == ClaudeSite::Anthropic && target.model == client_model {
            // Nothing to edit: the body was read once already (its facts), not again.
            return Ok(UpstreamRequest {
                path: anthropic_path(target),
                body: body.to_vec(),
                headers: anthropic_headers(target, beta),
            });
        }
        let mut top = TopLevel::parse(body)?;
        let path = match self {
            ClaudeSite::Anthropic => {
                top.set("model", &target.model);
                headers = anthropic_headers(target, beta);
                anthropic_path(target)
            }
            ClaudeSite::Vertex => {
                top.remove("model");
                top.set_default("anthropic_version", &vertex::ANTHROPIC_VERTEX_VERSION);
                let betas = beta.map(|b| betas::for_site(b, betas::Site::Vertex));
                if let Some(betas) = betas.filter(|b| !b.is_empty()) {
                    headers.push(("anthropic-beta", betas.join(",").into()));
                }
                vertex::claude_path(target, stream)?
            }
            ClaudeSite::Bedrock => {
                top.remove("model");
                top.remove("stream");
                top.set_default("anthropic_version", &bedrock::invoke::ANTHROPIC_VERSION);
                let betas = beta.map(|b| betas::for_site(b, betas::Site::Bedrock));
                if let Some(betas) = betas.filter(|b| !b.is_empty()) {
                    top.set_default("anthropic_beta", &betas);
                }
                bedrock::invoke::path(target.model, stream)
            }
        };
        Ok(UpstreamRequest {
            path,
            body: edit::finish(&top, body),
            headers,
        })
    }

    /// A whole answer: passed as it came, with its facts.
    pub fn response(self, body: Vec<u8>) -> Result<Completion, TranslateError> {
        message_facts(body)
    }

    /// The stream relay: bytes passed on (Bedrock's event stream as SSE), facts gathered.
    pub fn stream(self) -> Box<dyn StreamTranslator> {
        match self {
            ClaudeSite::Anthropic => Box::new(Passthrough::new(false)),
            ClaudeSite::Vertex => Box::new(Passthrough::new(true)),
            ClaudeSite::Bedrock => Box::new(bedrock::invoke::InvokeStream::new()),
        }
    }

    /// An error answer in Anthropic's shape: passed as it is when it has that shape.
    pub fn error(self, status: u16, body: &[u8]) -> Vec<u8> {
        let parsed = serde_json::from_slice::<Value>(body).ok();
        if let Some(v) = &parsed {
            if v.get("type").and_then(Value::as_str) == Some("error")
                && v.get("error").is_some_and(Value::is_object)
            {
                return body.to_vec();
            }
        }
        let message = parsed
            .as_ref()
            .and_then(foreign_error_message)
            .unwrap_or_else(|| {
                let text = String::from_utf8_lossy(body);
                match text.trim() {
                    "" => format!("upstream returned status {status}"),
                    t => t.to_string(),
                }
            });
        error_body(error_type(status), &message)
    }
}

/// Anthropic's path, with the client's `?beta=true`.
fn anthropic_path(target: &RequestTarget<'_>) -> String {
    let wants_beta = target
        .query
        .is_some_and(|q| q.split('&').any(|kv| kv == "beta=true"));
    if wants_beta {
        "/v1/messages?beta=true".to_string()
    } else {
        "/v1/messages".to_string()
    }
}

/// The client's `anthropic-version` (else [`DEFAULT_ANTHROPIC_VERSION`]) and `anthropic-beta`.
fn anthropic_headers(
    target: &RequestTarget<'_>,
    beta: Option<&str>,
) -> Vec<(&'static str, Cow<'static, str>)> {
    let version = match target.forwarded_header("anthropic-version") {
        Some(v) if v != DEFAULT_ANTHROPIC_VERSION => Cow::Owned(v.to_string()),
        _ => Cow::Borrowed(DEFAULT_ANTHROPIC_VERSION),
    };
    let mut headers = vec![("anthropic-version", version)];
    if let Some(beta) = beta {
        headers.push(("anthropic-beta", beta.to_string().into()));
    }
    headers
}

/// The message of a Google error (`{"error":{"message"}}`, also inside a one-element list, as
/// Vertex sends some) or an AWS one (`{"message"}` / `{"Message"}`).
fn foreign_error_message(v: &Value) -> Option<String> {
    let v = match v {
        Value::Array(items) => items.first()?,
        other => other,
    };
    let message = v
        .get("error")
        .and_then(|e| e.get("message"))
        .or_else(|| v.get("message"))
        .or_else(|| v.get("Message"))?;
    message.as_str().map(str::to_string)
}

/// Relays an Anthropic SSE stream as it comes (byte for byte), or, for Vertex, event by event
/// without the `vertex_event`s, gathering its facts.
pub struct Passthrough {
    parser: SseParser,
    reader: EventReader,
    drop_vertex_events: bool,
}

impl Passthrough {
    pub fn new(drop_vertex_events: bool) -> Self {
        Passthrough {
            parser: SseParser::default(),
            reader: EventReader::default(),
            drop_vertex_events,
        }
    }

    fn relay(&mut self, chunk: Option<&[u8]>, out: &mut Vec<u8>) -> Result<(), TranslateError> {
        let reader = &mut self.reader;
        let drop_vertex = self.drop_vertex_events;
        if !drop_vertex {
            if let Some(chunk) = chunk {
                out.extend_from_slice(chunk);
            }
        }
        let mut on_event = |event: crate::sse::SseEvent| {
            if drop_vertex {
                if event.event.as_deref() == Some("vertex_event")
                    || event.data.starts_with(r#"{"type":"vertex_event""#)
                {
                    return Ok(());
                }
                event.write_to(out);
            }
            reader.observe(&event.data);
            Ok(())
        };
        match chunk {
            Some(chunk) => self.parser.feed(chunk, &mut on_event),
            None => self.parser.finish(&mut on_event),
        }
    }
}

impl StreamTranslator for Passthrough {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), TranslateError> {
        self.relay(Some(chunk), out)
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), TranslateError> {
        self.relay(None, out)
    }

    fn facts(&self) -> &StreamFacts {
        self.reader.facts()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_in_anthropic_shape_pass_and_others_are_put_in_it() {
        let ours = br#"{"type":"error","error":{"type":"overloaded_error","message":"busy"}}"#;
        assert_eq!(ClaudeSite::Anthropic.error(529, ours), ours.to_vec());
        let google =
            br#"[{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}]"#;
        let v: Value = serde_json::from_slice(&ClaudeSite::Vertex.error(429, google)).unwrap();
        assert_eq!(
            v,
            json!({"type":"error","error":{"type":"rate_limit_error","message":"Quota exceeded"}})
        );
        let aws = br#"{"message":"The security token included in the request is invalid."}"#;
        let v: Value = serde_json::from_slice(&ClaudeSite::Bedrock.error(403, aws)).unwrap();
        assert_eq!(v["error"]["type"], "permission_error");
        assert_eq!(
            v["error"]["message"],
            "The security token included in the request is invalid."
        );
    }

    #[test]
    fn vertex_events_are_left_out_and_the_rest_relayed() {
        let stream = concat!(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-x\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n",
            "event: vertex_event\ndata: {\"type\":\"vertex_event\",\"usage\":{\"input_tokens\":3}}\n\n",
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        );
        let mut p = Passthrough::new(true);
        let mut out = Vec::new();
        p.feed(stream.as_bytes(), &mut out).unwrap();
        p.finish(&mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains("vertex_event"), "{out}");
        assert!(out.starts_with("event: message_start\ndata: {"), "{out}");
        assert!(out.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
        assert_eq!(p.facts().usage.input_tokens, Some(3));
    }
}
