//! Anthropic Messages passed natively to an Anthropic upstream, beyond what the Claude Code
//! runs show: a whole answer reaches the client as the provider sent it, an upstream error
//! passes with its status and shape, a client that leaves mid-stream still has its usage
//! (cache tokens included) logged and counted, and `/metrics` counts tokens by type; the
//! tools offered reach the log line when a field reads `llm.tools`.

use std::time::Duration;

use serde_json::json;
use sluice_tests::http::{get, post_json, post_json_streaming};
use sluice_tests::replies::{anthropic_text_events, MockUsage};
use sluice_tests::{Gateway, MockUpstream, Ports, Reply};

const WAIT: Duration = Duration::from_secs(10);

const CONFIG: &str = r#"
config:
  adminAddr: {{admin}}
  logging:
    fields:
      add:
        llm.cache_read: llm.cachedInputTokens
        llm.cache_creation: llm.cache_creation_input_tokens
        llm.tools: llm.tools.map(t, t.name)
        llm.tool_schema: llm.tools[0].parameters.required[0]
listeners:
  - name: http
    bind: {{listener}}
    routes:
      - name: claude
        match: {pathPrefix: /claude}
        backend: anthropic
backends:
  - name: anthropic
    provider: anthropic
    apiKey: sk-ant-backend
    baseUrl: {{upstream}}
"#;

async fn start(upstream: &MockUpstream) -> Gateway {
    let yaml = Ports::new().render(CONFIG, &[("upstream", &upstream.base_url())]);
    Gateway::start(&yaml).await
}

const USAGE: MockUsage = MockUsage {
    input: 12,
    cache_read: 3000,
    cache_creation: 400,
    output: 9,
};

fn request(stream: bool) -> serde_json::Value {
    json!({
        "model": "claude-sonnet-4-5", "max_tokens": 1024, "stream": stream,
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": "Hello"}],
        "tools": [
            {"name": "get_weather", "description": "Weather of a city",
             "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                              "required": ["city"]}},
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 2}
        ]
    })
}

#[tokio::test]
async fn a_whole_answer_passes_as_it_came_with_cache_tokens_logged() {
    // Spacing and key order of the provider's own: the client gets these very bytes.
    let answer = "{\"id\":\"msg_1\", \"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\",\
        \"content\":[{\"type\":\"thinking\",\"thinking\":\"hm\",\"signature\":\"sig\"},{\"type\":\"text\",\"text\":\"Hi!\"}],\
        \"stop_reason\":\"end_turn\",\"stop_sequence\":null,\
        \"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":400,\"cache_read_input_tokens\":3000,\"output_tokens\":9}}";
    let upstream = MockUpstream::start(Reply::new(
        200,
        vec![("content-type".into(), "application/json".into())],
        answer,
    ))
    .await;
    let gw = start(&upstream).await;
    let r = post_json(
        &format!("{}/claude/v1/messages", gw.base_url()),
        &request(false),
        &[("anthropic-beta", "prompt-caching-2024-07-31")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), answer, "byte for byte");
    let up = &upstream.requests()[0];
    assert_eq!(up.json(), request(false), "the body as the client wrote it");
    assert_eq!(
        up.header("anthropic-beta"),
        Some("prompt-caching-2024-07-31")
    );
    let log = &gw.wait_for_request_logs(1, WAIT).await[0];
    assert_eq!(log.get("llm.provider"), Some("anthropic"));
    assert_eq!(log.get_int("llm.request.tokens"), Some(12 + 3000 + 400));
    assert_eq!(log.get_int("llm.response.tokens"), Some(9));
    assert_eq!(log.get_int("llm.cache_read"), Some(3000));
    assert_eq!(log.get_int("llm.cache_creation"), Some(400));
    // The tools offered, read from the native body only because a field reads them.
    assert_eq!(
        log.get("llm.tools"),
        Some(r#"["get_weather","web_search"]"#)
    );
    assert_eq!(log.get("llm.tool_schema"), Some("city"));
    assert_eq!(
        log.get("llm.response.model"),
        Some("claude-sonnet-4-5-20250929")
    );
}

#[tokio::test]
async fn an_upstream_error_passes_with_its_status_and_shape() {
    let body = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}"#;
    let upstream = MockUpstream::start(Reply::new(
        529,
        vec![("content-type".into(), "application/json".into())],
        body,
    ))
    .await;
    let gw = start(&upstream).await;
    let r = post_json(
        &format!("{}/claude/v1/messages", gw.base_url()),
        &request(false),
        &[],
    )
    .await;
    assert_eq!(r.status, 529);
    assert_eq!(r.text(), body);
    let log = &gw.wait_for_request_logs(1, WAIT).await[0];
    assert_eq!(log.get("http.status"), Some("529"));
}

