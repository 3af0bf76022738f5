//! Load balancing and active health checks of bedrock and vertex backends, whose calls are
//! signed with cloud credentials rather than keys: endpoints in two AWS regions (each call
//! and each probe signed with SigV4 in its target's region) and in two Google Cloud
//! locations (each path naming its target's location, each probe carrying the OAuth token
//! from the metadata server). A target whose probe fails gets no traffic until it passes
//! again.

use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use sluice_tests::credentials::{metadata_gateway, metadata_server, sigv4_credential};
use sluice_tests::http::post_json;
use sluice_tests::metrics::wait_metric;
use sluice_tests::setup::{one_backend, provider_fixture_json};
use sluice_tests::{Gateway, MockUpstream, Ports, RecordedRequest, Reply};

const WAIT: Duration = Duration::from_secs(10);

/// A provider stand-in answering probes (GET) with the status in `health` and calls with
/// `answer`.
async fn site(health: Arc<AtomicU16>, answer: Value) -> MockUpstream {
    MockUpstream::start_with_handler(move |req| {
        if req.method == "GET" {
            Reply::text(health.load(Ordering::SeqCst), "")
        } else if req.path.ends_with(":countTokens") {
            Reply::json(200, &json!({"totalTokens": 7}))
        } else {
            Reply::json(200, &answer)
        }
    })
    .await
}

fn calls(mock: &MockUpstream) -> Vec<RecordedRequest> {
    mock.requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect()
}

