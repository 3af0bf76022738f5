//! The Gemini front door (`.../models/{model}:generateContent`, `:streamGenerateContent`,
//! `:countTokens`): natively to a Gemini upstream the body passes byte for byte and the answer
//! comes back as it was sent (a stream as SSE, or as the JSON array a client without
//! `?alt=sse` reads); the client's key (`x-goog-api-key` or `?key=`) is a virtual key and
//! never reaches the upstream; translated to an OpenAI upstream, the answer is Gemini-shaped;
//! token counts pass natively or are estimated.

use std::time::Duration;

use serde_json::{json, Value};
use sluice_tests::http::{chunks_text, post_json, post_json_streaming};
use sluice_tests::replies::{gemini_text_stream, MockUsage};
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
        - name: team-g
          key: g-team-key-0001
    routes:
      - name: gemini
        match: {pathPrefix: /g}
        backend: gemini
      - name: openai
        match: {pathPrefix: /o}
        backend: openai
backends:
  - name: gemini
    provider: gemini
    apiKey: backend-google-key
    baseUrl: {{gemini}}
  - name: openai
    provider: openai
    model: gpt-4o-mini
    apiKey: sk-backend-openai
    baseUrl: {{openai}}
"#;

const USAGE: MockUsage = MockUsage {
    input: 11,
    cache_read: 4,
    cache_creation: 0,
    output: 5,
};

async fn start(gemini: &MockUpstream, openai: &MockUpstream) -> Gateway {
    let yaml = Ports::new().render(
        CONFIG,
        &[
            ("gemini", &gemini.base_url()),
            ("openai", &openai.base_url()),
        ],
    );
    Gateway::start(&yaml).await
}

/// A google-genai-like body, with what must pass untouched natively.
fn request() -> Value {
    json!({
        "contents": [{"role": "user", "parts": [{"text": "Say hi"}]},
                     {"role": "model", "parts": [{"text": "thinking...", "thought": true},
                      {"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "c2lnbmF0dXJl"}]},
                     {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"ok": true}}}]}],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}],
        "cachedContent": "cachedContents/abc123",
        "generationConfig": {"temperature": 0.2, "thinkingConfig": {"thinkingBudget": 256, "includeThoughts": true}}
    })
}

const KEY: (&str, &str) = ("x-goog-api-key", "g-team-key-0001");

#[tokio::test]
async fn native_a_whole_answer_and_the_body_pass_as_they_came() {
    let answer = "{\"candidates\": [{\"content\": {\"role\": \"model\", \"parts\": [{\"text\": \"Hi!\"}]}, \"finishReason\": \"STOP\", \"index\": 0}],\
        \"usageMetadata\": {\"promptTokenCount\": 11, \"candidatesTokenCount\": 5, \"totalTokenCount\": 16, \"cachedContentTokenCount\": 4},\
        \"modelVersion\": \"gemini-2.5-flash-001\", \"responseId\": \"r1\"}";
    let gemini = MockUpstream::start(Reply::new(
        200,
        vec![("content-type".into(), "application/json".into())],
        answer,
    ))
    .await;
    let openai = MockUpstream::start(Reply::text(500, "unused")).await;
    let gw = start(&gemini, &openai).await;
    let url = format!(
        "{}/g/v1beta/models/gemini-2.5-flash:generateContent",
        gw.base_url()
    );
    let sent = serde_json::to_vec(&request()).unwrap();
    let r = sluice_tests::http::Client::new()
        .send(
            "POST",
            &url,
            &[KEY, ("content-type", "application/json")],
            sent.clone(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), answer, "byte for byte");
    let up = &gemini.requests()[0];
    assert_eq!(
        up.path_only(),
        "/v1beta/models/gemini-2.5-flash:generateContent"
    );
    assert_eq!(up.query(), None, "the client's query is not passed on");
    assert_eq!(up.body_text().as_bytes(), sent.as_slice(), "byte for byte");
    assert_eq!(up.header("x-goog-api-key"), Some("backend-google-key"));
    let log = &gw.wait_for_request_logs(1, WAIT).await[0];
    assert_eq!(log.get("llm.provider"), Some("gemini"));
    assert_eq!(log.get("llm.request.model"), Some("gemini-2.5-flash"));
    assert_eq!(log.get("llm.response.model"), Some("gemini-2.5-flash-001"));
    assert_eq!(log.get_int("llm.request.tokens"), Some(11));
    assert_eq!(log.get_int("llm.response.tokens"), Some(5));
}

