//! The admin API's front: the bearer token, the routing of `/admin/...` calls, request bodies
//! and JSON answers, errors in one shape (`{"error": {"code", "message"}}`); the OpenAPI
//! document and the admin page.

use std::sync::Arc;

use http::{Method, Response, StatusCode};
use pingora::protocols::http::ServerSession;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::with_type;
use crate::state::State;

/// Largest admin request body.
const MAX_BODY: usize = 64 * 1024;

const OPENAPI: &str = include_str!("openapi.json");
const UI: &str = include_str!("ui.html");

/// An admin API answer.
pub(super) type Answer = Response<Vec<u8>>;

pub(super) fn json_answer(status: StatusCode, value: &Value) -> Answer {
    let body = serde_json::to_vec_pretty(value).unwrap_or_default();
    with_type(status, "application/json", body)
}

/// An error in the admin API's one shape.
pub(super) fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Answer {
    json_answer(
        status,
        &json!({"error": {"code": code, "message": message.into()}}),
    )
}

pub(super) fn no_content() -> Answer {
    with_type(StatusCode::NO_CONTENT, "application/json", Vec::new())
}

/// Reads and parses a JSON body of at most [`MAX_BODY`] bytes; the error names the problem
/// (with the field, for unknown or mistyped ones).
pub(super) async fn read_json<T: DeserializeOwned>(
    session: &mut ServerSession,
) -> Result<T, Answer> {
    let mut body = Vec::new();
    loop {
        match session.read_request_body().await {
            Ok(Some(chunk)) => {
                body.extend_from_slice(&chunk);
                if body.len() > MAX_BODY {
                    return Err(error(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "too_large",
                        format!("body over {MAX_BODY} bytes"),
                    ));
                }
            }
            Ok(None) => break,
            Err(e) => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "bad_body",
                    format!("cannot read the body: {e}"),
                ))
            }
        }
    }
    let de = &mut serde_json::Deserializer::from_slice(&body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." {
            String::new()
        } else {
            format!("{path}: ")
        };
        error(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("{at}{}", e.into_inner()),
        )
    })
}

/// Whether the request carries the admin token. Compared as SHA-256 digests, so the time
/// taken does not tell how much of a wrong token was right.
fn authorized(session: &ServerSession, token: &crate::config::Secret) -> bool {
    let given = session
        .get_header("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("Bearer "))
        .map(str::trim);
    given.is_some_and(|g| crate::limits::hash_key(g) == crate::limits::hash_key(token.expose()))
}

/// Serves `/admin/...` and `/ui`.
pub(super) async fn handle(state: &Arc<State>, session: &mut ServerSession, path: &str) -> Answer {
    let generation = state.generation();
    let Some(token) = generation.config.admin_token.clone() else {
        return error(
            StatusCode::NOT_FOUND,
            "admin_off",
            "the admin API and page are off: set config.adminToken",
        );
    };
    let method = session.req_header().method.clone();
    if method == Method::GET && path == "/ui" {
        // The page's own HTML holds no data: a browser cannot send a bearer token when it
        // navigates, so the page asks for the token and sends it with every call it makes.
        return with_type(StatusCode::OK, "text/html; charset=utf-8", UI.into());
    }
    if !authorized(session, &token) {
        let mut answer = error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send the admin token as Authorization: Bearer <config.adminToken>",
        );
        answer
            .headers_mut()
            .insert("www-authenticate", http::HeaderValue::from_static("Bearer"));
        return answer;
    }
    let query = session.req_header().uri.query().unwrap_or("").to_string();
    let rest = path.trim_start_matches("/admin").trim_end_matches('/');
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    match (method, segments.as_slice()) {
        (Method::GET, ["openapi.json"]) => {
            with_type(StatusCode::OK, "application/json", OPENAPI.into())
        }
        (Method::GET, ["keys"]) => super::keys::list(state).await,
        (Method::POST, ["keys"]) => super::keys::create(state, session).await,
        (Method::GET, ["keys", id]) => super::keys::get(state, id).await,
        (Method::PATCH, ["keys", id]) => super::keys::update(state, session, id).await,
        (Method::DELETE, ["keys", id]) => super::keys::delete(state, id).await,
        (Method::GET, ["spend"]) => super::spend::report(state, &query).await,
        (Method::GET, ["routes"]) => super::routes::routes(state),
        (Method::GET, ["config"]) => json_answer(StatusCode::OK, &generation.config.redacted),
        (_, ["keys"] | ["keys", _] | ["spend"] | ["routes"] | ["config"]) => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{} is not allowed on {path}", session.req_header().method),
        ),
        _ => error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no admin call {path}; see /admin/openapi.json"),
        ),
    }
}

/// Parses `a=1&b=2`; of percent-encoding only `%3A` (`:`, in RFC 3339 times) is decoded,
/// nothing else these parameters take needs it.
pub(super) fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_string(), v.replace("%3A", ":").replace("%3a", ":"))
        })
        .collect()
}

/// RFC 3339 time text for Unix seconds.
pub(super) fn rfc3339(secs: i64) -> String {
    let t =
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(secs).unwrap_or(0));
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Unix seconds from RFC 3339 text in UTC (`2026-12-07T10:00:00Z`) or a number of seconds.
pub(super) fn parse_time(text: &str) -> Option<i64> {
    if let Ok(n) = text.parse::<i64>() {
        return Some(n);
    }
    let t = humantime::parse_rfc3339_weak(text).ok()?;
    let secs = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    i64::try_from(secs).ok()
}
