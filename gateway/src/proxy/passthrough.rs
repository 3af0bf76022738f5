//! The calls of the front doors that generate nothing and pass to the provider as they came
//! when it speaks the client's API: token counts (`messages/count_tokens`,
//! `responses/input_tokens`, Gemini's `:countTokens`) and the Responses API's stored-response
//! calls (`GET`/`DELETE .../responses/{id}`, `.../input_items`, `POST .../{id}/cancel`).
//! Token counts toward a provider that cannot count them are estimated by the gateway
//! ([`sluice_providers::front::count`]); a stored-response call toward a route with no
//! OpenAI or Azure backend is a 400 that says why.

use std::borrow::Cow;

use pingora::proxy::Session;
use sluice_providers::front::gemini::{GeminiCall, GeminiSite};
use sluice_providers::front::{count, responses};
use sluice_providers::{Front, ProviderKind, RequestTarget, TranslateError, UpstreamRequest};
use sluice_telemetry::LlmFacts;

use crate::config::{Backend, Route};
use crate::proxy::body::{read_for, read_post};
use crate::proxy::respond;
use crate::proxy::whole::{exchange, MakeRequest};
use crate::proxy::{LlmProxy, RequestCtx};

/// A token-count call: natively when the route's first backend speaks the client's API and
/// can count (OpenAI and Azure for Responses, Gemini and Vertex Gemini models for Gemini),
/// else estimated by the gateway.
pub async fn count_tokens(
    proxy: &LlmProxy,
    session: &mut Session,
    ctx: &mut RequestCtx,
    route: &Route,
    front: Front,
) {
    let Some(body) = read_post(session, ctx, front, "token counting").await else {
        return;
    };
    let backend = &route.backends[0];
    let uri = session.req_header().uri.clone();
    let native = match native_count(&uri, route, backend, front, &body, None) {
        Ok(n) => n,
        Err(e) => {
            respond::error(session, ctx, front, 400, &e.to_string()).await;
            return;
        }
    };
    let Some(upstream_request) = native else {
        match count::estimate_input(front, &body) {
            Ok(answer) => respond::json(session, ctx, 200, answer, &[]).await,
            Err(e) => respond::error(session, ctx, front, 400, &e.to_string()).await,
        }
        return;
    };
    note_provider(ctx, backend);
    // A balanced vertex target in a location of its own gets the count at that location.
    let make = |site: Option<&str>| match site {
        None => Ok(Cow::Borrowed(&upstream_request)),
        Some(_) => native_count(&uri, route, backend, front, &body, site)?
            .map(Cow::Owned)
            .ok_or_else(|| TranslateError::Unsupported("no native token count".to_string())),
    };
    relay(proxy, session, ctx, backend, front, "POST", &make).await;
}

/// The native count request (for a target with its own `location`, else the backend's), when
/// the route's first backend can take it.
fn native_count(
    uri: &http::Uri,
    route: &Route,
    backend: &Backend,
    front: Front,
    body: &[u8],
    location: Option<&str>,
) -> Result<Option<UpstreamRequest>, TranslateError> {
    if backend.upstream.is_none() {
        return Ok(None);
    }
    match front {
        Front::Responses if responses::native::counts_input_tokens(backend.provider) => {
            let path = responses::native::stored_path(backend.provider, "input_tokens", None)?;
            Ok(Some(UpstreamRequest::new(path, body.to_vec())))
        }
        Front::Gemini => {
            let Some(call) = GeminiCall::parse(uri.path(), uri.query()) else {
                return Ok(None);
            };
            let model = route.model_for(backend, &call.model);
            let site = match backend.provider {
                ProviderKind::Gemini => GeminiSite::Gemini,
                ProviderKind::Vertex if !sluice_providers::vertex::is_anthropic_model(&model) => {
                    GeminiSite::Vertex
                }
                _ => return Ok(None),
            };
            let target = RequestTarget {
                model: &model,
                api_version: backend.api_version.as_deref(),
                vertex: backend.vertex_site(location),
                ..RequestTarget::default()
            };
            site.request(body, &call, &target).map(Some)
        }
        _ => Ok(None),
    }
}

