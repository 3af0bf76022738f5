//! `GET /admin/spend`: spend from the store over a time range, grouped by key, team, model,
//! route or provider, as totals or as a series by hour or day. This replica's unwritten spend
//! is written first, so its own latest requests are in the answer.

use std::sync::Arc;

use http::StatusCode;
use serde_json::{json, Value};

use super::api::{error, json_answer, parse_time, query_pairs, rfc3339, Answer};
use crate::limits::budget::from_nano;
use crate::state::State;
use crate::store::spend::GroupBy;
use crate::store::{db_error, now_secs};

fn bad(message: impl Into<String>) -> Answer {
    error(StatusCode::BAD_REQUEST, "invalid_query", message)
}

pub(super) async fn report(state: &Arc<State>, query: &str) -> Answer {
    let Some(store) = state.store.clone() else {
        return error(
            StatusCode::CONFLICT,
            "no_store",
            "spend is kept in the store: set config.store.url",
        );
    };
    let now = now_secs();
    let (mut from, mut to, mut by, mut interval) = (now - 86_400, now, GroupBy::Key, None);
    for (k, v) in query_pairs(query) {
        match k.as_str() {
            "from" | "to" => {
                let Some(t) = parse_time(&v) else {
                    return bad(format!(
                        "{k}: {v:?} is not an RFC 3339 time in UTC or Unix seconds"
                    ));
                };
                if k == "from" {
                    from = t;
                } else {
                    to = t;
                }
            }
            // `by` is the contract's name; `groupBy`, the answer's key, is taken too.
            "by" | "groupBy" => match GroupBy::parse(&v) {
                Some(g) => by = g,
                None => return bad(format!("{k}: key, team, model, route or provider")),
            },
            "interval" => match v.as_str() {
                "hour" => interval = Some(3600),
                "day" => interval = Some(86_400),
                _ => return bad("interval: hour or day"),
            },
            other => {
                return bad(format!(
                    "unknown parameter {other:?}; from, to, by (or groupBy), interval"
                ))
            }
        }
    }
    if from >= to {
        return bad("from must be before to");
    }
    let s = store.store.clone();
    let flusher = store.clone();
    let answer = store
        .run(async move {
            // This replica's latest spend first (a failed write keeps it for later).
            let _ = flusher.flush_now().await;
            s.spend(from, to, by, interval).await
        })
        .await;
    let rows = match answer {
        Ok(Ok(rows)) => rows,
        Ok(Err(e)) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                format!("the store did not answer: {}", db_error(&e)),
            )
        }
        Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", e),
    };
    let total: i64 = rows.iter().map(|r| r.sum.usd_nano).sum();
    let rows: Vec<Value> = rows
        .iter()
        .map(|r| {
            let mut row = json!({
                by.name(): r.group,
                "requests": r.sum.requests,
                "inputTokens": r.sum.input_tokens,
                "outputTokens": r.sum.output_tokens,
                "usd": from_nano(u64::try_from(r.sum.usd_nano).unwrap_or(0)),
            });
            if let Some(start) = r.start {
                row["start"] = Value::from(rfc3339(start));
            }
            row
        })
        .collect();
    json_answer(
        StatusCode::OK,
        &json!({
            "from": rfc3339(from), "to": rfc3339(to), "groupBy": by.name(),
            "interval": interval.map(|i| if i == 3600 { "hour" } else { "day" }),
            "rows": rows,
            "totalUsd": from_nano(u64::try_from(total).unwrap_or(0)),
        }),
    )
}
