//! Limits shared through Redis (`config.limits.redis`): two gateway processes pointing at one
//! real `redis-server` share each key's and route's budget exactly; the decision is on the
//! log line and in `/metrics`; when Redis dies, `failMode: open` admits (and counts the store
//! errors) and `failMode: closed` answers 503; the Redis password never shows.
//!
//! Skipped (with a message) when `redis-server` is not installed, except under `CI=true`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use sluice_tests::http::{get, post_json};
use sluice_tests::{Gateway, MockUpstream, Ports, RedisServer, Reply};

const WAIT: Duration = Duration::from_secs(10);

const CONFIG: &str = r#"
config:
  adminAddr: {{admin}}
  {{tracing}}
  limits:
    redis:
      url: {{redis}}
      failMode: {{fail_mode}}
      timeout: 2s
      prefix: "test:"
listeners:
  - name: http
    bind: {{listener}}
    auth:
      keys:
        - name: team-a
          key: sk-team-a
          limits: {requestsPerMinute: 10}
        - name: team-b
          key: sk-team-b
        - name: team-c
          key: sk-team-c
          limits: {requestsPerMinute: 100}
    routes:
      - name: metered
        match: {pathPrefix: /metered}
        backend: upstream
        limits: {tokensPerMinute: 250}
      - name: narrow
        match: {pathPrefix: /narrow}
        backend: mock
        limits: {requestsPerMinute: 1}
      - name: mock
        match: {pathPrefix: /}
        backend: mock
backends:
  - name: mock
    provider: mock
  - name: upstream
    provider: openai
    baseUrl: {{upstream}}
"#;

fn chat() -> serde_json::Value {
    json!({"model": "m", "messages": [{"role": "user", "content": "hello"}]})
}

/// An OpenAI answer reporting 100 tokens used.
fn hundred_tokens() -> Reply {
    Reply::json(
        200,
        &json!({"id": "x", "object": "chat.completion", "created": 1, "model": "m",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 60, "completion_tokens": 40, "total_tokens": 100}}),
    )
}

async fn gateway(redis: &str, fail_mode: &str, upstream: &MockUpstream) -> Gateway {
    traced_gateway(redis, fail_mode, upstream, "").await
}

/// As [`gateway`], with `tracing` as the config's tracing line.
async fn traced_gateway(
    redis: &str,
    fail_mode: &str,
    upstream: &MockUpstream,
    tracing: &str,
) -> Gateway {
    let yaml = Ports::new().render(
        CONFIG,
        &[
            ("redis", redis),
            ("fail_mode", fail_mode),
            ("upstream", &upstream.base_url()),
            ("tracing", tracing),
        ],
    );
    Gateway::start(&yaml).await
}

/// Limits count clock minutes: start a burst early in one (at most ~15 s of waiting), so it
/// cannot straddle two windows.
async fn early_in_a_minute() {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    if secs % 60 > 45 {
        tokio::time::sleep(Duration::from_secs(61 - secs % 60)).await;
    }
}

