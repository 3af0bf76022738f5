//! Dollar budgets on keys, teams and routes: a budget of a few requests' cost admits them and
//! refuses the next with 429 `budget_exceeded` in each front door's shape (Chat Completions,
//! Messages, Responses, Gemini) with a `retry-after` to the window's end; the log line, the
//! span and `/metrics` name the budget that refused; a new window admits again; two gateway
//! processes on one real `redis-server` hold one shared budget, with windows on Redis's
//! clock.
//!
//! Every chat here costs $0.000435: gpt-4o-mini (input 0.15, cached 0.075, output 0.60 USD
//! per million tokens) with 800 uncached + 200 cached prompt tokens and 500 completion tokens
//! (120 + 15 + 300 µUSD).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use sluice_tests::http::{get, post_json, Response};
use sluice_tests::{Gateway, MockUpstream, OtlpReceiver, Ports, RedisServer, Reply};

const WAIT: Duration = Duration::from_secs(10);
const COST: f64 = 0.000435;

const CONFIG: &str = r#"
config:
  adminAddr: {{admin}}
  {{global}}
teams:
  - name: research
    budget: {usd: 0.0008, window: 1d}
listeners:
  - name: http
    bind: {{listener}}
    auth:
      keys:
        - name: ci
          key: sk-ci
          budget: {usd: 0.001, window: 1d}
        - name: lab-1
          key: sk-lab-1
          team: research
        - name: lab-2
          key: sk-lab-2
          team: research
        - name: quick
          key: sk-quick
          budget: {usd: 0.0001, window: 3s}
        - name: free
          key: sk-free
    routes:
      - name: closed
        match: {pathPrefix: /closed}
        backend: openai
        budget: {usd: 0, window: {{closed_window}}}
      - name: chat
        match: {pathPrefix: /}
        backend: openai
backends:
  - name: openai
    provider: openai
    apiKey: sk-provider
    baseUrl: {{upstream}}/v1
"#;

fn answer() -> Reply {
    sluice_tests::replies::openai_priced_answer("gpt-4o-mini-2024-07-18")
}

async fn gateway(upstream: &MockUpstream, global: &str, closed_window: &str) -> Gateway {
    let yaml = Ports::new().render(
        CONFIG,
        &[
            ("upstream", &upstream.base_url()),
            ("global", global),
            ("closed_window", closed_window),
        ],
    );
    Gateway::start(&yaml).await
}

/// A chat as `key`, then the wait for its log line (written once its cost is charged), so
/// the next request sees the spend.
async fn chat(gw: &Gateway, key: &str, logged: usize) -> Response {
    let r = post_json(
        &format!("{}/v1/chat/completions", gw.base_url()),
        &json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}),
        &[("authorization", &format!("Bearer {key}"))],
    )
    .await;
    gw.wait_for_request_logs(logged, WAIT).await;
    r
}

