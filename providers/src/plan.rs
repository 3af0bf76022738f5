//! How one request reaches one backend, chosen once per backend tried: natively when the
//! provider speaks the client's API, else translated through the hub. Everything after the
//! choice (the upstream body, the answer, the stream, the error, the telemetry facts) follows
//! the [`Plan`]; nothing asks the client's API again.
//!
//! The table of pairs (front door × provider):
//!
//! | front door | native to | translated to |
//! |---|---|---|
//! | Chat Completions | `openai`, `azure`, the compatible presets | `anthropic`, `gemini`, `vertex`, `bedrock`, `mock` |
//! | Messages | `anthropic`, Claude on `vertex` (`claude-*`) and on `bedrock` (`*anthropic.claude*`) | `openai`, `azure`, the presets, `gemini`, Gemini on `vertex`, other `bedrock` models, `mock` |
//! | Responses | `openai`, `azure` | `anthropic`, `gemini`, `vertex`, `bedrock`, the presets, `mock` |
//! | Gemini | `gemini`, Gemini on `vertex` | `openai`, `azure`, the presets, `anthropic`, Claude on `vertex`, `bedrock`, `mock` |

use crate::front::gemini::GeminiSite;
use crate::front::messages::ClaudeSite;
use crate::front::{chat, responses};
use crate::{
    bedrock, vertex, ClientRequest, Completion, Front, ProviderKind, RequestTarget, ResponseTarget,
    StreamTranslator, TranslateError, UpstreamRequest,
};

/// The way one request goes to one backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// The provider speaks the client's API: the body passes with the documented edits.
    Native(Native),
    /// Across API families: the client's request through the hub to the provider's format.
    Translate {
        front: Front,
        provider: ProviderKind,
    },
}

/// A client API and a provider that speaks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Native {
    /// OpenAI Chat Completions to an OpenAI(-compatible) provider or Azure OpenAI.
    Chat(ProviderKind),
    /// Anthropic Messages to a provider serving Claude with the Messages API.
    Messages(ClaudeSite),
    /// OpenAI Responses to OpenAI, Azure OpenAI or a preset that serves it.
    Responses(ProviderKind),
    /// Gemini to the Gemini API or Gemini on Vertex AI.
    Gemini(GeminiSite),
}

impl Plan {
    /// The plan for a client speaking `front`, calling `model` on `provider`.
    pub fn choose(front: Front, provider: ProviderKind, model: &str) -> Plan {
        let native = match (front, provider) {
            (
                Front::Chat,
                ProviderKind::OpenAi | ProviderKind::Azure | ProviderKind::Compatible(_),
            ) => Some(Native::Chat(provider)),
            (Front::Messages, ProviderKind::Anthropic) => {
                Some(Native::Messages(ClaudeSite::Anthropic))
            }
            (Front::Messages, ProviderKind::Vertex) if vertex::is_anthropic_model(model) => {
                Some(Native::Messages(ClaudeSite::Vertex))
            }
            (Front::Messages, ProviderKind::Bedrock) if bedrock::invoke::is_claude(model) => {
                Some(Native::Messages(ClaudeSite::Bedrock))
            }
            (Front::Responses, _) if responses::native::api_root(provider).is_some() => {
                Some(Native::Responses(provider))
            }
            (Front::Gemini, ProviderKind::Gemini) => Some(Native::Gemini(GeminiSite::Gemini)),
            (Front::Gemini, ProviderKind::Vertex) if !vertex::is_anthropic_model(model) => {
                Some(Native::Gemini(GeminiSite::Vertex))
            }
            _ => None,
        };
        match native {
            Some(n) => Plan::Native(n),
            None => Plan::Translate { front, provider },
        }
    }

    pub fn is_native(&self) -> bool {
        matches!(self, Plan::Native(_))
    }

    /// The upstream request (path, body, headers besides credentials).
    pub fn request(
        &self,
        req: &mut ClientRequest,
        target: &RequestTarget<'_>,
    ) -> Result<UpstreamRequest, TranslateError> {
        match *self {
            Plan::Native(Native::Chat(provider)) => chat::native_request(
                provider,
                &req.body,
                &req.model,
                req.stream,
                req.include_usage,
                target,
            ),
            Plan::Native(Native::Messages(site)) => {
                site.request(&req.body, &req.model, req.stream, target)
            }
            Plan::Native(Native::Responses(provider)) => {
                responses::native::request(provider, &req.body, &req.model, target)
            }
            Plan::Native(Native::Gemini(site)) => match req.gemini_call() {
                Some(call) => site.request(&req.body, call, target),
                None => Err(TranslateError::InvalidRequest(
                    "a Gemini request needs its model and method in the path".to_string(),
                )),
            },
            Plan::Translate { provider, .. } => provider.translate_request(req.hub()?, target),
        }
    }

