//! The OpenAI Responses front door across formats: request → hub, hub answer → `response`
//! object, hub chunk stream → Responses events, and errors. Goldens live in
//! `tests/fixtures/responses/`; `SLUICE_BLESS=1` rewrites the expected stream files.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sluice_providers::front::responses::{
    error_from_hub, request_to_hub, response_from_hub, Echo, FromHubStream,
};
use sluice_providers::openai::{ChatRequest, OpenAiStream};
use sluice_providers::sse::SseParser;
use sluice_providers::{ResponseTarget, StreamFacts, StreamTranslator, TranslateError};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/responses/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn fixture_json(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).expect("fixture is JSON")
}

/// The hub request as JSON, with the extensions serde leaves out (`thinking`, `top_k`,
/// `reasoning_content`, `thinking_blocks`), so a golden sees everything.
fn hub_json(req: &ChatRequest) -> Value {
    let mut v = serde_json::to_value(req).expect("serialises");
    if let Some(t) = &req.thinking {
        v["thinking"] = t.clone();
    }
    if let Some(k) = req.top_k {
        v["top_k"] = json!(k);
    }
    for (m, out) in req
        .messages
        .iter()
        .zip(v["messages"].as_array_mut().unwrap())
    {
        if let Some(r) = &m.reasoning_content {
            out["reasoning_content"] = json!(r);
        }
        if let Some(b) = &m.thinking_blocks {
            out["thinking_blocks"] = json!(b);
        }
    }
    v
}

fn to_hub(body: Value) -> Value {
    hub_json(&request_to_hub(body.to_string().as_bytes()).expect("translates"))
}

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

#[test]
fn golden_answer_with_thinking_text_and_tool_call() {
    let echo = Echo::read(&fixture("codex.request.json")).expect("reads");
    let got =
        response_from_hub(&fixture("thinking_tool.hub-response.json"), &echo).expect("translates");
    let got: Value = serde_json::from_slice(&got).expect("JSON");
    assert_eq!(got, fixture_json("thinking_tool.response.json"));
}

