//! The chat completions flow: read the body once (capped), parse, translate for the route's
//! backend, call it (or answer in-process for `mock`), translate the answer back, streaming
//! event by event, and gather the LLM facts for telemetry on the way.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, HOST, USER_AGENT};
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::proxy::Session;
use sluice_providers::openai::ChatRequest;
use sluice_providers::{
    anthropic_front, mock, tokens, Completion, RequestTarget, ResponseTarget, StreamFacts,
    StreamTranslator, TranslateError, UpstreamRequest, Usage,
};
use sluice_telemetry::{LimitFacts, LlmFacts, Needs, PromptMessage, ToolCall};

use crate::balance::{Pick, Tried};
use crate::config::{Backend, Route, Secret, Upstream};
use crate::limits::{self, Scope, Verdict};
use crate::proxy::respond::{self, ClientFormat, APPLICATION_JSON};
use crate::proxy::upstream::{self, OpenCall};
use crate::proxy::{LlmProxy, RequestCtx};

/// Largest upstream response read whole (non-streamed answers and error bodies).
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// A stream's events that arrived together are written together, up to this many bytes.
const STREAM_WRITE_BATCH: usize = 32 * 1024;

pub async fn handle(
    proxy: &LlmProxy,
    session: &mut Session,
    ctx: &mut RequestCtx,
    route: &Route,
    format: ClientFormat,
) {
    if session.req_header().method != http::Method::POST {
        respond::error(session, ctx, format, 405, "chat completions take POST").await;
        return;
    }
    let config = &ctx.generation.config;
    let (limit, read_timeout) = (config.max_request_body_bytes, config.request_read_timeout);
    let body = match read_body_within(session, limit, read_timeout).await {
        Ok(b) => b,
        Err((status, msg)) => {
            respond::error(session, ctx, format, status, &msg).await;
            return;
        }
    };
    let parsed = match format {
        ClientFormat::OpenAi => ChatRequest::parse(&body),
        ClientFormat::Anthropic => anthropic_front::request_to_openai(&body),
    };
    let req = match parsed {
        Ok(r) => r,
        Err(e) => {
            respond::error(session, ctx, format, 400, &e.to_string()).await;
            return;
        }
    };
    let max_messages = ctx.generation.config.max_messages;
    if req.messages.len() > max_messages {
        let msg = format!(
            "too many messages: {} (at most {max_messages}, config.maxMessages)",
            req.messages.len()
        );
        respond::error(session, ctx, format, 400, &msg).await;
        return;
    }
    if !admit(proxy, session, ctx, route, &req, format).await {
        return;
    }
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let id = format!(
        "chatcmpl-{}",
        sluice_telemetry::facts::hex(&ctx.ids.span_id)
    );
    // A failover chain: each backend in order until one answers. Only failures before the
    // first byte reaches the client move on (connect errors, timeouts, 429, 5xx), so the
    // client always gets one clean answer in its own format.
    let mut reasons: Vec<String> = Vec::new();
    let needs = ctx.generation.telemetry.needs();
    let last = route.backends.len().saturating_sub(1);
    let budget = &proxy.state.retry_budget;
    budget.deposit();
    let mut attempts: u32 = 0;
    for (i, backend) in route.backends.iter().enumerate() {
        let mut tries = 0;
        // Targets of a balanced backend already called (a retry starts over).
        let mut tried = Tried::default();
        loop {
            attempts = attempts.saturating_add(1);
            // A retry of this backend is possible only while the shared budget allows: a
            // failing provider cannot turn every request into several.
            let may_retry = tries < backend.retries && budget.take();
            let more = i < last || may_retry;
            let mut facts = request_facts(&req, backend, needs);
            facts.attempts = attempts;
            facts.fallback_reasons.clone_from(&reasons);
            ctx.llm = Some(facts);
            let outcome = attempt(
                proxy,
                session,
                ctx,
                backend,
                route,
                Incoming {
                    req: &req,
                    body: (format == ClientFormat::OpenAi).then_some(body.as_slice()),
                },
                format,
                &id,
                created,
                more,
                &mut tried,
            )
            .await;
            match outcome {
                Attempt::Done => {
                    if may_retry {
                        budget.give_back();
                    }
                    return;
                }
                Attempt::NextTarget { reason } => {
                    // Another endpoint (or key) of the same backend, at once: no backoff,
                    // no retry spent.
                    log::debug!("backend {} failed: {reason}", backend.name);
                    reasons.push(format!("{}: {reason}", backend.name));
                    if may_retry {
                        budget.give_back();
                    }
                }
                Attempt::FailOver {
                    reason,
                    status,
                    retry_after,
                } => {
                    log::debug!("backend {} failed: {reason}", backend.name);
                    reasons.push(format!("{}: {reason}", backend.name));
                    let wait = retry_wait(tries + 1, retry_after);
                    match (may_retry, wait) {
                        (true, Some(wait)) => {
                            tries += 1;
                            tried = Tried::default();
                            let paused = Instant::now();
                            tokio::time::sleep(wait).await;
                            ctx.waited_since(paused);
                        }
                        (true, None) if i == last => {
                            // The provider asks for a longer pause than a retry may wait, and
                            // no backend is left: pass its answer on in the client's shape.
                            let after = retry_after.map_or(0, |d| d.as_secs());
                            let msg = format!("{}: {reason}; retry after {after}s", backend.name);
                            ctx.error = Some(msg.clone());
                            let body = respond::error_body(format, status.max(429), &msg);
                            let extra = [("retry-after", after.to_string())];
                            respond::json(session, ctx, status.max(429), body, &extra).await;
                            return;
                        }
                        (true, None) => {
                            budget.give_back();
                            break;
                        }
                        (false, _) => break,
                    }
                }
            }
        }
    }
}

