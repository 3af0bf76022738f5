//! Codex CLI's free-form `apply_patch` (a Responses `custom` tool, its input a patch in a Lark
//! grammar) through a translated route, end to end: the real `codex` binary (`$CODEX_BIN`,
//! model `gpt-5.5`, so it sends the tool) against sluice routes to a mock Anthropic and a mock
//! Gemini upstream. The tool reaches the provider as a function of one string `input`; the
//! mock calls it with a patch adding `hello.txt`; the gateway hands Codex a
//! `custom_tool_call`; Codex applies the patch in its working directory and sends a
//! `custom_tool_call_output`, which reaches the provider as the function's result; the mock
//! then answers in text.
//!
//! A recording forwarder ([`Tap`]) between Codex and the gateway shows Codex's own requests.
//! The patch format is the grammar Codex 0.171 sends in the tool's `format.definition`
//! (`providers/tests/fixtures/codex/tool_first_request.json`).

use std::time::Duration;

use serde_json::{json, Value};
use sluice_tests::codex::{
    codex_available, function_tools, input_items, Codex, CodexRun, CLIENT_KEY,
};
use sluice_tests::replies::{anthropic_sse, anthropic_text_events, gemini_text_stream, MockUsage};
use sluice_tests::responses_replies::{anthropic_tool_use_events, gemini_function_call_stream};
use sluice_tests::tap::Tap;
use sluice_tests::{Gateway, MockUpstream, Ports, RecordedRequest, Reply};

const WAIT: Duration = Duration::from_secs(15);

const CLAUDE_MODEL: &str = "claude-sonnet-4-5";
const GEMINI_MODEL: &str = "gemini-2.5-flash";
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

/// The translated upstreams, one route (`/<route>`) each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Anthropic,
    Gemini,
}

impl Kind {
    /// The backend's provider, also the route's name.
    fn route(self) -> &'static str {
        match self {
            Kind::Anthropic => "anthropic",
            Kind::Gemini => "gemini",
        }
    }

    /// The backend's YAML (under `backends:`, after `- name:`): a pinned model.
    fn backend_yaml(self, base_url: &str) -> String {
        let (model, key) = match self {
            Kind::Anthropic => (CLAUDE_MODEL, ANTHROPIC_KEY),
            Kind::Gemini => (GEMINI_MODEL, GEMINI_KEY),
        };
        format!(
            "    provider: {}\n    model: {model}\n    apiKey: {key}\n    baseUrl: {base_url}\n",
            self.route()
        )
    }

    fn upstream_path(self) -> &'static str {
        match self {
            Kind::Anthropic => "/v1/messages",
            Kind::Gemini => "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        }
    }

    /// The mock's usage: for the call (`second` false) and for the answer after the patch.
    /// The output tokens tell the two log lines apart.
    fn usage(self, second: bool) -> MockUsage {
        let (bump, output) = if second { (700, 8) } else { (0, 41) };
        match self {
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
        }
    }

    /// The whole prompt as the log line counts it (Anthropic counts the cache apart).
    fn prompt_total(self, u: MockUsage) -> u64 {
        match self {
            Kind::Anthropic => u.input + u.cache_read + u.cache_creation,
            Kind::Gemini => u.input,
        }
    }

    /// The model's call of `apply_patch` with the patch as the function's `input`.
    fn patch_call_reply(self) -> Reply {
        let (args, u) = (json!({"input": PATCH}), self.usage(false));
        match self {
            Kind::Anthropic => anthropic_sse(&anthropic_tool_use_events(
                CLAUDE_MODEL,
                TOOLU_ID,
                "apply_patch",
                &args,
                u,
            )),
            Kind::Gemini => gemini_function_call_stream(GEMINI_MODEL, "apply_patch", &args, u),
        }
    }

    fn answer_reply(self) -> Reply {
        let u = self.usage(true);
        match self {
            Kind::Anthropic => anthropic_sse(&anthropic_text_events(CLAUDE_MODEL, ANSWER, u)),
            Kind::Gemini => gemini_text_stream(GEMINI_MODEL, ANSWER, u),
        }
    }
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

struct Setup {
    kind: Kind,
    upstream: MockUpstream,
    gw: Gateway,
    tap: Tap,
}

