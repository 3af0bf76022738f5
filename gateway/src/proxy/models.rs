//! `.../models`: the models a route can reach, in OpenAI's list shape: every alias the route
//! defines and every model its backends pin. A route that defines and pins none passes the
//! client's model through: its list is its first backend's own (`GET /v1/models`) when that
//! backend is OpenAI or an OpenAI-compatible preset, else empty.

use pingora::proxy::Session;
use serde_json::json;

use crate::config::Route;
use crate::proxy::respond;
use crate::proxy::{LlmProxy, RequestCtx};
use sluice_providers::{Front, ProviderKind};

/// The model ids of `route` and who serves each, aliases first (sorted), then pinned models.
pub fn route_models(route: &Route) -> Vec<(String, &'static str)> {
    let mut aliases: Vec<&String> = route.aliases.keys().collect();
    aliases.sort();
    let owner = route
        .backends
        .first()
        .map_or("sluice", |b| b.provider.name());
    let mut out: Vec<(String, &'static str)> =
        aliases.into_iter().map(|a| (a.clone(), owner)).collect();
    for b in &route.backends {
        if let Some(m) = &b.model {
            if !out.iter().any(|(id, _)| id == m) {
                out.push((m.clone(), b.provider.name()));
            }
        }
    }
    out
}

pub async fn handle(proxy: &LlmProxy, session: &mut Session, ctx: &mut RequestCtx, route: &Route) {
    if session.req_header().method != http::Method::GET {
        respond::error(session, ctx, Front::Chat, 405, "models takes GET").await;
        return;
    }
    let models = route_models(route);
    if models.is_empty() {
        let lists_models = |b: &&std::sync::Arc<crate::config::Backend>| {
            b.upstream.is_some()
                && matches!(
                    b.provider,
                    ProviderKind::OpenAi | ProviderKind::Compatible(_)
                )
        };
        if let Some(backend) = route.backends.first().filter(lists_models) {
            crate::proxy::passthrough::list_models(proxy, session, ctx, backend).await;
            return;
        }
    }
    let data: Vec<serde_json::Value> = models
        .into_iter()
        .map(|(id, owner)| json!({"id": id, "object": "model", "created": 0, "owned_by": owner}))
        .collect();
    let body = json!({"object": "list", "data": data})
        .to_string()
        .into_bytes();
    respond::json(session, ctx, 200, body, &[]).await;
}
