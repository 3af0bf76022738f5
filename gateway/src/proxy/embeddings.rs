//! The embeddings flow (`.../embeddings`): read, translate for the route's backend, call,
//! translate back; usage recorded like chat's (estimated where the provider reports none).

use std::time::Instant;

use pingora::proxy::Session;
use sluice_providers::embeddings::{self, EmbeddingsRequest};
use sluice_providers::{ProviderKind, RequestTarget, TranslateError};
use sluice_telemetry::LlmFacts;

use crate::balance::{Pick, Tried};
use crate::config::Route;
use crate::proxy::body::read_body_within;
use crate::proxy::header::upstream_header;
use crate::proxy::respond;
use crate::proxy::upstream;
use crate::proxy::{LlmProxy, RequestCtx};
use sluice_providers::Front;

const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

fn status_of(e: &TranslateError) -> u16 {
    match e {
        TranslateError::InvalidResponse(_) | TranslateError::LineTooLong(_) => 502,
        _ => 400,
    }
}

pub async fn handle(proxy: &LlmProxy, session: &mut Session, ctx: &mut RequestCtx, route: &Route) {
    let format = Front::Chat;
    if session.req_header().method != http::Method::POST {
        respond::error(session, ctx, format, 405, "embeddings take POST").await;
        return;
    }
    let config = &ctx.generation.config;
    let (limit, read_timeout) = (config.max_request_body_bytes, config.request_read_timeout);
    let body = match read_body_within(session, limit, read_timeout).await {
        Ok(b) => b,
        Err((status, msg)) => return respond::error(session, ctx, format, status, &msg).await,
    };
    let req = match EmbeddingsRequest::parse(&body) {
        Ok(r) => r,
        Err(e) => return respond::error(session, ctx, format, 400, &e.to_string()).await,
    };
    let backend = route.backends[0].clone();
    let model = route.model_for(&backend, &req.model);
    ctx.llm = Some(LlmFacts {
        provider: backend.provider.name().to_string(),
        request_model: req.model.clone(),
        ..LlmFacts::default()
    });
    let answer = if backend.provider == ProviderKind::Mock {
        match embeddings::mock_response(&req, &model) {
            Ok(a) => Ok(a),
            Err(e) => {
                respond::error(session, ctx, format, status_of(&e), &e.to_string()).await;
                Err(Answered)
            }
        }
    } else {
        call(proxy, session, ctx, &backend, &req, &model).await
    };
    // On Err the client has its error already.
    if let Ok((out, usage)) = answer {
        if let Some(llm) = ctx.llm.as_mut() {
            llm.response_model = Some(model.clone());
            llm.input_tokens = usage.input_tokens;
            llm.output_tokens = usage.output_tokens;
            llm.total_tokens = usage.total();
            llm.usage_estimated = usage.estimated;
        }
        respond::json(session, ctx, 200, out, &[]).await;
    }
}

/// The request was answered already (an error written to the client).
struct Answered;

async fn call(
    proxy: &LlmProxy,
    session: &mut Session,
    ctx: &mut RequestCtx,
    backend: &crate::config::Backend,
    req: &EmbeddingsRequest,
    model: &str,
) -> Result<(Vec<u8>, sluice_providers::Usage), Answered> {
    let mut tried = Tried::default();
    loop {
        // `None`: that target failed and another of the backend takes the call.
        if let Some(outcome) =
            call_target(proxy, session, ctx, backend, req, model, &mut tried).await
        {
            return outcome;
        }
    }
}

/// Calls the backend (one of its targets outside `tried`, when balanced); `None` when the
/// target failed before answering and another target of the backend is left.
async fn call_target(
    proxy: &LlmProxy,
    session: &mut Session,
    ctx: &mut RequestCtx,
    backend: &crate::config::Backend,
    req: &EmbeddingsRequest,
    model: &str,
    tried: &mut Tried,
) -> Option<Result<(Vec<u8>, sluice_providers::Usage), Answered>> {
    let format = Front::Chat;
    let fail = |e: TranslateError| (status_of(&e), e.to_string());
    let target = RequestTarget {
        model,
        api_version: backend.api_version.as_deref(),
        vertex: backend.vertex_site(),
        ..RequestTarget::default()
    };
    let Some(upstream) = backend.upstream.as_ref() else {
        respond::error(session, ctx, format, 500, "backend has no upstream").await;
        return Some(Err(Answered));
    };
    let Pick {
        mut lease,
        upstream,
        api_key,
        endpoint,
        spare,
    } = match crate::balance::pick(backend, upstream, tried) {
        Ok(p) => p,
        Err(reason) => {
            respond::error(session, ctx, format, 503, &reason).await;
            return Some(Err(Answered));
        }
    };
    let translated = match backend.provider.translate_embeddings_request(req, &target) {
        Ok(t) => t,
        Err(e) => {
            let (status, msg) = fail(e);
            respond::error(session, ctx, format, status, &msg).await;
            return Some(Err(Answered));
        }
    };
    ctx.endpoint = endpoint.to_string();
    let header = match upstream_header(session, ctx, backend, upstream, api_key, &translated).await
    {
        Ok(h) => h,
        Err(msg) => {
            respond::error(session, ctx, format, 500, &msg).await;
            return Some(Err(Answered));
        }
    };
    let state = &proxy.state;
    let asked = Instant::now();
    let call = upstream::call(
        &state.connector,
        &state.dns,
        backend,
        upstream,
        &header,
        &translated.body,
    )
    .await;
    ctx.waited_since(asked);
    if let (Some(lease), Err(_)) = (lease.as_mut(), &call) {
        lease.failed(&state.metrics);
    }
    let mut call = match call {
        Ok(c) => c,
        Err(_) if spare => return None,
        Err(e) => {
            respond::error(session, ctx, format, e.status(), e.message()).await;
            return Some(Err(Answered));
        }
    };
    let status = call.status();
    if let Some(lease) = lease.as_mut() {
        lease.answered(status, &state.metrics);
    }
    if spare && (status == 429 || status >= 500) {
        call.release(&state.connector).await;
        return None;
    }
    let reading = Instant::now();
    let read = call.read_all(MAX_RESPONSE_BYTES).await;
    ctx.waited_since(reading);
    let retry_after = call.header("retry-after");
    call.release(&state.connector).await;
    let body = match read {
        Ok(b) => b,
        Err(e) => {
            respond::error(session, ctx, format, e.status(), e.message()).await;
            return Some(Err(Answered));
        }
    };
    if !(200..300).contains(&status) {
        ctx.error = Some(format!("upstream returned status {status}"));
        let out = backend.provider.translate_error(status, &body);
        let extra: Vec<(&'static str, String)> = retry_after
            .map(|r| ("retry-after", r))
            .into_iter()
            .collect();
        respond::json(session, ctx, status, out, &extra).await;
        return Some(Err(Answered));
    }
    let answer = backend
        .provider
        .translate_embeddings_response(&body, req, model);
    Some(match answer {
        Ok(answer) => Ok(answer),
        Err(e) => {
            let (status, msg) = fail(e);
            respond::error(session, ctx, format, status.max(502), &msg).await;
            Err(Answered)
        }
    })
}
