//! The OpenAI Responses front door (`.../responses`): natively to an OpenAI upstream the body
//! passes as the client wrote it and the answer and stream come back byte for byte, with
//! usage (cached and reasoning tokens) logged; the stored-response calls pass to OpenAI and
//! are refused with a reason on a route that cannot serve them; translated to Anthropic, the
//! stream is the Responses event sequence.

use std::time::Duration;

use serde_json::{json, Value};
use sluice_tests::http::{chunks_text, post_json, post_json_streaming, Client};
use sluice_tests::replies::{anthropic_sse, anthropic_text_events, event_stream, MockUsage};
use sluice_tests::{Gateway, MockUpstream, Ports, Reply};

const WAIT: Duration = Duration::from_secs(10);

const CONFIG: &str = r#"
config:
  adminAddr: {{admin}}
listeners:
  - name: http
    bind: {{listener}}
    routes:
      - name: openai
        match: {pathPrefix: /oa}
        backend: openai
      - name: claude
        match: {pathPrefix: /claude}
        backend: anthropic
      - name: chain
        match: {pathPrefix: /chain}
        backends: [openai, anthropic]
backends:
  - name: openai
    provider: openai
    apiKey: sk-backend-openai
    baseUrl: {{openai}}
  - name: anthropic
    provider: anthropic
    model: claude-sonnet-4-5
    apiKey: sk-ant-backend
    baseUrl: {{anthropic}}
"#;

async fn start(openai: &MockUpstream, anthropic: &MockUpstream) -> Gateway {
    let yaml = Ports::new().render(
        CONFIG,
        &[
            ("openai", &openai.base_url()),
            ("anthropic", &anthropic.base_url()),
        ],
    );
    Gateway::start(&yaml).await
}

/// A Codex-like request: what must pass untouched natively.
fn request(stream: bool) -> Value {
    json!({
        "model": "gpt-5-codex", "instructions": "You are a coding agent.",
        "input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "List files"}]},
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAAABopaque"},
            {"type": "function_call", "call_id": "call_1", "name": "shell", "arguments": "{\"command\":[\"ls\"]}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "a.txt"}
        ],
        "tools": [{"type": "function", "name": "shell", "parameters": {"type": "object", "properties": {}}},
                  {"type": "web_search"}],
        "tool_choice": "auto", "parallel_tool_calls": false,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "store": false, "stream": stream, "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "session-1"
    })
}

const ANSWER: &str = "{\"id\": \"resp_1\", \"object\": \"response\", \"status\": \"completed\", \"model\": \"gpt-5-codex-2025\",\
    \"output\": [{\"type\": \"message\", \"id\": \"msg_1\", \"role\": \"assistant\", \"status\": \"completed\",\
    \"content\": [{\"type\": \"output_text\", \"text\": \"a.txt\", \"annotations\": []}]}],\
    \"usage\": {\"input_tokens\": 120, \"input_tokens_details\": {\"cached_tokens\": 100}, \"output_tokens\": 30,\
    \"output_tokens_details\": {\"reasoning_tokens\": 20}, \"total_tokens\": 150}}";

fn json_reply(status: u16, body: &str) -> Reply {
    Reply::new(
        status,
        vec![("content-type".into(), "application/json".into())],
        body.to_string(),
    )
}

#[tokio::test]
async fn native_the_body_passes_and_the_answer_comes_back_byte_for_byte() {
    let openai = MockUpstream::start(json_reply(200, ANSWER)).await;
    let anthropic = MockUpstream::start(Reply::text(500, "unused")).await;
    let gw = start(&openai, &anthropic).await;
    let url = format!("{}/oa/v1/responses", gw.base_url());
    let r = post_json(
        &url,
        &request(false),
        &[("authorization", "Bearer sk-client")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), ANSWER);
    let up = &openai.requests()[0];
    assert_eq!(up.path_only(), "/v1/responses");
    assert_eq!(
        up.json(),
        request(false),
        "every field as the client wrote it"
    );
    assert_eq!(up.header("authorization"), Some("Bearer sk-backend-openai"));
    let log = &gw.wait_for_request_logs(1, WAIT).await[0];
    assert_eq!(log.get("llm.provider"), Some("openai"));
    assert_eq!(log.get("llm.request.model"), Some("gpt-5-codex"));
    assert_eq!(log.get("llm.response.model"), Some("gpt-5-codex-2025"));
    assert_eq!(log.get_int("llm.request.tokens"), Some(120));
    assert_eq!(log.get_int("llm.response.tokens"), Some(30));
}

