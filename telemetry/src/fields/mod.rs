//! CEL fields: the `fields.add` map of the tracing and logging config (attribute name → CEL
//! expression), compiled once at config load into [`Fields`] and evaluated per request into
//! `(attribute name, value)` pairs. This module owns the CEL side of telemetry: the variables
//! an expression sees, the functions it may call, and how its result becomes attributes.
//!
//! # What an expression sees and gives
//! - Variables (`vars.rs`): `llm.*` (every name in camelCase and snake_case; `llm` is absent when
//!   the request reached no LLM, and an absent fact, e.g. `llm.responseModel` before the
//!   provider answered, is an absent key; `llm.choices` is the answer as messages, one per
//!   choice, made of the completion, tool calls and finish reasons), `request.method`,
//!   `request.path`, `request.host`, `request.headers` (lower-case names, repeated headers
//!   joined with `, `), `response.status`, `source.address`.
//! - Results (`out.rs`): a string, int (or uint), double or bool is one attribute of that type;
//!   a map or list is one attribute holding its JSON text; null or an error adds nothing (an
//!   error counts as a failure) and never fails the request. `flatten(x)` /
//!   `flatten_recursive(x)` (alias `flattenRecursive`) at the top of an expression spread `x`
//!   one level / every level into `key.<k>` and `key.<index>` attributes; elsewhere they return
//!   `x` unchanged; `array(x)` at the top makes a list one OTLP array of strings (as
//!   `gen_ai.response.finish_reasons` is). JSON text of a CEL map, whose entries come
//!   unordered, lists the keys the expression writes in map literals first, in the order
//!   written, then the facts' own keys in their order (`role`, `content`, `toolCalls`,
//!   `finishReason`; `id`, `name`, `arguments`), then the rest sorted; maps read from the facts
//!   (`llm.params`, `request.headers`) keep their order. So does `json()` inside an expression.
//! - Functions beyond the standard library and its `strings` and `math` extensions
//!   (`compile.rs`): `json(x)` (JSON text), `parseJson(s)` (`json.rs`: the value JSON text
//!   holds; text that is not JSON stays the string), `default(x, fallback)`,
//!   `coalesce(a, b, ...)` (the first that neither fails nor is null; rewritten at compile
//!   time into lazy conditionals, as CEL evaluates arguments eagerly and a missing key is an
//!   error), and `regexReplace(s, pattern, replacement)` (also `s.regexReplace(pattern,
//!   replacement)`; Rust `regex` syntax, `$1` / `${name}` in the replacement; a literal
//!   pattern is checked and compiled at config load).
//!
//! # Why this design: the cost is the activation, not the interpreter
//! Measured with `cel` 0.15 on this project's machine (`/work/shared/NOTES.md`): building a
//! `Context` from a fresh map of all `llm.*` facts costs ~19 µs per request, while executing
//! 8 compiled programs on a ready context costs 1.9 µs (the default recipe's 6 scalar programs
//! 0.8 µs). At 25k requests/s a naive per-request context eats half a core. So:
//! - Each field is classified once, at compile time. A constant expression (`'"chat"'`) is
//!   evaluated then and kept as its finished attributes. A plain path (`llm.provider`,
//!   `llm.input_tokens`, `request.path`, `llm.params.temperature`, also under a top-level
//!   `flatten`/`json`, or as the operands of a top-level `default`/`coalesce`) is read from
//!   the record by a `match` on the name, without the interpreter. Only real expressions run
//!   in the interpreter.
//! - Those share one `Context` per request, made only if one of them runs, whose variables are
//!   resolved lazily by a `VariableResolver`: an expression reading `llm.completion` builds that
//!   list (borrowing the record's strings) and nothing else; no map of facts is built.
//! - Names are checked at compile time: an unknown variable or `llm` field is a config error
//!   naming the attribute, not an attribute silently missing from every span.
//!
//! Result, `benches/fields.rs` (release, this 2-core machine, other builds running): the
//! seed's default recipe (6 fields, no interpreter) takes ~0.45 µs per request, the Langfuse
//! recipe (9 fields: one interpreted `map`, prompt and completion as JSON text) ~3.9 µs, the
//! Phoenix recipe (two interpreted `flatten_recursive(...map(...))`) ~10 µs; compiling the
//! Langfuse recipe ~0.23 ms, once. Measured later in one run (idle machine): default 0.18 µs,
//! Langfuse 1.8 µs, Phoenix 4.8 µs, and sluice's own `conf/tracing/openinference.yaml` (19
//! fields) 13 µs and `genai.yaml` (22 fields) 22 µs, nearly all of it the message content
//! (comprehensions that build a map per message); per span, on the telemetry thread. (Both
//! recipes have one field more since, for the tools offered; with no tools it adds nothing.)
//! What remains is mostly allocation: the owned attribute names and values the caller gets.

