//! A tool round trip: the model calls Claude Code's Bash tool and gets the result back.

use serde_json::{json, Value};
use sluice_tests::claude_code::{content_texts, ClaudeCode};
use sluice_tests::replies::{sse_text, MockUsage};
use sluice_tests::{MockUpstream, Reply};

use crate::native::assert_native_request;
use crate::setup::Setup;
use crate::upstreams::Kind;

fn fixture(name: &str) -> String {
    let path = sluice_tests::gateway::workspace_dir()
        .join("providers/tests/fixtures/claude_code")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The thinking text and signature a captured stream carries.
fn thinking_of(sse: &str) -> (String, String) {
    let (mut thinking, mut signature) = (String::new(), String::new());
    for data in sluice_tests::http::sse_data(sse) {
        let v: Value = serde_json::from_str(&data).unwrap();
        match v["delta"]["type"].as_str() {
            Some("thinking_delta") => thinking.push_str(v["delta"]["thinking"].as_str().unwrap()),
            Some("signature_delta") => {
                signature.push_str(v["delta"]["signature"].as_str().unwrap())
            }
            _ => {}
        }
    }
    (thinking, signature)
}

/// The model thinks (with a signature) and calls Bash; Claude Code runs it and sends the
/// thinking block back unchanged with the tool's result; the second answer is the last word.
#[tokio::test]
async fn claude_code_runs_a_tool_through_anthropic() {
    let first = fixture("thinking_tool_stream.sse");
    let second = fixture("text_stream.sse");
    let upstream = MockUpstream::start(Reply::json(
        500,
        &json!({"type": "error", "error": {"type": "api_error", "message": "the mock expected two requests"}}),
    ))
    .await;
    upstream.push_reply(sse_text(&first));
    upstream.push_reply(sse_text(&second));
    let Some(s) = Setup::start(Kind::Anthropic, upstream).await else {
        return;
    };

    let run = ClaudeCode::new(
        &s.claude_base_url(),
        "Run echo hello-from-tool with Bash and tell me the output",
    )
    .skip_permissions()
    .run()
    .await;
    assert_eq!(
        run.result(),
        "The command printed: hello-from-tool",
        "{}",
        run.report()
    );
    assert_eq!(
        run.output.as_ref().unwrap()["num_turns"],
        2,
        "{}",
        run.report()
    );

    let (client, upstream) = s.exchanged(2).await;
    for (c, u) in client.iter().zip(&upstream) {
        assert_native_request(Kind::Anthropic, c, u);
    }
    let body = upstream[1].json();
    let messages = body["messages"].as_array().unwrap();
    let (thinking, signature) = thinking_of(&first);
    let assistant = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "assistant")
        .expect("the assistant's turn sent back");
    assert_eq!(
        assistant["content"][0],
        json!({"type": "thinking", "thinking": thinking, "signature": signature}),
        "the thinking block, signature unchanged"
    );
    let tool_use = &assistant["content"][1];
    assert_eq!(tool_use["type"], "tool_use");
    assert_eq!(tool_use["name"], "Bash");
    assert_eq!(tool_use["input"]["command"], "echo hello-from-tool");
    let last = messages.last().unwrap();
    assert_eq!(last["role"], "user");
    let result = last["content"]
        .as_array()
        .and_then(|blocks| blocks.iter().find(|b| b["type"] == "tool_result"))
        .unwrap_or_else(|| panic!("a tool_result in the last turn: {last}"));
    assert_eq!(result["tool_use_id"], tool_use["id"]);
    assert!(
        content_texts(&result["content"])
            .iter()
            .any(|t| t.trim() == "hello-from-tool"),
        "the tool's output: {result}"
    );
    assert_eq!(result["is_error"], false);

    // Both calls logged and traced with their usage: the first writes the cache, the second
    // reads it (the numbers of the captured streams).
    s.assert_telemetry(
        "anthropic",
        MockUsage {
            input: 8,
            cache_read: 0,
            cache_creation: 12_355,
            output: 88,
        },
    )
    .await;
    s.assert_telemetry(
        "anthropic",
        MockUsage {
            input: 12,
            cache_read: 11_286,
            cache_creation: 1_243,
            output: 9,
        },
    )
    .await;
}
