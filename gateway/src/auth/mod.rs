//! Upstream credentials: API keys as the provider wants them, Google OAuth tokens (Vertex),
//! AWS SigV4 signatures (Bedrock). Computed per request, last, over the final path and body.

pub mod aws;
pub mod aws_chain;
pub mod azure;
pub mod google;
pub mod google_adc;
pub mod kept;
pub mod sigv4;

use std::time::SystemTime;

use http::header::{HeaderName, HeaderValue, AUTHORIZATION};
use sluice_providers::{Auth, ProviderKind};

use crate::config::runtime::Cloud;
use crate::config::{Backend, Secret, Upstream};

/// Whose credentials authenticate a call: the provider's way, the backend's cloud
/// credentials, and the picked target's key and region (see [`crate::balance::Pick`]).
#[derive(Clone, Copy)]
pub struct Credentials<'a> {
    pub provider: ProviderKind,
    pub cloud: Option<&'a Cloud>,
    /// The backend's key, or the chosen target's.
    pub api_key: Option<&'a Secret>,
    /// The target's own AWS region, replacing the backend's in the signature.
    pub site: Option<&'a str>,
}

impl<'a> Credentials<'a> {
    /// The credentials of a call of `backend` with the key and site `pick` chose.
    pub fn of(backend: &'a Backend, api_key: Option<&'a Secret>, site: Option<&'a str>) -> Self {
        Credentials {
            provider: backend.provider,
            cloud: backend.cloud.as_ref(),
            api_key,
            site,
        }
    }
}

/// The headers that authenticate `method path` with `body` on `upstream`; empty when there
/// are no credentials (the client's own are forwarded then).
pub async fn credential_headers(
    creds: Credentials<'_>,
    upstream: &Upstream,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    match (creds.provider.auth(), creds.cloud, creds.api_key) {
        (Auth::SigV4(service), Some(Cloud::Aws { region, auth }), _) => {
            // Boxed like the Google token below: a fetch is a large future.
            let credentials = Box::pin(auth.credentials()).await?;
            let credentials = &credentials;
            let host = upstream.host_header();
            let scheme = if upstream.tls { "https" } else { "http" };
            let url = format!("{scheme}://{host}{path}");
            // A GET (a health probe) carries no body and no content type.
            let headers: &[(&str, &str)] = if method == "GET" {
                &[("host", host)]
            } else {
                &[("host", host), ("content-type", "application/json")]
            };
            let signed = sigv4::sign(
                credentials,
                creds.site.unwrap_or(region),
                service,
                method,
                &url,
                headers,
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
        (
            _,
            Some(Cloud::GeminiOAuth {
                quota_project,
                auth,
            }),
            _,
        ) => {
            let token = Box::pin(auth.token())
                .await
                .map_err(|e| format!("getting a Google access token: {e}"))?;
            let mut headers = bearer(&token)?;
            if let Some(project) = quota_project {
                headers.push((USER_PROJECT, project.clone()));
            }
            Ok(headers)
        }
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

/// The project a Google API call is billed and counted to (with user credentials).
const USER_PROJECT: HeaderName = HeaderName::from_static("x-goog-user-project");

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
