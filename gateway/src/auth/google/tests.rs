//! Google OAuth without a network: the service-account exchange against a scripted token
//! endpoint, token keeping and refresh, and the errors named.

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
        form_urlencoded::parse(requests[i].body.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    fn head(&self, i: usize) -> String {
        self.requests.lock().unwrap()[i].head.clone()
    }
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
    let server = TokenServer::start_delayed(vec![(200, &body)], Duration::from_millis(200)).await;
    let auth = Arc::new(GoogleAuth::service_account(&key_json(Some(&server.uri)), SCOPE).unwrap());
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
        TokenServer::start_delayed(vec![(503, err), (200, &ok)], Duration::from_millis(200)).await;
    let auth = Arc::new(GoogleAuth::service_account(&key_json(Some(&server.uri)), SCOPE).unwrap());
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
    let garbage =
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXNlY3JldC1zZWNyZXQ=\n-----END PRIVATE KEY-----\n";
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
