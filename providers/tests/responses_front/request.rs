//! Requests: Responses request bodies -> hub chat requests, and the refusals naming the field.

use serde_json::{json, Value};
use sluice_providers::front::responses::request_to_hub;

use crate::support::{fixture, fixture_json, hub_json, to_hub};

fn refusal(body: Value) -> String {
    match request_to_hub(body.to_string().as_bytes()) {
        Ok(req) => panic!("accepted: {}", hub_json(&req)),
        Err(e) => e.to_string(),
    }
}

#[test]
fn golden_codex_request_becomes_the_hub_request() {
    let got = hub_json(&request_to_hub(&fixture("codex.request.json")).expect("translates"));
    assert_eq!(got, fixture_json("codex.hub.json"));
}

#[test]
fn plain_input_instructions_and_parameters() {
    let v = to_hub(json!({
        "model": "m", "input": "hi", "instructions": "be brief", "temperature": 0.2,
        "top_p": 0.9, "max_output_tokens": 100, "user": "u-1", "safety_identifier": "s-1",
        "store": true, "metadata": {"k": "v"}, "prompt_cache_key": "k", "service_tier": "auto",
        "truncation": "auto", "reasoning": {"effort": "high", "summary": "detailed"},
        "text": {"format": {"type": "text"}, "verbosity": "low"}, "stream_options": {"include_obfuscation": false},
        "client_metadata": {"x": "y"}, "background": false, "top_logprobs": 0,
        "previous_response_id": null
    }));
    assert_eq!(
        v,
        json!({
            "model": "m", "temperature": 0.2, "top_p": 0.9, "max_tokens": 100, "user": "u-1",
            "reasoning_effort": "high",
            "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
        })
    );
    let v = to_hub(json!({"model": "m", "input": "hi", "safety_identifier": "s-1"}));
    assert_eq!(v["user"], "s-1", "the end user's id when `user` is absent");
}

#[test]
fn tools_are_nested_and_choices_mapped() {
    let tools = json!([{"type": "function", "name": "f", "description": "d", "strict": true,
                        "parameters": {"type": "object"}, "defer_loading": false}]);
    let v = to_hub(json!({"model": "m", "input": "x", "tools": tools,
                          "tool_choice": {"type": "function", "name": "f"}, "parallel_tool_calls": true}));
    assert_eq!(
        v["tools"],
        json!([{"type": "function", "function": {"name": "f", "description": "d",
                "parameters": {"type": "object"}, "strict": true}}])
    );
    assert_eq!(
        v["tool_choice"],
        json!({"type": "function", "function": {"name": "f"}})
    );
    assert!(
        v.get("parallel_tool_calls").is_none(),
        "true is the default"
    );
    for choice in ["auto", "none", "required"] {
        let v = to_hub(json!({"model": "m", "input": "x", "tools": tools, "tool_choice": choice}));
        assert_eq!(v["tool_choice"], choice);
    }
    let v = to_hub(
        json!({"model": "m", "input": "x", "tool_choice": "required", "parallel_tool_calls": false}),
    );
    assert!(
        v.get("tool_choice").is_none() && v.get("parallel_tool_calls").is_none(),
        "no tools, no choice"
    );
}

