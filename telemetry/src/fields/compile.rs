//! What compiling a field learns from its CEL AST, the rewriting of `default` and `coalesce`,
//! and the CEL environment: the standard library, the `strings` and `math` extensions, and the
//! functions fields add (`flatten`, `flatten_recursive`, `flattenRecursive`, `json`, `array`,
//! `parseJson`, `regexReplace`).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

use cel::common::ast::{operators, CallExpr, EntryExpr, Expr, IdedExpr, LiteralValue};
use cel::common::types::{CelString, DYN_TYPE, STRING_TYPE};
use cel::common::value::CowVal;
use cel::{DeclarationError, Env, ExecutionError};
use regex::Regex;

use super::json::{parse_json, PARSE_JSON};
use super::out::{json_text, KeyOrder, Out};
use super::vars::{Root, Var};
use crate::facts::{Needs, RequestRecord};

pub(crate) const FLATTEN: &str = "flatten";
pub(crate) const FLATTEN_RECURSIVE: [&str; 2] = ["flatten_recursive", "flattenRecursive"];
pub(crate) const JSON: &str = "json";
pub(crate) const ARRAY: &str = "array";
const DEFAULT: &str = "default";
const COALESCE: &str = "coalesce";
const REGEX_REPLACE: &str = "regexReplace";

/// The environment every field's program runs in.
pub(crate) fn env() -> Result<Env, DeclarationError> {
    let mut env = Env::stdlib();
    env.add_extension(cel::extensions::strings)?;
    env.add_extension(cel::extensions::math)?;
    // at the top of an expression these are read off the AST; anywhere else they change nothing
    for name in [FLATTEN, FLATTEN_RECURSIVE[0], FLATTEN_RECURSIVE[1], ARRAY] {
        env.add_overload(name, &format!("{name}_dyn"), vec![DYN_TYPE], identity)?;
    }
    env.add_overload(JSON, "json_dyn", vec![DYN_TYPE], json)?;
    env.add_overload(
        PARSE_JSON,
        "parseJson_string",
        vec![STRING_TYPE],
        parse_json,
    )?;
    env.add_overload(
        REGEX_REPLACE,
        "regexReplace_string_string_string",
        vec![STRING_TYPE, STRING_TYPE, STRING_TYPE],
        regex_replace,
    )?;
    env.add_member_overload(
        REGEX_REPLACE,
        "string_regexReplace_string_string",
        STRING_TYPE,
        vec![STRING_TYPE, STRING_TYPE],
        regex_replace,
    )?;
    Ok(env)
}

fn identity<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let n = args.len();
    args.into_iter()
        .next()
        .ok_or_else(|| ExecutionError::invalid_argument_count(1, n))
}

fn json<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let arg = args
        .first()
        .ok_or_else(|| ExecutionError::invalid_argument_count(1, 0))?;
    let text = json_text(arg.as_ref()).map_err(|e| ExecutionError::function_error(JSON, e))?;
    Ok(CowVal::owned(CelString::from(text)))
}

fn regex_replace<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let n = args.len();
    let Ok([text, pattern, replacement]) = <[CowVal<'b, 'v>; 3]>::try_from(args) else {
        return Err(ExecutionError::invalid_argument_count(3, n));
    };
    let string = |v: &CowVal<'b, 'v>| -> Result<String, ExecutionError> {
        v.downcast_ref::<CelString>()
            .map(|s| s.inner().to_string())
            .ok_or_else(|| ExecutionError::function_error(REGEX_REPLACE, "expected strings"))
    };
    let (pattern, replacement) = (string(&pattern)?, string(&replacement)?);
    let re = regex(&pattern).map_err(|e| ExecutionError::function_error(REGEX_REPLACE, e))?;
    let replaced = {
        let s = text
            .downcast_ref::<CelString>()
            .ok_or_else(|| ExecutionError::function_error(REGEX_REPLACE, "expected strings"))?;
        match re.replace_all(s.inner(), replacement.as_str()) {
            std::borrow::Cow::Borrowed(_) => None,
            std::borrow::Cow::Owned(o) => Some(o),
        }
    };
    Ok(match replaced {
        None => text,
        Some(o) => CowVal::owned(CelString::from(o)),
    })
}

