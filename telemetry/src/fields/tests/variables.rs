//! The variables: every one, camelCase and snake_case alike, the params' number types,
//! absent facts and nulls.

use super::{attrs, compile, eval, one, record, run, s, PROMPT_JSON};
use crate::AttrValue::{Bool, Float, Int};

const ALIASES: [(&str, &str); 12] = [
    ("requestModel", "request_model"),
    ("responseModel", "response_model"),
    ("inputTokens", "input_tokens"),
    ("outputTokens", "output_tokens"),
    ("totalTokens", "total_tokens"),
    ("toolCalls", "tool_calls"),
    ("cachedInputTokens", "cached_input_tokens"),
    ("cacheCreationInputTokens", "cache_creation_input_tokens"),
    ("reasoningTokens", "reasoning_tokens"),
    ("timeToFirstToken", "time_to_first_token"),
    ("finishReasons", "finish_reasons"),
    ("usageEstimated", "usage_estimated"),
];

#[test]
fn camel_and_snake_case_are_the_same() {
    let mut rec = record();
    if let Some(llm) = rec.llm.as_mut() {
        llm.reasoning_tokens = Some(7);
    }
    for (camel, snake) in ALIASES {
        // natively, and through the interpreter
        for form in ["llm.{}", "[llm.{}][0]", "json(llm.{})", "json([llm.{}])"] {
            let (a, fa) = eval(&compile(&[("k", &form.replace("{}", camel))]), &rec);
            let (b, fb) = eval(&compile(&[("k", &form.replace("{}", snake))]), &rec);
            assert_eq!((fa, fb), (0, 0), "{form} {camel}");
            assert_eq!(a.len(), 1, "{form} {camel}");
            assert_eq!(a, b, "{form} {camel}");
        }
        // `has()` and indexing go through the lazy `llm` map
        for form in ["has(llm.{})", r#"llm["{}"] == llm.{}"#] {
            let a = eval(&compile(&[("k", &form.replace("{}", camel))]), &rec);
            let b = eval(&compile(&[("k", &form.replace("{}", snake))]), &rec);
            assert_eq!(a, b, "{form}");
            assert_eq!(a.0, attrs(&[("k", Bool(true))]), "{form} {camel}");
        }
    }
}

#[test]
fn every_variable() {
    assert_eq!(one("llm.provider"), s("openai"));
    assert_eq!(one("llm.streaming"), Bool(false));
    assert_eq!(one("llm.usageEstimated"), Bool(false));
    assert_eq!(one("llm.cachedInputTokens"), Int(4));
    assert_eq!(one("llm.cacheCreationInputTokens"), Int(6));
    assert_eq!(one("llm.cache_creation_input_tokens"), Int(6));
    assert_eq!(one("llm.totalTokens"), Int(46));
    assert_eq!(one("llm.timeToFirstToken"), Float(123.456));
    assert_eq!(one("llm.finishReasons"), s(r#"["stop"]"#));
    assert_eq!(
        one("llm.toolCalls"),
        s(r#"[{"id":"call_1","name":"lookup","arguments":"{\"q\":\"x\"}"}]"#)
    );
    assert_eq!(one("llm.completion"), s(r#"["Hi!"]"#));
    assert_eq!(
        one("llm.tools"),
        s(
            r#"[{"name":"lookup","description":"Look a word up","parameters":{"type":"object"}},{"name":"web_search","description":null,"parameters":null}]"#
        )
    );
    // Through the interpreter: names, and a schema's field.
    assert_eq!(
        one("llm.tools.map(t, t.name)"),
        s(r#"["lookup","web_search"]"#)
    );
    assert_eq!(one("llm.tools[0].parameters.type"), s("object"));
    assert_eq!(
        one("llm.tools.filter(t, t.parameters == null).size()"),
        Int(1)
    );
    assert_eq!(
        one("llm.params"),
        s(r#"{"temperature":0.2,"max_tokens":256}"#)
    );
    assert_eq!(one("request.method"), s("POST"));
    assert_eq!(one("request.path"), s("/openai/v1/chat/completions"));
    assert_eq!(one("request.host"), s("localhost"));
    assert_eq!(
        one("request.headers.content_type.size() == 0 || true"),
        Bool(true)
    );
    assert_eq!(one(r#"request.headers["x-team"]"#), s("search, ads"));
    assert_eq!(
        one("request.headers"),
        s(r#"{"content-type":"application/json","x-team":"search, ads"}"#)
    );
    assert_eq!(one("response.status"), Int(200));
    assert_eq!(one("response.status + 1"), Int(201));
    assert_eq!(one("source.address"), s("127.0.0.1:49576"));
    // the prompt through the interpreter keeps `role` before `content`
    assert_eq!(one("llm.prompt.map(m, m)"), s(PROMPT_JSON));
    assert_eq!(one("size(llm.prompt)"), Int(2));
    assert_eq!(one("llm.prompt[1].content"), s("Say \"hi\"\n"));
    assert_eq!(
        one("llm.inputTokens + llm.output_tokens == llm.totalTokens"),
        Bool(true)
    );
}

#[test]
fn temperature_stays_the_double_it_was_sent_as() {
    assert_eq!(one("llm.params.temperature"), Float(0.2));
    assert_eq!(one(r#"llm.params["temperature"]"#), Float(0.2));
    assert_eq!(one("llm.params.max_tokens"), Int(256));
    assert_eq!(
        run(&[(
            "p",
            r#"flatten({"t": llm.params.temperature, "m": llm.params.max_tokens})"#
        )]),
        attrs(&[("p.t", Float(0.2)), ("p.m", Int(256))])
    );
    assert_eq!(
        run(&[("p", "flatten_recursive(llm.params)")]),
        attrs(&[("p.temperature", Float(0.2)), ("p.max_tokens", Int(256))])
    );
}

#[test]
fn absent_facts_are_absent_keys() {
    let mut rec = record();
    if let Some(llm) = rec.llm.as_mut() {
        llm.response_model = None;
        llm.time_to_first_token = None;
    }
    let fields = compile(&[
        ("a", "llm.responseModel"),
        ("b", "llm.response_model + '!'"),
        ("c", "llm.timeToFirstToken"),
        ("d", "has(llm.responseModel)"),
        ("e", "'responseModel' in llm"),
        ("f", "llm.provider"),
    ]);
    let (out, failed) = eval(&fields, &rec);
    assert_eq!(failed, 3);
    assert_eq!(
        out,
        attrs(&[("d", Bool(false)), ("e", Bool(false)), ("f", s("openai"))])
    );

    // no LLM at all: `llm` is absent, the rest is there
    rec.llm = None;
    let fields = compile(&[
        ("a", "llm.provider"),
        ("b", "flatten(llm.params)"),
        ("c", "request.method"),
        ("d", r#"default(llm.provider, "none")"#),
        ("e", r#"default(llm.provider, "none") + "!""#),
    ]);
    let (out, failed) = eval(&fields, &rec);
    assert_eq!(failed, 2);
    assert_eq!(
        out,
        attrs(&[("c", s("POST")), ("d", s("none")), ("e", s("none!"))])
    );
}

#[test]
fn null_adds_nothing_and_is_no_failure() {
    let mut rec = record();
    if let Some(llm) = rec.llm.as_mut() {
        llm.params.push(("stop".into(), serde_json::Value::Null));
    }
    let fields = compile(&[("a", "null"), ("b", "llm.params.stop"), ("c", "[null][0]")]);
    assert_eq!(eval(&fields, &rec), (vec![], 0));
}