mod compile;
mod json;
mod out;
mod resolver;
mod vars;

use std::borrow::Cow;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use cel::{Context, Env, IdedExpr, Value};

use self::compile::{
    coalesce_operands, rewrite, unary_call, Analysis, NativePath, ARRAY, FLATTEN,
    FLATTEN_RECURSIVE, JSON,
};
use self::out::{emit, from_val, with_key_order, KeyOrder, Mode, Out};
use self::resolver::Vars;
use crate::facts::{Needs, RequestRecord};
use crate::value::{owned_attr, Attr};

/// A `fields.add` entry that does not compile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The attribute name (the `fields.add` key).
    pub key: String,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

impl std::error::Error for FieldError {}

/// The compiled `fields.add` of one config section. Compiled once, shared by all requests.
#[derive(Default)]
pub struct Fields {
    fields: Vec<Field>,
    /// Only when some field needs the interpreter.
    env: Option<Arc<Env>>,
    /// The copied facts any field reads.
    needs: Needs,
}

struct Field {
    key: String,
    needs: Needs,
    /// The expression as configured, for `Debug`.
    text: String,
    mode: Mode,
    source: Source,
    /// Shared with `json()` calls inside the expression while it runs.
    order: Arc<KeyOrder>,
}

enum Source {
    /// Evaluated at compile time: the finished attributes.
    Const(Vec<Attr<'static>>),
    /// Read from the record without the interpreter.
    Path(NativePath),
    /// A top-level `default`/`coalesce` of plain paths and constants.
    Coalesce(Vec<Operand>),
    /// Run in the interpreter (`default`/`coalesce` rewritten, top-level `flatten`, `json` or
    /// `array` stripped).
    Program(IdedExpr),
}

enum Operand {
    Path(NativePath),
    Const(Out<'static>),
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.fields.iter().map(|field| (&field.key, &field.text)))
            .finish()
    }
}