/// Compiled patterns: literal ones are compiled at config load, others on first use (at most
/// [`REGEX_CACHE_MAX`] kept), so no request compiles a pattern seen before.
static REGEXES: LazyLock<RwLock<HashMap<String, Arc<Regex>>>> = LazyLock::new(Default::default);
const REGEX_CACHE_MAX: usize = 256;

pub(crate) fn regex(pattern: &str) -> Result<Arc<Regex>, String> {
    let cached = match REGEXES.read() {
        Ok(map) => map.get(pattern).cloned(),
        Err(poisoned) => poisoned.into_inner().get(pattern).cloned(),
    };
    if let Some(re) = cached {
        return Ok(re);
    }
    let re = Arc::new(Regex::new(pattern).map_err(|e| e.to_string())?);
    let mut map = match REGEXES.write() {
        Ok(map) => map,
        Err(poisoned) => poisoned.into_inner(),
    };
    if map.len() < REGEX_CACHE_MAX {
        map.insert(pattern.to_string(), Arc::clone(&re));
    }
    Ok(re)
}

/// Rewrites every `default(x, fallback)` and `coalesce(a, b, ...)` (or `x.default(fallback)`)
/// into conditionals the interpreter evaluates lazily: `default(x, f)` becomes
/// `@not_strictly_false(x == null) ? f : x`. CEL evaluates a function's arguments before the
/// call and an error in one fails the call, so no function could see that `x` failed;
/// `@not_strictly_false` (the internal operator of comprehension conditions) turns an error
/// into `true`, and `?:` only evaluates the branch it takes. `x` is evaluated twice when it
/// holds a value; it has no side effects.
pub(crate) fn rewrite(e: &mut IdedExpr) -> Result<(), String> {
    let id = e.id;
    match &mut e.expr {
        Expr::Call(call) => {
            if let Some(target) = &mut call.target {
                rewrite(target)?;
            }
            for arg in &mut call.args {
                rewrite(arg)?;
            }
            let name = call.func_name.as_str();
            if name != DEFAULT && name != COALESCE {
                return Ok(());
            }
            let mut operands: Vec<IdedExpr> = call.target.take().map(|t| *t).into_iter().collect();
            operands.append(&mut call.args);
            if name == DEFAULT && operands.len() != 2 {
                return Err(format!(
                    "default() takes a value and a fallback, got {} arguments",
                    operands.len()
                ));
            }
            let Some(mut folded) = operands.pop() else {
                return Err("coalesce() needs at least one argument".into());
            };
            while let Some(x) = operands.pop() {
                folded = guard(id, x, folded);
            }
            *e = folded;
            Ok(())
        }
        Expr::Comprehension(c) => {
            for sub in [
                &mut c.iter_range,
                &mut c.accu_init,
                &mut c.loop_cond,
                &mut c.loop_step,
                &mut c.result,
            ] {
                rewrite(sub)?;
            }
            Ok(())
        }
        Expr::List(list) => list.elements.iter_mut().try_for_each(rewrite),
        Expr::Map(map) => map
            .entries
            .iter_mut()
            .try_for_each(|entry| match &mut entry.expr {
                EntryExpr::MapEntry(m) => {
                    rewrite(&mut m.key)?;
                    rewrite(&mut m.value)
                }
                EntryExpr::StructField(f) => rewrite(&mut f.value),
            }),
        Expr::Struct(s) => s
            .entries
            .iter_mut()
            .try_for_each(|entry| match &mut entry.expr {
                EntryExpr::MapEntry(m) => {
                    rewrite(&mut m.key)?;
                    rewrite(&mut m.value)
                }
                EntryExpr::StructField(f) => rewrite(&mut f.value),
            }),
        Expr::Select(s) => rewrite(&mut s.operand),
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => Ok(()),
    }
}

