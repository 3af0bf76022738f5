//! The provider registry: which providers exist, their names, default base URLs, how they
//! authenticate, and which module translates for them. Adding a provider is a module plus
//! lines here; the gateway only calls these methods.

use std::fmt;

use crate::embeddings::{self, EmbeddingsRequest};
use crate::openai::ChatRequest;
use crate::{
    anthropic, bedrock, gemini, openai, vertex, Completion, RequestTarget, ResponseTarget,
    StreamTranslator, TranslateError, UpstreamRequest, Usage,
};

/// OpenAI-compatible services known by name: OpenAI's wire format at their own base URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Preset {
    Groq,
    Mistral,
    Deepseek,
    Together,
    Fireworks,
    Openrouter,
    Xai,
    Ollama,
    Vllm,
}

impl Preset {
    pub const ALL: &'static [Preset] = &[
        Preset::Groq,
        Preset::Mistral,
        Preset::Deepseek,
        Preset::Together,
        Preset::Fireworks,
        Preset::Openrouter,
        Preset::Xai,
        Preset::Ollama,
        Preset::Vllm,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Preset::Groq => "groq",
            Preset::Mistral => "mistral",
            Preset::Deepseek => "deepseek",
            Preset::Together => "together",
            Preset::Fireworks => "fireworks",
            Preset::Openrouter => "openrouter",
            Preset::Xai => "xai",
            Preset::Ollama => "ollama",
            Preset::Vllm => "vllm",
        }
    }

    /// Whether the provider serves the OpenAI Responses API (`/v1/responses`, beside its
    /// `/v1/chat/completions`): a Responses client then passes natively, else it is translated
    /// to chat. Mistral and DeepSeek serve chat completions only.
    pub fn serves_responses(self) -> bool {
        !matches!(self, Preset::Mistral | Preset::Deepseek)
    }

    /// The base URL the preset's `/v1/chat/completions` hangs off.
    pub fn base_url(self) -> &'static str {
        match self {
            Preset::Groq => "https://api.groq.com/openai",
            Preset::Mistral => "https://api.mistral.ai",
            Preset::Deepseek => "https://api.deepseek.com",
            Preset::Together => "https://api.together.xyz",
            Preset::Fireworks => "https://api.fireworks.ai/inference",
            Preset::Openrouter => "https://openrouter.ai/api",
            Preset::Xai => "https://api.x.ai",
            Preset::Ollama => "http://127.0.0.1:11434",
            Preset::Vllm => "http://127.0.0.1:8000",
        }
    }
}

/// Providers sluice can call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    OpenAi,
    Gemini,
    Anthropic,
    /// Vertex AI (Gemini and Anthropic models in a Google Cloud project), OAuth tokens.
    Vertex,
    /// AWS Bedrock Converse, SigV4-signed.
    Bedrock,
    /// Azure OpenAI: deployments URL with `api-version`, `api-key` header.
    Azure,
    /// Answers in-process; calls no upstream.
    Mock,
    Compatible(Preset),
}

