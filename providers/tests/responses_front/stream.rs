//! Streams that run to their end: hub chunk streams -> Responses events, goldens and tool kinds.

use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{json, Value};
use sluice_providers::front::responses::{request_to_hub, Echo};

use crate::support::{events, fixture, hub_chunk, random_cuts, run_stream, to_hub, types};

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