/// `@not_strictly_false(x == null) ? fallback : x`. The interpreter ignores node ids; the
/// new nodes reuse the call's.
fn guard(id: u64, x: IdedExpr, fallback: IdedExpr) -> IdedExpr {
    let node = |expr| IdedExpr { id, expr };
    let call = |name: &str, args| {
        node(Expr::Call(CallExpr {
            func_name: name.to_string(),
            target: None,
            args,
        }))
    };
    let is_null = call(
        operators::EQUALS,
        vec![x.clone(), node(Expr::Literal(LiteralValue::Null))],
    );
    let missing = call(operators::NOT_STRICTLY_FALSE, vec![is_null]);
    call(operators::CONDITIONAL, vec![missing, fallback, x])
}

/// Names an expression may use without them being variables: type names.
const TYPE_NAMES: [&str; 12] = [
    "bool",
    "bytes",
    "double",
    "dyn",
    "int",
    "list",
    "map",
    "null_type",
    "optional_type",
    "string",
    "type",
    "uint",
];

/// The function namespaces of the environment (`optional.of`, `math.greatest`, `strings.quote`).
const NAMESPACES: [&str; 3] = ["optional", "math", "strings"];

/// What compiling learns from a (rewritten) expression.
#[derive(Debug, Default)]
pub(crate) struct Analysis {
    /// Whether it reads any variable (else it is a constant).
    pub(crate) reads_vars: bool,
    /// String keys of its map literals, in the order written.
    pub(crate) order: KeyOrder,
    pub(crate) errors: Vec<String>,
    /// The copied facts it reads (a bare root reads all of that root's).
    pub(crate) needs: Needs,
}

impl Analysis {
    pub(crate) fn of(e: &IdedExpr) -> Analysis {
        let mut a = Analysis::default();
        a.walk(e, &mut Vec::new());
        a
    }

    fn walk<'e>(&mut self, e: &'e IdedExpr, bound: &mut Vec<&'e str>) {
        match &e.expr {
            Expr::Ident(name) => self.name(&[name.as_str()], bound),
            Expr::Select(s) => {
                let chain = if s.test {
                    segments(&s.operand).map(|mut v| {
                        v.push(s.field.as_str());
                        v
                    })
                } else {
                    segments(e)
                };
                match chain {
                    Some(chain) => self.name(&chain, bound),
                    None => self.walk(&s.operand, bound),
                }
            }
            Expr::Call(call) => {
                if let Some(target) = &call.target {
                    // `optional.of(x)`, `math.greatest(..)`: a namespace, not a variable
                    let namespace = matches!(&target.expr,
                        Expr::Ident(name) if NAMESPACES.contains(&name.as_str())
                            && !bound.contains(&name.as_str()));
                    if !namespace {
                        self.walk(target, bound);
                    }
                }
                for arg in &call.args {
                    self.walk(arg, bound);
                }
                if call.func_name == REGEX_REPLACE {
                    let pattern = if call.target.is_some() {
                        call.args.first()
                    } else {
                        call.args.get(1)
                    };
                    if let Some(Expr::Literal(LiteralValue::String(p))) = pattern.map(|p| &p.expr) {
                        if let Err(err) = regex(p.inner()) {
                            self.errors
                                .push(format!("invalid regex in regexReplace: {err}"));
                        }
                    }
                }
            }
            Expr::Comprehension(c) => {
                self.walk(&c.iter_range, bound);
                self.walk(&c.accu_init, bound);
                let depth = bound.len();
                bound.push(&c.iter_var);
                if let Some(v) = &c.iter_var2 {
                    bound.push(v);
                }
                bound.push(&c.accu_var);
                self.walk(&c.loop_cond, bound);
                self.walk(&c.loop_step, bound);
                self.walk(&c.result, bound);
                bound.truncate(depth);
            }
            Expr::List(list) => {
                for item in &list.elements {
                    self.walk(item, bound);
                }
            }
            Expr::Map(map) => {
                for entry in &map.entries {
                    if let EntryExpr::MapEntry(m) = &entry.expr {
                        if let Expr::Literal(LiteralValue::String(k)) = &m.key.expr {
                            let k = k.inner();
                            if !self.order.literal.iter().any(|l| l == k) {
                                self.order.literal.push(k.to_string());
                            }
                        }
                        self.walk(&m.key, bound);
                        self.walk(&m.value, bound);
                    }
                }
            }
            Expr::Struct(s) => {
                for entry in &s.entries {
                    match &entry.expr {
                        EntryExpr::StructField(f) => self.walk(&f.value, bound),
                        EntryExpr::MapEntry(m) => self.walk(&m.value, bound),
                    }
                }
            }
            Expr::Literal(_) | Expr::Unspecified => {}
        }
    }

    /// A variable reference `a.b.c`: `a` must be bound by a comprehension, or a root whose
    /// field `b` exists.
    fn name(&mut self, chain: &[&str], bound: &[&str]) {
        let Some(&first) = chain.first() else {
            return;
        };
        if bound.contains(&first) {
            return;
        }
        let Some(root) = Root::parse(first) else {
            if chain.len() > 1 || !TYPE_NAMES.contains(&first) {
                self.errors.push(format!("unknown variable '{first}'"));
            }
            return;
        };
        self.reads_vars = true;
        match chain.get(1) {
            Some(field) => match Var::parse(root, field) {
                Some(var) => var.mark(&mut self.needs),
                None => self
                    .errors
                    .push(format!("unknown variable '{first}.{field}'")),
            },
            None => {
                for var in root.vars() {
                    var.mark(&mut self.needs);
                }
            }
        }
    }
}

