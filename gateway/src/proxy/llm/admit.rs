//! Admission against the client key's, its team's and the route's limits and budgets, before
//! any upstream is called.

use pingora::proxy::Session;
use sluice_providers::{tokens, ClientRequest, Front};
use sluice_telemetry::LimitFacts;

use crate::config::Route;
use crate::limits::{self, Limits, Scope, Verdict};
use crate::proxy::respond;
use crate::proxy::{LlmProxy, RequestCtx};

/// The scopes a request is counted in: its key, the key's team (when the team has a budget)
/// and its route, each only when it has a limit or a budget.
fn scopes(ctx: &RequestCtx, route: &Route) -> Vec<Scope> {
    let mut scopes = Vec::with_capacity(3);
    if let Some(k) = ctx.client_key.as_ref() {
        if !k.limits.is_unlimited() || k.budget.is_some() {
            scopes.push(Scope {
                id: k.scope.clone(),
                limits: k.limits,
                budget: k.budget,
            });
        }
        let team = k
            .team
            .as_ref()
            .and_then(|t| ctx.generation.config.teams.get(&**t));
        if let Some(team) = team.filter(|t| t.budget.is_some()) {
            scopes.push(Scope {
                id: team.scope.clone(),
                limits: Limits::default(),
                budget: team.budget,
            });
        }
    }
    if !route.limits.is_unlimited() || route.budget.is_some() {
        scopes.push(Scope {
            id: route.scope.clone(),
            limits: route.limits,
            budget: route.budget,
        });
    }
    scopes
}

/// The prompt tokens of a generation request, estimated for a tokens-per-minute limit.
pub(super) fn prompt_estimate(req: &ClientRequest) -> u64 {
    let prompt = req.prompt();
    tokens::estimate_prompt(prompt.iter().map(|(r, t)| (r.as_str(), t.as_str())))
}

/// Counts a request of `front` for `model` (the model the client names) against its scopes'
/// limits, all or none (input tokens from `estimate`, called only for a tokens-per-minute
/// limit, reconciled with the real usage when it ends), and checks their budgets (its cost
/// is charged when it ends). Generation and embeddings requests come through here. False
/// when it was refused: 403 for a store key kept to other models, 429 with `retry-after`
/// (coded `budget_exceeded` when a budget is spent), or 503 when the shared store did not
/// answer and fails closed.
pub(crate) async fn admit(
    proxy: &LlmProxy,
    session: &mut Session,
    ctx: &mut RequestCtx,
    route: &Route,
    front: Front,
    model: &str,
    estimate: impl FnOnce() -> u64,
) -> bool {
    // A store key may be kept to some models (those the client names).
    let refused = ctx.client_key.as_ref().and_then(|k| {
        let access = k.access.as_ref()?;
        access.refuse_model(&k.id, model)
    });
    if let Some(msg) = refused {
        ctx.error = Some(msg.clone());
        let body = front.error_body(403, &msg);
        respond::json(session, ctx, 403, body, &[]).await;
        return false;
    }
    let scopes = scopes(ctx, route);
    if scopes.is_empty() {
        return true;
    }
    // Tokens are estimated only for a tokens-per-minute limit.
    let estimate = if scopes.iter().any(|s| s.limits.tokens_per_minute.is_some()) {
        estimate()
    } else {
        0
    };
    let ids: Vec<std::sync::Arc<str>> = scopes.iter().map(|s| s.id.clone()).collect();
    let generation = ctx.generation.clone();
    let shared = generation.shared_limits.as_ref();
    let verdict = limits::admit(&proxy.state.limits, shared, scopes, estimate).await;
    let decision = verdict.decision();
    let (status, msg, retry, budget) = match verdict {
        Verdict::Allowed(admitted) | Verdict::FailOpen(admitted) => {
            ctx.limit = Some(LimitFacts {
                decision,
                scopes: ids,
            });
            ctx.admitted = Some(admitted);
            return true;
        }
        Verdict::Refused(refusal) => {
            let msg = if refusal.budget {
                format!("budget exceeded: {}", refusal.what)
            } else {
                format!("rate limit exceeded: {}", refusal.what)
            };
            ctx.limit = Some(LimitFacts {
                decision,
                scopes: vec![refusal.scope.into()],
            });
            let retry = refusal.retry_after.as_secs().max(1);
            (429, msg, retry, refusal.budget)
        }
        Verdict::FailClosed(why) => {
            ctx.limit = Some(LimitFacts {
                decision,
                scopes: ids,
            });
            let msg = format!(
                "limits and budgets cannot be checked (limit store unavailable: {why}); refused because config.limits.redis.failMode is closed"
            );
            (503, msg, 1, false)
        }
    };
    ctx.error = Some(msg.clone());
    let body = if budget {
        front.budget_error_body(&msg)
    } else {
        front.error_body(status, &msg)
    };
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
