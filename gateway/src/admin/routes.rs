//! `GET /admin/routes`: each listener's routes, their backends with each target's health,
//! and each route's requests and error rate over the last five minutes.

use std::sync::Arc;

use http::StatusCode;
use serde_json::{json, Value};

use super::api::{json_answer, Answer};
use crate::config::Backend;
use crate::state::State;

fn backend_json(b: &Backend) -> Value {
    // A balanced backend reports each target's standing; a single URL is not checked.
    let targets: Vec<Value> = match &b.balancer {
        Some(balancer) => balancer
            .health()
            .map(|(endpoint, up)| json!({"endpoint": endpoint, "healthy": up}))
            .collect(),
        None => b
            .upstream
            .as_ref()
            .map(|u| vec![json!({"endpoint": format!("{}:{}", u.host, u.port), "healthy": null})])
            .unwrap_or_default(),
    };
    json!({
        "name": b.name, "provider": b.provider.name(), "model": b.model, "targets": targets,
    })
}

pub(super) fn routes(state: &Arc<State>) -> Answer {
    let generation = state.generation();
    let listeners: Vec<Value> = generation
        .config
        .listeners
        .iter()
        .map(|l| {
            let routes: Vec<Value> = l
                .routes
                .iter()
                .map(|r| {
                    let (requests, errors) = r.recent.snapshot();
                    json!({
                        "name": r.name,
                        "match": r.matcher.as_str(),
                        "backends": r.backends.iter().map(|b| backend_json(b)).collect::<Vec<_>>(),
                        "recent": {
                            "windowSeconds": crate::recent::WINDOW_SECS,
                            "requests": requests,
                            "errors": errors,
                            "errorRate": if requests == 0 { 0.0 } else { errors as f64 / requests as f64 },
                        },
                    })
                })
                .collect();
            json!({"name": l.name, "bind": l.bind, "routes": routes})
        })
        .collect();
    json_answer(StatusCode::OK, &json!({ "listeners": listeners }))
}
