//! The seed's five recipes, each run verbatim against an in-process OTLP receiver.

use serde_json::{json, Value};
use sluice_tests::otlp::AttrValue;
use sluice_tests::OtlpReceiver;

use crate::recipe_texts::{
    LANGFUSE_CREDENTIALS, RECIPE_DEFAULT, RECIPE_DEFAULT_ENDPOINT, RECIPE_JAEGER,
    RECIPE_JAEGER_ENDPOINT, RECIPE_LANGFUSE, RECIPE_LANGFUSE_ENDPOINT, RECIPE_OPENLLMETRY,
    RECIPE_OPENLLMETRY_ENDPOINT, RECIPE_PHOENIX, RECIPE_PHOENIX_ENDPOINT,
};
use crate::support::{
    assert_recipe_attributes, assert_standard_attributes, chat_request, json_text,
    recipe_with_endpoint, s, send, Traced, ANSWER, COMPLETION_TOKENS, PROMPT_TOKENS, REQUEST_MODEL,
    RESPONSE_MODEL, STREAM_TEXT, SYSTEM, TOTAL_TOKENS, USER, WAIT,
};

/// What the default and Jaeger recipes add (from camelCase and snake_case paths respectively).
fn genai_basics() -> Vec<(&'static str, AttrValue)> {
    vec![
        ("gen_ai.operation.name", s("chat")),
        ("gen_ai.system", s("gemini")),
        ("gen_ai.request.model", s(REQUEST_MODEL)),
        ("gen_ai.response.model", s(RESPONSE_MODEL)),
        (
            "gen_ai.usage.completion_tokens",
            AttrValue::Int(COMPLETION_TOKENS),
        ),
        ("gen_ai.usage.prompt_tokens", AttrValue::Int(PROMPT_TOKENS)),
    ]
}

#[tokio::test]
async fn recipe_default_configmap() {
    let run = Traced::seed_recipe(RECIPE_DEFAULT, RECIPE_DEFAULT_ENDPOINT).await;
    let span = run.plain_span("POST /gemini").await;
    assert_recipe_attributes(&span, &genai_basics());
    // The log line's trace and span ids are the span's.
    let log = &run.gw.wait_for_request_logs(1, WAIT).await[0];
    assert_eq!(log.get("trace.id"), Some(span.trace_id.as_str()));
    assert_eq!(log.get("span.id"), Some(span.span_id.as_str()));
}

#[tokio::test]
async fn recipe_jaeger() {
    let run = Traced::seed_recipe(RECIPE_JAEGER, RECIPE_JAEGER_ENDPOINT).await;
    let span = run.plain_span("POST /gemini").await;
    assert_recipe_attributes(&span, &genai_basics());
    assert_eq!(span.int_attr("gen_ai.usage.completion_tokens"), Some(7));
    assert_eq!(
        span.str_attr("gen_ai.request.model"),
        Some("gemini-1.5-flash-latest")
    );
}

