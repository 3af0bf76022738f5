//! Cost on every request: `llm.cost` in the log line and `sluice_cost_usd_total` on
//! `/metrics`, from the built-in catalog or `config.pricing`; a client that leaves mid-stream
//! is still charged (from the estimated usage); a model without a price gets no cost and is
//! counted as unpriced.

use std::time::Duration;

use serde_json::json;
use sluice_tests::http::{get, post_json, post_json_streaming};
use sluice_tests::{Gateway, LogLine, MockUpstream, Ports, Reply};

const WAIT: Duration = Duration::from_secs(10);

const CONFIG: &str = r#"
config:
  adminAddr: {{admin}}
  {{pricing}}
listeners:
  - name: http
    bind: {{listener}}
    routes:
      - name: chat
        match: {pathPrefix: /}
        backend: openai
backends:
  - name: openai
    provider: openai
    apiKey: sk-test
    baseUrl: {{upstream}}/v1
"#;

async fn start(upstream: &MockUpstream, pricing: &str) -> Gateway {
    let yaml = Ports::new().render(
        CONFIG,
        &[("upstream", &upstream.base_url()), ("pricing", pricing)],
    );
    Gateway::builder(&yaml).start().await
}

fn chat(model: &str, stream: bool) -> serde_json::Value {
    json!({"model": model, "stream": stream,
           "messages": [{"role": "user", "content": "How much is this?"}]})
}

/// 1000 prompt tokens of which 200 cached, 500 completion tokens.
fn answer(model: &str) -> Reply {
    sluice_tests::replies::openai_priced_answer(model)
}

async fn one_request(gw: &Gateway, model: &str, stream: bool) -> LogLine {
    let r = post_json(
        &format!("{}/v1/chat/completions", gw.base_url()),
        &chat(model, stream),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    gw.wait_for_request_logs(1, WAIT).await.remove(0)
}

/// The value of the one sample of `name` whose labels are exactly `labels`.
fn sample(metrics: &str, name: &str, labels: &str) -> Option<f64> {
    let prefix = format!("{name}{{{labels}}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.parse().expect("a number"))
}

async fn metrics(gw: &Gateway) -> String {
    get(&format!("{}/metrics", gw.admin_url())).await.text()
}

const GPT_4O_MINI: &str = r#"route="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o-mini",key="",team="""#;

#[tokio::test]
async fn a_priced_chat_has_its_cost_in_the_log_line_and_the_counter() {
    let upstream = MockUpstream::start(answer("gpt-4o-mini-2024-07-18")).await;
    let gw = start(&upstream, "").await;
    let log = one_request(&gw, "gpt-4o-mini", false).await;
    // Catalog: input 0.15, cached 0.075, output 0.60 USD per million tokens.
    // 800 × 0.15 + 200 × 0.075 + 500 × 0.60 = 120 + 15 + 300 = 435 µUSD.
    assert_eq!(log.get("llm.cost"), Some("0.000435"), "{log:?}");
    assert_eq!(log.keys().last(), Some(&"llm.cost"), "{log:?}");
    let text = metrics(&gw).await;
    let usd = sample(&text, "sluice_cost_usd_total", GPT_4O_MINI).expect(&text);
    assert!((usd - 0.000435).abs() < 1e-12, "{usd}");
}

#[tokio::test]
async fn a_pricing_override_changes_the_cost() {
    let upstream = MockUpstream::start(answer("gpt-4o-mini-2024-07-18")).await;
    let pricing = "pricing: [{provider: openai, model: \"gpt-4o-mini*\", input: 1, output: 2, cacheRead: 0.5}]";
    let gw = start(&upstream, pricing).await;
    let log = one_request(&gw, "gpt-4o-mini", false).await;
    // 800 × 1 + 200 × 0.5 + 500 × 2 = 800 + 100 + 1000 = 1900 µUSD.
    assert_eq!(log.get("llm.cost"), Some("0.0019"), "{log:?}");
    let usd = sample(&metrics(&gw).await, "sluice_cost_usd_total", GPT_4O_MINI).unwrap();
    assert!((usd - 0.0019).abs() < 1e-12, "{usd}");
}

#[tokio::test]
async fn a_client_that_leaves_mid_stream_is_charged_for_the_estimated_usage() {
    // Model `gpt-x` in the chunks: no price, so the model called (gpt-4o-mini) prices it.
    let upstream = MockUpstream::start(Reply::openai_words(60, Duration::from_millis(40))).await;
    let gw = start(&upstream, "").await;
    let mut s = post_json_streaming(
        &format!("{}/v1/chat/completions", gw.base_url()),
        &chat("gpt-4o-mini", true),
        &[],
    )
    .await;
    assert_eq!(s.status, 200);
    s.read_until("word3").await;
    drop(s);
    let log = gw.wait_for_request_logs(1, WAIT).await.remove(0);
    assert!(
        log.get("error")
            .unwrap_or("")
            .contains("client disconnected"),
        "{log:?}"
    );
    assert_eq!(log.get("llm.usage.estimated"), Some("true"));
    let input = log.get_int("llm.request.tokens").expect("input estimated");
    let output = log
        .get_int("llm.response.tokens")
        .expect("output estimated");
    assert!(input > 0 && output > 0, "{log:?}");
    let want = (input as f64 * 0.15 + output as f64 * 0.60) / 1e6;
    let cost: f64 = log.get("llm.cost").expect("a cost").parse().unwrap();
    assert!((cost - want).abs() <= want * 1e-9, "{cost} vs {want}");
    assert_eq!(log.keys().last(), Some(&"llm.cost"), "{log:?}");
    let usd = sample(&metrics(&gw).await, "sluice_cost_usd_total", GPT_4O_MINI).unwrap();
    assert!((usd - want).abs() <= want * 1e-9, "{usd} vs {want}");
}

#[tokio::test]
async fn a_model_without_a_price_has_no_cost_and_is_counted() {
    let upstream = MockUpstream::start(answer("my-local-model")).await;
    let gw = start(&upstream, "").await;
    let log = one_request(&gw, "my-local-model", false).await;
    assert_eq!(log.get("llm.request.tokens"), Some("1000"));
    assert_eq!(log.get("llm.cost"), None, "{log:?}");
    let text = metrics(&gw).await;
    let labels = r#"gen_ai_provider_name="openai",gen_ai_request_model="my-local-model""#;
    assert_eq!(
        sample(&text, "sluice_unpriced_requests_total", labels),
        Some(1.0),
        "{text}"
    );
    assert!(!text.contains("sluice_cost_usd_total{"), "{text}");
}