    /// A whole (non-streamed) 2xx answer, for the client, with its facts.
    pub fn response(
        &self,
        body: Vec<u8>,
        target: &ResponseTarget<'_>,
        req: &ClientRequest,
    ) -> Result<Completion, TranslateError> {
        match *self {
            Plan::Native(Native::Chat(_)) => crate::openai::pass_through_response(body),
            Plan::Native(Native::Messages(site)) => site.response(body),
            Plan::Native(Native::Responses(_)) => responses::response_facts(body),
            Plan::Native(Native::Gemini(site)) => site.response(body, target),
            Plan::Translate { front, provider } => {
                front.from_hub_response(provider.translate_response(&body, target)?, req)
            }
        }
    }

    /// The relay of a streamed 2xx answer: upstream bytes in, the client's bytes out.
    pub fn stream(
        &self,
        target: &ResponseTarget<'_>,
        id: String,
        req: &ClientRequest,
    ) -> Result<Box<dyn StreamTranslator>, TranslateError> {
        Ok(match *self {
            Plan::Native(Native::Chat(_)) => Box::new(crate::openai::OpenAiStream::new(target)),
            Plan::Native(Native::Messages(site)) => site.stream(),
            Plan::Native(Native::Responses(_)) => Box::<responses::Passthrough>::default(),
            Plan::Native(Native::Gemini(site)) => site.stream(target, req.gemini_sse()),
            Plan::Translate { front, provider } => {
                front.from_hub_stream(provider.stream_translator(target, id), target.model, req)?
            }
        })
    }

    /// An upstream error body in the client's shape.
    pub fn error(&self, status: u16, body: &[u8]) -> Vec<u8> {
        match *self {
            Plan::Native(Native::Chat(_)) => crate::openai::translate_error(status, body),
            Plan::Native(Native::Messages(site)) => site.error(status, body),
            Plan::Native(Native::Responses(_)) => crate::openai::translate_error(status, body),
            Plan::Native(Native::Gemini(site)) => site.error(status, body),
            Plan::Translate { front, provider } => {
                front.from_hub_error(status, provider.translate_error(status, body))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Preset;

    #[test]
    fn the_table_of_pairs() {
        use ProviderKind::*;
        let native = |front, provider, model| Plan::choose(front, provider, model).is_native();
        assert!(native(Front::Chat, OpenAi, "gpt-4o"));
        assert!(native(Front::Chat, Azure, "d"));
        assert!(native(Front::Chat, Compatible(Preset::Groq), "m"));
        assert!(!native(Front::Chat, Anthropic, "claude-x"));
        assert!(!native(Front::Chat, Gemini, "gemini-2.0-flash"));
        assert!(!native(Front::Chat, Mock, ""));
        assert!(native(Front::Messages, Anthropic, "claude-x"));
        assert!(native(Front::Messages, Vertex, "claude-sonnet-4@20250514"));
        assert!(!native(Front::Messages, Vertex, "gemini-2.5-pro"));
        assert!(native(
            Front::Messages,
            Bedrock,
            "us.anthropic.claude-sonnet-4-v1:0"
        ));
        assert!(!native(Front::Messages, Bedrock, "amazon.nova-pro-v1:0"));
        assert!(!native(Front::Messages, OpenAi, "gpt-4o"));
        assert!(!native(Front::Messages, Mock, ""));
        assert!(native(Front::Responses, OpenAi, "gpt-5"));
        assert!(native(Front::Responses, Azure, "d"));
        assert!(native(Front::Responses, Compatible(Preset::Groq), "m"));
        assert!(native(Front::Responses, Compatible(Preset::Vllm), "m"));
        assert!(!native(Front::Responses, Compatible(Preset::Mistral), "m"));
        assert!(!native(Front::Responses, Compatible(Preset::Deepseek), "m"));
        assert!(!native(Front::Responses, Anthropic, "claude-x"));
        assert!(native(Front::Gemini, Gemini, "gemini-2.5-flash"));
        assert!(native(Front::Gemini, Vertex, "gemini-2.5-pro"));
        assert!(!native(Front::Gemini, Vertex, "claude-sonnet-4@20250514"));
        assert!(!native(Front::Gemini, OpenAi, "gpt-4o"));
    }
}
