//! Failover chains: a route's backends are tried in order; connect failures, 429 and 5xx move
//! on before anything reaches the client, which gets one clean answer, translated for
//! whichever provider finally served it. The log line says how far the chain was walked.

use std::time::Duration;

use serde_json::json;
use sluice_tests::http::{chunks_text, post_json, post_json_streaming, sse_data, Response};
use sluice_tests::{free_port, Gateway, MockUpstream, Reply};

const WAIT: Duration = Duration::from_secs(10);

/// The chain's routes and backends, after [`Gateway::start_with_routes`]'s preamble.
const CHAIN: &str = r#"      - name: chain
        match: {pathPrefix: /}
        backends: [refused, busy, gemini]
backends:
  - name: refused
    provider: openai
    apiKey: k1
    baseUrl: http://127.0.0.1:{{dead}}
    connectTimeout: 2s
  - name: busy
    provider: openai
    model: gpt-4o
    apiKey: k2
    baseUrl: {{busy}}
  - name: gemini
    provider: gemini
    model: gemini-2.0-flash
    apiKey: k3
    baseUrl: {{gemini}}
"#;

/// A gateway whose one route walks `refused` (a port nobody listens on), `busy`, `gemini`.
async fn start_chain(busy: &MockUpstream, gemini: &MockUpstream) -> Gateway {
    Gateway::start_with_routes(
        CHAIN,
        &[
            ("dead", &free_port().to_string()),
            ("busy", &busy.base_url()),
            ("gemini", &gemini.base_url()),
        ],
    )
    .await
}

fn gemini_answer() -> serde_json::Value {
    json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "from gemini"}]}, "finishReason": "STOP"}],
           "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 2, "totalTokenCount": 7},
           "modelVersion": "gemini-2.0-flash"})
}

/// A mock that answers only after 3 s (for the timeout tests).
async fn slow_mock() -> MockUpstream {
    MockUpstream::start(
        Reply::json(200, &json!({"choices": []})).with_delay(Duration::from_secs(3)),
    )
    .await
}

/// Posts a one-message chat to `<gateway><prefix>/v1/chat/completions`, which must be
/// answered within 2 s.
async fn chat_in_time(gw: &Gateway, prefix: &str) -> Response {
    let t = std::time::Instant::now();
    let r = post_json(
        &format!("{}{prefix}/v1/chat/completions", gw.base_url()),
        &json!({"messages": [{"role": "user", "content": "hi"}]}),
        &[],
    )
    .await;
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    r
}

#[tokio::test]
async fn the_chain_is_walked_until_a_backend_answers() {
    let busy = MockUpstream::start(
        Reply::json(
            429,
            &json!({"error": {"message": "slow down", "type": "rate_limit_error"}}),
        )
        .with_header("retry-after", "3"),
    )
    .await;
    busy.push_reply(Reply::json(
        503,
        &json!({"error": {"message": "overloaded"}}),
    ));
    let gemini = MockUpstream::start(Reply::json(200, &gemini_answer())).await;
    let gw = start_chain(&busy, &gemini).await;
    let url = format!("{}/v1/chat/completions", gw.base_url());
    let body = json!({"model": "anything", "messages": [{"role": "user", "content": "hi"}]});

    // 1st: refused → 503 → gemini answers.
    let r = post_json(&url, &body, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["choices"][0]["message"]["content"], "from gemini");
    gw.wait_for_request_logs(1, WAIT).await; // before the next request: lines by position
                                             // 2nd: refused → 429 (retry-after) → gemini answers, streamed this time.
    let mut sbody = body.clone();
    sbody["stream"] = json!(true);
    gemini.push_reply(Reply::sse(
        &[gemini_answer().to_string()],
        Duration::from_millis(1),
    ));
    let s = post_json_streaming(&url, &sbody, &[]).await;
    assert_eq!(s.status, 200);
    let text = chunks_text(&s.collect_chunks().await);
    assert!(text.contains("from gemini"), "{text}");
    assert_eq!(sse_data(&text).last().map(String::as_str), Some("[DONE]"));

    // The busy backend was asked with its own model; gemini with its own.
    let busy_reqs = busy.wait_for_requests(2, WAIT).await;
    assert_eq!(busy_reqs[0].json()["model"], "gpt-4o");
    let gemini_reqs = gemini.wait_for_requests(2, WAIT).await;
    assert!(gemini_reqs[0]
        .path
        .contains("gemini-2.0-flash:generateContent"));
    assert!(gemini_reqs[1].path.contains(":streamGenerateContent"));

    let logs = gw.wait_for_request_logs(2, WAIT).await;
    for (log, status) in logs.iter().zip(["503", "429"]) {
        assert_eq!(log.get("http.status"), Some("200"));
        assert_eq!(log.get("llm.provider"), Some("gemini"));
        assert_eq!(log.get("llm.attempts"), Some("3"));
        let reason = log.get("llm.fallback_reason").unwrap();
        assert!(reason.starts_with("refused: "), "{reason}");
        assert!(
            reason.contains(&format!("busy: status {status}")),
            "{reason}"
        );
        assert_eq!(log.get("llm.response.tokens"), Some("2"));
        // Each attempt priced: the refused one and the busy one's 429/503 reported no usage
        // (providers bill no error), the answer is priced at the model of the attempt that
        // gave it (gemini-2.0-flash: 5 × 0.10 + 2 × 0.40 = 1.3 µUSD), not at gpt-4o's.
        assert_eq!(log.get("llm.cost"), Some("0.0000013"), "{log:?}");
    }
}

