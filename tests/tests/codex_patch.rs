//! Codex CLI's free-form `apply_patch` (a Responses `custom` tool, its input a patch in a Lark
//! grammar) through a translated route, end to end: the real `codex` binary (`$CODEX_BIN`,
//! model `gpt-5.5`, so it sends the tool) against sluice routes to a mock Anthropic and a mock
//! Gemini upstream. The tool reaches the provider as a function of one string `input`; the
//! mock calls it with a patch adding `hello.txt`; the gateway hands Codex a
//! `custom_tool_call`; Codex applies the patch in its working directory and sends a
//! `custom_tool_call_output`, which reaches the provider as the function's result; the mock
//! then answers in text.
//!
//! A recording forwarder (`Tap`, set up by `sluice_tests::codex_setup`) between Codex and the
//! gateway shows Codex's own requests. The patch format is the grammar Codex 0.171 sends in
//! the tool's `format.definition` (`providers/tests/fixtures/codex/tool_first_request.json`).

use serde_json::{json, Value};
use sluice_tests::codex::{function_tools, input_items, CodexRun};
use sluice_tests::codex_setup::{assert_call_sent_back, upstream_tools, Kind, Setup};
use sluice_tests::replies::MockUsage;

const ANTHROPIC_KEY: &str = "sk-ant-backend-key-0202";
const GEMINI_KEY: &str = "gemini-backend-key-0203";

const PROMPT: &str = "Create hello.txt containing the line: hello from sluice";
const FILE: &str = "hello.txt";
const CONTENT: &str = "hello from sluice\n";
/// An `add_hunk` in Codex's `apply_patch` grammar: `*** Begin Patch` LF, `*** Add File: `
/// filename LF, `+` lines, `*** End Patch` LF.
const PATCH: &str = "*** Begin Patch\n*** Add File: hello.txt\n+hello from sluice\n*** End Patch\n";
const ANSWER: &str = "I created hello.txt.";
const TOOLU_ID: &str = "toolu_01SluiceCodexPatch";

/// The mock's usage: for the call (`second` false) and for the answer after the patch.
/// The output tokens tell the two log lines apart.
fn usage(kind: Kind, second: bool) -> MockUsage {
    let (bump, output) = if second { (700, 8) } else { (0, 41) };
    match kind {
        Kind::Anthropic => MockUsage {
            input: 14,
            cache_read: 11_300 + bump,
            cache_creation: 1_250,
            output,
        },
        Kind::Gemini => MockUsage {
            input: 12_600 + bump,
            cache_read: 11_600,
            cache_creation: 0,
            output,
        },
        Kind::OpenAi => unreachable!("translated routes only"),
    }
}

/// The translated route to `kind` (the tests skip without Codex): the mock calls
/// `apply_patch` with the patch as the function's `input`, then answers in text.
async fn start(kind: Kind) -> Option<Setup> {
    let key = match kind {
        Kind::Anthropic => ANTHROPIC_KEY,
        Kind::Gemini => GEMINI_KEY,
        Kind::OpenAi => unreachable!("translated routes only"),
    };
    let replies = vec![
        kind.call_reply(
            TOOLU_ID,
            "apply_patch",
            &json!({"input": PATCH}),
            usage(kind, false),
        ),
        kind.text_reply(ANSWER, usage(kind, true)),
    ];
    Setup::start(kind, key, replies).await
}

/// Codex (model `gpt-5.5`, so `apply_patch` is its free-form tool) through the tap, with
/// no hosted `web_search` (refused on a translated route) and approvals off (the patch is
/// applied without asking).
async fn run_codex(s: &Setup) -> CodexRun {
    s.codex(PROMPT)
        .without_web_search()
        .full_access()
        .run()
        .await
}

/// Codex's first request sends `apply_patch` as a `custom` tool (so the test means something),
/// and the provider got it as a function whose parameters are one string, `input`.
fn assert_patch_tool_offered(kind: Kind, client: &Value, up: &Value) {
    let custom = client["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .find(|t| t["name"] == "apply_patch")
        .unwrap_or_else(|| panic!("Codex sent no apply_patch: {}", client["tools"]));
    assert_eq!(custom["type"], "custom", "{custom}");
    assert!(
        function_tools(client)
            .iter()
            .all(|(n, _)| n != "apply_patch"),
        "apply_patch is not also a function"
    );
    let tools = upstream_tools(kind, up);
    let (_, schema) = tools
        .iter()
        .find(|(name, _)| name == "apply_patch")
        .unwrap_or_else(|| panic!("apply_patch upstream: {}", up["tools"]));
    let input_type = schema["properties"]["input"]["type"]
        .as_str()
        .unwrap_or_else(|| panic!("a string `input`: {schema}"));
    assert!(input_type.eq_ignore_ascii_case("string"), "{schema}");
    assert_eq!(schema["required"], json!(["input"]), "{schema}");
}

/// Codex's second request carries the gateway's `custom_tool_call` (the patch as its
/// `input`) and Codex's `custom_tool_call_output` for it; returns that output's text.
fn codex_patch_output(client: &Value) -> String {
    let calls = input_items(client, "custom_tool_call");
    let outputs = input_items(client, "custom_tool_call_output");
    assert_eq!((calls.len(), outputs.len()), (1, 1), "{}", client["input"]);
    let (call, out) = (calls[0], outputs[0]);
    assert_eq!(call["name"], "apply_patch", "{call}");
    assert_eq!(call["input"], PATCH, "{call}");
    assert_eq!(
        out["call_id"], call["call_id"],
        "the output answers the call"
    );
    // The output is a string, or (as for some of Codex's tools) content parts.
    match &out["output"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether Codex's report of the patch says it worked.
fn says_success(text: &str) -> bool {
    text.contains("Success") && text.contains(FILE)
}

/// The second upstream request carries the call (the patch as the function's `input`) and
/// Codex's result for it, in the provider's terms; returns the result as text.
fn upstream_patch_result(kind: Kind, up: &Value) -> String {
    assert_call_sent_back(kind, up, TOOLU_ID, "apply_patch", &json!({"input": PATCH}))
}

async fn patch_run(kind: Kind) {
    let Some(s) = start(kind).await else {
        return;
    };
    let run = run_codex(&s).await;
    assert_eq!(run.final_message(), ANSWER, "{}", run.report());

    let path = run.workdir.path().join(FILE);
    let written = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", path.display(), run.report()));
    assert_eq!(written, CONTENT, "the file the patch added");
    let changes = run.items("file_change");
    assert!(
        changes.len() == 1 && changes[0]["status"] == "completed",
        "Codex reports one applied patch: {changes:?}\n{}",
        run.report()
    );

    let (client, upstream) = s.exchanged(2).await;
    assert_patch_tool_offered(kind, &client[0].json(), &upstream[0].json());
    let codex_said = codex_patch_output(&client[1].json());
    assert!(says_success(&codex_said), "Codex's report: {codex_said}");
    let provider_got = upstream_patch_result(kind, &upstream[1].json());
    assert!(
        says_success(&provider_got),
        "the provider got Codex's report: {provider_got}"
    );

    s.assert_log(usage(kind, false)).await;
    s.assert_log(usage(kind, true)).await;
}

#[tokio::test]
async fn codex_applies_a_patch_through_anthropic() {
    patch_run(Kind::Anthropic).await;
}

#[tokio::test]
async fn codex_applies_a_patch_through_gemini() {
    patch_run(Kind::Gemini).await;
}
