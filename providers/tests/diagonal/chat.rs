//! Chat Completions on the diagonal: requests to OpenAI and Azure, and a whole answer.

use serde_json::json;
use sluice_providers::plan::Native;
use sluice_providers::{
    ClientRequest, Front, Plan, ProviderKind, RequestTarget, TranslateError, UpstreamRequest,
};

use crate::support::{assert_json_eq, assert_untouched_members, json, response_target};

/// A realistic chat request, as a client writes it (spacing and all): a tool round trip,
/// `tool_choice`, a JSON schema answer, `logit_bias`, `reasoning_effort` and a vendor field.
const CHAT_REQUEST: &str = r#"{
  "model": "gpt-5.1",
  "messages": [
    {"role": "developer", "content": "Answer as JSON. Be terse."},
    {"role": "user", "content": [{"type": "text", "text": "Weather in Paris, °C?"}]},
    {"role": "assistant", "content": null, "tool_calls": [
      {"id": "call_7Qk2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
    ]},
    {"role": "tool", "tool_call_id": "call_7Qk2", "content": "{\"temp_c\":18.50}"}
  ],
  "tools": [{"type": "function", "function": {
    "name": "get_weather", "description": "Current weather", "strict": true,
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"], "additionalProperties": false}}}],
  "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
  "parallel_tool_calls": false,
  "response_format": {"type": "json_schema", "json_schema": {"name": "weather", "strict": true,
    "schema": {"type": "object", "properties": {"temp_c": {"type": "number"}},
               "required": ["temp_c"], "additionalProperties": false}}},
  "logit_bias": {"1734": -100, "50256": 5},
  "reasoning_effort": "low",
  "max_completion_tokens": 800,
  "seed": 7,
  "store": false,
  "metadata": {"team": "weather"},
  "x_vendor_trace": {"id": "t-9", "sampled": true}
}"#;

fn chat_request(
    provider: ProviderKind,
    raw: &[u8],
    model: &str,
    api_version: Option<&str>,
) -> UpstreamRequest {
    let plan = Plan::choose(Front::Chat, provider, model);
    assert_eq!(plan, Plan::Native(Native::Chat(provider)));
    let mut req = ClientRequest::read(Front::Chat, raw.to_vec()).expect("client body");
    let target = RequestTarget {
        model,
        api_version,
        ..RequestTarget::default()
    };
    plan.request(&mut req, &target).expect("request")
}

#[test]
fn chat_goes_to_openai_byte_for_byte() {
    let raw = CHAT_REQUEST.as_bytes();
    let up = chat_request(ProviderKind::OpenAi, raw, "gpt-5.1", None);
    assert!(up.body == raw, "not byte for byte");
    assert_eq!(up.path, "/v1/chat/completions");
    assert!(up.headers.is_empty());
    // A pinned model is the only difference.
    let up = chat_request(ProviderKind::OpenAi, raw, "gpt-5.1-2026-01-01", None);
    let mut want = json(raw);
    want["model"] = json!("gpt-5.1-2026-01-01");
    assert_json_eq("pinned", &json(&up.body), &want);
    assert_untouched_members("pinned", raw, &up.body, &["model"]);
}

#[test]
fn a_chat_stream_only_gains_stream_usage() {
    let mut v = json(CHAT_REQUEST.as_bytes());
    v["stream"] = json!(true);
    let raw = serde_json::to_vec(&v).expect("JSON");
    let up = chat_request(ProviderKind::OpenAi, &raw, "gpt-5.1", None);
    let mut want = v.clone();
    want["stream_options"] = json!({"include_usage": true});
    assert_json_eq("stream", &json(&up.body), &want);
    assert_untouched_members("stream", &raw, &up.body, &["stream_options"]);
    // Other stream options stay beside it.
    v["stream_options"] = json!({"include_obfuscation": false});
    let raw = serde_json::to_vec(&v).expect("JSON");
    let up = chat_request(ProviderKind::OpenAi, &raw, "gpt-5.1", None);
    assert_eq!(
        json(&up.body)["stream_options"],
        json!({"include_obfuscation": false, "include_usage": true})
    );
    // A client that asked for usage already is not edited at all.
    v["stream_options"] = json!({"include_usage": true});
    let raw = serde_json::to_vec(&v).expect("JSON");
    let up = chat_request(ProviderKind::OpenAi, &raw, "gpt-5.1", None);
    assert!(up.body == raw);
}

#[test]
fn chat_goes_to_an_azure_deployment() {
    let raw = CHAT_REQUEST.as_bytes();
    let up = chat_request(ProviderKind::Azure, raw, "weather-gpt51", None);
    assert_eq!(
        up.path,
        "/openai/deployments/weather-gpt51/chat/completions?api-version=2024-10-21"
    );
    let mut want = json(raw);
    want["model"] = json!("weather-gpt51");
    assert_json_eq("azure", &json(&up.body), &want);
    assert_untouched_members("azure", raw, &up.body, &["model"]);
    let up = chat_request(
        ProviderKind::Azure,
        raw,
        "weather-gpt51",
        Some("2025-04-01-preview"),
    );
    assert_eq!(
        up.path,
        "/openai/deployments/weather-gpt51/chat/completions?api-version=2025-04-01-preview"
    );
    // Without a pinned model the client names the deployment: it cannot leave its segment.
    for model in ["../../openai/assistants", "x?api-version=1#", "x/y"] {
        let plan = Plan::choose(Front::Chat, ProviderKind::Azure, model);
        let mut req = ClientRequest::read(Front::Chat, raw.to_vec()).expect("client body");
        let target = RequestTarget {
            model,
            ..RequestTarget::default()
        };
        let err = plan.request(&mut req, &target).expect_err(model);
        assert!(
            matches!(err, TranslateError::InvalidRequest(_)),
            "{model}: {err}"
        );
    }
}

#[test]
fn a_whole_chat_answer_passes_as_it_came() {
    let body = br#"{"id":"chatcmpl-9x","object":"chat.completion","created":1700000000,"model":"gpt-5.1-2026-01-01","choices":[{"index":0,"message":{"role":"assistant","content":"{\"temp_c\":18.5}","refusal":null},"finish_reason":"stop"}],"usage":{"prompt_tokens":120,"completion_tokens":12,"total_tokens":132,"prompt_tokens_details":{"cached_tokens":64},"completion_tokens_details":{"reasoning_tokens":4}},"system_fingerprint":"fp_x"}"#;
    let plan = Plan::choose(Front::Chat, ProviderKind::OpenAi, "gpt-5.1");
    let req = ClientRequest::read(Front::Chat, br#"{"messages":[]}"#.to_vec()).expect("chat");
    let c = plan
        .response(body.to_vec(), &response_target(), &req)
        .expect("answer");
    assert!(c.body == body.to_vec());
    assert_eq!(c.texts, [r#"{"temp_c":18.5}"#]);
    assert_eq!(c.finish_reasons, ["stop"]);
    assert_eq!(c.usage.input_tokens, Some(120));
    assert_eq!(c.usage.cached_input_tokens, Some(64));
    assert_eq!(c.response_model.as_deref(), Some("gpt-5.1-2026-01-01"));
}
