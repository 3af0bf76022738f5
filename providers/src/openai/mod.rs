//! The OpenAI Chat Completions wire format (the hub every translation goes through) and the
//! `openai` provider, which is a pass-through: credentials injected, model pinned, stream usage
//! requested so telemetry always has it.
//!
//! The hub carries, besides OpenAI's own fields, what other APIs have and OpenAI lacks, under
//! the names LiteLLM gave them (so its users' clients and ours agree), each documented in
//! `docs/providers.md`:
//! - `thinking` (request): Anthropic's thinking object (`enabled` with `budget_tokens`,
//!   `adaptive`, `disabled`), exact where `reasoning_effort` is coarse;
//! - `top_k` (request);
//! - `reasoning_content` (assistant message, response message, stream delta): the thinking
//!   text; `thinking_blocks` (same places): the thinking blocks with their signatures,
//!   `{"type":"thinking","thinking","signature"}` or `{"type":"redacted_thinking","data"}`,
//!   which a client sends back with the assistant message in its next turn;
//! - `cache_control` on content parts and tools (in their `extra` maps), Anthropic's cache
//!   breakpoints.
//!
//! The request-side extensions are never serialized into an OpenAI body: each provider maps
//! them, or refuses them, itself.

mod request;
mod response;
mod stream;

pub use request::*;
pub use response::*;
pub use stream::*;

use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;

use crate::{
    Completion, RequestTarget, ResponseTarget, ToolCallFact, TranslateError, UpstreamRequest,
};

// The `openai` provider: the request from the hub, the answer's facts, errors.

/// Which kind of OpenAI-speaking server a translated request goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// OpenAI itself, or Azure OpenAI: only OpenAI's own fields.
    Official,
    /// An OpenAI-compatible server (the presets, `mock`): OpenAI's fields and the common
    /// extensions (`top_k`, `cache_control`).
    Compatible,
}

/// The request for an OpenAI(-compatible) upstream, from the hub (a client of another API):
/// the model pinned, and for streams `stream_options.include_usage` forced on so usage is
/// always known (the usage chunk is stripped again for clients that did not ask for it).
/// The hub's extensions:
/// - `max_tokens` → `max_completion_tokens` for OpenAI and Azure (reasoning models refuse the
///   older name; every current model takes the newer);
/// - thinking → `reasoning_effort` (`low`, `medium` or `high`, by the effort table of
///   [`crate::reasoning`]; disabled → `minimal` for `gpt-5*`, else left out) for OpenAI
///   reasoning models (`o1`, `o3`, `o4-*`, `gpt-5*`, `codex-*`); ignored for others, which
///   cannot reason (sending it would be refused by them);
/// - `top_k` → passed to compatible servers; refused for OpenAI and Azure, which have none;
/// - `cache_control` on parts and tools → passed to compatible servers (OpenRouter and
///   LiteLLM-style servers take it); left out for OpenAI and Azure, which cache prompts by
///   themselves (it changes cost, not the answer);
/// - an assistant turn's `thinking_blocks` / `reasoning_content` → left out: Chat Completions
///   takes no reasoning back.
pub fn translate_request(
    req: &ChatRequest,
    target: &RequestTarget<'_>,
    dialect: Dialect,
) -> Result<UpstreamRequest, TranslateError> {
    let reasoning = crate::reasoning::Reasoning::of(req)?;
    let mut req = req.clone();
    req.model = target.model.to_string();
    if req.stream {
        req.stream_options
            .get_or_insert_with(StreamOptions::default)
            .include_usage = Some(true);
    }
    req.reasoning_effort = reasoning.and_then(|r| openai_effort(r, target.model));
    if dialect == Dialect::Official && req.max_completion_tokens.is_none() {
        // OpenAI's name for it: reasoning models refuse `max_tokens`, every model takes this.
        req.max_completion_tokens = req.max_tokens.take();
    }
    if let Some(k) = req.top_k {
        match dialect {
            Dialect::Official => {
                return Err(crate::error::no_counterpart(
                    "top_k",
                    "OpenAI Chat Completions",
                ))
            }
            Dialect::Compatible => {
                req.extra.insert("top_k".to_string(), Value::from(k));
            }
        }
    }
    if dialect == Dialect::Official {
        strip_cache_control(&mut req);
    }
    let body =
        serde_json::to_vec(&req).map_err(|e| TranslateError::InvalidRequest(e.to_string()))?;
    Ok(UpstreamRequest::new(
        CHAT_COMPLETIONS_PATH.to_string(),
        body,
    ))
}

/// Whether `model` is an OpenAI reasoning model, which takes `reasoning_effort`.
pub fn is_reasoning_model(model: &str) -> bool {
    let m = model.rsplit('/').next().unwrap_or(model);
    let o_series =
        m.len() >= 2 && m.starts_with('o') && m.as_bytes().get(1).is_some_and(u8::is_ascii_digit);
    o_series || m.starts_with("gpt-5") || m.starts_with("codex")
}

