//! Attribute values: what a log key or span attribute holds, typed as OTLP types them.

use std::borrow::Cow;
use std::fmt;

/// An attribute's key: the standard names are `&'static str` and the config's `fields` keys
/// are borrowed from the compiled config, so most cost no allocation.
pub type AttrKey<'a> = Cow<'a, str>;

/// One attribute of a log line or span: key and typed value. Both may borrow from the
/// request's record and the config for as long as the line and span are being made.
pub type Attr<'a> = (AttrKey<'a>, AttrValue<'a>);

#[derive(Clone, Debug, PartialEq)]
pub enum AttrValue<'a> {
    Str(Cow<'a, str>),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A list of strings (OTLP array), e.g. `gen_ai.response.finish_reasons`; JSON text in logs.
    StrList(Vec<String>),
}

/// The same attribute, owning its key and text.
pub fn owned_attr((key, value): Attr<'_>) -> Attr<'static> {
    (Cow::Owned(key.into_owned()), value.into_owned())
}

impl AttrValue<'_> {
    /// The same value, its text borrowed from this one.
    pub fn reborrow(&self) -> AttrValue<'_> {
        match self {
            AttrValue::Str(s) => AttrValue::Str(Cow::Borrowed(s)),
            AttrValue::Int(i) => AttrValue::Int(*i),
            AttrValue::Float(f) => AttrValue::Float(*f),
            AttrValue::Bool(b) => AttrValue::Bool(*b),
            AttrValue::StrList(items) => AttrValue::StrList(items.clone()),
        }
    }

    /// The same value, owning its text.
    pub fn into_owned(self) -> AttrValue<'static> {
        match self {
            AttrValue::Str(s) => AttrValue::Str(Cow::Owned(s.into_owned())),
            AttrValue::Int(i) => AttrValue::Int(i),
            AttrValue::Float(f) => AttrValue::Float(f),
            AttrValue::Bool(b) => AttrValue::Bool(b),
            AttrValue::StrList(items) => AttrValue::StrList(items),
        }
    }
}

impl fmt::Display for AttrValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrValue::Str(s) => f.write_str(s),
            AttrValue::Int(i) => write!(f, "{i}"),
            AttrValue::Float(x) => write!(f, "{x}"),
            AttrValue::Bool(b) => write!(f, "{b}"),
            AttrValue::StrList(items) => {
                f.write_str(&serde_json::Value::from(items.clone()).to_string())
            }
        }
    }
}

impl<'a> From<&'a str> for AttrValue<'a> {
    fn from(s: &'a str) -> Self {
        AttrValue::Str(Cow::Borrowed(s))
    }
}

impl From<String> for AttrValue<'_> {
    fn from(s: String) -> Self {
        AttrValue::Str(Cow::Owned(s))
    }
}

impl From<i64> for AttrValue<'_> {
    fn from(i: i64) -> Self {
        AttrValue::Int(i)
    }
}

impl From<u64> for AttrValue<'_> {
    fn from(i: u64) -> Self {
        AttrValue::Int(i64::try_from(i).unwrap_or(i64::MAX))
    }
}

impl From<bool> for AttrValue<'_> {
    fn from(b: bool) -> Self {
        AttrValue::Bool(b)
    }
}
