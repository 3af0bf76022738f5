//! The Pingora `ProxyHttp` service of one listener. Each request's life:
//! `request_filter` (route, keys, then the front door's flow in [`llm`]: read the body once,
//! limits, and per backend tried a plan, native pass-through or translation, the call with
//! Pingora's connector, the answer or stream relayed back) → `logging` (hand the finished
//! context to telemetry). The normal proxy loop is not used: Pingora sends the
//! upstream request header before the body can be seen (NOTES.md), and an LLM gateway must
//! know the model and parameters before choosing and shaping the upstream request.

pub mod body;
pub mod ctx;
pub mod dns;
pub mod embeddings;
pub mod header;
pub mod llm;
pub mod models;
pub mod passthrough;
pub mod respond;
pub mod upstream;
pub mod whole;

use std::sync::Arc;

use async_trait::async_trait;
use pingora::proxy::{ProxyHttp, Session};
use pingora::upstreams::peer::HttpPeer;
use pingora::{Error, ErrorType, Result};
use sluice_providers::{ApiKind, Front};

use crate::state::State;
pub use ctx::RequestCtx;

/// Adds a finished LLM request's usage and cost to the store's spend buffer (written in the
/// background), under its key, team, route, provider and the model called.
fn record_spend(store: &crate::store::sync::StoreHandle, ctx: &RequestCtx) {
    use crate::store::spend::{SpendKey, SpendSum};
    let Some(llm) = &ctx.llm else {
        return;
    };
    let key = ctx.client_key.as_ref();
    let model = if ctx.called_model.is_empty() {
        llm.request_model.as_str()
    } else {
        ctx.called_model.as_str()
    };
    let count = |t: Option<u64>| t.map_or(0, |t| i64::try_from(t).unwrap_or(i64::MAX));
    let nano = llm.cost.map_or(0, crate::limits::budget::to_nano);
    store.spend.add(
        SpendKey {
            hour: crate::store::now_secs().div_euclid(3600),
            key_id: key.map_or_else(|| Arc::from(""), |k| k.id.clone()),
            team: key
                .and_then(|k| k.team.clone())
                .unwrap_or_else(|| Arc::from("")),
            route: Arc::from(ctx.route.as_deref().unwrap_or("")),
            provider: Arc::from(llm.provider.as_str()),
            model: Arc::from(model),
        },
        SpendSum {
            requests: 1,
            input_tokens: count(llm.input_tokens),
            output_tokens: count(llm.output_tokens),
            usd_nano: i64::try_from(nano).unwrap_or(i64::MAX),
        },
    );
}

pub struct LlmProxy {
    pub state: Arc<State>,
    pub listener: usize,
}

