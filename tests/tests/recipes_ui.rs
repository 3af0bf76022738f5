//! sluice's own recipes for tracing UIs, read from `conf/tracing/` as shipped and run end to end
//! against a real OTLP receiver: `openinference.yaml` (Arize Phoenix: OpenInference attributes)
//! and `genai.yaml` (the OpenTelemetry GenAI conventions with message content); and the span
//! without any recipe (the GenAI defaults, no content) for a streamed call.
//!
//! A mock OpenAI upstream answers a text (with cached and reasoning tokens in its usage), a
//! stream, a tool call, and the turn after the tool's result. Each test asserts every attribute
//! the recipe adds, with its exact value and OTLP type.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};
use sluice_tests::gateway::workspace_dir;
use sluice_tests::http::post_json;
use sluice_tests::otlp::{AttrValue, ReceivedSpan};
use sluice_tests::{Gateway, MockUpstream, OtlpReceiver, Ports, Reply};

const WAIT: Duration = Duration::from_secs(10);

const MODEL: &str = "gpt-4o-mini";
const RESPONSE_MODEL: &str = "gpt-4o-mini-2024-07-18";
const SYSTEM: &str = "You are a terse assistant.";
const USER: &str = "What is the weather in Paris?";
/// With a quote and a newline, so every JSON text must escape them.
const ANSWER: &str = "It is \"sunny\"\nin Paris.";
const TOOL: &str = "get_weather";
const TOOL_ID: &str = "call_w1";
const TOOL_ARGS: &str = r#"{"city":"Paris","days":3}"#;
const TOOL_RESULT: &str = "sunny, 21 degrees";
const FOLLOWUP: &str = "Sunny and 21 degrees in Paris.";
const STREAM_PIECES: [&str; 3] = ["Streams ", "arrive in ", "pieces."];
const STREAM_TEXT: &str = "Streams arrive in pieces.";

/// The span's attributes every request has (the log line's keys, `url.scheme`,
/// `network.protocol.version`); `llm.provider` is not among them, as recipes set it too.
const STANDARD: [&str; 20] = [
    "gateway",
    "listener",
    "route",
    "endpoint",
    "src.addr",
    "http.method",
    "http.host",
    "http.path",
    "http.version",
    "http.status",
    "trace.id",
    "span.id",
    "llm.request.model",
    "llm.request.tokens",
    "llm.response.model",
    "llm.response.tokens",
    "duration",
    "url.scheme",
    "network.protocol.version",
    // On every priced request, recipe or not (tests/tests/cost.rs checks its value).
    "llm.cost",
];

fn completion(message: Value, finish: &str) -> Value {
    json!({
        "id": "chatcmpl-ui-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": RESPONSE_MODEL,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": 21,
            "completion_tokens": 7,
            "total_tokens": 28,
            "prompt_tokens_details": {"cached_tokens": 16},
            "completion_tokens_details": {"reasoning_tokens": 3}
        }
    })
}

fn stream_events() -> Vec<String> {
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-ui-2", "object": "chat.completion.chunk", "created": 1,
               "model": RESPONSE_MODEL,
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        .to_string()
    };
    let mut events = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    events.extend(
        STREAM_PIECES
            .iter()
            .map(|p| chunk(json!({"content": p}), Value::Null)),
    );
    events.push(chunk(json!({}), json!("stop")));
    events.push(
        json!({"id": "chatcmpl-ui-2", "object": "chat.completion.chunk", "created": 1,
               "model": RESPONSE_MODEL, "choices": [],
               "usage": {"prompt_tokens": 9, "completion_tokens": 5, "total_tokens": 14}})
        .to_string(),
    );
    events.push("[DONE]".to_string());
    events
}

