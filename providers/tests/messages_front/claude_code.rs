//! Claude Code's captured Messages requests translated to Chat Completions.

use serde_json::{json, Value};
use sluice_providers::front::messages::request_to_openai;
use sluice_providers::openai::Content;

fn claude_code(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/claude_code/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

#[test]
fn claude_codes_first_request_crosses_with_everything_carried() {
    let req = request_to_openai(&claude_code("first_request.raw.json")).expect("translates");
    let roles: Vec<&str> = req.messages.iter().map(|m| m.role.as_str()).collect();
    assert_eq!(
        roles,
        ["system", "user", "system"],
        "the system turn keeps its place"
    );
    // The system prompt's breakpoints stay on their blocks.
    let Some(Content::Parts(system)) = &req.messages[0].content else {
        panic!("system as parts: {:?}", req.messages[0].content);
    };
    assert_eq!(system.len(), 3);
    assert!(system[0].extra.get("cache_control").is_none());
    assert_eq!(
        system[1].extra["cache_control"],
        json!({"type": "ephemeral"})
    );
    assert_eq!(
        system[2].extra["cache_control"],
        json!({"type": "ephemeral"})
    );
    let Some(Content::Parts(env)) = &req.messages[2].content else {
        panic!("system turn as parts");
    };
    assert_eq!(env[0].extra["cache_control"], json!({"type": "ephemeral"}));
    assert_eq!(
        req.thinking,
        Some(json!({"type": "adaptive", "display": "omitted"}))
    );
    assert_eq!(req.reasoning_effort.as_deref(), Some("medium"));
    assert_eq!(req.max_tokens, Some(128000));
    assert!(req.stream);
    let tools = req.tools.as_ref().expect("tools");
    assert_eq!(tools.len(), 12);
    assert!(tools.iter().any(|t| t.function.name == "Bash"));
    assert!(req.extra["user"]
        .as_str()
        .is_some_and(|u| u.contains("session_id")));
}

#[test]
fn claude_codes_tool_result_turn_keeps_thinking_and_breakpoints() {
    let req = request_to_openai(&claude_code("tool_result_request.raw.json")).expect("translates");
    let raw: Value = serde_json::from_slice(&claude_code("tool_result_request.raw.json")).unwrap();
    let thinking = &raw["messages"][2]["content"][0];
    let assistant = req
        .messages
        .iter()
        .find(|m| m.role == "assistant")
        .expect("assistant turn");
    assert_eq!(
        assistant.thinking_blocks.as_deref(),
        Some(&[thinking.clone()][..])
    );
    assert_eq!(
        assistant.reasoning_content.as_deref(),
        thinking["thinking"].as_str()
    );
    assert_eq!(assistant.tool_calls.as_ref().map(Vec::len), Some(1));
    let tool = req
        .messages
        .iter()
        .find(|m| m.role == "tool")
        .expect("tool result");
    let Some(Content::Parts(parts)) = &tool.content else {
        panic!("cached tool result as parts: {:?}", tool.content);
    };
    assert_eq!(
        parts.last().unwrap().extra["cache_control"],
        json!({"type": "ephemeral"})
    );
    assert_eq!(parts[0].text.as_deref(), Some("hello-from-tool"));
}
