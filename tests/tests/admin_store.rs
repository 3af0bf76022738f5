//! Keys and spend at runtime: the admin API on a real database. Against SQLite (a file in a
//! temp dir) and a real PostgreSQL (started by the test): a key made through one gateway's
//! admin API works at once on two gateway processes sharing the database, a revoked key gets
//! 401 on both within the stated time, and the spend both wrote adds up exactly in
//! `GET /admin/spend` after a clean stop; the admin API refuses a missing or wrong token and
//! never returns a key's secret after creation; migrations run on an empty and on an
//! already-migrated database; a gateway killed with SIGKILL keeps every key and loses at most
//! the flush interval's spend.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sluice_tests::http::{Client, Response};
use sluice_tests::{Gateway, MockUpstream, Ports, PostgresServer, Reply};

const WAIT: Duration = Duration::from_secs(10);
const TOKEN: &str = "admin-token-0123456789abcdef";
/// Every chat costs this: gpt-4o-mini, 800 uncached + 200 cached prompt tokens, 500 output.
const COST: f64 = 0.000435;

const CONFIG: &str = r#"
config:
  adminAddr: {{admin}}
  adminToken: {{token}}
  store: {url: "{{store}}", refresh: 1s, flushInterval: {{flush}}}
listeners:
  - name: http
    bind: {{listener}}
    auth:
      keys:
        - name: from-config
          key: sk-config-key
    routes:
      - name: chat
        match: {pathPrefix: /}
        backend: openai
      - name: other
        match: {pathPrefix: /other}
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

fn config(store: &str, upstream: &MockUpstream, flush: &str) -> String {
    Ports::new().render(
        CONFIG,
        &[
            ("token", TOKEN),
            ("store", store),
            ("upstream", &upstream.base_url()),
            ("flush", flush),
        ],
    )
}

/// An admin call with the token.
async fn admin(gw: &Gateway, method: &str, path: &str, body: Option<Value>) -> Response {
    let auth = format!("Bearer {TOKEN}");
    let mut headers = vec![("authorization", auth.as_str())];
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    Client::new()
        .send(method, &format!("{}{path}", gw.admin_url()), &headers, body)
        .await
        .expect("admin call")
}

async fn chat(gw: &Gateway, key: &str) -> Response {
    Client::new()
        .send(
            "POST",
            &format!("{}/v1/chat/completions", gw.base_url()),
            &[
                ("authorization", &format!("Bearer {key}")),
                ("content-type", "application/json"),
            ],
            json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
                .to_string(),
        )
        .await
        .expect("chat")
}

