//! Gemini's thinking as the hub carries it: the hub's reasoning intent ([`Reasoning`]) as
//! `generationConfig.thinkingConfig`, thought parts and thought signatures of answers as
//! `reasoning_content` and `thinking_blocks`, and those signatures put back on the model turn
//! when a client sends the conversation again.
//!
//! A signature travels in the hub as `{"type":"thinking","thinking","signature":
//! "sluice:gemini:<signature>"}`: the prefix tells it from Claude's, which Gemini cannot take
//! (and which no other provider can take either).

use serde_json::{json, Value};

use crate::openai::ChatRequest;
use crate::reasoning::{Effort, Reasoning};
use crate::TranslateError;

use super::wire::{Part, ThinkingConfig};

/// The prefix of Gemini's thought signatures in the hub's `thinking_blocks`.
pub const SIGNATURE_PREFIX: &str = "sluice:gemini:";

/// Whether `model` takes `thinkingLevel` rather than `thinkingBudget`: Gemini 3 and later.
pub fn takes_thinking_level(model: &str) -> bool {
    let Some(rest) = model.strip_prefix("gemini-") else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    rest[..digits].parse::<u32>().is_ok_and(|major| major >= 3)
}

/// Whether `model` thinks at all (Gemini 2.5 and later, and models named `...thinking...`):
/// earlier ones refuse a `thinkingConfig`, so a request's thinking is left out for them
/// (they cannot think; the answer is what it would be).
pub fn thinks(model: &str) -> bool {
    if model.contains("thinking") {
        return true;
    }
    let Some(rest) = model.strip_prefix("gemini-") else {
        return false;
    };
    let mut numbers = rest.split(['.', '-']).map(|p| p.parse::<u32>().ok());
    match (numbers.next().flatten(), numbers.next().flatten()) {
        (Some(major), _) if major >= 3 => true,
        (Some(2), Some(minor)) => minor >= 5,
        _ => false,
    }
}

/// The `thinkingConfig` for the request's thinking intent on `model`; `None` when the
/// request says nothing about thinking, or the model does not think ([`thinks`]).
///
/// - Gemini 3 and later (`thinkingLevel`): `low` for efforts up to `low`, `high` from
///   `medium` (a budget counts as the effort it amounts to, [`Effort::from_budget`]);
///   adaptive thinking without an effort sends no level (the model's own, dynamic, default).
///   These models cannot turn thinking off: `Off` asks the lowest level, and no thoughts.
/// - Earlier models (`thinkingBudget`): a budget as it is, an effort as its budget
///   ([`Effort::budget`]), adaptive as its effort's budget when it has one, else `-1` (the
///   model sizes it), `Off` as `0`.
///
/// Thoughts are asked for (`includeThoughts`) unless thinking is off.
pub fn thinking_config(
    req: &ChatRequest,
    model: &str,
) -> Result<Option<ThinkingConfig>, TranslateError> {
    let Some(reasoning) = Reasoning::of(req)? else {
        return Ok(None);
    };
    if !thinks(model) {
        return Ok(None);
    }
    let include_thoughts = Some(reasoning != Reasoning::Off);
    if takes_thinking_level(model) {
        let effort = match reasoning {
            Reasoning::Off => Some(Effort::None),
            other => other.effort(),
        };
        return Ok(Some(ThinkingConfig {
            include_thoughts,
            thinking_level: effort.map(level),
            ..ThinkingConfig::default()
        }));
    }
    let budget = match reasoning {
        Reasoning::Off => 0,
        Reasoning::Budget(b) => i64::try_from(b).unwrap_or(i64::MAX),
        Reasoning::Effort(e) => i64::try_from(e.budget()).unwrap_or(i64::MAX),
        Reasoning::Adaptive(Some(e)) => i64::try_from(e.budget()).unwrap_or(i64::MAX),
        Reasoning::Adaptive(None) => -1,
    };
    Ok(Some(ThinkingConfig {
        include_thoughts,
        thinking_budget: Some(budget),
        ..ThinkingConfig::default()
    }))
}