/// How a provider takes its credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// The key in a header of its own (`x-goog-api-key`, `api-key`, `x-api-key`).
    Header(&'static str),
    /// A Google OAuth access token as `Authorization: Bearer` (from a service account).
    GoogleOAuth,
    /// AWS Signature Version 4 for the named service.
    SigV4(&'static str),
}

impl ProviderKind {
    /// Every provider name the config accepts, in the order error messages list them.
    pub const NAMES: &'static [&'static str] = &[
        "openai",
        "gemini",
        "anthropic",
        "vertex",
        "bedrock",
        "azure",
        "mock",
        "groq",
        "mistral",
        "deepseek",
        "together",
        "fireworks",
        "openrouter",
        "xai",
        "ollama",
        "vllm",
    ];

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "openai" => Some(Self::OpenAi),
            "gemini" => Some(Self::Gemini),
            "anthropic" => Some(Self::Anthropic),
            "vertex" => Some(Self::Vertex),
            "bedrock" => Some(Self::Bedrock),
            "azure" => Some(Self::Azure),
            "mock" => Some(Self::Mock),
            other => Preset::ALL
                .iter()
                .find(|p| p.name() == other)
                .map(|p| Self::Compatible(*p)),
        }
    }

    /// The name reported as `llm.provider` (the seed's `gemini`, not `gcp.gemini`).
    pub fn name(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Gemini => "gemini",
            Self::Anthropic => "anthropic",
            Self::Vertex => "vertex",
            Self::Bedrock => "bedrock",
            Self::Azure => "azure",
            Self::Mock => "mock",
            Self::Compatible(p) => p.name(),
        }
    }

    /// The base URL used when a backend sets none; `None` when one must be given (Azure's
    /// is per resource) or none is used (mock).
    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            Self::OpenAi => Some("https://api.openai.com"),
            Self::Gemini => Some("https://generativelanguage.googleapis.com"),
            Self::Anthropic => Some("https://api.anthropic.com"),
            // Per location / region: the config builds them (`vertex::base_url`, Bedrock's
            // `bedrock-runtime.{region}.amazonaws.com`); Azure's is per resource.
            Self::Vertex | Self::Bedrock | Self::Azure | Self::Mock => None,
            Self::Compatible(p) => Some(p.base_url()),
        }
    }

    /// Whether the provider takes `apiVersion` (and what it defaults to).
    pub fn default_api_version(self) -> Option<&'static str> {
        match self {
            Self::Gemini => Some("v1beta"),
            Self::Azure => Some("2024-10-21"),
            _ => None,
        }
    }

    pub fn auth(self) -> Auth {
        match self {
            Self::Gemini => Auth::Header("x-goog-api-key"),
            Self::Azure => Auth::Header("api-key"),
            Self::Anthropic => Auth::Header("x-api-key"),
            Self::Vertex => Auth::GoogleOAuth,
            Self::Bedrock => Auth::SigV4("bedrock"),
            _ => Auth::Bearer,
        }
    }

    /// Headers the provider's API wants on every request sluice makes itself (health
    /// probes); generation requests carry theirs in [`crate::UpstreamRequest::headers`].
    pub fn fixed_headers(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::Anthropic => &[("anthropic-version", anthropic::ANTHROPIC_VERSION)],
            _ => &[],
        }
    }

    /// Whether a request may leave the model out (the URL or the backend names it).
    pub fn model_in_url(self) -> bool {
        matches!(self, Self::Azure | Self::Mock)
    }

    pub fn translate_request(
        self,
        req: &ChatRequest,
        target: &RequestTarget<'_>,
    ) -> Result<UpstreamRequest, TranslateError> {
        match self {
            Self::Gemini => gemini::translate_request(req, target),
            Self::Anthropic => anthropic::translate_request(req, target),
            Self::Vertex => vertex::translate_request(req, target),
            Self::Bedrock => bedrock::translate_request(req, target),
            Self::Azure => {
                let mut up = openai::translate_request(req, target, openai::Dialect::Official)?;
                up.path = azure_path(target, "chat/completions")?;
                Ok(up)
            }
            Self::OpenAi => openai::translate_request(req, target, openai::Dialect::Official),
            Self::Compatible(_) | Self::Mock => {
                openai::translate_request(req, target, openai::Dialect::Compatible)
            }
        }
    }

    pub fn translate_response(
        self,
        body: &[u8],
        target: &ResponseTarget<'_>,
    ) -> Result<Completion, TranslateError> {
        match self {
            Self::Gemini => gemini::translate_response(body, target),
            Self::Anthropic => anthropic::translate_response(body, target),
            Self::Vertex if vertex::is_anthropic_model(target.model) => {
                anthropic::translate_response(body, target)
            }
            Self::Vertex => gemini::translate_response(body, target),
            Self::Bedrock => bedrock::translate_response(body, target),
            _ => openai::translate_response(body, target),
        }
    }

    pub fn stream_translator(
        self,
        target: &ResponseTarget<'_>,
        id: String,
    ) -> Box<dyn StreamTranslator> {
        match self {
            Self::Gemini => Box::new(gemini::GeminiStream::new(target, id)),
            Self::Anthropic => Box::new(anthropic::AnthropicUpstreamStream::new(target, id)),
            Self::Vertex if vertex::is_anthropic_model(target.model) => {
                Box::new(anthropic::AnthropicUpstreamStream::new(target, id))
            }
            Self::Vertex => Box::new(gemini::GeminiStream::new(target, id)),
            Self::Bedrock => Box::new(bedrock::BedrockStream::new(target, id)),
            _ => Box::new(openai::OpenAiStream::new(target)),
        }
    }

    /// An upstream error body as an OpenAI error body.
    pub fn translate_error(self, status: u16, body: &[u8]) -> Vec<u8> {
        match self {
            Self::Gemini => gemini::translate_error(status, body),
            Self::Anthropic => anthropic::translate_error(status, body),
            // Vertex answers errors in Google's shape, for Anthropic models too.
            Self::Vertex => gemini::translate_error(status, body),
            Self::Bedrock => bedrock::translate_error(status, body),
            _ => openai::translate_error(status, body),
        }
    }
}

