//! `/metrics` on the admin address: GenAI histograms agree with the request log lines, request
//! and error counters, and the OTLP counters after a dead collector.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use sluice_tests::http::{chunks_text, get, post_json, post_json_streaming};
use sluice_tests::{free_port, poll_until, Gateway, LogLine, MockUpstream, Ports, Reply};

const WAIT: Duration = Duration::from_secs(10);

const CONFIG: &str = r#"
config:
  adminAddr: {{admin}}
  {{tracing}}
listeners:
  - name: http
    bind: {{listener}}
    routes:
      - name: slow
        match: {pathPrefix: /slow}
        backend: slow
      - name: limited
        match: {pathPrefix: /limited}
        backend: limited
      - name: mock
        match: {pathPrefix: /}
        backend: mock
backends:
  - name: slow
    provider: openai
    apiKey: sk-test
    baseUrl: {{slow}}/v1
  - name: limited
    provider: openai
    apiKey: sk-test
    baseUrl: {{limited}}/v1
  - name: mock
    provider: mock
    model: mock-1
"#;

async fn start(slow: &str, limited: &str, tracing: &str) -> Gateway {
    let yaml = Ports::new().render(
        CONFIG,
        &[("slow", slow), ("limited", limited), ("tracing", tracing)],
    );
    Gateway::builder(&yaml).start().await
}

fn chat(content: &str, stream: bool) -> serde_json::Value {
    json!({"model": "gpt-4o-mini", "stream": stream,
           "messages": [{"role": "user", "content": content}]})
}

/// One sample of the exposition: name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the OpenMetrics/Prometheus text exposition (enough of it for these tests).
fn parse(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, labels, rest) = match line.find('{') {
            Some(open) => {
                let close = line.rfind('}').expect("closing brace");
                (
                    &line[..open],
                    parse_labels(&line[open + 1..close]),
                    &line[close + 1..],
                )
            }
            None => {
                let sp = line.find(' ').expect("a value");
                (&line[..sp], BTreeMap::new(), &line[sp..])
            }
        };
        let value = rest.split_whitespace().next().expect("a value");
        let value = match value {
            "+Inf" => f64::INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        out.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    out
}

fn parse_labels(s: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = s;
    while !rest.is_empty() {
        let eq = rest.find('=').expect("label =");
        let key = rest[..eq].trim_start_matches(',').to_string();
        let mut value = String::new();
        let mut chars = rest[eq + 2..].char_indices();
        let mut end = 0;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, e)) = chars.next() {
                        value.push(if e == 'n' { '\n' } else { e });
                    }
                }
                '"' => {
                    end = eq + 2 + i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        labels.insert(key, value);
        rest = &rest[end..];
    }
    labels
}