/// Longest a retry waits, also for a provider's `retry-after`.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(10);

/// How long to wait before retry number `n` (1-based): the provider's `retry-after` when it
/// gave one (`None` if longer than [`MAX_RETRY_WAIT`]), else exponential backoff from 100 ms
/// with ±50% jitter, at most 2 s.
fn retry_wait(n: u32, retry_after: Option<Duration>) -> Option<Duration> {
    if let Some(after) = retry_after {
        return (after <= MAX_RETRY_WAIT).then_some(after);
    }
    let base = Duration::from_millis(100).saturating_mul(1 << n.saturating_sub(1).min(5));
    let jitter = rand::random_range(0.5..1.5);
    Some(base.mul_f64(jitter).min(Duration::from_secs(2)))
}

/// Counts the request against its key's and route's limits, all or none (prompt tokens
/// estimated now, reconciled with the real usage when it ends). False when it was refused:
/// 429 with `retry-after`, or 503 when the shared store did not answer and fails closed.
async fn admit(
    proxy: &LlmProxy,
    session: &mut Session,
    ctx: &mut RequestCtx,
    route: &Route,
    req: &ChatRequest,
    format: ClientFormat,
) -> bool {
    let key = ctx.client_key.as_ref().filter(|k| !k.limits.is_unlimited());
    let route_limited = !route.limits.is_unlimited();
    if key.is_none() && !route_limited {
        return true;
    }
    let prompt = req.prompt();
    let estimate = tokens::estimate_prompt(prompt.iter().map(|(r, t)| (r.as_str(), t.as_str())));
    let mut scopes = Vec::with_capacity(2);
    if let Some(k) = key {
        scopes.push(Scope {
            id: format!("key:{}", k.name),
            limits: k.limits,
        });
    }
    if route_limited {
        scopes.push(Scope {
            id: format!("route:{}", route.name),
            limits: route.limits,
        });
    }
    let ids: Vec<String> = scopes.iter().map(|s| s.id.clone()).collect();
    let generation = ctx.generation.clone();
    let shared = generation.shared_limits.as_ref();
    let verdict = limits::admit(&proxy.state.limits, shared, scopes, estimate).await;
    let decision = verdict.decision();
    let (status, msg, retry) = match verdict {
        Verdict::Allowed(admitted) => {
            ctx.limit = Some(LimitFacts {
                decision,
                scopes: ids,
            });
            ctx.admitted = Some(admitted);
            return true;
        }
        Verdict::FailOpen => {
            ctx.limit = Some(LimitFacts {
                decision,
                scopes: ids,
            });
            return true;
        }
        Verdict::Refused(refusal) => {
            let msg = format!("rate limit exceeded: {}", refusal.what);
            ctx.limit = Some(LimitFacts {
                decision,
                scopes: vec![refusal.scope],
            });
            (429, msg, refusal.retry_after.as_secs().max(1))
        }
        Verdict::FailClosed(why) => {
            ctx.limit = Some(LimitFacts {
                decision,
                scopes: ids,
            });
            let msg = format!(
                "rate limits cannot be checked (limit store unavailable: {why}); refused because config.limits.redis.failMode is closed"
            );
            (503, msg, 1)
        }
    };
    ctx.error = Some(msg.clone());
    let body = respond::error_body(format, status, &msg);
    respond::json(
        session,
        ctx,
        status,
        body,
        &[("retry-after", retry.to_string())],
    )
    .await;
    false
}

