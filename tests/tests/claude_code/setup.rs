//! The set-up: mock upstream, OTLP receiver, gateway, tap; and the checks every run shares
//! (the exchange, the telemetry, Claude Code's usage).

use std::time::Duration;

use serde_json::json;
use sluice_tests::claude_code::{claude_available, claude_bin, ClaudeRun, CLIENT_KEY};
use sluice_tests::replies::MockUsage;
use sluice_tests::tap::Tap;
use sluice_tests::{Gateway, LogLine, MockUpstream, OtlpReceiver, Ports, RecordedRequest};

use crate::upstreams::{prompt_total, Kind, AWS_KEY_ID, AWS_SECRET};

const WAIT: Duration = Duration::from_secs(15);

pub(crate) struct Setup {
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
    pub(crate) async fn start(kind: Kind, upstream: MockUpstream) -> Option<Setup> {
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
    pub(crate) fn claude_base_url(&self) -> String {
        format!("{}/{}", self.tap.base_url(), self.kind.route())
    }

    /// Claude Code's requests (through the tap) and the upstream's, `n` each, exactly.
    pub(crate) async fn exchanged(&self, n: usize) -> (Vec<RecordedRequest>, Vec<RecordedRequest>) {
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
    pub(crate) async fn assert_telemetry(&self, provider: &str, u: MockUsage) -> LogLine {
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
pub(crate) fn assert_claude_usage(run: &ClaudeRun, kind: Kind, u: MockUsage) {
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

pub(crate) fn header<'a>(r: &'a RecordedRequest, name: &str) -> &'a str {
    r.header(name)
        .unwrap_or_else(|| panic!("no {name} header in {:?}", r.headers))
}
