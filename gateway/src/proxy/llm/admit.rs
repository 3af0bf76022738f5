//! Admission against the client key's and the route's limits, before any upstream is called.

use pingora::proxy::Session;
use sluice_providers::{tokens, ClientRequest};
use sluice_telemetry::LimitFacts;

use crate::config::Route;
use crate::limits::{self, Scope, Verdict};
use crate::proxy::respond;
use crate::proxy::{LlmProxy, RequestCtx};

/// Counts the request against its key's and route's limits, all or none (prompt tokens
/// estimated now, reconciled with the real usage when it ends). False when it was refused:
/// 429 with `retry-after`, or 503 when the shared store did not answer and fails closed.
pub(super) async fn admit(
    proxy: &LlmProxy,
    session: &mut Session,
    ctx: &mut RequestCtx,
    route: &Route,
    req: &ClientRequest,
) -> bool {
    let key = ctx.client_key.as_ref().filter(|k| !k.limits.is_unlimited());
    let route_limited = !route.limits.is_unlimited();
    if key.is_none() && !route_limited {
        return true;
    }
    let prompt = req.prompt();
    let estimate = tokens::estimate_prompt(prompt.iter().map(|(r, t)| (r.as_str(), t.as_str())));
    let mut scopes = Vec::with_capacity(2);
    if let Some(k) = key {
        scopes.push(Scope {
            id: format!("key:{}", k.name),
            limits: k.limits,
        });
    }
    if route_limited {
        scopes.push(Scope {
            id: format!("route:{}", route.name),
            limits: route.limits,
        });
    }
    let ids: Vec<String> = scopes.iter().map(|s| s.id.clone()).collect();
    let generation = ctx.generation.clone();
    let shared = generation.shared_limits.as_ref();
    let verdict = limits::admit(&proxy.state.limits, shared, scopes, estimate).await;
    let decision = verdict.decision();
    let (status, msg, retry) = match verdict {
        Verdict::Allowed(admitted) => {
            ctx.limit = Some(LimitFacts {
                decision,
                scopes: ids,
            });
            ctx.admitted = Some(admitted);
            return true;
        }
        Verdict::FailOpen => {
            ctx.limit = Some(LimitFacts {
                decision,
                scopes: ids,
            });
            return true;
        }
        Verdict::Refused(refusal) => {
            let msg = format!("rate limit exceeded: {}", refusal.what);
            ctx.limit = Some(LimitFacts {
                decision,
                scopes: vec![refusal.scope],
            });
            (429, msg, refusal.retry_after.as_secs().max(1))
        }
        Verdict::FailClosed(why) => {
            ctx.limit = Some(LimitFacts {
                decision,
                scopes: ids,
            });
            let msg = format!(
                "rate limits cannot be checked (limit store unavailable: {why}); refused because config.limits.redis.failMode is closed"
            );
            (503, msg, 1)
        }
    };
    ctx.error = Some(msg.clone());
    let body = req.front.error_body(status, &msg);
    respond::json(
        session,
        ctx,
        status,
        body,
        &[("retry-after", retry.to_string())],
    )
    .await;
    false
}