fn openai_effort(r: crate::reasoning::Reasoning, model: &str) -> Option<String> {
    use crate::reasoning::Reasoning;
    if !is_reasoning_model(model) {
        return None;
    }
    let m = model.rsplit('/').next().unwrap_or(model);
    match r {
        Reasoning::Off if m.starts_with("gpt-5") => Some("minimal".to_string()),
        Reasoning::Off => None,
        other => other.effort().map(|e| e.openai_common().to_string()),
    }
}

fn strip_cache_control(req: &mut ChatRequest) {
    for m in &mut req.messages {
        if let Some(Content::Parts(parts)) = m.content.as_mut() {
            for p in parts {
                p.extra.remove("cache_control");
            }
        }
    }
    for t in req.tools.iter_mut().flatten() {
        t.extra.remove("cache_control");
    }
}

/// Facts of an OpenAI chat completion body; the body itself passes through unchanged.
pub fn translate_response(
    body: &[u8],
    _target: &ResponseTarget<'_>,
) -> Result<Completion, TranslateError> {
    pass_through_response(body.to_vec())
}

/// Facts of an OpenAI chat completion body, which becomes the client's answer as it is.
pub fn pass_through_response(body: Vec<u8>) -> Result<Completion, TranslateError> {
    // Only what telemetry needs is read.
    let view: ResponseView<'_> =
        crate::json::from_body(&body).map_err(TranslateError::InvalidResponse)?;
    let choices = view.choices.iter().map(|c| {
        (
            c.message.content.as_deref(),
            c.message.tool_calls.as_deref(),
            c.finish_reason.as_deref(),
        )
    });
    let mut c = facts(&view.model, view.usage.as_ref(), choices, Vec::new());
    drop(view);
    c.body = body;
    Ok(c)
}

/// The part of an OpenAI chat completion that telemetry reads, for answers passed through
/// unchanged. Unlike [`ChatResponse`] it has no `#[serde(flatten)]` maps, so unknown fields are
/// skipped rather than buffered: the parse costs about a third (callgrind, BENCHMARKS.md).
/// It accepts what `ChatResponse` accepts (`choices` and each `message.role` required).
/// Strings without escapes are borrowed from the body: the facts copy what they keep.
#[derive(Deserialize)]
struct ResponseView<'a> {
    #[serde(default, borrow)]
    model: Cow<'a, str>,
    #[serde(borrow)]
    choices: Vec<ChoiceView<'a>>,
    #[serde(default)]
    usage: Option<ChatUsage>,
}

#[derive(Deserialize)]
struct ChoiceView<'a> {
    #[serde(borrow)]
    message: MessageView<'a>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct MessageView<'a> {
    #[serde(rename = "role", borrow)]
    _role: Cow<'a, str>,
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCall>>,
}

/// A hub answer a provider's answer was translated into: its body, with its facts.
pub fn hub_completion(resp: &ChatResponse) -> Result<Completion, TranslateError> {
    let body =
        serde_json::to_vec(resp).map_err(|e| TranslateError::InvalidResponse(e.to_string()))?;
    Ok(completion_facts(resp, body))
}

/// The telemetry facts of a chat completion, with `body` as what the client receives.
pub fn completion_facts(resp: &ChatResponse, body: Vec<u8>) -> Completion {
    let choices = resp.choices.iter().map(|c| {
        (
            c.message.content.as_deref(),
            c.message.tool_calls.as_deref(),
            c.finish_reason.as_deref(),
        )
    });
    facts(&resp.model, resp.usage.as_ref(), choices, body)
}

/// One choice as telemetry sees it: text, tool calls, finish reason.
type ChoiceFacts<'a> = (Option<&'a str>, Option<&'a [ToolCall]>, Option<&'a str>);

fn facts<'a>(
    model: &str,
    usage: Option<&ChatUsage>,
    choices: impl Iterator<Item = ChoiceFacts<'a>> + Clone,
    body: Vec<u8>,
) -> Completion {
    let tool_calls = choices
        .clone()
        .flat_map(|(_, calls, _)| calls.unwrap_or_default())
        .map(|call| ToolCallFact {
            id: call.id.clone(),
            name: call.function.name.clone(),
            arguments: call.function.arguments.clone(),
        })
        .collect();
    Completion {
        body,
        usage: usage.map(ChatUsage::to_usage).unwrap_or_default(),
        response_model: (!model.is_empty()).then(|| model.to_string()),
        texts: choices
            .clone()
            .map(|(text, _, _)| text.unwrap_or_default().to_string())
            .collect(),
        finish_reasons: choices
            .filter_map(|(_, _, finish)| finish.map(str::to_string))
            .collect(),
        tool_calls,
    }
}

/// An OpenAI error body passes through when it has the OpenAI shape; anything else is wrapped.
pub fn translate_error(status: u16, body: &[u8]) -> Vec<u8> {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        if v.get("error").is_some_and(Value::is_object) {
            return body.to_vec();
        }
    }
    crate::error::text_error_body(status, body)
}
