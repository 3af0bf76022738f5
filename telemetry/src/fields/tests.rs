use std::time::{Duration, SystemTime};

use super::*;
use crate::facts::{LlmFacts, PromptMessage, ToolCall, ToolDefinition};
use crate::AttrValue;
use AttrValue::{Bool, Float, Int, Str};

pub(super) fn record() -> RequestRecord {
    RequestRecord {
        listener: "http".into(),
        route: "openai".into(),
        route_path: "/openai".into(),
        endpoint: "api.openai.com:443".into(),
        source_address: "127.0.0.1:49576".into(),
        method: "POST".into(),
        host: "localhost".into(),
        path: "/openai/v1/chat/completions".into(),
        version: "HTTP/1.1",
        scheme: "http",
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("x-team".into(), "search".into()),
            ("x-team".into(), "ads".into()),
        ],
        status: 200,
        start: SystemTime::UNIX_EPOCH,
        duration: Duration::from_millis(812),
        upstream_time: Duration::from_millis(800),
        trace_id: [1; 16],
        span_id: [2; 8],
        parent_span_id: None,
        sampled: true,
        llm: Some(LlmFacts {
            attempts: 1,
            fallback_reasons: Vec::new(),
            provider: "openai".into(),
            request_model: "gpt-4o-mini".into(),
            response_model: Some("gpt-4o-mini-2024-07-18".into()),
            input_tokens: Some(12),
            output_tokens: Some(34),
            total_tokens: None,
            cached_input_tokens: Some(4),
            cache_creation_input_tokens: Some(6),
            cache_write_1h_tokens: None,
            reasoning_tokens: None,
            usage_estimated: false,
            cost: None,
            streaming: false,
            params: vec![
                ("temperature".into(), serde_json::json!(0.2)),
                ("max_tokens".into(), serde_json::json!(256)),
            ],
            prompt: vec![
                PromptMessage {
                    role: "system".into(),
                    content: "You are terse.".into(),
                },
                PromptMessage {
                    role: "user".into(),
                    content: "Say \"hi\"\n".into(),
                },
            ],
            completion: vec!["Hi!".into()],
            tool_calls: vec![ToolCall {
                id: "call_1".into(),
                name: "lookup".into(),
                arguments: "{\"q\":\"x\"}".into(),
            }],
            tools: vec![
                ToolDefinition {
                    name: "lookup".into(),
                    description: Some("Look a word up".into()),
                    parameters: Some(serde_json::json!({"type": "object"})),
                },
                ToolDefinition {
                    name: "web_search".into(),
                    ..ToolDefinition::default()
                },
            ],
            finish_reasons: vec!["stop".into()],
            time_to_first_token: Some(Duration::from_micros(123_456)),
        }),
        error: None,
        limit: None,
        key: String::new(),
        team: String::new(),
    }
}

pub(super) fn compile(add: &[(&str, &str)]) -> Fields {
    let add: Vec<(String, String)> = add
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    match Fields::compile(&add) {
        Ok(f) => f,
        Err(e) => panic!("{e:?}"),
    }
}

pub(super) fn eval(fields: &Fields, rec: &RequestRecord) -> (Vec<Attr<'static>>, u32) {
    let mut out = Vec::new();
    let failed = fields.evaluate(rec, &mut out);
    (out.into_iter().map(owned_attr).collect(), failed)
}

/// `fields.add` evaluated on [`record`]: the attributes, and no failure.
pub(super) fn run(add: &[(&str, &str)]) -> Vec<Attr<'static>> {
    let (out, failed) = eval(&compile(add), &record());
    assert_eq!(failed, 0, "{out:?}");
    out
}

/// One expression's single attribute value.
pub(super) fn one(expr: &str) -> AttrValue<'static> {
    let out = run(&[("k", expr)]);
    assert_eq!(out.len(), 1, "{expr}: {out:?}");
    assert_eq!(out[0].0, "k");
    out[0].1.clone()
}

