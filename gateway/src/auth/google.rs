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
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// Test-only RSA-2048 key (`openssl genrsa 2048`, PKCS#8 like Google's key files).
    /// Not used anywhere but these tests.
    const TEST_PRIVATE_KEY: &str = "\
-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCv8s5brX79fuMF
6e0rU3N2xV5j9EMFZO8cZwOcUnYs6ePdS/mRCD/RR9YHrPzUYGjPqFJW2cnOzhsV
mP8gbcgD/KiUlumOD1xbFg/+TdwvFA89kt2xbCz8UA/XoTZdUle6gx06onCbcv47
IAuX+h44zrFTztcfJbuzI1yCv6dYPTdF0tmmUnYmsRyp14AgLG1UEZiCLI6j4WTJ
PYqepHYq1VwEIbIkT3DriPsPHfOj08oYMLTGVp2ntTkSD2HAcbX01b9xR+Mlk2HE
uBP2tSO2wSad7+I5Y0cKQ5BGMAu3tnM3nxzOktNYSy/PPW0sQhTvD12H2az2oPjU
hTFNw+2FAgMBAAECggEAF3xlpz8lcFj7nNJ44gulofj+fIEiYRn0AOqPRNKNC7m8
vNFjYsSjICBipWul5ANqei2RsB4qHfzNCLj/dSiyRjX3mr36Nwg937q2L8/c0Dvx
PNrZ1NEHwDY/pxzR0Oso4rCVujnsphNXdDT21zZ/yj1s1i8J8BJtV6AkvR8wC0sH
Wox0QLMZSifKS6ySu7JICuwaCOlPav/QksV+6LE9TQBWsecrQIH0i4xFLfV+QQp3
hMZ+FT5RINf4DsEAg7gYCHgcww3mrURVsd6LFCw0BKerslxhM6cuS7wXaRmJxTCM
er4EU/EkeNU6bx4R2fhaJByT83NFG0y+0o4RxaGvAQKBgQD0IPwNJq/h+QFYwEKk
Nl1DX5Sngfn/e/3UvDD0GWqdt9/JNLRSOGTvcW2liXF81B38tEE9rlywV8l2dZcN
BAbcE3kwWD9dQP9AgqNckkSSPb3FyFo+ntF1HlcY+Biuqu5WWonUAQyQRuB7qUQc
h3CE+Cocxh0hufTopKZh2Sh2EQKBgQC4gRWTV4EK8/JbR9gYbEvV38PZU3FohLx6
jd3VbqFDmy2m4NBepLYIv7sX4sWB+XpSYyyZ+98NSvj2CS71bo7LWVbJiGRcXNLI
7xTsOMyRcpWR8CdiwRHSTfI6DN0aXZlb3DDR0Top9dvq64xs2l2Oqcsl1U66zaZD
8if127+8NQKBgBcGSV9gJ7RzTKo3L9HXAsLI7/dAbfinlBANU7yh7QlE/0k1vFAI
25QtqX60UMzKIK3lvkV3/WvwS6LtgjqLB66X85UYrZk4+Rn3eDrR3L/CLPTLaZ+A
URbvrp0/QOywWFwym88v7iRpWuCu3Sqnp3gTA73E/ZhhtnR+muadmZBRAoGBAJaP
f/PErGErwNIMRqNnfFsDRubJ2PnZl5TKwAOzS5XHw/Ex89fHwWRSUXKkc1glJVSl
6Xeeud43GAJubAuMNKpsNQ4wZvWYKcoej4xUrVrjjnqQ5xMHSmu7f7cvWB5z0vnL
LWuKuVQUdWm23djWORJ6LHSrJJv7xXoc2c8fi88hAoGBAM498Ie30h+eUlHl1axo
OG4XvE1YkiH3RR1Y1pgvMYKx4CIcTyYnKyGIUGRml+wllW+FxHpHY71OBcVurT7T
qH+NuNqV/mHT04LZwe8hhX7WPPi+kD6hB5Y5jdDt7Rio/gnRdXjhJBMH/T/cOUlM
tcPYNNmewc4+TZdGr/k9W+zl
-----END PRIVATE KEY-----
";
    /// Its public half (`openssl rsa -pubout`).
    const TEST_PUBLIC_KEY: &str = "\
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr/LOW61+/X7jBentK1Nz
dsVeY/RDBWTvHGcDnFJ2LOnj3Uv5kQg/0UfWB6z81GBoz6hSVtnJzs4bFZj/IG3I
A/yolJbpjg9cWxYP/k3cLxQPPZLdsWws/FAP16E2XVJXuoMdOqJwm3L+OyALl/oe
OM6xU87XHyW7syNcgr+nWD03RdLZplJ2JrEcqdeAICxtVBGYgiyOo+FkyT2KnqR2
KtVcBCGyJE9w64j7Dx3zo9PKGDC0xladp7U5Eg9hwHG19NW/cUfjJZNhxLgT9rUj
tsEmne/iOWNHCkOQRjALt7ZzN58czpLTWEsvzz1tLEIU7w9dh9ms9qD41IUxTcPt
hQIDAQAB
-----END PUBLIC KEY-----
";

    const SCOPE: &str = CLOUD_PLATFORM_SCOPE;
    const EMAIL: &str = "sluice-test@example-project.iam.gserviceaccount.com";

    fn key_json(token_uri: Option<&str>) -> String {
        let mut doc = serde_json::json!({
            "type": "service_account",
            "project_id": "example-project",
            "private_key_id": "test-key-id",
            "private_key": TEST_PRIVATE_KEY,
            "client_email": EMAIL,
            "client_id": "1234567890",
        });
        if let Some(uri) = token_uri {
            doc["token_uri"] = Value::from(uri);
        }
        doc.to_string()
    }

    /// Lines of base64 key material, for "never leaks the key" assertions.
    fn key_material_lines() -> Vec<&'static str> {
        TEST_PRIVATE_KEY
            .lines()
            .filter(|l| !l.starts_with("-----") && l.len() > 16)
            .collect()
    }

    fn assert_no_key_material(text: &str) {
        assert!(!text.contains("PRIVATE KEY"), "leaks the PEM: {text}");
        for line in key_material_lines() {
            assert!(!text.contains(line), "leaks key material: {text}");
        }
    }

    struct Recorded {
        head: String,
        body: String,
    }

    struct Reply {
        status: u16,
        body: String,
        delay: Duration,
    }

    /// A minimal HTTP/1.1 token endpoint on 127.0.0.1: records each request and answers
    /// with the queued replies in order (the last one repeats).
    struct TokenServer {
        uri: String,
        requests: Arc<Mutex<Vec<Recorded>>>,
    }

    impl TokenServer {
        async fn start(replies: Vec<(u16, &str)>) -> Self {
            Self::start_delayed(replies, Duration::ZERO).await
        }

        async fn start_delayed(replies: Vec<(u16, &str)>, delay: Duration) -> Self {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let uri = format!("http://{}/token", listener.local_addr().unwrap());
            let requests = Arc::new(Mutex::new(Vec::new()));
            let replies: Arc<Mutex<VecDeque<Reply>>> = Arc::new(Mutex::new(
                replies
                    .into_iter()
                    .map(|(status, body)| Reply {
                        status,
                        body: body.to_owned(),
                        delay,
                    })
                    .collect(),
            ));
            let recorded = requests.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((mut conn, _)) = listener.accept().await else {
                        return;
                    };
                    let recorded = recorded.clone();
                    let replies = replies.clone();
                    tokio::spawn(async move {
                        let mut buf = Vec::new();
                        let mut chunk = [0u8; 4096];
                        let head_end = loop {
                            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                                break i + 4;
                            }
                            let n = conn.read(&mut chunk).await.unwrap();
                            if n == 0 {
                                return;
                            }
                            buf.extend_from_slice(&chunk[..n]);
                        };
                        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                        let length: usize = head
                            .lines()
                            .find_map(|l| {
                                let (name, value) = l.split_once(':')?;
                                name.eq_ignore_ascii_case("content-length")
                                    .then(|| value.trim().parse().unwrap())
                            })
                            .unwrap_or(0);
                        while buf.len() < head_end + length {
                            let n = conn.read(&mut chunk).await.unwrap();
                            assert!(n > 0, "client closed mid-body");
                            buf.extend_from_slice(&chunk[..n]);
                        }
                        let body = String::from_utf8_lossy(&buf[head_end..]).into_owned();
                        recorded.lock().unwrap().push(Recorded { head, body });
                        let (status, body, delay) = {
                            let mut q = replies.lock().unwrap();
                            let r = if q.len() > 1 {
                                q.pop_front().unwrap()
                            } else {
                                let last = q.front().expect("no reply configured");
                                Reply {
                                    status: last.status,
                                    body: last.body.clone(),
                                    delay: last.delay,
                                }
                            };
                            (r.status, r.body, r.delay)
                        };
                        tokio::time::sleep(delay).await;
                        let reason = if status == 200 { "OK" } else { "Error" };
                        let response = format!(
                            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n\
                             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = conn.write_all(response.as_bytes()).await;
                        let _ = conn.shutdown().await;
                    });
                }
            });
            TokenServer { uri, requests }
        }

        fn count(&self) -> usize {
            self.requests.lock().unwrap().len()
        }

        fn form(&self, i: usize) -> Vec<(String, String)> {
            let requests = self.requests.lock().unwrap();
            requests[i]
                .body
                .split('&')
                .map(|pair| {
                    let (k, v) = pair.split_once('=').expect("form pair");
                    (form_decode(k), form_decode(v))
                })
                .collect()
        }

        fn head(&self, i: usize) -> String {
            self.requests.lock().unwrap()[i].head.clone()
        }
    }

    fn form_decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'%' => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 3;
                }
                b'+' => {
                    out.push(b' ');
                    i += 1;
                }
                b => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8(out).unwrap()
    }

    fn ok_body(token: &str, expires_in: u64) -> String {
        format!(r#"{{"access_token":"{token}","expires_in":{expires_in},"token_type":"Bearer"}}"#)
    }

    #[test]
    fn google_auth_is_send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<GoogleAuth>();
        assert_send_sync::<AuthError>();
    }

    #[tokio::test]
    async fn static_token_is_returned_as_is_and_not_debug_printed() {
        let auth = GoogleAuth::static_token("ya29.static-secret".into());
        assert_eq!(auth.token().await.unwrap(), "ya29.static-secret");
        assert_eq!(auth.token().await.unwrap(), "ya29.static-secret");
        let debug = format!("{auth:?}");
        assert!(!debug.contains("static-secret"), "{debug}");
    }

    #[tokio::test]
    async fn jwt_bearer_exchange_sends_a_signed_assertion_and_caches_the_token() {
        let body = ok_body("ya29.first", 3599);
        let server = TokenServer::start(vec![(200, &body)]).await;
        let auth = GoogleAuth::service_account(&key_json(Some(&server.uri)), SCOPE).unwrap();
        assert_eq!(server.count(), 0, "construction must not hit the network");

        let before = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert_eq!(auth.token().await.unwrap(), "ya29.first");
        let after = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert_eq!(server.count(), 1);

        let head = server.head(0);
        assert!(head.starts_with("POST /token HTTP/1.1\r\n"), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/x-www-form-urlencoded\r\n"),
            "{head}"
        );

        let form = server.form(0);
        let names: Vec<&str> = form.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["grant_type", "assertion"]);
        assert_eq!(form[0].1, "urn:ietf:params:oauth:grant-type:jwt-bearer");
        let assertion = &form[1].1;

        let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
        validation.set_audience(&[&server.uri]);
        validation.set_issuer(&[EMAIL]);
        let decoded = jsonwebtoken::decode::<Value>(
            assertion,
            &jsonwebtoken::DecodingKey::from_rsa_pem(TEST_PUBLIC_KEY.as_bytes()).unwrap(),
            &validation,
        )
        .expect("assertion verifies with the service account's public key");
        assert_eq!(decoded.header.alg, Algorithm::RS256);
        assert_eq!(decoded.header.typ.as_deref(), Some("JWT"));
        assert_eq!(decoded.header.kid.as_deref(), Some("test-key-id"));
        let claims = decoded.claims.as_object().unwrap();
        let mut claim_names: Vec<&str> = claims.keys().map(String::as_str).collect();
        claim_names.sort_unstable();
        assert_eq!(claim_names, ["aud", "exp", "iat", "iss", "scope"]);
        assert_eq!(claims["iss"], EMAIL);
        assert_eq!(claims["scope"], SCOPE);
        assert_eq!(claims["aud"], server.uri.as_str());
        let iat = claims["iat"].as_u64().unwrap();
        let exp = claims["exp"].as_u64().unwrap();
        assert!(
            before <= iat && iat <= after,
            "iat {iat} not in [{before}, {after}]"
        );
        assert_eq!(exp - iat, 3600);

        // A tampered-with key must not verify: the check above can fail.
        let other = jsonwebtoken::decode::<Value>(
            assertion,
            &jsonwebtoken::DecodingKey::from_secret(b"not the key"),
            &jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256),
        );
        assert!(other.is_err());

        // Cached: no second request.
        assert_eq!(auth.token().await.unwrap(), "ya29.first");
        assert_eq!(auth.token().await.unwrap(), "ya29.first");
        assert_eq!(server.count(), 1);

        let debug = format!("{auth:?}");
        assert!(debug.contains(EMAIL), "{debug}");
        assert!(!debug.contains("ya29.first"), "{debug}");
        assert_no_key_material(&debug);
    }

    #[tokio::test]
    async fn token_near_expiry_is_refreshed() {
        let short = ok_body("ya29.short", 60);
        let long = ok_body("ya29.long", 3600);
        let server = TokenServer::start(vec![(200, &short), (200, &long)]).await;
        let auth = GoogleAuth::service_account(&key_json(Some(&server.uri)), SCOPE).unwrap();

        assert_eq!(auth.token().await.unwrap(), "ya29.short");
        assert_eq!(server.count(), 1);
        // 60 s left is inside the 5-minute margin: the next call refreshes.
        assert_eq!(auth.token().await.unwrap(), "ya29.long");
        assert_eq!(server.count(), 2);
        assert_eq!(auth.token().await.unwrap(), "ya29.long");
        assert_eq!(server.count(), 2);
    }

    #[tokio::test]
    async fn missing_expires_in_means_an_hour() {
        let server = TokenServer::start(vec![(
            200,
            r#"{"access_token":"ya29.noexp","token_type":"Bearer"}"#,
        )])
        .await;
        let auth = GoogleAuth::service_account(&key_json(Some(&server.uri)), SCOPE).unwrap();
        assert_eq!(auth.token().await.unwrap(), "ya29.noexp");
        assert_eq!(auth.token().await.unwrap(), "ya29.noexp");
        assert_eq!(server.count(), 1);
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_refresh() {
        let body = ok_body("ya29.shared", 3600);
        let server =
            TokenServer::start_delayed(vec![(200, &body)], Duration::from_millis(200)).await;
        let auth =
            Arc::new(GoogleAuth::service_account(&key_json(Some(&server.uri)), SCOPE).unwrap());
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let auth = auth.clone();
                tokio::spawn(async move { auth.token().await })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap(), "ya29.shared");
        }
        assert_eq!(server.count(), 1);
    }

    #[tokio::test]
    async fn concurrent_callers_share_a_failed_refresh_and_the_next_call_retries() {
        let err = r#"{"error":"temporarily_unavailable"}"#;
        let ok = ok_body("ya29.after", 3600);
        let server =
            TokenServer::start_delayed(vec![(503, err), (200, &ok)], Duration::from_millis(200))
                .await;
        let auth =
            Arc::new(GoogleAuth::service_account(&key_json(Some(&server.uri)), SCOPE).unwrap());
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let auth = auth.clone();
                tokio::spawn(async move { auth.token().await })
            })
            .collect();
        for task in tasks {
            match task.await.unwrap() {
                Err(AuthError::Exchange(m)) => {
                    assert!(m.contains("temporarily_unavailable"), "{m}")
                }
                other => panic!("expected Exchange error, got {other:?}"),
            }
        }
        assert_eq!(server.count(), 1);
        assert_eq!(auth.token().await.unwrap(), "ya29.after");
        assert_eq!(server.count(), 2);
    }

    #[tokio::test]
    async fn endpoint_400_is_an_exchange_error_with_the_endpoint_text_then_retried() {
        let err = r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#;
        let ok = ok_body("ya29.retry", 3600);
        let server = TokenServer::start(vec![(400, err), (200, &ok)]).await;
        let auth = GoogleAuth::service_account(&key_json(Some(&server.uri)), SCOPE).unwrap();

        let e = auth.token().await.unwrap_err();
        let AuthError::Exchange(message) = &e else {
            panic!("expected Exchange, got {e:?}");
        };
        assert!(message.contains("400"), "{message}");
        assert!(
            message.contains("invalid_grant: Invalid JWT Signature."),
            "{message}"
        );
        let form = server.form(0);
        let assertion = &form[1].1;
        let text = format!("{e} {e:?}");
        assert!(!text.contains(assertion.as_str()), "{text}");
        assert_no_key_material(&text);

        // Nothing cached: the next call retries.
        assert_eq!(auth.token().await.unwrap(), "ya29.retry");
        assert_eq!(server.count(), 2);
    }

    #[tokio::test]
    async fn non_json_error_body_is_quoted() {
        let server = TokenServer::start(vec![(400, "bad request, go away")]).await;
        let auth = GoogleAuth::service_account(&key_json(Some(&server.uri)), SCOPE).unwrap();
        match auth.token().await {
            Err(AuthError::Exchange(m)) => assert!(m.contains("bad request, go away"), "{m}"),
            other => panic!("expected Exchange, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn bad_success_body_is_an_exchange_error_without_the_token() {
        let server = TokenServer::start(vec![(
            200,
            r#"{"access_token":"ya29.odd","token_type":"MAC"}"#,
        )])
        .await;
        let auth = GoogleAuth::service_account(&key_json(Some(&server.uri)), SCOPE).unwrap();
        match auth.token().await {
            Err(AuthError::Exchange(m)) => {
                assert!(m.contains("token_type"), "{m}");
                assert!(!m.contains("ya29.odd"), "{m}");
            }
            other => panic!("expected Exchange, got {other:?}"),
        }
        let server = TokenServer::start(vec![(200, r#"{"expires_in":3600}"#)]).await;
        let auth = GoogleAuth::service_account(&key_json(Some(&server.uri)), SCOPE).unwrap();
        match auth.token().await {
            Err(AuthError::Exchange(m)) => assert!(m.contains("access_token"), "{m}"),
            other => panic!("expected Exchange, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn unreachable_endpoint_is_an_exchange_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}/token", listener.local_addr().unwrap());
        drop(listener);
        let auth = GoogleAuth::service_account(&key_json(Some(&uri)), SCOPE).unwrap();
        match auth.token().await {
            Err(AuthError::Exchange(m)) => assert!(m.contains(&uri), "{m}"),
            other => panic!("expected Exchange, got {other:?}"),
        }
    }

    #[test]
    fn token_uri_defaults_to_google() {
        let auth = GoogleAuth::service_account(&key_json(None), SCOPE).unwrap();
        let Source::ServiceAccount(sa) = &auth.source else {
            panic!("not a service account");
        };
        assert_eq!(sa.token_uri, DEFAULT_TOKEN_URI);
        assert_eq!(sa.client_email, EMAIL);
        assert_eq!(sa.private_key_id.as_deref(), Some("test-key-id"));
    }

    fn invalid_key(json: &str) -> String {
        match GoogleAuth::service_account(json, SCOPE) {
            Err(e @ AuthError::InvalidKey(_)) => {
                let text = format!("{e} {e:?}");
                assert_no_key_material(&text);
                text
            }
            other => panic!("expected InvalidKey, got {other:?}"),
        }
    }

    fn with_field(name: &str, value: Value) -> String {
        let mut doc: Value = serde_json::from_str(&key_json(None)).unwrap();
        doc[name] = value;
        doc.to_string()
    }

    fn without_field(name: &str) -> String {
        let mut doc: Value = serde_json::from_str(&key_json(None)).unwrap();
        doc.as_object_mut().unwrap().remove(name);
        doc.to_string()
    }

    #[test]
    fn invalid_json_is_invalid_key() {
        let m = invalid_key("{ not json");
        assert!(m.contains("JSON"), "{m}");
        // Truncated key file: the PEM is in the text, but not in the message.
        let full = key_json(None);
        let m = invalid_key(&full[..full.len() / 2]);
        assert!(m.contains("JSON"), "{m}");
        let m = invalid_key("[1, 2]");
        assert!(m.contains("object"), "{m}");
    }

    #[test]
    fn missing_or_mistyped_fields_are_named() {
        let m = invalid_key(&without_field("client_email"));
        assert!(m.contains("`client_email`"), "{m}");
        let m = invalid_key(&without_field("private_key"));
        assert!(m.contains("`private_key`"), "{m}");
        let m = invalid_key(&with_field("private_key", Value::from(42)));
        assert!(m.contains("`private_key`"), "{m}");
        let m = invalid_key(&with_field("client_email", Value::from("")));
        assert!(m.contains("`client_email`"), "{m}");
        let m = invalid_key(&with_field("type", Value::from("authorized_user")));
        assert!(m.contains("`type`"), "{m}");
        let m = invalid_key(&with_field("token_uri", Value::from("not a url")));
        assert!(m.contains("`token_uri`"), "{m}");
    }

    #[test]
    fn bad_pem_is_invalid_key_naming_the_field_without_the_key() {
        // Not PEM at all.
        let m = invalid_key(&with_field("private_key", Value::from("hello")));
        assert!(m.contains("`private_key`"), "{m}");
        // PEM armour around garbage.
        let garbage = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXNlY3JldC1zZWNyZXQ=\n-----END PRIVATE KEY-----\n";
        let m = invalid_key(&with_field("private_key", Value::from(garbage)));
        assert!(m.contains("`private_key`"), "{m}");
        assert!(!m.contains("c2VjcmV0"), "{m}");
        // The real key with lines missing: base64 is fine, the DER inside is not.
        let lines: Vec<&str> = TEST_PRIVATE_KEY.lines().collect();
        let mut damaged: Vec<&str> = lines[..6].to_vec();
        damaged.extend_from_slice(&lines[lines.len() - 6..]);
        let m = invalid_key(&with_field("private_key", Value::from(damaged.join("\n"))));
        assert!(m.contains("`private_key`"), "{m}");
        // A public key is not a private key.
        let m = invalid_key(&with_field("private_key", Value::from(TEST_PUBLIC_KEY)));
        assert!(m.contains("`private_key`"), "{m}");
    }

    #[test]
    fn form_encoding() {
        assert_eq!(
            form_encode("urn:ietf:params:oauth:grant-type:jwt-bearer"),
            "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
        );
        assert_eq!(form_encode("a.b_c-d~e"), "a.b_c-d~e");
        assert_eq!(form_encode("a b+/="), "a%20b%2B%2F%3D");
    }
}
