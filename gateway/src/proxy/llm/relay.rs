//! Relaying a provider's answer to the client: errors, whole answers and streams, each as the
//! request's [`Plan`] shapes it (as it came when native, translated otherwise), with the
//! facts telemetry needs gathered on the way.

use std::time::Instant;

use bytes::Bytes;
use pingora::connectors::TransportConnector;
use pingora::http::ResponseHeader;
use pingora::proxy::Session;
use sluice_providers::{ClientRequest, Plan, ResponseTarget, StreamTranslator};

use super::facts::{apply_completion, apply_stream_facts};
use crate::proxy::respond;
use crate::proxy::upstream::OpenCall;
use crate::proxy::RequestCtx;

/// Largest upstream response read whole (non-streamed answers and error bodies).
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// A stream's events that arrived together are written together, up to this many bytes.
const STREAM_WRITE_BATCH: usize = 32 * 1024;

/// An upstream error answer, in the client's shape, with the upstream's status.
pub(super) async fn relay_error(
    session: &mut Session,
    ctx: &mut RequestCtx,
    mut call: OpenCall,
    connector: &TransportConnector,
    plan: &Plan,
    status: u16,
) {
    let reading = Instant::now();
    let body = call.read_all(MAX_RESPONSE_BYTES).await.unwrap_or_default();
    ctx.waited_since(reading);
    let retry_after = call.header("retry-after");
    call.release(connector).await;
    let body = plan.error(status, &body);
    ctx.error = Some(format!("upstream returned status {status}"));
    let mut extra = Vec::new();
    if let Some(retry) = retry_after {
        extra.push(("retry-after", retry));
    }
    respond::json(session, ctx, status, body, &extra).await;
}

/// A whole 2xx answer, as the plan makes it for the client. The connection goes back to the
/// pool as soon as the answer is read, before the client has it, so the client's next call
/// finds it there.
pub(super) async fn relay_complete(
    session: &mut Session,
    ctx: &mut RequestCtx,
    mut call: OpenCall,
    connector: &TransportConnector,
    plan: &Plan,
    target: &ResponseTarget<'_>,
    req: &ClientRequest,
) {
    let reading = Instant::now();
    let read = call.read_all(MAX_RESPONSE_BYTES).await;
    ctx.waited_since(reading);
    call.release(connector).await;
    let body = match read {
        Ok(b) => b,
        Err(e) => {
            respond::error(session, ctx, req.front, e.status(), e.message()).await;
            return;
        }
    };
    match plan.response(body, target, req) {
        Ok(completion) => {
            apply_completion(ctx, &completion, req);
            respond::json(session, ctx, 200, completion.body, &[]).await;
        }
        Err(e) => {
            let msg = e.to_string();
            respond::error(session, ctx, req.front, 502, &msg).await;
        }
    }
}

/// A streamed 2xx answer, relayed as it arrives through `translator` (the plan's), in bursts.
pub(super) async fn relay_stream(
    session: &mut Session,
    ctx: &mut RequestCtx,
    call: &mut OpenCall,
    mut translator: Box<dyn StreamTranslator>,
    req: &ClientRequest,
) {
    if !start_stream(session, ctx, req).await {
        return;
    }
    let mut out = Vec::with_capacity(4096);
    // Why the upstream side ended early, if it did; the client is still there then.
    let mut broke: Option<String> = None;
    let mut client_gone = false;
    // Whether any of the client's stream has been written (a JSON-array stream has begun).
    let mut written = false;
    // No stream runs longer than config.maxStreamDuration (a stuck or endless generation
    // would hold the connection and the upstream call forever).
    let max = ctx.generation.config.max_stream_duration;
    let deadline = tokio::time::Instant::now() + max;
    let mut ended = false;
    while !ended && broke.is_none() {
        let reading = Instant::now();
        let read = tokio::time::timeout_at(deadline, call.read_chunk()).await;
        ctx.waited_since(reading);
        let Ok(mut read) = read else {
            broke = Some(format!(
                "stream ended after {max:?}, the longest a stream may run (config.maxStreamDuration)"
            ));
            break;
        };
        // What else of the body is already here (events the upstream sent together) is
        // translated now and goes out in the same write: one write per burst, not per event.
        loop {
            let chunk = match read {
                Ok(Some(chunk)) => chunk,
                Ok(None) => {
                    ended = true;
                    break;
                }
                Err(e) => {
                    broke = Some(format!("upstream stream broke: {}", e.message()));
                    break;
                }
            };
            let seen_before = translator.facts().first_token_seen;
            if let Err(e) = translator.feed(&chunk, &mut out) {
                broke = Some(format!("upstream stream: {e}"));
                break;
            }
            if !seen_before && translator.facts().first_token_seen {
                set_ttft(ctx);
            }
            if out.len() >= STREAM_WRITE_BATCH {
                break;
            }
            match call.ready_chunk() {
                Some(next) => read = next,
                None => break,
            }
        }
        if !out.is_empty() {
            written = true;
            if !write_chunk(session, ctx, std::mem::take(&mut out)).await {
                client_gone = true;
                break;
            }
        }
    }
    if !client_gone {
        match &broke {
            // The stream is already under way: end it with an error event in the client's
            // format, then close it properly, rather than leave the client hanging.
            Some(reason) => {
                ctx.error = Some(reason.clone());
                let begun = written || !out.is_empty();
                let event = req.front.stream_error_event(502, reason, req, begun);
                out.extend_from_slice(&event);
            }
            None => {
                let _ = translator.finish(&mut out);
            }
        }
        if out.is_empty() || write_chunk(session, ctx, out).await {
            end_stream(session, ctx).await;
        }
    }
    apply_stream_facts(ctx, translator.facts(), req);
}

pub(super) async fn start_stream(
    session: &mut Session,
    ctx: &mut RequestCtx,
    req: &ClientRequest,
) -> bool {
    ctx.status = 200;
    let header = ResponseHeader::build_no_case(200, Some(4)).and_then(|mut h| {
        h.append_header("content-type", req.stream_content_type())?;
        h.append_header("cache-control", "no-cache")?;
        h.append_header("transfer-encoding", "chunked")?;
        Ok(h)
    });
    match header {
        Ok(h) => match session.write_response_header(Box::new(h), false).await {
            Ok(()) => true,
            Err(e) => {
                ctx.error = Some(format!("client gone: {}", e.etype().as_str()));
                false
            }
        },
        Err(e) => {
            ctx.error = Some(format!("building response header: {e}"));
            false
        }
    }
}

/// Writes one piece of the stream; false when the client has gone (the stream's usage is
/// still recorded from what was seen).
pub(super) async fn write_chunk(
    session: &mut Session,
    ctx: &mut RequestCtx,
    data: Vec<u8>,
) -> bool {
    match session
        .write_response_body(Some(Bytes::from(data)), false)
        .await
    {
        Ok(()) => true,
        Err(e) => {
            ctx.error = Some(format!(
                "client disconnected mid-stream: {}",
                e.etype().as_str()
            ));
            false
        }
    }
}

pub(super) async fn end_stream(session: &mut Session, ctx: &mut RequestCtx) {
    if let Err(e) = session.write_response_body(None, true).await {
        ctx.error
            .get_or_insert_with(|| format!("client gone: {}", e.etype().as_str()));
    }
}

pub(super) fn set_ttft(ctx: &mut RequestCtx) {
    let elapsed = ctx.started.elapsed();
    if let Some(llm) = ctx.llm.as_mut() {
        llm.time_to_first_token.get_or_insert(elapsed);
    }
}