#[tokio::test]
async fn the_last_backends_error_reaches_the_client() {
    let busy = MockUpstream::start(Reply::json(
        503,
        &json!({"error": {"message": "overloaded", "type": "server_error"}}),
    ))
    .await;
    let gemini = MockUpstream::start(Reply::json(
        500,
        &json!({"error": {"code": 500, "message": "internal", "status": "INTERNAL"}}),
    ))
    .await;
    let gw = start_chain(&busy, &gemini).await;
    let body = json!({"messages": [{"role": "user", "content": "hi"}]});
    let r = post_json(
        &format!("{}/v1/chat/completions", gw.base_url()),
        &body,
        &[],
    )
    .await;
    assert_eq!(r.status, 500);
    assert_eq!(r.json()["error"]["message"], "internal");
    let log = &gw.wait_for_request_logs(1, WAIT).await[0];
    assert_eq!(log.get("llm.attempts"), Some("3"));
}

#[tokio::test]
async fn a_stream_broken_after_its_first_byte_ends_with_an_error_event() {
    let chunk =
        r#"{"candidates": [{"content": {"role": "model", "parts": [{"text": "partial "}]}}]}"#;
    let gemini =
        MockUpstream::start(Reply::sse(&[chunk, chunk], Duration::from_millis(20)).then_abort())
            .await;
    let gw = Gateway::start_with_routes(
        "      - name: g\n        match: {pathPrefix: /}\n        backend: gemini\nbackends:\n  - name: gemini\n    provider: gemini\n    model: gemini-2.0-flash\n    apiKey: k\n    baseUrl: {{gemini}}\n",
        &[("gemini", &gemini.base_url())],
    )
    .await;
    let body = json!({"stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let s = post_json_streaming(
        &format!("{}/v1/chat/completions", gw.base_url()),
        &body,
        &[],
    )
    .await;
    assert_eq!(s.status, 200);
    // The response ends cleanly (chunked terminator), not by a reset or a hang.
    let chunks = tokio::time::timeout(WAIT, s.collect_chunks())
        .await
        .expect("the stream ended");
    let text = chunks_text(&chunks);
    let data = sse_data(&text);
    assert!(text.contains("partial"), "{text}");
    let error: serde_json::Value = serde_json::from_str(&data[data.len() - 2]).unwrap();
    assert_eq!(error["error"]["type"], "api_error", "{text}");
    assert!(error["error"]["message"]
        .as_str()
        .unwrap()
        .contains("upstream stream"));
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let log = &gw.wait_for_request_logs(1, WAIT).await[0];
    assert!(log.get("error").unwrap().contains("upstream stream"));
    assert!(log.get_int("llm.response.tokens").unwrap() > 0);
}

/// `r` is a 504 whose OpenAI-shaped error message contains `cause`.
fn assert_gateway_timeout(r: &Response, cause: &str) {
    assert_eq!(r.status, 504, "{}", r.text());
    let message = r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(message.contains(cause), "{message}");
}

#[tokio::test]
async fn a_slow_backend_times_out_and_the_next_one_answers() {
    let slow = slow_mock().await;
    let gemini = MockUpstream::start(Reply::json(200, &gemini_answer())).await;
    let gw = Gateway::start_with_routes(
        "      - name: c\n        match: {pathPrefix: /c}\n        backends: [slow, gemini]\n      - name: s\n        match: {pathPrefix: /s}\n        backend: slow\nbackends:\n  - name: slow\n    provider: openai\n    model: m\n    apiKey: k\n    baseUrl: {{slow}}\n    timeout: 300ms\n  - name: gemini\n    provider: gemini\n    model: gemini-2.0-flash\n    apiKey: k\n    baseUrl: {{gemini}}\n",
        &[("slow", &slow.base_url()), ("gemini", &gemini.base_url())],
    )
    .await;
    let r = chat_in_time(&gw, "/c").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["choices"][0]["message"]["content"], "from gemini");
    gw.wait_for_request_logs(1, WAIT).await; // before the next request: lines by position
                                             // Alone, the slow backend's timeout is a 504.
    let r = chat_in_time(&gw, "/s").await;
    assert_eq!(r.status, 504, "{}", r.text());
    let logs = gw.wait_for_request_logs(2, WAIT).await;
    assert!(logs[0]
        .get("llm.fallback_reason")
        .unwrap()
        .contains("timeout"));
}

