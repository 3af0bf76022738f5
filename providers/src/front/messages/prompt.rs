//! A Messages request's prompt as `(role, text)` pairs, for `llm.prompt` and token estimates.
//! Lenient: it reads what it can of any body, so a request passed natively with block types
//! sluice does not know still has a prompt.

use serde_json::Value;

/// The system prompt first (when there is one), then each message's text: text blocks,
/// tool results' text, tool calls as their input JSON. Thinking is not prompt text.
pub fn prompt(body: &[u8]) -> Vec<(String, String)> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => prompt_of(&v),
        Err(_) => Vec::new(),
    }
}

/// [`prompt`] of a body already parsed.
pub fn prompt_of(v: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(system) = v.get("system") {
        let text = content_text(system);
        if !text.is_empty() {
            out.push(("system".to_string(), text));
        }
    }
    for m in v
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("user");
        let text = m.get("content").map(content_text).unwrap_or_default();
        out.push((role.to_string(), text));
    }
    out
}

/// A string, or the texts of a list of blocks joined with newlines.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => {
            let texts: Vec<String> = blocks.iter().filter_map(block_text).collect();
            texts.join("\n")
        }
        _ => String::new(),
    }
}

fn block_text(block: &Value) -> Option<String> {
    match block.get("type").and_then(Value::as_str)? {
        "text" => block
            .get("text")
            .and_then(Value::as_str)
            .map(str::to_string),
        "tool_result" => block.get("content").map(content_text),
        "tool_use" => block.get("input").map(Value::to_string),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn system_messages_tools_and_results_are_read_and_thinking_is_not() {
        let body = br#"{"system":[{"type":"text","text":"be brief","cache_control":{"type":"ephemeral"}}],
            "messages":[{"role":"user","content":"hi"},
            {"role":"system","content":"env"},
            {"role":"assistant","content":[{"type":"thinking","thinking":"hm","signature":"s"},{"type":"tool_use","id":"t","name":"Bash","input":{"c":1}}]},
            {"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"ok"}]}]}]}"#;
        let p = super::prompt(body);
        let pairs: Vec<(&str, &str)> = p.iter().map(|(r, t)| (r.as_str(), t.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("system", "be brief"),
                ("user", "hi"),
                ("system", "env"),
                ("assistant", r#"{"c":1}"#),
                ("user", "ok")
            ]
        );
        assert!(super::prompt(b"not json").is_empty());
    }
}
