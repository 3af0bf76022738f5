//! OpenAI's Codex CLI itself as the client, end to end: the real `codex` binary (npm
//! `@openai/codex`, pinned by `scripts/test.sh`, in `$CODEX_BIN`), run offline with a custom
//! Responses provider (`wire_api = "responses"`) whose `base_url` is a sluice route, against a
//! mock OpenAI Responses upstream (passed natively) and mock Anthropic and Gemini upstreams
//! (translated). Plus runs where the model calls Codex's shell tool (`exec_command`) and Codex
//! runs it and sends the output back.
//!
//! A recording forwarder (`Tap`, set up by `sluice_tests::codex_setup`) sits between Codex and
//! the gateway, so every test compares Codex's own request with what reached the upstream:
//! equal as JSON to OpenAI, in the mapped form to Anthropic and Gemini. Each test also checks
//! Codex's final message and usage, and the gateway's log line with the mock's tokens. What
//! Codex 0.171 sends and needs back: `providers/tests/fixtures/codex/README.md`.

use serde_json::{json, Value};
use sluice_tests::claude_code::{assert_same_json, content_texts};
use sluice_tests::codex::{
    assert_tool_output_sent, developer_texts, function_tools, input_items, input_texts, Codex,
    CodexRun, CODEX_MODEL,
};
use sluice_tests::codex_setup::{
    assert_call_sent_back, upstream_tools, Kind, Setup, CLAUDE_MODEL, GEMINI_MODEL,
};
use sluice_tests::replies::MockUsage;
use sluice_tests::RecordedRequest;

const OPENAI_KEY: &str = "sk-openai-backend-key-0101";
const ANTHROPIC_KEY: &str = "sk-ant-backend-key-0102";
const GEMINI_KEY: &str = "gemini-backend-key-0103";

const SAY_HELLO: &str = "Say hello";
const RUN_ECHO: &str = "Run echo sluice-tool-ok and tell me the output";
const TOOL_OUTPUT: &str = "sluice-tool-ok";
const ECHO: &str = "echo sluice-tool-ok";
const TOOL_ANSWER: &str = "The command printed: sluice-tool-ok";
const CALL_ID: &str = "call_sluice_0001";
const TOOLU_ID: &str = "toolu_01SluiceCodexShell";

// ---------------------------------------------------------------------------------------------
// The set-up (`sluice_tests::codex_setup`), with this file's keys and answers.

async fn start(kind: Kind, replies: Vec<sluice_tests::Reply>) -> Option<Setup> {
    let key = match kind {
        Kind::OpenAi => OPENAI_KEY,
        Kind::Anthropic => ANTHROPIC_KEY,
        Kind::Gemini => GEMINI_KEY,
    };
    Setup::start(kind, key, replies).await
}

fn answer(kind: Kind) -> String {
    format!("Hello from the {} mock, through sluice.", kind.route())
}

/// The mock's usage for its text answer (`second`: the answer after a tool's output).
fn usage(kind: Kind, second: bool) -> MockUsage {
    let bump = if second { 500 } else { 0 };
    match kind {
        Kind::OpenAi => MockUsage {
            input: 12_400 + bump,
            cache_read: 11_000,
            cache_creation: 0,
            output: 9,
        },
        Kind::Anthropic => MockUsage {
            input: 12,
            cache_read: 11_286 + bump,
            cache_creation: 1_243,
            output: 11,
        },
        Kind::Gemini => MockUsage {
            input: 12_500 + bump,
            cache_read: 11_500,
            cache_creation: 0,
            output: 10,
        },
    }
}

/// The mock's usage for its function call (the output tokens tell its log line apart).
fn call_usage(kind: Kind) -> MockUsage {
    MockUsage {
        output: 23,
        ..usage(kind, false)
    }
}

/// Codex against the route, through the tap. Natively it runs as it comes (model
/// [`CODEX_MODEL`], all its tools). To Anthropic it still names [`CODEX_MODEL`] (the
/// backend pins Claude), so it sends its free-form `apply_patch` (a `custom` tool) and
/// `tool_search`; to Gemini it names the Gemini model, as its user would, and sends the
/// `multi_agent_v1` tool namespace. Both go without the hosted `web_search`, which only
/// OpenAI runs (sluice refuses it elsewhere).
fn codex(s: &Setup, prompt: &str) -> Codex {
    match s.kind {
        Kind::OpenAi => s.codex(prompt),
        Kind::Anthropic => s.codex(prompt).without_web_search(),
        Kind::Gemini => s.codex(prompt).model(GEMINI_MODEL).without_web_search(),
    }
}

