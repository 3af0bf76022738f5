//! A field's value on its way to attributes: [`Out`], how a CEL result becomes one, and how one
//! becomes attributes (scalars as they are, maps and lists as JSON text, or spread by
//! `flatten` / `flatten_recursive`).

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt::Write;
use std::sync::Arc;

use cel::common::types::{
    CelBool, CelBytes, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelOptional, CelString,
    CelUInt, Kind,
};
use cel::common::value::Val;

use crate::value::{Attr, AttrValue};

/// A value to emit. Strings borrow the record or the CEL result where they can.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Out<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    List(Vec<Out<'a>>),
    /// Entries in the order they are emitted.
    Map(Vec<(Cow<'a, str>, Out<'a>)>),
    /// A request parameter as sent.
    Json(&'a serde_json::Value),
}

impl Out<'_> {
    /// Selects `field` on a map: `None` if this is no map or has no such key.
    pub(crate) fn select(self, field: &str) -> Option<Self> {
        match self {
            Out::Map(entries) => entries
                .into_iter()
                .find(|(k, _)| k == field)
                .map(|(_, v)| v),
            Out::Json(serde_json::Value::Object(map)) => map.get(field).map(Out::Json),
            _ => None,
        }
    }

    /// An owned copy, for constants kept from compile time.
    pub(crate) fn into_owned(self) -> Out<'static> {
        match self {
            Out::Null => Out::Null,
            Out::Bool(b) => Out::Bool(b),
            Out::Int(i) => Out::Int(i),
            Out::Float(f) => Out::Float(f),
            Out::Str(s) => Out::Str(Cow::Owned(s.into_owned())),
            Out::List(items) => Out::List(items.into_iter().map(Out::into_owned).collect()),
            Out::Map(entries) => Out::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| (Cow::Owned(k.into_owned()), v.into_owned()))
                    .collect(),
            ),
            Out::Json(j) => json_owned(j),
        }
    }
}

fn json_owned(j: &serde_json::Value) -> Out<'static> {
    use serde_json::Value as J;
    match j {
        J::Null => Out::Null,
        J::Bool(b) => Out::Bool(*b),
        J::Number(n) => json_number(n),
        J::String(s) => Out::Str(Cow::Owned(s.clone())),
        J::Array(items) => Out::List(items.iter().map(json_owned).collect()),
        J::Object(map) => Out::Map(
            map.iter()
                .map(|(k, v)| (Cow::Owned(k.clone()), json_owned(v)))
                .collect(),
        ),
    }
}

fn json_number(n: &serde_json::Number) -> Out<'static> {
    match (n.as_i64(), n.as_u64()) {
        (Some(i), _) => Out::Int(i),
        (None, Some(_)) => Out::Int(i64::MAX),
        _ => Out::Float(n.as_f64().unwrap_or(f64::NAN)),
    }
}

/// How JSON text orders the keys of a CEL map, whose entries come in no particular order: first
/// the string keys the field's expression writes in map literals, in the order written (so
/// `{"role": "assistant", "content": c}` keeps its order), then the keys of the facts' own maps
/// in their order (`role`, `content`, `toolCalls`, `finishReason`; `id`, `name`, `arguments`),
/// then the rest sorted.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyOrder {
    pub(crate) literal: Vec<String>,
}

const FACT_KEYS: [&str; 7] = [
    "role",
    "content",
    "toolCalls",
    "finishReason",
    "id",
    "name",
    "arguments",
];

impl KeyOrder {
    fn rank(&self, key: &str) -> usize {
        if let Some(i) = self.literal.iter().position(|k| k == key) {
            return i;
        }
        match FACT_KEYS.iter().position(|k| *k == key) {
            Some(i) => self.literal.len() + i,
            None => usize::MAX,
        }
    }
}

