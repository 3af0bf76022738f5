//! The hub's answer (an OpenAI `chat.completion`, or an OpenAI error) → Gemini's
//! `GenerateContentResponse` (or Google's error shape), for Gemini clients whose route goes to
//! another provider.
//!
//! - Each choice → a candidate (`index` kept): `reasoning_content` → a first part
//!   `{"text", "thought": true}`, always when the provider gave thinking text (Gemini sends
//!   thoughts only with `includeThoughts`, but the hub carries thinking only when the request
//!   asked for it, and Gemini clients leave thought parts out of the answer's text); `content`
//!   → a text part; each tool call → a `functionCall` part `{"id", "name", "args"}` (the id is
//!   the provider's, so the client's `functionResponse.id` finds its call again).
//! - `thinking_blocks` (signed thinking of Claude and the like, which the provider wants back
//!   unchanged in the next turn of a tool loop) ride in one `thoughtSignature`, Gemini's slot
//!   for opaque state the client returns with the turn: url-safe base64 (google-genai reads
//!   the field as base64 bytes and writes it back so) of `sluice:blocks:` and the blocks as
//!   JSON. It goes on the turn's first `functionCall` part, as Gemini places its own, else on
//!   its first text part, else on an empty text part. [`super::to_hub`] reads it back.
//! - `finish_reason`: `stop`, `tool_calls` → `STOP` (Gemini ends function calls with `STOP`),
//!   `length` → `MAX_TOKENS`, `content_filter` → `SAFETY`, others → `OTHER`.
//! - Usage → `usageMetadata`: `promptTokenCount` (cached tokens included, as in both APIs),
//!   `candidatesTokenCount` (completion tokens less reasoning tokens: Gemini counts thoughts
//!   apart), `totalTokenCount`, and when non-zero `cachedContentTokenCount` and
//!   `thoughtsTokenCount`.
//! - `modelVersion`: the model the provider named, else the model asked for; `responseId`: the
//!   hub's id.
//!
//! Errors take Google's shape `{"error": {"code", "message", "status"}}`, the status name
//! ([`error_status`]) fitting the HTTP status.

use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde_json::{json, Map, Value};

use crate::openai::{ChatResponse, ChatUsage};
use crate::TranslateError;

/// What a sluice-made `thoughtSignature` starts with, once decoded.
const SIGNATURE_TAG: &[u8] = b"sluice:blocks:";

/// Url-safe base64 that writes padding and reads with or without it.
const SIGNATURE_B64: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The hub's thinking blocks as one `thoughtSignature` (see the module docs).
pub(super) fn encode_signature(blocks: &[Value]) -> String {
    let mut raw = SIGNATURE_TAG.to_vec();
    // Serialising values to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut raw, blocks);
    SIGNATURE_B64.encode(raw)
}

/// The thinking blocks a sluice-made `thoughtSignature` carries; `None` for any other
/// signature (Gemini's own, or junk). Standard base64 is read too.
pub(super) fn decode_signature(signature: &str) -> Option<Vec<Value>> {
    let url_safe: String = signature
        .trim()
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    let raw = SIGNATURE_B64.decode(url_safe).ok()?;
    let json = raw.strip_prefix(SIGNATURE_TAG)?;
    let blocks: Vec<Value> = serde_json::from_slice(json).ok()?;
    Some(blocks.into_iter().filter(Value::is_object).collect())
}

/// Gemini's `finishReason` for a hub finish reason.
pub(super) fn finish_reason(hub: &str) -> &'static str {
    match hub {
        "stop" | "tool_calls" | "function_call" => "STOP",
        "length" => "MAX_TOKENS",
        "content_filter" => "SAFETY",
        _ => "OTHER",
    }
}

/// Gemini's `usageMetadata` for hub usage (see the module docs).
pub(super) fn usage_metadata(u: &ChatUsage) -> Value {
    let reasoning = u
        .completion_tokens_details
        .as_ref()
        .and_then(|d| d.reasoning_tokens)
        .unwrap_or(0);
    let cached = u
        .prompt_tokens_details
        .as_ref()
        .and_then(|d| d.cached_tokens)
        .unwrap_or(0);
    let total = if u.total_tokens > 0 {
        u.total_tokens
    } else {
        u.prompt_tokens.saturating_add(u.completion_tokens)
    };
    let mut m = Map::new();
    m.insert("promptTokenCount".into(), json!(u.prompt_tokens));
    m.insert(
        "candidatesTokenCount".into(),
        json!(u.completion_tokens.saturating_sub(reasoning)),
    );
    m.insert("totalTokenCount".into(), json!(total));
    if cached > 0 {
        m.insert("cachedContentTokenCount".into(), json!(cached));
    }
    if reasoning > 0 {
        m.insert("thoughtsTokenCount".into(), json!(reasoning));
    }
    Value::Object(m)
}

