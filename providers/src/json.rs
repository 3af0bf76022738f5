//! JSON bodies from bytes. The body's UTF-8 is checked once, whole, and the JSON is parsed from
//! the `str`: parsed from `&[u8]`, serde_json checks every string it reads again (34 checks per
//! plain chat request and answer, callgrind). Same results, same errors for bad JSON.

use serde::Deserialize;

/// `body` parsed as `T`; the error text says what is wrong (for a 400 or a 502).
pub(crate) fn from_body<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("the body is not UTF-8: {e}"))?;
    serde_json::from_str(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn parses_as_from_slice_does_and_names_bad_utf8() {
        let body = br#"{"a":"caf\u00e9","b":["x",1,null]}"#;
        let ours: Value = from_body(body).unwrap();
        let theirs: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(ours, theirs);

        let bad = b"{\"a\":\"\xff\"}";
        let err = from_body::<Value>(bad).unwrap_err();
        assert!(
            err.starts_with("the body is not UTF-8: invalid utf-8"),
            "{err}"
        );

        let err = from_body::<Value>(br#"{"a":}"#).unwrap_err();
        assert_eq!(err, "expected value at line 1 column 6");
    }
}
