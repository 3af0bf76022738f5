//! One whole exchange with one backend: the upstream request sent, the answer read to its end
//! and the connection pooled again, for the calls that relay nothing as it comes (embeddings,
//! token counts, stored responses). A balanced backend's failed target gives way to another.

use std::borrow::Cow;
use std::time::Instant;

use pingora::proxy::Session;
use sluice_providers::{Front, TranslateError, UpstreamRequest};

use crate::auth::Credentials;
use crate::balance::{Pick, Tried};
use crate::config::Backend;
use crate::proxy::header::upstream_header;
use crate::proxy::respond;
use crate::proxy::upstream;
use crate::proxy::{LlmProxy, RequestCtx};

/// Largest answer read whole here.
const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

/// The request was answered already (an error written to the client in `front`'s shape).
pub(crate) struct Answered;

/// Makes the upstream request for the target picked, given the target's own region or
/// location (`None`: the backend's), or lends one made already; a request that cannot be
/// made is the client's 400.
pub(crate) type MakeRequest<'m> =
    dyn Fn(Option<&str>) -> Result<Cow<'m, UpstreamRequest>, TranslateError> + Send + Sync + 'm;

/// An upstream's whole answer.
pub(crate) struct Whole {
    pub status: u16,
    pub body: Vec<u8>,
    pub retry_after: Option<String>,
}

/// Calls `backend` with the request `make` makes for the target picked (balanced backends:
/// each target in turn while one fails before answering), and reads the answer whole.
pub(crate) async fn exchange(
    proxy: &LlmProxy,
    session: &mut Session,
    ctx: &mut RequestCtx,
    backend: &Backend,
    front: Front,
    method: &str,
    make: &MakeRequest<'_>,
) -> Result<Whole, Answered> {
    let mut tried = Tried::default();
    loop {
        // `None`: that target failed and another of the backend takes the call.
        let outcome = exchange_target(
            proxy, session, ctx, backend, front, method, make, &mut tried,
        );
        if let Some(outcome) = outcome.await {
            return outcome;
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn exchange_target(
    proxy: &LlmProxy,
    session: &mut Session,
    ctx: &mut RequestCtx,
    backend: &Backend,
    front: Front,
    method: &str,
    make: &MakeRequest<'_>,
    tried: &mut Tried,
) -> Option<Result<Whole, Answered>> {
    let Some(upstream) = backend.upstream.as_ref() else {
        respond::error(session, ctx, front, 500, "backend has no upstream").await;
        return Some(Err(Answered));
    };
    let Pick {
        mut lease,
        upstream,
        api_key,
        site,
        endpoint,
        spare,
    } = match crate::balance::pick(backend, upstream, tried) {
        Ok(p) => p,
        Err(reason) => {
            respond::error(session, ctx, front, 503, &reason).await;
            return Some(Err(Answered));
        }
    };
    let translated = match make(site) {
        Ok(t) => t,
        Err(e) => {
            respond::error(session, ctx, front, 400, &e.to_string()).await;
            return Some(Err(Answered));
        }
    };
    let translated = &*translated;
    ctx.endpoint = endpoint.to_string();
    let creds = Credentials::of(backend, api_key, site);
    let header = upstream_header(session, ctx, creds, upstream, method, translated);
    let header = match header.await {
        Ok(h) => h,
        Err(e) => {
            e.count(&proxy.state.metrics, &backend.name);
            respond::error(session, ctx, front, e.status(), e.message()).await;
            return Some(Err(Answered));
        }
    };
    let state = &proxy.state;
    let asked = Instant::now();
    let body = &translated.body;
    let call = upstream::call(
        &state.connector,
        &state.dns,
        backend,
        upstream,
        &header,
        body,
    );
    let call = call.await;
    ctx.waited_since(asked);
    if let (Some(lease), Err(_)) = (lease.as_mut(), &call) {
        lease.failed(&state.metrics);
    }
    let mut call = match call {
        Ok(c) => c,
        Err(_) if spare => return None,
        Err(e) => {
            respond::error(session, ctx, front, e.status(), e.message()).await;
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
    Some(match read {
        Ok(body) => Ok(Whole {
            status,
            body,
            retry_after,
        }),
        Err(e) => {
            respond::error(session, ctx, front, e.status(), e.message()).await;
            Err(Answered)
        }
    })
}
