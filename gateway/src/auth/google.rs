//! Google OAuth 2.0 access tokens for Google Cloud APIs (Vertex AI).
//!
//! Three sources:
//! - Application Default Credentials or the metadata server, on Google's crate
//!   ([`super::google_adc`]);
//! - a service-account JSON key given in config, exchanged for access tokens with the JWT-bearer flow
//!   (RFC 7523) exactly as Google documents it for service accounts: an RS256-signed JWT
//!   `{iss: client_email, scope, aud: token_uri, iat, exp: iat + 3600}` is POSTed as
//!   `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<jwt>` to the key's
//!   `token_uri`, which answers `{"access_token", "expires_in", "token_type"}`;
//! - a fixed access token from config (never refreshed).
//!
//! The key given in config is exchanged here rather than by `google-cloud-auth`: that crate
//! signs a self-signed JWT with a service-account key and sends it as the bearer, without the
//! exchange at the key's `token_uri`; whether Vertex AI accepts such JWTs is not documented,
//! and the exchange is what Google documents for service accounts. A key file named by
//! `GOOGLE_APPLICATION_CREDENTIALS` goes through the crate (ADC) like every other ADC source.
//!
//! Service-account tokens are cached and refreshed once they are within
//! [`REFRESH_MARGIN`] of expiry. Concurrent callers share one refresh: the first caller to
//! find the token stale performs the exchange while the others wait for it and then take
//! its result (token or error). A failed refresh caches nothing, so the next call retries.
//!
//! Secrets (the private key, the signed assertion, access tokens) never appear in `Debug`
//! output or in [`AuthError`] messages.

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use serde_json::Value;

/// The OAuth scope that covers Vertex AI (and every other Google Cloud API).
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// Token endpoint used when the key file has no `token_uri`.
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// A cached token is refreshed once it has less than this left before it expires.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Lifetime of the signed assertion (Google's maximum).
const ASSERTION_LIFETIME_SECS: u64 = 3600;
/// Assumed token lifetime when the endpoint does not say.
const DEFAULT_EXPIRES_IN_SECS: u64 = 3600;
/// Upper bound on a token lifetime we believe (keeps `Instant` arithmetic in range).
const MAX_EXPIRES_IN_SECS: u64 = 24 * 3600;
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest piece of a token-endpoint error body quoted in an error message.
const MAX_ERROR_TEXT: usize = 512;

/// Why no access token could be had. Messages never contain key material or tokens.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The service-account key is unusable (bad JSON, missing field, bad PEM).
    #[error("invalid Google service-account key: {0}")]
    InvalidKey(String),
    /// Obtaining a token from the token endpoint failed.
    #[error("Google OAuth token exchange failed: {0}")]
    Exchange(String),
    /// Application Default Credentials gave no token.
    #[error("no Google access token from {0}")]
    Adc(String),
}

impl AuthError {
    /// A copy for the callers that shared a failed refresh.
    fn duplicate(&self) -> Self {
        match self {
            AuthError::InvalidKey(m) => AuthError::InvalidKey(m.clone()),
            AuthError::Exchange(m) => AuthError::Exchange(m.clone()),
            AuthError::Adc(m) => AuthError::Adc(m.clone()),
        }
    }
}

/// A source of Google OAuth access tokens (send them as `Authorization: Bearer <token>`).
pub struct GoogleAuth {
    source: Source,
}

enum Source {
    Static(String),
    ServiceAccount(Box<ServiceAccount>),
    Adc(std::sync::Arc<super::google_adc::Adc>),
}

struct ServiceAccount {
    client_email: String,
    private_key_id: Option<String>,
    token_uri: String,
    scope: String,
    key: EncodingKey,
    http: reqwest::Client,
    /// Cached token and refresh bookkeeping; held only briefly, never across an await.
    state: Mutex<State>,
    /// Serialises refreshes: held (across the exchange) by the caller doing the refresh.
    refresh: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    cached: Option<CachedToken>,
    /// Number of completed refresh attempts (successful or not).
    attempts: u64,
    /// The error of the latest attempt if it failed.
    last_error: Option<AuthError>,
}

struct CachedToken {
    access_token: String,
    /// When the token stops being served from the cache (expiry minus the margin).
    refresh_at: Instant,
}

