//! Errors: Gemini error bodies (JSON or not) -> OpenAI error bodies.

use serde_json::Value;
use sluice_providers::gemini;

use crate::support::{fixture, json_fixture};

/// (case, input file extension, HTTP status)
const ERROR_CASES: &[(&str, &str, u16)] = &[
    ("invalid_key", "json", 400),
    ("quota", "json", 429),
    ("model_not_found", "json", 404),
    ("html", "txt", 502),
    ("empty", "txt", 503),
];

#[test]
fn error_goldens() {
    for &(case, ext, status) in ERROR_CASES {
        let body = gemini::translate_error(status, &fixture(&format!("{case}.gemini-error.{ext}")));
        let got: Value = serde_json::from_slice(&body).expect("error body is JSON");
        assert_eq!(
            got,
            json_fixture(&format!("{case}.openai-error.json")),
            "{case}"
        );
    }
}
