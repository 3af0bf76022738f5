//! Balancing config: targets from endpoints and keys, sites of cloud endpoints, errors by path.

use super::super::load_str;
use crate::balance::Policy;

fn yaml(backend: &str) -> String {
    format!("listeners:\n  - bind: 127.0.0.1:1\nbackends:\n  - name: pool\n{backend}")
}

fn errors(backend: &str) -> Vec<String> {
    match load_str(&yaml(backend)) {
        Ok(_) => panic!("config should be rejected:\n{backend}"),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn endpoints_and_keys_become_targets() {
    let c = load_str(&yaml(
        "    provider: openai\n    apiKeys: [k1, k2]\n    loadBalancing: weighted\n    endpoints:\n      - url: https://a.example/v1\n        weight: 3\n      - url: http://b.example:8000\n        apiKey: own\n    healthCheck: {path: /v1/models, interval: 5s}\n    outlierDetection: {consecutiveFailures: 2, ejectFor: 300ms}\n",
    ))
    .unwrap();
    let backend = &c.backends[0];
    let b = backend.balancer.as_ref().unwrap();
    assert_eq!(b.policy(), Policy::Weighted);
    let targets: Vec<(&str, Option<&str>, u32)> = b
        .targets()
        .iter()
        .map(|t| {
            (
                t.name.as_str(),
                t.api_key.as_ref().map(|k| k.expose()),
                t.weight,
            )
        })
        .collect();
    assert_eq!(
        targets,
        [
            ("a.example:443#1", Some("k1"), 3),
            ("a.example:443#2", Some("k2"), 3),
            ("b.example:8000", Some("own"), 1),
        ]
    );
    // The first endpoint stands for the backend where one URL is expected.
    assert_eq!(backend.upstream.as_ref().unwrap().host, "a.example");
    let hc = b.health_check().unwrap();
    assert_eq!(
        (
            hc.path.as_str(),
            hc.interval.as_secs(),
            hc.timeout.as_secs(),
            hc.expect_status
        ),
        ("/v1/models", 5, 2, 200)
    );
    assert_eq!(b.outlier().consecutive_failures, 2);
    assert_eq!(b.outlier().eject_for.as_millis(), 300);
    // Keys never reach Debug output or /config.
    let shown = format!("{c:?}{}", c.redacted);
    for key in ["k1", "k2", "own"] {
        assert!(
            !shown.contains(&format!("\"{key}\"")),
            "{key} leaked: {shown}"
        );
    }
}

#[test]
fn a_plain_backend_has_no_balancer_and_outlier_detection_alone_makes_one() {
    let c = load_str(&yaml("    provider: openai\n    apiKey: k\n")).unwrap();
    assert!(c.backends[0].balancer.is_none());
    let c = load_str(&yaml(
        "    provider: openai\n    apiKey: k\n    outlierDetection: {}\n",
    ))
    .unwrap();
    let b = c.backends[0].balancer.as_ref().unwrap();
    assert_eq!(b.targets().len(), 1);
    assert_eq!(b.targets()[0].name, "api.openai.com:443");
    assert_eq!(b.targets()[0].api_key.as_ref().unwrap().expose(), "k");
    assert_eq!(b.outlier(), crate::balance::Outlier::default());
    assert_eq!(b.policy(), Policy::RoundRobin);
}

#[test]
fn errors_name_their_yaml_paths() {
    let e = errors(
        "    provider: openai\n    baseUrl: http://x\n    apiKey: k\n    apiKeys: []\n    loadBalancing: random\n    endpoints:\n      - url: ftp://a\n      - url: http://b\n        weight: 0\n      - url: http://c\n        weight: 2\n        apiKey: {env: SLUICE_TEST_UNSET_ENDPOINT_KEY}\n    healthCheck: {path: healthz, interval: 0s, timeout: soon, expectStatus: 42}\n    outlierDetection: {consecutiveFailures: 0, ejectFor: 0s}\n",
    );
    let expected = [
        "backends[0].endpoints: expected one of baseUrl, endpoints",
        "backends[0].apiKeys: expected one of apiKey, apiKeys",
        "backends[0].loadBalancing: unknown policy \"random\"; expected one of roundRobin, weighted, leastRequests, ewma",
        "backends[0].endpoints[0].url: \"ftp://a\" is not an http:// or https:// URL",
        "backends[0].endpoints[1].weight: must be at least 1",
        "backends[0].endpoints[2].weight: weights are used only with loadBalancing: weighted",
        "backends[0].endpoints[2].apiKey.env: environment variable SLUICE_TEST_UNSET_ENDPOINT_KEY is not set",
        "backends[0].healthCheck.path: a path must start with /",
        "backends[0].healthCheck.interval: must be longer than 0",
        "backends[0].healthCheck.timeout: invalid duration \"soon\"",
        "backends[0].healthCheck.expectStatus: 42 is not an HTTP status",
        "backends[0].outlierDetection.consecutiveFailures: must be at least 1",
        "backends[0].outlierDetection.ejectFor: must be longer than 0",
    ];
    for want in expected {
        assert!(
            e.iter().any(|l| l.starts_with(want)),
            "missing {want:?} in {e:#?}"
        );
    }
}

#[test]
fn unknown_keys_and_the_mock_provider_are_refused() {
    let e =
        errors("    provider: openai\n    endpoints:\n      - url: http://a\n        wieght: 2\n");
    assert!(
        e[0].starts_with("backends[0].endpoints[0].wieght: unknown field `wieght`"),
        "{e:?}"
    );
    let e = errors("    provider: openai\n    apiKeys: []\n    endpoints: []\n");
    assert!(
        e.contains(&"backends[0].apiKeys: must not be empty".to_string())
            && e.contains(&"backends[0].endpoints: must not be empty".to_string()),
        "{e:?}"
    );
    let e = errors("    provider: mock\n    loadBalancing: roundRobin\n");
    assert!(
        e[0].starts_with("backends[0].loadBalancing: the mock provider answers in-process"),
        "{e:?}"
    );
    let e = errors(
        "    provider: azure\n    model: d\n    entraToken: t\n    endpoints:\n      - url: https://r1.openai.azure.com\n        apiKey: k\n",
    );
    assert!(
        e.iter().any(|l| l.starts_with(
            "backends[0].endpoints[0].apiKey: provider azure takes endpoint keys or entraToken"
        )),
        "{e:?}"
    );
    // Azure with endpoints needs no baseUrl.
    let c = load_str(&yaml(
        "    provider: azure\n    model: d\n    apiKey: k\n    endpoints:\n      - url: https://r1.openai.azure.com\n      - url: https://r2.openai.azure.com\n",
    ))
    .unwrap();
    assert_eq!(c.backends[0].balancer.as_ref().unwrap().targets().len(), 2);
}

/// Each target's name and own region or location.
fn sites(b: &crate::balance::Balancer) -> Vec<(&str, Option<&str>)> {
    b.targets()
        .iter()
        .map(|t| (t.name.as_str(), t.site.as_deref()))
        .collect()
}

#[test]
fn bedrock_endpoints_by_region_sign_in_their_region() {
    let c = load_str(&yaml(
        "    provider: bedrock\n    region: us-east-1\n    auth: {source: env}\n    endpoints:\n      - region: us-east-1\n      - region: eu-west-1\n        url: http://127.0.0.1:9\n    healthCheck: {path: \"/async-invoke?maxResults=1\"}\n",
    ))
    .unwrap();
    let b = c.backends[0].balancer.as_ref().unwrap();
    assert_eq!(
        sites(b),
        [
            (
                "bedrock-runtime.us-east-1.amazonaws.com:443",
                Some("us-east-1")
            ),
            ("127.0.0.1:9", Some("eu-west-1")),
        ]
    );
    assert!(b.targets().iter().all(|t| t.api_key.is_none()));
}

#[test]
fn vertex_endpoints_by_location_call_their_location() {
    let c = load_str(&yaml(
        "    provider: vertex\n    project: p\n    location: us-central1\n    apiKey: token\n    endpoints:\n      - location: us-central1\n      - location: global\n    healthCheck: {path: \"/v1/projects/{project}/locations/{location}\"}\n",
    ))
    .unwrap();
    let backend = &c.backends[0];
    let b = backend.balancer.as_ref().unwrap();
    assert_eq!(
        sites(b),
        [
            (
                "us-central1-aiplatform.googleapis.com:443",
                Some("us-central1")
            ),
            ("aiplatform.googleapis.com:443", Some("global")),
        ]
    );
    // The model's path follows the picked target's location.
    let site = backend.vertex_site(b.targets()[1].site.as_deref()).unwrap();
    assert_eq!((site.project, site.location), ("p", "global"));
    let site = backend.vertex_site(None).unwrap();
    assert_eq!(site.location, "us-central1");
}

#[test]
fn cloud_endpoint_mistakes_are_named() {
    let e = errors(
        "    provider: bedrock\n    region: us-east-1\n    apiKeys: [k]\n    endpoints:\n      - location: us-central1\n      - region: us-west-2\n        apiKey: k\n    healthCheck: {path: \"/x/{location}\"}\n",
    );
    for want in [
        "backends[0].apiKeys: provider bedrock calls with its cloud credentials (auth:), not keys",
        "backends[0].endpoints[0].location: only for provider vertex, not bedrock",
        "backends[0].endpoints[0].url: an endpoint needs a url or region",
        "backends[0].endpoints[1].apiKey: provider bedrock calls with its cloud credentials (auth:), not keys",
    ] {
        assert!(e.iter().any(|l| l == want), "missing {want:?} in {e:#?}");
    }
    let e =
        errors("    provider: openai\n    apiKey: k\n    endpoints:\n      - region: us-east-1\n");
    assert_eq!(
        e,
        [
            "backends[0].endpoints[0].region: only for provider bedrock, not openai",
            "backends[0].endpoints[0].url: an endpoint needs a url",
        ]
    );
    let e = errors(
        "    provider: bedrock\n    region: us-east-1\n    endpoints:\n      - region: us-west-2\n    healthCheck: {path: \"/x/{location}\"}\n",
    );
    assert_eq!(
        e,
        ["backends[0].healthCheck: {location} is not a placeholder of provider bedrock; vertex paths may name {project} and {location}, bedrock paths {region}"]
    );
}