/// A CEL value as an [`Out`]. Fails on values no attribute can hold (types, functions).
pub(crate) fn from_val<'r>(v: &'r (dyn Val + '_), order: &KeyOrder) -> Result<Out<'r>, String> {
    Ok(match v.get_type().kind() {
        Kind::NullType => Out::Null,
        Kind::Boolean => Out::Bool(*builtin::<CelBool>(v)?.inner()),
        Kind::Int => Out::Int(*builtin::<CelInt>(v)?.inner()),
        Kind::UInt => Out::Int(i64::try_from(*builtin::<CelUInt>(v)?.inner()).unwrap_or(i64::MAX)),
        Kind::Double => Out::Float(*builtin::<CelDouble>(v)?.inner()),
        Kind::String => Out::Str(Cow::Borrowed(builtin::<CelString>(v)?.inner())),
        Kind::Bytes => Out::Str(String::from_utf8_lossy(builtin::<CelBytes>(v)?.inner())),
        Kind::List => match v.downcast_ref::<CelList>() {
            Some(list) => Out::List(
                list.inner()
                    .iter()
                    .map(|item| from_val(item.as_ref(), order))
                    .collect::<Result<_, _>>()?,
            ),
            None => Out::List(
                iterate(v)?
                    .map(|item| from_val(item, order))
                    .collect::<Result<_, _>>()?,
            ),
        },
        Kind::Map => match v.downcast_ref::<CelMap>() {
            Some(map) => {
                let mut entries = map.inner().iter().collect::<Vec<_>>();
                entries.sort_by(|(a, _), (b, _)| {
                    key_rank(a, order)
                        .cmp(&key_rank(b, order))
                        .then_with(|| a.cmp(b))
                });
                Out::Map(
                    entries
                        .into_iter()
                        .map(|(k, v)| Ok((key_text(k), from_val(v.as_ref(), order)?)))
                        .collect::<Result<_, String>>()?,
                )
            }
            // another map (a lazy root such as `llm`): its own key order
            None => {
                let indexer = v.as_indexer().ok_or("a map that cannot be indexed")?;
                let mut entries = Vec::new();
                for key in iterate(v)? {
                    let text = from_val(key, order)?;
                    let Out::Str(text) = text else {
                        return Err("a map key that is no string".into());
                    };
                    let value = indexer.get(key).map_err(|e| e.to_string())?;
                    let value = from_val(value.as_ref(), order)?.into_owned();
                    entries.push((text, value));
                }
                Out::Map(entries)
            }
        },
        Kind::Opaque => match v.downcast_ref::<CelOptional>() {
            Some(opt) => match opt.inner() {
                Some(inner) => from_val(inner, order)?,
                None => Out::Null,
            },
            None => return Err(format!("a value of type {}", v.get_type().name())),
        },
        _ => return Err(format!("a value of type {}", v.get_type().name())),
    })
}

fn builtin<'r, 'v, T>(v: &'r (dyn Val + 'v)) -> Result<&'r T, String>
where
    T: cel::common::value::FromVal<'r, 'v>,
{
    v.downcast_ref::<T>()
        .ok_or_else(|| format!("a value of type {}", v.get_type().name()))
}

fn iterate<'r, 'v>(
    v: &'r (dyn Val + 'v),
) -> Result<impl Iterator<Item = &'r (dyn Val + 'v)>, String> {
    let mut it = v
        .as_iterable()
        .ok_or("a collection that cannot be iterated")?
        .iter();
    Ok(std::iter::from_fn(move || it.next()))
}

fn key_rank(key: &CelMapKey<'_>, order: &KeyOrder) -> usize {
    match key {
        CelMapKey::String(s) => order.rank(s.inner()),
        _ => usize::MAX,
    }
}

fn key_text<'r>(key: &'r CelMapKey<'_>) -> Cow<'r, str> {
    match key {
        CelMapKey::String(s) => Cow::Borrowed(s.inner()),
        CelMapKey::Int(i) => Cow::Owned(i.inner().to_string()),
        CelMapKey::UInt(u) => Cow::Owned(u.inner().to_string()),
        CelMapKey::Bool(b) => Cow::Owned(b.inner().to_string()),
    }
}

/// What a field does with its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// One attribute: a scalar as it is, a map or list as JSON text.
    Plain,
    /// `json(x)` at the top: one attribute holding the JSON text, whatever the value.
    Json,
    /// `flatten(x)`: one attribute per entry, `key.<k>`.
    Flatten,
    /// `flatten_recursive(x)`: one attribute per scalar leaf, `key.<k>.<k2>...`.
    FlattenRecursive,
    /// `array(x)`: a list as one OTLP array of strings (an empty list adds nothing).
    Array,
}

/// Appends the attributes `value` makes under `key`.
/// Text is borrowed from `value` where it can be: values outlive the attributes made of them.
pub(crate) fn emit<'a>(key: &'a str, value: &Out<'a>, mode: Mode, dst: &mut Vec<Attr<'a>>) {
    match mode {
        Mode::Plain => plain(Cow::Borrowed(key), value, dst),
        Mode::Json => {
            let mut text = String::with_capacity(json_len_hint(value));
            write_json(&mut text, value);
            dst.push((Cow::Borrowed(key), AttrValue::Str(Cow::Owned(text))));
        }
        Mode::Array => array(Cow::Borrowed(key), value, dst),
        Mode::Flatten => spread(&mut String::from(key), value, false, dst),
        Mode::FlattenRecursive => spread(&mut String::from(key), value, true, dst),
    }
}