impl State {
    fn fresh(&self) -> Option<String> {
        self.cached
            .as_ref()
            .filter(|c| Instant::now() < c.refresh_at)
            .map(|c| c.access_token.clone())
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

impl GoogleAuth {
    /// From a service-account JSON key (the file's text): uses `client_email`,
    /// `private_key` (PEM RSA), `private_key_id` (optional, sent as the JWT `kid`) and
    /// `token_uri` (default [`DEFAULT_TOKEN_URI`]). `scope` is one scope or several
    /// space-separated, e.g. [`CLOUD_PLATFORM_SCOPE`]. No network access happens here.
    pub fn service_account(json: &str, scope: &str) -> Result<Self, AuthError> {
        // Parse to a `Value` first: serde's typed errors can quote field values, and
        // one of them is the private key. Syntax errors only carry a position.
        let doc: Value = serde_json::from_str(json)
            .map_err(|e| AuthError::InvalidKey(format!("not valid JSON ({e})")))?;
        let obj = doc
            .as_object()
            .ok_or_else(|| AuthError::InvalidKey("not a JSON object".into()))?;
        let field = |name: &str, required: bool| -> Result<Option<String>, AuthError> {
            match obj.get(name) {
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
                Some(Value::String(_)) if required => {
                    Err(AuthError::InvalidKey(format!("field `{name}` is empty")))
                }
                Some(Value::String(_)) | Some(Value::Null) | None if !required => Ok(None),
                Some(Value::Null) | None => {
                    Err(AuthError::InvalidKey(format!("field `{name}` is missing")))
                }
                Some(_) => Err(AuthError::InvalidKey(format!(
                    "field `{name}` is not a string"
                ))),
            }
        };

        if let Some(kind) = field("type", false)? {
            if kind != "service_account" {
                return Err(AuthError::InvalidKey(format!(
                    "field `type` is {kind:?}, expected \"service_account\""
                )));
            }
        }
        let client_email = field("client_email", true)?.unwrap_or_default();
        let private_key = field("private_key", true)?.unwrap_or_default();
        let private_key_id = field("private_key_id", false)?;
        let token_uri = field("token_uri", false)?.unwrap_or_else(|| DEFAULT_TOKEN_URI.into());
        let scope = scope.trim();
        if scope.is_empty() {
            return Err(AuthError::InvalidKey("the OAuth scope is empty".into()));
        }

        match reqwest::Url::parse(&token_uri) {
            Ok(u) if matches!(u.scheme(), "https" | "http") => {}
            _ => {
                return Err(AuthError::InvalidKey(format!(
                    "field `token_uri` is not an http(s) URL: {token_uri:?}"
                )))
            }
        }

        // The jsonwebtoken error is deliberately not quoted: base64 errors name bytes.
        let key = EncodingKey::from_rsa_pem(private_key.as_bytes()).map_err(|_| {
            AuthError::InvalidKey("field `private_key` is not a PEM-encoded RSA private key".into())
        })?;
        // The PEM parser does not look inside the key; signing does. Fail now, not on
        // the first request.
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &Value::Null, &key).map_err(|_| {
            AuthError::InvalidKey(
                "field `private_key` was rejected as an RS256 signing key \
                     (it must be an RSA private key of at least 2048 bits)"
                    .into(),
            )
        })?;

        let http = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            // Never forward the assertion to wherever a redirect points.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| AuthError::Exchange(format!("building the HTTP client: {e}")))?;

        Ok(GoogleAuth {
            source: Source::ServiceAccount(Box::new(ServiceAccount {
                client_email,
                private_key_id,
                token_uri,
                scope: scope.to_owned(),
                key,
                http,
                state: Mutex::new(State::default()),
                refresh: tokio::sync::Mutex::new(()),
            })),
        })
    }

    /// Application Default Credentials (or the metadata server alone); nothing is fetched
    /// until the first token is asked for.
    pub fn adc(source: super::google_adc::AdcSource) -> Self {
        GoogleAuth {
            source: Source::Adc(std::sync::Arc::new(super::google_adc::Adc::new(source))),
        }
    }

    /// The ADC source, when the tokens come from one.
    pub fn adc_source(&self) -> Option<super::google_adc::AdcSource> {
        match &self.source {
            Source::Adc(adc) => Some(adc.source),
            _ => None,
        }
    }

    /// Where the tokens come from, as `sluice check` says it (never the key or token).
    pub fn describe(&self) -> String {
        match &self.source {
            Source::Adc(adc) => adc.source.describe().to_string(),
            Source::ServiceAccount(sa) => format!(
                "the service-account key in serviceAccount ({}), exchanged at {}",
                sa.client_email, sa.token_uri
            ),
            Source::Static(_) => "a fixed access token (apiKey), never refreshed".to_string(),
        }
    }

    /// A fixed access token given in config (no refresh).
    pub fn static_token(token: String) -> Self {
        GoogleAuth {
            source: Source::Static(token),
        }
    }

    /// A valid access token: cached; refreshed when within [`REFRESH_MARGIN`] of expiry.
    /// Concurrent callers share one refresh; a failed refresh returns an error (to every
    /// caller waiting on it) and the next call retries.
    pub async fn token(&self) -> Result<String, AuthError> {
        match &self.source {
            Source::Static(token) => Ok(token.clone()),
            Source::ServiceAccount(sa) => sa.token().await,
            Source::Adc(adc) => {
                let adc = adc.clone();
                crate::background::run(async move { adc.token().await })
                    .await
                    .map_err(AuthError::Adc)?
            }
        }
    }
}

impl ServiceAccount {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn token(&self) -> Result<String, AuthError> {
        let seen_attempts = {
            let state = self.state();
            if let Some(token) = state.fresh() {
                return Ok(token);
            }
            state.attempts
        };

