//! Compiling `fields.add`: errors named by key, what the checker accepts, the native paths
//! past the interpreter, failures counted, sharing and the facts the fields need.

use super::{attrs, compile, eval, one, record, run, s};
use crate::facts::Needs;
use crate::fields::{Attr, Fields, Source};
use crate::AttrValue::{Bool, Int};

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
