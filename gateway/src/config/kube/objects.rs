//! The Kubernetes objects sluice reads, as serde types that mirror them. Every struct keeps
//! the keys it does not know in `other`, so each one is reported ("not supported") with its
//! path instead of being dropped; the few keys that change nothing sluice does (they pick a
//! controller or label generated resources) are listed where `other` is checked.

use serde::Deserialize;
use serde_json::{Map, Value};

/// `Gateway` (`gateway.networking.k8s.io/v1`) `spec`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewaySpec {
    #[serde(default)]
    pub listeners: Vec<Listener>,
    pub infrastructure: Option<Infrastructure>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Infrastructure {
    pub parameters_ref: Option<ParametersRef>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParametersRef {
    pub group: Option<String>,
    pub kind: Option<String>,
    pub name: String,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Listener {
    pub name: String,
    pub port: u16,
    pub protocol: String,
    pub allowed_routes: Option<AllowedRoutes>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllowedRoutes {
    pub namespaces: Option<RouteNamespaces>,
    pub kinds: Option<Vec<RouteGroupKind>>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteNamespaces {
    /// `All` | `Same` (the Gateway API's default) | `Selector`.
    pub from: Option<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteGroupKind {
    pub group: Option<String>,
    pub kind: String,
}

/// `HTTPRoute` (`gateway.networking.k8s.io/v1`) `spec`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteSpec {
    #[serde(default)]
    pub parent_refs: Vec<ParentRef>,
    #[serde(default)]
    pub rules: Vec<Rule>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentRef {
    pub group: Option<String>,
    pub kind: Option<String>,
    pub namespace: Option<String>,
    pub name: String,
    pub section_name: Option<String>,
    pub port: Option<u16>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub matches: Option<Vec<Match>>,
    #[serde(default)]
    pub backend_refs: Vec<BackendRef>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Match {
    pub path: Option<PathMatch>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathMatch {
    /// `PathPrefix` (the default) | `Exact` | `RegularExpression`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Default `/`.
    pub value: Option<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendRef {
    pub group: Option<String>,
    pub kind: Option<String>,
    pub name: String,
    pub namespace: Option<String>,
    pub weight: Option<i64>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `GatewayParameters` (`gateway.kgateway.dev/v1alpha1`) `spec`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayParametersSpec {
    pub kube: Option<KubeParameters>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KubeParameters {
    /// The seed's spelling; older kgateway releases wrote `agentGateway`.
    #[serde(alias = "agentGateway")]
    pub agentgateway: Option<AgentgatewayParameters>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentgatewayParameters {
    pub enabled: Option<bool>,
    pub log_level: Option<String>,
    pub custom_config_map_name: Option<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `Backend` (`gateway.kgateway.dev/v1alpha1`) `spec`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendSpec {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub ai: Option<AiBackend>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AiBackend {
    pub llm: Option<LlmProvider>,
    pub priority_groups: Option<Vec<PriorityGroup>>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriorityGroup {
    /// Each a provider with a `name`; kept as values so the name can be taken off first.
    #[serde(default)]
    pub providers: Vec<Value>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `spec.ai.llm`: exactly one provider, and where to reach it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LlmProvider {
    pub openai: Option<OpenAiConfig>,
    pub azureopenai: Option<AzureOpenAiConfig>,
    pub anthropic: Option<AnthropicConfig>,
    pub gemini: Option<GeminiConfig>,
    pub vertexai: Option<VertexAiConfig>,
    pub bedrock: Option<BedrockConfig>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub path: Option<PathOverride>,
    /// Unknown keys here are unknown providers.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// The provider keys of [`LlmProvider`], as kgateway spells them.
pub const PROVIDERS: &[&str] = &[
    "openai",
    "azureopenai",
    "anthropic",
    "gemini",
    "vertexai",
    "bedrock",
];

/// Keys of `spec.ai.llm` that are not providers.
pub const LLM_FIELDS: &[&str] = &["host", "port", "path", "authHeader"];

/// `spec.ai.llm.path`: the whole upstream path, instead of the provider's.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathOverride {
    pub full: Option<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthToken {
    /// `Inline` | `SecretRef` | `Passthrough`.
    pub kind: Option<String>,
    pub inline: Option<String>,
    pub secret_ref: Option<SecretRef>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretRef {
    pub name: String,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenAiConfig {
    pub auth_token: Option<AuthToken>,
    pub model: Option<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AzureOpenAiConfig {
    pub auth_token: Option<AuthToken>,
    pub endpoint: Option<String>,
    pub deployment_name: Option<String>,
    pub api_version: Option<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnthropicConfig {
    pub auth_token: Option<AuthToken>,
    pub api_version: Option<String>,
    pub model: Option<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GeminiConfig {
    pub auth_token: Option<AuthToken>,
    pub model: Option<String>,
    pub api_version: Option<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VertexAiConfig {
    pub auth_token: Option<AuthToken>,
    pub model: Option<String>,
    pub api_version: Option<String>,
    pub project_id: Option<String>,
    pub location: Option<String>,
    pub publisher: Option<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BedrockConfig {
    pub model: Option<String>,
    pub region: Option<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}
