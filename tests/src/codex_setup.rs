//! The set-up the Codex CLI end-to-end tests share (`tests/tests/codex.rs`,
//! `tests/tests/codex_patch.rs`): one route to one mock upstream ([`Kind`]: OpenAI natively,
//! Anthropic and Gemini translated), the gateway, and a recording [`Tap`] between Codex and
//! the gateway ([`Setup`]); the checks every run makes on the requests both sides saw and on
//! the gateway's log line; the mocks' answers in each provider's wire format; and reading a
//! tool's call and result back out of a translated request.
//!
//! What differs between the test files stays there: the backend's key (passed to
//! [`Setup::start`]), the queued answers and their usage, the prompts and the assertions.

use std::time::Duration;

use serde_json::{json, Value};

use crate::codex::{assert_codex_shape, codex_available, Codex, CLIENT_KEY};
use crate::replies::{anthropic_sse, anthropic_text_events, gemini_text_stream, MockUsage};
use crate::responses_replies::{
    anthropic_tool_use_events, gemini_function_call_stream, responses_function_call_stream,
    responses_text_stream,
};
use crate::tap::Tap;
use crate::{parse_log_line, Gateway, LogLine, MockUpstream, RecordedRequest, Reply};

/// How long a test waits for requests and log lines.
pub const WAIT: Duration = Duration::from_secs(15);

/// The model the Anthropic backend pins, and its mock names.
pub const CLAUDE_MODEL: &str = "claude-sonnet-4-5";
/// The model the Gemini backend pins, and its mock names.
pub const GEMINI_MODEL: &str = "gemini-2.5-flash";
/// The model the OpenAI mock names in its answers (Codex asks for `gpt-5.5`).
pub const OPENAI_ANSWER_MODEL: &str = "gpt-5.5-2026-08-07";

/// The route `/<route>` to the backend, after [`Gateway::start_with_routes`]'s listener.
const ROUTE: &str = "      - name: {{route}}
        match: {pathPrefix: /{{route}}}
        backend: {{route}}
backends:
{{backend}}";

/// The upstreams Codex reaches through sluice, one route (`/<route>`) each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    OpenAi,
    Anthropic,
    Gemini,
}

impl Kind {
    /// The backend's provider, also the route's name (`/<route>`).
    pub fn route(self) -> &'static str {
        match self {
            Kind::OpenAi => "openai",
            Kind::Anthropic => "anthropic",
            Kind::Gemini => "gemini",
        }
    }

    /// The backend's YAML (an item of `backends:`, named as the route), with its `key`. No
    /// pinned model for OpenAI: the body must reach it as Codex wrote it.
    fn backend_yaml(self, base_url: &str, key: &str) -> String {
        let model = match self {
            Kind::OpenAi => String::new(),
            Kind::Anthropic => format!("    model: {CLAUDE_MODEL}\n"),
            Kind::Gemini => format!("    model: {GEMINI_MODEL}\n"),
        };
        let provider = self.route();
        format!(
            "  - name: {provider}\n    provider: {provider}\n{model}    apiKey: {key}\n    \
             baseUrl: {base_url}\n"
        )
    }

    /// The header the upstream gets the backend's `key` in, and its value.
    fn key_header(self, key: &str) -> (&'static str, String) {
        match self {
            Kind::OpenAi => ("authorization", format!("Bearer {key}")),
            Kind::Anthropic => ("x-api-key", key.to_string()),
            Kind::Gemini => ("x-goog-api-key", key.to_string()),
        }
    }

    /// The path (with query) the upstream is called on.
    pub fn upstream_path(self) -> &'static str {
        match self {
            Kind::OpenAi => "/v1/responses",
            Kind::Anthropic => "/v1/messages",
            Kind::Gemini => "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        }
    }

    /// The whole prompt, as the log line and Codex count it: Anthropic counts the cache
    /// apart, OpenAI and Gemini count it in.
    pub fn prompt_total(self, u: MockUsage) -> u64 {
        match self {
            Kind::Anthropic => u.input + u.cache_read + u.cache_creation,
            Kind::OpenAi | Kind::Gemini => u.input,
        }
    }

    /// The mock's streamed text answer, with usage `u`.
    pub fn text_reply(self, text: &str, u: MockUsage) -> Reply {
        match self {
            Kind::OpenAi => responses_text_stream(OPENAI_ANSWER_MODEL, text, u),
            Kind::Anthropic => anthropic_sse(&anthropic_text_events(CLAUDE_MODEL, text, u)),
            Kind::Gemini => gemini_text_stream(GEMINI_MODEL, text, u),
        }
    }

    /// The mock's streamed call of the function `name` with `args`, with usage `u`; `id` is
    /// the call's id (OpenAI's `call_id`, Anthropic's `tool_use` id; Gemini's calls have none).
    pub fn call_reply(self, id: &str, name: &str, args: &Value, u: MockUsage) -> Reply {
        match self {
            Kind::OpenAi => responses_function_call_stream(OPENAI_ANSWER_MODEL, id, name, args, u),
            Kind::Anthropic => {
                anthropic_sse(&anthropic_tool_use_events(CLAUDE_MODEL, id, name, args, u))
            }
            Kind::Gemini => gemini_function_call_stream(GEMINI_MODEL, name, args, u),
        }
    }
}