/// A stored-response call of the Responses API, to the route's first backend that serves the
/// API (OpenAI, Azure, a preset that serves it).
pub async fn stored_response(
    proxy: &LlmProxy,
    session: &mut Session,
    ctx: &mut RequestCtx,
    route: &Route,
    rest: &str,
) {
    let front = Front::Responses;
    let method = session.req_header().method.clone();
    if ![http::Method::GET, http::Method::DELETE, http::Method::POST].contains(&method) {
        let msg = format!("{method} is not a Responses API method");
        respond::error(session, ctx, front, 405, &msg).await;
        return;
    }
    let stores = |b: &&std::sync::Arc<Backend>| {
        b.upstream.is_some() && responses::native::api_root(b.provider).is_some()
    };
    let Some(backend) = route.backends.iter().find(stores) else {
        let providers: Vec<&str> = route.backends.iter().map(|b| b.provider.name()).collect();
        let msg = format!(
            "route {} cannot serve stored responses: only backends that serve the Responses API \
             (openai, azure, most presets) store them, and its backends are {}; send the whole \
             conversation in `input` (with `store: false`) instead of `previous_response_id`",
            route.name,
            providers.join(", ")
        );
        respond::error(session, ctx, front, 400, &msg).await;
        return;
    };
    let after = rest.split_once("responses/").map_or("", |(_, a)| a);
    let query = session.req_header().uri.query().map(str::to_string);
    let path = match responses::native::stored_path(backend.provider, after, query.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            respond::error(session, ctx, front, 404, &e.to_string()).await;
            return;
        }
    };
    let body = if method == http::Method::POST {
        match read_for(session, ctx, front).await {
            Some(b) => b,
            None => return,
        }
    } else {
        Vec::new()
    };
    note_provider(ctx, backend);
    let request = UpstreamRequest::new(path, body);
    // OpenAI and Azure targets: no site of their own.
    let make = |_: Option<&str>| Ok(Cow::Borrowed(&request));
    relay(proxy, session, ctx, backend, front, method.as_str(), &make).await;
}

/// `GET /v1/models` of an OpenAI-shaped provider, its answer as it came.
pub async fn list_models(
    proxy: &LlmProxy,
    session: &mut Session,
    ctx: &mut RequestCtx,
    backend: &Backend,
) {
    note_provider(ctx, backend);
    let request = UpstreamRequest::new("/v1/models".to_string(), Vec::new());
    let make = |_: Option<&str>| Ok(Cow::Borrowed(&request));
    relay(proxy, session, ctx, backend, Front::Chat, "GET", &make).await;
}

/// The log line and span name the provider called.
fn note_provider(ctx: &mut RequestCtx, backend: &Backend) {
    ctx.llm = Some(LlmFacts {
        provider: backend.provider.name().to_string(),
        ..LlmFacts::default()
    });
}

/// Calls `backend` and relays its answer as it came (an error in another shape than the
/// client's is put in the client's).
async fn relay(
    proxy: &LlmProxy,
    session: &mut Session,
    ctx: &mut RequestCtx,
    backend: &Backend,
    front: Front,
    method: &str,
    make: &MakeRequest<'_>,
) {
    let Ok(whole) = exchange(proxy, session, ctx, backend, front, method, make).await else {
        return;
    };
    let mut extra = Vec::new();
    let body = if (200..300).contains(&whole.status) {
        whole.body
    } else {
        ctx.error = Some(format!("upstream returned status {}", whole.status));
        if let Some(r) = whole.retry_after {
            extra.push(("retry-after", r));
        }
        match front {
            Front::Gemini => GeminiSite::Gemini.error(whole.status, &whole.body),
            _ => sluice_providers::openai::translate_error(whole.status, &whole.body),
        }
    };
    respond::json(session, ctx, whole.status, body, &extra).await;
}