fn plain<'a>(key: Cow<'a, str>, value: &Out<'a>, dst: &mut Vec<Attr<'a>>) {
    let attr = match value {
        Out::Null | Out::Json(serde_json::Value::Null) => return,
        Out::Bool(b) => AttrValue::Bool(*b),
        Out::Json(serde_json::Value::Bool(b)) => AttrValue::Bool(*b),
        Out::Int(i) => AttrValue::Int(*i),
        Out::Float(f) => AttrValue::Float(*f),
        Out::Str(s) => AttrValue::Str(s.clone()),
        Out::Json(serde_json::Value::String(s)) => AttrValue::Str(Cow::Borrowed(s)),
        Out::Json(serde_json::Value::Number(n)) => match json_number(n) {
            Out::Int(i) => AttrValue::Int(i),
            Out::Float(f) => AttrValue::Float(f),
            _ => return,
        },
        Out::List(_) | Out::Map(_) | Out::Json(_) => {
            let mut text = String::with_capacity(json_len_hint(value));
            write_json(&mut text, value);
            AttrValue::Str(Cow::Owned(text))
        }
    };
    dst.push((key, attr));
}

/// A list as an array of strings: strings as they are, other items as their JSON text, nulls
/// left out; any other value as an array of one (`stop: "\n"` is a stop sequence too).
fn array<'a>(key: Cow<'a, str>, value: &Out<'a>, dst: &mut Vec<Attr<'a>>) {
    let text = |item: &Out<'_>| match item {
        Out::Null | Out::Json(serde_json::Value::Null) => None,
        Out::Str(s) => Some(s.to_string()),
        Out::Json(serde_json::Value::String(s)) => Some(s.clone()),
        other => {
            let mut text = String::new();
            write_json(&mut text, other);
            Some(text)
        }
    };
    let items: Vec<String> = match value {
        Out::List(items) => items.iter().filter_map(text).collect(),
        Out::Json(serde_json::Value::Array(items)) => {
            items.iter().filter_map(|i| text(&Out::Json(i))).collect()
        }
        one => text(one).into_iter().collect(),
    };
    if !items.is_empty() {
        dst.push((key, AttrValue::StrList(items)));
    }
}

/// Spreads `value` under the name in `path` (restored on return).
fn spread<'a>(path: &mut String, value: &Out<'a>, recursive: bool, dst: &mut Vec<Attr<'a>>) {
    let mut child = |segment: Segment<'_>, v: &Out<'a>| {
        let len = path.len();
        path.push('.');
        match segment {
            Segment::Index(i) if i < 10 => path.push(char::from(b'0' + i as u8)),
            Segment::Index(i) => {
                let _ = write!(path, "{i}");
            }
            Segment::Key(k) => path.push_str(k),
        }
        if recursive {
            spread(path, v, true, dst);
        } else {
            plain(Cow::Owned(path.clone()), v, dst);
        }
        path.truncate(len);
    };
    match value {
        Out::List(items) => {
            for (i, v) in items.iter().enumerate() {
                child(Segment::Index(i), v);
            }
        }
        Out::Map(entries) => {
            for (k, v) in entries {
                child(Segment::Key(k), v);
            }
        }
        Out::Json(serde_json::Value::Array(items)) => {
            for (i, v) in items.iter().enumerate() {
                child(Segment::Index(i), &Out::Json(v));
            }
        }
        Out::Json(serde_json::Value::Object(map)) => {
            for (k, v) in map {
                child(Segment::Key(k), &Out::Json(v));
            }
        }
        scalar => plain(Cow::Owned(path.clone()), scalar, dst),
    }
}

enum Segment<'k> {
    Index(usize),
    Key(&'k str),
}