/// A mock upstream of one [`Kind`] with queued answers, the gateway with one route to it,
/// and a [`Tap`] in front of the gateway for Codex to call.
pub struct Setup {
    pub kind: Kind,
    /// The backend's key, which the upstream must get (and never Codex's own).
    pub key: &'static str,
    pub upstream: MockUpstream,
    pub gw: Gateway,
    pub tap: Tap,
}

impl Setup {
    /// Starts the mock (answering `replies` in turn, then a 500), the gateway (backend key
    /// `key`) and the tap; `None` when Codex is not installed and this is not CI (the test
    /// skips).
    pub async fn start(kind: Kind, key: &'static str, replies: Vec<Reply>) -> Option<Setup> {
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
        let backend = kind.backend_yaml(&upstream.base_url(), key);
        let vars = [("route", kind.route()), ("backend", backend.as_str())];
        let gw = Gateway::start_with_routes(ROUTE, &vars).await;
        let tap = Tap::start(&gw.base_url()).await;
        Some(Setup {
            kind,
            key,
            upstream,
            gw,
            tap,
        })
    }

    /// Codex (model [`crate::codex::CODEX_MODEL`], all its tools) against the route, through
    /// the tap.
    pub fn codex(&self, prompt: &str) -> Codex {
        Codex::new(
            &format!("{}/{}/v1", self.tap.base_url(), self.kind.route()),
            prompt,
        )
    }

    /// Codex's requests (through the tap) and the upstream's, `n` each, exactly: Codex's on
    /// the Responses API with its key and its usual shape, the upstream's on the provider's
    /// path with the backend's key and never Codex's.
    pub async fn exchanged(&self, n: usize) -> (Vec<RecordedRequest>, Vec<RecordedRequest>) {
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
        let (key_header, key) = self.kind.key_header(self.key);
        let wanted = ("POST", self.kind.upstream_path(), key.as_str());
        for r in &upstream {
            let got = (r.method.as_str(), r.path.as_str(), header(r, key_header));
            assert_eq!(got, wanted, "the upstream's method, path and backend key");
            let leaked = r.headers.iter().any(|(_, v)| v.contains(CLIENT_KEY));
            assert!(
                !leaked,
                "Codex's own key reached the upstream: {:?}",
                r.headers
            );
        }
        assert_eq!(client.len(), n, "Codex's requests");
        assert_eq!(upstream.len(), n, "the upstream's requests");
        (client, upstream)
    }

