//! Claude Code itself as the client, end to end: the real `claude` CLI (npm
//! `@anthropic-ai/claude-code`, pinned by `scripts/test.sh`, binary in `$CLAUDE_BIN`), run
//! offline with `ANTHROPIC_BASE_URL` at a sluice route, against a mock of each upstream:
//! Anthropic, Claude on Vertex AI and Claude on Bedrock (the Messages request passed natively)
//! and OpenAI and Gemini (translated). Plus one run where the model calls Claude Code's Bash
//! tool and Claude Code sends the result back.
//!
//! A recording forwarder ([`Tap`]) sits between Claude Code and the gateway, so every test
//! compares Claude Code's own request with what reached the upstream: byte for byte to
//! Anthropic, equal but for the documented edits to Vertex and Bedrock
//! (`providers/src/front/messages/native.rs`), and in the mapped form for OpenAI and Gemini.
//! Each test also checks Claude Code's answer (`result` of `--output-format json`), its usage,
//! and the gateway's log line and OTLP span with the mock's cache tokens.

use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Value};
use sluice_providers::bedrock::eventstream::encode_event;
use sluice_tests::claude_code::{
    assert_claude_code_shape, assert_same_json, claude_available, claude_bin, content_texts,
    system_texts, tool_names, ClaudeCode, ClaudeRun, CLIENT_KEY,
};
use sluice_tests::replies::{
    anthropic_sse, anthropic_text_events, aws_event_stream, bedrock_chunk_payload,
    gemini_text_stream, openai_text_stream, sse_text, MockUsage,
};
use sluice_tests::tap::Tap;
use sluice_tests::{Gateway, LogLine, MockUpstream, OtlpReceiver, Ports, RecordedRequest, Reply};

const WAIT: Duration = Duration::from_secs(15);

/// Claude Code 2.1.332's default model, which it names in every request.
const CLAUDE_MODEL: &str = "claude-opus-5-5";
const VERTEX_MODEL: &str = "claude-opus-5-5@20260101";
const BEDROCK_MODEL: &str = "us.anthropic.claude-opus-5-5-v1:0";
const OPENAI_MODEL: &str = "gpt-5";
const GEMINI_MODEL: &str = "gemini-2.5-flash";

const ANTHROPIC_KEY: &str = "sk-ant-backend-key-0002";
const VERTEX_TOKEN: &str = "ya29.vertex-static-token";
const OPENAI_KEY: &str = "sk-openai-backend-key-0003";
const GEMINI_KEY: &str = "gemini-backend-key-0004";
const AWS_KEY_ID: &str = "AKIDCLAUDECODETEST";
const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

const SAY_HELLO: &str = "Say hello";

/// The upstreams Claude Code reaches through sluice, one route (`/<route>`) each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Anthropic,
    Vertex,
    Bedrock,
    OpenAi,
    Gemini,
}

impl Kind {
    fn route(self) -> &'static str {
        match self {
            Kind::Anthropic => "anthropic",
            Kind::Vertex => "vertex",
            Kind::Bedrock => "bedrock",
            Kind::OpenAi => "openai",
            Kind::Gemini => "gemini",
        }
    }

    /// The backend's YAML (under `backends:`, after `- name:`).
    fn backend_yaml(self, base_url: &str) -> String {
        match self {
            // No pinned model: the body must reach Anthropic untouched.
            Kind::Anthropic => {
                format!("    provider: anthropic\n    apiKey: {ANTHROPIC_KEY}\n    baseUrl: {base_url}\n")
            }
            Kind::Vertex => format!(
                "    provider: vertex\n    model: {VERTEX_MODEL}\n    project: sluice-test\n    location: us-east5\n    apiKey: {VERTEX_TOKEN}\n    baseUrl: {base_url}\n"
            ),
            Kind::Bedrock => format!(
                "    provider: bedrock\n    model: {BEDROCK_MODEL}\n    region: us-east-1\n    baseUrl: {base_url}\n"
            ),
            Kind::OpenAi => format!(
                "    provider: openai\n    model: {OPENAI_MODEL}\n    apiKey: {OPENAI_KEY}\n    baseUrl: {base_url}\n"
            ),
            Kind::Gemini => format!(
                "    provider: gemini\n    model: {GEMINI_MODEL}\n    apiKey: {GEMINI_KEY}\n    baseUrl: {base_url}\n"
            ),
        }
    }

    /// The path (with query) the upstream is called on.
    fn upstream_path(self) -> &'static str {
        match self {
            Kind::Anthropic => "/v1/messages?beta=true",
            Kind::Vertex => "/v1/projects/sluice-test/locations/us-east5/publishers/anthropic/models/claude-opus-5-5@20260101:streamRawPredict",
            Kind::Bedrock => "/model/us.anthropic.claude-opus-5-5-v1%3A0/invoke-with-response-stream",
            Kind::OpenAi => "/v1/chat/completions",
            Kind::Gemini => "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        }
    }

    fn answer(self) -> String {
        format!("Hello from the {} mock, through sluice.", self.route())
    }
}