/// Sum of the samples named `name` whose labels include every pair of `want`.
fn sum(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            want.iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

async fn scrape(gw: &Gateway) -> (String, Vec<Sample>) {
    let r = get(&format!("{}/metrics", gw.admin_url())).await;
    assert_eq!(r.status, 200);
    let ct = r.header("content-type").unwrap_or_default().to_string();
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    let text = r.text();
    assert!(text.ends_with("# EOF\n"), "{text}");
    let samples = parse(&text);
    (text, samples)
}

/// Scrapes until `ready` holds (metrics are recorded as the request's log line is written).
async fn scrape_until(gw: &Gateway, ready: impl Fn(&[Sample]) -> bool) -> (String, Vec<Sample>) {
    let got = poll_until(WAIT, Duration::from_millis(50), || async {
        let (text, samples) = scrape(gw).await;
        ready(&samples).then_some((text, samples))
    })
    .await;
    match got {
        Some(got) => got,
        None => {
            let (text, _) = scrape(gw).await;
            panic!("metrics never got ready:\n{text}")
        }
    }
}

fn tokens(logs: &[LogLine], key: &str) -> (f64, f64) {
    let values: Vec<i64> = logs.iter().filter_map(|l| l.get_int(key)).collect();
    (values.iter().sum::<i64>() as f64, values.len() as f64)
}

#[tokio::test]
async fn metrics_agree_with_the_request_logs() {
    let slow = MockUpstream::start(Reply::openai_words(40, Duration::from_millis(50))).await;
    let limited = MockUpstream::start(Reply::json(
        429,
        &json!({"error": {"message": "Rate limit reached", "type": "rate_limit_error"}}),
    ))
    .await;
    let gw = start(&slow.base_url(), &limited.base_url(), "").await;
    let base = gw.base_url();

    // A plain and a streamed answer from the mock backend.
    let plain = post_json(
        &format!("{base}/v1/chat/completions"),
        &chat("hello there", false),
        &[],
    )
    .await;
    assert_eq!(plain.status, 200, "{}", plain.text());
    let streamed = post_json_streaming(
        &format!("{base}/v1/chat/completions"),
        &chat("tell me a story", true),
        &[],
    )
    .await;
    assert_eq!(streamed.status, 200);
    streamed.collect_chunks().await;

    // A stream the client leaves after a few chunks.
    let mut s = post_json_streaming(
        &format!("{base}/slow/v1/chat/completions"),
        &chat("hi", true),
        &[],
    )
    .await;
    assert_eq!(s.status, 200);
    let mut seen = 0;
    while seen < 3 {
        match s.next_chunk().await {
            Some(Ok(_)) => seen += 1,
            other => panic!("stream ended early: {other:?}"),
        }
    }
    drop(s);

    // An upstream that rate-limits.
    let r = post_json(
        &format!("{base}/limited/v1/chat/completions"),
        &chat("hi", false),
        &[],
    )
    .await;
    assert_eq!(r.status, 429);

    let logs = gw.wait_for_request_logs(4, WAIT).await;
    assert_eq!(logs.len(), 4, "{logs:?}");
    let aborted = logs
        .iter()
        .find(|l| l.get("error").unwrap_or("").contains("client disconnected"))
        .unwrap_or_else(|| panic!("no aborted stream in {logs:?}"));
    assert!(aborted.get_int("llm.response.tokens").unwrap_or(0) >= 2);

    let (text, m) = scrape_until(&gw, |m| {
        // The in-flight count drops a moment after the log line, when the request ends.
        sum(m, "sluice_requests_total", &[]) >= 4.0
            && sum(m, "sluice_requests_in_flight", &[]) == 0.0
    })
    .await;

    // Token usage: the histograms' sums and counts are the log lines' tokens.
    let (input, input_n) = tokens(&logs, "llm.request.tokens");
    let (output, output_n) = tokens(&logs, "llm.response.tokens");
    assert!(input > 0.0 && output > 0.0, "{logs:?}");
    let usage = |suffix: &str, kind: &str| {
        sum(
            &m,
            &format!("gen_ai_client_token_usage_{suffix}"),
            &[("gen_ai_token_type", kind)],
        )
    };
    assert_eq!(usage("sum", "input"), input, "{text}");
    assert_eq!(usage("sum", "output"), output, "{text}");
    assert_eq!(usage("count", "input"), input_n, "{text}");
    assert_eq!(usage("count", "output"), output_n, "{text}");
    // Per label set, too: the aborted stream's output tokens under its route and models.
    let out = aborted.get_int("llm.response.tokens").unwrap() as f64;
    assert_eq!(
        sum(
            &m,
            "gen_ai_client_token_usage_sum",
            &[
                ("route", "slow"),
                ("gen_ai_provider_name", aborted.get("llm.provider").unwrap()),
                ("gen_ai_request_model", "gpt-4o-mini"),
                ("gen_ai_token_type", "output"),
            ],
        ),
        out,
        "{text}"
    );
    // Every bucket line set ends at +Inf with the count.
    assert_eq!(
        sum(
            &m,
            "gen_ai_client_token_usage_bucket",
            &[("gen_ai_token_type", "input"), ("le", "+Inf")]
        ),
        input_n
    );

    // Requests by status; the rate limit and the disconnect are counted as such.
    assert_eq!(
        sum(&m, "sluice_requests_total", &[("status", "200")]),
        3.0,
        "{text}"
    );
    assert_eq!(
        sum(
            &m,
            "sluice_requests_total",
            &[("status", "429"), ("route", "limited")]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        sum(
            &m,
            "sluice_upstream_errors_total",
            &[("route", "limited"), ("kind", "rate_limited")]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        sum(&m, "sluice_client_disconnects_total", &[("route", "slow")]),
        1.0,
        "{text}"
    );

    // Durations: one per LLM request; failures carry their error type.
    assert_eq!(
        sum(&m, "gen_ai_client_operation_duration_seconds_count", &[]),
        4.0,
        "{text}"
    );
    assert_eq!(
        sum(
            &m,
            "gen_ai_client_operation_duration_seconds_count",
            &[("error_type", "client_disconnected")]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        sum(
            &m,
            "gen_ai_client_operation_duration_seconds_count",
            &[("error_type", "rate_limited")]
        ),
        1.0,
        "{text}"
    );

    // Streams: time to first token for both, time per output token too (≥ 2 tokens each).
    assert_eq!(
        sum(&m, "gen_ai_server_time_to_first_token_seconds_count", &[]),
        2.0,
        "{text}"
    );
    assert_eq!(
        sum(
            &m,
            "gen_ai_server_time_to_first_token_seconds_count",
            &[("route", "slow")]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        sum(&m, "gen_ai_server_time_per_output_token_seconds_count", &[]),
        2.0,
        "{text}"
    );

    assert_eq!(sum(&m, "sluice_requests_in_flight", &[]), 0.0, "{text}");
    assert_eq!(
        sum(&m, "sluice_otlp_spans_dropped_total", &[]),
        0.0,
        "{text}"
    );
}

#[tokio::test]
async fn a_dead_collector_shows_in_the_otlp_counters() {
    let unused = MockUpstream::start(Reply::text(500, "unused")).await;
    let tracing = format!(
        "tracing: {{otlpEndpoint: 'http://127.0.0.1:{}', otlpProtocol: grpc}}",
        free_port()
    );
    let gw = start(&unused.base_url(), &unused.base_url(), &tracing).await;
    for i in 0..5 {
        let r = post_json(
            &format!("{}/v1/chat/completions", gw.base_url()),
            &chat(&format!("n{i}"), false),
            &[],
        )
        .await;
        assert_eq!(r.status, 200);
    }
    gw.wait_for_request_logs(5, WAIT).await;
    let (text, m) = scrape_until(&gw, |m| {
        sum(m, "sluice_otlp_spans_dropped_total", &[]) >= 5.0
    })
    .await;
    assert_eq!(
        sum(&m, "sluice_otlp_spans_dropped_total", &[]),
        5.0,
        "{text}"
    );
    assert!(
        sum(&m, "sluice_otlp_export_failures_total", &[]) >= 1.0,
        "{text}"
    );
    assert_eq!(
        sum(&m, "sluice_otlp_spans_exported_total", &[]),
        0.0,
        "{text}"
    );
    assert_eq!(sum(&m, "sluice_cel_errors_total", &[]), 0.0, "{text}");
    assert_eq!(
        sum(
            &m,
            "sluice_requests_total",
            &[("status", "200"), ("route", "mock")]
        ),
        5.0,
        "{text}"
    );
}

/// `sluice_gateway_overhead_seconds` is a request's time less its wait on the upstream: a
/// provider that takes 400 ms to answer, or streams for 500 ms, leaves well under 100 ms (a
/// debug build on a busy CI machine included), while the operation takes the whole time.
#[tokio::test]
async fn gateway_overhead_leaves_out_the_upstream_wait() {
    let answer = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-x",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi."},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    });
    let delayed =
        MockUpstream::start(Reply::json(200, &answer).with_delay(Duration::from_millis(400))).await;
    let streaming = MockUpstream::start(Reply::openai_words(10, Duration::from_millis(50))).await;
    // The `slow` route answers after a pause; the `limited` route streams here.
    let gw = start(&delayed.base_url(), &streaming.base_url(), "").await;
    let base = gw.base_url();

    let r = post_json(
        &format!("{base}/slow/v1/chat/completions"),
        &chat("hi", false),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let s = post_json_streaming(
        &format!("{base}/limited/v1/chat/completions"),
        &chat("hi", true),
        &[],
    )
    .await;
    assert_eq!(s.status, 200);
    assert!(chunks_text(&s.collect_chunks().await).contains("word9 "));
    // The mock provider calls no upstream: no overhead sample for it.
    let r = post_json(
        &format!("{base}/v1/chat/completions"),
        &chat("hi", false),
        &[],
    )
    .await;
    assert_eq!(r.status, 200);

    let (text, m) = scrape_until(&gw, |m| sum(m, "sluice_requests_total", &[]) >= 3.0).await;
    for (route, upstream_secs) in [("slow", 0.4), ("limited", 0.45)] {
        let took = sum(
            &m,
            "gen_ai_client_operation_duration_seconds_sum",
            &[("route", route)],
        );
        assert!(took >= upstream_secs, "{route}: {took}\n{text}");
        let overhead = |name: &str, extra: &[(&str, &str)]| {
            let mut want = vec![("route", route)];
            want.extend_from_slice(extra);
            sum(
                &m,
                &format!("sluice_gateway_overhead_seconds_{name}"),
                &want,
            )
        };
        assert_eq!(overhead("count", &[]), 1.0, "{route}\n{text}");
        assert_eq!(overhead("bucket", &[("le", "0.1")]), 1.0, "{route}\n{text}");
        assert!(overhead("sum", &[]) < 0.1, "{route}\n{text}");
    }
    assert_eq!(
        sum(
            &m,
            "sluice_gateway_overhead_seconds_count",
            &[("route", "mock")]
        ),
        0.0,
        "{text}"
    );
}