    /// The log line of the answer with `u`'s output tokens (waited for): route, status,
    /// provider and the mock's token counts.
    pub async fn assert_log(&self, u: MockUsage) -> LogLine {
        let wanted = u.output.to_string();
        let answer_line = |l: &str| {
            parse_log_line(l).is_some_and(|l| {
                l.is_request() && l.get("llm.response.tokens") == Some(wanted.as_str())
            })
        };
        let lines = self.gw.wait_for_log_lines(answer_line, 1, WAIT).await;
        let log = parse_log_line(&lines[0]).expect("a request log line");
        let route = self.kind.route();
        for (key, value) in [
            ("route", route),
            ("http.status", "200"),
            ("llm.provider", route),
        ] {
            assert_eq!(log.get(key), Some(value), "{key}: {log:?}");
        }
        let tokens = (
            Some(self.kind.prompt_total(u) as i64),
            Some(u.output as i64),
        );
        assert_eq!(
            (
                log.get_int("llm.request.tokens"),
                log.get_int("llm.response.tokens")
            ),
            tokens,
            "(llm.request.tokens, llm.response.tokens): {log:?}"
        );
        log
    }
}

fn header<'a>(r: &'a RecordedRequest, name: &str) -> &'a str {
    r.header(name)
        .unwrap_or_else(|| panic!("no {name} header in {:?}", r.headers))
}

/// A translated request's tools (`up`, the body the provider got): each function's name and
/// parameters schema (Anthropic's `input_schema`, Gemini's `parameters`).
pub fn upstream_tools(kind: Kind, up: &Value) -> Vec<(String, Value)> {
    let named =
        |f: &Value, schema: &str| Some((f["name"].as_str()?.to_string(), f[schema].clone()));
    match kind {
        Kind::Anthropic => up["tools"]
            .as_array()
            .expect("tools")
            .iter()
            .filter_map(|t| named(t, "input_schema"))
            .collect(),
        Kind::Gemini => up["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|t| t["functionDeclarations"].as_array().into_iter().flatten())
            .filter_map(|f| named(f, "parameters"))
            .collect(),
        Kind::OpenAi => unreachable!("native: Codex's own tools"),
    }
}

/// The model's call of `name` with `args` and Codex's result for it, as the next translated
/// request (`up`) hands them back to the provider: Anthropic's `tool_use` (id `toolu_id`) in
/// an assistant turn and, first in the user turn right after it, its `tool_result`; Gemini's
/// `functionCall` and `functionResponse` parts. Returns the result's content as JSON text.
pub fn assert_call_sent_back(
    kind: Kind,
    up: &Value,
    toolu_id: &str,
    name: &str,
    args: &Value,
) -> String {
    match kind {
        Kind::Anthropic => {
            let messages = up["messages"].as_array().expect("messages");
            let tool_use_of = |m: &Value| {
                let blocks = m["content"].as_array()?;
                blocks.iter().find(|b| b["type"] == "tool_use").cloned()
            };
            let (at, tool_use) = messages
                .iter()
                .enumerate()
                .filter(|(_, m)| m["role"] == "assistant")
                .find_map(|(at, m)| Some((at, tool_use_of(m)?)))
                .unwrap_or_else(|| {
                    panic!("the assistant's tool_use sent back: {}", up["messages"])
                });
            assert_eq!(tool_use["id"], toolu_id);
            assert_eq!(tool_use["name"], name);
            assert_eq!(&tool_use["input"], args);
            let next = messages
                .get(at + 1)
                .expect("a user turn after the tool_use");
            let result = &next["content"][0];
            assert_eq!(
                (next["role"].as_str(), result["type"].as_str()),
                (Some("user"), Some("tool_result")),
                "the result comes first: {next}"
            );
            assert_eq!(result["tool_use_id"], toolu_id);
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
            assert_eq!(call["name"], name);
            assert_eq!(&call["args"], args);
            let response = part("functionResponse");
            assert_eq!(response["name"], name);
            response["response"].to_string()
        }
        Kind::OpenAi => unreachable!("native: Codex's own items"),
    }
}
