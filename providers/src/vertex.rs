//! Vertex AI: Gemini and Anthropic models served from a Google Cloud project. The bodies are
//! the Gemini and Anthropic ones (translated by those modules); Vertex differs in the URL
//! (`/v1/projects/{project}/locations/{location}/publishers/{google|anthropic}/models/...`),
//! in Anthropic's `anthropic_version` moving into the body (and `model` out of it), and in
//! OAuth bearer tokens instead of API keys (the gateway's concern).

use serde_json::Value;

use crate::openai::ChatRequest;
use crate::{anthropic, gemini, RequestTarget, TranslateError, UpstreamRequest, VertexSite};

/// The `anthropic_version` Vertex expects in Anthropic bodies.
pub const ANTHROPIC_VERTEX_VERSION: &str = "vertex-2023-10-16";

/// Which publisher serves `model` on Vertex: Anthropic's Claude models, else Google's.
pub fn is_anthropic_model(model: &str) -> bool {
    model.starts_with("claude")
}

/// The API host of a location (`global` has no regional prefix).
pub fn base_url(location: &str) -> String {
    if location == "global" {
        "https://aiplatform.googleapis.com".to_string()
    } else {
        format!("https://{location}-aiplatform.googleapis.com")
    }
}

fn model_path(
    site: &VertexSite<'_>,
    publisher: &str,
    model: &str,
) -> Result<String, TranslateError> {
    let ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b))
    };
    if !ok(model) {
        return Err(TranslateError::InvalidRequest(format!(
            "invalid model name \"{model}\""
        )));
    }
    Ok(format!(
        "/v1/projects/{}/locations/{}/publishers/{publisher}/models/{model}",
        site.project, site.location
    ))
}

/// The path of a Claude model's `:rawPredict` (or, streamed, `:streamRawPredict`) call.
pub fn claude_path(target: &RequestTarget<'_>, stream: bool) -> Result<String, TranslateError> {
    let Some(site) = target.vertex else {
        return Err(TranslateError::Unsupported(
            "a vertex backend needs a project and a location".to_string(),
        ));
    };
    let verb = if stream {
        "streamRawPredict"
    } else {
        "rawPredict"
    };
    Ok(format!(
        "{}:{verb}",
        model_path(&site, "anthropic", target.model)?
    ))
}

/// The path of a Gemini model on Vertex (its methods follow a `:`).
pub(crate) fn gemini_model_path(target: &RequestTarget<'_>) -> Result<String, TranslateError> {
    let Some(site) = target.vertex else {
        return Err(TranslateError::Unsupported(
            "a vertex backend needs a project and a location".to_string(),
        ));
    };
    model_path(&site, "google", target.model)
}

pub fn translate_request(
    req: &ChatRequest,
    target: &RequestTarget<'_>,
) -> Result<UpstreamRequest, TranslateError> {
    if is_anthropic_model(target.model) {
        let up = anthropic::translate_request(req, target)?;
        let mut body: Value = serde_json::from_slice(&up.body)
            .map_err(|e| TranslateError::InvalidRequest(e.to_string()))?;
        if let Some(obj) = body.as_object_mut() {
            obj.remove("model");
            obj.insert(
                "anthropic_version".to_string(),
                ANTHROPIC_VERTEX_VERSION.into(),
            );
        }
        Ok(UpstreamRequest::new(
            claude_path(target, req.stream)?,
            body.to_string().into_bytes(),
        ))
    } else {
        let up = gemini::translate_request(req, target)?;
        let verb = if req.stream {
            "streamGenerateContent?alt=sse"
        } else {
            "generateContent"
        };
        Ok(UpstreamRequest::new(
            format!("{}:{verb}", gemini_model_path(target)?),
            up.body,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(model: &str) -> RequestTarget<'_> {
        RequestTarget {
            model,
            vertex: Some(VertexSite {
                project: "my-proj",
                location: "us-east5",
            }),
            ..RequestTarget::default()
        }
    }

    #[test]
    fn gemini_models_go_to_google_publisher() {
        let req =
            ChatRequest::parse(br#"{"stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
                .unwrap();
        let up = translate_request(&req, &target("gemini-2.0-flash")).unwrap();
        assert_eq!(
            up.path,
            "/v1/projects/my-proj/locations/us-east5/publishers/google/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
        );
        let body: Value = serde_json::from_slice(&up.body).unwrap();
        assert_eq!(body["contents"][0]["parts"][0]["text"], "hi");
    }

    #[test]
    fn claude_models_go_to_anthropic_publisher_with_vertex_version() {
        let req = ChatRequest::parse(br#"{"messages":[{"role":"user","content":"hi"}]}"#).unwrap();
        let up = translate_request(&req, &target("claude-sonnet-4@20250514")).unwrap();
        assert_eq!(
            up.path,
            "/v1/projects/my-proj/locations/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514:rawPredict"
        );
        let body: Value = serde_json::from_slice(&up.body).unwrap();
        assert_eq!(body["anthropic_version"], ANTHROPIC_VERTEX_VERSION);
        assert!(body.get("model").is_none());
        assert_eq!(body["max_tokens"], anthropic::DEFAULT_MAX_TOKENS);
        assert_eq!(base_url("global"), "https://aiplatform.googleapis.com");
        assert_eq!(
            base_url("us-east5"),
            "https://us-east5-aiplatform.googleapis.com"
        );
    }

    /// Claude on Vertex takes the same body as Anthropic: cache breakpoints, thinking and the
    /// output config reach it.
    #[test]
    fn claude_bodies_keep_cache_control_and_thinking() {
        let req = ChatRequest::parse(
            br#"{"reasoning_effort":"high","messages":[
                {"role":"system","content":[{"type":"text","text":"rules","cache_control":{"type":"ephemeral"}}]},
                {"role":"user","content":[{"type":"text","text":"long doc","cache_control":{"type":"ephemeral","ttl":"1h"}}]}],
              "tools":[{"type":"function","function":{"name":"f"},"cache_control":{"type":"ephemeral"}}]}"#,
        )
        .unwrap();
        let up = translate_request(&req, &target("claude-opus-4-6@20260201")).unwrap();
        let body: Value = serde_json::from_slice(&up.body).unwrap();
        assert_eq!(
            body["system"],
            serde_json::json!([{"type":"text","text":"rules","cache_control":{"type":"ephemeral"}}])
        );
        assert_eq!(
            body["messages"][0]["content"][0]["cache_control"],
            serde_json::json!({"type":"ephemeral","ttl":"1h"})
        );
        assert_eq!(
            body["tools"][0]["cache_control"],
            serde_json::json!({"type":"ephemeral"})
        );
        assert_eq!(body["thinking"], serde_json::json!({"type":"adaptive"}));
        assert_eq!(body["output_config"], serde_json::json!({"effort":"high"}));
        assert_eq!(body["anthropic_version"], ANTHROPIC_VERTEX_VERSION);
        assert!(body.get("model").is_none());
    }

    #[test]
    fn model_names_cannot_escape_the_path() {
        let req = ChatRequest::parse(br#"{"messages":[{"role":"user","content":"hi"}]}"#).unwrap();
        assert!(translate_request(&req, &target("gemini/../x")).is_err());
    }
}
