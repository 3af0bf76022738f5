//! The Responses and Gemini front doors toward the cloud providers: Gemini natively to a
//! Gemini model on Vertex AI (the body byte for byte on Vertex's path, the OAuth token) and
//! translated to Claude on Vertex; Responses natively to Azure OpenAI (its v1 API, `api-key`)
//! and translated to Bedrock's Converse (SigV4).

use std::time::Duration;

use serde_json::{json, Value};
use sluice_tests::http::post_json;
use sluice_tests::{Gateway, MockUpstream, Ports, Reply};

const WAIT: Duration = Duration::from_secs(10);

fn fixture(name: &str) -> Value {
    let path = sluice_tests::setup::workspace_dir()
        .join("providers/tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

async fn gateway(backend_yaml: &str, env: &[(&str, &str)]) -> Gateway {
    let yaml = Ports::new().render(
        "config:\n  adminAddr: {{admin}}\nlisteners:\n  - name: http\n    bind: {{listener}}\n    routes:\n      - name: r\n        match: {pathPrefix: /}\n        backend: b\nbackends:\n{{backend}}",
        &[("backend", backend_yaml)],
    );
    let mut builder = Gateway::builder(&yaml);
    for (k, v) in env {
        builder = builder.env(k, v);
    }
    builder.start().await
}

#[tokio::test]
async fn gemini_to_vertex_natively_for_gemini_and_translated_for_claude() {
    let answer = fixture("gemini/basic.gemini-response.json");
    let upstream = MockUpstream::start(Reply::json(200, &answer)).await;
    let backend = format!(
        "  - name: b\n    provider: vertex\n    project: my-proj\n    location: us-east5\n    apiKey: ya29.static-token\n    baseUrl: {}\n",
        upstream.base_url()
    );
    let gw = gateway(&backend, &[]).await;
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
                      "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
                      "generationConfig": {"thinkingConfig": {"thinkingBudget": 0}}});
    let url = format!(
        "{}/v1/models/gemini-2.5-flash:generateContent",
        gw.base_url()
    );
    let r = post_json(&url, &body, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), answer, "as Vertex sent it");
    let up = &upstream.wait_for_requests(1, WAIT).await[0];
    assert_eq!(
        up.path,
        "/v1/projects/my-proj/locations/us-east5/publishers/google/models/gemini-2.5-flash:generateContent"
    );
    assert_eq!(up.json(), body);
    assert_eq!(up.header("authorization"), Some("Bearer ya29.static-token"));
    gw.wait_for_request_logs(1, WAIT).await;

    upstream.push_reply(Reply::json(
        200,
        &fixture("anthropic/basic.anthropic-response.json"),
    ));
    let url = format!(
        "{}/v1/models/claude-sonnet-4@20250514:generateContent",
        gw.base_url()
    );
    let r = post_json(&url, &json!({"contents": body["contents"]}), &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["candidates"][0]["content"]["parts"][0]["text"],
        "AI learns patterns from examples, then uses them to predict."
    );
    let up = &upstream.wait_for_requests(2, WAIT).await[1];
    assert_eq!(
        up.path,
        "/v1/projects/my-proj/locations/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514:rawPredict"
    );
    assert_eq!(up.json()["anthropic_version"], "vertex-2023-10-16");
    assert_eq!(up.json()["messages"][0]["role"], "user");
}

#[tokio::test]
async fn responses_to_azure_natively() {
    let answer = json!({"id": "resp_1", "object": "response", "status": "completed", "model": "gpt-5",
        "output": [{"type": "message", "id": "m1", "role": "assistant",
                    "content": [{"type": "output_text", "text": "Hi from Azure"}]}],
        "usage": {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8}});
    let upstream = MockUpstream::start(Reply::json(200, &answer)).await;
    let backend = format!(
        "  - name: b\n    provider: azure\n    model: my-gpt5\n    apiKey: azure-key\n    baseUrl: {}\n",
        upstream.base_url()
    );
    let gw = gateway(&backend, &[]).await;
    let body = json!({"model": "gpt-5", "input": "Hi", "store": true,
                      "reasoning": {"effort": "low"}, "tools": [{"type": "web_search"}]});
    let r = post_json(&format!("{}/v1/responses", gw.base_url()), &body, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), answer);
    let up = &upstream.wait_for_requests(1, WAIT).await[0];
    assert_eq!(up.path, "/openai/v1/responses");
    assert_eq!(up.header("api-key"), Some("azure-key"));
    let mut want = body.clone();
    want["model"] = json!("my-gpt5");
    assert_eq!(up.json(), want, "every field, the deployment as the model");
    let log = &gw.wait_for_request_logs(1, WAIT).await[0];
    assert_eq!(log.get("llm.provider"), Some("azure"));
    assert_eq!(log.get_int("llm.response.tokens"), Some(3));
}

#[tokio::test]
async fn responses_to_bedrock_translated() {
    let upstream = MockUpstream::start(Reply::json(
        200,
        &fixture("bedrock/basic.bedrock-response.json"),
    ))
    .await;
    let backend = format!(
        "  - name: b\n    provider: bedrock\n    model: amazon.nova-pro-v1:0\n    region: us-east-1\n    baseUrl: {}\n",
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
    let body = json!({"model": "nova", "instructions": "Be brief.", "input": "Hi",
                      "max_output_tokens": 50});
    let r = post_json(&format!("{}/v1/responses", gw.base_url()), &body, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "response");
    assert_eq!(v["status"], "completed");
    let expected = fixture("bedrock/basic.openai-response.json");
    assert_eq!(
        v["output"][0]["content"][0]["text"],
        expected["choices"][0]["message"]["content"]
    );
    assert_eq!(
        v["usage"]["input_tokens"],
        expected["usage"]["prompt_tokens"]
    );
    let up = &upstream.wait_for_requests(1, WAIT).await[0];
    assert_eq!(up.path, "/model/amazon.nova-pro-v1%3A0/converse");
    assert!(up
        .header("authorization")
        .is_some_and(|a| a.starts_with("AWS4-HMAC-SHA256")));
    let sent = up.json();
    assert_eq!(sent["system"][0]["text"], "Be brief.");
    assert_eq!(sent["inferenceConfig"]["maxTokens"], 50);
}
