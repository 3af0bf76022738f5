//! The LLM flow of the generation front doors (chat completions, messages, responses,
//! Gemini's `generateContent`): read the body
//! once (capped), read the few facts needed before the call, count the request against its
//! limits, then walk the route's failover chain; each backend tried gets its own
//! [`sluice_providers::Plan`] (native or translated, see [`attempt`]), and the answer or stream
//! is relayed in the client's shape ([`relay`]) with the LLM facts for telemetry ([`facts`]).

pub(crate) mod admit;
mod attempt;
pub(crate) mod facts;
mod mock;
mod relay;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pingora::proxy::Session;
use sluice_providers::front::gemini::GeminiCall;
use sluice_providers::{ClientRequest, Front};

use crate::balance::Tried;
use crate::config::Route;
use crate::proxy::body::read_post;
use crate::proxy::respond;
use crate::proxy::{LlmProxy, RequestCtx};
use facts::request_facts;

/// What every attempt of one request shares.
pub(super) struct Call<'a> {
    /// The id of a translated answer (`chatcmpl-<span id>`).
    pub id: &'a str,
    /// Unix seconds, for a translated answer's `created`.
    pub created: u64,
    /// The client's headers of its API family, for native pass-through.
    pub forwarded: &'a [(&'static str, String)],
    /// The client's query string.
    pub query: Option<&'a str>,
}

pub async fn handle(
    proxy: &LlmProxy,
    session: &mut Session,
    ctx: &mut RequestCtx,
    route: &Route,
    front: Front,
) {
    let Some(body) = read_post(session, ctx, front, front.name()).await else {
        return;
    };
    let read = match front {
        Front::Gemini => {
            let header = session.req_header();
            match GeminiCall::parse(header.uri.path(), header.uri.query()) {
                Some(call) => ClientRequest::read_gemini(body, call),
                None => ClientRequest::read(front, body),
            }
        }
        _ => ClientRequest::read(front, body),
    };
    let mut req = match read {
        Ok(r) => r,
        Err(e) => {
            respond::error(session, ctx, front, 400, &e.to_string()).await;
            return;
        }
    };
    let max_messages = ctx.generation.config.max_messages;
    if req.message_count > max_messages {
        let msg = format!(
            "too many messages: {} (at most {max_messages}, config.maxMessages)",
            req.message_count
        );
        respond::error(session, ctx, front, 400, &msg).await;
        return;
    }
    let estimate = || admit::prompt_estimate(&req);
    if !admit::admit(proxy, session, ctx, route, front, &req.model, estimate).await {
        return;
    }
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let id = format!(
        "chatcmpl-{}",
        sluice_telemetry::facts::hex(&ctx.ids.span_id)
    );
    let forwarded: Vec<(&'static str, String)> = front
        .forwarded_headers()
        .iter()
        .filter_map(|name| {
            let value = session.get_header(*name)?.to_str().ok()?;
            Some((*name, value.to_string()))
        })
        .collect();
    let query = session.req_header().uri.query().map(str::to_string);
    let call = Call {
        id: &id,
        created,
        forwarded: &forwarded,
        query: query.as_deref(),
    };
    // A failover chain: each backend in order until one answers. Only failures before the
    // first byte reaches the client move on (connect errors, timeouts, 429, 5xx), so the
    // client always gets one clean answer in its own format.
    let mut reasons: Vec<String> = Vec::new();
    let needs = ctx.generation.telemetry.needs();
    let last = route.backends.len().saturating_sub(1);
    let budget = &proxy.state.retry_budget;
    budget.deposit();
    let mut attempts: u32 = 0;
    for (i, backend) in route.backends.iter().enumerate() {
        let mut tries = 0;
        // Targets of a balanced backend already called (a retry starts over).
        let mut tried = Tried::default();
        loop {
            attempts = attempts.saturating_add(1);
            // A retry of this backend is possible only while the shared budget allows: a
            // failing provider cannot turn every request into several.
            let may_retry = tries < backend.retries && budget.take();
            let more = i < last || may_retry;
            let mut facts = request_facts(&req, backend, needs);
            facts.attempts = attempts;
            facts.fallback_reasons.clone_from(&reasons);
            ctx.llm = Some(facts);
            let outcome = attempt::attempt(
                proxy, session, ctx, backend, route, &mut req, &call, more, &mut tried,
            )
            .await;
            match outcome {
                attempt::Outcome::Done => {
                    if may_retry {
                        budget.give_back();
                    }
                    return;
                }
                attempt::Outcome::NextTarget { reason } => {
                    // Another endpoint (or key) of the same backend, at once: no backoff,
                    // no retry spent.
                    log::debug!("backend {} failed: {reason}", backend.name);
                    reasons.push(format!("{}: {reason}", backend.name));
                    if may_retry {
                        budget.give_back();
                    }
                }
                attempt::Outcome::FailOver {
                    reason,
                    status,
                    retry_after,
                } => {
                    log::debug!("backend {} failed: {reason}", backend.name);
                    reasons.push(format!("{}: {reason}", backend.name));
                    let wait = retry_wait(tries + 1, retry_after);
                    match (may_retry, wait) {
                        (true, Some(wait)) => {
                            tries += 1;
                            tried = Tried::default();
                            let paused = Instant::now();
                            tokio::time::sleep(wait).await;
                            ctx.waited_since(paused);
                        }
                        (true, None) if i == last => {
                            // The provider asks for a longer pause than a retry may wait, and
                            // no backend is left: pass its answer on in the client's shape.
                            let after = retry_after.map_or(0, |d| d.as_secs());
                            let msg = format!("{}: {reason}; retry after {after}s", backend.name);
                            ctx.error = Some(msg.clone());
                            let body = req.front.error_body(status.max(429), &msg);
                            let extra = [("retry-after", after.to_string())];
                            respond::json(session, ctx, status.max(429), body, &extra).await;
                            return;
                        }
                        (true, None) => {
                            budget.give_back();
                            break;
                        }
                        (false, _) => break,
                    }
                }
            }
        }
    }
}

/// Longest a retry waits, also for a provider's `retry-after`.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(10);

/// How long to wait before retry number `n` (1-based): the provider's `retry-after` when it
/// gave one (`None` if longer than [`MAX_RETRY_WAIT`]), else exponential backoff from 100 ms
/// with ±50% jitter, at most 2 s.
fn retry_wait(n: u32, retry_after: Option<Duration>) -> Option<Duration> {
    if let Some(after) = retry_after {
        return (after <= MAX_RETRY_WAIT).then_some(after);
    }
    let base = Duration::from_millis(100).saturating_mul(1 << n.saturating_sub(1).min(5));
    let jitter = rand::random_range(0.5..1.5);
    Some(base.mul_f64(jitter).min(Duration::from_secs(2)))
}
