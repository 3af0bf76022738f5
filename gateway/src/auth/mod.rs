//! Upstream credentials: API keys as the provider wants them, Google OAuth tokens (Vertex),
//! AWS SigV4 signatures (Bedrock). Computed per request, last, over the final path and body.

pub mod google;
pub mod sigv4;

use std::time::SystemTime;

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
) -> Result<Vec<(String, String)>, String> {
    match (backend.provider.auth(), &backend.cloud, api_key) {
        (
            Auth::SigV4(service),
            Some(Cloud::Aws {
                region,
                credentials,
            }),
            _,
        ) => {
            let host = upstream.host_header();
            let scheme = if upstream.tls { "https" } else { "http" };
            let url = format!("{scheme}://{host}{path}");
            let headers = [("host", host), ("content-type", "application/json")];
            sigv4::sign(
                credentials,
                region,
                service,
                "POST",
                &url,
                &headers,
                body,
                SystemTime::now(),
            )
        }
        // Boxed: the token fetch (an HTTP call when the cached token is stale) is a large
        // future that other providers' requests need not carry.
        (Auth::GoogleOAuth, Some(Cloud::Google { auth, .. }), _) => Box::pin(auth.token())
            .await
            .map(|t| vec![("authorization".to_string(), format!("Bearer {t}"))])
            .map_err(|e| format!("getting a Google access token: {e}")),
        (_, Some(Cloud::AzureEntra { token }), _) => Ok(vec![(
            "authorization".to_string(),
            format!("Bearer {}", token.expose()),
        )]),
        (Auth::Bearer, _, Some(key)) => Ok(vec![(
            "authorization".to_string(),
            format!("Bearer {}", key.expose()),
        )]),
        (Auth::Header(name), _, Some(key)) => {
            Ok(vec![(name.to_string(), key.expose().to_string())])
        }
        _ => Ok(Vec::new()),
    }
}