/// A mock OpenAI: a stream when asked, a tool call when offered tools (and no tool result came
/// back yet), the follow-up after a result, else the text answer.
async fn openai_upstream() -> MockUpstream {
    MockUpstream::start_with_handler(|req| {
        let body = req.json();
        let messages = body["messages"].as_array().cloned().unwrap_or_default();
        let answered = messages.iter().any(|m| m["role"] == "tool");
        if body["stream"] == json!(true) {
            Reply::sse(&stream_events(), Duration::from_millis(5))
        } else if answered {
            Reply::json(
                200,
                &completion(json!({"role": "assistant", "content": FOLLOWUP}), "stop"),
            )
        } else if body["tools"].is_array() {
            let call = json!({"id": TOOL_ID, "type": "function",
                              "function": {"name": TOOL, "arguments": TOOL_ARGS}});
            let message = json!({"role": "assistant", "content": null, "tool_calls": [call]});
            Reply::json(200, &completion(message, "tool_calls"))
        } else {
            Reply::json(
                200,
                &completion(json!({"role": "assistant", "content": ANSWER}), "stop"),
            )
        }
    })
    .await
}

fn chat(extra: Value) -> Value {
    let mut req = json!({
        "model": MODEL,
        "temperature": 0.2,
        "max_tokens": 100,
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}]
    });
    if let (Some(req), Some(extra)) = (req.as_object_mut(), extra.as_object()) {
        req.extend(extra.clone());
    }
    req
}

fn tools() -> Value {
    json!([{"type": "function", "function": {"name": TOOL, "parameters": {"type": "object"}}}])
}

/// The turn after the tool's result: the assistant's call and the tool's answer appended.
fn followup() -> Value {
    let call = json!({"id": TOOL_ID, "type": "function",
                      "function": {"name": TOOL, "arguments": TOOL_ARGS}});
    chat(json!({
        "tools": tools(),
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": USER},
            {"role": "assistant", "content": null, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": TOOL_ID, "content": TOOL_RESULT}
        ]
    }))
}

/// The config around a recipe's `tracing:` block: everything to the mock OpenAI.
const AROUND: &str = r#"name: sluice
config:
  adminAddr: {{admin}}
{{tracing}}listeners:
  - name: http
    bind: {{listener}}
    routes:
      - name: openai
        match: {pathPrefix: /}
        backend: openai
backends:
  - name: openai
    provider: openai
    apiKey: sk-upstream
    baseUrl: {{upstream}}/v1
"#;

/// A gateway on a mock OpenAI with `conf/tracing/<file>`'s `tracing:` block as shipped, its
/// collector address pointed at `otlp`; `None` for no tracing recipe (`tracing:` without fields).
async fn gateway(file: Option<&str>, otlp: &OtlpReceiver, upstream: &MockUpstream) -> Gateway {
    let tracing = match file {
        Some(file) => {
            let path = workspace_dir().join("conf/tracing").join(file);
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let start = text.find("  tracing:\n").expect("a tracing block");
            let end = text.find("\nlisteners:").expect("listeners after config");
            let block = &text[start..=end];
            let shipped = "otlpEndpoint: http://localhost:4317";
            assert!(block.contains(shipped), "{file}: {block}");
            block.replacen(shipped, &format!("otlpEndpoint: {}", otlp.endpoint()), 1)
        }
        None => format!("  tracing:\n    otlpEndpoint: {}\n", otlp.endpoint()),
    };
    let yaml = Ports::new().render(
        AROUND,
        &[("tracing", &tracing), ("upstream", &upstream.base_url())],
    );
    Gateway::start(&yaml).await
}

/// Sends `body` and returns its span (found by the trace id of its log line).
async fn span_of(gw: &Gateway, otlp: &OtlpReceiver, body: &Value, nth: usize) -> ReceivedSpan {
    let resp = post_json(&format!("{}/v1/chat/completions", gw.base_url()), body, &[]).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let logs = gw.wait_for_request_logs(nth, WAIT).await;
    let trace = logs[nth - 1].get("trace.id").expect("trace.id").to_string();
    otlp.wait_for_spans_matching(1, WAIT, |s| s.trace_id == trace)
        .await
        .remove(0)
}

/// Every attribute but the standard ones, each key once.
fn recipe_attrs(span: &ReceivedSpan) -> BTreeMap<String, AttrValue> {
    let mut got = BTreeMap::new();
    for (k, v) in &span.attributes {
        if !STANDARD.contains(&k.as_str()) {
            assert!(got.insert(k.clone(), v.clone()).is_none(), "{k} twice");
        }
    }
    got
}

