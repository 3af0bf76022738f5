//! One attempt of the failover chain: one backend (one of its targets, when balanced), with
//! the request's [`Plan`] for that backend's provider.

use std::time::{Duration, Instant};

use pingora::proxy::Session;
use sluice_providers::{ClientRequest, Plan, RequestTarget, ResponseTarget};

use super::relay::{relay_complete, relay_error, relay_stream};
use super::Call;
use crate::auth::Credentials;
use crate::balance::{Pick, Tried};
use crate::config::{Backend, Route};
use crate::proxy::header::upstream_header;
use crate::proxy::respond;
use crate::proxy::upstream;
use crate::proxy::{LlmProxy, RequestCtx};

/// How one backend of the chain went.
pub(super) enum Outcome {
    /// The client has its answer (success or a final error).
    Done,
    /// This backend failed before anything reached the client; try again or the next.
    FailOver {
        reason: String,
        /// The provider's status (0 when it was never reached).
        status: u16,
        /// The provider's `retry-after`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// This target of a balanced backend failed before anything reached the client, and
    /// another target of the backend can take the call.
    NextTarget { reason: String },
}

/// Calls one backend (one of its targets, when balanced, outside `tried`); `more` says
/// whether a later backend or a retry could take over on failure.
#[allow(clippy::too_many_arguments)]
pub(super) async fn attempt(
    proxy: &LlmProxy,
    session: &mut Session,
    ctx: &mut RequestCtx,
    backend: &Backend,
    route: &Route,
    req: &mut ClientRequest,
    call_info: &Call<'_>,
    more: bool,
    tried: &mut Tried,
) -> Outcome {
    let front = req.front;
    let model = route.model_for(backend, &req.model);
    if model.is_empty() && !backend.provider.model_in_url() {
        let msg = format!(
            "the request names no model and backend {} pins none; set \"model\" in the request or `model:` on the backend",
            backend.name
        );
        if more {
            return Outcome::FailOver {
                reason: msg,
                status: 0,
                retry_after: None,
            };
        }
        respond::error(session, ctx, front, 400, &msg).await;
        return Outcome::Done;
    }
    ctx.called_model.clone_from(&model);
    let Some(upstream) = backend.upstream.as_ref() else {
        super::mock::answer(session, ctx, req, &model, call_info).await;
        return Outcome::Done;
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
        Err(reason) if more => {
            return Outcome::FailOver {
                reason,
                status: 0,
                retry_after: None,
            }
        }
        Err(reason) => {
            respond::error(session, ctx, front, 503, &reason).await;
            return Outcome::Done;
        }
    };
    // The one choice between native pass-through and translation; all that follows obeys it.
    let plan = Plan::choose(front, backend.provider, &model);
    let target = RequestTarget {
        model: &model,
        api_version: backend.api_version.as_deref(),
        vertex: backend.vertex_site(site),
        forwarded: call_info.forwarded,
        query: call_info.query,
    };
    let translated = match plan.request(req, &target) {
        Ok(t) => t,
        Err(e) if more => {
            return Outcome::FailOver {
                reason: e.to_string(),
                status: 0,
                retry_after: None,
            }
        }
        Err(e) => {
            respond::error(session, ctx, front, 400, &e.to_string()).await;
            return Outcome::Done;
        }
    };
    ctx.endpoint = endpoint.to_string();
    let creds = Credentials::of(backend, api_key, site);
    let header = match upstream_header(session, ctx, creds, upstream, "POST", &translated).await {
        Ok(h) => h,
        Err(e) => {
            e.count(&proxy.state.metrics, &backend.name);
            if more {
                return Outcome::FailOver {
                    reason: e.message().to_string(),
                    status: 0,
                    retry_after: None,
                };
            }
            respond::error(session, ctx, front, e.status(), e.message()).await;
            return Outcome::Done;
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
        Err(e) if spare => {
            return Outcome::NextTarget {
                reason: e.message().to_string(),
            }
        }
        Err(e) if more => {
            return Outcome::FailOver {
                reason: e.message().to_string(),
                status: 0,
                retry_after: None,
            }
        }
        Err(e) => {
            respond::error(session, ctx, front, e.status(), e.message()).await;
            return Outcome::Done;
        }
    };
    let status = call.status();
    if let Some(lease) = lease.as_mut() {
        lease.answered(status, &state.metrics);
    }
    if spare && (status == 429 || status >= 500) {
        call.release(&state.connector).await;
        return Outcome::NextTarget {
            reason: format!("status {status} from {}", ctx.endpoint),
        };
    }
    if more && (status == 429 || status >= 500) {
        let retry_after = call
            .header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        // The answer is not read; the connection is closed, not pooled.
        call.release(&state.connector).await;
        return Outcome::FailOver {
            reason: match &lease {
                Some(_) => format!("status {status} from {}", ctx.endpoint),
                None => format!("status {status}"),
            },
            status,
            retry_after,
        };
    }
    let response_target = ResponseTarget {
        model: &model,
        created: call_info.created,
        include_usage: req.include_usage,
    };
    if !(200..300).contains(&status) {
        relay_error(session, ctx, call, &state.connector, &plan, status).await;
    } else if req.stream {
        match plan.stream(&response_target, call_info.id.to_string(), req) {
            Ok(translator) => {
                relay_stream(session, ctx, &mut call, translator, req).await;
                call.release(&state.connector).await;
            }
            Err(e) => {
                call.release(&state.connector).await;
                respond::error(session, ctx, front, 400, &e.to_string()).await;
            }
        }
    } else {
        let connector = &state.connector;
        relay_complete(session, ctx, call, connector, &plan, &response_target, req).await;
    }
    drop(lease);
    Outcome::Done
}
