//! Error translation goldens.

use serde_json::Value;
use sluice_providers::anthropic;

use crate::common::assert_json_eq;
use crate::support::{fixture, json_fixture};

/// (case, input file extension, HTTP status)
const ERROR_CASES: &[(&str, &str, u16)] = &[
    ("invalid_request", "json", 400),
    ("auth", "json", 401),
    ("rate_limit", "json", 429),
    ("overloaded", "json", 529),
    ("html", "txt", 502),
    ("empty", "txt", 503),
];

#[test]
fn error_goldens() {
    for &(case, ext, status) in ERROR_CASES {
        let body =
            anthropic::translate_error(status, &fixture(&format!("{case}.anthropic-error.{ext}")));
        let got: Value = serde_json::from_slice(&body).expect("error body is JSON");
        assert_json_eq(
            case,
            &got,
            &json_fixture(&format!("{case}.openai-error.json")),
        );
    }
}