/// Sends `n` chat requests one after the other; every answer must be a 200.
async fn chat(gw: &Gateway, n: usize) {
    let url = format!("{}/v1/chat/completions", gw.base_url());
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    for _ in 0..n {
        let r = post_json(&url, &body, &[]).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
}

async fn wait_health(gw: &Gateway, backend: &str, mock: &MockUpstream, value: &str) {
    let labels = format!("backend=\"{backend}\",endpoint=\"{}\"", mock.addr());
    wait_metric(gw, "sluice_endpoint_healthy", &labels, value, WAIT).await;
}

/// The region in a SigV4 `Authorization` header's credential scope, and its signed headers.
fn scope_of(req: &RecordedRequest) -> (String, String) {
    let auth = req.header("authorization").expect("signed");
    let (_, scope) = sigv4_credential(auth).expect("a SigV4 credential");
    let region = scope.split('/').nth(1).unwrap_or_default().to_string();
    let signed = auth
        .split("SignedHeaders=")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap_or_default()
        .to_string();
    (region, signed)
}

#[tokio::test]
async fn bedrock_targets_in_two_regions_are_signed_probed_and_balanced() {
    let east_health = Arc::new(AtomicU16::new(200));
    let answer = provider_fixture_json("bedrock/basic.bedrock-response.json");
    let east = site(east_health.clone(), answer.clone()).await;
    let west = site(Arc::new(AtomicU16::new(200)), answer).await;
    let yaml = Ports::new().render(
        &one_backend(
            r#"    provider: bedrock
    model: anthropic.claude-3-5-sonnet-20240620-v1:0
    region: us-east-1
    auth: {source: env}
    endpoints:
      - {region: us-east-1, url: "{{east}}"}
      - {region: us-west-2, url: "{{west}}"}
    healthCheck: {path: "/async-invoke?maxResults=1", interval: 100ms, timeout: 1s}
"#,
        ),
        &[("east", &east.base_url()), ("west", &west.base_url())],
    );
    let gw = Gateway::builder(&yaml)
        .env("AWS_ACCESS_KEY_ID", "AKIDPROBE")
        .env("AWS_SECRET_ACCESS_KEY", "secret-probe")
        .env("AWS_SESSION_TOKEN", "session-probe")
        .start()
        .await;

    // Probes: a GET of ListAsyncInvokes, signed in each target's region, no body headers.
    for (mock, region) in [(&east, "us-east-1"), (&west, "us-west-2")] {
        let probe = mock.wait_for_requests(1, WAIT).await.remove(0);
        assert_eq!(
            (probe.method.as_str(), probe.path.as_str()),
            ("GET", "/async-invoke?maxResults=1")
        );
        let (scope, signed) = scope_of(&probe);
        assert_eq!(scope, region);
        assert_eq!(signed, "host;x-amz-date;x-amz-security-token");
        assert_eq!(probe.header("x-amz-security-token"), Some("session-probe"));
        assert_eq!(probe.header("content-type"), None);
        wait_health(&gw, "b", mock, "1").await;
    }

    // Round robin: two calls each, each signed in its target's region.
    chat(&gw, 4).await;
    for (mock, region) in [(&east, "us-east-1"), (&west, "us-west-2")] {
        let calls = calls(mock);
        assert_eq!(calls.len(), 2, "{region}");
        for c in &calls {
            assert_eq!(
                c.path_only(),
                "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
            );
            let (scope, signed) = scope_of(c);
            assert_eq!(scope, region);
            assert_eq!(signed, "content-type;host;x-amz-date;x-amz-security-token");
        }
    }

    // us-east-1 fails its probe: every call goes to us-west-2 until it passes again.
    east_health.store(503, Ordering::SeqCst);
    wait_health(&gw, "b", &east, "0").await;
    chat(&gw, 4).await;
    assert_eq!((calls(&east).len(), calls(&west).len()), (2, 6));
    east_health.store(200, Ordering::SeqCst);
    wait_health(&gw, "b", &east, "1").await;
    chat(&gw, 2).await;
    assert_eq!((calls(&east).len(), calls(&west).len()), (3, 7));
    let output = [gw.log_lines(), gw.stderr_lines()].concat().join("\n");
    assert!(!output.contains("secret-probe") && !output.contains("session-probe"));
}

#[tokio::test]
async fn vertex_targets_in_two_locations_are_probed_with_tokens_and_balanced() {
    let fetches = Arc::new(AtomicUsize::new(0));
    let mds = metadata_server(fetches.clone(), 3600).await;
    let central_health = Arc::new(AtomicU16::new(200));
    let answer = provider_fixture_json("gemini/basic.gemini-response.json");
    let central = site(central_health.clone(), answer.clone()).await;
    let europe = site(Arc::new(AtomicU16::new(200)), answer).await;
    let yaml = Ports::new().render(
        &one_backend(
            r#"    provider: vertex
    project: my-proj
    location: us-central1
    model: gemini-2.0-flash
    auth: {source: metadata}
    endpoints:
      - {location: us-central1, url: "{{central}}"}
      - {location: europe-west4, url: "{{europe}}"}
    healthCheck: {path: "/v1/projects/{project}/locations/{location}", interval: 100ms, timeout: 1s}
"#,
        ),
        &[
            ("central", &central.base_url()),
            ("europe", &europe.base_url()),
        ],
    );
    let gw = metadata_gateway(&yaml, &mds).await;

    for (mock, location) in [(&central, "us-central1"), (&europe, "europe-west4")] {
        let probe = mock.wait_for_requests(1, WAIT).await.remove(0);
        assert_eq!(probe.method, "GET");
        assert_eq!(
            probe.path,
            format!("/v1/projects/my-proj/locations/{location}")
        );
        assert_eq!(probe.header("authorization"), Some("Bearer ya29.token-1"));
        wait_health(&gw, "b", mock, "1").await;
    }

    chat(&gw, 4).await;
    for (mock, location) in [(&central, "us-central1"), (&europe, "europe-west4")] {
        let calls = calls(mock);
        assert_eq!(calls.len(), 2, "{location}");
        for c in &calls {
            assert_eq!(
                c.path_only(),
                format!("/v1/projects/my-proj/locations/{location}/publishers/google/models/gemini-2.0-flash:generateContent")
            );
            assert_eq!(c.header("authorization"), Some("Bearer ya29.token-1"));
        }
    }

    // us-central1 down: chats and a native token count go to europe-west4, its path naming
    // its own location.
    central_health.store(500, Ordering::SeqCst);
    wait_health(&gw, "b", &central, "0").await;
    chat(&gw, 2).await;
    let count = post_json(
        &format!(
            "{}/v1beta/models/gemini-2.0-flash:countTokens",
            gw.base_url()
        ),
        &json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
        &[],
    )
    .await;
    assert_eq!(count.status, 200, "{}", count.text());
    assert_eq!(count.json()["totalTokens"], 7);
    assert_eq!((calls(&central).len(), calls(&europe).len()), (2, 5));
    let last = calls(&europe).pop().unwrap();
    assert_eq!(
        last.path_only(),
        "/v1/projects/my-proj/locations/europe-west4/publishers/google/models/gemini-2.0-flash:countTokens"
    );
    // One token, kept: the probes and calls did not fetch one each.
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
}
