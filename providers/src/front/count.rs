//! Input tokens counted by the gateway, for the token-count calls of the front doors whose
//! route's provider cannot count them natively (Anthropic's `messages/count_tokens`, the
//! Responses API's `responses/input_tokens`, Gemini's `:countTokens`). An estimate: counted
//! with tiktoken (`o200k_base`), while each provider tokenizes its own way.

use serde_json::{json, Value};

use crate::{Front, TranslateError};

/// Members whose strings are not read by the model as text: names of things, ids, media
/// (counted apart by providers), opaque state.
const NOT_TEXT: &[&str] = &[
    "model",
    "type",
    "role",
    "id",
    "call_id",
    "tool_call_id",
    "status",
    "mimeType",
    "mime_type",
    "data",
    "image_url",
    "file_id",
    "fileUri",
    "file_uri",
    "encrypted_content",
    "signature",
    "thoughtSignature",
    "cachedContent",
    "previous_response_id",
    "prompt_cache_key",
];

/// The answer to a front door's token-count call: the estimate in that API's shape.
pub fn estimate_input(front: Front, body: &[u8]) -> Result<Vec<u8>, TranslateError> {
    if front == Front::Messages {
        return super::messages::count_tokens(body);
    }
    let v: Value = crate::json::from_body(body).map_err(TranslateError::InvalidRequest)?;
    if !v.is_object() {
        return Err(TranslateError::InvalidRequest(
            "request body must be a JSON object".to_string(),
        ));
    }
    let n = text_tokens(&v);
    let answer = match front {
        Front::Gemini => json!({ "totalTokens": n }),
        _ => json!({ "object": "response.input_tokens", "input_tokens": n }),
    };
    Ok(answer.to_string().into_bytes())
}

/// Tokens of every string in `v` that the model reads as text.
fn text_tokens(v: &Value) -> u64 {
    match v {
        Value::String(s) => crate::tokens::estimate(s),
        Value::Array(items) => items.iter().map(text_tokens).sum(),
        Value::Object(members) => members
            .iter()
            .filter(|(k, _)| !NOT_TEXT.contains(&k.as_str()))
            .map(|(_, v)| text_tokens(v))
            .sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_front_door_gets_its_shape_and_ids_are_not_counted() {
        let text = "The quick brown fox jumps over the lazy dog.";
        let expected = crate::tokens::estimate(text);
        let body = json!({"model": "gpt-5", "input": [{"type": "message", "role": "user",
            "content": [{"type": "input_text", "text": text}]}]});
        let v: Value = serde_json::from_slice(
            &estimate_input(Front::Responses, body.to_string().as_bytes()).unwrap(),
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"object": "response.input_tokens", "input_tokens": expected})
        );
        let body = json!({"contents": [{"role": "user", "parts": [{"text": text},
            {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}]}]});
        let v: Value = serde_json::from_slice(
            &estimate_input(Front::Gemini, body.to_string().as_bytes()).unwrap(),
        )
        .unwrap();
        assert_eq!(v, json!({"totalTokens": expected}));
        assert!(estimate_input(Front::Gemini, b"[1]").is_err());
    }
}