/// A `functionCall` part for a hub tool call; arguments that are not a JSON object become
/// `{}` (Gemini's `args` is an object).
pub(super) fn function_call_part(id: &str, name: &str, arguments: &str) -> Value {
    let args = match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => v,
        _ => json!({}),
    };
    let mut call = Map::new();
    if !id.is_empty() {
        call.insert("id".into(), json!(id));
    }
    call.insert("name".into(), json!(name));
    call.insert("args".into(), args);
    json!({ "functionCall": call })
}

/// Puts the signature of `blocks` on the first `functionCall` part, else on the first text
/// part that is not a thought, else on a new empty text part.
fn attach_signature(parts: &mut Vec<Value>, blocks: &[Value]) {
    if blocks.is_empty() {
        return;
    }
    let at = parts
        .iter()
        .position(|p| p.get("functionCall").is_some())
        .or_else(|| parts.iter().position(|p| p.get("thought").is_none()));
    let at = match at {
        Some(at) => at,
        None => {
            parts.push(json!({"text": ""}));
            parts.len() - 1
        }
    };
    parts[at]["thoughtSignature"] = Value::String(encode_signature(blocks));
}

/// A candidate: its parts (one empty text part when it has none), finish reason and index.
pub(super) fn candidate(mut parts: Vec<Value>, finish: Option<&str>, index: u32) -> Value {
    if parts.is_empty() {
        parts.push(json!({"text": ""}));
    }
    let mut c = Map::new();
    c.insert("content".into(), json!({"role": "model", "parts": parts}));
    if let Some(reason) = finish {
        c.insert("finishReason".into(), json!(reason));
    }
    c.insert("index".into(), json!(index));
    Value::Object(c)
}

/// The hub's `chat.completion` body → a `GenerateContentResponse` body; `model` names the
/// model when the provider did not.
pub fn response_from_hub(hub_body: &[u8], model: &str) -> Result<Vec<u8>, TranslateError> {
    let resp: ChatResponse =
        crate::json::from_body(hub_body).map_err(TranslateError::InvalidResponse)?;
    let mut candidates = Vec::with_capacity(resp.choices.len());
    for choice in &resp.choices {
        let m = &choice.message;
        let mut parts = Vec::new();
        if let Some(r) = m.reasoning_content.as_deref().filter(|r| !r.is_empty()) {
            parts.push(json!({"text": r, "thought": true}));
        }
        if let Some(text) = m.content.as_deref().filter(|t| !t.is_empty()) {
            parts.push(json!({ "text": text }));
        }
        for call in m.tool_calls.iter().flatten() {
            parts.push(function_call_part(
                &call.id,
                &call.function.name,
                &call.function.arguments,
            ));
        }
        attach_signature(&mut parts, m.thinking_blocks.as_deref().unwrap_or_default());
        let finish = finish_reason(choice.finish_reason.as_deref().unwrap_or("stop"));
        candidates.push(candidate(parts, Some(finish), choice.index));
    }
    let mut out = Map::new();
    out.insert("candidates".into(), Value::Array(candidates));
    if let Some(u) = &resp.usage {
        out.insert("usageMetadata".into(), usage_metadata(u));
    }
    let version = if resp.model.is_empty() {
        model
    } else {
        &resp.model
    };
    out.insert("modelVersion".into(), json!(version));
    if !resp.id.is_empty() {
        out.insert("responseId".into(), json!(resp.id));
    }
    Ok(Value::Object(out).to_string().into_bytes())
}

/// Google's status name for an HTTP status.
pub fn error_status(status: u16) -> &'static str {
    match status {
        400 | 413 | 422 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        502 | 503 | 529 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        400..=499 => "FAILED_PRECONDITION",
        _ => "INTERNAL",
    }
}

/// Google's error object (the body's value of `error`).
pub(super) fn error_object(status: u16, message: &str) -> Value {
    json!({"code": status, "message": message, "status": error_status(status)})
}

/// An error the gateway makes, in Google's shape.
pub fn error_body(status: u16, message: &str) -> Vec<u8> {
    json!({ "error": error_object(status, message) })
        .to_string()
        .into_bytes()
}

/// The message of a hub (OpenAI-shaped) error body: `error.message`, or `error` when it is a
/// string, else the body's text, else the status.
pub(super) fn hub_error_message(status: u16, body: &[u8]) -> String {
    let from_json = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
        let e = v.get("error")?;
        match e {
            Value::String(s) => Some(s.clone()),
            _ => e.get("message").and_then(Value::as_str).map(str::to_string),
        }
    });
    from_json.unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        if text.is_empty() {
            format!("upstream returned status {status}")
        } else {
            text.to_string()
        }
    })
}