/// The prompt's tokens in all, as the log line and span count them: Anthropic's counts the
/// cache apart, OpenAI's and Gemini's count it in.
fn prompt_total(u: MockUsage, kind: Kind) -> u64 {
    match kind {
        Kind::OpenAi | Kind::Gemini => u.input,
        _ => u.input + u.cache_read + u.cache_creation,
    }
}

fn usage_of(kind: Kind) -> MockUsage {
    match kind {
        Kind::Anthropic => MockUsage {
            input: 12,
            cache_read: 11_286,
            cache_creation: 1_243,
            output: 9,
        },
        Kind::Vertex => MockUsage {
            input: 14,
            cache_read: 10_500,
            cache_creation: 1_800,
            output: 11,
        },
        Kind::Bedrock => MockUsage {
            input: 16,
            cache_read: 9_700,
            cache_creation: 2_600,
            output: 13,
        },
        // Cached reads only: neither API reports cache writes.
        Kind::OpenAi => MockUsage {
            input: 12_000,
            cache_read: 11_000,
            cache_creation: 0,
            output: 9,
        },
        Kind::Gemini => MockUsage {
            input: 12_500,
            cache_read: 11_500,
            cache_creation: 0,
            output: 10,
        },
    }
}

// ---------------------------------------------------------------------------------------------
// The mock upstreams' answers (see `sluice_tests::replies`).

fn plain_reply(kind: Kind) -> Reply {
    let (text, u) = (kind.answer(), usage_of(kind));
    match kind {
        Kind::Anthropic | Kind::Vertex => {
            anthropic_sse(&anthropic_text_events(CLAUDE_MODEL, &text, u))
        }
        Kind::Bedrock => bedrock_stream(&anthropic_text_events(CLAUDE_MODEL, &text, u)),
        Kind::OpenAi => openai_text_stream("gpt-5-2025-08-07", &text, u),
        Kind::Gemini => gemini_text_stream(GEMINI_MODEL, &text, u),
    }
}

/// `InvokeModelWithResponseStream`: one AWS event-stream `chunk` per Anthropic event, and
/// Bedrock's own metrics on `message_stop` (which the gateway leaves out).
fn bedrock_stream(events: &[Value]) -> Reply {
    let frames = events
        .iter()
        .map(|e| {
            let mut e = e.clone();
            if e["type"] == "message_stop" {
                e["amazon-bedrock-invocationMetrics"] = json!({"inputTokenCount": 16,
                    "outputTokenCount": 13, "invocationLatency": 120, "firstByteLatency": 40});
            }
            Bytes::from(encode_event("chunk", &bedrock_chunk_payload(&e)))
        })
        .collect();
    aws_event_stream(frames)
}