/// The value of one sample line of `/metrics` (0 when absent).
async fn metric(gw: &Gateway, sample: &str) -> f64 {
    let text = get(&format!("{}/metrics", gw.admin_url())).await.text();
    text.lines()
        .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// Sends `body` to `path` on `gw` as `key`, then waits for that request's log line (written
/// after its usage is reconciled), so the next request sees the real usage counted.
async fn send(gw: &Gateway, path: &str, key: &str, logged: usize) -> sluice_tests::http::Response {
    let auth = format!("Bearer {key}");
    let r = post_json(
        &format!("{}{path}", gw.base_url()),
        &chat(),
        &[("authorization", &auth)],
    )
    .await;
    gw.wait_for_request_logs(logged, WAIT).await;
    r
}

#[tokio::test]
async fn two_gateways_share_one_budget() {
    let Some(redis) = RedisServer::start_with_password(Some("s3cret-pw")).await else {
        return;
    };
    let upstream = MockUpstream::start(hundred_tokens()).await;
    let otlp = sluice_tests::OtlpReceiver::start_grpc().await;
    let tracing = format!("tracing: {{otlpEndpoint: '{}'}}", otlp.endpoint());
    let gws = [
        traced_gateway(&redis.url(), "open", &upstream, &tracing).await,
        gateway(&redis.url(), "open", &upstream).await,
    ];
    let mut logged = [0usize; 2];
    early_in_a_minute().await;

    // team-a: 10 requests a minute, whichever replica takes them. 20 requests alternating
    // between the two: exactly 10 admitted, 10 refused with retry-after.
    let mut statuses = Vec::new();
    for i in 0..20 {
        let g = i % 2;
        logged[g] += 1;
        let r = send(&gws[g], "/v1/chat/completions", "sk-team-a", logged[g]).await;
        if r.status == 429 {
            let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
            assert!((1..=60).contains(&retry), "retry-after {retry}");
            assert_eq!(r.json()["error"]["type"], "rate_limit_error");
            assert!(
                r.json()["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("key:team-a: 10 requests per minute"),
                "{}",
                r.text()
            );
        }
        statuses.push(r.status);
    }
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 429).count(),
        10,
        "{statuses:?}"
    );
    assert!(statuses[..10].iter().all(|&s| s == 200), "{statuses:?}");

    // The decision is on every log line of a limited request.
    for gw in &gws {
        let logs = gw.request_logs();
        assert!(logs
            .iter()
            .all(|l| matches!(l.get("llm.limit"), Some("allowed" | "refused"))));
        let refused: Vec<_> = logs
            .iter()
            .filter(|l| l.get("llm.limit") == Some("refused"))
            .collect();
        assert!(!refused.is_empty());
        assert!(refused
            .iter()
            .all(|l| l.get("llm.limit.scope") == Some("key:team-a")));
        assert!(logs
            .iter()
            .filter(|l| l.get("llm.limit") == Some("allowed"))
            .all(|l| !l.has("llm.limit.scope")));
    }
    // The span carries it too: wait for all 10 of the traced replica (they arrive in batches).
    let spans = otlp
        .wait_for_spans_matching(10, WAIT, |s| s.str_attr("llm.limit").is_some())
        .await;
    assert!(
        spans
            .iter()
            .any(|s| s.str_attr("llm.limit") == Some("allowed")
                && s.attr("llm.limit.scope").is_none())
    );
    assert!(spans
        .iter()
        .any(|s| s.str_attr("llm.limit") == Some("refused")
            && s.str_attr("llm.limit.scope") == Some("key:team-a")));
    // And in /metrics, summed over both replicas.
    let mut allowed = 0.0;
    let mut refused = 0.0;
    for gw in &gws {
        allowed += metric(
            gw,
            "sluice_limit_decisions_total{scope=\"key:team-a\",decision=\"allowed\"}",
        )
        .await;
        refused += metric(
            gw,
            "sluice_limit_decisions_total{scope=\"key:team-a\",decision=\"refused\"}",
        )
        .await;
    }
    assert_eq!((allowed, refused), (10.0, 10.0));

    // team-b has no limit of its own: no decision on its line (the no-limit path).
    logged[0] += 1;
    let r = send(&gws[0], "/v1/chat/completions", "sk-team-b", logged[0]).await;
    assert_eq!(r.status, 200);
    let last = gws[0].request_logs().pop().unwrap();
    assert!(!last.has("llm.limit"), "{last:?}");

    // Tokens per minute, shared: the route allows 250 tokens a minute and each answer uses
    // 100 (the prompt's small estimate is replaced by the real usage once it is known). So
    // 0, 100, 200 tokens used before the first three requests: admitted; 300 before the
    // fourth: refused, on either replica.
    let mut statuses = Vec::new();
    for i in 0..6 {
        let g = i % 2;
        logged[g] += 1;
        statuses.push(
            send(
                &gws[g],
                "/metered/v1/chat/completions",
                "sk-team-b",
                logged[g],
            )
            .await
            .status,
        );
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429, 429]);
    let last = gws[1].request_logs().pop().unwrap();
    assert_eq!(last.get("llm.limit.scope"), Some("route:metered"));

    // All or nothing across scopes: team-c (100 a minute) on a route that takes one request a
    // minute. The route refuses the next four; team-c is charged for none of them.
    logged[0] += 1;
    assert_eq!(
        send(
            &gws[0],
            "/narrow/v1/chat/completions",
            "sk-team-c",
            logged[0]
        )
        .await
        .status,
        200
    );
    for i in 0..4 {
        let g = i % 2;
        logged[g] += 1;
        let r = send(
            &gws[g],
            "/narrow/v1/chat/completions",
            "sk-team-c",
            logged[g],
        )
        .await;
        assert_eq!(r.status, 429);
        assert!(
            r.text().contains("route:narrow: 1 requests per minute"),
            "{}",
            r.text()
        );
    }
    let keys = redis.command("KEYS test:key:team-c:*").await.unwrap();
    let counter = keys
        .lines()
        .find(|l| l.starts_with("test:key:team-c:") && l.ends_with(":r"))
        .unwrap_or_else(|| panic!("no team-c counter in {keys:?}"))
        .to_string();
    let used = redis.command(&format!("GET {counter}")).await.unwrap();
    assert_eq!(used, "$1\r\n1\r\n", "team-c charged for refused requests");
    let ttl = redis.command(&format!("TTL {counter}")).await.unwrap();
    let ttl: i64 = ttl.trim().trim_start_matches(':').parse().unwrap();
    assert!((1..=120).contains(&ttl), "counters expire: ttl {ttl}");
    let keys = redis.command("KEYS test:*").await.unwrap();
    assert!(
        !keys.contains("test:key:team-b"),
        "an unlimited key is not counted: {keys}"
    );

    // The password is never printed: not in logs, not in /config.
    for gw in &gws {
        assert!(!gw.log_lines().iter().any(|l| l.contains("s3cret-pw")));
        assert!(!gw.stderr_lines().iter().any(|l| l.contains("s3cret-pw")));
        let config = get(&format!("{}/config", gw.admin_url())).await.text();
        assert!(!config.contains("s3cret-pw"), "{config}");
        assert!(config.contains("<redacted>@127.0.0.1"), "{config}");
    }
}

