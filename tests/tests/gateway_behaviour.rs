//! The gateway's own answers and its life: errors in OpenAI shape with the right status, the
//! mock backend (plain and streamed), `sluice check`, draining on SIGTERM, a dead collector.

use std::time::{Duration, Instant};

use serde_json::json;
use sluice_tests::http::{post_json, post_json_streaming, post_raw, sse_data, Chunk};
use sluice_tests::{free_port, run_cli, run_cli_env, Gateway, MockUpstream, Ports, Reply};

const WAIT: Duration = Duration::from_secs(10);

const CONFIG: &str = r#"
config:
  adminAddr: {{admin}}
  maxRequestBodyBytes: 1000
  {{tracing}}
listeners:
  - name: http
    bind: {{listener}}
    routes:
      - name: openai
        match: {pathPrefix: /openai}
        backend: openai
      - name: dead
        match: {pathPrefix: /dead}
        backend: dead
      - name: mock
        match: {pathPrefix: /}
        backend: mock
backends:
  - name: openai
    provider: openai
    apiKey: {env: TEST_OPENAI_KEY}
    baseUrl: {{upstream}}/v1
  - name: dead
    provider: openai
    apiKey: sk-dead
    baseUrl: http://127.0.0.1:{{dead_port}}
    connectTimeout: 2s
  - name: mock
    provider: mock
    model: mock-1
"#;

async fn start(upstream: &MockUpstream, tracing: &str) -> Gateway {
    let yaml = Ports::new().render(
        CONFIG,
        &[
            ("upstream", &upstream.base_url()),
            ("dead_port", &free_port().to_string()),
            ("tracing", tracing),
        ],
    );
    Gateway::builder(&yaml)
        .env("TEST_OPENAI_KEY", "sk-test-openai")
        .start()
        .await
}

/// A streamed chat through the `/openai` route (gateway config line `tracing`), to an
/// upstream that answers `events` as SSE `gap` apart: the chunks the client got, and the
/// upstream and gateway for more checks.
async fn stream_through<S: AsRef<str>>(
    events: &[S],
    gap: Duration,
    tracing: &str,
) -> (Vec<Chunk>, MockUpstream, Gateway) {
    let upstream = MockUpstream::start(Reply::sse(events, gap)).await;
    let gw = start(&upstream, tracing).await;
    let resp = send_streamed_chat(&gw).await;
    (resp.collect_chunks().await, upstream, gw)
}

/// A streamed chat through the `/openai` route, answered 200.
async fn send_streamed_chat(gw: &Gateway) -> sluice_tests::http::StreamingResponse {
    let mut body = chat("hi");
    body["stream"] = json!(true);
    let resp = post_json_streaming(
        &format!("{}/openai/v1/chat/completions", gw.base_url()),
        &body,
        &[],
    )
    .await;
    assert_eq!(resp.status, 200);
    resp
}

fn chat(content: &str) -> serde_json::Value {
    json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}]})
}

