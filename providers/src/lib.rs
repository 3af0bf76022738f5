//! Pure translation between the API formats clients speak (the "front doors": OpenAI Chat
//! Completions, Anthropic Messages, OpenAI Responses and Gemini, see [`front`]) and the
//! formats providers speak.
//!
//! Nothing here knows about Pingora, sockets or tokio: every function takes bytes or values and
//! returns values, so each translation is tested without a network.
//!
//! How one request reaches one backend is chosen once, by [`plan::Plan::choose`]: natively when
//! the provider speaks the client's API (the body passes with a few documented edits, the
//! answer and stream come back as they are, facts read from the native bytes), else through
//! the hub, the OpenAI Chat Completions shape ([`openai::ChatRequest`]), which every provider
//! module translates from and to. Each provider module has the same face:
//! - `translate_request(&ChatRequest, &RequestTarget) -> Result<UpstreamRequest, TranslateError>`
//! - `translate_response(&[u8], &ResponseTarget) -> Result<Completion, TranslateError>`
//! - a stream translator implementing [`StreamTranslator`]
//! - `translate_error(status, &[u8]) -> Vec<u8>` (an OpenAI-shaped error body)
#![forbid(unsafe_code)]

use std::borrow::Cow;

pub mod anthropic;
mod api;
pub mod bedrock;
pub mod edit;
pub mod embeddings;
pub mod error;
pub mod front;
pub mod gemini;
mod json;
pub mod mock;
mod open_object;
pub mod openai;
pub mod plan;
pub mod pricing;
pub mod reasoning;
pub mod registry;
pub mod request;
pub mod sse;
pub mod tokens;
pub mod vertex;

pub use api::ApiKind;
pub use error::TranslateError;
pub use front::Front;
pub use plan::Plan;
pub use registry::{Auth, Preset, ProviderKind};
pub use request::ClientRequest;

/// What the gateway has decided about the call before translating it.
#[derive(Clone, Debug, Default)]
pub struct RequestTarget<'a> {
    /// The model to call: the backend's pinned model, or the request's own.
    pub model: &'a str,
    /// Provider API version where the URL carries one (Gemini's `v1beta`).
    pub api_version: Option<&'a str>,
    /// Where a Vertex AI backend's models live.
    pub vertex: Option<VertexSite<'a>>,
    /// The client's headers of its API family that travel on in native pass-through
    /// (`anthropic-beta`, `anthropic-version`: see [`Front::forwarded_headers`]), lower-case.
    pub forwarded: &'a [(&'static str, String)],
    /// The client's query string (without `?`), e.g. Anthropic's `beta=true`.
    pub query: Option<&'a str>,
}

impl RequestTarget<'_> {
    /// The value of a forwarded client header (lower-case name).
    pub fn forwarded_header(&self, name: &str) -> Option<&str> {
        self.forwarded
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A Google Cloud project and location (`us-central1`, `global`) serving Vertex AI models.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VertexSite<'a> {
    pub project: &'a str,
    pub location: &'a str,
}

/// A translated request, ready to send: path (with query) on the provider's base URL, and body.
#[derive(Clone, Debug, PartialEq)]
pub struct UpstreamRequest {
    pub path: String,
    pub body: Vec<u8>,
    /// Headers the provider's API wants besides credentials (`anthropic-version`, the client's
    /// `anthropic-beta` in native pass-through), lower-case names; values sluice knows
    /// beforehand are borrowed, so nothing is copied for them per request.
    pub headers: Vec<(&'static str, Cow<'static, str>)>,
}

impl UpstreamRequest {
    /// A request with no headers of its own.
    pub fn new(path: String, body: Vec<u8>) -> Self {
        UpstreamRequest {
            path,
            body,
            headers: Vec::new(),
        }
    }
}

/// What the gateway knows when translating a response back.
#[derive(Clone, Debug)]
pub struct ResponseTarget<'a> {
    /// The model that was called (used when the provider does not name one).
    pub model: &'a str,
    /// Unix seconds for `created`.
    pub created: u64,
    /// Whether the client asked for usage in the stream (`stream_options.include_usage`).
    pub include_usage: bool,
}

/// Token usage as the provider reported it (or as estimated, see `estimated`). As in the
/// OpenTelemetry GenAI conventions, `input_tokens` counts every prompt token, cached ones too
/// (Anthropic and Bedrock report them apart; their readers add them up).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub total_tokens: Option<u64>,
    /// Of `input_tokens`, those read from the provider's prompt cache.
    pub cached_input_tokens: Option<u64>,
    /// Of `input_tokens`, those written to the provider's prompt cache (Anthropic, Bedrock).
    pub cache_creation_input_tokens: Option<u64>,
    /// Of `cache_creation_input_tokens`, those written with the 1-hour TTL; the rest have the
    /// 5-minute one. Anthropic reports the split in `usage.cache_creation` (Claude on Vertex
    /// and Bedrock `InvokeModel` too); `None` where the provider does not (Bedrock Converse).
    pub cache_write_1h_tokens: Option<u64>,
    pub reasoning_tokens: Option<u64>,
    /// Counted by sluice with tiktoken rather than reported by the provider.
    pub estimated: bool,
}

impl Usage {
    pub fn total(&self) -> Option<u64> {
        self.total_tokens
            .or(match (self.input_tokens, self.output_tokens) {
                (Some(i), Some(o)) => Some(i.saturating_add(o)),
                _ => None,
            })
    }
}

/// One tool call the model made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ToolCallFact {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// A translated, complete (non-streamed) response with the facts telemetry needs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Completion {
    /// The body for the client, in the client's format.
    pub body: Vec<u8>,
    pub usage: Usage,
    pub response_model: Option<String>,
    /// One text per choice.
    pub texts: Vec<String>,
    pub finish_reasons: Vec<String>,
    pub tool_calls: Vec<ToolCallFact>,
}

/// Facts gathered from a stream so far; final once the stream ends.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StreamFacts {
    pub usage: Usage,
    pub response_model: Option<String>,
    pub texts: Vec<String>,
    pub finish_reasons: Vec<String>,
    pub tool_calls: Vec<ToolCallFact>,
    /// Whether any content (text, thinking or tool call) has been emitted yet: the first token.
    pub first_token_seen: bool,
    /// An error the upstream reported inside the stream (Anthropic's `event: error`).
    pub error: Option<String>,
}

/// Translates a provider's stream into the client's stream, chunk by chunk. Chunks may split
/// SSE lines anywhere. Output is appended to `out`; nothing is buffered beyond one
/// incomplete line (capped by [`sse::MAX_LINE`]).
pub trait StreamTranslator: Send {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), TranslateError>;
    /// The upstream stream ended: flush what is left, and the client's terminator.
    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), TranslateError>;
    fn facts(&self) -> &StreamFacts;
}
