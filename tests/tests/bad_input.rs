//! Hostile input: every malformed request gets the right status in the client's shape, the
//! gateway never falls over, and the next good request succeeds.

use std::time::Duration;

use serde_json::json;
use sluice_tests::http::{post_json, post_raw};
use sluice_tests::{Gateway, MockUpstream, Ports, Reply};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WAIT: Duration = Duration::from_secs(10);

async fn gateway(upstream: &MockUpstream) -> Gateway {
    let yaml = Ports::new().render(
        "config:\n  adminAddr: {{admin}}\n  maxRequestBodyBytes: 100000\nlisteners:\n  - name: http\n    bind: {{listener}}\n    routes:\n      - name: bad\n        match: {pathPrefix: /bad}\n        backend: bad\n      - name: mock\n        match: {pathPrefix: /}\n        backend: mock\nbackends:\n  - name: mock\n    provider: mock\n  - name: bad\n    provider: gemini\n    model: g\n    apiKey: k\n    baseUrl: {{upstream}}\n",
        &[
            ("upstream", &upstream.base_url()),
        ],
    );
    Gateway::start(&yaml).await
}

async fn still_serves(gw: &Gateway) {
    let r = post_json(
        &format!("{}/v1/chat/completions", gw.base_url()),
        &json!({"messages": [{"role": "user", "content": "still there?"}]}),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test]
async fn malformed_bodies_get_400_in_the_clients_shape() {
    let upstream = MockUpstream::start(Reply::text(200, "unused")).await;
    let gw = gateway(&upstream).await;
    let chat = format!("{}/v1/chat/completions", gw.base_url());
    let messages = format!("{}/v1/messages", gw.base_url());
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "truncated",
            br#"{"messages": [{"role": "user", "content": "hi"#.to_vec(),
        ),
        (
            "wrong types",
            br#"{"messages": "hello", "temperature": "hot"}"#.to_vec(),
        ),
        (
            "deep nesting",
            format!(r#"{{"messages": {deep}}}"#).into_bytes(),
        ),
        (
            "invalid utf-8",
            b"{\"messages\": [{\"role\": \"user\", \"content\": \"\xff\xfe\"}]}".to_vec(),
        ),
        ("empty", Vec::new()),
        ("not an object", b"[1, 2, 3]".to_vec()),
    ];
    for (name, body) in &cases {
        let r = post_raw(&chat, body.clone(), &[("content-type", "application/json")]).await;
        assert_eq!(r.status, 400, "{name}: {}", r.text());
        assert_eq!(r.json()["error"]["type"], "invalid_request_error", "{name}");
        let r = post_raw(
            &messages,
            body.clone(),
            &[("content-type", "application/json")],
        )
        .await;
        assert_eq!(r.status, 400, "{name} (messages): {}", r.text());
        assert_eq!(r.json()["type"], "error", "{name}");
    }
    // A body over the limit without Content-Length (chunked) is cut off at the limit.
    let huge = vec![b' '; 200_000];
    let r = post_raw(&chat, huge, &[("transfer-encoding", "chunked")]).await;
    assert_eq!(r.status, 413, "{}", r.text());
    still_serves(&gw).await;
}

#[tokio::test]
async fn broken_upstream_answers_become_502() {
    let upstream = MockUpstream::start(Reply::text(200, "<html>not json</html>")).await;
    let gw = gateway(&upstream).await;
    let body = json!({"messages": [{"role": "user", "content": "hi"}]});
    let r = post_json(
        &format!("{}/bad/v1/chat/completions", gw.base_url()),
        &body,
        &[],
    )
    .await;
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(r.json()["error"]["type"], "api_error");
    gw.wait_for_request_logs(1, WAIT).await; // before the next request: lines by position
                                             // A stream of garbage ends the stream; the gateway carries on.
    upstream.push_reply(Reply::stream(
        200,
        vec![("content-type".into(), "text/event-stream".into())],
        vec![bytes::Bytes::from_static(
            b"data: {not json}\n\ndata: \xff\xff\n\n",
        )],
        Duration::from_millis(1),
    ));
    let mut sbody = body.clone();
    sbody["stream"] = json!(true);
    let s = sluice_tests::http::post_json_streaming(
        &format!("{}/bad/v1/chat/completions", gw.base_url()),
        &sbody,
        &[],
    )
    .await;
    let (_chunks, _err) = s.collect_chunks_lenient().await;
    let logs = gw.wait_for_request_logs(2, WAIT).await;
    assert!(
        logs[1]
            .get("error")
            .unwrap_or("")
            .contains("upstream stream"),
        "{:?}",
        logs[1]
    );
    still_serves(&gw).await;
}

#[tokio::test]
async fn header_floods_and_slow_clients_do_not_take_it_down() {
    let upstream = MockUpstream::start(Reply::text(200, "unused")).await;
    let gw = gateway(&upstream).await;
    let addr = gw.base_url().trim_start_matches("http://").to_string();
    // A request with a huge number of headers.
    let mut req = String::from("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n");
    for i in 0..5000 {
        req.push_str(&format!("x-flood-{i}: {}\r\n", "v".repeat(50)));
    }
    req.push_str("content-length: 2\r\n\r\n{}");
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let _ = s.write_all(req.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(WAIT, s.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || text.starts_with("HTTP/1.1 4"),
        "header flood answered: {}",
        &text[..text.len().min(200)]
    );
    // Slow clients: many connections that send half a request and stall.
    let mut stalled = Vec::new();
    for _ in 0..50 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{",
        )
        .await
        .unwrap();
        stalled.push(s);
    }
    still_serves(&gw).await;
    drop(stalled);
    still_serves(&gw).await;
}