impl ProviderKind {
    /// The embeddings request for this provider; a 400 for providers that serve none.
    pub fn translate_embeddings_request(
        self,
        req: &EmbeddingsRequest,
        target: &RequestTarget<'_>,
    ) -> Result<UpstreamRequest, TranslateError> {
        match self {
            Self::OpenAi | Self::Compatible(_) | Self::Mock => {
                embeddings::openai_request(req, target.model)
            }
            Self::Azure => {
                let mut up = embeddings::openai_request(req, target.model)?;
                up.path = azure_path(target, "embeddings")?;
                Ok(up)
            }
            Self::Anthropic | Self::Vertex | Self::Bedrock => Err(TranslateError::Unsupported(
                format!("provider {self} serves no embeddings through sluice"),
            )),
            Self::Gemini => embeddings::gemini_request(
                req,
                target.model,
                target
                    .api_version
                    .or(self.default_api_version())
                    .unwrap_or("v1beta"),
            ),
        }
    }

    /// The client's OpenAI embeddings body and its usage.
    pub fn translate_embeddings_response(
        self,
        body: &[u8],
        req: &EmbeddingsRequest,
        model: &str,
    ) -> Result<(Vec<u8>, Usage), TranslateError> {
        match self {
            Self::Gemini => embeddings::gemini_response(body, req, model),
            _ => Ok((body.to_vec(), embeddings::openai_usage(body)?)),
        }
    }
}

/// An Azure OpenAI deployment's path for `api` (`chat/completions`, `embeddings`). The
/// deployment is a path segment the client may name (when the backend pins no model): nothing
/// in it may leave the segment (`/`, `..`, `?`, `#`) and reach another Azure API with the
/// gateway's key.
pub(crate) fn azure_path(target: &RequestTarget<'_>, api: &str) -> Result<String, TranslateError> {
    let deployment = azure_deployment(target.model)?;
    let version = target
        .api_version
        .or(ProviderKind::Azure.default_api_version())
        .unwrap_or_default();
    Ok(format!(
        "/openai/deployments/{deployment}/{api}?api-version={version}"
    ))
}

/// An Azure deployment name, checked: nothing in it may leave its path segment (or, in the
/// Responses API's body, name something else).
pub(crate) fn azure_deployment(deployment: &str) -> Result<&str, TranslateError> {
    let ok = !deployment.is_empty()
        && deployment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && !deployment.bytes().all(|b| b == b'.');
    if ok {
        Ok(deployment)
    } else {
        Err(TranslateError::InvalidRequest(format!(
            "invalid deployment name \"{deployment}\""
        )))
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips() {
        for name in ProviderKind::NAMES {
            let kind = ProviderKind::from_name(name).unwrap();
            assert_eq!(kind.name(), *name);
        }
        assert_eq!(ProviderKind::from_name("gemni"), None);
    }

    #[test]
    fn azure_calls_the_deployment_with_its_api_version() {
        let req = ChatRequest::parse(br#"{"messages":[{"role":"user","content":"hi"}]}"#).unwrap();
        let target = RequestTarget {
            model: "my-gpt4o",
            ..RequestTarget::default()
        };
        let up = ProviderKind::Azure
            .translate_request(&req, &target)
            .unwrap();
        assert_eq!(
            up.path,
            "/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(ProviderKind::Azure.auth(), Auth::Header("api-key"));
    }
}
