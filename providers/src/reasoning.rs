//! Thinking across APIs: Anthropic's `thinking` (`enabled` with a token budget, `adaptive`,
//! `disabled`) and `output_config.effort`, OpenAI's `reasoning_effort`, Gemini's
//! `thinkingConfig` (`thinkingBudget`, `thinkingLevel`). The hub carries the client's own
//! (`thinking`, `reasoning_effort`); [`Reasoning::of`] reads them as one intent, and the
//! tables here turn an effort into a budget and back, the same way for every provider:
//!
//! | effort | budget (tokens) |
//! |---|---|
//! | `minimal` | 1,024 |
//! | `low` | 2,048 |
//! | `medium` | 8,192 |
//! | `high` | 16,384 |
//! | `xhigh`, `max` | 32,768 |
//!
//! A budget becomes the highest effort whose budget it reaches (below 2,048: `low`).

use serde_json::Value;

use crate::openai::ChatRequest;
use crate::TranslateError;

/// A reasoning effort, OpenAI's and Anthropic's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Effort {
    None,
    Minimal,
    Low,
    Medium,
    High,
    XHigh,
    Max,
}

impl Effort {
    pub fn parse(s: &str) -> Option<Effort> {
        Some(match s {
            "none" => Effort::None,
            "minimal" => Effort::Minimal,
            "low" => Effort::Low,
            "medium" => Effort::Medium,
            "high" => Effort::High,
            "xhigh" => Effort::XHigh,
            "max" => Effort::Max,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Effort::None => "none",
            Effort::Minimal => "minimal",
            Effort::Low => "low",
            Effort::Medium => "medium",
            Effort::High => "high",
            Effort::XHigh => "xhigh",
            Effort::Max => "max",
        }
    }

    /// The thinking budget (tokens) of this effort; 0 for `none`.
    pub fn budget(self) -> u64 {
        match self {
            Effort::None => 0,
            Effort::Minimal => 1024,
            Effort::Low => 2048,
            Effort::Medium => 8192,
            Effort::High => 16384,
            Effort::XHigh | Effort::Max => 32768,
        }
    }

    /// The effort a thinking budget amounts to.
    pub fn from_budget(budget: u64) -> Effort {
        match budget {
            0 => Effort::None,
            b if b >= Effort::XHigh.budget() => Effort::XHigh,
            b if b >= Effort::High.budget() => Effort::High,
            b if b >= Effort::Medium.budget() => Effort::Medium,
            _ => Effort::Low,
        }
    }

    /// The nearest of OpenAI's three widely accepted efforts (`low`, `medium`, `high`).
    pub fn openai_common(self) -> &'static str {
        match self {
            Effort::None | Effort::Minimal | Effort::Low => "low",
            Effort::Medium => "medium",
            Effort::High | Effort::XHigh | Effort::Max => "high",
        }
    }
}

/// What a request asks of the model's thinking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reasoning {
    /// No thinking (`thinking: {type: disabled}`, `reasoning_effort: none`).
    Off,
    /// Thinking with this many tokens at most (`thinking: {type: enabled, budget_tokens}`).
    Budget(u64),
    /// Thinking the model sizes itself (`thinking: {type: adaptive}`), at this effort when one
    /// was given (`output_config.effort`, carried as `reasoning_effort`).
    Adaptive(Option<Effort>),
    /// Thinking at this effort (`reasoning_effort`).
    Effort(Effort),
}