        let _refreshing = self.refresh.lock().await;
        {
            let state = self.state();
            if let Some(token) = state.fresh() {
                return Ok(token);
            }
            // A refresh finished (and failed) while we waited for it: share its outcome
            // rather than queueing one more exchange per waiting caller.
            if state.attempts != seen_attempts {
                if let Some(err) = &state.last_error {
                    return Err(err.duplicate());
                }
            }
        }

        let outcome = self.exchange().await;
        let mut state = self.state();
        state.attempts += 1;
        match outcome {
            Ok(cached) => {
                let token = cached.access_token.clone();
                state.cached = Some(cached);
                state.last_error = None;
                Ok(token)
            }
            Err(err) => {
                state.last_error = Some(err.duplicate());
                Err(err)
            }
        }
    }

    /// One JWT-bearer exchange at the token endpoint.
    async fn exchange(&self) -> Result<CachedToken, AuthError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| AuthError::Exchange("system clock is before 1970".into()))?
            .as_secs();
        let claims = Claims {
            iss: &self.client_email,
            scope: &self.scope,
            aud: &self.token_uri,
            iat: now,
            exp: now + ASSERTION_LIFETIME_SECS,
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.private_key_id.clone();
        let assertion = jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| AuthError::Exchange(format!("signing the JWT assertion: {e}")))?;
        let body = format!(
            "grant_type={}&assertion={}",
            form_encode(JWT_BEARER_GRANT),
            form_encode(&assertion)
        );

        let started = Instant::now();
        let response = self
            .http
            .post(&self.token_uri)
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| {
                AuthError::Exchange(format!("POST {}: {}", self.token_uri, error_chain(&e)))
            })?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| {
            AuthError::Exchange(format!(
                "reading the response of {}: {}",
                self.token_uri,
                error_chain(&e)
            ))
        })?;
        if !status.is_success() {
            return Err(AuthError::Exchange(format!(
                "{} answered {status}: {}",
                self.token_uri,
                endpoint_error_text(&bytes)
            )));
        }

        let (access_token, expires_in) = parse_token_response(&bytes)?;
        let lifetime = Duration::from_secs(expires_in.min(MAX_EXPIRES_IN_SECS));
        Ok(CachedToken {
            access_token,
            refresh_at: started + lifetime.saturating_sub(REFRESH_MARGIN),
        })
    }
}

/// `(access_token, expires_in)` from a successful token-endpoint answer. Read through
/// `Value` so that no error message can quote the token.
fn parse_token_response(bytes: &[u8]) -> Result<(String, u64), AuthError> {
    let bad = |what: &str| AuthError::Exchange(format!("token endpoint response {what}"));
    let doc: Value = serde_json::from_slice(bytes).map_err(|_| bad("is not JSON"))?;
    let access_token = match doc.get("access_token") {
        Some(Value::String(t)) if !t.is_empty() => t.clone(),
        _ => return Err(bad("has no `access_token` string")),
    };
    if let Some(kind) = doc.get("token_type").and_then(Value::as_str) {
        if !kind.eq_ignore_ascii_case("bearer") {
            return Err(bad(&format!(
                "has `token_type` {kind:?}, expected \"Bearer\""
            )));
        }
    }
    let expires_in = match doc.get("expires_in") {
        None | Some(Value::Null) => DEFAULT_EXPIRES_IN_SECS,
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .ok_or_else(|| bad("has a negative `expires_in`"))?,
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| bad("has a non-numeric `expires_in`"))?,
        Some(_) => return Err(bad("has a non-numeric `expires_in`")),
    };
    Ok((access_token, expires_in))
}

/// The endpoint's own explanation of a failure: OAuth's `error`/`error_description` when
/// the body is an OAuth error object, else the body text, shortened.
fn endpoint_error_text(bytes: &[u8]) -> String {
    if let Ok(doc) = serde_json::from_slice::<Value>(bytes) {
        let error = doc.get("error").and_then(Value::as_str);
        let description = doc.get("error_description").and_then(Value::as_str);
        match (error, description) {
            (Some(e), Some(d)) => return truncate(&format!("{e}: {d}")),
            (Some(e), None) => return truncate(e),
            _ => {}
        }
    }
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if text.is_empty() {
        "(empty body)".into()
    } else {
        truncate(text)
    }
}

fn truncate(text: &str) -> String {
    match text.char_indices().nth(MAX_ERROR_TEXT) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// `e` and its causes, `: `-separated (reqwest's top-level message omits the cause).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// `application/x-www-form-urlencoded` value encoding (everything but unreserved
/// characters percent-encoded).
fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl fmt::Debug for GoogleAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Source::Static(_) => f
                .debug_struct("GoogleAuth")
                .field("source", &"static")
                .field("token", &"<redacted>")
                .finish(),
            Source::ServiceAccount(sa) => f
                .debug_struct("GoogleAuth")
                .field("source", &"service_account")
                .field("client_email", &sa.client_email)
                .field("token_uri", &sa.token_uri)
                .field("scope", &sa.scope)
                .field("private_key", &"<redacted>")
                .finish_non_exhaustive(),
            Source::Adc(adc) => f
                .debug_struct("GoogleAuth")
                .field("source", &adc.source)
                .finish_non_exhaustive(),
        }
    }
}

#[cfg(test)]
mod tests;
