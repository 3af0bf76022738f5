//! `fields.remove` on the GenAI defaults (no `fields.add`).

use sluice_tests::otlp::AttrValue;
use sluice_tests::OtlpReceiver;

use crate::support::{
    assert_recipe_attributes, chat_request, config, s, send, start_gateway, Traced,
    COMPLETION_TOKENS, PROMPT_TOKENS, REQUEST_MODEL, RESPONSE_MODEL, WAIT,
};

#[tokio::test]
async fn fields_remove_drops_one_genai_default() {
    let otlp = OtlpReceiver::start_grpc().await;
    let tracing = format!(
        "  tracing:\n    otlpEndpoint: {}\n    otlpProtocol: grpc\n    randomSampling: true\n    fields:\n      remove: [gen_ai.request.model]\n",
        otlp.endpoint()
    );
    let run = Traced::start(otlp, &tracing).await;
    let span = run.plain_span("POST /gemini").await;
    assert!(span.attr("gen_ai.request.model").is_none());
    assert_recipe_attributes(
        &span,
        &[
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.provider.name", s("gcp.gemini")),
            ("gen_ai.response.model", s(RESPONSE_MODEL)),
            ("gen_ai.usage.input_tokens", AttrValue::Int(PROMPT_TOKENS)),
            (
                "gen_ai.usage.output_tokens",
                AttrValue::Int(COMPLETION_TOKENS),
            ),
            (
                "gen_ai.response.finish_reasons",
                AttrValue::Other(r#"["stop"]"#.into()),
            ),
            ("gen_ai.request.temperature", AttrValue::Double(0.2)),
            ("gen_ai.request.max_tokens", AttrValue::Int(100)),
        ],
    );

    // Control: the same gateway without `remove` keeps gen_ai.request.model.
    let otlp2 = OtlpReceiver::start_grpc().await;
    let tracing2 = format!(
        "  tracing:\n    otlpEndpoint: {}\n    otlpProtocol: grpc\n    randomSampling: true\n",
        otlp2.endpoint()
    );
    let gw2 = start_gateway(&config(&tracing2, "", &run.upstream)).await;
    send(&gw2, &chat_request(false), &[]).await;
    let span2 = otlp2.wait_for_span_named("POST /gemini", WAIT).await;
    assert_eq!(span2.attr("gen_ai.request.model"), Some(&s(REQUEST_MODEL)));
}
