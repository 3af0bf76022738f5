//! Errors: hub error bodies -> OpenAI-shaped error bodies.

use serde_json::Value;
use sluice_providers::front::responses::error_from_hub;

#[test]
fn hub_errors_are_openai_shaped() {
    let got: Value = serde_json::from_slice(&error_from_hub(
        400,
        br#"{"error":{"message":"`tools[0].type: web_search` has no counterpart","type":"invalid_request_error"}}"#,
    ))
    .unwrap();
    assert_eq!(got["error"]["type"], "invalid_request_error");
    assert_eq!(got["error"]["param"], Value::Null);
    assert_eq!(got["error"]["code"], Value::Null);
    assert!(got["error"]["message"]
        .as_str()
        .unwrap()
        .contains("web_search"));
}