fn assert_openai_error(body: &serde_json::Value, kind: &str) {
    let err = &body["error"];
    assert!(
        err["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(err["type"], kind, "{body}");
}

#[tokio::test]
async fn errors_have_openai_shape_and_status() {
    let upstream = MockUpstream::start(Reply::json(
        429,
        &json!({"error": {"message": "Rate limit reached", "type": "rate_limit_error", "code": "rate_limit_exceeded"}}),
    ).with_header("retry-after", "7"))
    .await;
    let gw = start(&upstream, "").await;
    let base = gw.base_url();

    // 400: not JSON.
    let r = post_raw(
        &format!("{base}/v1/chat/completions"),
        "{not json",
        &[("content-type", "application/json")],
    )
    .await;
    assert_eq!(r.status, 400);
    assert_openai_error(&r.json(), "invalid_request_error");
    gw.wait_for_request_logs(1, WAIT).await; // before the next request: lines by position

    // 400: JSON but not a chat request.
    let r = post_json(
        &format!("{base}/v1/chat/completions"),
        &json!({"model": "x"}),
        &[],
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("messages"));
    gw.wait_for_request_logs(2, WAIT).await; // before the next request: lines by position

    // 404: a path that names no API under the route.
    let r = post_json(&format!("{base}/v1/nothing/here"), &chat("hi"), &[]).await;
    assert_eq!(r.status, 404);
    assert_openai_error(&r.json(), "invalid_request_error");
    gw.wait_for_request_logs(3, WAIT).await; // before the next request: lines by position

    // 413: a declared body over the limit is refused from the headers.
    let big = json!({"model": "m", "messages": [{"role": "user", "content": "x".repeat(2000)}]});
    let r = post_json(&format!("{base}/v1/chat/completions"), &big, &[]).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["error"]["code"], "request_too_large");
    gw.wait_for_request_logs(4, WAIT).await; // before the next request: lines by position

    // 502, fast: the upstream refuses connections.
    let t = Instant::now();
    let r = post_json(
        &format!("{base}/dead/v1/chat/completions"),
        &chat("hi"),
        &[],
    )
    .await;
    assert_eq!(r.status, 502, "{}", r.text());
    assert_openai_error(&r.json(), "api_error");
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "refused upstream took {:?}",
        t.elapsed()
    );
    gw.wait_for_request_logs(5, WAIT).await; // before the next request: lines by position

    // Upstream error passed through with its status, body and retry-after.
    let r = post_json(
        &format!("{base}/openai/v1/chat/completions"),
        &chat("hi"),
        &[],
    )
    .await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("7"));
    assert_eq!(r.json()["error"]["code"], "rate_limit_exceeded");
    let up = &upstream.wait_for_requests(1, WAIT).await[0];
    assert_eq!(
        up.path, "/v1/chat/completions",
        "a base URL ending in /v1 is not doubled"
    );
    assert_eq!(up.header("authorization"), Some("Bearer sk-test-openai"));

    // Every request got its log line with its status; the gateway still serves.
    let logs = gw.wait_for_request_logs(6, WAIT).await;
    let statuses: Vec<&str> = logs.iter().map(|l| l.get("http.status").unwrap()).collect();
    assert_eq!(statuses, ["400", "400", "404", "413", "502", "429"]);
    let r = post_json(
        &format!("{base}/v1/chat/completions"),
        &chat("still there?"),
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn stream_events_reach_the_client_as_the_upstream_sends_them() {
    // Events that arrive together go out in one write; events apart must not wait for the
    // next one. Three content events 200 ms apart reach the client about 200 ms apart.
    let event = |text: &str| {
        format!(
            r#"{{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{{"index":0,"delta":{{"content":"{text}"}},"finish_reason":null}}]}}"#
        )
    };
    let events = [event("one"), event("two"), event("three"), "[DONE]".into()];
    let (chunks, _upstream, _gw) = stream_through(&events, Duration::from_millis(200), "").await;
    let arrival = |needle: &str| {
        chunks
            .iter()
            .find(|c| String::from_utf8_lossy(&c.data).contains(needle))
            .unwrap_or_else(|| panic!("{needle} not streamed: {chunks:?}"))
            .at
    };
    let (one, two, three) = (arrival("one"), arrival("two"), arrival("three"));
    assert!(two >= one + Duration::from_millis(150), "{one:?} {two:?}");
    assert!(
        three >= two + Duration::from_millis(150),
        "{two:?} {three:?}"
    );
}

#[tokio::test]
async fn openai_passthrough_pins_nothing_and_strips_usage_the_client_did_not_ask_for() {
    let chunks = [
        r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}"#,
        r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}"#,
        r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}"#,
        "[DONE]",
    ];
    let (chunks, upstream, gw) = stream_through(&chunks, Duration::from_millis(20), "").await;
    let text = sluice_tests::http::chunks_text(&chunks);
    let data = sse_data(&text);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    assert!(
        !text.contains("\"usage\""),
        "usage chunk must be stripped: {text}"
    );
    let content: String = data
        .iter()
        .filter(|d| *d != "[DONE]")
        .filter_map(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(content, "Hello");
    // The upstream was asked for usage on the client's behalf, with the client's model.
    let up = upstream.wait_for_requests(1, WAIT).await[0].json();
    assert_eq!(up["stream_options"]["include_usage"], true);
    assert_eq!(up["model"], "gpt-4o-mini");
    // And the log line carries it.
    let log = &gw.wait_for_request_logs(1, WAIT).await[0];
    assert_eq!(log.get("llm.request.tokens"), Some("9"));
    assert_eq!(log.get("llm.response.tokens"), Some("2"));
    assert_eq!(log.get("llm.response.model"), Some("gpt-4o-mini-2024"));
}

