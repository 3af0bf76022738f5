//! The `mock` provider: answered in-process from the hub request, in the client's shape.

use pingora::proxy::Session;
use sluice_providers::openai::OpenAiStream;
use sluice_providers::{mock, ClientRequest, ResponseTarget};

use super::facts::{apply_completion, apply_stream_facts};
use super::relay::{end_stream, set_ttft, start_stream, write_chunk};
use super::Call;
use crate::proxy::respond;
use crate::proxy::RequestCtx;

pub(super) async fn answer(
    session: &mut Session,
    ctx: &mut RequestCtx,
    req: &mut ClientRequest,
    model: &str,
    call: &Call<'_>,
) {
    let front = req.front;
    let hub = match req.hub() {
        Ok(hub) => hub,
        Err(e) => {
            let msg = e.to_string();
            respond::error(session, ctx, front, 400, &msg).await;
            return;
        }
    };
    if !hub.stream {
        let completion = mock::complete(hub, model, call.id, call.created);
        let completion = front.from_hub_response(completion, req);
        match completion {
            Ok(c) => {
                apply_completion(ctx, &c, req);
                respond::json(session, ctx, 200, c.body, &[]).await;
            }
            Err(e) => respond::error(session, ctx, front, 500, &e.to_string()).await,
        }
        return;
    }
    let (events, facts) = mock::stream(hub, model, call.id, call.created);
    let target = ResponseTarget {
        model,
        created: call.created,
        include_usage: hub.include_usage(),
    };
    // The hub is done with: the request is read again for the client's shape.
    let req = &*req;
    // The mock's events are hub (OpenAI) chunks: relayed as a provider's would be.
    let relay = front.from_hub_stream(Box::new(OpenAiStream::new(&target)), model, req);
    let mut relay = match relay {
        Ok(r) => r,
        Err(e) => {
            respond::error(session, ctx, front, 400, &e.to_string()).await;
            return;
        }
    };
    if !start_stream(session, ctx, req).await {
        return;
    }
    set_ttft(ctx);
    let mut clean = true;
    for event in events {
        let mut out = Vec::new();
        if relay.feed(&event, &mut out).is_err() {
            clean = false;
            break;
        }
        if !out.is_empty() && !write_chunk(session, ctx, out).await {
            clean = false;
            break;
        }
    }
    if clean {
        let mut out = Vec::new();
        if relay.finish(&mut out).is_ok() && !out.is_empty() {
            write_chunk(session, ctx, out).await;
        }
        end_stream(session, ctx).await;
    }
    apply_stream_facts(ctx, &facts, req);
}