#[test]
fn reasoning_goes_back_to_the_hub_as_it_came() {
    let echo = Echo::read(&fixture("codex.request.json")).expect("reads");
    let hub_answer = fixture_json("thinking_tool.hub-response.json");
    let answer = response_from_hub(hub_answer.to_string().as_bytes(), &echo).expect("translates");
    let answer: Value = serde_json::from_slice(&answer).expect("JSON");
    // The client sends the whole output back as its next input, with the tool's result.
    let mut input = answer["output"].as_array().unwrap().clone();
    input.push(json!({"type": "function_call_output", "call_id": "toolu_01", "output": "a\nb"}));
    let req = request_to_hub(json!({"model": "m", "input": input}).to_string().as_bytes())
        .expect("translates");
    let sent = &hub_answer["choices"][0]["message"];
    let m = &req.messages[0];
    assert_eq!(m.role, "assistant");
    assert_eq!(
        json!(m.thinking_blocks),
        sent["thinking_blocks"],
        "signatures intact"
    );
    assert_eq!(json!(m.reasoning_content), sent["reasoning_content"]);
    assert_eq!(json!(m.tool_calls), sent["tool_calls"]);
    assert_eq!(json!(m.content), sent["content"]);
    assert_eq!(req.messages[1].tool_call_id.as_deref(), Some("toolu_01"));

    // Without `include`, no encrypted_content: the summary alone comes back, unsigned.
    let echo = Echo::read(br#"{"model":"m","input":"x"}"#).unwrap();
    let answer: Value = serde_json::from_slice(
        &response_from_hub(hub_answer.to_string().as_bytes(), &echo).unwrap(),
    )
    .unwrap();
    assert!(answer["output"][0].get("encrypted_content").is_none());
    let req = request_to_hub(
        json!({"model": "m", "input": answer["output"]})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(req.messages[0].thinking_blocks, None);
    assert_eq!(
        req.messages[0].reasoning_content,
        sent["reasoning_content"].as_str().map(str::to_string)
    );
}

#[test]
fn cut_and_filtered_answers_are_incomplete() {
    let echo = Echo::read(br#"{"model":"asked","input":"x"}"#).unwrap();
    let hub = json!({"id": "", "created": 5, "model": "",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Partial"}, "finish_reason": "length"}]});
    let got: Value =
        serde_json::from_slice(&response_from_hub(hub.to_string().as_bytes(), &echo).unwrap())
            .unwrap();
    assert_eq!(got["status"], "incomplete");
    assert_eq!(
        got["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    assert_eq!(got["output"][0]["status"], "incomplete");
    assert_eq!(
        got["model"], "asked",
        "the asked model when the hub names none"
    );
    assert!(
        got["id"].as_str().unwrap().len() > "resp_".len(),
        "a fresh id"
    );
    assert_eq!(got["usage"], Value::Null);
    let hub = json!({"id": "c", "choices": [{"index": 0, "message": {"role": "assistant", "content": null},
                     "finish_reason": "content_filter"}]});
    let got: Value =
        serde_json::from_slice(&response_from_hub(hub.to_string().as_bytes(), &echo).unwrap())
            .unwrap();
    assert_eq!(got["incomplete_details"]["reason"], "content_filter");
    assert_eq!(
        got["output"][0]["content"][0]["text"], "",
        "an empty answer is an empty message"
    );
    let err = response_from_hub(b"{}", &echo).unwrap_err();
    assert!(matches!(err, TranslateError::InvalidResponse(_)), "{err}");
}

#[test]
fn hub_errors_are_openai_shaped() {
    let got: Value = serde_json::from_slice(&error_from_hub(
        400,
        br#"{"error":{"message":"`tools[0].type: web_search` has no counterpart","type":"invalid_request_error"}}"#,
    ))
    .unwrap();
    assert_eq!(got["error"]["type"], "invalid_request_error");
    assert_eq!(got["error"]["param"], Value::Null);
    assert_eq!(got["error"]["code"], Value::Null);
    assert!(got["error"]["message"]
        .as_str()
        .unwrap()
        .contains("web_search"));
}

// ---- streams ----

/// Feeds `input` through a [`FromHubStream`] over the hub's own stream (as the gateway's
/// mock provider does), in chunks cut at `cuts`.
fn run_stream(input: &[u8], echo: &Echo, cuts: &[usize]) -> (Vec<u8>, StreamFacts) {
    let target = ResponseTarget {
        model: "m",
        created: 0,
        include_usage: true,
    };
    let mut stream = FromHubStream::new(Box::new(OpenAiStream::new(&target)), echo.clone());
    let mut out = Vec::new();
    let mut from = 0;
    for &cut in cuts.iter().chain([input.len()].iter()) {
        stream.feed(&input[from..cut], &mut out).expect("feeds");
        from = cut;
    }
    stream.finish(&mut out).expect("finishes");
    (out, stream.facts().clone())
}

fn random_cuts(rng: &mut StdRng, len: usize) -> Vec<usize> {
    let n = rng.random_range(0..24);
    let mut cuts: Vec<usize> = (0..n).map(|_| rng.random_range(0..=len)).collect();
    cuts.sort_unstable();
    cuts
}

/// The events of a Responses stream: their `event:` names (checked against `type`) and data.
fn events(out: &[u8]) -> Vec<Value> {
    let mut parser = SseParser::default();
    let mut events = Vec::new();
    let mut push = |e: sluice_providers::sse::SseEvent| {
        let data: Value = serde_json::from_str(&e.data).expect("event data is JSON");
        assert_eq!(
            e.event.as_deref(),
            data["type"].as_str(),
            "event line names the type"
        );
        events.push(data);
        Ok(())
    };
    parser.feed(out, &mut push).expect("parses");
    parser.finish(&mut push).expect("parses");
    events
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

/// What the openai Python SDK's stream accumulator builds from the events: the snapshot's
/// output, with texts and arguments appended at the indexes the events name.
fn sdk_snapshot(events: &[Value]) -> Vec<Value> {
    let mut output: Vec<Value> = Vec::new();
    for e in events {
        let i = e["output_index"].as_u64().unwrap_or(0) as usize;
        match e["type"].as_str().unwrap() {
            "response.output_item.added" => {
                assert_eq!(i, output.len(), "items are added in order");
                output.push(e["item"].clone());
            }
            "response.content_part.added" => output[i]["content"]
                .as_array_mut()
                .unwrap()
                .push(e["part"].clone()),
            "response.output_text.delta" => {
                let c = e["content_index"].as_u64().unwrap() as usize;
                let text = &mut output[i]["content"][c]["text"];
                *text = json!(format!(
                    "{}{}",
                    text.as_str().unwrap(),
                    e["delta"].as_str().unwrap()
                ));
            }
            "response.function_call_arguments.delta" => {
                let args = &mut output[i]["arguments"];
                *args = json!(format!(
                    "{}{}",
                    args.as_str().unwrap(),
                    e["delta"].as_str().unwrap()
                ));
            }
            _ => {}
        }
    }
    output
}

/// Replays `case` with many random splits: always the same bytes, matching the golden.
fn golden_stream(case: &str, echo_fixture: &str) -> Vec<Value> {
    let echo = Echo::read(&fixture(echo_fixture)).expect("reads");
    let input = fixture(&format!("{case}.hub.sse"));
    let (whole, _) = run_stream(&input, &echo, &[]);
    let mut rng = StdRng::seed_from_u64(0x5e5_510e);
    for round in 0..300 {
        let cuts = random_cuts(&mut rng, input.len());
        let (split, _) = run_stream(&input, &echo, &cuts);
        assert_eq!(
            String::from_utf8_lossy(&split),
            String::from_utf8_lossy(&whole),
            "{case}: round {round}, cuts {cuts:?}"
        );
    }
    let expected = format!("{case}.responses.sse");
    if std::env::var_os("SLUICE_BLESS").is_some() {
        let path = format!(
            "{}/tests/fixtures/responses/{expected}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::write(path, &whole).expect("writes");
    }
    let got = events(&whole);
    assert_eq!(got, events(&fixture(&expected)), "{case}: golden");
    for (i, e) in got.iter().enumerate() {
        assert_eq!(
            e["sequence_number"],
            json!(i),
            "{case}: sequence numbers count from 0"
        );
    }
    got
}

#[test]
fn golden_stream_of_text_and_tool_calls() {
    let got = golden_stream("stream_text_tool", "stream.request.json");
    assert_eq!(
        types(&got),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    assert_eq!(got[0]["response"]["status"], "in_progress");
    assert_eq!(got[0]["response"]["output"], json!([]));
    let done = &got.last().unwrap()["response"];
    assert_eq!(done["status"], "completed");
    assert_eq!(
        done["usage"],
        json!({"input_tokens": 25, "input_tokens_details": {"cached_tokens": 10}, "output_tokens": 18,
               "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 43})
    );
    assert_eq!(
        done["output"][0]["content"][0]["text"],
        "Checking the weather in Par\u{ed}s."
    );
    assert_eq!(done["output"][1]["arguments"], "{\"city\":\"Paris\"}");
    assert_eq!(done["output"][1]["call_id"], "call_abc");
    assert_eq!(done["output"][2]["name"], "get_time");
    assert_eq!(done["metadata"], json!({"trace": "t-1"}));
    let items: Vec<Value> = got
        .iter()
        .filter(|e| e["type"] == "response.output_item.done")
        .map(|e| e["item"].clone())
        .collect();
    assert_eq!(
        done["output"],
        json!(items),
        "the response holds the items as closed"
    );
    let mut snapshot = sdk_snapshot(&got);
    snapshot
        .iter_mut()
        .for_each(|item| item["status"] = json!("completed"));
    assert_eq!(
        done["output"],
        json!(snapshot),
        "the SDK's accumulation agrees"
    );

    let echo = Echo::read(&fixture("stream.request.json")).unwrap();
    let (_, facts) = run_stream(&fixture("stream_text_tool.hub.sse"), &echo, &[]);
    assert_eq!(facts.texts, ["Checking the weather in Par\u{ed}s."]);
    assert_eq!(facts.tool_calls[0].arguments, "{\"city\":\"Paris\"}");
    assert_eq!(facts.usage.input_tokens, Some(25));
    assert_eq!(facts.finish_reasons, ["tool_calls"]);
}

#[test]
fn golden_stream_of_thinking_cut_by_max_tokens() {
    let got = golden_stream("stream_thinking", "stream.request.json");
    assert_eq!(
        types(&got),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.reasoning_summary_part.added",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.done",
            "response.reasoning_summary_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.incomplete",
        ]
    );
    let done = &got.last().unwrap()["response"];
    assert_eq!(done["status"], "incomplete");
    assert_eq!(
        done["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    assert_eq!(done["output"][1]["status"], "incomplete");
    assert_eq!(
        done["usage"]["output_tokens_details"]["reasoning_tokens"],
        80
    );
    let reasoning = &done["output"][0];
    assert_eq!(
        reasoning["summary"],
        json!([{"type": "summary_text", "text": "Suppose finitely many primes, multiply them, add one."}])
    );
    // The encrypted content carries the signed and the redacted block back to the hub.
    let req = request_to_hub(
        json!({"model": "m", "input": [reasoning]})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(
        json!(req.messages[0].thinking_blocks),
        json!([
            {"type": "thinking", "thinking": "Suppose finitely many primes, multiply them, add one.",
             "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"},
            {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT"}
        ])
    );
}

fn hub_chunk(delta: Value, finish: Option<&str>) -> String {
    let chunk = json!({"id": "chatcmpl-e", "created": 1, "model": "x",
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
    format!("data: {chunk}\n\n")
}

#[test]
fn an_upstream_error_fails_the_response() {
    let echo = Echo::read(br#"{"model":"m","input":"x"}"#).unwrap();
    let input = format!(
        "{}{}data: {{\"error\":{{\"message\":\"Overloaded\",\"type\":\"api_error\",\"code\":\"overloaded_error\"}}}}\n\ndata: [DONE]\n\n",
        hub_chunk(json!({"role": "assistant"}), None),
        hub_chunk(json!({"content": "Sure, here is"}), None),
    );
    let (out, _) = run_stream(input.as_bytes(), &echo, &[]);
    let got = events(&out);
    assert_eq!(
        types(&got)[2..],
        [
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.failed",
        ]
    );
    let failed = &got.last().unwrap()["response"];
    assert_eq!(failed["status"], "failed");
    assert_eq!(
        failed["error"],
        json!({"code": "server_error", "message": "Overloaded"})
    );
    assert_eq!(failed["output"][0]["status"], "incomplete");
}

/// Codex's tools: a custom tool's call streams as a `custom_tool_call` whose input comes
/// whole; a namespaced function's as a `function_call` with its namespace; both go back to
/// the hub under their hub names.
#[test]
fn custom_and_namespaced_tool_calls_stream_as_their_kinds() {
    let echo = Echo::read(
        json!({"model": "m", "input": "x", "tools": [
            {"type": "custom", "name": "apply_patch", "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"}},
            {"type": "namespace", "name": "agents", "description": "d",
             "tools": [{"type": "function", "name": "spawn", "parameters": {"type": "object"}}]}]})
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let call = |index: u32, id: Option<&str>, name: Option<&str>, args: &str| {
        let mut f = json!({"arguments": args});
        if let Some(name) = name {
            f["name"] = json!(name);
        }
        let mut c = json!({"index": index, "type": "function", "function": f});
        if let Some(id) = id {
            c["id"] = json!(id);
        }
        hub_chunk(json!({"tool_calls": [c]}), None)
    };
    let input = [
        hub_chunk(json!({"role": "assistant"}), None),
        call(
            0,
            Some("call_p"),
            Some("apply_patch"),
            "{\"input\": \"*** Begin",
        ),
        call(0, None, None, " Patch\\n\"}"),
        call(1, Some("call_s"), Some("agents__spawn"), "{\"n\":"),
        call(1, None, None, "1}"),
        hub_chunk(json!({}), Some("tool_calls")),
        "data: [DONE]\n\n".to_string(),
    ]
    .concat();
    let (out, _) = run_stream(input.as_bytes(), &echo, &[]);
    let got = events(&out);
    let kinds = types(&got);
    assert!(
        !kinds.contains(&"response.function_call_arguments.delta") || {
            // Only the namespaced function's arguments stream as deltas.
            got.iter()
                .filter(|e| e["type"] == "response.function_call_arguments.delta")
                .all(|e| e["output_index"] == 1)
        }
    );
    let input_done = got
        .iter()
        .find(|e| e["type"] == "response.custom_tool_call_input.done")
        .expect("custom tool input done");
    assert_eq!(input_done["input"], "*** Begin Patch\n");
    let done = &got.last().unwrap()["response"]["output"];
    assert_eq!(done[0]["type"], "custom_tool_call");
    assert_eq!(done[0]["name"], "apply_patch");
    assert_eq!(done[0]["call_id"], "call_p");
    assert_eq!(done[0]["input"], "*** Begin Patch\n");
    assert_eq!(done[1]["type"], "function_call");
    assert_eq!(done[1]["name"], "spawn");
    assert_eq!(done[1]["namespace"], "agents");
    assert_eq!(done[1]["arguments"], "{\"n\":1}");
    // And back: the items of the next turn are the hub's calls again.
    let next = to_hub(json!({"model": "m", "input": [
        done[0].clone(), done[1].clone(),
        {"type": "custom_tool_call_output", "call_id": "call_p", "output": "Done!"},
        {"type": "function_call_output", "call_id": "call_s", "output": "spawned"}]}));
    let calls = &next["messages"][0]["tool_calls"];
    assert_eq!(calls[0]["function"]["name"], "apply_patch");
    assert_eq!(
        serde_json::from_str::<Value>(calls[0]["function"]["arguments"].as_str().unwrap()).unwrap(),
        json!({"input": "*** Begin Patch\n"})
    );
    assert_eq!(calls[1]["function"]["name"], "agents__spawn");
    assert_eq!(
        next["messages"][1],
        json!({"role": "tool", "content": "Done!", "tool_call_id": "call_p"})
    );
}

#[test]
fn a_stream_cut_before_its_finish_reason_fails() {
    let echo = Echo::read(br#"{"model":"m","input":"x"}"#).unwrap();
    for ending in ["data: [DONE]\n\n", ""] {
        let input = format!(
            "{}{}",
            hub_chunk(
                json!({"tool_calls": [{"index": 0, "id": "c", "function": {"name": "f", "arguments": "{\"a\""}}]}),
                None
            ),
            ending
        );
        let (out, _) = run_stream(input.as_bytes(), &echo, &[]);
        let got = events(&out);
        assert_eq!(
            got.iter()
                .filter(|e| e["type"] == "response.failed")
                .count(),
            1,
            "{got:#?}"
        );
        let failed = &got.last().unwrap()["response"];
        assert_eq!(failed["error"]["code"], "server_error");
        assert!(
            failed["error"]["message"]
                .as_str()
                .unwrap()
                .contains("ended before"),
            "{failed}"
        );
        assert_eq!(failed["output"][0]["arguments"], "{\"a\"");
    }
    let (out, _) = run_stream(b"", &echo, &[]);
    assert_eq!(
        types(&events(&out)),
        [
            "response.created",
            "response.in_progress",
            "response.failed"
        ],
        "an empty upstream stream still ends the client's"
    );
}

/// A provider stream translator that writes one hub chunk, then cannot read the rest.
struct BreaksAfterOneChunk(StreamFacts);

impl StreamTranslator for BreaksAfterOneChunk {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), TranslateError> {
        if chunk == b"bad" {
            return Err(TranslateError::InvalidResponse(
                "unexpected event".to_string(),
            ));
        }
        out.extend_from_slice(hub_chunk(json!({"content": "Hi"}), None).as_bytes());
        Ok(())
    }

    fn finish(&mut self, _out: &mut Vec<u8>) -> Result<(), TranslateError> {
        Ok(())
    }

    fn facts(&self) -> &StreamFacts {
        &self.0
    }
}

#[test]
fn a_provider_stream_that_cannot_be_read_fails_the_response_once() {
    let echo = Echo::read(br#"{"model":"m","input":"x"}"#).unwrap();
    let mut stream =
        FromHubStream::new(Box::new(BreaksAfterOneChunk(StreamFacts::default())), echo);
    let mut out = Vec::new();
    stream.feed(b"ok", &mut out).unwrap();
    let err = stream.feed(b"bad", &mut out).unwrap_err();
    assert!(
        matches!(err, TranslateError::InvalidResponse(_)),
        "the gateway still learns of it"
    );
    stream.feed(b"ok", &mut out).unwrap();
    stream.finish(&mut out).unwrap();
    let got = events(&out);
    assert_eq!(
        got.iter()
            .filter(|e| e["type"] == "response.failed")
            .count(),
        1
    );
    let failed = &got.last().unwrap()["response"];
    assert!(
        failed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unexpected event"),
        "{failed}"
    );
    assert_eq!(failed["output"][0]["content"][0]["text"], "Hi");
}

#[test]
fn no_input_panics() {
    let echo = Echo::read(&fixture("stream.request.json")).unwrap();
    let inputs = [
        fixture("stream_text_tool.hub.sse"),
        fixture("stream_thinking.hub.sse"),
    ];
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..500 {
        let mut input = inputs[rng.random_range(0..inputs.len())].clone();
        for _ in 0..rng.random_range(1..6) {
            if input.is_empty() {
                break;
            }
            let at = rng.random_range(0..input.len());
            match rng.random_range(0..3) {
                0 => input[at] = rng.random(),
                1 => input.truncate(at),
                _ => input.insert(at, rng.random()),
            }
        }
        let cuts = random_cuts(&mut rng, input.len());
        let (out, _) = run_stream(&input, &echo, &cuts);
        let got = events(&out);
        let last = got.last().expect("the stream always ends")["type"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            [
                "response.completed",
                "response.incomplete",
                "response.failed"
            ]
            .contains(&last.as_str()),
            "{last}"
        );
        let _ = request_to_hub(&input);
        let _ = response_from_hub(&input, &echo);
    }
}