/// The value of the sample `name{labels}` on `/metrics`.
async fn metric(gw: &Gateway, name: &str, labels: &str) -> Option<f64> {
    let text = get(&format!("{}/metrics", gw.admin_url())).await.text();
    let prefix = format!("{name}{{{labels}}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix)?.parse().ok())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Seconds to the end of the current UTC day.
fn to_midnight() -> u64 {
    86_400 - unix_now() % 86_400
}

fn retry_after(r: &Response) -> u64 {
    r.header("retry-after")
        .expect("retry-after")
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_spent_budget_refuses_in_each_front_doors_shape() {
    let upstream = MockUpstream::start(answer()).await;
    let otlp = OtlpReceiver::start_grpc().await;
    let tracing = format!("tracing: {{otlpEndpoint: '{}'}}", otlp.endpoint());
    let gw = gateway(&upstream, &tracing, "1d").await;
    // $0.001 a day: admitted at $0, $0.000435 and $0.00087 spent; the fourth finds $0.001305
    // spent and is refused (the overshoot is less than one request).
    for n in 1..=3 {
        assert_eq!(chat(&gw, "sk-ci", n).await.status, 200);
    }
    let r = chat(&gw, "sk-ci", 4).await;
    assert_eq!(r.status, 429, "{}", r.text());
    let e = &r.json()["error"];
    assert_eq!(e["code"], "budget_exceeded", "{}", r.text());
    assert_eq!(e["type"], "insufficient_quota");
    assert_eq!(
        e["message"],
        "budget exceeded: key:ci: budget of 0.001000 USD spent (0.001305 USD in this window)"
    );
    assert!(
        retry_after(&r).abs_diff(to_midnight()) <= 2,
        "{:?}",
        r.header("retry-after")
    );
    assert_eq!(
        upstream.requests().len(),
        3,
        "a refused request calls no provider"
    );

    let base = gw.base_url();
    // Messages: Anthropic's shape, the code as the error's type.
    let r = post_json(
        &format!("{base}/v1/messages"),
        &json!({"model": "gpt-4o-mini", "max_tokens": 10,
                "messages": [{"role": "user", "content": "hi"}]}),
        &[("x-api-key", "sk-ci"), ("anthropic-version", "2023-06-01")],
    )
    .await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["type"], "error", "{}", r.text());
    assert_eq!(r.json()["error"]["type"], "budget_exceeded");
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("budget exceeded: key:ci: budget of 0.001000 USD"));
    assert!(retry_after(&r).abs_diff(to_midnight()) <= 2);
    // Responses: OpenAI's error shape.
    let r = post_json(
        &format!("{base}/v1/responses"),
        &json!({"model": "gpt-4o-mini", "input": "hi"}),
        &[("authorization", "Bearer sk-ci")],
    )
    .await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["error"]["code"], "budget_exceeded", "{}", r.text());
    assert!(retry_after(&r).abs_diff(to_midnight()) <= 2);
    // Gemini: Google's shape, the code as the ErrorInfo's reason.
    let r = post_json(
        &format!("{base}/v1beta/models/gpt-4o-mini:generateContent"),
        &json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
        &[("x-goog-api-key", "sk-ci")],
    )
    .await;
    assert_eq!(r.status, 429);
    let e = &r.json()["error"];
    assert_eq!(
        (e["code"].as_u64(), e["status"].as_str()),
        (Some(429), Some("RESOURCE_EXHAUSTED")),
        "{}",
        r.text()
    );
    assert_eq!(e["details"][0]["reason"], "budget_exceeded");
    assert_eq!(
        e["details"][0]["@type"],
        "type.googleapis.com/google.rpc.ErrorInfo"
    );
    assert!(retry_after(&r).abs_diff(to_midnight()) <= 2);
    assert_eq!(upstream.requests().len(), 3);

    // The log line and span say which budget refused.
    let logs = gw.wait_for_request_logs(7, WAIT).await;
    let refused: Vec<_> = logs
        .iter()
        .filter(|l| l.get("http.status") == Some("429"))
        .collect();
    assert_eq!(refused.len(), 4, "{logs:?}");
    for l in &refused {
        assert_eq!(l.get("llm.limit"), Some("budget_exceeded"), "{l:?}");
        assert_eq!(l.get("llm.limit.scope"), Some("key:ci"), "{l:?}");
    }
    let spans = otlp
        .wait_for_spans_matching(4, WAIT, |s| {
            s.str_attr("llm.limit") == Some("budget_exceeded")
        })
        .await;
    assert!(spans
        .iter()
        .all(|s| s.str_attr("llm.limit.scope") == Some("key:ci")));
    // /metrics: the budget, its spend, and the decisions.
    let scope = r#"scope="key:ci""#;
    assert_eq!(metric(&gw, "sluice_budget_usd", scope).await, Some(0.001));
    let spent = metric(&gw, "sluice_budget_spent_usd", scope).await.unwrap();
    assert!((spent - 3.0 * COST).abs() < 1e-12, "{spent}");
    let refusals = r#"scope="key:ci",decision="budget_exceeded""#;
    assert_eq!(
        metric(&gw, "sluice_limit_decisions_total", refusals).await,
        Some(4.0)
    );
    let admitted = r#"scope="key:ci",decision="allowed""#;
    assert_eq!(
        metric(&gw, "sluice_limit_decisions_total", admitted).await,
        Some(3.0)
    );

    // A key without a budget is not affected, and its line carries no decision.
    let r = chat(&gw, "sk-free", 8).await;
    assert_eq!(r.status, 200);
    assert!(!gw.request_logs().pop().unwrap().has("llm.limit"));
}

#[tokio::test]
async fn a_team_budget_covers_its_keys_together() {
    let upstream = MockUpstream::start(answer()).await;
    let gw = gateway(&upstream, "", "1d").await;
    // research: $0.0008 a day over both keys: admitted at $0 and $0.000435, then refused
    // for either key.
    assert_eq!(chat(&gw, "sk-lab-1", 1).await.status, 200);
    assert_eq!(chat(&gw, "sk-lab-2", 2).await.status, 200);
    for (n, key) in [(3, "sk-lab-1"), (4, "sk-lab-2")] {
        let r = chat(&gw, key, n).await;
        assert_eq!(r.status, 429, "{}", r.text());
        assert!(r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("team:research: budget of 0.000800 USD spent (0.000870 USD"));
        let line = gw.request_logs().pop().unwrap();
        assert_eq!(line.get("llm.limit.scope"), Some("team:research"));
    }
    let spent = metric(&gw, "sluice_budget_spent_usd", r#"scope="team:research""#).await;
    assert!((spent.unwrap() - 2.0 * COST).abs() < 1e-12);
    // A route with a budget of 0 refuses everyone, whatever their key.
    let r = post_json(
        &format!("{}/closed/v1/chat/completions", gw.base_url()),
        &json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}),
        &[("authorization", "Bearer sk-free")],
    )
    .await;
    assert_eq!(r.status, 429);
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("route:closed: budget of 0.00 USD spent"));
}

