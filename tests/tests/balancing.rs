//! Backends with several targets: round robin and weighted selection across endpoints and
//! keys, passive ejection of a failing endpoint (and its return after the cool-down), and
//! active health checks. The client sees only 200s while a target fails: the call moves to
//! another target of the same backend at once. Assertions are on which mock got how many
//! calls, the log line's `endpoint` and the `/metrics` endpoint families.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sluice_tests::http::{get, post_json};
use sluice_tests::{free_port, Gateway, LogLine, MockUpstream, Ports, Reply};

const WAIT: Duration = Duration::from_secs(10);

/// A gateway with one route to backend `pool` (provider openai, model `m`), the rest of
/// whose keys are `backend` (indented four spaces).
async fn gateway(backend: &str, vars: &[(&str, &str)]) -> Gateway {
    Gateway::start_with_routes(
        &format!(
            "      - name: r\n        match: {{pathPrefix: /}}\n        backend: pool\nbackends:\n  - name: pool\n    provider: openai\n    model: m\n{backend}"
        ),
        vars,
    )
    .await
}

fn answer(who: &str) -> Reply {
    Reply::json(
        200,
        &json!({"id": "x", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": who}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}),
    )
}

fn failure(status: u16) -> Reply {
    Reply::json(status, &json!({"error": {"message": "down"}}))
}

/// Sends `n` chat requests one after the other; every answer must be a 200.
async fn chat(gw: &Gateway, n: usize) -> Vec<String> {
    let url = format!("{}/v1/chat/completions", gw.base_url());
    let body = json!({"messages": [{"role": "user", "content": "hi"}]});
    let mut contents = Vec::new();
    for _ in 0..n {
        let logged = gw.request_logs().len();
        let r = post_json(&url, &body, &[]).await;
        assert_eq!(r.status, 200, "{}", r.text());
        gw.wait_for_request_logs(logged + 1, WAIT).await; // lines in request order
        contents.push(
            r.json()["choices"][0]["message"]["content"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }
    contents
}

/// Chat calls a mock received (health probes left out).
fn chats(mock: &MockUpstream) -> usize {
    mock.requests()
        .iter()
        .filter(|r| r.path.ends_with("/chat/completions"))
        .count()
}

fn endpoint_of(mock: &MockUpstream) -> String {
    mock.addr().to_string()
}

fn count_endpoint(logs: &[LogLine], endpoint: &str) -> usize {
    logs.iter()
        .filter(|l| l.get("endpoint") == Some(endpoint))
        .count()
}

/// The value of `name{backend="pool",endpoint="<endpoint>"}` on `/metrics`.
async fn metric(gw: &Gateway, name: &str, endpoint: &str) -> Option<String> {
    let labels = format!("backend=\"pool\",endpoint=\"{endpoint}\"");
    sluice_tests::metrics::metric(gw, name, &labels).await
}

async fn wait_metric(gw: &Gateway, name: &str, endpoint: &str, value: &str) {
    let labels = format!("backend=\"pool\",endpoint=\"{endpoint}\"");
    sluice_tests::metrics::wait_metric(gw, name, &labels, value, WAIT).await;
}

#[tokio::test]
async fn round_robin_sends_calls_to_both_endpoints_with_their_keys() {
    let a = MockUpstream::start(answer("a")).await;
    let b = MockUpstream::start(answer("b")).await;
    let gw = gateway(
        "    apiKey: k\n    endpoints:\n      - url: {{a}}\n        apiKey: key-of-a\n      - url: {{b}}\n",
        &[("a", &a.base_url()), ("b", &b.base_url())],
    )
    .await;
    let contents = chat(&gw, 10).await;
    // Strictly in turn, starting with the first endpoint.
    let expected: Vec<&str> = (0..10)
        .map(|i| if i % 2 == 0 { "a" } else { "b" })
        .collect();
    assert_eq!(contents, expected);
    assert_eq!((chats(&a), chats(&b)), (5, 5));
    // The endpoint's own key replaces the backend's; the other endpoint uses the backend's.
    assert!(a
        .requests()
        .iter()
        .all(|r| r.header("authorization") == Some("Bearer key-of-a")));
    assert!(b
        .requests()
        .iter()
        .all(|r| r.header("authorization") == Some("Bearer k")));
    let logs = gw.wait_for_request_logs(10, WAIT).await;
    assert_eq!(count_endpoint(&logs, &endpoint_of(&a)), 5);
    assert_eq!(count_endpoint(&logs, &endpoint_of(&b)), 5);
    assert!(logs.iter().all(|l| l.get("llm.attempts").is_none()));
    // Keys appear nowhere: not in /config, not in the output.
    let config = get(&format!("{}/config", gw.admin_url())).await.text();
    assert!(!config.contains("key-of-a"), "{config}");
    assert!(config.contains("<redacted>"), "{config}");
    assert!(!gw.log_lines().join("\n").contains("key-of-a"));
    // Both take traffic.
    for mock in [&a, &b] {
        wait_metric(&gw, "sluice_endpoint_healthy", &endpoint_of(mock), "1").await;
    }
}

#[tokio::test]
async fn several_keys_on_one_url_take_turns() {
    let up = MockUpstream::start(answer("ok")).await;
    let gw = gateway(
        "    apiKeys: [first-key, second-key]\n    baseUrl: {{up}}\n",
        &[("up", &up.base_url())],
    )
    .await;
    chat(&gw, 6).await;
    let keys: Vec<String> = up
        .requests()
        .iter()
        .map(|r| r.header("authorization").unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        keys,
        [
            "Bearer first-key",
            "Bearer second-key",
            "Bearer first-key",
            "Bearer second-key",
            "Bearer first-key",
            "Bearer second-key"
        ]
    );
    // Targets sharing host:port are told apart by their position, never by the key.
    let logs = gw.wait_for_request_logs(6, WAIT).await;
    let endpoint = endpoint_of(&up);
    assert_eq!(count_endpoint(&logs, &format!("{endpoint}#1")), 3);
    assert_eq!(count_endpoint(&logs, &format!("{endpoint}#2")), 3);
    let out = gw.log_lines().join("\n");
    assert!(!out.contains("first-key") && !out.contains("second-key"));
}

#[tokio::test]
async fn weighted_three_to_one() {
    let heavy = MockUpstream::start(answer("heavy")).await;
    let light = MockUpstream::start(answer("light")).await;
    let gw = gateway(
        "    apiKey: k\n    loadBalancing: weighted\n    endpoints:\n      - url: {{heavy}}\n        weight: 3\n      - url: {{light}}\n        weight: 1\n",
        &[("heavy", &heavy.base_url()), ("light", &light.base_url())],
    )
    .await;
    chat(&gw, 40).await;
    let (h, l) = (chats(&heavy), chats(&light));
    assert_eq!(h + l, 40);
    assert!((27..=33).contains(&h), "heavy {h}, light {l}");
    let logs = gw.wait_for_request_logs(40, WAIT).await;
    assert_eq!(count_endpoint(&logs, &endpoint_of(&heavy)), h);
    assert_eq!(count_endpoint(&logs, &endpoint_of(&light)), l);
}

#[tokio::test]
async fn a_refusing_endpoint_is_ejected_and_the_client_sees_only_200s() {
    let good = MockUpstream::start(answer("good")).await;
    let dead = format!("127.0.0.1:{}", free_port());
    let gw = gateway(
        "    apiKey: k\n    connectTimeout: 2s\n    endpoints:\n      - url: http://{{dead}}\n      - url: {{good}}\n    outlierDetection: {consecutiveFailures: 2, ejectFor: 60s}\n",
        &[("dead", &dead), ("good", &good.base_url())],
    )
    .await;
    let contents = chat(&gw, 12).await;
    assert!(contents.iter().all(|c| c == "good"), "{contents:?}");
    assert_eq!(chats(&good), 12);
    let logs = gw.wait_for_request_logs(12, WAIT).await;
    // The log line names the endpoint that finally served.
    assert_eq!(count_endpoint(&logs, &endpoint_of(&good)), 12);
    // Two calls met the dead endpoint first (then it was ejected): two attempts each.
    let walked: Vec<&LogLine> = logs
        .iter()
        .filter(|l| l.get("llm.attempts") == Some("2"))
        .collect();
    assert_eq!(walked.len(), 2, "{logs:#?}");
    for l in walked {
        let reason = l.get("llm.fallback_reason").unwrap_or_default();
        assert!(
            reason.starts_with("pool: ") && reason.contains(&dead),
            "{reason}"
        );
    }
    wait_metric(&gw, "sluice_endpoint_ejections_total", &dead, "1").await;
    wait_metric(&gw, "sluice_endpoint_healthy", &dead, "0").await;
    wait_metric(&gw, "sluice_endpoint_healthy", &endpoint_of(&good), "1").await;
    assert!(gw
        .log_lines()
        .iter()
        .any(|l| l.starts_with("warn endpoint") && l.contains(&dead) && l.contains("ejected")));
}

#[tokio::test]
async fn a_500ing_endpoint_gets_exactly_n_calls_before_its_ejection() {
    let bad = MockUpstream::start(failure(500)).await;
    let good = MockUpstream::start(answer("good")).await;
    let gw = gateway(
        "    apiKey: k\n    endpoints:\n      - url: {{bad}}\n      - url: {{good}}\n    outlierDetection: {consecutiveFailures: 3, ejectFor: 60s}\n",
        &[("bad", &bad.base_url()), ("good", &good.base_url())],
    )
    .await;
    let contents = chat(&gw, 12).await;
    assert!(contents.iter().all(|c| c == "good"), "{contents:?}");
    assert_eq!(chats(&bad), 3);
    assert_eq!(chats(&good), 12);
    let logs = gw.wait_for_request_logs(12, WAIT).await;
    let reasons: Vec<&str> = logs
        .iter()
        .filter_map(|l| l.get("llm.fallback_reason"))
        .collect();
    let expected = format!("pool: status 500 from {}", endpoint_of(&bad));
    assert_eq!(reasons, [expected.as_str(); 3]);
    wait_metric(
        &gw,
        "sluice_endpoint_ejections_total",
        &endpoint_of(&bad),
        "1",
    )
    .await;
}

#[tokio::test]
async fn an_ejected_endpoint_returns_after_its_cool_down() {
    let flaky = MockUpstream::start(answer("flaky")).await;
    flaky.push_reply(failure(503));
    flaky.push_reply(failure(503));
    let steady = MockUpstream::start(answer("steady")).await;
    let gw = gateway(
        "    apiKey: k\n    endpoints:\n      - url: {{flaky}}\n      - url: {{steady}}\n    outlierDetection: {consecutiveFailures: 2, ejectFor: 1s}\n",
        &[("flaky", &flaky.base_url()), ("steady", &steady.base_url())],
    )
    .await;
    // Two calls meet the two 503s (each then served by `steady`): ejected.
    let contents = chat(&gw, 4).await;
    assert!(contents.iter().all(|c| c == "steady"), "{contents:?}");
    let ejected_at = Instant::now();
    assert_eq!(chats(&flaky), 2);
    let flaky_endpoint = endpoint_of(&flaky);
    assert_eq!(
        metric(&gw, "sluice_endpoint_healthy", &flaky_endpoint)
            .await
            .as_deref(),
        Some("0")
    );
    // While it cools down, nothing goes there.
    while ejected_at.elapsed() < Duration::from_millis(300) {
        chat(&gw, 1).await;
    }
    assert_eq!(chats(&flaky), 2, "a call reached the ejected endpoint");
    // After the cool-down: a trial call, which succeeds and restores it to its turn.
    tokio::time::sleep(Duration::from_millis(1200).saturating_sub(ejected_at.elapsed())).await;
    let before = gw.request_logs().len();
    let contents = chat(&gw, 6).await;
    assert_eq!(
        contents.iter().filter(|c| *c == "flaky").count(),
        3,
        "{contents:?}"
    );
    assert_eq!(chats(&flaky), 5);
    let logs = gw.wait_for_request_logs(before + 6, WAIT).await;
    assert_eq!(count_endpoint(&logs[before..], &flaky_endpoint), 3);
    wait_metric(&gw, "sluice_endpoint_healthy", &flaky_endpoint, "1").await;
    wait_metric(&gw, "sluice_endpoint_ejections_total", &flaky_endpoint, "1").await;
    assert!(gw
        .log_lines()
        .iter()
        .any(|l| l.contains(&flaky_endpoint) && l.contains("restored")));
}

#[tokio::test]
async fn the_active_health_check_takes_a_target_out_and_back() {
    let health = Arc::new(AtomicU16::new(200));
    let status = health.clone();
    let a = MockUpstream::start_with_handler(move |req| {
        if req.path == "/healthz" {
            Reply::text(status.load(Ordering::SeqCst), "")
        } else {
            answer("a")
        }
    })
    .await;
    let b = MockUpstream::start_with_handler(|req| {
        if req.path == "/healthz" {
            Reply::text(200, "ok")
        } else {
            answer("b")
        }
    })
    .await;
    let gw = gateway(
        "    apiKey: k\n    endpoints:\n      - url: {{a}}\n      - url: {{b}}\n    healthCheck: {path: /healthz, interval: 100ms, timeout: 1s, expectStatus: 200}\n",
        &[("a", &a.base_url()), ("b", &b.base_url())],
    )
    .await;
    // Probes arrive, with the target's host and credentials.
    let probes = a.wait_for_requests(1, WAIT).await;
    assert_eq!(probes[0].method, "GET");
    assert_eq!(probes[0].path, "/healthz");
    assert_eq!(probes[0].header("authorization"), Some("Bearer k"));
    assert_eq!(probes[0].header("host"), Some(endpoint_of(&a).as_str()));
    let a_endpoint = endpoint_of(&a);
    wait_metric(&gw, "sluice_endpoint_healthy", &a_endpoint, "1").await;

    // Down: traffic avoids it entirely.
    health.store(503, Ordering::SeqCst);
    wait_metric(&gw, "sluice_endpoint_healthy", &a_endpoint, "0").await;
    let contents = chat(&gw, 6).await;
    assert!(contents.iter().all(|c| c == "b"), "{contents:?}");
    assert_eq!(chats(&a), 0);
    assert!(gw
        .log_lines()
        .iter()
        .any(|l| l.contains(&a_endpoint) && l.contains("becomes unhealthy")));

    // Up again: back in turn.
    health.store(200, Ordering::SeqCst);
    wait_metric(&gw, "sluice_endpoint_healthy", &a_endpoint, "1").await;
    let contents = chat(&gw, 6).await;
    assert_eq!(
        contents.iter().filter(|c| *c == "a").count(),
        3,
        "{contents:?}"
    );
    assert_eq!(chats(&a), 3);
    let logs = gw.wait_for_request_logs(12, WAIT).await;
    assert_eq!(count_endpoint(&logs[6..], &a_endpoint), 3);
    // No passive ejection happened: the health check did it all.
    assert_eq!(
        metric(&gw, "sluice_endpoint_ejections_total", &a_endpoint).await,
        None
    );
}

#[tokio::test]
async fn all_endpoints_ejected_fails_over_to_the_next_backend() {
    let bad = MockUpstream::start(failure(500)).await;
    let backup = MockUpstream::start(answer("backup")).await;
    let gw = Gateway::start_with_routes(
        "      - name: r\n        match: {pathPrefix: /}\n        backends: [pool, backup]\nbackends:\n  - name: pool\n    provider: openai\n    model: m\n    apiKeys: [k1, k2]\n    baseUrl: {{bad}}\n    outlierDetection: {consecutiveFailures: 1, ejectFor: 60s}\n  - name: backup\n    provider: openai\n    model: m\n    apiKey: k\n    baseUrl: {{backup}}\n",
        &[("bad", &bad.base_url()), ("backup", &backup.base_url())],
    )
    .await;
    let contents = chat(&gw, 3).await;
    assert!(contents.iter().all(|c| c == "backup"), "{contents:?}");
    // Both keys failed once (one call), then the backend fails fast.
    assert_eq!(chats(&bad), 2);
    let logs = gw.wait_for_request_logs(3, WAIT).await;
    assert_eq!(logs[0].get("llm.attempts"), Some("3"));
    assert_eq!(logs[1].get("llm.attempts"), Some("2"));
    assert_eq!(
        logs[1].get("llm.fallback_reason"),
        Some("pool: all endpoints of pool ejected or failing their health check")
    );
    assert_eq!(count_endpoint(&logs, &endpoint_of(&backup)), 3);
}

#[tokio::test]
async fn embeddings_are_balanced_and_fail_over_within_the_backend() {
    let embedding = Reply::json(
        200,
        &json!({"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.5]}],
                "model": "m", "usage": {"prompt_tokens": 2, "total_tokens": 2}}),
    );
    let bad = MockUpstream::start(failure(502)).await;
    let good = MockUpstream::start(embedding).await;
    let gw = gateway(
        "    apiKey: k\n    endpoints:\n      - url: {{bad}}\n      - url: {{good}}\n        apiKey: key-of-good\n    outlierDetection: {consecutiveFailures: 2, ejectFor: 60s}\n",
        &[("bad", &bad.base_url()), ("good", &good.base_url())],
    )
    .await;
    let url = format!("{}/v1/embeddings", gw.base_url());
    for _ in 0..4 {
        let r = post_json(&url, &json!({"model": "m", "input": "hi"}), &[]).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["data"][0]["embedding"], json!([0.5]));
    }
    let calls = |m: &MockUpstream| {
        m.requests()
            .iter()
            .filter(|r| r.path.ends_with("/embeddings"))
            .count()
    };
    assert_eq!((calls(&bad), calls(&good)), (2, 4));
    assert!(good
        .requests()
        .iter()
        .all(|r| r.header("authorization") == Some("Bearer key-of-good")));
    let logs = gw.wait_for_request_logs(4, WAIT).await;
    assert_eq!(count_endpoint(&logs, &endpoint_of(&good)), 4);
    wait_metric(
        &gw,
        "sluice_endpoint_ejections_total",
        &endpoint_of(&bad),
        "1",
    )
    .await;
}

#[tokio::test]
async fn a_reload_replaces_the_balancers_and_their_health_checks() {
    let a = MockUpstream::start_with_handler(|req| {
        if req.path == "/healthz" {
            Reply::text(503, "")
        } else {
            answer("a")
        }
    })
    .await;
    let b = MockUpstream::start(answer("b")).await;
    let ports = Ports::new();
    let template = "config:\n  adminAddr: {{admin}}\nlisteners:\n  - name: http\n    bind: {{listener}}\n    routes:\n      - name: r\n        match: {pathPrefix: /}\n        backend: pool\nbackends:\n  - name: pool\n    provider: openai\n    model: m\n    apiKey: k\n    endpoints:\n      - url: {{a}}\n      - url: {{b}}\n";
    let (a_url, b_url) = (a.base_url(), b.base_url());
    let vars = [("a", a_url.as_str()), ("b", b_url.as_str())];
    let checked = format!("{template}    healthCheck: {{path: /healthz, interval: 100ms}}\n");
    let gw = Gateway::start(&ports.render(&checked, &vars)).await;
    let a_endpoint = endpoint_of(&a);
    wait_metric(&gw, "sluice_endpoint_healthy", &a_endpoint, "0").await;
    assert!(chat(&gw, 4).await.iter().all(|c| c == "b"));

    // The new config has no health check: the old loop stops, and `a` takes its turn again.
    gw.write_config(&ports.render(template, &vars));
    gw.send_signal(libc::SIGHUP);
    gw.wait_for_log_lines(|l| l.contains("config reloaded"), 1, WAIT)
        .await;
    wait_metric(&gw, "sluice_endpoint_healthy", &a_endpoint, "1").await;
    let contents = chat(&gw, 4).await;
    assert_eq!(
        contents.iter().filter(|c| *c == "a").count(),
        2,
        "{contents:?}"
    );
    // The old generation's probes stop (the service notices a new generation within 250 ms).
    let probes = || a.requests().iter().filter(|r| r.path == "/healthz").count();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let before = probes();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(probes(), before, "probes go on after the reload");
}
