//! Reading a client's request body once, whole, within the size and time limits.

use std::time::Duration;

use pingora::proxy::Session;
use sluice_providers::Front;

use crate::proxy::{respond, RequestCtx};

/// A POST's whole body within the configured limits (`config.maxRequestBodyBytes`,
/// `config.requestReadTimeout`); `None` when the client has its error already, in `front`'s
/// shape: 405 for another method (`what` names the call), else 408, 413 or 400.
pub async fn read_post(
    session: &mut Session,
    ctx: &mut RequestCtx,
    front: Front,
    what: &str,
) -> Option<Vec<u8>> {
    if session.req_header().method != http::Method::POST {
        let msg = format!("{what} takes POST");
        respond::error(session, ctx, front, 405, &msg).await;
        return None;
    }
    read_for(session, ctx, front).await
}

/// The whole body within the configured limits, any method; `None` when the client has its
/// error already.
pub async fn read_for(
    session: &mut Session,
    ctx: &mut RequestCtx,
    front: Front,
) -> Option<Vec<u8>> {
    let config = &ctx.generation.config;
    let (limit, read_timeout) = (config.max_request_body_bytes, config.request_read_timeout);
    match read_body_within(session, limit, read_timeout).await {
        Ok(b) => Some(b),
        Err((status, msg)) => {
            respond::error(session, ctx, front, status, &msg).await;
            None
        }
    }
}

/// Reads the whole request body, refusing (413) a declared or actual size over `limit`, and
/// answering 408 when the client takes longer than `timeout` to send it all (a slow client
/// trickling its body does not hold the worker; the connection is closed after the answer).
pub async fn read_body_within(
    session: &mut Session,
    limit: u64,
    timeout: Duration,
) -> Result<Vec<u8>, (u16, String)> {
    let deadline = tokio::time::Instant::now() + timeout;
    let too_slow = || {
        (
            408,
            format!(
                "the request body was not received within {timeout:?} (config.requestReadTimeout)"
            ),
        )
    };
    let too_large = || (413, format!("request body larger than {limit} bytes"));
    let declared = session
        .get_header("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(1024).min(limit) as usize);
    loop {
        let Ok(read) = tokio::time::timeout_at(deadline, session.read_request_body()).await else {
            return Err(too_slow());
        };
        match read {
            Ok(Some(chunk)) => {
                if (body.len() + chunk.len()) as u64 > limit {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) if e.etype() == &pingora::ErrorType::ReadTimedout => return Err(too_slow()),
            Err(e) => {
                return Err((
                    400,
                    format!("reading the request body: {}", e.etype().as_str()),
                ))
            }
        }
    }
}
