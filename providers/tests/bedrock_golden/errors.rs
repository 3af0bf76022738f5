//! Error translation goldens.

use serde_json::Value;
use sluice_providers::bedrock;

use crate::support::{bless_json, fixture, json_fixture};

/// (case, input file extension, HTTP status)
const ERROR_CASES: &[(&str, &str, u16)] = &[
    ("throttling", "json", 429),
    ("validation", "json", 400),
    ("access_denied", "json", 403),
    ("unrecognized", "json", 403),
    ("html", "txt", 502),
    ("empty", "txt", 503),
];

#[test]
fn error_goldens() {
    for &(case, ext, status) in ERROR_CASES {
        let body =
            bedrock::translate_error(status, &fixture(&format!("{case}.bedrock-error.{ext}")));
        let got: Value = serde_json::from_slice(&body).expect("error body is JSON");
        bless_json(&format!("{case}.openai-error.json"), &got);
        assert_eq!(
            got,
            json_fixture(&format!("{case}.openai-error.json")),
            "{case}"
        );
    }
}
