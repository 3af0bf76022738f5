//! The extension functions (`json`, `default`, `coalesce`, `regexReplace`, `flatten`) and
//! the JSON text they write.

use super::{attrs, compile, eval, one, record, run, s, PROMPT_JSON};
use crate::fields::out::{self, Out};
use crate::fields::Source;
use crate::AttrValue::{Bool, Float, Int};

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
