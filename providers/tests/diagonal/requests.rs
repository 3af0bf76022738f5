//! Messages requests on the diagonal: what Anthropic, Vertex and Bedrock receive for Claude
//! Code's captured bodies.

use serde_json::json;

use crate::support::{
    assert_json_eq, assert_untouched_members, beta_header, fixture, forwarded_headers, json, owned,
    CLIENT_MODEL, SITES,
};

const REQUESTS: &[&str] = &["first_request.raw.json", "tool_result_request.raw.json"];

#[test]
fn anthropic_gets_the_client_bytes_as_they_came() {
    for name in REQUESTS {
        let raw = fixture(name);
        let up = SITES[0].request(&raw);
        assert!(up.body == raw, "{name}: body not byte for byte");
        assert_eq!(up.path, "/v1/messages?beta=true", "{name}");
        assert_eq!(
            owned(&up.headers),
            [
                ("anthropic-version", "2023-06-01".to_string()),
                ("anthropic-beta", beta_header()),
            ],
            "{name}"
        );
    }
}

#[test]
fn anthropic_with_a_pinned_model_differs_only_in_model() {
    const PINNED: &str = "claude-opus-5-5-20260101";
    for name in REQUESTS {
        let raw = fixture(name);
        let up = SITES[0].request_with(&raw, PINNED, &forwarded_headers(), Some("beta=true"));
        let mut want = json(&raw);
        want["model"] = json!(PINNED);
        assert_json_eq(name, &json(&up.body), &want);
        assert_untouched_members(name, &raw, &up.body, &["model"]);
        // The capture is compact, so the whole body differs only in the model's bytes.
        let prefix = format!(r#"{{"model":"{CLIENT_MODEL}","#);
        assert!(raw.starts_with(prefix.as_bytes()), "{name}");
        let mut want_bytes = format!(r#"{{"model":"{PINNED}","#).into_bytes();
        want_bytes.extend_from_slice(&raw[prefix.len()..]);
        assert!(up.body == want_bytes, "{name}: more than the model changed");
        assert_eq!(up.path, "/v1/messages?beta=true", "{name}");
    }
}

#[test]
fn anthropic_without_the_clients_headers_or_query() {
    let raw = fixture("first_request.raw.json");
    let up = SITES[0].request_with(&raw, CLIENT_MODEL, &[], None);
    assert_eq!(up.path, "/v1/messages");
    assert_eq!(
        owned(&up.headers),
        [("anthropic-version", "2023-06-01".to_string())]
    );
    assert!(up.body == raw);
    let up = SITES[0].request_with(&raw, CLIENT_MODEL, &[], Some("x=1&beta=true"));
    assert_eq!(up.path, "/v1/messages?beta=true");
    let up = SITES[0].request_with(&raw, CLIENT_MODEL, &[], Some("beta=false"));
    assert_eq!(up.path, "/v1/messages");
}

#[test]
fn vertex_moves_the_model_into_the_url_and_adds_its_version() {
    for name in REQUESTS {
        let raw = fixture(name);
        let up = SITES[1].request(&raw);
        let mut want = json(&raw);
        let obj = want.as_object_mut().expect("object");
        assert_eq!(obj.remove("model"), Some(json!(CLIENT_MODEL)));
        obj.insert("anthropic_version".into(), json!("vertex-2023-10-16"));
        assert_json_eq(name, &json(&up.body), &want);
        assert_untouched_members(name, &raw, &up.body, &["model"]);
        assert_eq!(
            up.path,
            "/v1/projects/my-project/locations/us-east5/publishers/anthropic/models/\
             claude-opus-5-5@20260101:streamRawPredict",
            "{name}"
        );
        // Only the betas Vertex serves, under its names (front/messages/betas.rs).
        assert_eq!(
            owned(&up.headers),
            [(
                "anthropic-beta",
                "interleaved-thinking-2025-05-14,context-management-2025-06-27,\
                 per-turn-control-2026-07-01,tool-search-tool-2025-10-19"
                    .to_string()
            )],
            "{name}"
        );
    }
}

#[test]
fn bedrock_moves_model_and_stream_out_and_the_betas_in() {
    for name in REQUESTS {
        let raw = fixture(name);
        let up = SITES[2].request(&raw);
        let mut want = json(&raw);
        let obj = want.as_object_mut().expect("object");
        assert_eq!(obj.remove("model"), Some(json!(CLIENT_MODEL)));
        assert_eq!(obj.remove("stream"), Some(json!(true)));
        obj.insert("anthropic_version".into(), json!("bedrock-2023-05-31"));
        // Only the betas Bedrock serves, under its names (front/messages/betas.rs): Claude
        // Code's first-party ones (`claude-code-20250219`, ...) would be refused.
        obj.insert(
            "anthropic_beta".into(),
            json!([
                "context-management-2025-06-27",
                "mid-conversation-tool-changes-2026-07-01",
                "tool-search-tool-2025-10-19",
                "effort-2025-11-24"
            ]),
        );
        assert_json_eq(name, &json(&up.body), &want);
        assert_untouched_members(name, &raw, &up.body, &["model", "stream"]);
        assert_eq!(
            up.path, "/model/us.anthropic.claude-opus-5-5-v1%3A0/invoke-with-response-stream",
            "{name}"
        );
        assert!(up.headers.is_empty(), "{name}: {:?}", up.headers);
    }
}

#[test]
fn unstreamed_requests_call_the_unstreamed_apis() {
    let mut v = json(&fixture("tool_result_request.raw.json"));
    v["stream"] = json!(false);
    let raw = serde_json::to_vec(&v).expect("JSON");
    let vertex = SITES[1].request(&raw);
    assert!(vertex
        .path
        .ends_with("/models/claude-opus-5-5@20260101:rawPredict"));
    assert_eq!(json(&vertex.body)["stream"], json!(false));
    let bedrock = SITES[2].request(&raw);
    assert_eq!(
        bedrock.path,
        "/model/us.anthropic.claude-opus-5-5-v1%3A0/invoke"
    );
    assert!(json(&bedrock.body).get("stream").is_none());
    // No `stream` at all is a whole answer too.
    v.as_object_mut().expect("object").remove("stream");
    let raw = serde_json::to_vec(&v).expect("JSON");
    assert!(SITES[2].request(&raw).path.ends_with("/invoke"));
}

#[test]
fn a_version_or_beta_list_the_body_names_is_kept() {
    let mut v = json(&fixture("first_request.raw.json"));
    v["anthropic_version"] = json!("vertex-2099-01-01");
    v["anthropic_beta"] = json!(["only-this-2099-01-01"]);
    let raw = serde_json::to_vec(&v).expect("JSON");
    let vertex = json(&SITES[1].request(&raw).body);
    assert_eq!(vertex["anthropic_version"], "vertex-2099-01-01");
    let bedrock = json(&SITES[2].request(&raw).body);
    assert_eq!(bedrock["anthropic_version"], "vertex-2099-01-01");
    assert_eq!(bedrock["anthropic_beta"], json!(["only-this-2099-01-01"]));
}