#[tokio::test]
async fn a_new_window_admits_again() {
    let upstream = MockUpstream::start(answer()).await;
    let gw = gateway(&upstream, "", "1d").await;
    // quick: $0.0001 per 3 s window (windows back to back from the epoch). Start just after
    // a window begins, so the first two requests fall in one window.
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let into = Duration::from_millis((now.as_millis() % 3000) as u64);
    tokio::time::sleep(Duration::from_millis(3100) - into).await;
    assert_eq!(chat(&gw, "sk-quick", 1).await.status, 200);
    let r = chat(&gw, "sk-quick", 2).await;
    assert_eq!(r.status, 429, "{}", r.text());
    let wait = retry_after(&r);
    assert!((1..=3).contains(&wait), "{wait}");
    tokio::time::sleep(Duration::from_secs(wait)).await;
    assert_eq!(chat(&gw, "sk-quick", 3).await.status, 200);
}

#[tokio::test]
async fn two_gateways_share_one_budget_through_redis() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let upstream = MockUpstream::start(answer()).await;
    let shared = format!(
        "limits: {{redis: {{url: '{}', timeout: 2s, prefix: 'budget-test:'}}}}",
        redis.url()
    );
    let gws = [
        gateway(&upstream, &shared, "month").await,
        gateway(&upstream, &shared, "7d").await,
    ];
    // ci: $0.001 a day, whichever replica serves. Alternating between the two, the first
    // three are admitted ($0.000435 each, charged before the next is sent) and every later
    // one refused, on both: the sum admitted ($0.001305) is within one request of the budget.
    let mut logged = [0usize; 2];
    let mut statuses = Vec::new();
    for i in 0..8 {
        let g = i % 2;
        logged[g] += 1;
        let r = chat(&gws[g], "sk-ci", logged[g]).await;
        if r.status == 429 {
            assert_eq!(r.json()["error"]["code"], "budget_exceeded");
            assert!(retry_after(&r).abs_diff(to_midnight()) <= 2);
        }
        statuses.push(r.status);
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429, 429, 429, 429]);
    assert_eq!(upstream.requests().len(), 3);
    // The spend is one counter in Redis, in nano-dollars: 3 × 435,000.
    let day = unix_now() / 86_400;
    let stored = redis
        .command(&format!("GET budget-test:key:ci:b:86400s:{day}"))
        .await;
    assert_eq!(
        stored.as_deref(),
        Some("$7\r\n1305000\r\n"),
        "a RESP bulk string"
    );
    // Each replica's gauge shows the shared total as of its last charge: the third request
    // went to the first replica.
    let spent = metric(&gws[0], "sluice_budget_spent_usd", r#"scope="key:ci""#).await;
    assert!((spent.unwrap() - 3.0 * COST).abs() < 1e-12);

    // Windows on Redis's clock agree with the in-process ones: a route budget of 0 refuses
    // with retry-after to the end of the calendar month (first replica) and of the week from
    // Monday (second), as a gateway without Redis computes them.
    let memory = [
        gateway(&upstream, "", "month").await,
        gateway(&upstream, "", "7d").await,
    ];
    for (shared, local) in gws.iter().zip(&memory) {
        let mut waits = Vec::new();
        for gw in [shared, local] {
            let r = post_json(
                &format!("{}/closed/v1/chat/completions", gw.base_url()),
                &json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}),
                &[("authorization", "Bearer sk-free")],
            )
            .await;
            assert_eq!(r.status, 429, "{}", r.text());
            waits.push(retry_after(&r));
        }
        assert!(waits[0].abs_diff(waits[1]) <= 2, "{waits:?}");
        assert!(waits[0] > 1, "{waits:?}");
    }
}

/// Embeddings are billed like generation: they are admitted against the key's budget and
/// charged with their cost, so a spent budget refuses them too.
#[tokio::test]
async fn embeddings_are_charged_to_the_budget_and_refused_once_it_is_spent() {
    // 5 input tokens at 100 USD per million: $0.0005 a request; the ci key's $0.001 a day
    // admits two.
    let upstream = MockUpstream::start(Reply::json(
        200,
        &json!({"object": "list", "model": "text-embedding-3-large",
                "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
                "usage": {"prompt_tokens": 5, "total_tokens": 5}}),
    ))
    .await;
    let pricing =
        "pricing: [{provider: openai, model: text-embedding-3-large, input: 100, output: 0}]";
    let gw = gateway(&upstream, pricing, "1d").await;
    let embed = |n: usize| {
        let gw = &gw;
        async move {
            let r = post_json(
                &format!("{}/v1/embeddings", gw.base_url()),
                &json!({"model": "text-embedding-3-large", "input": "hello"}),
                &[("authorization", "Bearer sk-ci")],
            )
            .await;
            gw.wait_for_request_logs(n, WAIT).await;
            r
        }
    };
    assert_eq!(embed(1).await.status, 200);
    assert_eq!(embed(2).await.status, 200);
    let r = embed(3).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "budget_exceeded");
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("key:ci: budget of 0.001000 USD spent (0.001000 USD"));
    assert_eq!(
        upstream.requests().len(),
        2,
        "the refused request reached no provider"
    );
    let spent = metric(&gw, "sluice_budget_spent_usd", r#"scope="key:ci""#).await;
    assert!((spent.unwrap() - 0.001).abs() < 1e-12, "{spent:?}");
}
