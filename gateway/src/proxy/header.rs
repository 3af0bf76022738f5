//! The upstream request header: path, host, body length, the provider's API headers and
//! credentials, and the trace context.

use std::borrow::Cow;

use http::header::{HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, HOST, USER_AGENT};
use pingora::http::RequestHeader;
use pingora::proxy::Session;
use sluice_providers::UpstreamRequest;

use crate::auth::{credential_headers, Credentials};
use crate::config::Upstream;
use crate::proxy::respond::APPLICATION_JSON;
use crate::proxy::RequestCtx;

const SLUICE_AGENT: HeaderValue =
    HeaderValue::from_static(concat!("sluice/", env!("CARGO_PKG_VERSION")));
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// Why no upstream request header could be made.
#[derive(Debug)]
pub(crate) enum HeaderError {
    /// The backend's credentials could not be had (a cloud credential source failed): 503.
    Credentials(String),
    /// Anything else (an invalid header value): 500.
    Invalid(String),
}

impl HeaderError {
    pub(crate) fn status(&self) -> u16 {
        match self {
            HeaderError::Credentials(_) => 503,
            HeaderError::Invalid(_) => 500,
        }
    }

    /// Counts a credentials failure of `backend` in `sluice_credential_errors_total`.
    pub(crate) fn count(&self, metrics: &sluice_telemetry::Metrics, backend: &str) {
        if matches!(self, HeaderError::Credentials(_)) {
            metrics.credential_error(backend);
        }
    }

    pub(crate) fn message(&self) -> &str {
        match self {
            HeaderError::Credentials(m) | HeaderError::Invalid(m) => m,
        }
    }
}

/// The upstream request header: path, host, JSON body length, the API's headers, the
/// provider's credentials `creds` (the client's own only when there are none), and our span
/// as `traceparent`.
pub(crate) async fn upstream_header(
    session: &Session,
    ctx: &RequestCtx,
    creds: Credentials<'_>,
    upstream: &Upstream,
    method: &str,
    translated: &UpstreamRequest,
) -> Result<RequestHeader, HeaderError> {
    let path = upstream.join_path(&translated.path);
    let credentials = credential_headers(creds, upstream, method, &path, &translated.body)
        .await
        .map_err(HeaderError::Credentials)?;
    let build = || -> pingora::Result<RequestHeader> {
        // Lower-case names, no case map to keep (`build_no_case`), and `append_header`: the
        // names below are distinct, so nothing needs replacing. Credentials go in last with
        // `insert_header`, so they win over anything before.
        // Names as `HeaderName` constants and static values `from_static`: nothing parsed or
        // copied per request for them.
        let mut h = RequestHeader::build_no_case(
            method,
            path.as_bytes(),
            Some(10 + translated.headers.len()),
        )?;
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
        // The provider API's own headers (`anthropic-version`; in native pass-through the
        // client's `anthropic-beta`).
        for (name, value) in &translated.headers {
            let value = match value {
                Cow::Borrowed(v) => static_value(v)?,
                Cow::Owned(v) => HeaderValue::from_str(v).map_err(|_| {
                    pingora::Error::explain(pingora::ErrorType::InvalidHTTPHeader, "header value")
                })?,
            };
            h.append_header(static_name(name)?, value)?;
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
    build().map_err(|e| {
        HeaderError::Invalid(format!(
            "building the upstream request: {}",
            e.etype().as_str()
        ))
    })
}

/// A header name known when sluice was built, without a copy (`HeaderName::from_bytes` copies
/// every name that is not a standard one); checked first, as `from_static` would panic.
pub(crate) fn static_name(name: &'static str) -> pingora::Result<HeaderName> {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(HeaderName::from_static(name))
    } else {
        HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            pingora::Error::explain(pingora::ErrorType::InvalidHTTPHeader, "header name")
        })
    }
}

/// A header value known when sluice was built, without a copy; checked first, as
/// `from_static` would panic.
fn static_value(value: &'static str) -> pingora::Result<HeaderValue> {
    if value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        Ok(HeaderValue::from_static(value))
    } else {
        Err(pingora::Error::explain(
            pingora::ErrorType::InvalidHTTPHeader,
            "header value",
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn static_names_and_values_are_checked_not_trusted() {
        assert_eq!(
            super::static_name("anthropic-beta").unwrap(),
            "anthropic-beta"
        );
        assert_eq!(super::static_name("X-Odd").unwrap(), "x-odd");
        assert!(super::static_name("bad name").is_err());
        assert_eq!(super::static_value("2023-06-01").unwrap(), "2023-06-01");
        assert!(super::static_value("line\nbreak").is_err());
    }
}
