//! Upstream credentials: API keys as the provider wants them, Google OAuth tokens (Vertex),
//! AWS SigV4 signatures (Bedrock). Computed per request, last, over the final path and body.

pub mod aws;
pub mod azure;
pub mod google;
pub mod google_adc;
pub mod kept;
pub mod sigv4;

use std::time::SystemTime;

use http::header::{HeaderName, HeaderValue, AUTHORIZATION};
use sluice_providers::Auth;

use crate::config::runtime::Cloud;
use crate::config::{Backend, Upstream};

/// The headers that authenticate a request to `backend` with `api_key` (the backend's, or
/// the chosen target's); empty when there are no credentials (the client's own are
/// forwarded then).
pub async fn credential_headers(
    backend: &Backend,
    upstream: &Upstream,
    api_key: Option<&crate::config::Secret>,
    path: &str,
    body: &[u8],
) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    match (backend.provider.auth(), &backend.cloud, api_key) {
        (Auth::SigV4(service), Some(Cloud::Aws { region, auth }), _) => {
            // Boxed like the Google token below: a fetch is a large future.
            let credentials = Box::pin(auth.credentials()).await?;
            let credentials = &credentials;
            let host = upstream.host_header();
            let scheme = if upstream.tls { "https" } else { "http" };
            let url = format!("{scheme}://{host}{path}");
            let headers = [("host", host), ("content-type", "application/json")];
            let signed = sigv4::sign(
                credentials,
                region,
                service,
                "POST",
                &url,
                &headers,
                body,
                SystemTime::now(),
            )?;
            signed
                .into_iter()
                .map(|(name, value)| {
                    let name = HeaderName::from_bytes(name.as_bytes())
                        .map_err(|_| format!("SigV4 produced an invalid header name {name}"))?;
                    Ok((name, secret_value(value)?))
                })
                .collect()
        }
        // Boxed: the token fetch (an HTTP call when the cached token is stale) is a large
        // future that other providers' requests need not carry.
        (Auth::GoogleOAuth, Some(Cloud::Google { auth, .. }), _) => Box::pin(auth.token())
            .await
            .map_err(|e| format!("getting a Google access token: {e}"))
            .and_then(|t| bearer(&t)),
        (_, Some(Cloud::AzureEntra { token }), _) => bearer(token.expose()),
        (_, Some(Cloud::AzureIdentity { auth }), _) => bearer(&Box::pin(auth.token()).await?),
        (Auth::Bearer, _, Some(key)) => bearer(key.expose()),
        (Auth::Header(name), _, Some(key)) => {
            let name = crate::proxy::header::static_name(name)
                .map_err(|_| format!("invalid credential header name {name}"))?;
            Ok(vec![(name, secret_value(key.expose().to_string())?)])
        }
        _ => Ok(Vec::new()),
    }
}

/// `authorization: Bearer <token>`.
fn bearer(token: &str) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let mut value = String::with_capacity(7 + token.len());
    value.push_str("Bearer ");
    value.push_str(token);
    Ok(vec![(AUTHORIZATION, secret_value(value)?)])
}

/// A credential as a header value, marked sensitive; the error does not repeat it.
fn secret_value(value: String) -> Result<HeaderValue, String> {
    let mut value = HeaderValue::try_from(value)
        .map_err(|_| "the credential is not a valid HTTP header value".to_string())?;
    value.set_sensitive(true);
    Ok(value)
}
