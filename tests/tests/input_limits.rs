//! Input limits: too many messages (400), a client too slow sending its body (408, the
//! connection closed and the worker freed), a stream running past `maxStreamDuration` (ended
//! with an error event in the client's format). Each answer in the client's API shape.

use std::time::{Duration, Instant};

use serde_json::json;
use sluice_tests::http::{chunks_text, post_json, post_json_streaming};
use sluice_tests::{Gateway, MockUpstream, Ports, Reply};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WAIT: Duration = Duration::from_secs(10);

const CONFIG: &str = r#"
config:
  adminAddr: {{admin}}
  maxMessages: 3
  maxStreamDuration: 1s
  requestReadTimeout: 1s
listeners:
  - name: http
    bind: {{listener}}
    routes:
      - name: slow
        match: {pathPrefix: /slow}
        backend: slow
      - name: mock
        match: {pathPrefix: /}
        backend: mock
backends:
  - name: mock
    provider: mock
  - name: slow
    provider: openai
    baseUrl: {{upstream}}
"#;

async fn gateway(upstream: &MockUpstream) -> Gateway {
    let yaml = Ports::new().render(CONFIG, &[("upstream", &upstream.base_url())]);
    Gateway::start(&yaml).await
}

fn messages(n: usize) -> serde_json::Value {
    (0..n)
        .map(|i| {
            let role = if i % 2 == 0 { "user" } else { "assistant" };
            json!({"role": role, "content": format!("message {i}")})
        })
        .collect()
}

#[tokio::test]
async fn too_many_messages_get_400_in_the_clients_shape() {
    let upstream = MockUpstream::start(Reply::text(200, "unused")).await;
    let gw = gateway(&upstream).await;
    let chat = format!("{}/v1/chat/completions", gw.base_url());
    let r = post_json(&chat, &json!({"model": "m", "messages": messages(4)}), &[]).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");
    let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(msg.contains("too many messages: 4 (at most 3"), "{msg}");
    assert!(msg.contains("config.maxMessages"), "{msg}");

    let anthropic = format!("{}/v1/messages", gw.base_url());
    let r = post_json(
        &anthropic,
        &json!({"model": "m", "max_tokens": 10, "messages": messages(5)}),
        &[],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["type"], "error");
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");

    // At the limit: served.
    let r = post_json(&chat, &json!({"model": "m", "messages": messages(3)}), &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

/// Reads from `s` until the peer closes or `limit` passes; what was read.
async fn read_until_closed(s: &mut tokio::net::TcpStream, limit: Duration) -> (String, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
        }
    }
}

#[tokio::test]
async fn a_client_too_slow_sending_its_body_gets_408() {
    let upstream = MockUpstream::start(Reply::text(200, "unused")).await;
    let gw = gateway(&upstream).await;
    let addr = gw.base_url().trim_start_matches("http://").to_string();
    let head = "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n";

    // A client trickling its body a byte at a time, each byte well within Pingora's own
    // per-read timeout: the whole body is due within requestReadTimeout (1 s).
    let started = Instant::now();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    let mut answer = String::new();
    for _ in 0..50 {
        if s.write_all(b" ").await.is_err() {
            break;
        }
        let mut buf = [0u8; 4096];
        match tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {
                answer.push_str(&String::from_utf8_lossy(&buf[..n]));
                break;
            }
            Ok(_) => break,
            Err(_) => {}
        }
    }
    let (rest, closed) = read_until_closed(&mut s, WAIT).await;
    answer.push_str(&rest);
    let took = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(answer.contains("config.requestReadTimeout"), "{answer:?}");
    assert!(
        answer.contains("\"invalid_request_error\"") || answer.contains("\"type\""),
        "{answer:?}"
    );
    assert!(closed, "the connection is closed after the 408");
    assert!(took < Duration::from_secs(5), "answered after {took:?}");

    // A client that sends the head and then nothing: the same 408.
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(b"{").await.unwrap();
    let (answer, closed) = read_until_closed(&mut s, WAIT).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(closed);

    // The Anthropic front door answers in its own shape.
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(
        head.replace("/v1/chat/completions", "/v1/messages")
            .as_bytes(),
    )
    .await
    .unwrap();
    let (answer, _) = read_until_closed(&mut s, WAIT).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(answer.contains("\"type\":\"error\""), "{answer:?}");

    let logs = gw.wait_for_request_logs(3, WAIT).await;
    assert!(
        logs.iter().all(|l| l.get_int("http.status") == Some(408)),
        "{logs:?}"
    );
    // And the gateway serves on.
    let r = post_json(
        &format!("{}/v1/chat/completions", gw.base_url()),
        &json!({"messages": [{"role": "user", "content": "still there?"}]}),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

fn chunk(text: &str) -> String {
    json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
           "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]})
    .to_string()
}

#[tokio::test]
async fn a_stream_longer_than_max_stream_duration_ends_with_an_error_event() {
    // Ten pieces 400 ms apart: 4 s in all, over the 1 s limit.
    let events: Vec<String> = (0..10).map(|i| chunk(&format!("piece{i} "))).collect();
    let upstream = MockUpstream::start(Reply::sse(&events, Duration::from_millis(400))).await;
    let gw = gateway(&upstream).await;
    let body = json!({"model": "m", "stream": true,
                      "messages": [{"role": "user", "content": "go on forever"}]});

    let started = Instant::now();
    let s = post_json_streaming(
        &format!("{}/slow/v1/chat/completions", gw.base_url()),
        &body,
        &[],
    )
    .await;
    assert_eq!(s.status, 200);
    let (chunks, _) = s.collect_chunks_lenient().await;
    let took = started.elapsed();
    let text = chunks_text(&chunks);
    assert!(took < Duration::from_secs(3), "the stream ran {took:?}");
    assert!(text.contains("piece0"), "{text}");
    assert!(!text.contains("piece9"), "{text}");
    let data = sluice_tests::http::sse_data(&text);
    let error = data
        .iter()
        .find(|d| d.contains("\"error\""))
        .unwrap_or_else(|| panic!("no error event in {text}"));
    assert!(error.contains("config.maxStreamDuration"), "{error}");
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "{text}");

    // The Anthropic front door gets an `event: error`.
    upstream.push_reply(Reply::sse(&events, Duration::from_millis(400)));
    let s = post_json_streaming(
        &format!("{}/slow/v1/messages", gw.base_url()),
        &json!({"model": "m", "max_tokens": 100, "stream": true,
                "messages": [{"role": "user", "content": "go on"}]}),
        &[],
    )
    .await;
    let (chunks, _) = s.collect_chunks_lenient().await;
    let text = chunks_text(&chunks);
    assert!(text.contains("event: error"), "{text}");
    assert!(text.contains("config.maxStreamDuration"), "{text}");

    let logs = gw.wait_for_request_logs(2, WAIT).await;
    for l in &logs {
        assert_eq!(l.get_int("http.status"), Some(200));
        assert!(
            l.get("error").unwrap_or("").contains("maxStreamDuration"),
            "{l:?}"
        );
    }
}
