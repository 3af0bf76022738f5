//! OpenAI's Codex CLI itself as the client, end to end: the real `codex` binary (npm
//! `@openai/codex`, pinned by `scripts/test.sh`, in `$CODEX_BIN`), run offline with a custom
//! Responses provider (`wire_api = "responses"`) whose `base_url` is a sluice route, against a
//! mock OpenAI Responses upstream (passed natively) and mock Anthropic and Gemini upstreams
//! (translated). Plus runs where the model calls Codex's shell tool (`exec_command`) and Codex
//! runs it and sends the output back.
//!
//! A recording forwarder ([`Tap`]) sits between Codex and the gateway, so every test compares
//! Codex's own request with what reached the upstream: equal as JSON to OpenAI, in the mapped
//! form to Anthropic and Gemini. Each test also checks Codex's final message and usage, and
//! the gateway's log line with the mock's tokens. What Codex 0.171 sends and needs back:
//! `providers/tests/fixtures/codex/README.md`.

use std::time::Duration;

use serde_json::{json, Value};
use sluice_tests::claude_code::{assert_same_json, content_texts};
use sluice_tests::codex::{
    assert_codex_shape, assert_tool_output_sent, codex_available, developer_texts, function_tools,
    input_items, input_texts, Codex, CodexRun, CLIENT_KEY, CODEX_MODEL,
};
use sluice_tests::replies::{anthropic_sse, anthropic_text_events, gemini_text_stream, MockUsage};
use sluice_tests::responses_replies::{
    anthropic_tool_use_events, gemini_function_call_stream, responses_function_call_stream,
    responses_text_stream,
};
use sluice_tests::tap::Tap;
use sluice_tests::{Gateway, LogLine, MockUpstream, Ports, RecordedRequest, Reply};

const WAIT: Duration = Duration::from_secs(15);

const CLAUDE_MODEL: &str = "claude-sonnet-4-5";
const GEMINI_MODEL: &str = "gemini-2.5-flash";

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

/// The upstreams Codex reaches through sluice, one route (`/<route>`) each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    OpenAi,
    Anthropic,
    Gemini,
}

