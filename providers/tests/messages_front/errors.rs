//! Chat Completions error bodies translated to Messages errors.

use serde_json::{json, Value};
use sluice_providers::front::messages::error_from_openai;

#[test]
fn error_mapping() {
    let cases = [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
        (413, "request_too_large"),
        (429, "rate_limit_error"),
        (529, "overloaded_error"),
        (500, "api_error"),
        (502, "api_error"),
    ];
    for (status, kind) in cases {
        let body = json!({"error": {"message": "boom", "type": "x", "param": null, "code": null}});
        let out = error_from_openai(status, body.to_string().as_bytes());
        let v: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(
            v,
            json!({"type": "error", "error": {"type": kind, "message": "boom"}})
        );
    }
    let v: Value =
        serde_json::from_slice(&error_from_openai(502, b"  Bad Gateway \n")).expect("json");
    assert_eq!(v["error"]["message"], "Bad Gateway");
    let v: Value = serde_json::from_slice(&error_from_openai(503, b"")).expect("json");
    assert_eq!(v["error"]["message"], "upstream returned status 503");
    assert_eq!(v["error"]["type"], "api_error");
}
