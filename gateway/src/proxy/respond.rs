//! Writing answers the gateway makes itself: JSON bodies and errors in the client's format.

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use pingora::http::ResponseHeader;
use pingora::proxy::Session;
use serde_json::json;
use sluice_providers::error::{openai_error_body, openai_error_type};

use crate::proxy::RequestCtx;

/// `content-type: application/json`, for the answers sluice writes and the bodies it sends.
pub(crate) const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// The API shape the client speaks, told by its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientFormat {
    OpenAi,
    Anthropic,
}

impl ClientFormat {
    pub fn from_path(path: &str) -> Self {
        let p = path.trim_end_matches('/');
        if p.ends_with("/messages") || p.ends_with("/messages/count_tokens") {
            ClientFormat::Anthropic
        } else {
            ClientFormat::OpenAi
        }
    }
}

/// The Anthropic error `type` fitting a status.
fn anthropic_error_type(status: u16) -> &'static str {
    match status {
        400 | 404 | 405 | 413 | 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    }
}

/// An error body of `format` for `status`.
pub fn error_body(format: ClientFormat, status: u16, message: &str) -> Vec<u8> {
    match format {
        ClientFormat::OpenAi => {
            let code = match status {
                404 => Some("not_found"),
                408 => Some("request_timeout"),
                413 => Some("request_too_large"),
                502 => Some("upstream_unavailable"),
                504 => Some("upstream_timeout"),
                _ => None,
            };
            openai_error_body(message, openai_error_type(status), code)
        }
        ClientFormat::Anthropic => json!({
            "type": "error",
            "error": {"type": anthropic_error_type(status), "message": message}
        })
        .to_string()
        .into_bytes(),
    }
}

/// Writes a whole JSON response; a client that has gone away is noted in `ctx`.
pub async fn json(
    session: &mut Session,
    ctx: &mut RequestCtx,
    status: u16,
    body: Vec<u8>,
    extra_headers: &[(&'static str, String)],
) {
    ctx.status = status;
    // Lower-case names, no case map (`build_no_case`), distinct names (`append_header`).
    let header =
        ResponseHeader::build_no_case(status, Some(3 + extra_headers.len())).and_then(|mut h| {
            h.append_header(CONTENT_TYPE, APPLICATION_JSON)?;
            h.append_header(CONTENT_LENGTH, HeaderValue::from(body.len()))?;
            for (k, v) in extra_headers {
                h.append_header(*k, v.as_str())?;
            }
            Ok(h)
        });
    let header = match header {
        Ok(h) => h,
        Err(e) => {
            ctx.error = Some(format!("building response header: {e}"));
            return;
        }
    };
    if let Err(e) = session.write_response_header(Box::new(header), false).await {
        ctx.error
            .get_or_insert_with(|| format!("client gone: {}", e.etype().as_str()));
        return;
    }
    if let Err(e) = session
        .write_response_body(Some(Bytes::from(body)), true)
        .await
    {
        ctx.error
            .get_or_insert_with(|| format!("client gone: {}", e.etype().as_str()));
    }
}

/// Writes an error the gateway made, in the client's format, and records it.
pub async fn error(
    session: &mut Session,
    ctx: &mut RequestCtx,
    format: ClientFormat,
    status: u16,
    message: &str,
) {
    ctx.error = Some(message.to_string());
    let body = error_body(format, status, message);
    json(session, ctx, status, body, &[]).await;
}