#[test]
fn text_formats_become_response_formats() {
    let v = to_hub(json!({"model": "m", "input": "x", "text": {"format": {
        "type": "json_schema", "name": "answer", "strict": true, "description": "d",
        "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}}}));
    assert_eq!(
        v["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "answer", "strict": true, "description": "d",
               "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}})
    );
    let v =
        to_hub(json!({"model": "m", "input": "x", "text": {"format": {"type": "json_object"}}}));
    assert_eq!(v["response_format"], json!({"type": "json_object"}));
    let v = to_hub(json!({"model": "m", "input": "x", "text": {"format": {"type": "text"}}}));
    assert!(v.get("response_format").is_none());
    let err = refusal(
        json!({"model": "m", "input": "x", "text": {"format": {"type": "json_schema", "name": "n"}}}),
    );
    assert!(err.contains("needs a `schema`"), "{err}");
}

#[test]
fn assistant_items_in_a_row_make_one_message() {
    let v = to_hub(json!({"model": "m", "input": [
        {"role": "user", "content": "weather in Paris and Rome?"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Checking."}]},
        {"type": "function_call", "call_id": "c1", "name": "w", "arguments": "{\"city\":\"Paris\"}"},
        {"type": "function_call", "call_id": "c2", "name": "w", "arguments": "{\"city\":\"Rome\"}"},
        {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        {"type": "function_call_output", "call_id": "c2", "output": [
            {"type": "input_text", "text": "rain"}, {"type": "input_text", "text": "cold"}]},
        {"type": "function_call", "call_id": "c3", "name": "snap", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c3", "output": [
            {"type": "input_text", "text": "see"},
            {"type": "input_image", "image_url": "https://x/y.png"}]},
        {"role": "assistant", "content": "Done."}
    ]}));
    assert_eq!(
        v["messages"],
        json!([
            {"role": "user", "content": "weather in Paris and Rome?"},
            {"role": "assistant", "content": "Checking.", "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "c2", "type": "function", "function": {"name": "w", "arguments": "{\"city\":\"Rome\"}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
            {"role": "tool", "tool_call_id": "c2", "content": "rain\ncold"},
            {"role": "assistant", "tool_calls": [
                {"id": "c3", "type": "function", "function": {"name": "snap", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c3", "content": [
                {"type": "text", "text": "see"},
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
            {"role": "assistant", "content": "Done."}
        ])
    );
}

#[test]
fn parts_files_and_cache_breakpoints() {
    let v = to_hub(json!({"model": "m", "input": [{"role": "user", "content": [
        {"type": "input_text", "text": "read this", "prompt_cache_breakpoint": {"mode": "explicit"}},
        {"type": "input_file", "filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBE"}
    ]}]}));
    assert_eq!(
        v["messages"][0]["content"],
        json!([
            {"type": "text", "text": "read this", "cache_control": {"type": "ephemeral"}},
            {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE", "filename": "a.pdf"}}
        ])
    );
}

#[test]
fn reasoning_that_is_not_ours_keeps_its_text_only() {
    let req = request_to_hub(
        json!({"model": "m", "input": [
            {"role": "user", "content": "hi"},
            {"type": "reasoning", "id": "rs_openai", "encrypted_content": "gAAAAABoOpenAIsecret",
             "summary": [{"type": "summary_text", "text": "First."}, {"type": "summary_text", "text": "Second."}]},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hello"}]},
            {"type": "reasoning", "summary": []}
        ]})
        .to_string()
        .as_bytes(),
    )
    .expect("translates");
    let m = &req.messages[1];
    assert_eq!(m.reasoning_content.as_deref(), Some("First.\n\nSecond."));
    assert_eq!(
        m.thinking_blocks, None,
        "OpenAI's encrypted reasoning reaches no provider"
    );
    assert_eq!(
        req.messages.len(),
        2,
        "an empty reasoning item adds nothing"
    );
    let err = refusal(json!({"model": "m", "input": [
        {"type": "reasoning", "summary": [], "encrypted_content": "sluice:v1:%%%"}]}));
    assert!(err.contains("input[0].encrypted_content"), "{err}");
}

#[test]
fn refusals_name_the_field() {
    let cases = [
        (
            json!({"previous_response_id": "resp_1"}),
            "`previous_response_id` cannot be followed",
        ),
        (
            json!({"conversation": "conv_1"}),
            "`conversation` cannot be followed",
        ),
        (
            json!({"tools": [{"type": "web_search"}]}),
            "`tools[0].type: web_search` has no counterpart",
        ),
        (
            json!({"tools": [{"type": "custom", "name": "p", "format": {"type": "regexp"}}]}),
            "`tools[0].format.type: regexp`",
        ),
        (
            json!({"tools": [{"type": "function", "name": "f", "output_schema": {}}]}),
            "`tools[0].output_schema`",
        ),
        (
            json!({"tool_choice": {"type": "allowed_tools", "mode": "auto", "tools": []}}),
            "`tool_choice.type: allowed_tools`",
        ),
        (
            json!({"include": ["message.output_text.logprobs"]}),
            "`include: message.output_text.logprobs`",
        ),
        (
            json!({"background": true}),
            "`background` has no counterpart",
        ),
        (json!({"top_logprobs": 5}), "`top_logprobs`"),
        (
            json!({"prompt": {"id": "pmpt_1"}}),
            "`prompt` has no counterpart",
        ),
        (json!({"frobnicate": 1}), "`frobnicate` has no counterpart"),
        (
            json!({"reasoning": {"effort": "low", "context": "all_turns"}}),
            "`reasoning.context`",
        ),
        (
            json!({"text": {"format": {"type": "grammar"}}}),
            "`text.format.type: grammar`",
        ),
        (
            json!({"input": [{"type": "item_reference", "id": "msg_1"}]}),
            "does not store responses",
        ),
        (
            json!({"input": [{"type": "local_shell_call", "id": "x"}]}),
            "`input[0].type: local_shell_call`",
        ),
        (
            json!({"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file-1"}]}]}),
            "`input[0].content[0].file_id` has no counterpart",
        ),
        (
            json!({"input": [{"role": "user", "content": [{"type": "input_file", "file_url": "https://x/a.pdf"}]}]}),
            "`input[0].content[0].file_url`",
        ),
        (
            json!({"input": [{"type": "tool_search_call", "call_id": "c", "arguments": {}}]}),
            "`input[0].type: tool_search_call`",
        ),
        (
            json!({"input": [{"role": "user", "content": "x", "extra_field": 1}]}),
            "`input[0].extra_field`",
        ),
    ];
    for (fields, want) in cases {
        let mut body = json!({"model": "m", "input": "x"});
        for (k, v) in fields.as_object().unwrap() {
            body[k] = v.clone();
        }
        let err = refusal(body.clone());
        assert!(err.contains(want), "{body}\n  gave: {err}\n  want: {want}");
    }
    let err = refusal(json!({"model": "m"}));
    assert!(err.contains("`input` is required"), "{err}");
    let err = refusal(json!({"model": "m", "input": [{"role": "robot", "content": "x"}]}));
    assert!(err.contains("`role` must be"), "{err}");
}