impl Fields {
    /// Compiles `fields.add` (attribute name -> CEL expression text), in the given order.
    pub fn compile(add: &[(String, String)]) -> Result<Fields, Vec<FieldError>> {
        if add.is_empty() {
            return Ok(Fields::default());
        }
        let env = match compile::env() {
            Ok(env) => Arc::new(env),
            Err(e) => {
                return Err(vec![FieldError {
                    key: String::new(),
                    message: format!("CEL environment: {e}"),
                }])
            }
        };
        let mut fields = Vec::with_capacity(add.len());
        let mut errors = Vec::new();
        for (key, text) in add {
            match compile_field(&env, key, text) {
                Ok(field) => fields.push(field),
                Err(message) => errors.push(FieldError {
                    key: key.clone(),
                    message,
                }),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let interpreted = fields
            .iter()
            .any(|f| matches!(f.source, Source::Program(_)));
        let needs = fields
            .iter()
            .fold(Needs::default(), |n, f| n.union(f.needs));
        Ok(Fields {
            fields,
            env: interpreted.then_some(env),
            needs,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The copied facts ([`Needs`]) these fields read.
    pub fn needs(&self) -> Needs {
        self.needs
    }

    /// Evaluates every field for one request, appending (attribute name, value) pairs to `out`
    /// in config order (flattened fields expand in place). Returns how many fields failed to
    /// evaluate (an error or null adds nothing; it never panics, never fails the request).
    pub fn evaluate<'a>(&'a self, rec: &'a RequestRecord, out: &mut Vec<Attr<'a>>) -> u32 {
        let vars = Vars { rec };
        let mut ctx: Option<Context<'_, '_>> = None;
        let mut failed = 0;
        for field in &self.fields {
            let ok = match &field.source {
                Source::Const(attrs) => {
                    out.extend(
                        attrs
                            .iter()
                            .map(|(k, v)| (Cow::Borrowed(k.as_ref()), v.reborrow())),
                    );
                    true
                }
                Source::Path(path) => match path.eval(rec) {
                    Some(v) => {
                        emit(&field.key, &v, field.mode, out);
                        true
                    }
                    None => false,
                },
                Source::Coalesce(operands) => match coalesce(operands, rec) {
                    Some(v) => {
                        emit(&field.key, &v, field.mode, out);
                        true
                    }
                    None => false,
                },
                Source::Program(expr) => match &self.env {
                    None => false,
                    Some(env) => {
                        let ctx = ctx.get_or_insert_with(|| {
                            let mut c = Context::with_env(Arc::clone(env));
                            c.set_variable_resolver(&vars);
                            c
                        });
                        // the interpreter is a dependency: should it panic, the field fails,
                        // not the request
                        let run = AssertUnwindSafe(|| {
                            let v = Value::resolve_val(expr, ctx).map_err(|e| e.to_string())?;
                            let value = from_val(v.as_ref(), &field.order)?;
                            // The value lives only here: the attributes own their text.
                            let mut made = Vec::new();
                            emit(&field.key, &value, field.mode, &mut made);
                            for attr in made {
                                out.push(owned_attr(attr));
                            }
                            Ok::<(), String>(())
                        });
                        let result = with_key_order(&field.order, || catch_unwind(run))
                            .unwrap_or_else(|_| Err("the CEL interpreter panicked".into()));
                        if let Err(e) = &result {
                            log::debug!("CEL field {}: {e}", field.key);
                        }
                        result.is_ok()
                    }
                },
            };
            if !ok {
                failed += 1;
            }
        }
        failed
    }
}

fn compile_field(env: &Arc<Env>, key: &str, text: &str) -> Result<Field, String> {
    if key.is_empty() {
        return Err("empty attribute name".into());
    }
    let parsed = env.parser().parse(text).map_err(|e| e.to_string())?;
    let (mode, inner) = if let Some(arg) = unary_call(&parsed, &[FLATTEN]) {
        (Mode::Flatten, arg)
    } else if let Some(arg) = unary_call(&parsed, &FLATTEN_RECURSIVE) {
        (Mode::FlattenRecursive, arg)
    } else if let Some(arg) = unary_call(&parsed, &[JSON]) {
        (Mode::Json, arg)
    } else if let Some(arg) = unary_call(&parsed, &[ARRAY]) {
        (Mode::Array, arg)
    } else {
        (Mode::Plain, &parsed)
    };
    let mut expr = inner.clone();
    rewrite(&mut expr)?;
    let analysis = Analysis::of(&expr);
    if !analysis.errors.is_empty() {
        return Err(analysis.errors.join("; "));
    }
    let order = Arc::new(analysis.order);
    let needs = analysis.needs;
    let source = if !analysis.reads_vars {
        let value = eval_const(env, &expr, &order)?;
        let mut attrs = Vec::new();
        emit(key, &value, mode, &mut attrs);
        let attrs = attrs.into_iter().map(owned_attr).collect();
        Source::Const(attrs)
    } else if let Some(path) = NativePath::of(inner) {
        Source::Path(path)
    } else if let Some(operands) = coalesce_operands(inner).and_then(|ops| native(env, &ops)) {
        Source::Coalesce(operands)
    } else {
        Source::Program(expr)
    };
    Ok(Field {
        key: key.to_string(),
        needs,
        text: text.to_string(),
        mode,
        source,
        order,
    })
}

/// The operands of a top-level `default`/`coalesce`, if each is a plain path or a constant.
fn native(env: &Arc<Env>, operands: &[&IdedExpr]) -> Option<Vec<Operand>> {
    operands
        .iter()
        .map(|op| {
            if let Some(path) = NativePath::of(op) {
                return Some(Operand::Path(path));
            }
            let mut expr = (*op).clone();
            rewrite(&mut expr).ok()?;
            let analysis = Analysis::of(&expr);
            if analysis.reads_vars || !analysis.errors.is_empty() {
                return None;
            }
            eval_const(env, &expr, &Arc::new(analysis.order))
                .ok()
                .map(Operand::Const)
        })
        .collect()
}

/// Evaluates an expression that reads no variable.
fn eval_const(
    env: &Arc<Env>,
    expr: &IdedExpr,
    order: &Arc<KeyOrder>,
) -> Result<Out<'static>, String> {
    let ctx = Context::with_env(Arc::clone(env));
    let value =
        with_key_order(order, || Value::resolve_val(expr, &ctx)).map_err(|e| e.to_string())?;
    let out = from_val(value.as_ref(), order)?.into_owned();
    Ok(out)
}

/// The first operand that holds a non-null value; else the last one's result.
fn coalesce<'a>(operands: &'a [Operand], rec: &'a RequestRecord) -> Option<Out<'a>> {
    let last = operands.len().saturating_sub(1);
    for (i, op) in operands.iter().enumerate() {
        let value = match op {
            Operand::Path(path) => path.eval(rec),
            Operand::Const(c) => Some(c.clone()),
        };
        match value {
            None | Some(Out::Null) | Some(Out::Json(serde_json::Value::Null)) if i < last => {}
            value => return value,
        }
    }
    None
}

#[cfg(test)]
mod conventions_tests;
#[cfg(test)]
mod tests;
