//! The embeddings flow (`.../embeddings`): read, translate for the route's backend, call,
//! translate back; usage recorded like chat's (estimated where the provider reports none).

use pingora::proxy::Session;
use sluice_providers::embeddings::{self, EmbeddingsRequest};
use sluice_providers::{ProviderKind, RequestTarget, TranslateError};
use sluice_telemetry::LlmFacts;

use crate::config::Route;
use crate::proxy::body::read_post;
use crate::proxy::llm::admit::admit;
use crate::proxy::respond;
use crate::proxy::whole::{exchange, Answered};
use crate::proxy::{LlmProxy, RequestCtx};
use sluice_providers::Front;

fn status_of(e: &TranslateError) -> u16 {
    match e {
        TranslateError::InvalidResponse(_) | TranslateError::LineTooLong(_) => 502,
        _ => 400,
    }
}

pub async fn handle(proxy: &LlmProxy, session: &mut Session, ctx: &mut RequestCtx, route: &Route) {
    let format = Front::Chat;
    let Some(body) = read_post(session, ctx, format, "embeddings").await else {
        return;
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
    // Keys, limits and budgets hold for embeddings as for generation: they are billed.
    let estimate = || req.estimate_tokens();
    if !admit(proxy, session, ctx, route, format, &req.model, estimate).await {
        return;
    }
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
        ctx.called_model.clone_from(&model);
        crate::proxy::llm::facts::price(ctx);
        respond::json(session, ctx, 200, out, &[]).await;
    }
}

/// Translates for `backend`, calls it, and translates its answer back.
async fn call(
    proxy: &LlmProxy,
    session: &mut Session,
    ctx: &mut RequestCtx,
    backend: &crate::config::Backend,
    req: &EmbeddingsRequest,
    model: &str,
) -> Result<(Vec<u8>, sluice_providers::Usage), Answered> {
    let format = Front::Chat;
    let make = |site: Option<&str>| {
        let target = RequestTarget {
            model,
            api_version: backend.api_version.as_deref(),
            vertex: backend.vertex_site(site),
            ..RequestTarget::default()
        };
        backend
            .provider
            .translate_embeddings_request(req, &target)
            .map(std::borrow::Cow::Owned)
    };
    let whole = exchange(proxy, session, ctx, backend, format, "POST", &make).await?;
    if !(200..300).contains(&whole.status) {
        let status = whole.status;
        ctx.error = Some(format!("upstream returned status {status}"));
        let out = backend.provider.translate_error(status, &whole.body);
        let extra: Vec<(&'static str, String)> = whole
            .retry_after
            .map(|r| ("retry-after", r))
            .into_iter()
            .collect();
        respond::json(session, ctx, status, out, &extra).await;
        return Err(Answered);
    }
    let answer = backend
        .provider
        .translate_embeddings_response(&whole.body, req, model);
    match answer {
        Ok(answer) => Ok(answer),
        Err(e) => {
            let status = status_of(&e).max(502);
            respond::error(session, ctx, format, status, &e.to_string()).await;
            Err(Answered)
        }
    }
}
