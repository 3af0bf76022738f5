//! Native: Anthropic, Claude on Vertex, Claude on Bedrock.

use serde_json::json;
use sluice_tests::claude_code::{assert_claude_code_shape, assert_same_json, ClaudeCode};
use sluice_tests::{MockUpstream, RecordedRequest};

use crate::setup::{assert_claude_usage, header, Setup};
use crate::upstreams::{
    plain_reply, usage_of, Kind, ANTHROPIC_KEY, AWS_KEY_ID, CLAUDE_MODEL, SAY_HELLO, VERTEX_TOKEN,
};

/// The upstream's request against Claude Code's: the same body but for `kind`'s documented
/// edits, the headers the provider wants.
pub(crate) fn assert_native_request(kind: Kind, client: &RecordedRequest, up: &RecordedRequest) {
    let c = client.json();
    let u = up.json();
    assert_claude_code_shape(&c, "Claude Code's request");
    assert_eq!(c["model"], CLAUDE_MODEL, "Claude Code's model");
    assert_eq!(c["stream"], true, "Claude Code always streams");
    let beta = header(client, "anthropic-beta");
    match kind {
        Kind::Anthropic => {
            // Nothing to edit (no pinned model): the very bytes Claude Code sent.
            if up.body != client.body {
                assert_same_json(&u, &c, "Anthropic's body against Claude Code's");
                panic!("same JSON, different bytes: the body was re-serialized");
            }
            assert_eq!(header(up, "x-api-key"), ANTHROPIC_KEY, "the backend's key");
            assert_eq!(
                header(up, "anthropic-version"),
                header(client, "anthropic-version")
            );
            assert_eq!(
                header(up, "anthropic-beta"),
                beta,
                "anthropic-beta forwarded"
            );
        }
        Kind::Vertex => {
            let mut expected = c.clone();
            let obj = expected.as_object_mut().unwrap();
            obj.remove("model");
            obj.insert("anthropic_version".into(), json!("vertex-2023-10-16"));
            assert_same_json(&u, &expected, "Vertex's body against Claude Code's, edited");
            assert_eq!(
                header(up, "authorization"),
                format!("Bearer {VERTEX_TOKEN}"),
                "the backend's token"
            );
            // Claude Code 2.1.332's betas that Vertex serves, under its names; its first-party
            // ones (`claude-code-20250219`, ...) would be refused
            // (providers/src/front/messages/betas.rs).
            assert_eq!(
                header(up, "anthropic-beta"),
                "interleaved-thinking-2025-05-14,context-management-2025-06-27,\
                 per-turn-control-2026-07-01,tool-search-tool-2025-10-19",
                "the betas Vertex serves, of {beta}"
            );
            assert!(up.header("x-api-key").is_none(), "{:?}", up.headers);
        }
        Kind::Bedrock => {
            let mut expected = c.clone();
            let obj = expected.as_object_mut().unwrap();
            obj.remove("model");
            obj.remove("stream");
            obj.insert("anthropic_version".into(), json!("bedrock-2023-05-31"));
            // The betas Bedrock serves, of Claude Code's (providers/src/front/messages/betas.rs).
            assert!(beta.contains("claude-code-20250219"), "{beta}");
            obj.insert(
                "anthropic_beta".into(),
                json!([
                    "context-management-2025-06-27",
                    "mid-conversation-tool-changes-2026-07-01",
                    "tool-search-tool-2025-10-19",
                    "effort-2025-11-24"
                ]),
            );
            assert_same_json(
                &u,
                &expected,
                "Bedrock's body against Claude Code's, edited",
            );
            let auth = header(up, "authorization");
            assert!(
                auth.starts_with(&format!("AWS4-HMAC-SHA256 Credential={AWS_KEY_ID}/"))
                    && auth.contains("/us-east-1/bedrock/aws4_request"),
                "SigV4-signed: {auth}"
            );
            assert!(up.header("x-amz-date").is_some(), "{:?}", up.headers);
            assert!(up.header("x-api-key").is_none(), "{:?}", up.headers);
        }
        Kind::OpenAi | Kind::Gemini => unreachable!("translated"),
    }
    // Spelled out, though the comparison above covers them: what a native route must keep.
    assert_claude_code_shape(&u, "the upstream's request");
    for member in [
        "system",
        "thinking",
        "context_management",
        "output_config",
        "messages",
        "tools",
    ] {
        assert_eq!(u[member], c[member], "{member} intact");
    }
}

async fn native_plain_run(kind: Kind, provider: &str) {
    let Some(s) = Setup::start(kind, MockUpstream::start(plain_reply(kind)).await).await else {
        return;
    };
    let run = ClaudeCode::new(&s.claude_base_url(), SAY_HELLO).run().await;
    assert_eq!(run.result(), kind.answer(), "{}", run.report());
    let (client, upstream) = s.exchanged(1).await;
    assert_native_request(kind, &client[0], &upstream[0]);
    let u = usage_of(kind);
    assert_claude_usage(&run, kind, u);
    let log = s.assert_telemetry(provider, u).await;
    assert_eq!(log.get("llm.response.model"), Some(CLAUDE_MODEL), "{log:?}");
}

#[tokio::test]
async fn claude_code_via_anthropic() {
    native_plain_run(Kind::Anthropic, "anthropic").await;
}

#[tokio::test]
async fn claude_code_via_vertex_claude() {
    native_plain_run(Kind::Vertex, "vertex").await;
}

#[tokio::test]
async fn claude_code_via_bedrock_claude() {
    native_plain_run(Kind::Bedrock, "bedrock").await;
}