fn fixture(name: &str) -> String {
    let path = sluice_tests::gateway::workspace_dir()
        .join("providers/tests/fixtures/claude_code")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// The set-up: mock upstream, OTLP receiver, gateway, tap.

struct Setup {
    kind: Kind,
    upstream: MockUpstream,
    otlp: OtlpReceiver,
    gw: Gateway,
    tap: Tap,
}

const CONFIG: &str = "config:
  adminAddr: {{admin}}
  tracing:
    otlpEndpoint: {{otlp}}
    otlpProtocol: grpc
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
    /// `None` when Claude Code is not installed and this is not CI (the test skips).
    async fn start(kind: Kind, upstream: MockUpstream) -> Option<Setup> {
        // First, so that a missing Claude Code skips (or, in CI, fails) the test before
        // anything starts.
        if !claude_available() {
            return None;
        }
        claude_bin();
        let otlp = OtlpReceiver::start_grpc().await;
        let yaml = Ports::new().render(
            CONFIG,
            &[
                ("otlp", &otlp.endpoint()),
                ("route", kind.route()),
                ("backend", &kind.backend_yaml(&upstream.base_url())),
            ],
        );
        let mut builder = Gateway::builder(&yaml);
        if kind == Kind::Bedrock {
            builder = builder
                .env("AWS_ACCESS_KEY_ID", AWS_KEY_ID)
                .env("AWS_SECRET_ACCESS_KEY", AWS_SECRET);
        }
        let gw = builder.start().await;
        let tap = Tap::start(&gw.base_url()).await;
        Some(Setup {
            kind,
            upstream,
            otlp,
            gw,
            tap,
        })
    }

    /// `ANTHROPIC_BASE_URL` for Claude Code: the route, through the tap.
    fn claude_base_url(&self) -> String {
        format!("{}/{}", self.tap.base_url(), self.kind.route())
    }

    /// Claude Code's requests (through the tap) and the upstream's, `n` each, exactly.
    async fn exchanged(&self, n: usize) -> (Vec<RecordedRequest>, Vec<RecordedRequest>) {
        let client = self.tap.wait_for_requests(n, WAIT).await;
        let upstream = self.upstream.wait_for_requests(n, WAIT).await;
        let route = self.kind.route();
        for r in &client {
            assert_eq!(
                (r.method.as_str(), r.path.as_str()),
                ("POST", format!("/{route}/v1/messages?beta=true").as_str()),
                "Claude Code called only the Messages API"
            );
        }
        for r in &upstream {
            assert_eq!(
                (r.method.as_str(), r.path.as_str()),
                ("POST", self.kind.upstream_path()),
                "the upstream's path"
            );
            assert!(
                r.headers.iter().all(|(_, v)| !v.contains(CLIENT_KEY)),
                "Claude Code's own key reached the upstream: {:?}",
                r.headers
            );
        }
        assert_eq!(client.len(), n, "Claude Code's requests");
        assert_eq!(
            upstream.len(),
            n,
            "upstream requests: {:?}",
            paths(&upstream)
        );
        (client, upstream)
    }

    /// The request's log line (found by its output tokens) and span, with the mock's usage.
    async fn assert_telemetry(&self, provider: &str, u: MockUsage) -> LogLine {
        let route = self.kind.route();
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
        assert_eq!(log.get("route"), Some(route), "{log:?}");
        assert_eq!(log.get("http.status"), Some("200"), "{log:?}");
        assert_eq!(log.get("llm.provider"), Some(provider), "{log:?}");
        assert_eq!(
            log.get_int("llm.request.tokens"),
            Some(prompt_total(u, self.kind) as i64),
            "llm.request.tokens counts cache reads and writes: {log:?}"
        );
        assert_eq!(
            log.get_int("llm.response.tokens"),
            Some(u.output as i64),
            "{log:?}"
        );

        let output = u.output as i64;
        let span = self
            .otlp
            .wait_for_spans_matching(1, WAIT, |s| {
                s.str_attr("route") == Some(route)
                    && s.int_attr("gen_ai.usage.output_tokens") == Some(output)
            })
            .await
            .remove(0);
        assert_eq!(
            span.trace_id,
            log.get("trace.id").unwrap_or_default(),
            "the log line's trace"
        );
        let attrs = format!("{:#?}", span.attributes);
        assert_eq!(
            span.int_attr("gen_ai.usage.input_tokens"),
            Some(prompt_total(u, self.kind) as i64),
            "{attrs}"
        );
        assert_eq!(
            span.int_attr("gen_ai.usage.cache_read.input_tokens"),
            Some(u.cache_read as i64),
            "{attrs}"
        );
        if u.cache_creation > 0 {
            assert_eq!(
                span.int_attr("gen_ai.usage.cache_creation.input_tokens"),
                Some(u.cache_creation as i64),
                "{attrs}"
            );
        }
        log
    }
}

fn paths(rs: &[RecordedRequest]) -> Vec<&str> {
    rs.iter().map(|r| r.path.as_str()).collect()
}

/// Claude Code's usage for a run of one request, as the mock reported it (translated back
/// into Anthropic's terms for OpenAI and Gemini, where the prompt counts the cached part).
fn assert_claude_usage(run: &ClaudeRun, kind: Kind, u: MockUsage) {
    let got = run.usage();
    let input = match kind {
        Kind::OpenAi | Kind::Gemini => u.input - u.cache_read,
        _ => u.input,
    };
    assert_eq!(
        (
            &got["input_tokens"],
            &got["cache_read_input_tokens"],
            &got["cache_creation_input_tokens"],
            &got["output_tokens"]
        ),
        (
            &json!(input),
            &json!(u.cache_read),
            &json!(u.cache_creation),
            &json!(u.output)
        ),
        "Claude Code's usage (input, cache read, cache creation, output)\n{}",
        run.report()
    );
}

fn header<'a>(r: &'a RecordedRequest, name: &str) -> &'a str {
    r.header(name)
        .unwrap_or_else(|| panic!("no {name} header in {:?}", r.headers))
}

// ---------------------------------------------------------------------------------------------
// Native: Anthropic, Claude on Vertex, Claude on Bedrock.

/// The upstream's request against Claude Code's: the same body but for `kind`'s documented
/// edits, the headers the provider wants.
fn assert_native_request(kind: Kind, client: &RecordedRequest, up: &RecordedRequest) {
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

// ---------------------------------------------------------------------------------------------
// Translated: OpenAI Chat Completions, Gemini.

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

// ---------------------------------------------------------------------------------------------
// A tool round trip.

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