#[tokio::test]
async fn native_a_stream_comes_back_byte_for_byte_with_usage_logged() {
    let events = [
        json!({"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1", "model": "gpt-5-codex", "status": "in_progress", "output": []}}),
        json!({"type": "response.output_text.delta", "sequence_number": 1, "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": "a."}),
        json!({"type": "response.output_text.delta", "sequence_number": 2, "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": "txt"}),
        json!({"type": "response.completed", "sequence_number": 3, "response": serde_json::from_str::<Value>(ANSWER).unwrap()}),
    ];
    let chunks: Vec<bytes::Bytes> = events
        .iter()
        .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap()).into())
        .collect();
    let sent: String = chunks.iter().map(|c| String::from_utf8_lossy(c)).collect();
    let openai = MockUpstream::start(event_stream(chunks)).await;
    let anthropic = MockUpstream::start(Reply::text(500, "unused")).await;
    let gw = start(&openai, &anthropic).await;
    let url = format!("{}/oa/v1/responses", gw.base_url());
    let s = post_json_streaming(&url, &request(true), &[]).await;
    assert_eq!(s.status, 200);
    assert_eq!(chunks_text(&s.collect_chunks().await), sent);
    assert_eq!(openai.requests()[0].json(), request(true));
    let log = &gw.wait_for_request_logs(1, WAIT).await[0];
    assert_eq!(log.get_int("llm.request.tokens"), Some(120));
    assert_eq!(log.get_int("llm.response.tokens"), Some(30));
}

#[tokio::test]
async fn stored_responses_pass_to_openai_and_are_refused_where_nothing_is_stored() {
    // Answered in this order (the pushed replies first, then the default).
    let tokens = r#"{"object":"response.input_tokens","input_tokens":77}"#;
    let openai = MockUpstream::start(json_reply(200, tokens)).await;
    openai.push_reply(json_reply(200, ANSWER));
    openai.push_reply(json_reply(
        200,
        r#"{"object":"list","data":[],"has_more":false}"#,
    ));
    openai.push_reply(json_reply(
        200,
        r#"{"id":"resp_1","object":"response","deleted":true}"#,
    ));
    let anthropic = MockUpstream::start(Reply::text(500, "unused")).await;
    let gw = start(&openai, &anthropic).await;
    let base = gw.base_url();
    let client = Client::new();
    let r = client.get(&format!("{base}/oa/v1/responses/resp_1")).await;
    assert_eq!((r.status, r.text()), (200, ANSWER.to_string()));
    let r = client
        .get(&format!(
            "{base}/oa/v1/responses/resp_1/input_items?limit=5"
        ))
        .await;
    assert_eq!(r.json()["object"], "list");
    let r = client
        .send("DELETE", &format!("{base}/oa/v1/responses/resp_1"), &[], "")
        .await
        .unwrap();
    assert_eq!(r.json()["deleted"], true);
    let r = post_json(
        &format!("{base}/oa/v1/responses/input_tokens"),
        &json!({"model": "gpt-5", "input": "hi"}),
        &[],
    )
    .await;
    assert_eq!(r.json()["input_tokens"], 77);
    let seen: Vec<(String, String)> = openai
        .requests()
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            ("GET", "/v1/responses/resp_1"),
            ("GET", "/v1/responses/resp_1/input_items?limit=5"),
            ("DELETE", "/v1/responses/resp_1"),
            ("POST", "/v1/responses/input_tokens"),
        ]
        .map(|(m, p)| (m.to_string(), p.to_string()))
    );
    assert!(openai
        .requests()
        .iter()
        .all(|r| r.header("authorization") == Some("Bearer sk-backend-openai")));
    // Anthropic stores no responses: a clear 400, in the Responses API's shape.
    let r = client
        .get(&format!("{base}/claude/v1/responses/resp_1"))
        .await;
    assert_eq!(r.status, 400);
    let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains("only backends that serve the Responses API"),
        "{msg}"
    );
    let chained = json!({"model": "gpt-5", "input": "and then?", "previous_response_id": "resp_1"});
    let r = post_json(&format!("{base}/claude/v1/responses"), &chained, &[]).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("previous_response_id"), "{}", r.text());
    // The input-token count toward Anthropic: estimated by the gateway.
    let r = post_json(
        &format!("{base}/claude/v1/responses/input_tokens"),
        &json!({"model": "m", "input": "Count these words, please."}),
        &[],
    )
    .await;
    assert_eq!(r.json()["object"], "response.input_tokens");
    assert!(r.json()["input_tokens"].as_u64().unwrap() > 0);
    assert!(anthropic.requests().is_empty());
}