#[tokio::test]
async fn recipe_langfuse_over_otlp_http() {
    let otlp = OtlpReceiver::start_http().await;
    let endpoint = format!("{}/api/public/otel", otlp.endpoint());
    let tracing = recipe_with_endpoint(RECIPE_LANGFUSE, RECIPE_LANGFUSE_ENDPOINT, &endpoint)
        .replacen("<base64-encoded-credentials>", LANGFUSE_CREDENTIALS, 1);
    let run = Traced::start(otlp, &tracing).await;
    let span = run.plain_span("POST /gemini").await;
    let prompt = json_text(&json!([
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": USER}
    ]));
    let completion = json_text(&json!([{"role": "assistant", "content": ANSWER}]));
    // Spelled out too, so the expected text does not depend on serde_json.
    assert_eq!(
        completion,
        s(r#"[{"role":"assistant","content":"AI finds \"patterns\" in data."}]"#)
    );
    assert_recipe_attributes(
        &span,
        &[
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.system", s("gemini")),
            ("gen_ai.prompt", prompt),
            ("gen_ai.completion", completion),
            (
                "gen_ai.usage.completion_tokens",
                AttrValue::Int(COMPLETION_TOKENS),
            ),
            ("gen_ai.usage.prompt_tokens", AttrValue::Int(PROMPT_TOKENS)),
            ("gen_ai.request.model", s(REQUEST_MODEL)),
            ("gen_ai.response.model", s(RESPONSE_MODEL)),
            ("gen_ai.request.temperature", AttrValue::Double(0.2)),
            ("gen_ai.request.max_tokens", AttrValue::Int(100)),
        ],
    );
    assert_eq!(span.double_attr("gen_ai.request.temperature"), Some(0.2));
    // The gen_ai.prompt text is valid JSON that round-trips to the client's messages.
    let parsed: Value = serde_json::from_str(span.str_attr("gen_ai.prompt").unwrap()).unwrap();
    assert_eq!(parsed[0]["role"], "system");
    assert_eq!(parsed[1]["content"], USER);

    // Langfuse's OTLP ingest path and the Basic credentials.
    let exports = run.otlp.wait_for_exports(1, WAIT).await;
    let with_span: Vec<_> = exports.iter().filter(|e| e.span_count > 0).collect();
    assert!(!with_span.is_empty(), "{exports:#?}");
    for e in &exports {
        assert_eq!(e.path, "/api/public/otel/v1/traces");
        assert_eq!(
            e.header("authorization"),
            Some(format!("Basic {LANGFUSE_CREDENTIALS}").as_str())
        );
        assert_eq!(e.status, 200);
    }
}

#[tokio::test]
async fn recipe_phoenix_openinference() {
    let run = Traced::seed_recipe(RECIPE_PHOENIX, RECIPE_PHOENIX_ENDPOINT).await;
    // span.name renames the span and is not itself an attribute.
    let span = run.plain_span("openai.chat").await;
    assert_eq!(run.otlp.spans().len(), 1);
    assert!(span.attr("span.name").is_none());
    assert_recipe_attributes(
        &span,
        &[
            ("openinference.span.kind", s("LLM")),
            ("llm.system", s("gemini")),
            ("llm.input_messages.0.message.role", s("system")),
            ("llm.input_messages.0.message.content", s(SYSTEM)),
            ("llm.input_messages.1.message.role", s("user")),
            ("llm.input_messages.1.message.content", s(USER)),
            ("llm.output_messages.0.role", s("assistant")),
            ("llm.output_messages.0.content", s(ANSWER)),
            (
                "llm.token_count.completion",
                AttrValue::Int(COMPLETION_TOKENS),
            ),
            ("llm.token_count.prompt", AttrValue::Int(PROMPT_TOKENS)),
            ("llm.token_count.total", AttrValue::Int(TOTAL_TOKENS)),
        ],
    );
}

#[tokio::test]
async fn recipe_openllmetry_plain_and_streamed() {
    let run = Traced::seed_recipe(RECIPE_OPENLLMETRY, RECIPE_OPENLLMETRY_ENDPOINT).await;
    let Traced { otlp, upstream, gw } = &run;

    // Not streamed.
    let span = run.plain_span("openai.chat").await;
    assert!(span.attr("span.name").is_none());
    let common = |completion: &str, input: i64, output: i64, model: &str, streaming: bool| {
        vec![
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.system", s("gemini")),
            ("gen_ai.prompt.0.role", s("system")),
            ("gen_ai.prompt.0.content", s(SYSTEM)),
            ("gen_ai.prompt.1.role", s("user")),
            ("gen_ai.prompt.1.content", s(USER)),
            ("gen_ai.completion.0.role", s("assistant")),
            ("gen_ai.completion.0.content", s(completion)),
            ("gen_ai.usage.completion_tokens", AttrValue::Int(output)),
            ("gen_ai.usage.prompt_tokens", AttrValue::Int(input)),
            ("gen_ai.request.model", s(REQUEST_MODEL)),
            ("gen_ai.response.model", s(model)),
            ("gen_ai.request.temperature", AttrValue::Double(0.2)),
            ("gen_ai.request.max_tokens", AttrValue::Int(100)),
            ("llm.is_streaming", AttrValue::Bool(streaming)),
        ]
    };
    assert_recipe_attributes(
        &span,
        &common(
            ANSWER,
            PROMPT_TOKENS,
            COMPLETION_TOKENS,
            RESPONSE_MODEL,
            false,
        ),
    );
    assert_eq!(span.bool_attr("llm.is_streaming"), Some(false));

    // Streamed: the assembled completion and the stream's usage.
    let resp = send(gw, &chat_request(true), &[]).await;
    assert!(resp.text().contains("[DONE]"), "{}", resp.text());
    let spans = otlp
        .wait_for_spans_matching(1, WAIT, |s| s.bool_attr("llm.is_streaming") == Some(true))
        .await;
    let streamed = &spans[0];
    assert_eq!(streamed.name, "openai.chat");
    assert_standard_attributes(streamed, upstream, 8, "gemini-2.0-flash", 12);
    assert_recipe_attributes(
        streamed,
        &common(STREAM_TEXT, 8, 12, "gemini-2.0-flash", true),
    );
    assert!(streamed.int_attr("gen_ai.usage.completion_tokens").unwrap() > 0);
    assert!(streamed.int_attr("gen_ai.usage.prompt_tokens").unwrap() > 0);
    let ups = upstream.wait_for_requests(2, WAIT).await;
    assert!(
        ups[1].path.contains(":streamGenerateContent"),
        "{}",
        ups[1].path
    );
}
