//! The upstreams Claude Code reaches through sluice: their models, keys, routes and paths,
//! the usage each reports, and the mocks' answers.

use bytes::Bytes;
use serde_json::{json, Value};
use sluice_providers::bedrock::eventstream::encode_event;
use sluice_tests::replies::{
    anthropic_sse, anthropic_text_events, aws_event_stream, bedrock_chunk_payload,
    gemini_text_stream, openai_text_stream, MockUsage,
};
use sluice_tests::Reply;

/// Claude Code 2.1.332's default model, which it names in every request.
pub(crate) const CLAUDE_MODEL: &str = "claude-opus-5-5";
const VERTEX_MODEL: &str = "claude-opus-5-5@20260101";
const BEDROCK_MODEL: &str = "us.anthropic.claude-opus-5-5-v1:0";
pub(crate) const OPENAI_MODEL: &str = "gpt-5";
const GEMINI_MODEL: &str = "gemini-2.5-flash";

pub(crate) const ANTHROPIC_KEY: &str = "sk-ant-backend-key-0002";
pub(crate) const VERTEX_TOKEN: &str = "ya29.vertex-static-token";
pub(crate) const OPENAI_KEY: &str = "sk-openai-backend-key-0003";
pub(crate) const GEMINI_KEY: &str = "gemini-backend-key-0004";
pub(crate) const AWS_KEY_ID: &str = "AKIDCLAUDECODETEST";
pub(crate) const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

pub(crate) const SAY_HELLO: &str = "Say hello";

/// The upstreams Claude Code reaches through sluice, one route (`/<route>`) each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Anthropic,
    Vertex,
    Bedrock,
    OpenAi,
    Gemini,
}

impl Kind {
    pub(crate) fn route(self) -> &'static str {
        match self {
            Kind::Anthropic => "anthropic",
            Kind::Vertex => "vertex",
            Kind::Bedrock => "bedrock",
            Kind::OpenAi => "openai",
            Kind::Gemini => "gemini",
        }
    }

    /// The backend's YAML (under `backends:`, after `- name:`).
    pub(crate) fn backend_yaml(self, base_url: &str) -> String {
        match self {
            // No pinned model: the body must reach Anthropic untouched.
            Kind::Anthropic => {
                format!("    provider: anthropic\n    apiKey: {ANTHROPIC_KEY}\n    baseUrl: {base_url}\n")
            }
            Kind::Vertex => format!(
                "    provider: vertex\n    model: {VERTEX_MODEL}\n    project: sluice-test\n    location: us-east5\n    apiKey: {VERTEX_TOKEN}\n    baseUrl: {base_url}\n"
            ),
            Kind::Bedrock => format!(
                "    provider: bedrock\n    model: {BEDROCK_MODEL}\n    region: us-east-1\n    baseUrl: {base_url}\n"
            ),
            Kind::OpenAi => format!(
                "    provider: openai\n    model: {OPENAI_MODEL}\n    apiKey: {OPENAI_KEY}\n    baseUrl: {base_url}\n"
            ),
            Kind::Gemini => format!(
                "    provider: gemini\n    model: {GEMINI_MODEL}\n    apiKey: {GEMINI_KEY}\n    baseUrl: {base_url}\n"
            ),
        }
    }

    /// The path (with query) the upstream is called on.
    pub(crate) fn upstream_path(self) -> &'static str {
        match self {
            Kind::Anthropic => "/v1/messages?beta=true",
            Kind::Vertex => "/v1/projects/sluice-test/locations/us-east5/publishers/anthropic/models/claude-opus-5-5@20260101:streamRawPredict",
            Kind::Bedrock => "/model/us.anthropic.claude-opus-5-5-v1%3A0/invoke-with-response-stream",
            Kind::OpenAi => "/v1/chat/completions",
            Kind::Gemini => "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        }
    }

    pub(crate) fn answer(self) -> String {
        format!("Hello from the {} mock, through sluice.", self.route())
    }
}

/// The prompt's tokens in all, as the log line and span count them: Anthropic's counts the
/// cache apart, OpenAI's and Gemini's count it in.
pub(crate) fn prompt_total(u: MockUsage, kind: Kind) -> u64 {
    match kind {
        Kind::OpenAi | Kind::Gemini => u.input,
        _ => u.input + u.cache_read + u.cache_creation,
    }
}

pub(crate) fn usage_of(kind: Kind) -> MockUsage {
    match kind {
        Kind::Anthropic => MockUsage {
            input: 12,
            cache_read: 11_286,
            cache_creation: 1_243,
            output: 9,
        },
        Kind::Vertex => MockUsage {
            input: 14,
            cache_read: 10_500,
            cache_creation: 1_800,
            output: 11,
        },
        Kind::Bedrock => MockUsage {
            input: 16,
            cache_read: 9_700,
            cache_creation: 2_600,
            output: 13,
        },
        // Cached reads only: neither API reports cache writes.
        Kind::OpenAi => MockUsage {
            input: 12_000,
            cache_read: 11_000,
            cache_creation: 0,
            output: 9,
        },
        Kind::Gemini => MockUsage {
            input: 12_500,
            cache_read: 11_500,
            cache_creation: 0,
            output: 10,
        },
    }
}

// ---------------------------------------------------------------------------------------------
// The mock upstreams' answers (see `sluice_tests::replies`).

pub(crate) fn plain_reply(kind: Kind) -> Reply {
    let (text, u) = (kind.answer(), usage_of(kind));
    match kind {
        Kind::Anthropic | Kind::Vertex => {
            anthropic_sse(&anthropic_text_events(CLAUDE_MODEL, &text, u))
        }
        Kind::Bedrock => bedrock_stream(&anthropic_text_events(CLAUDE_MODEL, &text, u)),
        Kind::OpenAi => openai_text_stream("gpt-5-2025-08-07", &text, u),
        Kind::Gemini => gemini_text_stream(GEMINI_MODEL, &text, u),
    }
}

/// `InvokeModelWithResponseStream`: one AWS event-stream `chunk` per Anthropic event, and
/// Bedrock's own metrics on `message_stop` (which the gateway leaves out).
fn bedrock_stream(events: &[Value]) -> Reply {
    let frames = events
        .iter()
        .map(|e| {
            let mut e = e.clone();
            if e["type"] == "message_stop" {
                e["amazon-bedrock-invocationMetrics"] = json!({"inputTokenCount": 16,
                    "outputTokenCount": 13, "invocationLatency": 120, "firstByteLatency": 40});
            }
            Bytes::from(encode_event("chunk", &bedrock_chunk_payload(&e)))
        })
        .collect();
    aws_event_stream(frames)
}