#[tokio::test]
async fn translated_to_anthropic_the_stream_is_the_responses_event_sequence() {
    let usage = MockUsage {
        input: 20,
        cache_read: 100,
        cache_creation: 0,
        output: 7,
    };
    let openai = MockUpstream::start(Reply::text(500, "unused")).await;
    let anthropic = MockUpstream::start(anthropic_sse(&anthropic_text_events(
        "claude-sonnet-4-5",
        "Hello from Claude",
        usage,
    )))
    .await;
    let gw = start(&openai, &anthropic).await;
    let body = json!({"model": "gpt-5", "instructions": "Be brief.", "input": "Say hello",
                      "stream": true, "max_output_tokens": 100});
    let s = post_json_streaming(
        &format!("{}/claude/v1/responses", gw.base_url()),
        &body,
        &[],
    )
    .await;
    assert_eq!(s.status, 200);
    let text = chunks_text(&s.collect_chunks().await);
    let events: Vec<Value> = text
        .split("\n\n")
        .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds[..5],
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
        ],
        "{kinds:?}"
    );
    assert_eq!(
        kinds[kinds.len() - 4..],
        [
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ],
        "{kinds:?}"
    );
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["sequence_number"], i, "{e}");
    }
    let said: String = events
        .iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .map(|e| e["delta"].as_str().unwrap())
        .collect();
    assert_eq!(said, "Hello from Claude");
    let done = &events.last().unwrap()["response"];
    assert_eq!(done["status"], "completed");
    assert_eq!(done["usage"]["input_tokens"], 120);
    assert_eq!(done["usage"]["input_tokens_details"]["cached_tokens"], 100);
    assert_eq!(done["usage"]["output_tokens"], 7);
    let up = anthropic.requests()[0].json();
    assert_eq!(up["model"], "claude-sonnet-4-5");
    assert_eq!(up["system"], "Be brief.");
    assert_eq!(up["max_tokens"], 100);
    assert_eq!(up["stream"], true);
    let log = &gw.wait_for_request_logs(1, WAIT).await[0];
    assert_eq!(log.get("llm.provider"), Some("anthropic"));
    assert_eq!(log.get_int("llm.request.tokens"), Some(120));
    assert_eq!(log.get_int("llm.response.tokens"), Some(7));
}

#[tokio::test]
async fn a_client_that_leaves_a_native_stream_has_its_usage_estimated_and_logged() {
    // Usage comes only in `response.completed`: a client that leaves before it still has
    // its tokens counted, estimated (marked so) from its prompt and what was streamed, even
    // for a body the hub could not take (Codex's `web_search` tool).
    let mut events = vec![json!({"type": "response.created", "sequence_number": 0,
        "response": {"id": "resp_1", "model": "gpt-5-codex", "status": "in_progress", "output": []}})];
    for i in 1..=60 {
        events.push(json!({"type": "response.output_text.delta", "sequence_number": i,
            "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": format!("word{i} ")}));
    }
    let chunks = events
        .iter()
        .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap()).into())
        .collect();
    let reply = Reply::stream(
        200,
        vec![("content-type".into(), "text/event-stream".into())],
        chunks,
        Duration::from_millis(40),
    );
    let openai = MockUpstream::start(reply).await;
    let anthropic = MockUpstream::start(Reply::text(500, "unused")).await;
    let gw = start(&openai, &anthropic).await;
    let mut s = post_json_streaming(
        &format!("{}/oa/v1/responses", gw.base_url()),
        &request(true),
        &[],
    )
    .await;
    assert_eq!(s.status, 200);
    s.read_until("word3 ").await;
    drop(s);
    let log = &gw.wait_for_request_logs(1, WAIT).await[0];
    assert!(
        log.get("error")
            .unwrap_or("")
            .contains("client disconnected"),
        "{log:?}"
    );
    assert_eq!(log.get("llm.usage.estimated"), Some("true"));
    let input = log.get_int("llm.request.tokens").expect("input estimated");
    assert!(input > 5, "the prompt's tokens: {input}");
    let output = log
        .get_int("llm.response.tokens")
        .expect("output estimated");
    assert!(
        (4..120).contains(&output),
        "only what was streamed: {output}"
    );
}

