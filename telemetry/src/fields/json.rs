//! JSON values as CEL values: the request's parameters as sent (borrowed from the record), and
//! what `parseJson(s)` reads from a string (owned).

use cel::common::types::{CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull};
use cel::common::types::{CelString, CelUInt};
use cel::common::value::{CowVal, Val};
use cel::ExecutionError;
use serde_json::Value as J;

pub(crate) const PARSE_JSON: &str = "parseJson";

/// A JSON value as a CEL value: integers stay `int` (or `uint` beyond `i64`), other numbers
/// `double`, strings are borrowed.
pub(crate) fn json_val(v: &J) -> Box<dyn Val + '_> {
    match v {
        J::Array(items) => Box::new(CelList::from(
            items.iter().map(json_val).collect::<Vec<_>>(),
        )),
        J::Object(map) => Box::new(CelMap::from(
            map.iter()
                .map(|(k, v)| (CelMapKey::from(k.as_str()), json_val(v)))
                .collect::<std::collections::HashMap<_, _>>(),
        )),
        J::String(s) => Box::new(CelString::from(s.as_str())),
        scalar => json_scalar(scalar),
    }
}

/// [`json_val`] of a value it takes over: nothing borrowed.
fn json_val_owned(v: J) -> Box<dyn Val + 'static> {
    match v {
        J::Array(items) => Box::new(CelList::from(
            items.into_iter().map(json_val_owned).collect::<Vec<_>>(),
        )),
        J::Object(map) => Box::new(CelMap::from(
            map.into_iter()
                .map(|(k, v)| (CelMapKey::from(k), json_val_owned(v)))
                .collect::<std::collections::HashMap<_, _>>(),
        )),
        J::String(s) => Box::new(CelString::from(s)),
        scalar => json_scalar(&scalar),
    }
}

/// Null, a bool or a number (strings and collections are the callers').
fn json_scalar(v: &J) -> Box<dyn Val + 'static> {
    match v {
        J::Bool(b) => Box::new(CelBool::from(*b)),
        J::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Box::new(CelInt::from(i)),
            (None, Some(u)) => Box::new(CelUInt::from(u)),
            _ => Box::new(CelDouble::from(n.as_f64().unwrap_or(f64::NAN))),
        },
        _ => Box::new(CelNull),
    }
}

/// `parseJson(s)`: the value the JSON text `s` holds (a map, list, string, number, bool or
/// null). Text that is not JSON comes back as the string it is: a tool call's arguments cut
/// off mid-stream still show, and the field does not fail for it.
pub(crate) fn parse_json<'b, 'v>(
    args: Vec<CowVal<'b, 'v>>,
) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let n = args.len();
    let Some(arg) = args.into_iter().next().filter(|_| n == 1) else {
        return Err(ExecutionError::invalid_argument_count(1, n));
    };
    let text = arg
        .downcast_ref::<CelString>()
        .ok_or_else(|| ExecutionError::function_error(PARSE_JSON, "expected a string"))?;
    match serde_json::from_str::<J>(text.inner()) {
        Ok(value) => Ok(CowVal::Owned(json_val_owned(value))),
        Err(_) => Ok(arg),
    }
}
