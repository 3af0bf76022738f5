//! What the conventions' recipes (`conf/tracing/openinference.yaml`, `genai.yaml`) lean on:
//! `llm.choices`, `parseJson(s)` and `array(x)`.

use super::tests::{compile, eval, one, record, run, s};
use super::*;
use crate::facts::{LlmFacts, ToolCall};
use crate::AttrValue::{self, Bool, Int, StrList};

/// [`record`] with other answer facts.
fn answered(completion: &[&str], finish: &[&str], tool_calls: Vec<ToolCall>) -> RequestRecord {
    let mut rec = record();
    let llm = rec.llm.as_mut().expect("the record has llm facts");
    llm.completion = completion.iter().map(|t| t.to_string()).collect();
    llm.finish_reasons = finish.iter().map(|t| t.to_string()).collect();
    llm.tool_calls = tool_calls;
    rec
}

fn call(id: &str, name: &str, arguments: &str) -> ToolCall {
    ToolCall {
        id: id.into(),
        name: name.into(),
        arguments: arguments.into(),
    }
}

fn one_on(rec: &RequestRecord, expr: &str) -> AttrValue<'static> {
    let (out, failed) = eval(&compile(&[("k", expr)]), rec);
    assert_eq!(failed, 0, "{expr}: {out:?}");
    assert_eq!(out.len(), 1, "{expr}: {out:?}");
    out[0].1.clone()
}

