//! Front doors beyond chat: embeddings (Gemini translated, mock, OpenAI pass-through with
//! model aliases), the models list, and a field a translation cannot carry refused by name.

use std::time::Duration;

use serde_json::json;
use sluice_tests::http::{get, post_json};
use sluice_tests::{Gateway, MockUpstream, Ports, Reply};

const WAIT: Duration = Duration::from_secs(10);

const CONFIG: &str = r#"
config:
  adminAddr: {{admin}}
listeners:
  - name: http
    bind: {{listener}}
    routes:
      - name: gemini
        match: {pathPrefix: /gemini}
        backend: gemini
      - name: openai
        match: {pathPrefix: /openai}
        backend: openai
        models: {small: text-embedding-3-small, big: text-embedding-3-large}
      - name: mock
        match: {pathPrefix: /}
        backend: mock
backends:
  - name: gemini
    provider: gemini
    model: text-embedding-004
    apiKey: gkey
    baseUrl: {{gemini}}
  - name: openai
    provider: openai
    apiKey: okey
    baseUrl: {{openai}}
  - name: mock
    provider: mock
    model: mock-embed
"#;

#[tokio::test]
async fn embeddings_and_models() {
    let gemini = MockUpstream::start(Reply::json(
        200,
        &json!({"embeddings": [{"values": [0.25, -0.5]}, {"values": [1.0, 0.0]}]}),
    ))
    .await;
    let openai = MockUpstream::start(Reply::json(
        200,
        &json!({"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.1]}],
                "model": "text-embedding-3-small", "usage": {"prompt_tokens": 4, "total_tokens": 4}}),
    ))
    .await;
    let yaml = Ports::new().render(
        CONFIG,
        &[
            ("gemini", &gemini.base_url()),
            ("openai", &openai.base_url()),
        ],
    );
    let gw = Gateway::start(&yaml).await;
    let base = gw.base_url();

    // Gemini: batchEmbedContents, translated back to an OpenAI list.
    let r = post_json(
        &format!("{base}/gemini/v1/embeddings"),
        &json!({"model": "any", "input": ["hello world", "bye"]}),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "list");
    assert_eq!(v["data"][0]["embedding"], json!([0.25, -0.5]));
    assert_eq!(v["data"][1]["index"], 1);
    assert_eq!(v["model"], "text-embedding-004");
    assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
    let up = &gemini.wait_for_requests(1, WAIT).await[0];
    assert_eq!(
        up.path,
        "/v1beta/models/text-embedding-004:batchEmbedContents"
    );
    assert_eq!(up.header("x-goog-api-key"), Some("gkey"));
    assert_eq!(
        up.json()["requests"][1]["content"]["parts"][0]["text"],
        "bye"
    );
    gw.wait_for_request_logs(1, WAIT).await; // before the next request: lines by position

    // OpenAI: passes through, the alias resolved to the model called.
    let r = post_json(
        &format!("{base}/openai/v1/embeddings"),
        &json!({"model": "small", "input": "hi"}),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["usage"]["prompt_tokens"], 4);
    gw.wait_for_request_logs(2, WAIT).await; // before the next request: lines by position
    let up = &openai.wait_for_requests(1, WAIT).await[0];
    assert_eq!(up.path, "/v1/embeddings");
    assert_eq!(up.json()["model"], "text-embedding-3-small");

    // Mock: deterministic vectors.
    let a = post_json(
        &format!("{base}/v1/embeddings"),
        &json!({"input": "same"}),
        &[],
    )
    .await
    .json();
    let b = post_json(
        &format!("{base}/v1/embeddings"),
        &json!({"input": "same"}),
        &[],
    )
    .await
    .json();
    assert_eq!(a["data"][0]["embedding"], b["data"][0]["embedding"]);
    assert_eq!(a["data"][0]["embedding"].as_array().unwrap().len(), 8);

    // Bad input: 400 in OpenAI shape.
    let r = post_json(
        &format!("{base}/v1/embeddings"),
        &json!({"model": "x"}),
        &[],
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("input"));

    // Models: aliases then pinned models.
    let r = get(&format!("{base}/openai/v1/models")).await;
    assert_eq!(r.status, 200);
    let ids: Vec<String> = r.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["big", "small"]);
    let r = get(&format!("{base}/gemini/v1/models")).await;
    assert_eq!(r.json()["data"][0]["id"], "text-embedding-004");
    assert_eq!(r.json()["data"][0]["owned_by"], "gemini");

    // Embedding requests are logged with their provider and tokens.
    let logs = gw.wait_for_request_logs(7, WAIT).await;
    assert_eq!(logs[0].get("llm.provider"), Some("gemini"));
    assert!(logs[0].get_int("llm.request.tokens").unwrap() > 0);
    assert_eq!(logs[1].get("llm.request.tokens"), Some("4"));
}