impl Setup {
    /// `None` when Codex is not installed and this is not CI (the test skips).
    async fn start(kind: Kind) -> Option<Setup> {
        if !codex_available() {
            return None;
        }
        let upstream = MockUpstream::start(Reply::json(
            500,
            &json!({"error": {"message": "the mock ran out of answers", "type": "server_error"}}),
        ))
        .await;
        upstream.push_reply(kind.patch_call_reply());
        upstream.push_reply(kind.answer_reply());
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

    /// Codex (model `gpt-5.5`, so `apply_patch` is its free-form tool) through the tap, with
    /// no hosted `web_search` (refused on a translated route) and approvals off (the patch is
    /// applied without asking).
    async fn run_codex(&self) -> CodexRun {
        let base_url = format!("{}/{}/v1", self.tap.base_url(), self.kind.route());
        Codex::new(&base_url, PROMPT)
            .without_web_search()
            .full_access()
            .run()
            .await
    }

    /// Codex's two requests and the upstream's two, on their paths.
    async fn exchanged(&self) -> (Vec<RecordedRequest>, Vec<RecordedRequest>) {
        let client = self.tap.wait_for_requests(2, WAIT).await;
        let upstream = self.upstream.wait_for_requests(2, WAIT).await;
        let wanted = format!("/{}/v1/responses", self.kind.route());
        assert!(
            client.iter().all(|r| r.path == wanted),
            "Codex called only the Responses API"
        );
        assert!(
            upstream.iter().all(|r| r.path == self.kind.upstream_path()),
            "the upstream's paths"
        );
        let (key_header, key) = match self.kind {
            Kind::Anthropic => ("x-api-key", ANTHROPIC_KEY),
            Kind::Gemini => ("x-goog-api-key", GEMINI_KEY),
        };
        for r in &upstream {
            assert!(
                r.headers.iter().all(|(_, v)| !v.contains(CLIENT_KEY)),
                "Codex's own key reached the upstream: {:?}",
                r.headers
            );
            assert_eq!(r.header(key_header), Some(key), "the backend's key");
        }
        assert_eq!(
            (client.len(), upstream.len()),
            (2, 2),
            "one call, one answer"
        );
        (client, upstream)
    }

    /// The log line of the answer with `u`'s output tokens: the mock's counts.
    async fn assert_log(&self, u: MockUsage) {
        let wanted = u.output.to_string();
        let lines = self
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
        let log = sluice_tests::parse_log_line(&lines[0]).unwrap();
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
    }
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
    let schema = match kind {
        Kind::Anthropic => up["tools"]
            .as_array()
            .expect("tools")
            .iter()
            .find(|t| t["name"] == "apply_patch")
            .unwrap_or_else(|| panic!("apply_patch upstream: {}", up["tools"]))["input_schema"]
            .clone(),
        Kind::Gemini => up["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|t| t["functionDeclarations"].as_array().into_iter().flatten())
            .find(|f| f["name"] == "apply_patch")
            .unwrap_or_else(|| panic!("apply_patch upstream: {}", up["tools"]))["parameters"]
            .clone(),
    };
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
    match kind {
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
                .unwrap_or_else(|| panic!("the tool_use sent back: {}", up["messages"]));
            let tool_use = messages[at]["content"]
                .as_array()
                .unwrap()
                .iter()
                .find(|b| b["type"] == "tool_use")
                .unwrap();
            assert_eq!(tool_use["id"], TOOLU_ID);
            assert_eq!(tool_use["name"], "apply_patch");
            assert_eq!(tool_use["input"], json!({"input": PATCH}));
            let next = messages
                .get(at + 1)
                .expect("a user turn after the tool_use");
            let result = &next["content"][0];
            assert_eq!(
                (next["role"].as_str(), result["type"].as_str()),
                (Some("user"), Some("tool_result")),
                "the result comes first: {next}"
            );
            assert_eq!(result["tool_use_id"], TOOLU_ID);
            result["content"].to_string()
        }
        Kind::Gemini => {
            let part = |key: &str| {
                up["contents"]
                    .as_array()
                    .expect("contents")
                    .iter()
                    .flat_map(|c| c["parts"].as_array().into_iter().flatten())
                    .find(|p| p.get(key).is_some())
                    .unwrap_or_else(|| panic!("a {key} part: {}", up["contents"]))[key]
                    .clone()
            };
            let call = part("functionCall");
            assert_eq!(call["name"], "apply_patch");
            assert_eq!(call["args"], json!({"input": PATCH}));
            let response = part("functionResponse");
            assert_eq!(response["name"], "apply_patch");
            response["response"].to_string()
        }
    }
}

async fn patch_run(kind: Kind) {
    let Some(s) = Setup::start(kind).await else {
        return;
    };
    let run = s.run_codex().await;
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

    let (client, upstream) = s.exchanged().await;
    assert_patch_tool_offered(kind, &client[0].json(), &upstream[0].json());
    let codex_said = codex_patch_output(&client[1].json());
    assert!(says_success(&codex_said), "Codex's report: {codex_said}");
    let provider_got = upstream_patch_result(kind, &upstream[1].json());
    assert!(
        says_success(&provider_got),
        "the provider got Codex's report: {provider_got}"
    );

    s.assert_log(kind.usage(false)).await;
    s.assert_log(kind.usage(true)).await;
}

#[tokio::test]
async fn codex_applies_a_patch_through_anthropic() {
    patch_run(Kind::Anthropic).await;
}

#[tokio::test]
async fn codex_applies_a_patch_through_gemini() {
    patch_run(Kind::Gemini).await;
}