pub(super) fn attrs(list: &[(&str, AttrValue<'static>)]) -> Vec<Attr<'static>> {
    list.iter()
        .map(|(k, v)| (k.to_string().into(), v.clone()))
        .collect()
}

pub(super) fn s(v: &str) -> AttrValue<'static> {
    Str(v.to_string().into())
}

const PROMPT_JSON: &str =
    r#"[{"role":"system","content":"You are terse."},{"role":"user","content":"Say \"hi\"\n"}]"#;

#[test]
fn seed_default_recipe() {
    let out = run(&[
        ("gen_ai.operation.name", r#""chat""#),
        ("gen_ai.system", "llm.provider"),
        ("gen_ai.request.model", "llm.requestModel"),
        ("gen_ai.response.model", "llm.responseModel"),
        ("gen_ai.usage.completion_tokens", "llm.outputTokens"),
        ("gen_ai.usage.prompt_tokens", "llm.inputTokens"),
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

#[test]
fn seed_jaeger_recipe() {
    let out = run(&[
        ("gen_ai.operation.name", r#""chat""#),
        ("gen_ai.system", "llm.provider"),
        ("gen_ai.request.model", "llm.request_model"),
        ("gen_ai.response.model", "llm.response_model"),
        ("gen_ai.usage.completion_tokens", "llm.output_tokens"),
        ("gen_ai.usage.prompt_tokens", "llm.input_tokens"),
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

#[test]
fn seed_langfuse_recipe() {
    let out = run(&[
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
    ]);
    assert_eq!(
        out,
        attrs(&[
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.system", s("openai")),
            ("gen_ai.prompt", s(PROMPT_JSON)),
            (
                "gen_ai.completion",
                s(r#"[{"role":"assistant","content":"Hi!"}]"#)
            ),
            ("gen_ai.usage.completion_tokens", Int(34)),
            ("gen_ai.usage.prompt_tokens", Int(12)),
            ("gen_ai.request.model", s("gpt-4o-mini")),
            ("gen_ai.response.model", s("gpt-4o-mini-2024-07-18")),
            ("gen_ai.request.temperature", Float(0.2)),
            ("gen_ai.request.max_tokens", Int(256)),
        ])
    );
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
    let out = run(&[
        ("span.name", r#""openai.chat""#),
        ("gen_ai.operation.name", r#""chat""#),
        ("gen_ai.system", "llm.provider"),
        ("gen_ai.prompt", "flatten_recursive(llm.prompt)"),
        (
            "gen_ai.completion",
            r#"flatten_recursive(llm.completion.map(c, {"role":"assistant", "content": c}))"#,
        ),
        ("gen_ai.usage.completion_tokens", "llm.output_tokens"),
        ("gen_ai.usage.prompt_tokens", "llm.input_tokens"),
        ("gen_ai.request.model", "llm.request_model"),
        ("gen_ai.response.model", "llm.response_model"),
        ("gen_ai.request", "flatten(llm.params)"),
        ("llm.is_streaming", "llm.streaming"),
    ]);
    assert_eq!(
        out,
        attrs(&[
            ("span.name", s("openai.chat")),
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.system", s("openai")),
            ("gen_ai.prompt.0.role", s("system")),
            ("gen_ai.prompt.0.content", s("You are terse.")),
            ("gen_ai.prompt.1.role", s("user")),
            ("gen_ai.prompt.1.content", s("Say \"hi\"\n")),
            ("gen_ai.completion.0.role", s("assistant")),
            ("gen_ai.completion.0.content", s("Hi!")),
            ("gen_ai.usage.completion_tokens", Int(34)),
            ("gen_ai.usage.prompt_tokens", Int(12)),
            ("gen_ai.request.model", s("gpt-4o-mini")),
            ("gen_ai.response.model", s("gpt-4o-mini-2024-07-18")),
            ("gen_ai.request.temperature", Float(0.2)),
            ("gen_ai.request.max_tokens", Int(256)),
            ("llm.is_streaming", Bool(false)),
        ])
    );
}

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
fn a_failing_expression_adds_nothing_and_counts_one() {
    let fields = compile(&[
        ("a", "llm.provider"),
        ("b", "llm.input_tokens / 0"),
        ("c", "llm.request_model"),
    ]);
    let (out, failed) = eval(&fields, &record());
    assert_eq!(failed, 1);
    assert_eq!(out, attrs(&[("a", s("openai")), ("c", s("gpt-4o-mini"))]));
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

#[test]
fn compile_errors_name_the_key() {
    let add = vec![
        ("ok".to_string(), "llm.provider".to_string()),
        ("bad.syntax".to_string(), "llm.provider +".to_string()),
        ("bad.field".to_string(), "llm.provder".to_string()),
        ("bad.var".to_string(), "jwt.sub".to_string()),
        ("bad.method".to_string(), "jwt.sub.upperAscii()".to_string()),
        (
            "bad.regex".to_string(),
            r#"regexReplace(llm.provider, "(", "")"#.to_string(),
        ),
        ("bad.const".to_string(), "1 / 0".to_string()),
        (
            "bad.default".to_string(),
            "default(llm.provider)".to_string(),
        ),
    ];
    let errors = match Fields::compile(&add) {
        Ok(_) => panic!("compiled"),
        Err(e) => e,
    };
    let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "bad.syntax",
            "bad.field",
            "bad.var",
            "bad.method",
            "bad.regex",
            "bad.const",
            "bad.default"
        ]
    );
    assert!(errors[1].message.contains("llm.provder"), "{}", errors[1]);
    assert!(
        errors[2].to_string().starts_with("bad.var: "),
        "{}",
        errors[2]
    );
}

#[test]
fn comprehension_variables_and_namespaces_are_no_unknown_variables() {
    assert_eq!(one("llm.prompt.exists(m, m.role == 'user')"), Bool(true));
    assert_eq!(
        one("llm.prompt.map(x, x.role).filter(r, r != 'system')"),
        s(r#"["user"]"#)
    );
    assert_eq!(one("optional.of(llm.provider).orValue('x')"), s("openai"));
    assert_eq!(
        one("math.greatest(llm.input_tokens, llm.output_tokens)"),
        Int(34)
    );
    assert_eq!(one("type(llm.provider) == string"), Bool(true));
    assert_eq!(one("llm.provider.upperAscii()"), s("OPENAI"));
}

#[test]
fn span_name_is_an_ordinary_attribute() {
    assert_eq!(
        run(&[("span.name", r#""openai.chat""#)]),
        attrs(&[("span.name", s("openai.chat"))])
    );
}

#[test]
fn json_function() {
    assert_eq!(one("json(llm.provider)"), s(r#""openai""#));
    assert_eq!(one("json(llm.input_tokens)"), s("12"));
    assert_eq!(one("json(llm.prompt)"), s(PROMPT_JSON));
    // at the top, map literals keep their written key order
    assert_eq!(
        one(r#"json({"b": 1, "a": [true, null, 1.5]})"#),
        s(r#"{"b":1,"a":[true,null,1.5]}"#)
    );
    // inside an expression, it is a string like any other
    assert_eq!(one(r#"json({"b": 1}) + "!""#), s(r#"{"b":1}!"#));
    assert_eq!(
        one("json(llm.params)"),
        s(r#"{"temperature":0.2,"max_tokens":256}"#)
    );
    assert_eq!(one("json(1.0)"), s("1.0"));
}

#[test]
fn default_function() {
    let mut rec = record();
    if let Some(llm) = rec.llm.as_mut() {
        llm.response_model = None;
    }
    let fields = compile(&[
        ("a", r#"default(llm.responseModel, "unknown")"#),
        ("b", r#"default(llm.requestModel, "unknown")"#),
        ("c", r#"default(llm.responseModel, "unknown").upperAscii()"#),
        ("d", r#"llm.response_model.default("x")"#),
        ("e", "default(llm.params.seed, 42)"),
        ("f", r#"default(null, "n")"#),
        ("g", "default(llm.input_tokens / 0, -1)"),
        ("h", "default(llm.responseModel, llm.provider)"),
        ("i", r#"flatten(default(llm.params, {"none": true}))"#),
        ("j", "default(llm.responseModel, null)"),
    ]);
    let (out, failed) = eval(&fields, &rec);
    assert_eq!(failed, 0);
    assert_eq!(
        out,
        attrs(&[
            ("a", s("unknown")),
            ("b", s("gpt-4o-mini")),
            ("c", s("UNKNOWN")),
            ("d", s("x")),
            ("e", Int(42)),
            ("f", s("n")),
            ("g", Int(-1)),
            ("h", s("openai")),
            ("i.temperature", Float(0.2)),
            ("i.max_tokens", Int(256)),
        ])
    );
    // the plain-path forms are read natively
    assert!(matches!(fields.fields[0].source, Source::Coalesce(_)));
    assert!(matches!(fields.fields[2].source, Source::Program(_)));
}

#[test]
fn coalesce_function() {
    let mut rec = record();
    if let Some(llm) = rec.llm.as_mut() {
        llm.response_model = None;
    }
    let fields = compile(&[
        ("a", "coalesce(llm.responseModel, llm.requestModel)"),
        ("b", r#"coalesce(llm.responseModel, null, "last")"#),
        ("c", "coalesce(llm.responseModel, llm.reasoning_tokens)"),
        (
            "d",
            r#"coalesce(llm.responseModel, null, "x" + llm.provider)"#,
        ),
        ("e", "coalesce(llm.provider)"),
    ]);
    let (out, failed) = eval(&fields, &rec);
    // `c`: every operand is absent
    assert_eq!(failed, 1);
    assert_eq!(
        out,
        attrs(&[
            ("a", s("gpt-4o-mini")),
            ("b", s("last")),
            ("d", s("xopenai")),
            ("e", s("openai")),
        ])
    );
}

#[test]
fn regex_replace_function() {
    assert_eq!(
        one(r#"regexReplace(llm.provider, "[aeiou]", "_")"#),
        s("_p_n__")
    );
    assert_eq!(
        one(r#"llm.response_model.regexReplace("-(\\d{4})-\\d{2}-\\d{2}$", "@$1")"#),
        s("gpt-4o-mini@2024")
    );
    assert_eq!(one(r#"regexReplace(llm.provider, "x", "y")"#), s("openai"));
    // a pattern only known per request is compiled (and cached) then
    assert_eq!(
        one(r#"regexReplace("a.b", llm.provider.substring(0, 0) + "\\.", "-")"#),
        s("a-b")
    );
    let (out, failed) = eval(
        &compile(&[("k", r#"regexReplace("x", llm.provider + "(", "")"#)]),
        &record(),
    );
    assert_eq!((out, failed), (vec![], 1));
}

#[test]
fn flatten_lists_scalars_and_nested_values() {
    assert_eq!(
        run(&[("c", "flatten(llm.completion)")]),
        attrs(&[("c.0", s("Hi!"))])
    );
    // one level: a nested map stays JSON text
    assert_eq!(
        run(&[("p", "flatten(llm.prompt)")]),
        attrs(&[
            ("p.0", s(r#"{"role":"system","content":"You are terse."}"#)),
            ("p.1", s(r#"{"role":"user","content":"Say \"hi\"\n"}"#)),
        ])
    );
    assert_eq!(
        run(&[("p", "flatten(llm.prompt.map(m, m))")]),
        attrs(&[
            ("p.0", s(r#"{"role":"system","content":"You are terse."}"#)),
            ("p.1", s(r#"{"role":"user","content":"Say \"hi\"\n"}"#)),
        ])
    );
    assert_eq!(
        run(&[("s", "flatten(llm.provider)")]),
        attrs(&[("s", s("openai"))])
    );
    assert_eq!(
        run(&[("e", "flatten([])"), ("f", "flatten_recursive({})")]),
        vec![]
    );
    assert_eq!(
        run(&[(
            "t",
            r#"flattenRecursive({"a": {"b": [1, {"c": 2.5}]}, "d": null})"#
        )]),
        attrs(&[("t.a.b.0", Int(1)), ("t.a.b.1.c", Float(2.5))])
    );
    let eleven = run(&[("n", "flatten([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])")]);
    assert_eq!(eleven.len(), 12);
    assert_eq!(eleven[9], ("n.9".into(), Int(9)));
    assert_eq!(eleven[11], ("n.11".into(), Int(11)));
    // not at the top, flatten changes nothing
    assert_eq!(one("size(flatten(llm.completion))"), Int(1));
    // whole roots
    assert_eq!(
        run(&[("r", "flatten(request)")]),
        attrs(&[
            ("r.method", s("POST")),
            ("r.path", s("/openai/v1/chat/completions")),
            ("r.host", s("localhost")),
            (
                "r.headers",
                s(r#"{"content-type":"application/json","x-team":"search, ads"}"#)
            ),
        ])
    );
    assert_eq!(one("json(response)"), s(r#"{"status":200}"#));
    assert_eq!(one("size(llm) > 10"), Bool(true));
}

#[test]
fn plain_paths_and_constants_skip_the_interpreter() {
    let fields = compile(&[
        ("a", r#""chat""#),
        ("b", "llm.provider"),
        ("c", "flatten(llm.params)"),
        ("d", "llm.completion.map(c, c)"),
        ("e", "1 + 2"),
    ]);
    assert!(
        matches!(&fields.fields[0].source, Source::Const(a) if a == &attrs(&[("a", s("chat"))]))
    );
    assert!(matches!(fields.fields[1].source, Source::Path(_)));
    assert!(matches!(fields.fields[2].source, Source::Path(_)));
    assert!(matches!(fields.fields[3].source, Source::Program(_)));
    assert!(matches!(&fields.fields[4].source, Source::Const(a) if a == &attrs(&[("e", Int(3))])));
    let no_program = compile(&[("a", "llm.provider")]);
    assert!(no_program.env.is_none());
}

#[test]
fn fields_are_shareable_and_default_to_empty() {
    fn shared<T: Send + Sync + 'static>() {}
    shared::<Fields>();
    assert!(Fields::default().is_empty());
    assert!(Fields::compile(&[]).is_ok_and(|f| f.is_empty()));
    let fields = compile(&[("a", "llm.provider")]);
    assert!(!fields.is_empty());
    assert_eq!(format!("{fields:?}"), r#"{"a": "llm.provider"}"#);
    let (out, _) = eval(&fields, &record());
    let rec = record();
    let mut out2: Vec<Attr> = vec![("x".into(), Int(1))];
    fields.evaluate(&rec, &mut out2);
    assert_eq!(out2[1..], out[..], "appends");
}

#[test]
fn json_text_matches_serde_json() {
    let mut samples: Vec<String> = vec![
        String::new(),
        "plain ascii text that is long enough to take the eight-byte path".into(),
        "quote\" backslash\\ newline\n tab\t cr\r bell\u{7} nul\0 del\u{7f} é ü 日本 🎉".into(),
        "\"\"\"\"\"\"\"\"\\\\\\\\\\\\\\\\".into(),
    ];
    // every byte value below 0x80 at every offset of a word
    for b in 0u8..0x80 {
        for offset in 0..9 {
            let mut s = "x".repeat(offset);
            s.push(b as char);
            s.push_str("yyyyyyyyy");
            samples.push(s);
        }
    }
    for sample in samples {
        let mut ours = String::new();
        out::write_json(&mut ours, &Out::Str(sample.as_str().into()));
        assert_eq!(
            ours,
            serde_json::to_string(&sample).unwrap_or_default(),
            "{sample:?}"
        );
    }
    for f in [0.2, 1.0, -0.0, 1e21, 1.5e-7, 123.456] {
        let mut ours = String::new();
        out::write_json(&mut ours, &Out::Float(f));
        assert_eq!(ours, serde_json::to_string(&f).unwrap_or_default());
    }
}

#[test]
fn needs_name_the_copied_facts_the_fields_read() {
    let needs = |add: &[(&str, &str)]| compile(add).needs();
    assert_eq!(
        needs(&[("a", "llm.provider"), ("b", "llm.inputTokens + 1")]),
        Needs::default(),
        "small facts need no copies"
    );
    assert!(needs(&[("p", "flatten(llm.prompt)")]).prompt);
    assert!(needs(&[("c", "llm.completion.map(c, size(c))")]).completion);
    assert!(needs(&[("t", "has(llm.toolCalls) ? 1 : 0")]).tool_calls);
    assert!(needs(&[("t", "llm.tools.map(t, t.name)")]).tools);
    assert!(!needs(&[("t", "llm.toolCalls")]).tools);
    assert!(needs(&[("t", "llm.params.temperature")]).params);
    assert!(needs(&[("h", "request.headers['x-user']")]).headers);
    let whole = needs(&[("x", "json(llm)")]);
    assert!(whole.prompt && whole.completion && whole.params && whole.tool_calls && whole.tools);
    assert!(!whole.headers, "llm alone does not read request headers");
    assert!(
        needs(&[("r", "request")]).headers,
        "a bare root reads all of it"
    );
    let m = needs(&[("p", "llm.prompt"), ("c", "llm.completion")]);
    assert!(m.prompt && m.completion && !m.params);
}
