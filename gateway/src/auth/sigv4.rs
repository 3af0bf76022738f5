//! AWS Signature Version 4 for calls to AWS services (Bedrock's `bedrock-runtime`).
//!
//! A pure function over the request's parts and a time: the signing itself is `aws-sigv4`'s
//! (the signer the AWS SDKs use), with its default settings, which are the ones every service
//! but S3 expects: the path double percent-encoded in the canonical request (Bedrock model ids
//! such as `anthropic.claude-3-5-sonnet-20240620-v1:0` travel as `...v1%3A0` and are signed
//! as `...v1%253A0`), the session token signed, no `x-amz-content-sha256` header.

use std::time::SystemTime;

use aws_sigv4::http_request::{sign as sign_request, SignableBody, SignableRequest};
use aws_sigv4::http_request::{SigningParams, SigningSettings};
use aws_sigv4::sign::v4;

/// Long-term (or, with a session token, temporary) AWS credentials, as [`super::aws`] fetched
/// them.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "** redacted **"),
            )
            .finish()
    }
}

/// Headers to add to the request (authorization, x-amz-date, x-amz-content-sha256 if needed,
/// x-amz-security-token).
///
/// `url` is the full URL as it will be sent (scheme, host, path with its percent-encoding,
/// query); `headers` are the headers that will be sent and should be signed, `host` among
/// them (it is derived from `url` when absent). Header names come back lower-case.
#[allow(clippy::too_many_arguments)]
pub fn sign(
    creds: &AwsCredentials,
    region: &str,
    service: &str,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    time: SystemTime,
) -> Result<Vec<(String, String)>, String> {
    let identity = aws_credential_types::Credentials::new(
        creds.access_key_id.clone(),
        creds.secret_access_key.clone(),
        creds.session_token.clone(),
        None,
        "sluice",
    )
    .into();
    let params: SigningParams<'_> = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| format!("SigV4 parameters: {e}"))?
        .into();
    let request = SignableRequest::new(
        method,
        url,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| format!("SigV4 request: {e}"))?;
    let (instructions, _signature) = sign_request(request, &params)
        .map_err(|e| format!("SigV4 signing: {e}"))?
        .into_parts();
    let (new_headers, _query) = instructions.into_parts();
    Ok(new_headers
        .iter()
        .map(|h| (h.name().to_string(), h.value().to_string()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn example_creds(session_token: Option<&str>) -> AwsCredentials {
        AwsCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: session_token.map(str::to_string),
        }
    }

    /// 2015-08-30T12:36:00Z, the time of AWS's SigV4 test suite.
    fn suite_time() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_440_938_160)
    }

    fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// AWS's published SigV4 test suite, case `get-vanilla`.
    #[test]
    fn aws_test_suite_get_vanilla() {
        let headers = sign(
            &example_creds(None),
            "us-east-1",
            "service",
            "GET",
            "https://example.amazonaws.com/",
            &[("host", "example.amazonaws.com")],
            b"",
            suite_time(),
        )
        .unwrap();
        assert_eq!(header(&headers, "x-amz-date"), Some("20150830T123600Z"));
        assert_eq!(
            header(&headers, "authorization"),
            Some(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
                 SignedHeaders=host;x-amz-date, \
                 Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
            )
        );
        assert_eq!(header(&headers, "x-amz-security-token"), None);
    }

    /// AWS's published SigV4 test suite, case `get-vanilla-query-order-key-case`: a GET with a
    /// query (as a bedrock health probe sends), its parameters sorted in the canonical request.
    #[test]
    fn aws_test_suite_get_vanilla_query_order_key_case() {
        let headers = sign(
            &example_creds(None),
            "us-east-1",
            "service",
            "GET",
            "https://example.amazonaws.com/?Param2=value2&Param1=value1",
            &[("host", "example.amazonaws.com")],
            b"",
            suite_time(),
        )
        .unwrap();
        assert_eq!(
            header(&headers, "authorization"),
            Some(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
                 SignedHeaders=host;x-amz-date, \
                 Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
            )
        );
    }

    /// A Bedrock Converse call with a session token and a model id holding `:`. The expected
    /// signature was computed independently (Python `hmac`/`hashlib`, following the SigV4
    /// spec: canonical URI double-encoded, `x-amz-security-token` signed).
    #[test]
    fn bedrock_converse_with_session_token() {
        let body = br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#;
        let headers = sign(
            &example_creds(Some("FQoGZXIvYXdzEXAMPLETOKEN")),
            "us-east-1",
            "bedrock",
            "POST",
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
            &[
                ("host", "bedrock-runtime.us-east-1.amazonaws.com"),
                ("content-type", "application/json"),
            ],
            body,
            suite_time(),
        )
        .unwrap();
        assert_eq!(header(&headers, "x-amz-date"), Some("20150830T123600Z"));
        assert_eq!(
            header(&headers, "x-amz-security-token"),
            Some("FQoGZXIvYXdzEXAMPLETOKEN")
        );
        assert_eq!(
            header(&headers, "authorization"),
            Some(EXPECTED_BEDROCK_AUTHORIZATION)
        );
    }

    const EXPECTED_BEDROCK_AUTHORIZATION: &str =
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, \
         Signature=e0d51ca4a00c147ad17bb611911e3d154e64519a93381e0916dc3fbe6afee218";

    #[test]
    fn bad_url_is_an_error() {
        assert!(sign(
            &example_creds(None),
            "us-east-1",
            "bedrock",
            "POST",
            "not a url",
            &[],
            b"",
            suite_time(),
        )
        .is_err());
    }
}