/// Gemini 3's level for an effort.
fn level(effort: Effort) -> &'static str {
    match effort {
        Effort::None | Effort::Minimal | Effort::Low => "low",
        Effort::Medium | Effort::High | Effort::XHigh | Effort::Max => "high",
    }
}

/// Puts the Gemini signature of an assistant message's `thinking_blocks` (the first one)
/// on its model turn: on the first `functionCall` part, or on the first part when the turn
/// calls no function; a part that already carries one (from its tool call id) keeps it.
/// Other blocks are not sent: Claude's signatures are not valid on Gemini, and Gemini takes
/// no thought text back.
pub fn restore_signature(blocks: Option<&[Value]>, parts: &mut [Part]) {
    let signature = blocks.unwrap_or_default().iter().find_map(|b| {
        b.get("signature")
            .and_then(Value::as_str)
            .and_then(|s| s.strip_prefix(SIGNATURE_PREFIX))
            .filter(|s| !s.is_empty())
    });
    let Some(signature) = signature else {
        return;
    };
    let at = parts
        .iter()
        .position(|p| p.function_call.is_some())
        .unwrap_or(0);
    if let Some(part) = parts.get_mut(at) {
        if part.thought_signature.is_none() {
            part.thought_signature = Some(signature.to_string());
        }
    }
}

/// What one part of an answer adds to the hub's reasoning: its thought text (for a
/// `thought` part), and the thinking block carrying its signature.
pub fn part_reasoning(part: &Part) -> (Option<&str>, Option<Value>) {
    let thought = (part.thought == Some(true)).then(|| part.text.as_deref().unwrap_or(""));
    let block = part
        .thought_signature
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|sig| {
            json!({
                "type": "thinking",
                "thinking": thought.unwrap_or(""),
                "signature": format!("{SIGNATURE_PREFIX}{sig}"),
            })
        });
    (thought, block)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemini_3_and_later_take_levels() {
        for m in ["gemini-3-pro-preview", "gemini-3.1-flash", "gemini-4-pro"] {
            assert!(takes_thinking_level(m), "{m}");
        }
        for m in [
            "gemini-2.5-flash",
            "gemini-1.5-pro",
            "gemini-exp",
            "gemma-3-27b",
        ] {
            assert!(!takes_thinking_level(m), "{m}");
        }
    }

    #[test]
    fn only_thinking_models_get_a_thinking_config() {
        for m in [
            "gemini-2.5-flash",
            "gemini-2.5-pro",
            "gemini-3-pro-preview",
            "gemini-2.0-flash-thinking-exp",
        ] {
            assert!(thinks(m), "{m}");
        }
        for m in ["gemini-2.0-flash", "gemini-1.5-pro", "gemma-3-27b"] {
            assert!(!thinks(m), "{m}");
        }
        let req = ChatRequest::parse(
            br#"{"messages":[],"thinking":{"type":"adaptive"},"reasoning_effort":"medium"}"#,
        )
        .unwrap();
        assert_eq!(thinking_config(&req, "gemini-2.0-flash").unwrap(), None);
        let config = thinking_config(&req, "gemini-2.5-flash").unwrap().unwrap();
        assert_eq!(
            config.thinking_budget,
            Some(8192),
            "adaptive keeps its effort"
        );
    }

    #[test]
    fn a_signature_goes_on_the_first_function_call() {
        let blocks = [
            json!({"type": "thinking", "thinking": "t", "signature": "claude-sig"}),
            json!({"type": "thinking", "thinking": "", "signature": "sluice:gemini:abc"}),
        ];
        let mut parts = vec![
            Part::text("x"),
            Part {
                function_call: Some(Default::default()),
                ..Part::default()
            },
        ];
        restore_signature(Some(&blocks), &mut parts);
        assert_eq!(parts[0].thought_signature, None);
        assert_eq!(parts[1].thought_signature.as_deref(), Some("abc"));

        let mut parts = vec![Part::text("x")];
        restore_signature(Some(&blocks[..1]), &mut parts);
        assert_eq!(parts[0].thought_signature, None, "Claude's is not Gemini's");
        restore_signature(Some(&blocks), &mut parts);
        assert_eq!(parts[0].thought_signature.as_deref(), Some("abc"));
    }
}
