//! The seed's five tracing recipes' `fields.add`, evaluated on the shared record.

use super::{attrs, run, s, PROMPT_JSON};
use crate::AttrValue::{self, Bool, Float, Int};

/// The default and Jaeger recipes: the same six attributes, with the models and token counts
/// read from `paths` (request model, response model, output tokens, input tokens).
fn assert_genai_basics(paths: [&str; 4]) {
    let [request_model, response_model, output_tokens, input_tokens] = paths;
    let out = run(&[
        ("gen_ai.operation.name", r#""chat""#),
        ("gen_ai.system", "llm.provider"),
        ("gen_ai.request.model", request_model),
        ("gen_ai.response.model", response_model),
        ("gen_ai.usage.completion_tokens", output_tokens),
        ("gen_ai.usage.prompt_tokens", input_tokens),
    ]);
    assert_eq!(
        out,
        attrs(&[
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.system", s("openai")),
            ("gen_ai.request.model", s("gpt-4o-mini")),
            ("gen_ai.response.model", s("gpt-4o-mini-2024-07-18")),
            ("gen_ai.usage.completion_tokens", Int(34)),
            ("gen_ai.usage.prompt_tokens", Int(12)),
        ])
    );
}

/// How Langfuse and OpenLLMetry both go on after the messages (OpenLLMetry then adds
/// `llm.is_streaming`): the token counts, the models and the request parameters.
const USAGE_MODELS_PARAMS: [(&str, &str); 5] = [
    ("gen_ai.usage.completion_tokens", "llm.output_tokens"),
    ("gen_ai.usage.prompt_tokens", "llm.input_tokens"),
    ("gen_ai.request.model", "llm.request_model"),
    ("gen_ai.response.model", "llm.response_model"),
    ("gen_ai.request", "flatten(llm.params)"),
];

/// What [`USAGE_MODELS_PARAMS`] adds, in order.
fn usage_models_params() -> Vec<(&'static str, AttrValue<'static>)> {
    vec![
        ("gen_ai.usage.completion_tokens", Int(34)),
        ("gen_ai.usage.prompt_tokens", Int(12)),
        ("gen_ai.request.model", s("gpt-4o-mini")),
        ("gen_ai.response.model", s("gpt-4o-mini-2024-07-18")),
        ("gen_ai.request.temperature", Float(0.2)),
        ("gen_ai.request.max_tokens", Int(256)),
    ]
}

#[test]
fn seed_default_recipe() {
    assert_genai_basics([
        "llm.requestModel",
        "llm.responseModel",
        "llm.outputTokens",
        "llm.inputTokens",
    ]);
}

#[test]
fn seed_jaeger_recipe() {
    assert_genai_basics([
        "llm.request_model",
        "llm.response_model",
        "llm.output_tokens",
        "llm.input_tokens",
    ]);
}

#[test]
fn seed_langfuse_recipe() {
    let head = [
        ("gen_ai.operation.name", r#""chat""#),
        ("gen_ai.system", "llm.provider"),
        ("gen_ai.prompt", "llm.prompt"),
        (
            "gen_ai.completion",
            r#"llm.completion.map(c, {"role":"assistant", "content": c})"#,
        ),
    ];
    let out = run(&[&head[..], &USAGE_MODELS_PARAMS].concat());
    let want = [
        vec![
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.system", s("openai")),
            ("gen_ai.prompt", s(PROMPT_JSON)),
            (
                "gen_ai.completion",
                s(r#"[{"role":"assistant","content":"Hi!"}]"#),
            ),
        ],
        usage_models_params(),
    ];
    assert_eq!(out, attrs(&want.concat()));
}

#[test]
fn seed_phoenix_recipe() {
    let out = run(&[
        ("span.name", r#""openai.chat""#),
        ("openinference.span.kind", r#""LLM""#),
        ("llm.system", "llm.provider"),
        (
            "llm.input_messages",
            r#"flatten_recursive(llm.prompt.map(c, {"message": c}))"#,
        ),
        (
            "llm.output_messages",
            r#"flatten_recursive(llm.completion.map(c, {"role":"assistant", "content": c}))"#,
        ),
        ("llm.token_count.completion", "llm.output_tokens"),
        ("llm.token_count.prompt", "llm.input_tokens"),
        ("llm.token_count.total", "llm.total_tokens"),
    ]);
    assert_eq!(
        out,
        attrs(&[
            ("span.name", s("openai.chat")),
            ("openinference.span.kind", s("LLM")),
            ("llm.system", s("openai")),
            ("llm.input_messages.0.message.role", s("system")),
            ("llm.input_messages.0.message.content", s("You are terse.")),
            ("llm.input_messages.1.message.role", s("user")),
            ("llm.input_messages.1.message.content", s("Say \"hi\"\n")),
            ("llm.output_messages.0.role", s("assistant")),
            ("llm.output_messages.0.content", s("Hi!")),
            ("llm.token_count.completion", Int(34)),
            ("llm.token_count.prompt", Int(12)),
            ("llm.token_count.total", Int(46)),
        ])
    );
}

#[test]
fn seed_openllmetry_recipe() {
    let head = [
        ("span.name", r#""openai.chat""#),
        ("gen_ai.operation.name", r#""chat""#),
        ("gen_ai.system", "llm.provider"),
        ("gen_ai.prompt", "flatten_recursive(llm.prompt)"),
        (
            "gen_ai.completion",
            r#"flatten_recursive(llm.completion.map(c, {"role":"assistant", "content": c}))"#,
        ),
    ];
    let streaming = [("llm.is_streaming", "llm.streaming")];
    let out = run(&[&head[..], &USAGE_MODELS_PARAMS, &streaming].concat());
    let want = [
        vec![
            ("span.name", s("openai.chat")),
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.system", s("openai")),
            ("gen_ai.prompt.0.role", s("system")),
            ("gen_ai.prompt.0.content", s("You are terse.")),
            ("gen_ai.prompt.1.role", s("user")),
            ("gen_ai.prompt.1.content", s("Say \"hi\"\n")),
            ("gen_ai.completion.0.role", s("assistant")),
            ("gen_ai.completion.0.content", s("Hi!")),
        ],
        usage_models_params(),
        vec![("llm.is_streaming", Bool(false))],
    ];
    assert_eq!(out, attrs(&want.concat()));
}