#[tokio::test]
async fn read_timeout_bounds_the_wait_for_the_header_and_between_stream_events() {
    // No total `timeout`: only `readTimeout` (300 ms) can end these waits.
    let slow = slow_mock().await;
    let pieces: Vec<String> = ["one ", "two "]
        .iter()
        .map(|t| {
            json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {"content": t}, "finish_reason": null}]})
            .to_string()
        })
        .collect();
    let gappy = MockUpstream::start(Reply::sse(&pieces, Duration::from_millis(1500))).await;
    let gw = Gateway::start_with_routes(
        "      - name: s\n        match: {pathPrefix: /s}\n        backend: slow\n      - name: g\n        match: {pathPrefix: /g}\n        backend: gappy\nbackends:\n  - name: slow\n    provider: openai\n    model: m\n    apiKey: k\n    baseUrl: {{slow}}\n    readTimeout: 300ms\n  - name: gappy\n    provider: openai\n    model: m\n    apiKey: k\n    baseUrl: {{gappy}}\n    readTimeout: 300ms\n",
        &[("slow", &slow.base_url()), ("gappy", &gappy.base_url())],
    )
    .await;

    // The response header is late: 504.
    let r = chat_in_time(&gw, "/s").await;
    assert_gateway_timeout(&r, "no data within backends[].readTimeout");
    gw.wait_for_request_logs(1, WAIT).await; // before the next request: lines by position

    // A stream falls silent after its first event: it ends with an error event.
    let t = std::time::Instant::now();
    let s = post_json_streaming(
        &format!("{}/g/v1/chat/completions", gw.base_url()),
        &json!({"stream": true, "messages": [{"role": "user", "content": "hi"}]}),
        &[],
    )
    .await;
    assert_eq!(s.status, 200);
    let (chunks, _) = s.collect_chunks_lenient().await;
    let text = chunks_text(&chunks);
    assert!(
        t.elapsed() < Duration::from_millis(1400),
        "{:?}",
        t.elapsed()
    );
    assert!(text.contains("one "), "{text}");
    assert!(!text.contains("two "), "{text}");
    let data = sse_data(&text);
    let error = data
        .iter()
        .find(|d| d.contains("\"error\""))
        .unwrap_or_else(|| panic!("no error event in {text}"));
    assert!(
        error.contains("no data within backends[].readTimeout"),
        "{error}"
    );

    let logs = gw.wait_for_request_logs(2, WAIT).await;
    assert_eq!(logs[0].get_int("http.status"), Some(504));
}

/// A listener whose accept queue is full and never drained: the kernel drops further SYNs, so
/// a connect to it hangs (retrying its SYN) instead of being refused. Returned with the
/// connections that fill the queue, which must stay open.
async fn hanging_listener() -> (tokio::net::TcpListener, Vec<tokio::net::TcpStream>) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    for _ in 0..64 {
        match tokio::time::timeout(
            Duration::from_millis(300),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            Ok(Ok(stream)) => held.push(stream),
            Ok(Err(e)) => panic!("filling the accept queue of {addr}: {e}"),
            Err(_) => return (listener, held), // this connect hung: the queue is full
        }
    }
    panic!("{addr} kept accepting connections: its accept queue never filled");
}

