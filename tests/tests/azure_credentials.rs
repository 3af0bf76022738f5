//! Azure OpenAI with Microsoft Entra ID tokens from a managed identity, the way App Service,
//! Container Apps and Functions hand them out: a stand-in of the identity endpoint
//! (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`, which `azure_identity` honours) answers the token
//! request; the token is fetched at start and sent as the bearer of the Azure call; when it
//! nears its expiry it is refreshed once (not per request, under 20 concurrent requests), and
//! later calls carry the new one. `sluice check` names the source.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use sluice_tests::credentials::{assert_one_refresh, burst_until_refreshed, check_then_run};
use sluice_tests::http::post_json;
use sluice_tests::setup::one_backend;
use sluice_tests::{Gateway, MockUpstream, Ports, Reply};

/// The azure backend's keys (see [`one_backend`]).
const AZURE: &str = r#"    provider: azure
    model: gpt-4o-mini
    baseUrl: {{azure}}
    auth: {source: managedIdentity}
"#;

fn unix_in(secs: u64) -> String {
    (SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + secs)
        .to_string()
}

#[tokio::test]
async fn a_managed_identity_token_signs_azure_calls_and_is_refreshed_once() {
    let fetches = Arc::new(AtomicUsize::new(0));
    let counted = fetches.clone();
    let identity = MockUpstream::start_with_handler(move |req| {
        assert_eq!(
            req.header("x-identity-header"),
            Some("identity-header-value")
        );
        assert!(req.query().unwrap_or("").contains("api-version=2019-08-01"));
        let n = counted.fetch_add(1, Ordering::SeqCst) + 1;
        // The first lives 245 s: due for refresh (240 s before expiry) 5 s after start.
        let lifetime = if n == 1 { 245 } else { 3600 };
        Reply::json(
            200,
            &json!({"access_token": format!("eyAzure.token-{n}"), "expires_on": unix_in(lifetime),
                    "resource": "https://cognitiveservices.azure.com", "token_type": "Bearer"}),
        )
    })
    .await;
    let azure =
        MockUpstream::start(sluice_tests::replies::openai_priced_answer("gpt-4o-mini")).await;
    let yaml = Ports::new().render(&one_backend(AZURE), &[("azure", &azure.base_url())]);
    let gw = Gateway::builder(&yaml)
        .env(
            "IDENTITY_ENDPOINT",
            &format!("{}/msi/token", identity.base_url()),
        )
        .env("IDENTITY_HEADER", "identity-header-value")
        .start()
        .await;
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "fetched at start");
    let url = format!("{}/v1/chat/completions", gw.base_url());
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    let bearer = || {
        let r = azure.requests().pop().expect("a call");
        assert_eq!(r.header("api-key"), None);
        r.header("authorization").map(str::to_string)
    };
    assert_eq!(post_json(&url, &body, &[]).await.status, 200);
    assert_eq!(bearer().as_deref(), Some("Bearer eyAzure.token-1"));
    burst_until_refreshed(&url, &body, &fetches, Duration::from_secs(6)).await;
    assert_eq!(post_json(&url, &body, &[]).await.status, 200);
    assert_eq!(bearer().as_deref(), Some("Bearer eyAzure.token-2"));
    assert_one_refresh(&fetches).await;
    let output = [gw.log_lines(), gw.stderr_lines()].concat().join("\n");
    assert!(!output.contains("eyAzure."), "a token in the output");

    // `sluice check` names the source; with the identity endpoint gone, `run` does not start.
    drop(gw);
    let gone = format!("http://127.0.0.1:{}/msi/token", sluice_tests::free_port());
    let env = [
        ("IDENTITY_ENDPOINT", Some(gone.as_str())),
        ("IDENTITY_HEADER", Some("identity-header-value")),
    ];
    let (out, code, err) = check_then_run(&yaml, &env);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("backends[0] (b):"), "{err}");
    assert!(
        out.contains("backends[0] (b): Microsoft Entra ID tokens from the Azure managed identity"),
        "{out}"
    );
}