/// The names of an identifier and the fields selected on it, `a.b.c` as `[a, b, c]`; `None`
/// for anything else (a presence test included).
fn segments(e: &IdedExpr) -> Option<Vec<&str>> {
    match &e.expr {
        Expr::Ident(name) => Some(vec![name.as_str()]),
        Expr::Select(s) if !s.test => {
            let mut v = segments(&s.operand)?;
            v.push(s.field.as_str());
            Some(v)
        }
        _ => None,
    }
}

/// A plain path (`llm.input_tokens`, `request.path`, `llm.params.temperature`), read without
/// the interpreter.
#[derive(Clone, Debug)]
pub(crate) struct NativePath {
    root: Root,
    var: Option<Var>,
    rest: Vec<String>,
}

impl NativePath {
    pub(crate) fn of(e: &IdedExpr) -> Option<NativePath> {
        let chain = segments(e)?;
        let root = Root::parse(chain.first()?)?;
        let var = match chain.get(1) {
            Some(field) => Some(Var::parse(root, field)?),
            None => None,
        };
        let rest = chain.iter().skip(2).map(|s| s.to_string()).collect();
        Some(NativePath { root, var, rest })
    }

    /// The value, or `None` where the interpreter would fail (an absent fact or key).
    pub(crate) fn eval<'a>(&self, rec: &'a RequestRecord) -> Option<Out<'a>> {
        let mut v = match self.var {
            Some(var) => var.to_out(rec)?,
            None => self.root.to_out(rec)?,
        };
        for field in &self.rest {
            v = v.select(field)?;
        }
        Some(v)
    }
}

/// The operands of a top-level `default(..)` / `coalesce(..)` call, if it is one.
pub(crate) fn coalesce_operands(e: &IdedExpr) -> Option<Vec<&IdedExpr>> {
    let Expr::Call(call) = &e.expr else {
        return None;
    };
    if call.func_name != DEFAULT && call.func_name != COALESCE {
        return None;
    }
    Some(
        call.target
            .iter()
            .map(|t| &**t)
            .chain(call.args.iter())
            .collect(),
    )
}

/// The single argument of a top-level call to `name`, if `e` is one.
pub(crate) fn unary_call<'e>(e: &'e IdedExpr, names: &[&str]) -> Option<&'e IdedExpr> {
    match &e.expr {
        Expr::Call(call)
            if call.target.is_none()
                && call.args.len() == 1
                && names.contains(&call.func_name.as_str()) =>
        {
            call.args.first()
        }
        _ => None,
    }
}
