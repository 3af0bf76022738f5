//! Each cloud provider end to end, over real HTTP to a mock of it: the OpenAI client's request
//! translated and authenticated as the provider wants (Anthropic `x-api-key` +
//! `anthropic-version`; Bedrock SigV4; Vertex OAuth bearer tokens from a static token or a
//! service-account exchange), answers and streams translated back, usage logged.

use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Value};
use sluice_providers::bedrock::eventstream::encode_event;
use sluice_tests::http::{chunks_text, post_json, post_json_streaming, sse_data};
use sluice_tests::{Gateway, MockUpstream, Ports, Reply};

const WAIT: Duration = Duration::from_secs(10);

fn fixture(path: &str) -> String {
    let dir = sluice_tests::gateway::workspace_dir().join("providers/tests/fixtures");
    std::fs::read_to_string(dir.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn chat(stream: bool) -> Value {
    json!({"model": "client-model", "stream": stream,
           "stream_options": {"include_usage": true},
           "messages": [{"role": "system", "content": "be brief"},
                        {"role": "user", "content": "Explain how AI works"}]})
}

/// The assembled content and the usage chunk of an OpenAI stream.
fn assemble(text: &str) -> (String, Value) {
    let mut content = String::new();
    let mut usage = Value::Null;
    for d in sse_data(text) {
        if d == "[DONE]" {
            continue;
        }
        let v: Value = serde_json::from_str(&d).unwrap();
        if let Some(c) = v["choices"][0]["delta"]["content"].as_str() {
            content.push_str(c);
        }
        if !v["usage"].is_null() {
            usage = v["usage"].clone();
        }
    }
    (content, usage)
}

async fn gateway(backend_yaml: &str, env: &[(&str, &str)]) -> Gateway {
    let yaml = Ports::new().render(
        "config:\n  adminAddr: {{admin}}\nlisteners:\n  - name: http\n    bind: {{listener}}\n    routes:\n      - name: r\n        match: {pathPrefix: /}\n        backend: b\nbackends:\n{{backend}}",
        &[
            ("backend", backend_yaml),
        ],
    );
    let mut builder = Gateway::builder(&yaml);
    for (k, v) in env {
        builder = builder.env(k, v);
    }
    builder.start().await
}

#[tokio::test]
async fn anthropic_upstream() {
    let upstream = MockUpstream::start(Reply::json(
        200,
        &serde_json::from_str(&fixture("anthropic/basic.anthropic-response.json")).unwrap(),
    ))
    .await;
    let backend = format!(
        "  - name: b\n    provider: anthropic\n    model: claude-sonnet-4-5\n    apiKey: sk-ant-test\n    baseUrl: {}\n",
        upstream.base_url()
    );
    let gw = gateway(&backend, &[]).await;
    let url = format!("{}/v1/chat/completions", gw.base_url());

    let r = post_json(&url, &chat(false), &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "AI learns patterns from examples, then uses them to predict."
    );
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    let up = &upstream.wait_for_requests(1, WAIT).await[0];
    assert_eq!(up.path, "/v1/messages");
    assert_eq!(up.header("x-api-key"), Some("sk-ant-test"));
    assert_eq!(up.header("anthropic-version"), Some("2023-06-01"));
    let body = up.json();
    assert_eq!(body["model"], "claude-sonnet-4-5");
    assert_eq!(body["system"], "be brief");
    assert_eq!(body["max_tokens"], 4096);
    gw.wait_for_request_logs(1, WAIT).await; // before the next request: lines by position

    // A stream: Anthropic events in, OpenAI chunks out, usage from message_delta (cumulative).
    let sse = fixture("anthropic/stream_text.anthropic.sse");
    let events: Vec<Bytes> = sse
        .split_inclusive("\n\n")
        .map(|e| Bytes::from(e.to_string()))
        .collect();
    upstream.push_reply(Reply::stream(
        200,
        vec![("content-type".into(), "text/event-stream".into())],
        events,
        Duration::from_millis(5),
    ));
    let s = post_json_streaming(&url, &chat(true), &[]).await;
    assert_eq!(s.status, 200);
    let text = chunks_text(&s.collect_chunks().await);
    let (content, usage) = assemble(&text);
    let expected = fixture("anthropic/stream_text.openai.sse");
    let (expected_content, expected_usage) = assemble(&expected);
    assert_eq!(content, expected_content);
    assert_eq!(usage, expected_usage);
    assert!(text.trim_end().ends_with("data: [DONE]"));

    let logs = gw.wait_for_request_logs(2, WAIT).await;
    for log in &logs {
        assert_eq!(log.get("llm.provider"), Some("anthropic"));
        assert!(log.get_int("llm.response.tokens").unwrap() > 0);
    }
    assert_eq!(
        logs[1].get_int("llm.response.tokens"),
        expected_usage["completion_tokens"].as_i64()
    );
}

#[tokio::test]
async fn bedrock_upstream_is_sigv4_signed() {
    let upstream = MockUpstream::start(Reply::json(
        200,
        &serde_json::from_str(&fixture("bedrock/basic.bedrock-response.json")).unwrap(),
    ))
    .await;
    let backend = format!(
        "  - name: b\n    provider: bedrock\n    model: anthropic.claude-3-5-sonnet-20240620-v1:0\n    region: us-east-1\n    baseUrl: {}\n",
        upstream.base_url()
    );
    let env = [
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        (
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
    ];
    let gw = gateway(&backend, &env).await;
    let url = format!("{}/v1/chat/completions", gw.base_url());
    let r = post_json(&url, &chat(false), &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let expected: Value =
        serde_json::from_str(&fixture("bedrock/basic.openai-response.json")).unwrap();
    assert_eq!(
        r.json()["choices"][0]["message"]["content"],
        expected["choices"][0]["message"]["content"]
    );
    let up = &upstream.wait_for_requests(1, WAIT).await[0];
    assert_eq!(
        up.path,
        "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
    );
    let auth = up.header("authorization").expect("signed");
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
            && auth.contains("/us-east-1/bedrock/aws4_request"),
        "{auth}"
    );
    assert!(up.header("x-amz-date").is_some());
    assert_eq!(up.json()["system"][0]["text"], "be brief");

    // ConverseStream: binary event-stream frames in, SSE out.
    let events: Value = serde_json::from_str(&fixture("bedrock/stream_text.events.json")).unwrap();
    let frames: Vec<Bytes> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            Bytes::from(encode_event(
                e[1].as_str().unwrap(),
                e[2].to_string().as_bytes(),
            ))
        })
        .collect();
    upstream.push_reply(Reply::stream(
        200,
        vec![(
            "content-type".into(),
            "application/vnd.amazon.eventstream".into(),
        )],
        frames,
        Duration::from_millis(5),
    ));
    let s = post_json_streaming(&url, &chat(true), &[]).await;
    assert_eq!(s.status, 200);
    let text = chunks_text(&s.collect_chunks().await);
    let (content, usage) = assemble(&text);
    let (expected_content, expected_usage) = assemble(&fixture("bedrock/stream_text.openai.sse"));
    assert_eq!(content, expected_content);
    assert_eq!(usage, expected_usage);
    let up = &upstream.wait_for_requests(2, WAIT).await[1];
    assert!(up.path.ends_with("/converse-stream"), "{}", up.path);
}

#[tokio::test]
async fn vertex_gemini_and_claude_with_a_static_token() {
    let gemini_answer: Value =
        serde_json::from_str(&fixture("gemini/basic.gemini-response.json")).unwrap();
    let upstream = MockUpstream::start(Reply::json(200, &gemini_answer)).await;
    let backend = format!(
        "  - name: b\n    provider: vertex\n    project: my-proj\n    location: us-east5\n    apiKey: ya29.static-token\n    baseUrl: {}\n",
        upstream.base_url()
    );
    let gw = gateway(&backend, &[]).await;
    let url = format!("{}/v1/chat/completions", gw.base_url());
    let mut req = chat(false);
    req["model"] = json!("gemini-2.0-flash");
    let r = post_json(&url, &req, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let up = &upstream.wait_for_requests(1, WAIT).await[0];
    assert_eq!(
        up.path,
        "/v1/projects/my-proj/locations/us-east5/publishers/google/models/gemini-2.0-flash:generateContent"
    );
    assert_eq!(up.header("authorization"), Some("Bearer ya29.static-token"));
    gw.wait_for_request_logs(1, WAIT).await; // before the next request: lines by position

    let claude_answer: Value =
        serde_json::from_str(&fixture("anthropic/basic.anthropic-response.json")).unwrap();
    upstream.push_reply(Reply::json(200, &claude_answer));
    req["model"] = json!("claude-sonnet-4@20250514");
    let r = post_json(&url, &req, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["choices"][0]["message"]["content"],
        "AI learns patterns from examples, then uses them to predict."
    );
    let up = &upstream.wait_for_requests(2, WAIT).await[1];
    assert_eq!(
        up.path,
        "/v1/projects/my-proj/locations/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514:rawPredict"
    );
    assert_eq!(up.json()["anthropic_version"], "vertex-2023-10-16");
    let logs = gw.wait_for_request_logs(2, WAIT).await;
    assert_eq!(logs[0].get("llm.provider"), Some("vertex"));
    assert_eq!(
        logs[1].get("llm.request.model"),
        Some("claude-sonnet-4@20250514")
    );
}

#[tokio::test]
async fn azure_deployments_with_api_key_or_entra_token() {
    let answer: Value =
        serde_json::from_str(&fixture("gemini/basic.openai-response.json")).unwrap();
    let upstream = MockUpstream::start(Reply::json(200, &answer)).await;
    for (auth_yaml, header, value) in [
        ("apiKey: azure-key", "api-key", "azure-key"),
        (
            "entraToken: eyJ0eXAi.entra",
            "authorization",
            "Bearer eyJ0eXAi.entra",
        ),
    ] {
        upstream.clear_requests();
        let backend = format!(
            "  - name: b\n    provider: azure\n    model: my-gpt4o\n    apiVersion: 2024-10-21\n    {auth_yaml}\n    baseUrl: {}\n",
            upstream.base_url()
        );
        let gw = gateway(&backend, &[]).await;
        let r = post_json(
            &format!("{}/v1/chat/completions", gw.base_url()),
            &chat(false),
            &[],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let up = &upstream.wait_for_requests(1, WAIT).await[0];
        assert_eq!(
            up.path,
            "/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(up.header(header), Some(value));
    }
}

#[tokio::test]
async fn an_https_upstream_is_called_over_tls_on_pooled_connections() {
    let answer = json!({"id": "x", "object": "chat.completion", "created": 1, "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "over tls"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}});
    let pieces: Vec<String> = ["secure ", "stream"]
        .iter()
        .map(|t| json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
            "choices": [{"index": 0, "delta": {"content": t}, "finish_reason": null}]}).to_string())
        .chain([json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
            "choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}}).to_string(),
            "[DONE]".to_string()])
        .collect();
    let upstream = MockUpstream::start(Reply::json(200, &answer)).await;
    let tls = sluice_tests::tls::TlsFront::start(upstream.addr()).await;
    let ca = sluice_tests::tls::ca_file();
    let gw = gateway(
        &format!(
            "  - name: b\n    provider: openai\n    model: gpt-4o\n    apiKey: sk-tls\n    baseUrl: {}\n",
            tls.base_url()
        ),
        &[("SSL_CERT_FILE", ca.to_str().unwrap())],
    )
    .await;
    let url = format!("{}/v1/chat/completions", gw.base_url());
    for _ in 0..3 {
        let r = post_json(&url, &chat(false), &[]).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["choices"][0]["message"]["content"], "over tls");
    }
    upstream.push_reply(Reply::sse(&pieces, Duration::ZERO));
    let s = post_json_streaming(&url, &chat(true), &[]).await;
    assert_eq!(s.status, 200);
    let (content, usage) = assemble(&chunks_text(&s.collect_chunks().await));
    assert_eq!(content, "secure stream");
    assert_eq!(usage["completion_tokens"], 2);

    let requests = upstream.requests();
    assert_eq!(requests.len(), 4);
    assert!(requests
        .iter()
        .all(|r| r.header("authorization") == Some("Bearer sk-tls")));
    // Four calls, one way in: the TLS connection was kept and reused.
    assert_eq!(tls.handshakes(), 1);
    let logs = gw.wait_for_request_logs(4, WAIT).await;
    assert!(logs.iter().all(|l| l.get("http.status") == Some("200")));
}
