//! Responses requests passed natively to the providers that serve the Responses API: OpenAI,
//! Azure OpenAI and the OpenAI-compatible presets that serve it (all but Mistral and DeepSeek,
//! see [`crate::Preset::serves_responses`]). Every field passes (`store`,
//! `previous_response_id`, `include`, `reasoning`, encrypted reasoning items,
//! `prompt_cache_key`, built-in tools); the body is not parsed beyond its top-level members,
//! and only these edits are made:
//!
//! - `model` is set to the model called when the backend pins one or the route aliases it
//!   (on Azure, the model called is the deployment);
//! - the path: `/v1/responses` on OpenAI, `/openai/v1/responses` (Azure's v1 API, which takes
//!   the deployment as `model`) on Azure, `/v1/responses` beside a preset's chat completions.
//!
//! Answers, streams and errors reach the client as the provider sent them (usage is in every
//! Responses stream's `response.completed`, so nothing is asked for on the client's behalf).
//! The stored-response calls (`GET`/`DELETE .../responses/{id}`, `.../input_items`,
//! `POST .../responses/input_tokens`) pass to the same paths ([`stored_path`]).

use crate::edit::{self, TopLevel};
use crate::{ProviderKind, RequestTarget, TranslateError, UpstreamRequest};

/// The client's headers that reach a provider speaking Responses natively.
pub const FORWARDED_HEADERS: &[&str] = &["openai-beta"];

/// The Responses API root on a provider that serves it, or `None` for one that does not.
/// `input_tokens` is OpenAI's and Azure's only ([`counts_input_tokens`]).
pub fn api_root(provider: ProviderKind) -> Option<&'static str> {
    match provider {
        ProviderKind::OpenAi => Some("/v1/responses"),
        ProviderKind::Azure => Some("/openai/v1/responses"),
        ProviderKind::Compatible(p) if p.serves_responses() => Some("/v1/responses"),
        _ => None,
    }
}

/// Whether the provider counts a Responses request's input tokens
/// (`/v1/responses/input_tokens`); elsewhere sluice estimates them.
pub fn counts_input_tokens(provider: ProviderKind) -> bool {
    matches!(provider, ProviderKind::OpenAi | ProviderKind::Azure)
}

/// The upstream request: the client's body with the edits of the module docs.
pub fn request(
    provider: ProviderKind,
    body: &[u8],
    client_model: &str,
    target: &RequestTarget<'_>,
) -> Result<UpstreamRequest, TranslateError> {
    let Some(root) = api_root(provider) else {
        return Err(TranslateError::Unsupported(format!(
            "{provider} does not serve the Responses API"
        )));
    };
    if provider == ProviderKind::Azure {
        crate::registry::azure_deployment(target.model)?;
    }
    if target.model == client_model {
        // Nothing to edit: the body was read once already (its facts), not again.
        return Ok(UpstreamRequest::new(root.to_string(), body.to_vec()));
    }
    let mut top = TopLevel::parse(body)?;
    top.set("model", &target.model);
    Ok(UpstreamRequest::new(
        root.to_string(),
        edit::finish(&top, body),
    ))
}

/// The path of a stored-response call: `rest` is what follows `.../responses/` in the
/// client's path (`{id}`, `{id}/input_items`, `{id}/cancel`, `input_tokens`), `query` the
/// client's query (pagination of `input_items`, `include[]`), passed on.
pub fn stored_path(
    provider: ProviderKind,
    rest: &str,
    query: Option<&str>,
) -> Result<String, TranslateError> {
    let Some(root) = api_root(provider) else {
        return Err(TranslateError::Unsupported(format!(
            "{provider} does not store responses"
        )));
    };
    let mut segments = rest.trim_matches('/').split('/');
    let id = segments.next().unwrap_or_default();
    let tail = segments.next();
    let valid_id = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b));
    let valid_tail = matches!(tail, None | Some("input_items" | "cancel"));
    if !valid_id || !valid_tail || segments.next().is_some() {
        return Err(TranslateError::InvalidRequest(format!(
            "responses/{rest}: not a Responses API call"
        )));
    }
    let mut path = format!("{root}/{}", rest.trim_matches('/'));
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        path.push('?');
        path.push_str(q);
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const CODEX_LIKE: &str = r#"{"model":"gpt-5-codex","instructions":"You are Codex.","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"hi"}]},{"type":"reasoning","summary":[],"encrypted_content":"gAAAAB"}],"tools":[{"type":"function","name":"shell","parameters":{"type":"object"}},{"type":"web_search"}],"store":false,"stream":true,"include":["reasoning.encrypted_content"],"prompt_cache_key":"k1","previous_response_id":null}"#;

    #[test]
    fn every_field_passes_and_only_the_model_is_set() {
        let target = RequestTarget {
            model: "gpt-5-codex",
            ..RequestTarget::default()
        };
        let up = request(
            ProviderKind::OpenAi,
            CODEX_LIKE.as_bytes(),
            "gpt-5-codex",
            &target,
        )
        .unwrap();
        assert_eq!(up.path, "/v1/responses");
        assert_eq!(up.body, CODEX_LIKE.as_bytes());
        let pinned = RequestTarget {
            model: "gpt-5.1",
            ..RequestTarget::default()
        };
        let up = request(
            ProviderKind::OpenAi,
            CODEX_LIKE.as_bytes(),
            "gpt-5-codex",
            &pinned,
        )
        .unwrap();
        let mut sent: Value = serde_json::from_slice(&up.body).unwrap();
        let mut want: Value = serde_json::from_str(CODEX_LIKE).unwrap();
        assert_eq!(sent["model"], "gpt-5.1");
        sent["model"] = Value::Null;
        want["model"] = Value::Null;
        assert_eq!(sent, want);
        let azure = RequestTarget {
            model: "my-deployment",
            ..RequestTarget::default()
        };
        let up = request(
            ProviderKind::Azure,
            CODEX_LIKE.as_bytes(),
            "gpt-5-codex",
            &azure,
        )
        .unwrap();
        assert_eq!(up.path, "/openai/v1/responses");
        let bad = RequestTarget {
            model: "../x",
            ..RequestTarget::default()
        };
        assert!(request(ProviderKind::Azure, b"{}", "m", &bad).is_err());
        assert!(request(ProviderKind::Anthropic, b"{}", "m", &target).is_err());
    }

    #[test]
    fn stored_calls_keep_to_the_responses_api() {
        let p = |rest, q| stored_path(ProviderKind::OpenAi, rest, q);
        assert_eq!(p("resp_abc123", None).unwrap(), "/v1/responses/resp_abc123");
        assert_eq!(
            p("resp_1/input_items", Some("limit=5&order=asc")).unwrap(),
            "/v1/responses/resp_1/input_items?limit=5&order=asc"
        );
        assert_eq!(
            stored_path(ProviderKind::Azure, "input_tokens", None).unwrap(),
            "/openai/v1/responses/input_tokens"
        );
        assert!(p("../../files", None).is_err());
        assert!(p("resp_1/../x", None).is_err());
        assert!(p("resp_1/input_items/more", None).is_err());
        assert!(stored_path(ProviderKind::Gemini, "resp_1", None).is_err());
    }
}