/// How one backend of the chain went.
enum Attempt {
    /// The client has its answer (success or a final error).
    Done,
    /// This backend failed before anything reached the client; try again or the next.
    FailOver {
        reason: String,
        /// The provider's status (0 when it was never reached).
        status: u16,
        /// The provider's `retry-after`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// This target of a balanced backend failed before anything reached the client, and
    /// another target of the backend can take the call.
    NextTarget { reason: String },
}

/// The client's request: parsed, and its OpenAI body as sent (`None` for the Anthropic front
/// door), which goes upstream unchanged when nothing in it needs translating.
#[derive(Clone, Copy)]
struct Incoming<'a> {
    req: &'a ChatRequest,
    body: Option<&'a [u8]>,
}

/// Calls one backend (one of its targets, when balanced, outside `tried`); `more` says
/// whether a later backend or a retry could take over on failure.
#[allow(clippy::too_many_arguments)]
async fn attempt(
    proxy: &LlmProxy,
    session: &mut Session,
    ctx: &mut RequestCtx,
    backend: &Backend,
    route: &Route,
    incoming: Incoming<'_>,
    format: ClientFormat,
    id: &str,
    created: u64,
    more: bool,
    tried: &mut Tried,
) -> Attempt {
    let req = incoming.req;
    let model = route.model_for(backend, &req.model);
    if model.is_empty() && !backend.provider.model_in_url() {
        let msg = format!(
            "the request names no model and backend {} pins none; set \"model\" in the request or `model:` on the backend",
            backend.name
        );
        if more {
            return Attempt::FailOver {
                reason: msg,
                status: 0,
                retry_after: None,
            };
        }
        respond::error(session, ctx, format, 400, &msg).await;
        return Attempt::Done;
    }
    let Some(upstream) = backend.upstream.as_ref() else {
        answer_mock(session, ctx, req, &model, id, created, format).await;
        return Attempt::Done;
    };
    let Pick {
        mut lease,
        upstream,
        api_key,
        endpoint,
        spare,
    } = match crate::balance::pick(backend, upstream, tried) {
        Ok(p) => p,
        Err(reason) if more => {
            return Attempt::FailOver {
                reason,
                status: 0,
                retry_after: None,
            }
        }
        Err(reason) => {
            respond::error(session, ctx, format, 503, &reason).await;
            return Attempt::Done;
        }
    };
    let target = RequestTarget {
        model: &model,
        api_version: backend.api_version.as_deref(),
        vertex: backend.vertex_site(),
    };
    let translated = match backend
        .provider
        .translate_request_reusing(req, incoming.body, &target)
    {
        Ok(t) => t,
        Err(e) if more => {
            return Attempt::FailOver {
                reason: e.to_string(),
                status: 0,
                retry_after: None,
            }
        }
        Err(e) => {
            respond::error(session, ctx, format, 400, &e.to_string()).await;
            return Attempt::Done;
        }
    };
    ctx.endpoint = endpoint.to_string();
    let header = match upstream_header(session, ctx, backend, upstream, api_key, &translated).await
    {
        Ok(h) => h,
        Err(msg) if more => {
            return Attempt::FailOver {
                reason: msg,
                status: 0,
                retry_after: None,
            }
        }
        Err(msg) => {
            respond::error(session, ctx, format, 500, &msg).await;
            return Attempt::Done;
        }
    };
    let state = &proxy.state;
    let asked = Instant::now();
    let call = upstream::call(
        &state.connector,
        &state.dns,
        backend,
        upstream,
        &header,
        &translated.body,
    )
    .await;
    ctx.waited_since(asked);
    if let (Some(lease), Err(_)) = (lease.as_mut(), &call) {
        lease.failed(&state.metrics);
    }
    let mut call = match call {
        Ok(c) => c,
        Err(e) if spare => {
            return Attempt::NextTarget {
                reason: e.message().to_string(),
            }
        }
        Err(e) if more => {
            return Attempt::FailOver {
                reason: e.message().to_string(),
                status: 0,
                retry_after: None,
            }
        }
        Err(e) => {
            respond::error(session, ctx, format, e.status(), e.message()).await;
            return Attempt::Done;
        }
    };
    let status = call.status();
    if let Some(lease) = lease.as_mut() {
        lease.answered(status, &state.metrics);
    }
    if spare && (status == 429 || status >= 500) {
        call.release(&state.connector).await;
        return Attempt::NextTarget {
            reason: format!("status {status} from {}", ctx.endpoint),
        };
    }
    if more && (status == 429 || status >= 500) {
        let retry_after = call
            .header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        // The answer is not read; the connection is closed, not pooled.
        call.release(&state.connector).await;
        return Attempt::FailOver {
            reason: match &lease {
                Some(_) => format!("status {status} from {}", ctx.endpoint),
                None => format!("status {status}"),
            },
            status,
            retry_after,
        };
    }
    let response_target = ResponseTarget {
        model: &model,
        created,
        include_usage: req.include_usage(),
    };
    if !(200..300).contains(&status) {
        relay_error(session, ctx, backend, &mut call, status, format).await;
    } else if req.stream {
        let translator = backend
            .provider
            .stream_translator(&response_target, id.to_string());
        let translator = for_client(translator, format, &model);
        relay_stream(session, ctx, &mut call, translator, req, format).await;
    } else {
        relay_complete(
            session,
            ctx,
            backend,
            &mut call,
            &response_target,
            req,
            format,
        )
        .await;
    }
    call.release(&state.connector).await;
    drop(lease);
    Attempt::Done
}

