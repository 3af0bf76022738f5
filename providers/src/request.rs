//! [`ClientRequest`]: a client's request as read once. Its body is kept as it came; the few
//! facts the gateway needs before choosing an upstream (model, stream, parameters, how many
//! messages) are read without parsing the messages; the hub form, for translation, is made
//! only when a plan needs it, and at most once.

use std::sync::OnceLock;

use serde_json::Value;

use crate::front::gemini::GeminiCall;
use crate::front::{chat, gemini, messages, responses};
use crate::openai::ChatRequest;
use crate::{Front, TranslateError};

/// What a front door reads of a request before the call.
#[derive(Debug)]
pub(crate) struct Facts {
    pub model: String,
    pub stream: bool,
    pub include_usage: bool,
    pub message_count: usize,
    pub params: Vec<(&'static str, Value)>,
}

/// The parameters a request set, in the order given, for `llm.params`.
pub(crate) fn present<const N: usize>(
    values: [(&'static str, Option<Value>); N],
) -> Vec<(&'static str, Value)> {
    values
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .collect()
}

/// One client request.
#[derive(Debug)]
pub struct ClientRequest {
    pub front: Front,
    /// The body as the client sent it.
    pub body: Vec<u8>,
    /// The model the client named (empty when none).
    pub model: String,
    pub stream: bool,
    /// Chat completions: whether the client asked for usage in its stream.
    pub include_usage: bool,
    pub message_count: usize,
    /// Sampling parameters as sent, for `llm.params`, in a fixed order.
    pub params: Vec<(&'static str, Value)>,
    /// Gemini: the model, method and framing the path named.
    gemini: Option<GeminiCall>,
    hub: Option<Result<ChatRequest, TranslateError>>,
    /// Read on first use: the limits' estimate, `llm.prompt` and a usage estimate may each
    /// want it, on every backend of a failover chain.
    prompt: OnceLock<Vec<(String, String)>>,
}

impl ClientRequest {
    /// Reads a client's body; the error names what is wrong, for a 400 in the client's shape.
    /// A Gemini request is read with [`ClientRequest::read_gemini`] (its model is in the path).
    pub fn read(front: Front, body: Vec<u8>) -> Result<Self, TranslateError> {
        let facts = match front {
            Front::Chat => chat::read(&body)?,
            Front::Messages => messages::read(&body)?,
            Front::Responses => responses::read(&body)?,
            Front::Gemini => {
                return Err(TranslateError::InvalidRequest(
                    "a Gemini request needs its model and method in the path".to_string(),
                ))
            }
        };
        Ok(Self::with(front, body, facts, None))
    }

    /// Reads a Gemini client's body, called as `call` says.
    pub fn read_gemini(body: Vec<u8>, call: GeminiCall) -> Result<Self, TranslateError> {
        let facts = gemini::read(&body, &call)?;
        Ok(Self::with(Front::Gemini, body, facts, Some(call)))
    }

    fn with(front: Front, body: Vec<u8>, facts: Facts, gemini: Option<GeminiCall>) -> Self {
        ClientRequest {
            front,
            body,
            model: facts.model,
            stream: facts.stream,
            include_usage: facts.include_usage,
            message_count: facts.message_count,
            params: facts.params,
            gemini,
            hub: None,
            prompt: OnceLock::new(),
        }
    }

    /// Gemini: the call the path made.
    pub fn gemini_call(&self) -> Option<&GeminiCall> {
        self.gemini.as_ref()
    }

    /// The content type of the client's stream: server-sent events, but for a Gemini client
    /// that did not ask for them (`?alt=sse`), which gets one JSON array.
    pub fn stream_content_type(&self) -> &'static str {
        match &self.gemini {
            Some(call) if !call.sse => "application/json",
            _ => "text/event-stream",
        }
    }

    /// Gemini: whether a stream is wanted as server-sent events (else as a JSON array).
    pub fn gemini_sse(&self) -> bool {
        self.gemini.as_ref().is_some_and(|c| c.sse)
    }

    /// The request in the hub's shape (OpenAI chat completions), for translation. Made on
    /// first use; an error (a field without a counterpart, a malformed message) is a 400.
    pub fn hub(&mut self) -> Result<&ChatRequest, TranslateError> {
        let body = &self.body;
        let front = self.front;
        let (model, stream) = (&self.model, self.stream);
        let hub = self
            .hub
            .get_or_insert_with(|| to_hub(front, body, model, stream));
        hub.as_ref().map_err(Clone::clone)
    }

    /// The tools the request offers the model, for `llm.tools` (read from the body on each
    /// call; telemetry asks once, and only when a field reads them).
    pub fn tools(&self) -> Vec<crate::front::tools::ToolDefinition> {
        crate::front::tools::definitions(self.front, &self.body)
    }

    /// The prompt as `(role, text)` pairs, for `llm.prompt` and token estimates, read once.
    /// Lenient: a body the hub cannot take still has what can be read of it.
    pub fn prompt(&self) -> &[(String, String)] {
        self.prompt.get_or_init(|| match self.front {
            Front::Chat => match &self.hub {
                Some(Ok(hub)) => hub.prompt(),
                _ => ChatRequest::parse(&self.body)
                    .map(|r| r.prompt())
                    .unwrap_or_default(),
            },
            Front::Messages => messages::prompt(&self.body),
            Front::Responses | Front::Gemini => match &self.hub {
                Some(Ok(hub)) => hub.prompt(),
                _ => crate::front::count::prompt_of(self.front, &self.body),
            },
        })
    }
}

/// A client's body in the hub's shape.
fn to_hub(
    front: Front,
    body: &[u8],
    model: &str,
    stream: bool,
) -> Result<ChatRequest, TranslateError> {
    match front {
        Front::Chat => ChatRequest::parse(body),
        Front::Messages => messages::request_to_openai(body),
        Front::Responses => responses::request_to_hub(body),
        Front::Gemini => {
            // The model and the method are the path's.
            let mut hub = gemini::request_to_hub(body, model)?;
            hub.stream = stream;
            if stream {
                hub.stream_options = Some(crate::openai::StreamOptions {
                    include_usage: Some(true),
                    ..Default::default()
                });
            }
            Ok(hub)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_are_read_and_the_hub_made_once_on_demand() {
        let body = br#"{"model":"claude-x","max_tokens":5,"stream":true,"temperature":0.5,"messages":[{"role":"user","content":"hi"}]}"#;
        let mut req = ClientRequest::read(Front::Messages, body.to_vec()).unwrap();
        assert_eq!(req.model, "claude-x");
        assert!(req.stream);
        assert_eq!(req.message_count, 1);
        assert_eq!(req.params[0], ("max_tokens", Value::from(5)));
        assert_eq!(req.prompt(), [("user".to_string(), "hi".to_string())]);
        assert_eq!(req.hub().unwrap().messages.len(), 1);
        assert_eq!(req.hub().unwrap().max_tokens, Some(5));
        let err = ClientRequest::read(Front::Chat, b"[]".to_vec()).unwrap_err();
        assert!(matches!(err, TranslateError::InvalidRequest(_)), "{err}");
    }
}
