//! Translated: OpenAI Chat Completions, Gemini.

use serde_json::json;
use sluice_tests::claude_code::{
    assert_claude_code_shape, content_texts, system_texts, tool_names, ClaudeCode,
};
use sluice_tests::{MockUpstream, RecordedRequest};

use crate::setup::{assert_claude_usage, header, Setup};
use crate::upstreams::{
    plain_reply, usage_of, Kind, GEMINI_KEY, OPENAI_KEY, OPENAI_MODEL, SAY_HELLO,
};

/// The upstream's request is Claude Code's in the provider's terms: the whole system prompt
/// (the `system` blocks and the `role: system` message), the user's prompt, every tool as a
/// function, thinking as the provider's reasoning setting, no `cache_control`.
fn assert_translated_request(kind: Kind, client: &RecordedRequest, up: &RecordedRequest) {
    let c = client.json();
    let u = up.json();
    assert_claude_code_shape(&c, "Claude Code's request");
    let wanted_system = system_texts(&c);
    let wanted_tools = tool_names(&c);
    let effort = c["output_config"]["effort"].as_str().unwrap();
    assert!(
        !up.body_text().contains("cache_control"),
        "cache_control is Anthropic's; {} has no counterpart",
        kind.route()
    );
    match kind {
        Kind::OpenAi => {
            assert_eq!(header(up, "authorization"), format!("Bearer {OPENAI_KEY}"));
            assert_eq!(u["model"], OPENAI_MODEL);
            assert_eq!(u["stream"], true);
            assert_eq!(
                u["stream_options"]["include_usage"], true,
                "usage asked for"
            );
            let messages = u["messages"].as_array().expect("messages");
            let system: String = messages
                .iter()
                .filter(|m| m["role"] == "system" || m["role"] == "developer")
                .flat_map(|m| content_texts(&m["content"]))
                .collect::<Vec<_>>()
                .join("\n");
            for t in &wanted_system {
                assert!(
                    system.contains(t.as_str()),
                    "system text missing from the system messages: {t:.200}"
                );
            }
            let user: Vec<String> = messages
                .iter()
                .filter(|m| m["role"] == "user")
                .flat_map(|m| content_texts(&m["content"]))
                .collect();
            assert!(
                user.iter().any(|t| t.contains(SAY_HELLO)),
                "the prompt: {user:?}"
            );
            let tools = u["tools"].as_array().expect("tools");
            assert!(
                tools
                    .iter()
                    .all(|t| t["type"] == "function" && t["function"]["parameters"].is_object()),
                "{}",
                u["tools"]
            );
            let names: Vec<String> = tools
                .iter()
                .filter_map(|t| t["function"]["name"].as_str().map(str::to_string))
                .collect();
            assert_eq!(names, wanted_tools, "every tool, as a function");
            // Adaptive thinking at Claude Code's effort (`medium`): gpt-5 reasons at that effort.
            assert_eq!(
                u["reasoning_effort"], effort,
                "thinking mapped to reasoning_effort"
            );
            assert!(
                u.get("thinking").is_none() && u.get("output_config").is_none(),
                "Anthropic-only members left out"
            );
        }
        Kind::Gemini => {
            assert_eq!(header(up, "x-goog-api-key"), GEMINI_KEY);
            let system: String = u["systemInstruction"]["parts"]
                .as_array()
                .expect("systemInstruction.parts")
                .iter()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n");
            for t in &wanted_system {
                assert!(
                    system.contains(t.as_str()),
                    "system text missing from systemInstruction: {t:.200}"
                );
            }
            let user: Vec<String> = u["contents"]
                .as_array()
                .expect("contents")
                .iter()
                .filter(|c| c["role"] == "user")
                .flat_map(|c| content_texts(&c["parts"]))
                .collect();
            assert!(
                user.iter().any(|t| t.contains(SAY_HELLO)),
                "the prompt: {user:?}"
            );
            assert!(
                u["tools"][0]["functionDeclarations"].is_array(),
                "tools: {}",
                u["tools"]
            );
            let names: Vec<String> = u["tools"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|t| t["functionDeclarations"].as_array().into_iter().flatten())
                .filter_map(|f| f["name"].as_str().map(str::to_string))
                .collect();
            assert_eq!(names, wanted_tools, "every tool, as a function declaration");
            // Adaptive thinking at Claude Code's effort (`medium`) on a Gemini 2.5 model: that
            // effort's budget, and thoughts asked for (providers/src/gemini/thinking.rs).
            assert_eq!(
                u["generationConfig"]["thinkingConfig"],
                json!({"includeThoughts": true, "thinkingBudget": 8192}),
                "thinking mapped to thinkingConfig: {}",
                u["generationConfig"]
            );
        }
        _ => unreachable!("native"),
    }
}

async fn translated_plain_run(kind: Kind, provider: &str) {
    let Some(s) = Setup::start(kind, MockUpstream::start(plain_reply(kind)).await).await else {
        return;
    };
    let run = ClaudeCode::new(&s.claude_base_url(), SAY_HELLO).run().await;
    assert_eq!(run.result(), kind.answer(), "{}", run.report());
    let (client, upstream) = s.exchanged(1).await;
    assert_translated_request(kind, &client[0], &upstream[0]);
    let u = usage_of(kind);
    assert_claude_usage(&run, kind, u);
    s.assert_telemetry(provider, u).await;
}

#[tokio::test]
async fn claude_code_via_openai_translated() {
    translated_plain_run(Kind::OpenAi, "openai").await;
}

#[tokio::test]
async fn claude_code_via_gemini_translated() {
    translated_plain_run(Kind::Gemini, "gemini").await;
}