impl Kind {
    /// The backend's provider, also the route's name (`/<route>`).
    fn route(self) -> &'static str {
        match self {
            Kind::OpenAi => "openai",
            Kind::Anthropic => "anthropic",
            Kind::Gemini => "gemini",
        }
    }

    /// The backend's YAML (under `backends:`, after `- name:`). No pinned model for OpenAI:
    /// the body must reach it as Codex wrote it.
    fn backend_yaml(self, base_url: &str) -> String {
        let (model, key) = match self {
            Kind::OpenAi => (String::new(), OPENAI_KEY),
            Kind::Anthropic => (format!("    model: {CLAUDE_MODEL}\n"), ANTHROPIC_KEY),
            Kind::Gemini => (format!("    model: {GEMINI_MODEL}\n"), GEMINI_KEY),
        };
        let provider = self.route();
        format!("    provider: {provider}\n{model}    apiKey: {key}\n    baseUrl: {base_url}\n")
    }

    /// The path (with query) the upstream is called on.
    fn upstream_path(self) -> &'static str {
        match self {
            Kind::OpenAi => "/v1/responses",
            Kind::Anthropic => "/v1/messages",
            Kind::Gemini => "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        }
    }

    fn answer(self) -> String {
        format!("Hello from the {} mock, through sluice.", self.route())
    }

    /// The mock's usage for its text answer (`second`: the answer after a tool's output).
    fn usage(self, second: bool) -> MockUsage {
        let bump = if second { 500 } else { 0 };
        match self {
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
    fn call_usage(self) -> MockUsage {
        MockUsage {
            output: 23,
            ..self.usage(false)
        }
    }

    /// The whole prompt, as the log line and Codex count it: Anthropic counts the cache
    /// apart, OpenAI and Gemini count it in.
    fn prompt_total(self, u: MockUsage) -> u64 {
        match self {
            Kind::Anthropic => u.input + u.cache_read + u.cache_creation,
            _ => u.input,
        }
    }

    fn text_reply(self, text: &str, u: MockUsage) -> Reply {
        match self {
            Kind::OpenAi => responses_text_stream("gpt-5.5-2026-08-07", text, u),
            Kind::Anthropic => anthropic_sse(&anthropic_text_events(CLAUDE_MODEL, text, u)),
            Kind::Gemini => gemini_text_stream(GEMINI_MODEL, text, u),
        }
    }

    /// A call of Codex's shell tool running `echo sluice-tool-ok`.
    fn shell_call_reply(self) -> Reply {
        let (args, u) = (json!({"cmd": ECHO}), self.call_usage());
        match self {
            Kind::OpenAi => responses_function_call_stream(
                "gpt-5.5-2026-08-07",
                CALL_ID,
                "exec_command",
                &args,
                u,
            ),
            Kind::Anthropic => anthropic_sse(&anthropic_tool_use_events(
                CLAUDE_MODEL,
                TOOLU_ID,
                "exec_command",
                &args,
                u,
            )),
            Kind::Gemini => gemini_function_call_stream(GEMINI_MODEL, "exec_command", &args, u),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The set-up: mock upstream, gateway, tap.

struct Setup {
    kind: Kind,
    upstream: MockUpstream,
    gw: Gateway,
    tap: Tap,
}

const CONFIG: &str = "config:
  adminAddr: {{admin}}
listeners:
  - name: http
    bind: {{listener}}
    routes:
      - name: {{route}}
        match: {pathPrefix: /{{route}}}
        backend: {{route}}
backends:
  - name: {{route}}
{{backend}}";

impl Setup {
    /// `None` when Codex is not installed and this is not CI (the test skips).
    async fn start(kind: Kind, replies: Vec<Reply>) -> Option<Setup> {
        // First, so that a missing Codex skips (or, in CI, fails) before anything starts.
        if !codex_available() {
            return None;
        }
        let upstream = MockUpstream::start(Reply::json(
            500,
            &json!({"error": {"message": "the mock ran out of answers", "type": "server_error"}}),
        ))
        .await;
        for r in replies {
            upstream.push_reply(r);
        }
        let yaml = Ports::new().render(
            CONFIG,
            &[
                ("route", kind.route()),
                ("backend", &kind.backend_yaml(&upstream.base_url())),
            ],
        );
        let gw = Gateway::builder(&yaml).start().await;
        let tap = Tap::start(&gw.base_url()).await;
        Some(Setup {
            kind,
            upstream,
            gw,
            tap,
        })
    }

    /// Codex against the route, through the tap. Natively it runs as it comes (model
    /// [`CODEX_MODEL`], all its tools). To Anthropic it still names [`CODEX_MODEL`] (the
    /// backend pins Claude), so it sends its free-form `apply_patch` (a `custom` tool) and
    /// `tool_search`; to Gemini it names the Gemini model, as its user would, and sends the
    /// `multi_agent_v1` tool namespace. Both go without the hosted `web_search`, which only
    /// OpenAI runs (sluice refuses it elsewhere).
    fn codex(&self, prompt: &str) -> Codex {
        let codex = Codex::new(
            &format!("{}/{}/v1", self.tap.base_url(), self.kind.route()),
            prompt,
        );
        match self.kind {
            Kind::OpenAi => codex,
            Kind::Anthropic => codex.without_web_search(),
            Kind::Gemini => codex.model(GEMINI_MODEL).without_web_search(),
        }
    }

    /// Codex's requests (through the tap) and the upstream's, `n` each, exactly.
    async fn exchanged(&self, n: usize) -> (Vec<RecordedRequest>, Vec<RecordedRequest>) {
        let client = self.tap.wait_for_requests(n, WAIT).await;
        let upstream = self.upstream.wait_for_requests(n, WAIT).await;
        let wanted = format!("/{}/v1/responses", self.kind.route());
        for r in &client {
            assert_eq!(
                (r.method.as_str(), r.path.as_str()),
                ("POST", wanted.as_str()),
                "Codex called only the Responses API"
            );
            assert_eq!(header(r, "authorization"), format!("Bearer {CLIENT_KEY}"));
            assert_codex_shape(&r.json(), "Codex's request");
        }
        for r in &upstream {
            assert_eq!(
                (r.method.as_str(), r.path.as_str()),
                ("POST", self.kind.upstream_path()),
                "the upstream's path"
            );
            assert!(
                r.headers.iter().all(|(_, v)| !v.contains(CLIENT_KEY)),
                "Codex's own key reached the upstream: {:?}",
                r.headers
            );
            let (name, value) = match self.kind {
                Kind::OpenAi => ("authorization", format!("Bearer {OPENAI_KEY}")),
                Kind::Anthropic => ("x-api-key", ANTHROPIC_KEY.to_string()),
                Kind::Gemini => ("x-goog-api-key", GEMINI_KEY.to_string()),
            };
            assert_eq!(header(r, name), value, "the backend's key");
        }
        assert_eq!(client.len(), n, "Codex's requests");
        assert_eq!(upstream.len(), n, "the upstream's requests");
        (client, upstream)
    }

    /// The request's log line (found by its output tokens), with the mock's usage.
    async fn assert_log(&self, u: MockUsage) -> LogLine {
        let wanted = u.output.to_string();
        let line = self
            .gw
            .wait_for_log_lines(
                |l| {
                    sluice_tests::parse_log_line(l).is_some_and(|l| {
                        l.is_request() && l.get("llm.response.tokens") == Some(wanted.as_str())
                    })
                },
                1,
                WAIT,
            )
            .await;
        let log = sluice_tests::parse_log_line(&line[0]).unwrap();
        assert_eq!(log.get("route"), Some(self.kind.route()), "{log:?}");
        assert_eq!(log.get("http.status"), Some("200"), "{log:?}");
        assert_eq!(log.get("llm.provider"), Some(self.kind.route()), "{log:?}");
        assert_eq!(
            log.get_int("llm.request.tokens"),
            Some(self.kind.prompt_total(u) as i64),
            "{log:?}"
        );
        assert_eq!(
            log.get_int("llm.response.tokens"),
            Some(u.output as i64),
            "{log:?}"
        );
        log
    }
}

fn header<'a>(r: &'a RecordedRequest, name: &str) -> &'a str {
    r.header(name)
        .unwrap_or_else(|| panic!("no {name} header in {:?}", r.headers))
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
    let (system, user, tools): (String, Vec<String>, Vec<(String, Value)>) = match kind {
        Kind::Anthropic => {
            assert_eq!(u["model"], CLAUDE_MODEL);
            assert_eq!(u["stream"], true, "streamed");
            assert!(
                u["max_tokens"].as_u64().is_some_and(|n| n > 0),
                "max_tokens (Anthropic requires it): {}",
                u["max_tokens"]
            );
            let user = u["messages"]
                .as_array()
                .expect("messages")
                .iter()
                .filter(|m| m["role"] == "user")
                .flat_map(|m| content_texts(&m["content"]))
                .collect();
            let tools = u["tools"]
                .as_array()
                .expect("tools")
                .iter()
                .filter_map(|t| Some((t["name"].as_str()?.to_string(), t["input_schema"].clone())))
                .collect();
            (content_texts(&u["system"]).join("\n"), user, tools)
        }
        Kind::Gemini => {
            let user = u["contents"]
                .as_array()
                .expect("contents")
                .iter()
                .filter(|c| c["role"] == "user")
                .flat_map(|c| content_texts(&c["parts"]))
                .collect();
            let tools = u["tools"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|t| t["functionDeclarations"].as_array().into_iter().flatten())
                .filter_map(|f| Some((f["name"].as_str()?.to_string(), Value::Null)))
                .collect();
            let system = content_texts(&u["systemInstruction"]["parts"]).join("\n");
            (system, user, tools)
        }
        Kind::OpenAi => unreachable!("native"),
    };
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
    let u = kind.usage(false);
    let Some(s) = Setup::start(kind, vec![kind.text_reply(&kind.answer(), u)]).await else {
        return;
    };
    let run = s.codex(SAY_HELLO).run().await;
    assert_eq!(run.final_message(), kind.answer(), "{}", run.report());
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
    match kind {
        Kind::OpenAi => assert_eq!(codex_call_id, CALL_ID, "the mock's call_id kept"),
        Kind::Anthropic => {
            let messages = up["messages"].as_array().expect("messages");
            let at = messages
                .iter()
                .position(|m| {
                    m["role"] == "assistant"
                        && m["content"]
                            .as_array()
                            .is_some_and(|b| b.iter().any(|b| b["type"] == "tool_use"))
                })
                .unwrap_or_else(|| {
                    panic!("the assistant's tool_use sent back: {}", up["messages"])
                });
            let tool_use = messages[at]["content"]
                .as_array()
                .unwrap()
                .iter()
                .find(|b| b["type"] == "tool_use")
                .unwrap();
            assert_eq!(tool_use["id"], TOOLU_ID);
            assert_eq!(tool_use["name"], "exec_command");
            assert_eq!(tool_use["input"], json!({"cmd": ECHO}));
            let next = messages
                .get(at + 1)
                .expect("a user turn after the tool_use");
            assert_eq!(next["role"], "user", "{next}");
            let result = &next["content"][0];
            assert_eq!(
                result["type"], "tool_result",
                "the result comes first: {next}"
            );
            assert_eq!(result["tool_use_id"], TOOLU_ID);
            assert!(
                result["content"].to_string().contains(TOOL_OUTPUT),
                "the command's output: {result}"
            );
        }
        Kind::Gemini => {
            let contents = up["contents"].as_array().expect("contents");
            let part = |key: &str| {
                contents
                    .iter()
                    .flat_map(|c| c["parts"].as_array().into_iter().flatten())
                    .find(|p| p.get(key).is_some())
                    .unwrap_or_else(|| panic!("a {key} part: {}", up["contents"]))
                    .clone()
            };
            let call = part("functionCall");
            assert_eq!(call["functionCall"]["name"], "exec_command");
            assert_eq!(call["functionCall"]["args"], json!({"cmd": ECHO}));
            let response = part("functionResponse");
            assert_eq!(response["functionResponse"]["name"], "exec_command");
            assert!(
                response["functionResponse"]["response"]
                    .to_string()
                    .contains(TOOL_OUTPUT),
                "the command's output: {response}"
            );
        }
    }
}

async fn tool_run(kind: Kind) {
    let (first, second) = (kind.call_usage(), kind.usage(true));
    let replies = vec![
        kind.shell_call_reply(),
        kind.text_reply(TOOL_ANSWER, second),
    ];
    let Some(s) = Setup::start(kind, replies).await else {
        return;
    };
    let run = s.codex(RUN_ECHO).full_access().run().await;
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