#[tokio::test]
async fn a_failover_chain_goes_from_native_to_translated() {
    // OpenAI is overloaded: the same Responses request goes on to Anthropic, translated, and
    // the client gets one clean answer in its own shape.
    let openai = MockUpstream::start(json_reply(
        503,
        r#"{"error":{"message":"busy","type":"server_error"}}"#,
    ))
    .await;
    let usage = MockUsage {
        input: 9,
        cache_read: 0,
        cache_creation: 0,
        output: 4,
    };
    let anthropic = MockUpstream::start(anthropic_sse(&anthropic_text_events(
        "claude-sonnet-4-5",
        "Claude took over",
        usage,
    )))
    .await;
    let gw = start(&openai, &anthropic).await;
    let body = json!({"model": "gpt-5", "input": "Hello", "stream": true});
    let s = post_json_streaming(&format!("{}/chain/v1/responses", gw.base_url()), &body, &[]).await;
    assert_eq!(s.status, 200);
    let text = chunks_text(&s.collect_chunks().await);
    assert!(text.contains("event: response.completed"), "{text}");
    assert!(
        text.contains("Claude took over") || text.contains("Claude took"),
        "{text}"
    );
    assert_eq!(openai.requests()[0].json(), body, "natively first");
    assert_eq!(anthropic.requests()[0].path_only(), "/v1/messages");
    let log = &gw.wait_for_request_logs(1, WAIT).await[0];
    assert_eq!(log.get("llm.provider"), Some("anthropic"));
    assert_eq!(log.get_int("llm.attempts"), Some(2));
    assert_eq!(log.get_int("llm.response.tokens"), Some(4));
}

#[tokio::test]
async fn a_preset_that_serves_responses_gets_them_natively_and_one_that_does_not_translated() {
    // vLLM serves `/v1/responses`: the body passes as written. DeepSeek serves chat
    // completions only: the request is translated to chat.
    let vllm = MockUpstream::start(json_reply(200, ANSWER)).await;
    let chat_answer = json!({"id": "c1", "object": "chat.completion", "created": 1, "model": "deepseek-chat",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "a.txt"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}});
    let deepseek = MockUpstream::start(Reply::json(200, &chat_answer)).await;
    let yaml = Ports::new().render(
        "listeners:\n  - name: http\n    bind: {{listener}}\n    routes:\n      - name: vllm\n        match: {pathPrefix: /vllm}\n        backend: vllm\n      - name: deepseek\n        match: {pathPrefix: /ds}\n        backend: deepseek\nbackends:\n  - name: vllm\n    provider: vllm\n    baseUrl: {{vllm}}\n  - name: deepseek\n    provider: deepseek\n    apiKey: sk-ds\n    baseUrl: {{deepseek}}\n",
        &[("vllm", &vllm.base_url()), ("deepseek", &deepseek.base_url())],
    );
    let gw = Gateway::start(&yaml).await;
    let r = post_json(
        &format!("{}/vllm/v1/responses", gw.base_url()),
        &request(false),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), ANSWER, "byte for byte");
    let up = &vllm.requests()[0];
    assert_eq!(up.path_only(), "/v1/responses");
    assert_eq!(up.json(), request(false));

    let simple = json!({"model": "deepseek-chat", "input": "List files"});
    let r = post_json(&format!("{}/ds/v1/responses", gw.base_url()), &simple, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["object"], "response");
    assert_eq!(r.json()["output"][0]["content"][0]["text"], "a.txt");
    let up = &deepseek.requests()[0];
    assert_eq!(up.path_only(), "/v1/chat/completions");
    assert_eq!(up.json()["messages"][0]["content"], "List files");
}