#[tokio::test]
async fn a_field_without_a_counterpart_is_refused_by_name_in_the_clients_shape() {
    // A Messages client on a route whose provider speaks OpenAI: `mcp_servers` has no
    // counterpart there, so the gateway refuses it, names it, and calls nobody.
    let openai = MockUpstream::start(Reply::text(500, "must not be called")).await;
    let gemini = MockUpstream::start(Reply::text(500, "must not be called")).await;
    let yaml = Ports::new().render(
        CONFIG,
        &[
            ("gemini", &gemini.base_url()),
            ("openai", &openai.base_url()),
        ],
    );
    let gw = Gateway::start(&yaml).await;
    let r = post_json(
        &format!("{}/openai/v1/messages", gw.base_url()),
        &json!({"model": "gpt-4o", "max_tokens": 10, "mcp_servers": [{"type": "url", "url": "https://x", "name": "x"}],
                "messages": [{"role": "user", "content": "hi"}]}),
        &[],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let e = r.json();
    assert_eq!(e["type"], "error", "{e}");
    assert_eq!(e["error"]["type"], "invalid_request_error", "{e}");
    let message = e["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("`mcp_servers` has no counterpart"),
        "{message}"
    );
    assert!(openai.requests().is_empty());
    // The same field, natively to a provider that speaks Messages, would pass; here a chat
    // client's `logit_bias` to Gemini is refused by name in OpenAI's shape.
    let r = post_json(
        &format!("{}/gemini/v1/chat/completions", gw.base_url()),
        &json!({"model": "gemini-2.0-flash", "logit_bias": {"50256": -100},
                "messages": [{"role": "user", "content": "hi"}]}),
        &[],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let message = r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains("`logit_bias` has no counterpart in Gemini"),
        "{message}"
    );
    assert!(gemini.requests().is_empty());
}

#[tokio::test]
async fn a_route_that_pins_no_model_lists_its_providers_models() {
    // Nothing aliased or pinned: the client names any model, so the list is the provider's.
    let list = json!({"object": "list", "data": [
        {"id": "gpt-4o-mini", "object": "model", "created": 1, "owned_by": "system"},
        {"id": "o3", "object": "model", "created": 2, "owned_by": "system"}]});
    let openai = MockUpstream::start(Reply::json(200, &list)).await;
    let yaml = Ports::new().render(
        "listeners:\n  - name: http\n    bind: {{listener}}\n    routes:\n      - name: openai\n        match: {pathPrefix: /openai}\n        backend: openai\nbackends:\n  - name: openai\n    provider: openai\n    apiKey: okey\n    baseUrl: {{openai}}\n",
        &[("openai", &openai.base_url())],
    );
    let gw = Gateway::start(&yaml).await;
    let r = get(&format!("{}/openai/v1/models", gw.base_url())).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), list);
    let up = &openai.wait_for_requests(1, WAIT).await[0];
    assert_eq!(up.method, "GET");
    assert_eq!(up.path_only(), "/v1/models");
    assert_eq!(up.header("authorization"), Some("Bearer okey"));
    let log = &gw.wait_for_request_logs(1, WAIT).await[0];
    assert_eq!(log.get("llm.provider"), Some("openai"));
}