#[tokio::test]
async fn native_streams_come_as_sse_or_as_a_json_array_with_usage_logged() {
    let gemini =
        MockUpstream::start(gemini_text_stream("gemini-2.5-flash", "Hello there", USAGE)).await;
    gemini.push_reply(gemini_text_stream("gemini-2.5-flash", "Hello there", USAGE));
    let openai = MockUpstream::start(Reply::text(500, "unused")).await;
    let gw = start(&gemini, &openai).await;
    let base = format!(
        "{}/g/v1/models/gemini-2.5-flash:streamGenerateContent",
        gw.base_url()
    );
    // ?alt=sse, the key as ?key=
    let s = post_json_streaming(
        &format!("{base}?alt=sse&key=g-team-key-0001"),
        &request(),
        &[],
    )
    .await;
    assert_eq!(s.status, 200);
    let text = chunks_text(&s.collect_chunks().await);
    let events: Vec<Value> = text
        .replace("\r\n", "\n")
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: ").map(str::to_string))
        .map(|d| serde_json::from_str(&d).unwrap())
        .collect();
    assert_eq!(events.len(), 2, "{text}");
    assert_eq!(events[1]["usageMetadata"]["totalTokenCount"], 16);
    // Without alt=sse: the JSON array.
    let s = post_json_streaming(&base, &request(), &[KEY]).await;
    assert_eq!(s.status, 200);
    let text = chunks_text(&s.collect_chunks().await);
    let array: Vec<Value> = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let said: String = array
        .iter()
        .map(|r| {
            r["candidates"][0]["content"]["parts"][0]["text"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(said, "Hello there");
    for up in gemini.requests() {
        assert_eq!(
            up.path_only(),
            "/v1/models/gemini-2.5-flash:streamGenerateContent"
        );
        assert_eq!(up.query(), Some("alt=sse"), "the client's key stays behind");
        assert_eq!(up.header("x-goog-api-key"), Some("backend-google-key"));
        assert_eq!(up.json(), request());
    }
    let logs = gw.wait_for_request_logs(2, WAIT).await;
    for log in logs {
        assert_eq!(log.get_int("llm.request.tokens"), Some(11));
        assert_eq!(log.get_int("llm.response.tokens"), Some(5));
    }
}

#[tokio::test]
async fn the_client_key_is_checked_in_googles_shape() {
    let gemini = MockUpstream::start(Reply::text(500, "unused")).await;
    let openai = MockUpstream::start(Reply::text(500, "unused")).await;
    let gw = start(&gemini, &openai).await;
    let url = format!(
        "{}/g/v1beta/models/gemini-2.5-flash:generateContent",
        gw.base_url()
    );
    for (url, headers) in [
        (url.clone(), vec![]),
        (format!("{url}?key=wrong"), vec![]),
        (url.clone(), vec![("x-goog-api-key", "wrong")]),
    ] {
        let r = post_json(&url, &request(), &headers).await;
        assert_eq!(r.status, 401, "{}", r.text());
        let v = r.json();
        assert_eq!(v["error"]["code"], 401, "{v}");
        assert_eq!(v["error"]["status"], "UNAUTHENTICATED", "{v}");
    }
    assert!(gemini.requests().is_empty());
}

#[tokio::test]
async fn translated_to_openai_the_answer_is_geminis_and_counts_are_estimated() {
    let gemini = MockUpstream::start(Reply::text(500, "unused")).await;
    let openai = MockUpstream::start(Reply::json(
        200,
        &json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi from OpenAI"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}}),
    ))
    .await;
    let gw = start(&gemini, &openai).await;
    let body = json!({
        "contents": [{"role": "user", "parts": [{"text": "Say hi"}]}],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "generationConfig": {"temperature": 0.2, "maxOutputTokens": 50}
    });
    let url = format!(
        "{}/o/v1beta/models/gemini-2.5-flash:generateContent",
        gw.base_url()
    );
    let r = post_json(&url, &body, &[KEY]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(
        v["candidates"][0]["content"]["parts"][0]["text"], "Hi from OpenAI",
        "{v}"
    );
    assert_eq!(v["candidates"][0]["finishReason"], "STOP");
    assert_eq!(v["usageMetadata"]["promptTokenCount"], 9);
    assert_eq!(v["usageMetadata"]["candidatesTokenCount"], 3);
    let up = openai.requests()[0].json();
    assert_eq!(up["model"], "gpt-4o-mini");
    assert_eq!(
        up["messages"][0],
        json!({"role": "system", "content": "Be brief."})
    );
    assert_eq!(up["messages"][1]["role"], "user");
    assert_eq!(up["temperature"], 0.2);
    // countTokens: the route's provider cannot count Gemini's way: an estimate.
    let url = format!(
        "{}/o/v1beta/models/gemini-2.5-flash:countTokens",
        gw.base_url()
    );
    let r = post_json(&url, &json!({"contents": body["contents"]}), &[KEY]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["totalTokens"].as_u64().unwrap() > 0);
    assert_eq!(openai.requests().len(), 1, "counted by the gateway");
}

#[tokio::test]
async fn count_tokens_pass_natively() {
    let gemini = MockUpstream::start(Reply::json(200, &json!({"totalTokens": 31}))).await;
    let openai = MockUpstream::start(Reply::text(500, "unused")).await;
    let gw = start(&gemini, &openai).await;
    let url = format!(
        "{}/g/v1beta/models/gemini-2.5-flash:countTokens?key=g-team-key-0001",
        gw.base_url()
    );
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "Count me"}]}]});
    let r = post_json(&url, &body, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"totalTokens": 31}));
    let up = &gemini.requests()[0];
    assert_eq!(
        up.path_only(),
        "/v1beta/models/gemini-2.5-flash:countTokens"
    );
    assert_eq!(up.json(), body);
    assert_eq!(up.header("x-goog-api-key"), Some("backend-google-key"));
}