#[tokio::test]
async fn mock_backend_answers_plain_and_streamed_with_counted_usage() {
    let upstream = MockUpstream::start(Reply::text(500, "unused")).await;
    let gw = start(&upstream, "").await;
    let url = format!("{}/v1/chat/completions", gw.base_url());

    let r = post_json(&url, &chat("hello world"), &[]).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["model"], "mock-1");
    let content = v["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(content.ends_with("You said: hello world"), "{content}");
    let completion_tokens = v["usage"]["completion_tokens"].as_u64().unwrap();
    assert!(completion_tokens > 5);
    assert_eq!(
        v["usage"]["total_tokens"].as_u64().unwrap(),
        v["usage"]["prompt_tokens"].as_u64().unwrap() + completion_tokens
    );

    let mut body = chat("hello world");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let s = post_json_streaming(&url, &body, &[]).await;
    assert_eq!(s.status, 200);
    assert_eq!(s.header("content-type"), Some("text/event-stream"));
    let text = sluice_tests::http::chunks_text(&s.collect_chunks().await);
    let data = sse_data(&text);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let events: Vec<serde_json::Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let streamed: String = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(streamed, content);
    let usage = &events.last().unwrap()["usage"];
    assert_eq!(usage["completion_tokens"].as_u64(), Some(completion_tokens));

    let logs = gw.wait_for_request_logs(2, WAIT).await;
    for log in &logs {
        assert_eq!(log.get("llm.provider"), Some("mock"));
        assert_eq!(
            log.get("llm.response.tokens"),
            Some(completion_tokens.to_string().as_str())
        );
    }
}

#[tokio::test]
async fn sigterm_drains_in_flight_requests_then_exits_zero() {
    let upstream = MockUpstream::start(
        Reply::json(200, &json!({"id": "x", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "slow"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}))
            .with_delay(Duration::from_millis(1500)),
    )
    .await;
    let mut gw = start(&upstream, "").await;
    let url = format!("{}/openai/v1/chat/completions", gw.base_url());
    let in_flight = tokio::spawn(async move { post_json(&url, &chat("slow"), &[]).await });
    upstream.wait_for_requests(1, WAIT).await;
    let t = Instant::now();
    gw.send_signal(libc::SIGTERM);

    // New connections are refused while the slow one finishes.
    let listener = gw.base_url().trim_start_matches("http://").to_string();
    let refused =
        sluice_tests::poll_until(Duration::from_secs(2), Duration::from_millis(20), || {
            let addr = listener.clone();
            async move {
                tokio::net::TcpStream::connect(addr)
                    .await
                    .is_err()
                    .then_some(())
            }
        })
        .await;
    assert!(refused.is_some(), "listener still accepting after SIGTERM");

    let resp = in_flight.await.unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["choices"][0]["message"]["content"], "slow");
    let status = gw
        .wait_exit(Duration::from_secs(10))
        .await
        .expect("gateway exited");
    assert!(status.success(), "exit status {status:?}");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "drain took {:?} (grace is an upper bound, not a wait)",
        t.elapsed()
    );
    assert!(gw.log_lines().iter().any(|l| l.contains("http.status=200")));
}

#[tokio::test]
async fn sigint_lets_a_stream_in_flight_finish_and_readyz_says_draining() {
    let event = |text: &str| {
        format!(
            r#"{{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{{"index":0,"delta":{{"content":"{text}"}},"finish_reason":null}}]}}"#
        )
    };
    let events = [
        event("one"),
        event("two"),
        event("three"),
        event("four"),
        "[DONE]".into(),
    ];
    let upstream = MockUpstream::start(Reply::sse(&events, Duration::from_millis(300))).await;
    let mut gw = start(&upstream, "").await;
    let ready = |gw: &Gateway| format!("{}/readyz", gw.admin_url());
    assert_eq!(
        sluice_tests::http::get(&format!("{}/healthz", gw.admin_url()))
            .await
            .status,
        200
    );
    assert_eq!(sluice_tests::http::get(&ready(&gw)).await.status, 200);
    let chunks = tokio::spawn(send_streamed_chat(&gw).await.collect_chunks());
    upstream.wait_for_requests(1, WAIT).await;
    gw.send_signal(libc::SIGINT);
    // Draining: not ready (503, or the admin listener already closed), so a load balancer
    // stops sending; the stream goes on.
    let draining = sluice_tests::poll_until(WAIT, Duration::from_millis(20), || {
        let url = ready(&gw);
        async move {
            let probe = sluice_tests::http::Client::new()
                .send("GET", &url, &[], String::new())
                .await;
            probe.map_or(true, |r| r.status == 503).then_some(())
        }
    })
    .await;
    assert!(draining.is_some(), "/readyz never said draining");
    let text: String = chunks
        .await
        .unwrap()
        .iter()
        .map(|c| String::from_utf8_lossy(&c.data).into_owned())
        .collect();
    for part in ["one", "two", "three", "four", "[DONE]"] {
        assert!(
            text.contains(part),
            "{part} missing from the drained stream: {text}"
        );
    }
    let status = gw
        .wait_exit(Duration::from_secs(10))
        .await
        .expect("gateway exited");
    assert!(status.success(), "exit status {status:?}");
    assert!(gw.log_lines().iter().any(|l| l.contains("http.status=200")));
}

