//! Writing answers the gateway makes itself: JSON bodies, and errors in the client's API shape.

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use pingora::http::ResponseHeader;
use pingora::proxy::Session;
use sluice_providers::Front;

use crate::proxy::RequestCtx;

/// `content-type: application/json`, for the answers sluice writes and the bodies it sends.
pub(crate) const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

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
    front: Front,
    status: u16,
    message: &str,
) {
    ctx.error = Some(message.to_string());
    let body = front.error_body(status, message);
    json(session, ctx, status, body, &[]).await;
}