#[tokio::test]
async fn a_client_that_leaves_mid_stream_has_its_usage_logged_and_counted() {
    // message_start (input and cache counts), then a long, slow text: the client leaves
    // before message_delta gives the output count.
    let mut events = anthropic_text_events("claude-sonnet-4-5-20250929", "x", USAGE);
    let delta = events.remove(3);
    let rest = events.split_off(3);
    for i in 0..60 {
        let mut d = delta.clone();
        d["delta"]["text"] = json!(format!("word{i} "));
        events.push(d);
    }
    events.extend(rest);
    let chunks = events
        .iter()
        .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap_or("")).into())
        .collect();
    let reply = Reply::stream(
        200,
        vec![("content-type".into(), "text/event-stream".into())],
        chunks,
        Duration::from_millis(40),
    );
    let upstream = MockUpstream::start(reply).await;
    let gw = start(&upstream).await;
    let mut s = post_json_streaming(
        &format!("{}/claude/v1/messages", gw.base_url()),
        &request(true),
        &[],
    )
    .await;
    assert_eq!(s.status, 200);
    let seen = s.read_until("word3").await;
    assert!(seen.starts_with("event: message_start\n"), "{seen}");
    drop(s);
    let log = &gw.wait_for_request_logs(1, WAIT).await[0];
    assert!(
        log.get("error")
            .unwrap_or("")
            .contains("client disconnected"),
        "{log:?}"
    );
    // Input (with the cache) as the provider reported it; output estimated from what was
    // streamed, and marked so.
    assert_eq!(log.get_int("llm.request.tokens"), Some(12 + 3000 + 400));
    assert_eq!(log.get_int("llm.cache_read"), Some(3000));
    let out = log
        .get_int("llm.response.tokens")
        .expect("output estimated");
    assert!((4..60).contains(&out), "only what was streamed: {out}");
    assert_eq!(log.get("llm.usage.estimated"), Some("true"));

    let metrics = get(&format!("{}/metrics", gw.admin_url())).await.text();
    for (kind, want) in [
        ("input", (12 + 3000 + 400).to_string()),
        ("cache_read", "3000".to_string()),
        ("cache_creation", "400".to_string()),
        ("output", out.to_string()),
    ] {
        let line = format!(
            "sluice_tokens_total{{route=\"claude\",gen_ai_provider_name=\"anthropic\",gen_ai_token_type=\"{kind}\"}} {want}"
        );
        assert!(metrics.contains(&line), "{line} not in:\n{metrics}");
    }
}

#[tokio::test]
async fn an_exact_route_is_told_its_api_by_its_whole_path() {
    // `match: {path: /v1/messages}`: nothing follows the route's path, so the API is read
    // from the whole path (it was once taken for chat completions, the bare prefix's API).
    let answer = r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hi!"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":2}}"#;
    let upstream = MockUpstream::start(Reply::new(
        200,
        vec![("content-type".into(), "application/json".into())],
        answer,
    ))
    .await;
    let yaml = Ports::new().render(
        "listeners:\n  - name: http\n    bind: {{listener}}\n    routes:\n      - name: messages\n        match: {path: /v1/messages}\n        backend: anthropic\n      - name: exact\n        match: {path: /exact}\n        backend: mock\nbackends:\n  - name: anthropic\n    provider: anthropic\n    apiKey: sk-ant-backend\n    baseUrl: {{upstream}}\n  - name: mock\n    provider: mock\n",
        &[("upstream", &upstream.base_url())],
    );
    let gw = Gateway::start(&yaml).await;
    let r = post_json(
        &format!("{}/v1/messages", gw.base_url()),
        &request(false),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), answer, "passed natively, in the Messages shape");
    let up = &upstream.requests()[0];
    assert_eq!(up.path_only(), "/v1/messages");
    assert_eq!(up.json(), request(false));
    // An exact path that names no API is chat completions, as a bare prefix is.
    let chat = json!({"model": "m", "messages": [{"role": "user", "content": "Hello"}]});
    let r = post_json(&format!("{}/exact", gw.base_url()), &chat, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["object"], "chat.completion");

    // No route: a 404 in the shape of the API the path names.
    let base = gw.base_url();
    let r = post_json(&format!("{base}/other/v1/messages"), &request(false), &[]).await;
    assert_eq!(r.status, 404);
    let body = r.json();
    assert_eq!(body["type"], "error", "Anthropic's shape: {body}");
    assert_eq!(body["error"]["type"], "not_found_error", "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("no route for /other/v1/messages"));
    let gemini = json!({"contents": [{"role": "user", "parts": [{"text": "Hello"}]}]});
    let r = post_json(
        &format!("{base}/other/v1beta/models/gemini-2.0-flash:generateContent"),
        &gemini,
        &[],
    )
    .await;
    assert_eq!(r.status, 404);
    let body = r.json();
    assert_eq!(body["error"]["code"], 404, "Gemini's shape: {body}");
    assert_eq!(body["error"]["status"], "NOT_FOUND", "{body}");
    let r = post_json(&format!("{base}/other/v1/chat/completions"), &chat, &[]).await;
    assert_eq!(r.status, 404);
    let body = r.json();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no route"),
        "OpenAI's shape: {body}"
    );
    assert!(body.get("type").is_none(), "{body}");
}