/// Codex's usage for the run: the mock's, summed over its answers, in Responses terms (the
/// whole prompt as `input_tokens`, the cache reads as `cached_input_tokens`).
fn assert_codex_usage(run: &CodexRun, kind: Kind, answers: &[MockUsage]) {
    let sum = |f: fn(Kind, &MockUsage) -> u64| answers.iter().map(|u| f(kind, u)).sum::<u64>();
    let wanted = (
        sum(|k, u| k.prompt_total(*u)),
        sum(|_, u| u.cache_read),
        sum(|_, u| u.output),
    );
    assert_eq!(
        run.token_counts(),
        wanted,
        "Codex's usage (input, cached, output)\n{}",
        run.report()
    );
}

// ---------------------------------------------------------------------------------------------
// What reached the upstream.

/// The upstream's request against Codex's: native to OpenAI, translated to the others.
fn assert_request(kind: Kind, client: &RecordedRequest, up: &RecordedRequest, prompt: &str) {
    match kind {
        Kind::OpenAi => assert_native_request(client, up),
        _ => assert_translated_request(kind, client, up, prompt),
    }
}

/// Native: the upstream got exactly Codex's body (as JSON; nothing to edit, no pinned model).
fn assert_native_request(client: &RecordedRequest, up: &RecordedRequest) {
    let (c, u) = (client.json(), up.json());
    assert_eq!(c["model"], CODEX_MODEL, "Codex's model");
    assert_same_json(&u, &c, "OpenAI's body against Codex's");
    // Spelled out, though the comparison covers them: what a native route must keep.
    for member in [
        "input",
        "tools",
        "store",
        "include",
        "prompt_cache_key",
        "reasoning",
        "model",
    ] {
        assert_eq!(u[member], c[member], "{member} intact");
    }
}

/// Translated: Codex's request in the provider's terms: its developer messages as the system
/// prompt, its prompt as a user turn, its function tools as the provider's tools, streamed.
fn assert_translated_request(
    kind: Kind,
    client: &RecordedRequest,
    up: &RecordedRequest,
    prompt: &str,
) {
    let (c, u) = (client.json(), up.json());
    // Where the provider keeps its turns, their texts, and the system prompt.
    let (turns, texts, system) = match kind {
        Kind::Anthropic => {
            assert_eq!(u["model"], CLAUDE_MODEL);
            assert_eq!(u["stream"], true, "streamed");
            assert!(
                u["max_tokens"].as_u64().is_some_and(|n| n > 0),
                "max_tokens (Anthropic requires it): {}",
                u["max_tokens"]
            );
            ("messages", "content", &u["system"])
        }
        Kind::Gemini => ("contents", "parts", &u["systemInstruction"]["parts"]),
        Kind::OpenAi => unreachable!("native"),
    };
    let system = content_texts(system).join("\n");
    let user: Vec<String> = u[turns]
        .as_array()
        .expect(turns)
        .iter()
        .filter(|t| t["role"] == "user")
        .flat_map(|t| content_texts(&t[texts]))
        .collect();
    for t in developer_texts(&c) {
        assert!(
            system.contains(t.as_str()),
            "Codex's developer text missing from the system prompt: {t:.200}"
        );
    }
    assert!(
        user.iter().any(|t| t.contains(prompt)),
        "the prompt among the user turns: {user:?}"
    );
    let tools = upstream_tools(kind, &u);
    let names: Vec<&str> = tools.iter().map(|(n, _)| n.as_str()).collect();
    for (name, params) in function_tools(&c) {
        let (_, schema) = tools
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("Codex's tool {name} missing upstream: {names:?}"));
        if kind == Kind::Anthropic {
            assert_eq!(schema, &params, "{name}'s schema as input_schema");
        }
    }
    assert_other_tools_mapped(kind, &c, &tools);
    for member in [
        "input",
        "store",
        "include",
        "prompt_cache_key",
        "client_metadata",
    ] {
        assert!(
            u.get(member).is_none(),
            "the Responses-only `{member}` left out"
        );
    }
}

/// Codex's tools that are not plain functions, as the provider got them: a `custom` tool
/// (`apply_patch`) as a function of one string `input`, a namespace's functions as
/// `<namespace>__<name>`, no `tool_search` (its deferred tools are all offered), and no
/// hosted `web_search` (disabled in Codex for a translated route).
fn assert_other_tools_mapped(kind: Kind, c: &Value, upstream: &[(String, Value)]) {
    let find = |name: &str| {
        upstream
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, schema)| schema)
    };
    let mut others = 0;
    for tool in c["tools"].as_array().expect("tools") {
        match tool["type"].as_str() {
            Some("custom") => {
                others += 1;
                let name = tool["name"].as_str().expect("name");
                let schema = find(name).unwrap_or_else(|| panic!("custom tool {name} upstream"));
                if kind == Kind::Anthropic {
                    assert_eq!(schema["properties"]["input"]["type"], "string", "{schema}");
                }
            }
            Some("namespace") => {
                others += 1;
                let ns = tool["name"].as_str().expect("namespace name");
                for inner in tool["tools"].as_array().expect("namespace tools") {
                    let name = format!("{ns}__{}", inner["name"].as_str().expect("name"));
                    assert!(find(&name).is_some(), "{name} upstream");
                }
            }
            Some("tool_search") => {
                others += 1;
                assert!(find("tool_search").is_none(), "tool_search left out");
            }
            Some("function") => {}
            other => panic!("Codex sent a tool a translated route refuses: {other:?}"),
        }
    }
    assert!(
        others > 0,
        "Codex sent only plain functions: nothing else was checked"
    );
}

