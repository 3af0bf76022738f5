//! Reading a client's JSON fields when translating its request: a value of the wrong type is
//! a 400 that names the field; `null` is as if the field were absent.

use serde_json::Value;

use crate::TranslateError;

/// A 400 for a malformed request.
pub(crate) fn invalid(msg: impl Into<String>) -> TranslateError {
    TranslateError::InvalidRequest(msg.into())
}

pub(crate) fn opt_str<'a>(v: &'a Value, key: &str) -> Result<Option<&'a str>, TranslateError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        _ => Err(invalid(format!("`{key}` must be a string"))),
    }
}

pub(crate) fn opt_bool(v: &Value, key: &str) -> Result<Option<bool>, TranslateError> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        _ => Err(invalid(format!("`{key}` must be a boolean"))),
    }
}

pub(crate) fn opt_u64(v: &Value, key: &str) -> Result<Option<u64>, TranslateError> {
    match v {
        Value::Null => Ok(None),
        v => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| invalid(format!("`{key}` must be a non-negative integer"))),
    }
}

pub(crate) fn opt_f64(v: &Value, key: &str) -> Result<Option<f64>, TranslateError> {
    match v {
        Value::Null => Ok(None),
        v => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| invalid(format!("`{key}` must be a number"))),
    }
}
