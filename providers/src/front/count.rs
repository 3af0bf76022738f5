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

/// The prompt of a Responses or Gemini body as `(role, text)` turns, read leniently (a body
/// the hub cannot take, e.g. with a tool only OpenAI runs, still has its text), for
/// `llm.prompt` and the token estimates of a stream cut short.
pub(crate) fn prompt_of(front: Front, body: &[u8]) -> Vec<(String, String)> {
    let Ok(v) = crate::json::from_body::<Value>(body) else {
        return Vec::new();
    };
    let mut turns = Vec::new();
    let mut push = |role: &str, v: &Value| {
        let text = text_of(v);
        if !text.is_empty() {
            turns.push((role.to_string(), text));
        }
    };
    match front {
        Front::Gemini => {
            let system = v
                .get("systemInstruction")
                .or_else(|| v.get("system_instruction"));
            if let Some(system) = system {
                push("system", system);
            }
            for c in v
                .get("contents")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let role = match c.get("role").and_then(Value::as_str) {
                    Some("model") => "assistant",
                    _ => "user",
                };
                push(role, c);
            }
        }
        _ => {
            if let Some(instructions) = v.get("instructions") {
                push("system", instructions);
            }
            match v.get("input") {
                Some(Value::String(s)) => push("user", &Value::String(s.clone())),
                Some(Value::Array(items)) => {
                    for item in items {
                        let role = match item.get("role").and_then(Value::as_str) {
                            Some("developer" | "system") => "system",
                            Some(role) => role,
                            None if item
                                .get("type")
                                .and_then(Value::as_str)
                                .is_some_and(|t| t.ends_with("_output")) =>
                            {
                                "tool"
                            }
                            None => "assistant",
                        };
                        push(role, item);
                    }
                }
                _ => {}
            }
        }
    }
    turns
}

/// The text strings of `v` that the model reads, joined by line breaks.
fn text_of(v: &Value) -> String {
    let mut out = String::new();
    collect_text(v, &mut out);
    out
}

fn collect_text(v: &Value, out: &mut String) {
    match v {
        Value::String(s) if !s.is_empty() => {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(s);
        }
        Value::Array(items) => items.iter().for_each(|i| collect_text(i, out)),
        Value::Object(members) => members
            .iter()
            .filter(|(k, _)| !NOT_TEXT.contains(&k.as_str()))
            .for_each(|(_, v)| collect_text(v, out)),
        _ => {}
    }
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

    #[test]
    fn prompts_are_read_leniently() {
        let body = json!({"instructions": "Be brief.", "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Rules"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "List files"}]},
            {"type": "function_call", "call_id": "c1", "name": "shell", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "a.txt"}],
            "tools": [{"type": "web_search"}]});
        let turns = prompt_of(Front::Responses, body.to_string().as_bytes());
        let roles: Vec<&str> = turns.iter().map(|(r, _)| r.as_str()).collect();
        assert_eq!(roles, ["system", "system", "user", "assistant", "tool"]);
        assert_eq!(turns[2].1, "List files");
        assert_eq!(turns[4].1, "a.txt");
        let body = json!({"systemInstruction": {"parts": [{"text": "Be brief."}]},
            "contents": [{"role": "user", "parts": [{"text": "Hi"}]},
                         {"role": "model", "parts": [{"text": "Hello"}]}],
            "cachedContent": "cachedContents/x"});
        let turns = prompt_of(Front::Gemini, body.to_string().as_bytes());
        assert_eq!(
            turns,
            [
                ("system", "Be brief."),
                ("user", "Hi"),
                ("assistant", "Hello")
            ]
            .map(|(r, t)| (r.to_string(), t.to_string()))
        );
    }
}
