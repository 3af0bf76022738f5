//! Whole Messages answers and error bodies on the diagonal, from each Claude site.

use serde_json::json;
use sluice_providers::ToolCallFact;

use crate::support::{
    fixture, json, messages_request, response_target, usage, CLIENT_MODEL, SITES,
};

#[test]
fn a_whole_answer_passes_as_it_came_with_its_facts() {
    let body = fixture("thinking_tool_message.json");
    for site in &SITES {
        let c = site
            .plan()
            .response(body.clone(), &response_target(), &messages_request())
            .unwrap_or_else(|e| panic!("{:?}: {e}", site.site));
        assert!(c.body == body, "{:?}: not byte for byte", site.site);
        assert_eq!(c.usage, usage(8, 1024, 12355, 112), "{:?}", site.site);
        assert_eq!(c.response_model.as_deref(), Some(CLIENT_MODEL));
        assert_eq!(c.texts, ["I'll run that with Bash — one moment.\n"]);
        assert_eq!(c.finish_reasons, ["tool_use"]);
        assert_eq!(
            c.tool_calls,
            [ToolCallFact {
                id: "toolu_01KmM4dbV8TV7FTSPNV7m6GU".into(),
                name: "Bash".into(),
                arguments:
                    r#"{"command":"echo hello-from-tool","description":"Print a marker string"}"#
                        .into(),
            }]
        );
    }
}

#[test]
fn errors_in_anthropics_shape_pass_as_they_are() {
    let body = br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CVkA2fWq3yFw2bUa7Jx9t"}"#;
    for site in &SITES {
        assert!(
            site.plan().error(529, body) == body.to_vec(),
            "{:?}",
            site.site
        );
    }
}

#[test]
fn vertex_errors_are_put_in_anthropics_shape() {
    let plan = SITES[1].plan();
    for (status, google_status, want) in [
        (400, "INVALID_ARGUMENT", "invalid_request_error"),
        (401, "UNAUTHENTICATED", "authentication_error"),
        (403, "PERMISSION_DENIED", "permission_error"),
        (404, "NOT_FOUND", "not_found_error"),
        (429, "RESOURCE_EXHAUSTED", "rate_limit_error"),
        (500, "INTERNAL", "api_error"),
        (503, "UNAVAILABLE", "api_error"),
    ] {
        let message = format!("{google_status} happened");
        let error = json!({"error": {"code": status, "message": message, "status": google_status}});
        let want = json!({"type": "error", "error": {"type": want, "message": message}});
        // Vertex sends some as a one-element list, some as the object itself.
        for body in [json!([error.clone()]), error] {
            let got = json(&plan.error(status, body.to_string().as_bytes()));
            assert_eq!(got, want, "{status}: {body}");
        }
    }
}

#[test]
fn bedrock_errors_are_put_in_anthropics_shape() {
    let plan = SITES[2].plan();
    for (status, key, want) in [
        (400, "message", "invalid_request_error"),
        (403, "Message", "permission_error"),
        (404, "message", "not_found_error"),
        (429, "message", "rate_limit_error"),
        (500, "message", "api_error"),
        (503, "message", "api_error"),
    ] {
        let message = format!("Bedrock says {status}");
        let body = json!({ key: message }).to_string();
        let got = json(&plan.error(status, body.as_bytes()));
        assert_eq!(
            got,
            json!({"type": "error", "error": {"type": want, "message": message}}),
            "{status}"
        );
    }
    let got = json(&plan.error(502, b"<html>Bad Gateway</html>"));
    assert_eq!(
        got,
        json!({"type":"error","error":{"type":"api_error","message":"<html>Bad Gateway</html>"}})
    );
    let got = json(&plan.error(502, b""));
    assert_eq!(got["error"]["message"], "upstream returned status 502");
}