fn expect(list: &[(&str, AttrValue)]) -> BTreeMap<String, AttrValue> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn s(v: &str) -> AttrValue {
    AttrValue::Str(v.to_string())
}

fn i(v: i64) -> AttrValue {
    AttrValue::Int(v)
}

fn json_text(v: Value) -> AttrValue {
    AttrValue::Str(v.to_string())
}

#[tokio::test]
async fn openinference_recipe_chat_stream_and_tool_call() {
    let otlp = OtlpReceiver::start_grpc().await;
    let upstream = openai_upstream().await;
    let gw = gateway(Some("openinference.yaml"), &otlp, &upstream).await;
    let prompt = json!([{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}]);
    let common = |input: i64, output: i64, total: i64| {
        vec![
            ("openinference.span.kind", s("LLM")),
            ("llm.system", s("openai")),
            ("llm.provider", s("openai")),
            ("llm.model_name", s(RESPONSE_MODEL)),
            ("input.value", json_text(json!({"messages": prompt}))),
            ("input.mime_type", s("application/json")),
            ("llm.input_messages.0.message.role", s("system")),
            ("llm.input_messages.0.message.content", s(SYSTEM)),
            ("llm.input_messages.1.message.role", s("user")),
            ("llm.input_messages.1.message.content", s(USER)),
            ("llm.output_messages.0.message.role", s("assistant")),
            ("llm.token_count.prompt", i(input)),
            ("llm.token_count.completion", i(output)),
            ("llm.token_count.total", i(total)),
        ]
    };

    // A text answer, with the parameters and the cache and reasoning details of its usage.
    let span = span_of(&gw, &otlp, &chat(json!({})), 1).await;
    assert_eq!(span.name, "chat gpt-4o-mini");
    assert!(span.attr("span.name").is_none());
    let mut want = common(21, 7, 28);
    want.extend([
        (
            "llm.invocation_parameters",
            s(r#"{"temperature":0.2,"max_tokens":100}"#),
        ),
        ("output.value", s(ANSWER)),
        ("output.mime_type", s("text/plain")),
        ("llm.output_messages.0.message.content", s(ANSWER)),
        ("llm.finish_reason", s("stop")),
        ("llm.token_count.prompt_details.cache_read", i(16)),
        ("llm.token_count.completion_details.reasoning", i(3)),
    ]);
    assert_eq!(recipe_attrs(&span), expect(&want), "{span:#?}");

    // Streamed: the assembled text and the stream's usage.
    let span = span_of(
        &gw,
        &otlp,
        &chat(json!({"stream": true, "stream_options": {"include_usage": true}})),
        2,
    )
    .await;
    let mut want = common(9, 5, 14);
    want.extend([
        (
            "llm.invocation_parameters",
            s(r#"{"temperature":0.2,"max_tokens":100}"#),
        ),
        ("output.value", s(STREAM_TEXT)),
        ("output.mime_type", s("text/plain")),
        ("llm.output_messages.0.message.content", s(STREAM_TEXT)),
        ("llm.finish_reason", s("stop")),
    ]);
    assert_eq!(recipe_attrs(&span), expect(&want), "{span:#?}");

    // A tool call: no content, the call under `message.tool_calls`, JSON as the output.
    let span = span_of(&gw, &otlp, &chat(json!({"tools": tools()})), 3).await;
    let calls = "llm.output_messages.0.message.tool_calls.0.tool_call";
    let mut want = common(21, 7, 28);
    want.extend([
        (
            "llm.invocation_parameters",
            s(r#"{"temperature":0.2,"max_tokens":100}"#),
        ),
        (
            "output.value",
            json_text(json!([{"role": "assistant", "content": null,
                "toolCalls": [{"id": TOOL_ID, "name": TOOL, "arguments": TOOL_ARGS}],
                "finishReason": "tool_call"}])),
        ),
        ("output.mime_type", s("application/json")),
        ("llm.finish_reason", s("tool_calls")),
        ("llm.token_count.prompt_details.cache_read", i(16)),
        ("llm.token_count.completion_details.reasoning", i(3)),
    ]);
    let keys = [
        format!("{calls}.id"),
        format!("{calls}.function.name"),
        format!("{calls}.function.arguments"),
    ];
    want.extend([
        (keys[0].as_str(), s(TOOL_ID)),
        (keys[1].as_str(), s(TOOL)),
        (keys[2].as_str(), s(TOOL_ARGS)),
        // The tool offered, as Phoenix reads tool definitions.
        (
            "llm.tools.0.tool.json_schema",
            json_text(json!({"type": "function", "function": {"name": TOOL,
                "description": null, "parameters": {"type": "object"}}})),
        ),
    ]);
    assert_eq!(recipe_attrs(&span), expect(&want), "{span:#?}");

    // The turn after the tool's result: the whole conversation as input messages.
    let span = span_of(&gw, &otlp, &followup(), 4).await;
    let got = recipe_attrs(&span);
    for (k, v) in [
        ("llm.input_messages.2.message.role", s("assistant")),
        ("llm.input_messages.2.message.content", s("")),
        ("llm.input_messages.3.message.role", s("tool")),
        ("llm.input_messages.3.message.content", s(TOOL_RESULT)),
        ("llm.output_messages.0.message.content", s(FOLLOWUP)),
        ("output.value", s(FOLLOWUP)),
    ] {
        assert_eq!(got.get(k), Some(&v), "{k}: {span:#?}");
    }
}

#[tokio::test]
async fn genai_recipe_records_content_in_the_conventions_shapes() {
    let otlp = OtlpReceiver::start_grpc().await;
    let upstream = openai_upstream().await;
    let gw = gateway(Some("genai.yaml"), &otlp, &upstream).await;
    let common = |input: i64, output: i64| {
        vec![
            ("llm.provider", s("openai")),
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.provider.name", s("openai")),
            ("gen_ai.request.model", s(MODEL)),
            ("gen_ai.request.temperature", AttrValue::Double(0.2)),
            ("gen_ai.request.max_tokens", i(100)),
            ("gen_ai.response.model", s(RESPONSE_MODEL)),
            ("gen_ai.usage.input_tokens", i(input)),
            ("gen_ai.usage.output_tokens", i(output)),
            (
                "gen_ai.system_instructions",
                json_text(json!([{"type": "text", "content": SYSTEM}])),
            ),
            (
                "gen_ai.input.messages",
                json_text(json!([{"role": "user", "parts": [{"type": "text", "content": USER}]}])),
            ),
        ]
    };
    let text_out = |text: &str| {
        json_text(
            json!([{"role": "assistant", "parts": [{"type": "text", "content": text}],
                          "finish_reason": "stop"}]),
        )
    };

    let span = span_of(&gw, &otlp, &chat(json!({"stop": ["END"], "seed": 7})), 1).await;
    assert_eq!(span.name, "chat gpt-4o-mini");
    let mut want = common(21, 7);
    want.extend([
        (
            "gen_ai.request.stop_sequences",
            AttrValue::Other(r#"["END"]"#.into()),
        ),
        ("gen_ai.request.seed", i(7)),
        (
            "gen_ai.response.finish_reasons",
            AttrValue::Other(r#"["stop"]"#.into()),
        ),
        ("gen_ai.usage.cache_read.input_tokens", i(16)),
        ("gen_ai.usage.reasoning.output_tokens", i(3)),
        ("gen_ai.output.messages", text_out(ANSWER)),
    ]);
    assert_eq!(recipe_attrs(&span), expect(&want), "{span:#?}");
    // The content attributes are JSON text that reads back as the conventions' shapes.
    let output: Value =
        serde_json::from_str(span.str_attr("gen_ai.output.messages").unwrap()).unwrap();
    assert_eq!(output[0]["parts"][0]["content"], ANSWER);

    // Streamed: stream flag, time to first chunk (seconds), the assembled text.
    let span = span_of(
        &gw,
        &otlp,
        &chat(json!({"stream": true, "stream_options": {"include_usage": true}})),
        2,
    )
    .await;
    let ttft = span
        .double_attr("gen_ai.response.time_to_first_chunk")
        .expect("a double");
    assert!(ttft > 0.0 && ttft < span.duration().as_secs_f64(), "{ttft}");
    let mut want = common(9, 5);
    want.extend([
        ("gen_ai.request.stream", AttrValue::Bool(true)),
        (
            "gen_ai.response.time_to_first_chunk",
            AttrValue::Double(ttft),
        ),
        (
            "gen_ai.response.finish_reasons",
            AttrValue::Other(r#"["stop"]"#.into()),
        ),
        ("gen_ai.output.messages", text_out(STREAM_TEXT)),
    ]);
    assert_eq!(recipe_attrs(&span), expect(&want), "{span:#?}");

    // A tool call: a `tool_call` part whose arguments are an object, finish reason `tool_call`.
    let span = span_of(&gw, &otlp, &chat(json!({"tools": tools()})), 3).await;
    let out = json!([{"role": "assistant",
        "parts": [{"type": "tool_call", "id": TOOL_ID, "name": TOOL,
                   "arguments": {"city": "Paris", "days": 3}}],
        "finish_reason": "tool_call"}]);
    assert_eq!(span.attr("gen_ai.output.messages"), Some(&json_text(out)));
    assert_eq!(
        span.attr("gen_ai.response.finish_reasons"),
        Some(&AttrValue::Other(r#"["tool_calls"]"#.into()))
    );
    // The tools offered, in the conventions' shape (the first two spans offered none, and
    // their exact attribute sets above have no definitions).
    let offered = json!([{"type": "function", "name": TOOL, "description": null,
                          "parameters": {"type": "object"}}]);
    assert_eq!(
        span.attr("gen_ai.tool.definitions"),
        Some(&json_text(offered))
    );

    // The turn after: the tool's result as a `tool_call_response` part, the call's own turn
    // without parts (its tool calls are not among the facts).
    let span = span_of(&gw, &otlp, &followup(), 4).await;
    let input = json!([
        {"role": "user", "parts": [{"type": "text", "content": USER}]},
        {"role": "assistant", "parts": []},
        {"role": "tool", "parts": [{"type": "tool_call_response", "response": TOOL_RESULT}]}
    ]);
    assert_eq!(span.attr("gen_ai.input.messages"), Some(&json_text(input)));
    assert_eq!(
        span.attr("gen_ai.output.messages"),
        Some(&text_out(FOLLOWUP))
    );
}

#[tokio::test]
async fn without_a_recipe_a_streamed_span_follows_the_conventions_without_content() {
    let otlp = OtlpReceiver::start_grpc().await;
    let upstream = openai_upstream().await;
    let gw = gateway(None, &otlp, &upstream).await;
    let span = span_of(
        &gw,
        &otlp,
        &chat(json!({"stream": true, "stream_options": {"include_usage": true}})),
        1,
    )
    .await;
    assert_eq!(span.name, "POST /", "the contract's HTTP span name");
    let ttft = span
        .double_attr("gen_ai.response.time_to_first_chunk")
        .expect("a double");
    assert!(ttft > 0.0 && ttft < span.duration().as_secs_f64(), "{ttft}");
    let want = expect(&[
        ("llm.provider", s("openai")),
        ("gen_ai.operation.name", s("chat")),
        ("gen_ai.provider.name", s("openai")),
        ("gen_ai.request.model", s(MODEL)),
        ("gen_ai.request.stream", AttrValue::Bool(true)),
        ("gen_ai.response.model", s(RESPONSE_MODEL)),
        ("gen_ai.usage.input_tokens", i(9)),
        ("gen_ai.usage.output_tokens", i(5)),
        (
            "gen_ai.response.finish_reasons",
            AttrValue::Other(r#"["stop"]"#.into()),
        ),
        (
            "gen_ai.response.time_to_first_chunk",
            AttrValue::Double(ttft),
        ),
        ("gen_ai.request.temperature", AttrValue::Double(0.2)),
        ("gen_ai.request.max_tokens", i(100)),
    ]);
    // Content is opt-in in the conventions: no messages without a recipe that asks.
    assert_eq!(recipe_attrs(&span), want, "{span:#?}");
}
