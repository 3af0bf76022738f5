//! The hub's thinking intent ([`Reasoning`]) as Anthropic's `thinking` and
//! `output_config.effort`, for every translation to Claude (Anthropic, Claude on Vertex,
//! Claude through Bedrock Converse's `additionalModelRequestFields`).
//!
//! - A client's own `thinking` object (a hub extension) goes as it is.
//! - Otherwise: `Off` → `{"type":"disabled"}`; an effort or a budget → on models that take
//!   only adaptive thinking (Claude 4.6 and later: `enabled` is refused there) `{"type":
//!   "adaptive"}` with `output_config.effort`, else `{"type":"enabled","budget_tokens"}` with
//!   the budget of [`crate::reasoning`]'s table.
//! - `max_tokens` must exceed the budget: when it does not, it becomes budget + the client's
//!   `max_tokens` (or + [`super::DEFAULT_MAX_TOKENS`]), so the answer keeps its room.

use serde_json::{json, Value};

use crate::openai::ChatRequest;
use crate::reasoning::{Effort, Reasoning};
use crate::TranslateError;

/// What a Claude request body gets for the hub request's thinking intent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClaudeThinking {
    /// The body's `thinking`.
    pub thinking: Option<Value>,
    /// The body's `output_config.effort`.
    pub effort: Option<&'static str>,
    /// The body's `max_tokens`, raised above the thinking budget when needed.
    pub max_tokens: u64,
}

/// Whether `model` takes only adaptive thinking: Claude 4.6 and later (`claude-opus-4-6`,
/// `claude-sonnet-5`, Bedrock's `anthropic.claude-opus-4-7-...`, Vertex's `...@date`).
pub fn adaptive_only(model: &str) -> bool {
    let Some(at) = model.find("claude-") else {
        return false;
    };
    let rest = &model[at + "claude-".len()..];
    // The first two numbers after the family name: major and minor.
    let mut numbers = rest
        .split(['-', '@', '.', ':'])
        .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.len() <= 2)
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let major = numbers.next().unwrap_or(0);
    let minor = numbers.next().unwrap_or(0);
    major > 4 || (major == 4 && minor >= 6)
}

/// The thinking fields for `model`, with `max_tokens` as the request gives it (or the default).
pub fn claude_thinking(
    req: &ChatRequest,
    model: &str,
    max_tokens: u64,
) -> Result<ClaudeThinking, TranslateError> {
    let mut out = ClaudeThinking {
        max_tokens,
        ..ClaudeThinking::default()
    };
    let Some(reasoning) = Reasoning::of(req)? else {
        return Ok(out);
    };
    if let Some(own) = req.thinking.as_ref().filter(|t| !t.is_null()) {
        out.thinking = Some(own.clone());
        if let Reasoning::Adaptive(Some(e)) = reasoning {
            out.effort = Some(anthropic_effort(e));
        }
        if let Reasoning::Budget(b) = reasoning {
            out.max_tokens = room_for(b, max_tokens);
        }
        return Ok(out);
    }
    match reasoning {
        Reasoning::Off => out.thinking = Some(json!({"type": "disabled"})),
        Reasoning::Adaptive(e) => {
            out.thinking = Some(json!({"type": "adaptive"}));
            out.effort = e.map(anthropic_effort);
        }
        Reasoning::Effort(e) if adaptive_only(model) => {
            out.thinking = Some(json!({"type": "adaptive"}));
            out.effort = Some(anthropic_effort(e));
        }
        Reasoning::Budget(b) if adaptive_only(model) => {
            out.thinking = Some(json!({"type": "adaptive"}));
            out.effort = Some(anthropic_effort(Effort::from_budget(b)));
        }
        other => {
            let budget = other.budget().unwrap_or(0).max(1024);
            out.thinking = Some(json!({"type": "enabled", "budget_tokens": budget}));
            out.max_tokens = room_for(budget, max_tokens);
        }
    }
    Ok(out)
}

/// `max_tokens` that leaves the answer room beyond a thinking budget.
fn room_for(budget: u64, max_tokens: u64) -> u64 {
    if max_tokens > budget {
        max_tokens
    } else {
        budget.saturating_add(max_tokens.max(1))
    }
}

/// Anthropic's effort names: `low`, `medium`, `high`, `xhigh`, `max` (`none` and `minimal`
/// become `low`).
fn anthropic_effort(e: Effort) -> &'static str {
    match e {
        Effort::None | Effort::Minimal | Effort::Low => "low",
        other => other.as_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(body: &str) -> ChatRequest {
        ChatRequest::parse(body.as_bytes()).unwrap()
    }

    #[test]
    fn adaptive_only_models_are_recognised() {
        for m in [
            "claude-opus-4-6",
            "claude-sonnet-4-7-20260101",
            "claude-opus-5-5",
            "claude-sonnet-5@20260301",
            "us.anthropic.claude-opus-4-7-20260101-v1:0",
        ] {
            assert!(adaptive_only(m), "{m}");
        }
        for m in [
            "claude-sonnet-4-5-20250929",
            "claude-3-7-sonnet-20250219",
            "claude-opus-4-1@20250805",
            "anthropic.claude-3-5-sonnet-20241022-v2:0",
            "gpt-4o",
        ] {
            assert!(!adaptive_only(m), "{m}");
        }
    }

    #[test]
    fn efforts_become_budgets_or_adaptive_thinking() {
        let t = claude_thinking(
            &req(r#"{"messages":[],"reasoning_effort":"high"}"#),
            "claude-sonnet-4-5",
            4096,
        )
        .unwrap();
        assert_eq!(
            t.thinking,
            Some(json!({"type":"enabled","budget_tokens":16384}))
        );
        assert_eq!(t.max_tokens, 16384 + 4096, "room left for the answer");
        let t = claude_thinking(
            &req(r#"{"messages":[],"reasoning_effort":"high"}"#),
            "claude-opus-4-6",
            4096,
        )
        .unwrap();
        assert_eq!(t.thinking, Some(json!({"type":"adaptive"})));
        assert_eq!((t.effort, t.max_tokens), (Some("high"), 4096));
        let t = claude_thinking(
            &req(r#"{"messages":[],"thinking":{"type":"enabled","budget_tokens":2000},"max_tokens":50000}"#),
            "claude-sonnet-4-5",
            50000,
        )
        .unwrap();
        assert_eq!(
            t.thinking,
            Some(json!({"type":"enabled","budget_tokens":2000}))
        );
        assert_eq!(t.max_tokens, 50000);
        let t = claude_thinking(&req(r#"{"messages":[]}"#), "claude-sonnet-4-5", 10).unwrap();
        assert_eq!(
            t,
            ClaudeThinking {
                max_tokens: 10,
                ..ClaudeThinking::default()
            }
        );
    }
}