// ---------------------------------------------------------------------------------------------
// One answer: "Say hello".

async fn plain_run(kind: Kind) {
    let u = usage(kind, false);
    let Some(s) = start(kind, vec![kind.text_reply(&answer(kind), u)]).await else {
        return;
    };
    let run = codex(&s, SAY_HELLO).run().await;
    assert_eq!(run.final_message(), answer(kind), "{}", run.report());
    let (client, upstream) = s.exchanged(1).await;
    assert_eq!(
        input_texts(&client[0].json(), "user")
            .last()
            .map(String::as_str),
        Some(SAY_HELLO)
    );
    assert_request(kind, &client[0], &upstream[0], SAY_HELLO);
    assert_codex_usage(&run, kind, &[u]);
    let log = s.assert_log(u).await;
    if kind == Kind::OpenAi {
        assert_eq!(log.get("llm.request.model"), Some(CODEX_MODEL), "{log:?}");
    }
}

#[tokio::test]
async fn codex_via_openai_native() {
    plain_run(Kind::OpenAi).await;
}

#[tokio::test]
async fn codex_via_anthropic_translated() {
    plain_run(Kind::Anthropic).await;
}

#[tokio::test]
async fn codex_via_gemini_translated() {
    plain_run(Kind::Gemini).await;
}

// ---------------------------------------------------------------------------------------------
// A tool round trip: the model calls `exec_command`, Codex runs it and sends the output back.

/// The second upstream request carries the call and its result in the provider's terms.
fn assert_upstream_got_the_output(kind: Kind, up: &Value, codex_call_id: &str) {
    if kind == Kind::OpenAi {
        assert_eq!(codex_call_id, CALL_ID, "the mock's call_id kept");
        return;
    }
    let args = json!({"cmd": ECHO});
    let result = assert_call_sent_back(kind, up, TOOLU_ID, "exec_command", &args);
    assert!(
        result.contains(TOOL_OUTPUT),
        "the command's output: {result}"
    );
}

async fn tool_run(kind: Kind) {
    let (first, second) = (call_usage(kind), usage(kind, true));
    // A call of Codex's shell tool running `echo sluice-tool-ok`, then the last word.
    let id = if kind == Kind::OpenAi {
        CALL_ID
    } else {
        TOOLU_ID
    };
    let replies = vec![
        kind.call_reply(id, "exec_command", &json!({"cmd": ECHO}), first),
        kind.text_reply(TOOL_ANSWER, second),
    ];
    let Some(s) = start(kind, replies).await else {
        return;
    };
    let run = codex(&s, RUN_ECHO).full_access().run().await;
    assert_eq!(run.final_message(), TOOL_ANSWER, "{}", run.report());
    let commands = run.items("command_execution");
    assert!(
        commands.len() == 1
            && commands[0]["exit_code"] == 0
            && commands[0]["aggregated_output"]
                .as_str()
                .is_some_and(|o| o.trim() == TOOL_OUTPUT),
        "Codex ran the command once: {commands:?}\n{}",
        run.report()
    );

    let (client, upstream) = s.exchanged(2).await;
    let c2 = client[1].json();
    assert_tool_output_sent(&c2, "exec_command", ECHO, TOOL_OUTPUT);
    for (c, u) in client.iter().zip(&upstream) {
        assert_request(kind, c, u, RUN_ECHO);
    }
    let call_id = input_items(&c2, "function_call")[0]["call_id"]
        .as_str()
        .expect("call_id")
        .to_string();
    assert_upstream_got_the_output(kind, &upstream[1].json(), &call_id);

    assert_codex_usage(&run, kind, &[first, second]);
    s.assert_log(first).await;
    s.assert_log(second).await;
}

#[tokio::test]
async fn codex_runs_a_tool_through_openai_native() {
    tool_run(Kind::OpenAi).await;
}

#[tokio::test]
async fn codex_runs_a_tool_through_anthropic() {
    tool_run(Kind::Anthropic).await;
}

#[tokio::test]
async fn codex_runs_a_tool_through_gemini() {
    tool_run(Kind::Gemini).await;
}