#[tokio::test]
async fn the_shared_budget_holds_under_concurrency() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let upstream = MockUpstream::start(hundred_tokens()).await;
    let a = gateway(&redis.url(), "open", &upstream).await;
    let b = gateway(&redis.url(), "open", &upstream).await;
    // Each replica connects to Redis on its first limited request: make that one before the
    // burst (team-c has a budget of its own).
    assert_eq!(
        send(&a, "/v1/chat/completions", "sk-team-c", 1)
            .await
            .status,
        200
    );
    assert_eq!(
        send(&b, "/v1/chat/completions", "sk-team-c", 1)
            .await
            .status,
        200
    );
    early_in_a_minute().await;
    // 30 requests at once, half on each replica: the admission script is atomic, so exactly
    // 10 get through.
    let mut calls = Vec::new();
    for i in 0..30 {
        let url = format!(
            "{}/v1/chat/completions",
            if i % 2 == 0 {
                a.base_url()
            } else {
                b.base_url()
            }
        );
        calls.push(tokio::spawn(async move {
            post_json(&url, &chat(), &[("authorization", "Bearer sk-team-a")])
                .await
                .status
        }));
    }
    let mut ok = 0;
    let mut limited = 0;
    for c in calls {
        match c.await.unwrap() {
            200 => ok += 1,
            429 => limited += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    let decisions = |gw: &Gateway| {
        gw.request_logs()
            .iter()
            .map(|l| l.get("llm.limit").unwrap_or("-").to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        (ok, limited),
        (10, 20),
        "decisions: {:?} {:?}",
        decisions(&a),
        decisions(&b)
    );
}

#[tokio::test]
async fn when_redis_dies_open_admits_and_closed_refuses() {
    let Some(mut redis) = RedisServer::start().await else {
        return;
    };
    let upstream = MockUpstream::start(hundred_tokens()).await;
    let open = gateway(&redis.url(), "open", &upstream).await;
    let closed = gateway(&redis.url(), "closed", &upstream).await;
    early_in_a_minute().await;
    assert_eq!(
        send(&open, "/v1/chat/completions", "sk-team-a", 1)
            .await
            .status,
        200
    );
    assert_eq!(
        send(&closed, "/v1/chat/completions", "sk-team-a", 1)
            .await
            .status,
        200
    );
    assert_eq!(metric(&open, "sluice_limit_store_errors_total").await, 0.0);

    redis.kill().await;

    // failMode: open admits, uncounted; the store error is counted and logged.
    for n in 2..=6 {
        let r = send(&open, "/v1/chat/completions", "sk-team-a", n).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let logs = open.request_logs();
    assert!(
        logs[1..]
            .iter()
            .all(|l| l.get("llm.limit") == Some("fail_open")),
        "{logs:?}"
    );
    assert!(metric(&open, "sluice_limit_store_errors_total").await >= 1.0);
    assert!(
        metric(
            &open,
            "sluice_limit_decisions_total{scope=\"key:team-a\",decision=\"fail_open\"}"
        )
        .await
            >= 5.0
    );
    // One warning, not one per request.
    let warnings = open
        .wait_for_log_lines(|l| l.contains("limit store (Redis) unavailable"), 1, WAIT)
        .await;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].starts_with("warn "), "{warnings:?}");

    // failMode: closed refuses with 503 in the client's shape, and a retry-after.
    let r = send(&closed, "/v1/chat/completions", "sk-team-a", 2).await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.json()["error"]["type"], "api_error");
    let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(msg.contains("failMode is closed"), "{msg}");
    assert_eq!(r.header("retry-after"), Some("1"));
    closed.wait_for_request_logs(2, WAIT).await; // before the next request: lines by position
    let auth = [("x-api-key", "sk-team-a")];
    let r = post_json(
        &format!("{}/v1/messages", closed.base_url()),
        &json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}),
        &auth,
    )
    .await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.json()["type"], "error");
    let last = closed.wait_for_request_logs(3, WAIT).await.pop().unwrap();
    assert_eq!(last.get("llm.limit"), Some("fail_closed"));
    assert!(metric(&closed, "sluice_limit_store_errors_total").await >= 1.0);
    // A request no limit applies to never touches Redis: still served.
    assert_eq!(
        send(&closed, "/v1/chat/completions", "sk-team-b", 4)
            .await
            .status,
        200
    );

    // Redis back: counting resumes (within the second of back-off and a reconnect).
    redis.restart().await;
    let back = sluice_tests::poll_until(WAIT, Duration::from_millis(200), || async {
        let auth = [("authorization", "Bearer sk-team-a")];
        let r = post_json(
            &format!("{}/v1/chat/completions", closed.base_url()),
            &chat(),
            &auth,
        )
        .await;
        (r.status == 200).then_some(())
    })
    .await;
    assert!(back.is_some(), "{}", closed.output_report());
}