#[tokio::test]
async fn idle_gateway_exits_at_once_on_sigterm() {
    let upstream = MockUpstream::start(Reply::text(500, "unused")).await;
    let mut gw = start(&upstream, "").await;
    let t = Instant::now();
    gw.send_signal(libc::SIGTERM);
    let status = gw
        .wait_exit(Duration::from_secs(5))
        .await
        .expect("gateway exited");
    assert!(status.success());
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "took {:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn a_dead_collector_costs_the_client_nothing() {
    let upstream = MockUpstream::start(Reply::text(500, "unused")).await;
    let tracing = format!(
        "tracing: {{otlpEndpoint: 'http://127.0.0.1:{}', otlpProtocol: grpc}}",
        free_port()
    );
    let gw = start(&upstream, &tracing).await;
    let url = format!("{}/v1/chat/completions", gw.base_url());
    let t = Instant::now();
    for i in 0..20 {
        let r = post_json(&url, &chat(&format!("n{i}")), &[]).await;
        assert_eq!(r.status, 200);
    }
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "20 requests took {:?}",
        t.elapsed()
    );
    assert_eq!(gw.wait_for_request_logs(20, WAIT).await.len(), 20);
}

#[test]
fn check_accepts_good_configs_and_names_paths_of_bad_ones() {
    let dir = sluice_tests::gateway::workspace_dir();
    let out = run_cli(&["check", "-c", dir.join("conf/demo.yaml").to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let bad = std::env::temp_dir().join(format!("sluice-bad-{}.yaml", std::process::id()));
    std::fs::write(
        &bad,
        r#"
config:
  tracing:
    otlpEndpoint: http://127.0.0.1:4317
    headers: {Authorization: "Basic $SLUICE_TEST_SECRET"}
    fields:
      add:
        broken: "llm.(("
listeners:
  - name: http
    bind: 127.0.0.1:8080
    routes:
      - match: {pathPrefix: /gemini}
        backend: google
backends:
  - name: google
    provider: gemni
    apiKey: super-secret-value-123
"#,
    )
    .unwrap();
    let out = run_cli_env(
        &["check", "-c", bad.to_str().unwrap()],
        &[("SLUICE_TEST_SECRET", "hidden-credential-456")],
    );
    let _ = std::fs::remove_file(&bad);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines.iter().any(|l| {
            l.starts_with(
        "backends[0].provider: unknown provider \"gemni\"; expected one of openai, gemini, anthropic, vertex, bedrock, azure, mock, groq, mistral, deepseek, together, fireworks, openrouter, xai, ollama, vllm"
    )
        }),
        "{stderr}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("config.tracing.fields.add.broken: invalid CEL expression")),
        "{stderr}"
    );
    // The route names a backend that is declared (if invalid): not reported again.
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        !stderr.contains("super-secret-value-123") && !stderr.contains("hidden-credential-456")
    );

    let out = run_cli(&["--version"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("sluice "));
    let out = run_cli(&["run", "-c", "/nonexistent/sluice.yaml"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn run_exits_2_when_the_address_is_taken() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let cfg = std::env::temp_dir().join(format!("sluice-taken-{}.yaml", std::process::id()));
    std::fs::write(
        &cfg,
        format!("listeners:\n  - bind: {addr}\n    routes: []\n"),
    )
    .unwrap();
    let out = run_cli(&["run", "-c", cfg.to_str().unwrap()]);
    let _ = std::fs::remove_file(&cfg);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot bind"));
}

#[tokio::test]
async fn anthropic_messages_front_door_on_the_mock() {
    let upstream = MockUpstream::start(Reply::text(500, "unused")).await;
    let gw = start(&upstream, "").await;
    let url = format!("{}/v1/messages", gw.base_url());
    let body = json!({"model": "claude-x", "max_tokens": 64, "system": "be brief",
        "messages": [{"role": "user", "content": "hello world"}]});
    let r = post_json(&url, &body, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["type"], "message");
    assert_eq!(v["role"], "assistant");
    assert_eq!(v["stop_reason"], "end_turn");
    let text = v["content"][0]["text"].as_str().unwrap().to_string();
    assert!(text.ends_with("You said: hello world"), "{text}");
    let output_tokens = v["usage"]["output_tokens"].as_u64().unwrap();
    assert!(output_tokens > 5);
    gw.wait_for_request_logs(1, WAIT).await; // before the next request: lines by position

    let mut sbody = body.clone();
    sbody["stream"] = json!(true);
    let s = post_json_streaming(&url, &sbody, &[]).await;
    assert_eq!(s.status, 200);
    let raw = sluice_tests::http::chunks_text(&s.collect_chunks().await);
    let events = sluice_tests::http::parse_sse(&raw);
    let names: Vec<&str> = events.iter().filter_map(|e| e.event.as_deref()).collect();
    assert_eq!(names.first(), Some(&"message_start"));
    assert_eq!(&names[names.len() - 2..], ["message_delta", "message_stop"]);
    let streamed: String = events
        .iter()
        .filter(|e| e.event.as_deref() == Some("content_block_delta"))
        .map(|e| serde_json::from_str::<serde_json::Value>(&e.data).unwrap())
        .filter_map(|d| d["delta"]["text"].as_str().map(str::to_string))
        .collect();
    assert_eq!(streamed, text);
    let delta: serde_json::Value = serde_json::from_str(
        &events
            .iter()
            .find(|e| e.event.as_deref() == Some("message_delta"))
            .unwrap()
            .data,
    )
    .unwrap();
    assert_eq!(
        delta["usage"]["output_tokens"].as_u64(),
        Some(output_tokens)
    );
    gw.wait_for_request_logs(2, WAIT).await; // before the next request: lines by position

    // Errors in Anthropic's shape.
    let r = post_raw(&url, "{nope", &[("content-type", "application/json")]).await;
    assert_eq!(r.status, 400);
    let e = r.json();
    assert_eq!(e["type"], "error");
    assert_eq!(e["error"]["type"], "invalid_request_error");

    let logs = gw.wait_for_request_logs(3, WAIT).await;
    assert_eq!(logs[0].get("llm.request.model"), Some("claude-x"));
    assert_eq!(
        logs[1].get("llm.response.tokens"),
        Some(output_tokens.to_string().as_str())
    );
}

#[tokio::test]
async fn a_client_that_leaves_mid_stream_still_gets_its_usage_logged() {
    // A slow upstream stream that reports no usage: what was streamed is counted.
    let upstream = MockUpstream::start(Reply::openai_words(40, Duration::from_millis(50))).await;
    let gw = start(&upstream, "").await;
    let mut body = chat("hi");
    body["stream"] = json!(true);
    let mut s = post_json_streaming(
        &format!("{}/openai/v1/chat/completions", gw.base_url()),
        &body,
        &[],
    )
    .await;
    assert_eq!(s.status, 200);
    // Read a few chunks, then hang up.
    let mut seen = 0;
    while seen < 3 {
        match s.next_chunk().await {
            Some(Ok(_)) => seen += 1,
            other => panic!("stream ended early: {other:?}"),
        }
    }
    drop(s);
    let log = &gw.wait_for_request_logs(1, WAIT).await[0];
    assert_eq!(log.get("http.status"), Some("200"));
    assert!(
        log.get("error")
            .unwrap_or("")
            .contains("client disconnected"),
        "{log:?}"
    );
    let out = log
        .get_int("llm.response.tokens")
        .expect("output tokens estimated");
    assert!(out >= 2, "{out}");
    assert!(log.get_int("llm.request.tokens").unwrap() > 0);
    assert!(
        log.get_int("llm.response.tokens").unwrap() < 80,
        "only what was streamed is counted"
    );
}

#[tokio::test]
async fn anthropic_count_tokens_is_answered_by_the_gateway() {
    let upstream = MockUpstream::start(Reply::text(500, "unused")).await;
    let gw = start(&upstream, "").await;
    let url = format!("{}/v1/messages/count_tokens", gw.base_url());
    let short = json!({"model": "claude-x", "messages": [{"role": "user", "content": "hi"}]});
    let long = json!({"model": "claude-x", "system": "You are a careful assistant.",
        "messages": [{"role": "user", "content": "Explain how AI works in simple terms, please."}]});
    let a = post_json(&url, &short, &[]).await;
    assert_eq!(a.status, 200, "{}", a.text());
    let b = post_json(&url, &long, &[]).await;
    let (a, b) = (
        a.json()["input_tokens"].as_u64().unwrap(),
        b.json()["input_tokens"].as_u64().unwrap(),
    );
    assert!(a > 0 && b > a + 10, "{a} {b}");
    let bad = post_json(&url, &json!({"messages": "nope"}), &[]).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["type"], "error");
}

#[tokio::test]
async fn estimated_usage_is_marked_and_streams_spans_carry_tokens() {
    let otlp = sluice_tests::OtlpReceiver::start_grpc().await;
    // An upstream stream without usage: sluice counts and marks it.
    let chunks = [
        r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-x","choices":[{"index":0,"delta":{"content":"Hello there, friend"},"finish_reason":"stop"}]}"#,
        "[DONE]",
    ];
    let tracing = format!("tracing: {{otlpEndpoint: '{}'}}", otlp.endpoint());
    let (_chunks, _upstream, gw) =
        stream_through(&chunks, Duration::from_millis(5), &tracing).await;
    let log = &gw.wait_for_request_logs(1, WAIT).await[0];
    assert_eq!(log.get("llm.usage.estimated"), Some("true"));
    // "Hello there, friend": 4 tokens by tiktoken, 5 by the bytes/4 estimate used while the
    // tables are still loading in the background.
    let tokens = log.get_int("llm.response.tokens").unwrap();
    assert!((4..=5).contains(&tokens), "{tokens}");
    let span = otlp.wait_for_span_named("POST /openai", WAIT).await;
    assert_eq!(span.int_attr("llm.response.tokens"), Some(tokens));
    assert!(span.int_attr("llm.request.tokens").unwrap() > 0);
    assert_eq!(span.bool_attr("llm.usage.estimated"), Some(true));
    // No `fields.add`: the span carries the GenAI semantic conventions by itself.
    assert_eq!(span.str_attr("gen_ai.operation.name"), Some("chat"));
    assert_eq!(span.str_attr("gen_ai.provider.name"), Some("openai"));
    assert_eq!(span.str_attr("gen_ai.request.model"), Some("gpt-4o-mini"));
    assert_eq!(span.str_attr("gen_ai.response.model"), Some("gpt-x"));
    assert_eq!(span.int_attr("gen_ai.usage.output_tokens"), Some(tokens));
    assert_eq!(
        span.attr("gen_ai.response.finish_reasons")
            .map(|v| v.to_string()),
        Some(r#"["stop"]"#.to_string())
    );
}

#[tokio::test]
async fn logging_filter_and_level_choose_which_requests_are_logged() {
    let upstream = MockUpstream::start(Reply::text(500, "unused")).await;
    let gw = start(&upstream, "logging: {filter: 'response.status >= 400'}").await;
    let base = gw.base_url();
    assert_eq!(
        post_json(&format!("{base}/v1/chat/completions"), &chat("ok"), &[])
            .await
            .status,
        200
    );
    assert_eq!(
        post_json(&format!("{base}/v1/nowhere"), &chat("x"), &[])
            .await
            .status,
        404
    );
    let logs = gw.wait_for_request_logs(1, WAIT).await;
    assert_eq!(logs[0].get("http.status"), Some("404"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(gw.request_logs().len(), 1, "the 200 must not be logged");

    let quiet = start(&upstream, "logging: {level: warn}").await;
    let r = post_json(
        &format!("{}/v1/chat/completions", quiet.base_url()),
        &chat("ok"),
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(quiet.request_logs().is_empty());
    assert!(
        !quiet.log_lines().iter().any(|l| l.starts_with("info ")),
        "{:?}",
        quiet.log_lines()
    );
}
