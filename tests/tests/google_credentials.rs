//! Vertex with Google Application Default Credentials on the metadata server, the way GKE
//! Workload Identity and GCE hand out tokens: a stand-in of the metadata server
//! (`GCE_METADATA_HOST`, which Google's auth crate honours) answers the token request; the
//! token is fetched at start and sent as the bearer of the Vertex call; when it nears its
//! expiry it is refreshed once (not per request, under 20 concurrent requests), and later
//! calls carry the new one. `sluice check` names the source.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use sluice_tests::credentials::{
    assert_one_refresh, burst_until_refreshed, check_then_run, metadata_gateway, metadata_server,
};
use sluice_tests::http::post_json;
use sluice_tests::setup::{one_backend, provider_fixture_json};
use sluice_tests::{MockUpstream, Ports, Reply};

/// The vertex backend's keys (see [`one_backend`]).
const VERTEX: &str = r#"    provider: vertex
    project: my-proj
    location: us-east5
    model: gemini-2.0-flash
    baseUrl: {{vertex}}
    auth: {source: metadata}
"#;

fn bearer_of_last(vertex: &MockUpstream) -> String {
    vertex
        .requests()
        .last()
        .and_then(|r| r.header("authorization").map(str::to_string))
        .expect("a call")
}

#[tokio::test]
async fn a_gke_metadata_token_signs_vertex_calls_and_is_refreshed_once() {
    let fetches = Arc::new(AtomicUsize::new(0));
    let mds = metadata_server(fetches.clone(), 245).await;
    let answer = provider_fixture_json("gemini/basic.gemini-response.json");
    let vertex = MockUpstream::start(Reply::json(200, &answer)).await;
    let yaml = Ports::new().render(&one_backend(VERTEX), &[("vertex", &vertex.base_url())]);
    let gw = metadata_gateway(&yaml, &mds).await;
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "fetched at start");
    let url = format!("{}/v1/chat/completions", gw.base_url());
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    let r = post_json(&url, &body, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(bearer_of_last(&vertex), "Bearer ya29.token-1");
    // The crate refreshes in the background 240 s before expiry: 5 s after the fetch.
    burst_until_refreshed(&url, &body, &fetches, Duration::from_secs(6)).await;
    let r = post_json(&url, &body, &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(bearer_of_last(&vertex), "Bearer ya29.token-2");
    assert_one_refresh(&fetches).await;
    let output = [gw.log_lines(), gw.stderr_lines()].concat().join("\n");
    assert!(!output.contains("ya29."), "a token in the output");
}

#[tokio::test]
async fn check_names_the_google_source_and_a_missing_metadata_server_stops_the_start() {
    let vertex = MockUpstream::start(Reply::text(500, "unused")).await;
    let yaml = Ports::new().render(&one_backend(VERTEX), &[("vertex", &vertex.base_url())]);
    // A metadata server that is not there: a port nobody listens on.
    let host = format!("127.0.0.1:{}", sluice_tests::free_port());
    let (out, code, err) = check_then_run(&yaml, &[("GCE_METADATA_HOST", Some(&host))]);
    assert!(
        out.contains("backends[0] (b): Google access tokens from the Google metadata server"),
        "{out}"
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("backends[0] (b):"), "{err}");
}

/// The Gemini API with OAuth instead of an API key: the metadata server's token as the
/// bearer, the quota project as `x-goog-user-project`, and a client's own Gemini key (on the
/// Gemini front door) replaced, never forwarded.
#[tokio::test]
async fn gemini_with_oauth_sends_the_token_and_the_quota_project() {
    let fetches = Arc::new(AtomicUsize::new(0));
    let mds = metadata_server(fetches.clone(), 245).await;
    let answer = provider_fixture_json("gemini/basic.gemini-response.json");
    let gemini = MockUpstream::start(Reply::json(200, &answer)).await;
    let yaml = Ports::new().render(
        &one_backend(VERTEX).replace(
            "    provider: vertex\n    project: my-proj\n    location: us-east5\n",
            "    provider: gemini\n    project: billing-proj\n",
        ),
        &[("vertex", &gemini.base_url())],
    );
    assert!(yaml.contains("provider: gemini"), "{yaml}");
    let gw = metadata_gateway(&yaml, &mds).await;
    let chat = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    let r = post_json(
        &format!("{}/v1/chat/completions", gw.base_url()),
        &chat,
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let native = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
    let r = post_json(
        &format!(
            "{}/v1beta/models/gemini-2.0-flash:generateContent",
            gw.base_url()
        ),
        &native,
        &[("x-goog-api-key", "client-own-key")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let calls = gemini.requests();
    assert_eq!(calls.len(), 2);
    for call in &calls {
        assert_eq!(
            call.path_only(),
            "/v1beta/models/gemini-2.0-flash:generateContent"
        );
        assert_eq!(call.header("authorization"), Some("Bearer ya29.token-1"));
        assert_eq!(call.header("x-goog-user-project"), Some("billing-proj"));
        assert_eq!(call.header("x-goog-api-key"), None);
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
}
