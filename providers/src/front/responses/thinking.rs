//! Reasoning items ⇄ the hub's thinking blocks, losslessly.
//!
//! A translated answer's thinking (the hub's `thinking_blocks`, Anthropic's signed thinking
//! and redacted thinking or Gemini's thought signatures, and `reasoning_content`) becomes one
//! `reasoning` output item: each thinking block's text a `summary_text` part, and, when the
//! request's `include` asks for `reasoning.encrypted_content`, the blocks themselves in
//! `encrypted_content` as `sluice:v1:` + base64 of their JSON array. Sent back as input, that
//! `encrypted_content` becomes the assistant turn's `thinking_blocks` again (signatures as
//! they were) and its thinking texts its `reasoning_content`.
//!
//! The encoding is not encryption: the thinking text is in the summary already, and the
//! signatures and redacted data stay the provider's own (it checks them).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use crate::TranslateError;

/// What starts an `encrypted_content` sluice wrote.
pub(super) const PREFIX: &str = "sluice:v1:";

/// The hub's thinking of one answer as blocks: its `thinking_blocks` as they are, their texts
/// taken from `reasoning` when the blocks carry none (a provider that signs apart from its
/// thought text, as Gemini does), or `reasoning` alone as one unsigned thinking block.
pub(super) fn hub_blocks(blocks: Option<&[Value]>, reasoning: Option<&str>) -> Vec<Value> {
    let reasoning = reasoning.filter(|r| !r.is_empty());
    let Some(blocks) = blocks.filter(|b| !b.is_empty()) else {
        return reasoning
            .map(|r| json!({"type": "thinking", "thinking": r, "signature": ""}))
            .into_iter()
            .collect();
    };
    let mut blocks = blocks.to_vec();
    if let Some(r) = reasoning {
        if blocks.iter().all(|b| block_text(b).is_empty()) {
            match blocks.iter_mut().find(|b| is_thinking(b)) {
                Some(first) => first["thinking"] = Value::String(r.to_string()),
                None => blocks.insert(
                    0,
                    json!({"type": "thinking", "thinking": r, "signature": ""}),
                ),
            }
        }
    }
    blocks
}

fn is_thinking(block: &Value) -> bool {
    block.get("type").and_then(Value::as_str) == Some("thinking")
}

/// A thinking block's text ("" for redacted blocks).
pub(super) fn block_text(block: &Value) -> &str {
    block.get("thinking").and_then(Value::as_str).unwrap_or("")
}

/// The `summary` of a reasoning item for these blocks: one `summary_text` per thinking text.
pub(super) fn summary(blocks: &[Value]) -> Vec<Value> {
    blocks
        .iter()
        .map(block_text)
        .filter(|t| !t.is_empty())
        .map(summary_part)
        .collect()
}

pub(super) fn summary_part(text: &str) -> Value {
    json!({"type": "summary_text", "text": text})
}

/// The `encrypted_content` carrying `blocks`.
pub(super) fn encode(blocks: &[Value]) -> String {
    // Serialising `Value`s to a Vec cannot fail.
    let json = serde_json::to_vec(blocks).unwrap_or_default();
    let mut out = String::with_capacity(PREFIX.len() + json.len() * 4 / 3 + 4);
    out.push_str(PREFIX);
    STANDARD.encode_string(json, &mut out);
    out
}

/// The thinking blocks of an `encrypted_content`: `None` when sluice did not write it (e.g.
/// OpenAI's own); a 400 naming `at` when it has sluice's prefix but is damaged.
pub(super) fn decode(encrypted: &str, at: &str) -> Option<Result<Vec<Value>, TranslateError>> {
    let payload = encrypted.strip_prefix(PREFIX)?;
    let damaged = || {
        TranslateError::InvalidRequest(format!(
            "{at}: the encrypted_content sluice wrote is damaged; send the reasoning item back as it was received"
        ))
    };
    let blocks = STANDARD
        .decode(payload)
        .ok()
        .and_then(|json| serde_json::from_slice::<Vec<Value>>(&json).ok())
        .filter(|blocks| {
            blocks.iter().all(|b| {
                matches!(
                    b.get("type").and_then(Value::as_str),
                    Some("thinking" | "redacted_thinking")
                )
            })
        });
    Some(blocks.ok_or_else(damaged))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_survive_the_round_trip_and_foreign_content_is_not_ours() {
        let blocks = vec![
            json!({"type": "thinking", "thinking": "Let me see \u{e9}", "signature": "EqQB=="}),
            json!({"type": "redacted_thinking", "data": "EmwK"}),
        ];
        let enc = encode(&blocks);
        assert!(enc.starts_with("sluice:v1:"), "{enc}");
        assert_eq!(decode(&enc, "input[0]").unwrap().unwrap(), blocks);
        assert!(decode("gAAAAABo-openai", "input[0]").is_none());
        let err = decode("sluice:v1:!!", "input[3]").unwrap().unwrap_err();
        assert!(err.to_string().contains("input[3]"), "{err}");
        let not_blocks = format!("sluice:v1:{}", STANDARD.encode(br#"[{"type":"text"}]"#));
        assert!(decode(&not_blocks, "x").unwrap().is_err());
    }

    #[test]
    fn reasoning_text_goes_where_the_blocks_have_none() {
        let gemini =
            [json!({"type": "thinking", "thinking": "", "signature": "sluice:gemini:c2ln"})];
        assert_eq!(
            hub_blocks(Some(&gemini), Some("thought")),
            [json!({"type": "thinking", "thinking": "thought", "signature": "sluice:gemini:c2ln"})]
        );
        assert_eq!(
            hub_blocks(None, Some("plain")),
            [json!({"type": "thinking", "thinking": "plain", "signature": ""})]
        );
        let signed = [json!({"type": "thinking", "thinking": "a", "signature": "s"})];
        assert_eq!(hub_blocks(Some(&signed), Some("a")), signed);
        assert!(hub_blocks(None, Some("")).is_empty());
        assert_eq!(
            summary(&hub_blocks(Some(&signed), None)),
            [json!({"type": "summary_text", "text": "a"})]
        );
    }
}