impl Reasoning {
    /// The hub request's thinking intent; `None` when it says nothing about thinking. An
    /// unknown `thinking` type or effort is a 400 that names it.
    pub fn of(req: &ChatRequest) -> Result<Option<Reasoning>, TranslateError> {
        let effort = match req.reasoning_effort.as_deref() {
            None => None,
            Some(e) => Some(Effort::parse(e).ok_or_else(|| {
                TranslateError::InvalidRequest(format!(
                    "reasoning_effort: unknown effort {e:?}; expected none, minimal, low, medium, high, xhigh or max"
                ))
            })?),
        };
        let Some(thinking) = req.thinking.as_ref().filter(|t| !t.is_null()) else {
            return Ok(effort.map(|e| match e {
                Effort::None => Reasoning::Off,
                e => Reasoning::Effort(e),
            }));
        };
        let kind = thinking.get("type").and_then(Value::as_str).unwrap_or("");
        Ok(Some(match kind {
            "disabled" => Reasoning::Off,
            "adaptive" => Reasoning::Adaptive(effort),
            "enabled" => {
                let budget = thinking
                    .get("budget_tokens")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| {
                        TranslateError::InvalidRequest(
                            "thinking: `enabled` needs a positive integer `budget_tokens`"
                                .to_string(),
                        )
                    })?;
                Reasoning::Budget(budget)
            }
            other => {
                return Err(TranslateError::InvalidRequest(format!(
                    "thinking.type: unknown type {other:?}; expected enabled, adaptive or disabled"
                )))
            }
        }))
    }

    /// The effort this intent amounts to (`None` for adaptive without one).
    pub fn effort(self) -> Option<Effort> {
        match self {
            Reasoning::Off => Some(Effort::None),
            Reasoning::Budget(b) => Some(Effort::from_budget(b)),
            Reasoning::Adaptive(e) => e,
            Reasoning::Effort(e) => Some(e),
        }
    }

    /// The token budget this intent amounts to (`None` for adaptive without an effort).
    pub fn budget(self) -> Option<u64> {
        match self {
            Reasoning::Off => Some(0),
            Reasoning::Budget(b) => Some(b),
            other => other.effort().map(Effort::budget),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(body: &str) -> ChatRequest {
        ChatRequest::parse(body.as_bytes()).unwrap()
    }

    #[test]
    fn thinking_and_effort_read_as_one_intent() {
        let r = |b: &str| Reasoning::of(&req(b)).unwrap();
        assert_eq!(r(r#"{"messages":[]}"#), None);
        assert_eq!(
            r(r#"{"messages":[],"reasoning_effort":"high"}"#),
            Some(Reasoning::Effort(Effort::High))
        );
        assert_eq!(
            r(r#"{"messages":[],"reasoning_effort":"none"}"#),
            Some(Reasoning::Off)
        );
        assert_eq!(
            r(r#"{"messages":[],"thinking":{"type":"enabled","budget_tokens":5000}}"#),
            Some(Reasoning::Budget(5000))
        );
        assert_eq!(
            r(r#"{"messages":[],"thinking":{"type":"adaptive"},"reasoning_effort":"medium"}"#),
            Some(Reasoning::Adaptive(Some(Effort::Medium)))
        );
        let err = Reasoning::of(&req(r#"{"messages":[],"thinking":{"type":"deep"}}"#))
            .unwrap_err()
            .to_string();
        assert!(err.contains("thinking.type"), "{err}");
        let err = Reasoning::of(&req(r#"{"messages":[],"reasoning_effort":"huge"}"#))
            .unwrap_err()
            .to_string();
        assert!(err.contains("reasoning_effort"), "{err}");
    }

    #[test]
    fn budgets_and_efforts_map_both_ways() {
        assert_eq!(Effort::from_budget(1024), Effort::Low);
        assert_eq!(Effort::from_budget(5000), Effort::Low);
        assert_eq!(Effort::from_budget(8192), Effort::Medium);
        assert_eq!(Effort::from_budget(20000), Effort::High);
        assert_eq!(Effort::from_budget(64000), Effort::XHigh);
        for e in [Effort::Low, Effort::Medium, Effort::High, Effort::XHigh] {
            assert_eq!(Effort::from_budget(e.budget()), e);
        }
        assert_eq!(Reasoning::Budget(10_000).effort(), Some(Effort::Medium));
        assert_eq!(Reasoning::Effort(Effort::High).budget(), Some(16384));
        assert_eq!(Reasoning::Adaptive(None).budget(), None);
    }
}
