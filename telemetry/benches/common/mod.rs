//! The record and recipe both telemetry benches measure: a realistic request (3-message
//! prompt, one choice) and the Langfuse recipe, compiled as the gateway compiles it.

use std::time::{Duration, SystemTime};

use sluice_telemetry::fields::Fields;
use sluice_telemetry::{LlmFacts, PromptMessage, RequestRecord};

pub fn record() -> RequestRecord {
    RequestRecord {
        listener: "http".into(),
        route: "openai".into(),
        route_path: "/openai".into(),
        endpoint: "api.openai.com:443".into(),
        source_address: "10.1.2.3:49576".into(),
        method: "POST".into(),
        host: "gateway.internal".into(),
        path: "/openai/v1/chat/completions".into(),
        version: "HTTP/1.1",
        scheme: "http",
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("user-agent".into(), "OpenAI/Python 1.54.0".into()),
            ("accept".into(), "application/json".into()),
        ],
        status: 200,
        start: SystemTime::UNIX_EPOCH,
        duration: Duration::from_millis(812),
        upstream_time: Duration::from_millis(800),
        trace_id: [7; 16],
        span_id: [9; 8],
        parent_span_id: None,
        sampled: true,
        llm: Some(LlmFacts {
            attempts: 1,
            fallback_reasons: Vec::new(),
            provider: "openai".into(),
            request_model: "gpt-4o-mini".into(),
            response_model: Some("gpt-4o-mini-2024-07-18".into()),
            input_tokens: Some(187),
            output_tokens: Some(164),
            total_tokens: Some(351),
            cached_input_tokens: None,
            cache_creation_input_tokens: None,
            cache_write_1h_tokens: None,
            reasoning_tokens: None,
            usage_estimated: false,
            cost: None,
            streaming: false,
            params: vec![
                ("temperature".into(), serde_json::json!(0.2)),
                ("max_tokens".into(), serde_json::json!(512)),
                ("top_p".into(), serde_json::json!(0.9)),
            ],
            prompt: vec![
                PromptMessage {
                    role: "system".into(),
                    content: "You are a helpful assistant for an online bookshop. Answer briefly, \
                              cite the catalogue when you can, and never invent prices."
                        .into(),
                },
                PromptMessage {
                    role: "user".into(),
                    content: "I liked \"The Left Hand of Darkness\". What should I read next? \
                              Something with a similar mood, ideally under 400 pages."
                        .into(),
                },
                PromptMessage {
                    role: "assistant".into(),
                    content: "Do you prefer more science fiction, or are you open to other \
                              genres with the same contemplative tone?"
                        .into(),
                },
            ],
            completion: vec![
                "Try \"The Dispossessed\" by the same author: an anarchist moon, \
                              a physicist between two worlds, and the same quiet, careful \
                              attention to how a society shapes its people. It runs about \
                              380 pages. If you want a change of author, \"A Memory Called \
                              Empire\" shares its interest in language and culture."
                    .into(),
            ],
            tool_calls: vec![],
            tools: vec![],
            finish_reasons: vec!["stop".into()],
            time_to_first_token: Some(Duration::from_millis(312)),
        }),
        error: None,
        limit: None,
        key: String::new(),
        team: String::new(),
    }
}

pub fn compile(add: &[(&str, &str)]) -> Fields {
    let add: Vec<(String, String)> = add
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    match Fields::compile(&add) {
        Ok(f) => f,
        Err(e) => panic!("{e:?}"),
    }
}

pub const LANGFUSE_RECIPE: [(&str, &str); 9] = [
    ("gen_ai.operation.name", r#""chat""#),
    ("gen_ai.system", "llm.provider"),
    ("gen_ai.prompt", "llm.prompt"),
    (
        "gen_ai.completion",
        r#"llm.completion.map(c, {"role":"assistant", "content": c})"#,
    ),
    ("gen_ai.usage.completion_tokens", "llm.output_tokens"),
    ("gen_ai.usage.prompt_tokens", "llm.input_tokens"),
    ("gen_ai.request.model", "llm.request_model"),
    ("gen_ai.response.model", "llm.response_model"),
    ("gen_ai.request", "flatten(llm.params)"),
];