/// Anthropic's `messages/count_tokens`, answered by the gateway (tiktoken estimate).
pub async fn count_tokens(session: &mut Session, ctx: &mut RequestCtx) {
    let format = ClientFormat::Anthropic;
    if session.req_header().method != http::Method::POST {
        respond::error(session, ctx, format, 405, "count_tokens takes POST").await;
        return;
    }
    let config = &ctx.generation.config;
    let (limit, read_timeout) = (config.max_request_body_bytes, config.request_read_timeout);
    let answer = match read_body_within(session, limit, read_timeout).await {
        Ok(body) => anthropic_front::count_tokens(&body).map_err(|e| (400, e.to_string())),
        Err(e) => Err(e),
    };
    match answer {
        Ok(body) => respond::json(session, ctx, 200, body, &[]).await,
        Err((status, msg)) => respond::error(session, ctx, format, status, &msg).await,
    }
}

/// Translates an OpenAI-format stream on to the client's format.
struct Chained {
    inner: Box<dyn StreamTranslator>,
    outer: anthropic_front::AnthropicStream,
    buf: Vec<u8>,
}

impl StreamTranslator for Chained {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), TranslateError> {
        self.buf.clear();
        self.inner.feed(chunk, &mut self.buf)?;
        self.outer.feed(&self.buf, out)
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), TranslateError> {
        self.buf.clear();
        self.inner.finish(&mut self.buf)?;
        self.outer.feed(&self.buf, out)?;
        self.outer.finish(out)
    }

    fn facts(&self) -> &StreamFacts {
        self.inner.facts()
    }
}

/// The provider's stream translator, followed by the front door's when the client is not
/// speaking OpenAI.
fn for_client(
    inner: Box<dyn StreamTranslator>,
    format: ClientFormat,
    model: &str,
) -> Box<dyn StreamTranslator> {
    match format {
        ClientFormat::OpenAi => inner,
        ClientFormat::Anthropic => Box::new(Chained {
            inner,
            outer: anthropic_front::AnthropicStream::new(model),
            buf: Vec::with_capacity(4096),
        }),
    }
}