/// A hub (OpenAI-shaped) error body and its status → Google's error body.
pub fn error_from_hub(status: u16, hub_error_body: &[u8]) -> Vec<u8> {
    error_body(status, &hub_error_message(status, hub_error_body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let path = format!(
            "{}/tests/fixtures/gemini_front/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn hub_answers_become_generate_content_responses() {
        for case in ["text_and_tool", "thinking", "max_tokens", "two_choices"] {
            let hub = fixture(&format!("{case}.hub-response.json"));
            let want = fixture(&format!("{case}.gemini-response.json"));
            let out = response_from_hub(hub.to_string().as_bytes(), "fallback-model").unwrap();
            let got: Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(got, want, "{case}");
        }
    }

    #[test]
    fn a_signature_carries_the_blocks_back_in_either_base64_alphabet() {
        let blocks = vec![
            json!({"type": "thinking", "thinking": "a?>b", "signature": "Eq+/=="}),
            json!({"type": "redacted_thinking", "data": "xyz"}),
        ];
        let sig = encode_signature(&blocks);
        assert!(!sig.contains('+') && !sig.contains('/'), "{sig}");
        assert_eq!(decode_signature(&sig), Some(blocks.clone()));
        let standard = sig.replace('-', "+").replace('_', "/");
        assert_eq!(decode_signature(&standard), Some(blocks.clone()));
        assert_eq!(decode_signature(sig.trim_end_matches('=')), Some(blocks));
        // Gemini's own signatures (and junk) are not sluice's.
        assert_eq!(decode_signature("CiQBcsjafE2mVmVh"), None);
        assert_eq!(decode_signature("not base64 !"), None);
    }

    #[test]
    fn errors_take_google_shape() {
        let cases = [
            (400, "INVALID_ARGUMENT"),
            (401, "UNAUTHENTICATED"),
            (403, "PERMISSION_DENIED"),
            (404, "NOT_FOUND"),
            (429, "RESOURCE_EXHAUSTED"),
            (500, "INTERNAL"),
            (503, "UNAVAILABLE"),
            (504, "DEADLINE_EXCEEDED"),
            (418, "FAILED_PRECONDITION"),
        ];
        for (status, name) in cases {
            assert_eq!(error_status(status), name, "{status}");
        }
        let body = br#"{"error":{"message":"Rate limit reached","type":"rate_limit_error","param":null,"code":null}}"#;
        let got: Value = serde_json::from_slice(&error_from_hub(429, body)).unwrap();
        assert_eq!(
            got,
            json!({"error": {"code": 429, "message": "Rate limit reached", "status": "RESOURCE_EXHAUSTED"}})
        );
        let got: Value =
            serde_json::from_slice(&error_from_hub(502, b"<html>bad gateway</html>")).unwrap();
        assert_eq!(got["error"]["message"], "<html>bad gateway</html>");
        assert_eq!(got["error"]["status"], "UNAVAILABLE");
        let got: Value = serde_json::from_slice(&error_from_hub(500, b"")).unwrap();
        assert_eq!(got["error"]["message"], "upstream returned status 500");
        let got: Value = serde_json::from_slice(&error_body(404, "no route")).unwrap();
        assert_eq!(
            got,
            json!({"error": {"code": 404, "message": "no route", "status": "NOT_FOUND"}})
        );
    }

    #[test]
    fn usage_counts_thoughts_apart() {
        let u: ChatUsage = serde_json::from_value(json!({
            "prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150,
            "prompt_tokens_details": {"cached_tokens": 40},
            "completion_tokens_details": {"reasoning_tokens": 20}
        }))
        .unwrap();
        assert_eq!(
            usage_metadata(&u),
            json!({"promptTokenCount": 100, "candidatesTokenCount": 30, "totalTokenCount": 150,
                   "cachedContentTokenCount": 40, "thoughtsTokenCount": 20})
        );
        let u = ChatUsage {
            prompt_tokens: 3,
            completion_tokens: 4,
            ..ChatUsage::default()
        };
        assert_eq!(
            usage_metadata(&u),
            json!({"promptTokenCount": 3, "candidatesTokenCount": 4, "totalTokenCount": 7})
        );
    }

    #[test]
    fn a_broken_hub_answer_is_an_invalid_response() {
        let err = response_from_hub(b"{not json", "m").unwrap_err();
        assert!(matches!(err, TranslateError::InvalidResponse(_)), "{err}");
    }
}