#[async_trait]
impl ProxyHttp for LlmProxy {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> RequestCtx {
        RequestCtx::new(&self.state, self.listener)
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<bool> {
        ctx.begin(session);
        let generation = ctx.generation.clone();
        let Some(listener) = generation.listener(self.listener) else {
            // Removed from the config by a reload; its socket closes at restart.
            let msg = "this listener is no longer in the config";
            let front = Front::for_error_path(session.req_header().uri.path());
            respond::error(session, ctx, front, 404, msg).await;
            return Ok(true);
        };
        let path = session.req_header().uri.path().to_string();
        let matched = listener
            .routes
            .iter()
            .find_map(|r| r.matcher.strip(&path).map(|rest| (r, rest)));
        let format = Front::for_error_path(&path);
        let Some((route, rest)) = matched else {
            let msg = format!("no route for {path}");
            respond::error(session, ctx, format, 404, &msg).await;
            return Ok(true);
        };
        ctx.route = Some(route.name.clone());
        ctx.recent = Some(route.recent.clone());
        ctx.route_path = route.matcher.as_str().to_string();
        if let Some(auth) = &listener.auth {
            ctx.client_auth_consumed = true;
            let presented = crate::limits::presented_key(|name| {
                session.get_header(name).and_then(|v| v.to_str().ok())
            });
            // Gemini clients may send their key as `?key=`.
            let presented = match (presented, format) {
                (None, Front::Gemini) => crate::limits::query_key(session.req_header().uri.query()),
                (p, _) => p,
            };
            let key = presented.and_then(|k| {
                let hash = crate::limits::hash_key(k);
                auth.find(&hash).cloned().or_else(|| {
                    let store = self.state.store.as_ref()?;
                    store.keys.load().find(&hash).cloned()
                })
            });
            match key {
                Some(key) => {
                    // A store key may be disabled, expired, or kept to some routes.
                    let refused = key.access.as_ref().and_then(|a| {
                        a.refuse_route(&key.id, &route.name, crate::store::now_secs())
                    });
                    if let Some((status, msg)) = refused {
                        ctx.client_key = Some(key);
                        respond::error(session, ctx, format, status, &msg).await;
                        return Ok(true);
                    }
                    ctx.client_key = Some(key);
                }
                None if auth.required => {
                    let msg = if presented.is_some() {
                        "invalid API key"
                    } else {
                        "missing API key: send Authorization: Bearer <key>, x-api-key or (Gemini) x-goog-api-key"
                    };
                    respond::error(session, ctx, format, 401, msg).await;
                    return Ok(true);
                }
                None => {}
            }
        }
        match ApiKind::of_request(&path, rest) {
            Some(ApiKind::Generate(front)) => {
                llm::handle(self, session, ctx, route, front).await;
            }
            Some(ApiKind::CountTokens(front)) => {
                passthrough::count_tokens(self, session, ctx, route, front).await;
            }
            Some(ApiKind::StoredResponse) => {
                let told_by = ApiKind::api_path(&path, rest);
                passthrough::stored_response(self, session, ctx, route, told_by).await;
            }
            Some(ApiKind::Embeddings) => {
                embeddings::handle(self, session, ctx, route).await;
            }
            Some(ApiKind::Models) => {
                models::handle(self, session, ctx, route).await;
            }
            None => {
                let msg = format!(
                    "{path}: unknown API; expected .../chat/completions, .../messages, \
                     .../responses, .../models/{{model}}:generateContent, .../embeddings or .../models"
                );
                respond::error(session, ctx, format, 404, &msg).await;
            }
        }
        Ok(true)
    }

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        _ctx: &mut RequestCtx,
    ) -> Result<Box<HttpPeer>> {
        // Every request is answered in `request_filter`; the proxy loop never gets here.
        Err(Error::explain(
            ErrorType::InternalError,
            "sluice answers every request in request_filter",
        ))
    }

    async fn logging(&self, session: &mut Session, _e: Option<&Error>, ctx: &mut RequestCtx) {
        if let Some(admitted) = ctx.admitted.take() {
            // Awaited (bounded by the store's timeout) before the log line, so a request
            // whose line is out has its real usage counted and its cost charged.
            let llm = ctx.llm.as_ref();
            let actual = llm.and_then(|l| l.total()).unwrap_or(0);
            let nano = llm
                .and_then(|l| l.cost)
                .map_or(0, crate::limits::budget::to_nano);
            let shared = ctx.generation.shared_limits.as_ref();
            let spent =
                crate::limits::settle(&self.state.limits, shared, &admitted, actual, nano).await;
            let metrics = &self.state.metrics;
            for s in spent {
                let spent_usd = crate::limits::budget::from_nano(s.nano);
                metrics.budget_spent(&s.scope, spent_usd, s.budget.usd());
            }
        }
        if let Some(store) = &self.state.store {
            record_spend(store, ctx);
        }
        if let Some(recent) = ctx.recent.take() {
            recent.record(ctx.status >= 500);
        }
        let record = ctx.finish(session);
        self.state.records.submit(&ctx.generation.telemetry, record);
    }
}