/// An OpenAI chat.completion body in the client's format.
fn completion_for_client(body: Vec<u8>, format: ClientFormat) -> Result<Vec<u8>, TranslateError> {
    match format {
        ClientFormat::OpenAi => Ok(body),
        ClientFormat::Anthropic => anthropic_front::response_from_openai(&body),
    }
}

/// Reads the whole request body, refusing (413) a declared or actual size over `limit`, and
/// answering 408 when the client takes longer than `timeout` to send it all (a slow client
/// trickling its body does not hold the worker; the connection is closed after the answer).
pub(crate) async fn read_body_within(
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

/// The request's facts; the prompt and parameters are copied only when telemetry reads them.
fn request_facts(req: &ChatRequest, backend: &Backend, needs: Needs) -> LlmFacts {
    let mut facts = LlmFacts {
        provider: backend.provider.name().to_string(),
        request_model: req.model.clone(),
        streaming: req.stream,
        ..LlmFacts::default()
    };
    if needs.params {
        facts.params = req
            .params()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
    }
    if needs.prompt {
        facts.prompt = req
            .prompt()
            .into_iter()
            .map(|(role, content)| PromptMessage { role, content })
            .collect();
    }
    facts
}

const SLUICE_AGENT: HeaderValue =
    HeaderValue::from_static(concat!("sluice/", env!("CARGO_PKG_VERSION")));
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// The upstream request header: path, host, JSON body length, the provider's credentials
/// with `api_key` (the client's own only when there are none), and our span as `traceparent`.
pub(crate) async fn upstream_header(
    session: &Session,
    ctx: &RequestCtx,
    backend: &Backend,
    upstream: &Upstream,
    api_key: Option<&Secret>,
    translated: &UpstreamRequest,
) -> Result<RequestHeader, String> {
    let path = upstream.join_path(&translated.path);
    let credentials =
        crate::auth::credential_headers(backend, upstream, api_key, &path, &translated.body)
            .await?;
    let build = || -> pingora::Result<RequestHeader> {
        // Lower-case names, no case map to keep (`build_no_case`), and `append_header`: the
        // names below are distinct, so nothing needs replacing. Credentials go in last with
        // `insert_header`, so they win over anything before.
        // Names as `HeaderName` constants and static values `from_static`: nothing parsed or
        // copied per request for them.
        let mut h = RequestHeader::build_no_case("POST", path.as_bytes(), Some(10))?;
        h.append_header(HOST, upstream.host_value().clone())?;
        h.append_header(CONTENT_TYPE, APPLICATION_JSON)?;
        h.append_header(CONTENT_LENGTH, HeaderValue::from(translated.body.len()))?;
        h.append_header(USER_AGENT, SLUICE_AGENT)?;
        h.append_header(TRACEPARENT, ctx.ids.traceparent())?;
        if let Some(state) = session.get_header("tracestate") {
            // The caller's vendor trace state travels on with its trace.
            if ctx.ids.parent_span_id.is_some() {
                h.append_header(TRACESTATE, state.clone())?;
            }
        }
        for (name, value) in backend.provider.fixed_headers() {
            h.append_header(*name, *value)?;
        }
        if credentials.is_empty() && !ctx.client_auth_consumed {
            for name in ["authorization", "x-api-key", "x-goog-api-key", "api-key"] {
                if let Some(v) = session.get_header(name) {
                    h.append_header(name, v.clone())?;
                }
            }
        }
        for (name, value) in credentials {
            h.insert_header(name, value)?;
        }
        Ok(h)
    };
    build().map_err(|e| format!("building the upstream request: {}", e.etype().as_str()))
}

async fn answer_mock(
    session: &mut Session,
    ctx: &mut RequestCtx,
    req: &ChatRequest,
    model: &str,
    id: &str,
    created: u64,
    format: ClientFormat,
) {
    if req.stream {
        let (events, facts) = mock::stream(req, model, id, created);
        if !start_stream(session, ctx).await {
            return;
        }
        let mut front = match format {
            ClientFormat::OpenAi => None,
            ClientFormat::Anthropic => Some(anthropic_front::AnthropicStream::new(model)),
        };
        set_ttft(ctx);
        let mut clean = true;
        for event in events {
            let data = match front.as_mut() {
                None => event,
                Some(front) => {
                    let mut out = Vec::new();
                    if front.feed(&event, &mut out).is_err() {
                        clean = false;
                        break;
                    }
                    out
                }
            };
            if !data.is_empty() && !write_chunk(session, ctx, data).await {
                clean = false;
                break;
            }
        }
        if clean {
            if let Some(front) = front.as_mut() {
                let mut out = Vec::new();
                if front.finish(&mut out).is_ok() && !out.is_empty() {
                    write_chunk(session, ctx, out).await;
                }
            }
            end_stream(session, ctx).await;
        }
        apply_stream_facts(ctx, &facts, req);
    } else {
        let completion = mock::complete(req, model, id, created);
        apply_completion(ctx, &completion, req);
        match completion_for_client(completion.body, format) {
            Ok(body) => respond::json(session, ctx, 200, body, &[]).await,
            Err(e) => respond::error(session, ctx, format, 500, &e.to_string()).await,
        }
    }
}

async fn relay_error(
    session: &mut Session,
    ctx: &mut RequestCtx,
    backend: &Backend,
    call: &mut OpenCall,
    status: u16,
    format: ClientFormat,
) {
    let reading = Instant::now();
    let body = call.read_all(MAX_RESPONSE_BYTES).await.unwrap_or_default();
    ctx.waited_since(reading);
    let translated = backend.provider.translate_error(status, &body);
    let translated = match format {
        ClientFormat::OpenAi => translated,
        ClientFormat::Anthropic => anthropic_front::error_from_openai(status, &translated),
    };
    ctx.error = Some(format!("upstream returned status {status}"));
    let mut extra = Vec::new();
    if let Some(retry) = call.header("retry-after") {
        extra.push(("retry-after", retry));
    }
    respond::json(session, ctx, status, translated, &extra).await;
}

async fn relay_complete(
    session: &mut Session,
    ctx: &mut RequestCtx,
    backend: &Backend,
    call: &mut OpenCall,
    target: &ResponseTarget<'_>,
    req: &ChatRequest,
    format: ClientFormat,
) {
    let reading = Instant::now();
    let read = call.read_all(MAX_RESPONSE_BYTES).await;
    ctx.waited_since(reading);
    let body = match read {
        Ok(b) => b,
        Err(e) => {
            respond::error(session, ctx, format, e.status(), e.message()).await;
            return;
        }
    };
    let completion = backend.provider.translate_response(&body, target);
    let completion = completion.and_then(|c| {
        apply_completion(ctx, &c, req);
        completion_for_client(c.body, format)
    });
    match completion {
        Ok(body) => respond::json(session, ctx, 200, body, &[]).await,
        Err(e) => {
            let msg = e.to_string();
            respond::error(session, ctx, format, 502, &msg).await;
        }
    }
}

async fn relay_stream(
    session: &mut Session,
    ctx: &mut RequestCtx,
    call: &mut OpenCall,
    mut translator: Box<dyn StreamTranslator>,
    req: &ChatRequest,
    format: ClientFormat,
) {
    if !start_stream(session, ctx).await {
        return;
    }
    let mut out = Vec::with_capacity(4096);
    // Why the upstream side ended early, if it did; the client is still there then.
    let mut broke: Option<String> = None;
    let mut client_gone = false;
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
        if !out.is_empty() && !write_chunk(session, ctx, std::mem::take(&mut out)).await {
            client_gone = true;
            break;
        }
    }
    if !client_gone {
        match &broke {
            // The stream is already under way: end it with an error event in the client's
            // format, then close it properly, rather than leave the client hanging.
            Some(reason) => {
                ctx.error = Some(reason.clone());
                out.extend_from_slice(&stream_error_event(format, reason));
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

/// An error as a stream event: OpenAI's `data: {"error": ...}` then `[DONE]`, or Anthropic's
/// `event: error`.
fn stream_error_event(format: ClientFormat, message: &str) -> Vec<u8> {
    let body = String::from_utf8_lossy(&respond::error_body(format, 502, message)).into_owned();
    match format {
        ClientFormat::OpenAi => format!("data: {body}\n\ndata: [DONE]\n\n").into_bytes(),
        ClientFormat::Anthropic => format!("event: error\ndata: {body}\n\n").into_bytes(),
    }
}

async fn start_stream(session: &mut Session, ctx: &mut RequestCtx) -> bool {
    ctx.status = 200;
    let header = ResponseHeader::build_no_case(200, Some(4)).and_then(|mut h| {
        h.append_header("content-type", "text/event-stream")?;
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
async fn write_chunk(session: &mut Session, ctx: &mut RequestCtx, data: Vec<u8>) -> bool {
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

async fn end_stream(session: &mut Session, ctx: &mut RequestCtx) {
    if let Err(e) = session.write_response_body(None, true).await {
        ctx.error
            .get_or_insert_with(|| format!("client gone: {}", e.etype().as_str()));
    }
}

fn set_ttft(ctx: &mut RequestCtx) {
    let elapsed = ctx.started.elapsed();
    if let Some(llm) = ctx.llm.as_mut() {
        llm.time_to_first_token.get_or_insert(elapsed);
    }
}

/// Usage as reported, or counted with tiktoken when the provider gave none (marked estimated).
fn usage_or_estimate(usage: Usage, texts: &[String], req: &ChatRequest) -> Usage {
    if usage.input_tokens.is_some() && usage.output_tokens.is_some() {
        return usage;
    }
    let prompt = req.prompt();
    let input = usage.input_tokens.unwrap_or_else(|| {
        tokens::estimate_prompt(prompt.iter().map(|(r, t)| (r.as_str(), t.as_str())))
    });
    let output = usage
        .output_tokens
        .unwrap_or_else(|| texts.iter().map(|t| tokens::estimate(t)).sum());
    Usage {
        input_tokens: Some(input),
        output_tokens: Some(output),
        total_tokens: Some(input.saturating_add(output)),
        estimated: true,
        ..usage
    }
}

/// The response's facts; the completion and tool calls are copied only when telemetry reads
/// them.
fn fill_facts(
    llm: &mut LlmFacts,
    needs: Needs,
    usage: Usage,
    response_model: Option<&String>,
    texts: &[String],
    finish_reasons: &[String],
    tool_calls: &[sluice_providers::ToolCallFact],
) {
    llm.input_tokens = usage.input_tokens;
    llm.output_tokens = usage.output_tokens;
    llm.total_tokens = usage.total();
    llm.cached_input_tokens = usage.cached_input_tokens;
    llm.reasoning_tokens = usage.reasoning_tokens;
    llm.usage_estimated = usage.estimated;
    llm.response_model = response_model.cloned();
    llm.finish_reasons = finish_reasons.to_vec();
    if needs.completion {
        llm.completion = texts.to_vec();
    }
    if needs.tool_calls {
        llm.tool_calls = tool_calls
            .iter()
            .map(|t| ToolCall {
                id: t.id.clone(),
                name: t.name.clone(),
                arguments: t.arguments.clone(),
            })
            .collect();
    }
}

fn apply_completion(ctx: &mut RequestCtx, c: &Completion, req: &ChatRequest) {
    let needs = ctx.generation.telemetry.needs();
    if let Some(llm) = ctx.llm.as_mut() {
        let usage = usage_or_estimate(c.usage, &c.texts, req);
        fill_facts(
            llm,
            needs,
            usage,
            c.response_model.as_ref(),
            &c.texts,
            &c.finish_reasons,
            &c.tool_calls,
        );
    }
}

fn apply_stream_facts(ctx: &mut RequestCtx, f: &StreamFacts, req: &ChatRequest) {
    let needs = ctx.generation.telemetry.needs();
    if let Some(llm) = ctx.llm.as_mut() {
        let usage = usage_or_estimate(f.usage, &f.texts, req);
        fill_facts(
            llm,
            needs,
            usage,
            f.response_model.as_ref(),
            &f.texts,
            &f.finish_reasons,
            &f.tool_calls,
        );
    }
}