#[test]
fn choices_pair_texts_with_finish_reasons_and_give_tool_calls_to_the_first() {
    // The sample record: one text, finish `stop`, one tool call.
    assert_eq!(
        one("llm.choices"),
        s(
            r#"[{"role":"assistant","content":"Hi!","toolCalls":[{"id":"call_1","name":"lookup","arguments":"{\"q\":\"x\"}"}],"finishReason":"stop"}]"#
        )
    );
    // A tool call alone: no text is null content; OpenAI's `tool_calls` is the conventions'
    // `tool_call`, and `llm.finishReasons` keeps the provider's word.
    let rec = answered(
        &[""],
        &["tool_calls"],
        vec![call("c1", "get_weather", "{}")],
    );
    assert_eq!(
        one_on(&rec, "json(llm.choices)"),
        s(
            r#"[{"role":"assistant","content":null,"toolCalls":[{"id":"c1","name":"get_weather","arguments":"{}"}],"finishReason":"tool_call"}]"#
        )
    );
    assert_eq!(one_on(&rec, "llm.choices[0].content == null"), Bool(true));
    assert_eq!(one_on(&rec, "llm.finishReasons[0]"), s("tool_calls"));
    // Two choices: tool calls on the first only; a native Anthropic reason is translated.
    let rec = answered(
        &["a", "b"],
        &["end_turn", "max_tokens"],
        vec![call("c", "f", "{}")],
    );
    assert_eq!(
        one_on(
            &rec,
            "llm.choices.map(c, [c.content, c.finishReason, size(c.toolCalls)])"
        ),
        s(r#"[["a","stop",1],["b","length",0]]"#)
    );
    // A stream cut short: a text without a finish reason.
    let rec = answered(&["partial"], &[], Vec::new());
    assert_eq!(
        one_on(&rec, "json(llm.choices)"),
        s(r#"[{"role":"assistant","content":"partial","toolCalls":[],"finishReason":null}]"#)
    );
    // Nothing came back: no choices.
    let rec = answered(&[], &[], Vec::new());
    assert_eq!(one_on(&rec, "size(llm.choices)"), Int(0));
    // A plain path (no interpreter) reads the same.
    assert_eq!(
        run(&[("k", "llm.choices")]),
        run(&[("k", "llm.choices.map(c, c)")])
    );
}

#[test]
fn choices_need_the_completion_and_the_tool_calls() {
    let needs = compile(&[("o", "llm.choices.map(c, c.content)")]).needs();
    assert!(needs.completion && needs.tool_calls && !needs.prompt && !needs.params);
}

#[test]
fn choices_flatten_into_openinference_output_messages() {
    let rec = answered(
        &["", "Sunny."],
        &["tool_calls", "stop"],
        vec![call("c1", "get_weather", r#"{"city":"Paris"}"#)],
    );
    let expr = r#"flatten_recursive(llm.choices.map(c, {"message": {"role": c.role,
        "content": c.content, "tool_calls": c.toolCalls.map(t, {"tool_call": {"id": t.id,
        "function": {"name": t.name, "arguments": t.arguments}}})}}))"#;
    let (out, failed) = eval(&compile(&[("llm.output_messages", expr)]), &rec);
    assert_eq!(failed, 0);
    let p = "llm.output_messages";
    let want: Vec<(String, AttrValue)> = vec![
        (format!("{p}.0.message.role"), s("assistant")),
        (format!("{p}.0.message.tool_calls.0.tool_call.id"), s("c1")),
        (
            format!("{p}.0.message.tool_calls.0.tool_call.function.name"),
            s("get_weather"),
        ),
        (
            format!("{p}.0.message.tool_calls.0.tool_call.function.arguments"),
            s(r#"{"city":"Paris"}"#),
        ),
        (format!("{p}.1.message.role"), s("assistant")),
        (format!("{p}.1.message.content"), s("Sunny.")),
    ];
    let got: Vec<(String, AttrValue)> = out.into_iter().map(|(k, v)| (k.into_owned(), v)).collect();
    assert_eq!(
        got, want,
        "null content adds no attribute; no tool calls, no `tool_calls.*`"
    );
}

#[test]
fn parse_json_reads_text_and_leaves_non_json_as_it_is() {
    assert_eq!(
        one(r#"parseJson("{\"a\": [1, 2.5, true, null]}").a[1]"#),
        AttrValue::Float(2.5)
    );
    assert_eq!(one(r#"parseJson("{\"a\": 1}").a + 1"#), Int(2));
    assert_eq!(
        one(r#"json(parseJson("{\"b\": \"x\", \"a\": {}}"))"#),
        s(r#"{"a":{},"b":"x"}"#)
    );
    assert_eq!(one(r#"parseJson("\"text\"")"#), s("text"));
    // Not JSON (arguments cut off mid-stream): the string itself, and no failure.
    assert_eq!(
        one(r#"parseJson("{\"city\": \"Par")"#),
        s(r#"{"city": "Par"#)
    );
    // A tool call's arguments become an object inside a JSON text.
    let rec = answered(
        &[""],
        &["tool_calls"],
        vec![call("c1", "f", r#"{"days": 3}"#)],
    );
    assert_eq!(
        one_on(
            &rec,
            r#"json(llm.toolCalls.map(t, {"name": t.name, "arguments": parseJson(t.arguments)}))"#
        ),
        s(r#"[{"name":"f","arguments":{"days":3}}]"#)
    );
}

#[test]
fn array_makes_an_otlp_array_of_strings() {
    let list = |items: &[&str]| StrList(items.iter().map(|i| i.to_string()).collect());
    assert_eq!(one("array(llm.finishReasons)"), list(&["stop"]));
    assert_eq!(
        one(r#"array(["a", 1, null, true])"#),
        list(&["a", "1", "true"])
    );
    assert_eq!(
        one(r#"array("\n")"#),
        list(&["\n"]),
        "one value is an array of one"
    );
    assert_eq!(
        one(r#"array(llm.prompt.map(m, m.role))"#),
        list(&["system", "user"])
    );
    // The request's parameters as sent: a list, or one string.
    let mut rec = record();
    let llm: &mut LlmFacts = rec.llm.as_mut().expect("llm facts");
    llm.params
        .push(("stop".into(), serde_json::json!(["END", "STOP"])));
    assert_eq!(
        one_on(&rec, "array(llm.params.stop)"),
        list(&["END", "STOP"])
    );
    assert_eq!(
        one_on(
            &rec,
            "array(coalesce(llm.params.stop_sequences, llm.params.stop, null))"
        ),
        list(&["END", "STOP"])
    );
    // Nothing to list adds nothing, and is no failure.
    for expr in [
        "array([])",
        "array(null)",
        "array(default(llm.params.nope, null))",
    ] {
        let (out, failed) = eval(&compile(&[("k", expr)]), &rec);
        assert_eq!((out.len(), failed), (0, 0), "{expr}");
    }
    // Inside an expression it changes nothing.
    assert_eq!(one("size(array([1, 2]))"), Int(2));
}

#[test]
fn json_inside_an_expression_keeps_the_keys_in_the_order_written() {
    let expr = r#"size(llm.prompt) > 0 ? json(llm.prompt.map(m, {"type": "text", "content": m.content})) : null"#;
    assert_eq!(
        one(expr),
        s(
            r#"[{"type":"text","content":"You are terse."},{"type":"text","content":"Say \"hi\"\n"}]"#
        )
    );
    // constants too, and another field's order does not leak into this one's
    assert_eq!(one(r#"json({"z": 1, "a": 2})"#), s(r#"{"z":1,"a":2}"#));
    let out = run(&[
        ("a", r#"llm.provider == "" ? "" : json({"b": 1, "a": 2})"#),
        (
            "b",
            r#"llm.provider == "" ? "" : json(parseJson("{\"b\": 1, \"a\": 2}"))"#,
        ),
    ]);
    assert_eq!(out[0].1, s(r#"{"b":1,"a":2}"#));
    assert_eq!(out[1].1, s(r#"{"a":2,"b":1}"#), "parsed maps: sorted");
}
