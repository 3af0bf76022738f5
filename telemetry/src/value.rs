//! Attribute values: what a log key or span attribute holds, typed as OTLP types them.

use std::borrow::Cow;
use std::fmt;

/// An attribute's key: the standard names are `&'static str`, so most cost no allocation;
/// keys from the config's `fields` are owned.
pub type AttrKey = Cow<'static, str>;

/// One attribute of a log line or span: key and typed value.
pub type Attr = (AttrKey, AttrValue);

#[derive(Clone, Debug, PartialEq)]
pub enum AttrValue {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A list of strings (OTLP array), e.g. `gen_ai.response.finish_reasons`; JSON text in logs.
    StrList(Vec<String>),
}

impl fmt::Display for AttrValue {
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

impl From<&str> for AttrValue {
    fn from(s: &str) -> Self {
        AttrValue::Str(s.to_string())
    }
}

impl From<String> for AttrValue {
    fn from(s: String) -> Self {
        AttrValue::Str(s)
    }
}

impl From<i64> for AttrValue {
    fn from(i: i64) -> Self {
        AttrValue::Int(i)
    }
}

impl From<u64> for AttrValue {
    fn from(i: u64) -> Self {
        AttrValue::Int(i64::try_from(i).unwrap_or(i64::MAX))
    }
}

impl From<bool> for AttrValue {
    fn from(b: bool) -> Self {
        AttrValue::Bool(b)
    }
}