/// Waits (up to `within`) until `key` gets `status` on `gw`; returns how long it took and
/// how many of the requests sent meanwhile were answered 200 (each is spend).
async fn until_status(gw: &Gateway, key: &str, status: u16, within: Duration) -> (Duration, u64) {
    let start = Instant::now();
    let mut answered = 0;
    loop {
        let got = chat(gw, key).await.status;
        if got == 200 {
            answered += 1;
        }
        if got == status {
            return (start.elapsed(), answered);
        }
        assert!(
            start.elapsed() < within,
            "still {got}, not {status}, after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn temp_sqlite() -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!(
        "sluice-store-{}-{}",
        std::process::id(),
        sluice_tests::free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/sluice.db", dir.display());
    (dir, url)
}

#[tokio::test]
async fn the_admin_api_needs_its_token_and_shows_a_secret_once() {
    let upstream = MockUpstream::start(answer()).await;
    let (dir, url) = temp_sqlite();
    let gw = Gateway::start(&config(&url, &upstream, "5s")).await;
    assert!(
        dir.join("sluice.db").is_file(),
        "the database file is made at start"
    );

    // No token, a wrong one: 401 in the one error shape.
    let keys_url = format!("{}/admin/keys", gw.admin_url());
    for headers in [
        vec![],
        vec![("authorization", "Bearer wrong-token-0123456789")],
    ] {
        let r = Client::new()
            .send("GET", &keys_url, &headers, "")
            .await
            .unwrap();
        assert_eq!(r.status, 401, "{}", r.text());
        assert_eq!(r.json()["error"]["code"], "unauthorized");
    }

    // Make a key: its secret comes back this once.
    let made = admin(
        &gw,
        "POST",
        "/admin/keys",
        Some(json!({"name": "ci-bot", "team": "platform", "limits": {"requestsPerMinute": 100}})),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.text());
    let made = made.json();
    let secret = made["key"].as_str().unwrap().to_string();
    let id = made["id"].as_str().unwrap().to_string();
    assert!(
        secret.starts_with("sk-sluice-") && secret.len() == 42,
        "{secret}"
    );
    assert_eq!(made["prefix"], &secret[..14]);
    assert_eq!(
        (made["team"].as_str(), made["source"].as_str()),
        (Some("platform"), Some("store"))
    );

    // It works at once; the log line names its id and team, never the key.
    let r = chat(&gw, &secret).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let line = gw.wait_for_request_logs(1, WAIT).await.remove(0);
    assert_eq!(line.get("key.id"), Some(id.as_str()), "{line:?}");
    assert_eq!(line.get("key.team"), Some("platform"));

    // No call shows the secret again: the list, the key, the config.
    let listed = admin(&gw, "GET", "/admin/keys", None).await;
    assert_eq!(listed.status, 200);
    let keys = listed.json()["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_eq!(keys[0]["id"], "from-config");
    assert_eq!(
        (keys[0]["source"].as_str(), keys[0]["readOnly"].as_bool()),
        (Some("config"), Some(true))
    );
    assert_eq!(keys[1]["id"], id.as_str());
    for path in [
        "/admin/keys",
        &format!("/admin/keys/{id}"),
        "/admin/config",
        "/admin/routes",
    ] {
        let text = admin(&gw, "GET", path, None).await.text();
        assert!(!text.contains(&secret), "{path} shows the secret");
        assert!(!text.contains(TOKEN), "{path} shows the admin token");
    }
    let config = Client::new()
        .get(&format!("{}/config", gw.admin_url()))
        .await
        .text();
    assert!(!config.contains(TOKEN) && config.contains("<redacted>"));

    // Limits change at once: one request a minute.
    let r = admin(
        &gw,
        "PATCH",
        &format!("/admin/keys/{id}"),
        Some(json!({"limits": {"requestsPerMinute": 1}})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["limits"]["requestsPerMinute"], 1);
    // This minute already counts the request above, unless a new minute has just begun.
    let first = chat(&gw, &secret).await.status;
    assert!(first == 429 || first == 200, "{first}");
    let r = chat(&gw, &secret).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r
        .text()
        .contains(&format!("key:{id}: 1 requests per minute")));
    let r = admin(
        &gw,
        "PATCH",
        &format!("/admin/keys/{id}"),
        Some(json!({"limits": null, "routes": ["other"]})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Kept to route `other`: the default route refuses it with 403.
    let r = chat(&gw, &secret).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("may not use route chat"));

    // Revoked: 401 at once; enabled again: back.
    let r = admin(
        &gw,
        "PATCH",
        &format!("/admin/keys/{id}"),
        Some(json!({"disabled": true, "routes": []})),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = chat(&gw, &secret).await;
    assert_eq!(r.status, 401);
    assert!(r.text().contains("disabled"), "{}", r.text());
    admin(
        &gw,
        "PATCH",
        &format!("/admin/keys/{id}"),
        Some(json!({"disabled": false})),
    )
    .await;
    assert_eq!(chat(&gw, &secret).await.status, 200);

    // Mistakes: named in the one error shape.
    let r = admin(
        &gw,
        "POST",
        "/admin/keys",
        Some(json!({"name": "x", "colour": "red"})),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour"),
        "{}",
        r.text()
    );
    let r = admin(
        &gw,
        "POST",
        "/admin/keys",
        Some(json!({"name": "x", "budget": {"usd": 5, "window": "fortnight"}})),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("budget.window"), "{}", r.text());
    let r = admin(
        &gw,
        "POST",
        "/admin/keys",
        Some(json!({"name": "x", "routes": ["nope"]})),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("unknown route \\\"nope\\\""),
        "{}",
        r.text()
    );
    let r = admin(
        &gw,
        "PATCH",
        "/admin/keys/from-config",
        Some(json!({"disabled": true})),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["error"]["code"].as_str()),
        (409, Some("read_only"))
    );
    let r = admin(&gw, "DELETE", "/admin/keys/k_nothere", None).await;
    assert_eq!(r.status, 404);

    // The OpenAPI document is behind the token too, and every path it lists is served.
    let without = Client::new()
        .get(&format!("{}/admin/openapi.json", gw.admin_url()))
        .await;
    assert_eq!(without.status, 401);
    let doc = admin(&gw, "GET", "/admin/openapi.json", None).await;
    assert_eq!(doc.status, 200);
    let doc = doc.json();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in doc["paths"].as_object().unwrap().keys() {
        let path = path.replace("{id}", &id);
        let r = admin(&gw, "GET", &path, None).await;
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
    }

    // Deleted: the key is gone.
    assert_eq!(
        admin(&gw, "DELETE", &format!("/admin/keys/{id}"), None)
            .await
            .status,
        204
    );
    let r = chat(&gw, &secret).await;
    assert_eq!(r.status, 401);
    // The secret was never logged.
    let output = [gw.log_lines(), gw.stderr_lines()].concat().join("\n");
    assert!(!output.contains(&secret) && !output.contains(TOKEN));
    drop(gw);
    let _ = std::fs::remove_dir_all(dir);
}

/// The shared-store scenario on `url`: two gateways, a key made on the first used at once on
/// the second, spend from both summed after a clean stop, a revocation seen by both.
async fn two_gateways_share_a_store(url: &str, propagation: Duration) {
    let upstream = MockUpstream::start(answer()).await;
    let yaml = [config(url, &upstream, "5s"), config(url, &upstream, "5s")];
    let mut gws = [
        Gateway::start(&yaml[0]).await,
        Gateway::start(&yaml[1]).await,
    ];

    let made = admin(
        &gws[0],
        "POST",
        "/admin/keys",
        Some(json!({"name": "shared", "team": "t"})),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.text());
    let secret = made.json()["key"].as_str().unwrap().to_string();
    let id = made.json()["id"].as_str().unwrap().to_string();
    // On the first at once; on the second within the stated time.
    assert_eq!(chat(&gws[0], &secret).await.status, 200);
    let (took, _) = until_status(&gws[1], &secret, 200, propagation).await;
    eprintln!("a new key reached the second gateway in {took:?}");
    // 3 more on the first (4 in all), 5 on the second (the one above included).
    for _ in 0..3 {
        assert_eq!(chat(&gws[0], &secret).await.status, 200);
    }
    for _ in 0..4 {
        assert_eq!(chat(&gws[1], &secret).await.status, 200);
    }
    // Revoked on the second: both refuse within the stated time.
    let r = admin(
        &gws[1],
        "PATCH",
        &format!("/admin/keys/{id}"),
        Some(json!({"disabled": true})),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(chat(&gws[1], &secret).await.status, 401);
    // Answered (and spent) while the revocation was on its way: counted below.
    let (took, late) = until_status(&gws[0], &secret, 401, propagation).await;
    eprintln!("a revocation reached the first gateway in {took:?} ({late} answered meanwhile)");

    // A clean stop writes what each holds (flushInterval 5s: not yet written on its own).
    for gw in &mut gws {
        assert!(gw.terminate(WAIT).await.success());
    }
    // Started again on the migrated database: every key kept, the spend of both summed.
    let gw = Gateway::start(&yaml[0]).await;
    let spend = admin(&gw, "GET", "/admin/spend?groupBy=key", None).await;
    assert_eq!(spend.status, 200, "{}", spend.text());
    let spend = spend.json();
    let rows = spend["rows"].as_array().unwrap();
    let row = rows
        .iter()
        .find(|r| r["key"] == id.as_str())
        .expect("the key's row");
    let made = 9 + late;
    assert_eq!(row["requests"], made, "{spend}");
    assert_eq!(row["inputTokens"], made * 1000);
    assert_eq!(row["outputTokens"], made * 500);
    let usd = row["usd"].as_f64().unwrap();
    assert!((usd - made as f64 * COST).abs() < 1e-9, "{usd}");
    // By team too, and as a series by hour.
    let by_team = admin(&gw, "GET", "/admin/spend?by=team&interval=hour", None)
        .await
        .json();
    let team_row = by_team["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["team"] == "t")
        .cloned();
    assert_eq!(team_row.expect("team t")["requests"], made, "{by_team}");
    // By the contract's `by=`: every grouping adds up to the same requests and USD.
    let mut totals = Vec::new();
    for by in ["key", "team", "model", "route", "provider"] {
        let answer = admin(&gw, "GET", &format!("/admin/spend?by={by}"), None).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        let answer = answer.json();
        assert_eq!(answer["groupBy"], by);
        let rows = answer["rows"].as_array().unwrap();
        let requests: u64 = rows.iter().map(|r| r["requests"].as_u64().unwrap()).sum();
        totals.push((by, requests, answer["totalUsd"].as_f64().unwrap()));
        let named = |value: &str| rows.iter().any(|r| r[by] == value);
        match by {
            "model" => assert!(named("gpt-4o-mini"), "{answer}"),
            "route" => assert!(named("chat"), "{answer}"),
            "provider" => assert!(named("openai"), "{answer}"),
            _ => {}
        }
    }
    assert!(totals[0].1 >= made, "{totals:?}");
    for t in &totals[1..] {
        assert_eq!(t.1, totals[0].1, "{totals:?}");
        assert!((t.2 - totals[0].2).abs() < 1e-9, "{totals:?}");
    }
    let keys = admin(&gw, "GET", "/admin/keys", None).await.json();
    let kept = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id.as_str())
        .cloned();
    assert_eq!(kept.expect("the key is kept")["disabled"], true);
}

#[tokio::test]
async fn two_gateways_share_keys_and_spend_through_sqlite() {
    let (dir, url) = temp_sqlite();
    // SQLite has no notifications: the version is polled every `refresh` (1 s).
    two_gateways_share_a_store(&url, Duration::from_secs(2)).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn two_gateways_share_keys_and_spend_through_postgres() {
    let Some(pg) = PostgresServer::start().await else {
        return;
    };
    two_gateways_share_a_store(&pg.url(), Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_gateway_killed_mid_traffic_keeps_its_keys_and_most_of_its_spend() {
    let upstream = MockUpstream::start(answer()).await;
    let (dir, url) = temp_sqlite();
    let yaml = config(&url, &upstream, "1s");
    let mut gw = Gateway::start(&yaml).await;
    let made = admin(&gw, "POST", "/admin/keys", Some(json!({"name": "busy"}))).await;
    let secret = made.json()["key"].as_str().unwrap().to_string();
    let id = made.json()["id"].as_str().unwrap().to_string();
    // Traffic for 3 s, each answer's time kept; then SIGKILL.
    let start = Instant::now();
    let mut done = Vec::new();
    while start.elapsed() < Duration::from_secs(3) {
        assert_eq!(chat(&gw, &secret).await.status, 200);
        done.push(Instant::now());
    }
    gw.send_signal(libc::SIGKILL);
    let killed = Instant::now();
    gw.wait_exit(WAIT).await.expect("killed");
    // Started again: the key works, and every request answered more than the flush interval
    // (1 s, plus half a second for the write itself) before the kill was written.
    let gw = Gateway::start(&yaml).await;
    assert_eq!(chat(&gw, &secret).await.status, 200);
    let spend = admin(&gw, "GET", "/admin/spend?groupBy=key", None)
        .await
        .json();
    let stored = spend["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == id.as_str())
        .map_or(0, |r| r["requests"].as_u64().unwrap());
    let safe = done
        .iter()
        .filter(|t| killed.duration_since(**t) > Duration::from_millis(1500))
        .count() as u64;
    // The one request made after the restart is in this replica's buffer, written before
    // the report.
    assert!(
        stored > safe,
        "{stored} stored, {safe} answered over 1.5 s before the kill"
    );
    assert!(
        stored <= done.len() as u64 + 1,
        "{stored} stored of {} made",
        done.len() + 1
    );
    drop(gw);
    let _ = std::fs::remove_dir_all(dir);
}