/// Appends `value` as JSON text (as `serde_json` writes it: no spaces, non-ASCII as is).
pub(crate) fn write_json(buf: &mut String, value: &Out<'_>) {
    match value {
        Out::Null => buf.push_str("null"),
        Out::Bool(b) => buf.push_str(if *b { "true" } else { "false" }),
        Out::Int(i) => {
            let _ = write!(buf, "{i}");
        }
        Out::Float(f) => write_float(buf, *f),
        Out::Str(s) => write_str(buf, s),
        Out::List(items) => {
            buf.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    buf.push(',');
                }
                write_json(buf, v);
            }
            buf.push(']');
        }
        Out::Map(entries) => {
            buf.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    buf.push(',');
                }
                write_str(buf, k);
                buf.push(':');
                write_json(buf, v);
            }
            buf.push('}');
        }
        Out::Json(j) => write_json_value(buf, j),
    }
}

fn write_json_value(buf: &mut String, j: &serde_json::Value) {
    use serde_json::Value as J;
    match j {
        J::Null => buf.push_str("null"),
        J::Bool(b) => buf.push_str(if *b { "true" } else { "false" }),
        J::Number(n) => {
            let _ = write!(buf, "{n}");
        }
        J::String(s) => write_str(buf, s),
        J::Array(items) => {
            buf.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    buf.push(',');
                }
                write_json_value(buf, v);
            }
            buf.push(']');
        }
        J::Object(map) => {
            buf.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    buf.push(',');
                }
                write_str(buf, k);
                buf.push(':');
                write_json_value(buf, v);
            }
            buf.push('}');
        }
    }
}

fn write_float(buf: &mut String, f: f64) {
    // `serde_json`'s formatting (shortest round trip, `1.0` keeps its `.0`); NaN and the
    // infinities have no JSON form
    match serde_json::Number::from_f64(f) {
        Some(n) => {
            let _ = write!(buf, "{n}");
        }
        None => buf.push_str("null"),
    }
}

fn write_str(buf: &mut String, s: &str) {
    buf.reserve(s.len() + 2);
    buf.push('"');
    let bytes = s.as_bytes();
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        // eight bytes at a time while none needs escaping: prompts are long and mostly plain
        if let Some(word) = bytes
            .get(i..i + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
        {
            if !needs_escape(u64::from_le_bytes(word)) {
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => {
                i += 1;
                continue;
            }
        };
        // an escaped byte is ASCII: `start..i` lies on character boundaries
        buf.push_str(&s[start..i]);
        if escape.is_empty() {
            let _ = write!(buf, "\\u{b:04x}");
        } else {
            buf.push_str(escape);
        }
        i += 1;
        start = i;
    }
    buf.push_str(&s[start..]);
    buf.push('"');
}

/// Whether any of the eight bytes of `w` is a control character, `"` or `\`.
fn needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // a byte below `n` (n <= 128) sets its high bit in `(w - n) & !w`
    let below = |w: u64, n: u64| w.wrapping_sub(ONES * n) & !w & HIGH;
    let quote = w ^ (ONES * u64::from(b'"'));
    let backslash = w ^ (ONES * u64::from(b'\\'));
    (below(w, 0x20) | below(quote, 1) | below(backslash, 1)) != 0
}

/// About how long `value`'s JSON text is, to size its buffer once.
fn json_len_hint(value: &Out<'_>) -> usize {
    match value {
        Out::Str(s) => s.len() + 2,
        Out::List(items) => 2 + items.iter().map(|v| json_len_hint(v) + 1).sum::<usize>(),
        Out::Map(entries) => {
            2 + entries
                .iter()
                .map(|(k, v)| k.len() + 4 + json_len_hint(v))
                .sum::<usize>()
        }
        _ => 8,
    }
}

thread_local! {
    /// The key order of the field whose expression this thread is evaluating, for `json()`
    /// inside it: a function sees only its arguments.
    static ORDER: RefCell<Option<Arc<KeyOrder>>> = const { RefCell::new(None) };
}

/// Runs `f` (an expression's evaluation) with `order` as the key order of its `json()` calls.
pub(crate) fn with_key_order<R>(order: &Arc<KeyOrder>, f: impl FnOnce() -> R) -> R {
    let previous = ORDER.with(|o| o.replace(Some(Arc::clone(order))));
    let result = f();
    ORDER.with(|o| *o.borrow_mut() = previous);
    result
}

/// JSON text of a CEL value, for the `json()` function inside an expression: its maps' keys in
/// the order of the field being evaluated, as the field's own JSON text has them.
pub(crate) fn json_text(v: &dyn Val) -> Result<String, String> {
    let order = ORDER.with(|o| o.borrow().clone()).unwrap_or_default();
    let out = from_val(v, &order)?;
    let mut text = String::new();
    write_json(&mut text, &out);
    Ok(text)
}