#[tokio::test]
async fn connect_timeout_bounds_a_connect_that_hangs() {
    let (hung, _held) = hanging_listener().await;
    let hung = format!("http://{}", hung.local_addr().unwrap());
    let gemini = MockUpstream::start(Reply::json(200, &gemini_answer())).await;
    let gw = Gateway::start_with_routes(
        "      - name: h\n        match: {pathPrefix: /h}\n        backend: hung\n      - name: c\n        match: {pathPrefix: /c}\n        backends: [hung, gemini]\nbackends:\n  - name: hung\n    provider: openai\n    model: m\n    apiKey: k\n    baseUrl: {{hung}}\n    connectTimeout: 300ms\n  - name: gemini\n    provider: gemini\n    model: gemini-2.0-flash\n    apiKey: k\n    baseUrl: {{gemini}}\n",
        &[("hung", &hung), ("gemini", &gemini.base_url())],
    )
    .await;

    // Alone, the backend that cannot be reached in time is a 504 naming the setting; the
    // kernel's own SYN retries would take a minute.
    let t = std::time::Instant::now();
    let r = chat_in_time(&gw, "/h").await;
    assert_gateway_timeout(&r, "no connection within backends[].connectTimeout");
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    gw.wait_for_request_logs(1, WAIT).await; // before the next request: lines by position

    // In a chain, the next backend answers.
    let r = chat_in_time(&gw, "/c").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["choices"][0]["message"]["content"], "from gemini");

    let logs = gw.wait_for_request_logs(2, WAIT).await;
    assert_eq!(logs[0].get_int("http.status"), Some(504));
    assert_eq!(logs[1].get("llm.attempts"), Some("2"));
    assert!(
        logs[1]
            .get("llm.fallback_reason")
            .unwrap_or_default()
            .contains("no connection within backends[].connectTimeout"),
        "{:?}",
        logs[1].get("llm.fallback_reason")
    );
}

#[tokio::test]
async fn retries_back_off_and_honour_retry_after() {
    let ok = json!({"id": "x", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}});
    let upstream = MockUpstream::start(Reply::json(200, &ok)).await;
    let gw = Gateway::start_with_routes(
        "      - name: r\n        match: {pathPrefix: /}\n        backend: flaky\nbackends:\n  - name: flaky\n    provider: openai\n    model: m\n    apiKey: k\n    baseUrl: {{upstream}}\n    retries: 2\n",
        &[("upstream", &upstream.base_url())],
    )
    .await;
    let url = format!("{}/v1/chat/completions", gw.base_url());
    let body = json!({"messages": [{"role": "user", "content": "hi"}]});

    // 503 then 200: one retry after a short backoff.
    upstream.push_reply(Reply::json(
        503,
        &json!({"error": {"message": "overloaded"}}),
    ));
    let r = post_json(&url, &body, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(upstream.wait_for_requests(2, WAIT).await.len(), 2);
    gw.wait_for_request_logs(1, WAIT).await; // before the next request: lines by position

    // 429 with retry-after: 1 → waits about a second, then succeeds.
    upstream.clear_requests();
    upstream.push_reply(
        Reply::json(429, &json!({"error": {"message": "slow down"}}))
            .with_header("retry-after", "1"),
    );
    let t = std::time::Instant::now();
    let r = post_json(&url, &body, &[]).await;
    assert_eq!(r.status, 200);
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t.elapsed()
    );
    let reqs = upstream.wait_for_requests(2, WAIT).await;
    assert!(reqs[1].received_at.duration_since(reqs[0].received_at) >= Duration::from_millis(900));
    gw.wait_for_request_logs(2, WAIT).await;

    // retry-after longer than a retry may wait: no retry, the client gets the 429 at once.
    upstream.clear_requests();
    upstream.push_reply(
        Reply::json(429, &json!({"error": {"message": "slow down"}}))
            .with_header("retry-after", "30"),
    );
    let t = std::time::Instant::now();
    let r = post_json(&url, &body, &[]).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("30"));
    assert!(t.elapsed() < Duration::from_secs(1));
    assert_eq!(upstream.requests().len(), 1);

    let logs = gw.wait_for_request_logs(3, WAIT).await;
    assert_eq!(logs[0].get("llm.attempts"), Some("2"));
    assert_eq!(
        logs[0].get("llm.fallback_reason"),
        Some("flaky: status 503")
    );
}
