//! Virtual keys and limits: a keyed listener refuses requests without a valid key (401 in the
//! client's shape), never forwards the key upstream, and holds each key and route to its
//! requests and tokens per minute (429 with retry-after).

use std::time::Duration;

use serde_json::json;
use sluice_tests::http::post_json;
use sluice_tests::{Gateway, MockUpstream, Ports, Reply};

const WAIT: Duration = Duration::from_secs(10);

const CONFIG: &str = r#"
config:
  adminAddr: {{admin}}
listeners:
  - name: http
    bind: {{listener}}
    auth:
      keys:
        - name: team-a
          key: $TEAM_A_KEY
          limits: {requestsPerMinute: 2}
        - name: team-b
          keyHash: "sha256:{{team_b_hash}}"
    routes:
      - name: upstream
        match: {pathPrefix: /up}
        backend: open
      - name: tight
        match: {pathPrefix: /tight}
        backend: mock
        limits: {tokensPerMinute: 30}
      - name: mock
        match: {pathPrefix: /}
        backend: mock
backends:
  - name: mock
    provider: mock
  - name: open
    provider: openai
    baseUrl: {{upstream}}
"#;

/// SHA-256 of "sk-team-b" (computed with `printf sk-team-b | sha256sum`).
const TEAM_B_HASH: &str = "292d075b18c9240a48b848c521422c5f418f7dd16b5c66755fe58d0fb6a43e1f";

fn chat() -> serde_json::Value {
    json!({"model": "m", "messages": [{"role": "user", "content": "hello there"}]})
}

#[tokio::test]
async fn keys_are_required_checked_and_limited() {
    let upstream = MockUpstream::start(Reply::json(
        200,
        &json!({"id": "x", "object": "chat.completion", "created": 1, "model": "m",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}),
    ))
    .await;
    let yaml = Ports::new().render(
        CONFIG,
        &[
            ("team_b_hash", TEAM_B_HASH),
            ("upstream", &upstream.base_url()),
        ],
    );
    let gw = Gateway::builder(&yaml)
        .env("TEAM_A_KEY", "sk-team-a")
        .start()
        .await;
    let base = gw.base_url();
    let url = format!("{base}/v1/chat/completions");

    // No key, a wrong key: 401 in the client's shape.
    let r = post_json(&url, &chat(), &[]).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["type"], "authentication_error");
    let r = post_json(&url, &chat(), &[("authorization", "Bearer sk-wrong")]).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["message"], "invalid API key");
    let r = post_json(
        &format!("{base}/v1/messages"),
        &json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}),
        &[],
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["type"], "error");

    // team-a: two requests a minute, then 429 with retry-after.
    let a = [("authorization", "Bearer sk-team-a")];
    assert_eq!(post_json(&url, &chat(), &a).await.status, 200);
    assert_eq!(post_json(&url, &chat(), &a).await.status, 200);
    let r = post_json(&url, &chat(), &a).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["error"]["type"], "rate_limit_error");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");

    // team-b (by hash, via x-api-key) is unaffected.
    let b = [("x-api-key", "sk-team-b")];
    assert_eq!(post_json(&url, &chat(), &b).await.status, 200);

    // The client's key never reaches the provider, even for a backend without a key.
    let r = post_json(&format!("{base}/up/v1/chat/completions"), &chat(), &b).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let up = &upstream.wait_for_requests(1, WAIT).await[0];
    assert_eq!(up.header("authorization"), None);
    assert_eq!(up.header("x-api-key"), None);

    // A route's tokens per minute: the first request fits, the next does not.
    let tight = format!("{base}/tight/v1/chat/completions");
    assert_eq!(post_json(&tight, &chat(), &b).await.status, 200);
    // Its real usage replaces the estimate when it ends, before its log line is written (the
    // answer may reach the client a moment earlier): wait for the line.
    let deadline = tokio::time::Instant::now() + WAIT;
    while !gw
        .request_logs()
        .iter()
        .any(|l| l.get("http.path") == Some("/tight/v1/chat/completions"))
    {
        assert!(tokio::time::Instant::now() < deadline, "no log line");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let r = post_json(&tight, &chat(), &b).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("route:tight: 30 tokens per minute"));

    // Nothing logs a key.
    assert!(!gw
        .log_lines()
        .iter()
        .any(|l| l.contains("sk-team-a") || l.contains("sk-team-b")));
}
