//! A backend's targets and how they are balanced: `endpoints`, `apiKeys`, `loadBalancing`,
//! `healthCheck`, `outlierDetection`, resolved into a [`Balancer`] with every problem named by
//! path. A backend with none of these keys gets no balancer and calls its one URL as before.

use std::time::Duration;

use sluice_providers::ProviderKind;

use super::backends::{resolve_secret, Cloud};
use super::raw::{RawBackend, RawHealthCheck, RawOutlierDetection};
use super::runtime::parse_duration;
use super::{ConfigError, Secret, Upstream};
use crate::balance::{Balancer, HealthCheckSettings, Outlier, Policy, Target, MAX_TARGETS};
use crate::health::TargetProbes;

const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);
const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The balancer of the backend at `path`, or `None` when it has a single target and none of
/// the balancing keys. `base` is its `baseUrl` (or the provider's), `api_key` its `apiKey`.
pub(super) fn balancer(
    path: &str,
    raw: &RawBackend,
    provider: ProviderKind,
    base: Option<&Upstream>,
    api_key: Option<&Secret>,
    cloud: Option<&Cloud>,
    errors: &mut Vec<ConfigError>,
) -> Option<Balancer> {
    let keys_present = [
        ("endpoints", raw.endpoints.is_some()),
        ("apiKeys", raw.api_keys.is_some()),
        ("loadBalancing", raw.load_balancing.is_some()),
        ("healthCheck", raw.health_check.is_some()),
        ("outlierDetection", raw.outlier_detection.is_some()),
    ];
    let first_key = keys_present.iter().find(|(_, present)| *present)?.0;
    let before = errors.len();
    if matches!(
        provider,
        ProviderKind::Mock | ProviderKind::Bedrock | ProviderKind::Vertex
    ) {
        errors.push(ConfigError::new(
            format!("{path}.{first_key}"),
            format!("provider {provider} has a single target; endpoints and load balancing are for providers called with an API key"),
        ));
        return None;
    }
    if raw.endpoints.is_some() && raw.base_url.is_some() {
        errors.push(ConfigError::new(
            format!("{path}.endpoints"),
            "expected one of baseUrl, endpoints",
        ));
    }
    if raw.api_keys.is_some() && raw.api_key.is_some() {
        errors.push(ConfigError::new(
            format!("{path}.apiKeys"),
            "expected one of apiKey, apiKeys",
        ));
    }
    let entra = matches!(
        cloud,
        Some(Cloud::AzureEntra { .. } | Cloud::AzureIdentity { .. })
    );
    let policy = match raw.load_balancing.as_deref() {
        None => Policy::RoundRobin,
        Some(name) => Policy::from_name(name).unwrap_or_else(|| {
            errors.push(ConfigError::new(
                format!("{path}.loadBalancing"),
                format!(
                    "unknown policy \"{name}\"; expected one of {}",
                    Policy::NAMES.join(", ")
                ),
            ));
            Policy::RoundRobin
        }),
    };

    // The backend's keys: each makes a target on every URL that has no key of its own.
    let keys: Vec<Option<Secret>> = match &raw.api_keys {
        Some(list) if list.is_empty() => {
            errors.push(ConfigError::new(
                format!("{path}.apiKeys"),
                "must not be empty",
            ));
            Vec::new()
        }
        Some(_) if entra => {
            errors.push(ConfigError::new(
                format!("{path}.apiKeys"),
                "provider azure takes apiKeys or entraToken, not both",
            ));
            Vec::new()
        }
        Some(list) => list
            .iter()
            .enumerate()
            .filter_map(|(k, s)| resolve_secret(&format!("{path}.apiKeys[{k}]"), s, errors))
            .map(Some)
            .collect(),
        None => vec![api_key.cloned()],
    };

    // URLs with their weight and own key.
    let mut urls: Vec<(Upstream, u32, Option<Secret>)> = Vec::new();
    match &raw.endpoints {
        Some(list) if list.is_empty() => errors.push(ConfigError::new(
            format!("{path}.endpoints"),
            "must not be empty",
        )),
        Some(list) => {
            for (j, e) in list.iter().enumerate() {
                let epath = format!("{path}.endpoints[{j}]");
                let upstream = match Upstream::parse(&e.url) {
                    Ok(u) => Some(u),
                    Err(msg) => {
                        errors.push(ConfigError::new(format!("{epath}.url"), msg));
                        None
                    }
                };
                let weight = e.weight.unwrap_or(1);
                if weight == 0 {
                    errors.push(ConfigError::new(
                        format!("{epath}.weight"),
                        "must be at least 1",
                    ));
                } else if e.weight.is_some() && policy != Policy::Weighted {
                    errors.push(ConfigError::new(
                        format!("{epath}.weight"),
                        "weights are used only with loadBalancing: weighted",
                    ));
                }
                let own_key = match &e.api_key {
                    Some(_) if entra => {
                        errors.push(ConfigError::new(
                            format!("{epath}.apiKey"),
                            "provider azure takes endpoint keys or entraToken, not both",
                        ));
                        None
                    }
                    Some(k) => resolve_secret(&format!("{epath}.apiKey"), k, errors),
                    None => None,
                };
                if let Some(u) = upstream {
                    urls.push((u, weight, own_key));
                }
            }
        }
        None => {
            if let Some(b) = base {
                urls.push((b.clone(), 1, None));
            }
        }
    }

    let mut targets: Vec<Target> = Vec::new();
    for (upstream, weight, own_key) in urls {
        let keys: Vec<Option<Secret>> = match own_key {
            Some(k) => vec![Some(k)],
            None => keys.clone(),
        };
        for api_key in keys {
            targets.push(Target {
                name: upstream.endpoint().to_string(),
                upstream: upstream.clone(),
                api_key,
                weight,
            });
        }
    }
    if targets.len() > MAX_TARGETS {
        errors.push(ConfigError::new(
            path,
            format!(
                "{} targets (endpoints × keys); at most {MAX_TARGETS}",
                targets.len()
            ),
        ));
    }
    // Targets sharing host:port (several keys, or base paths) are told apart by position.
    let names: Vec<String> = targets.iter().map(|t| t.name.clone()).collect();
    for (i, t) in targets.iter_mut().enumerate() {
        if names.iter().filter(|n| **n == t.name).count() > 1 {
            t.name = format!("{}#{}", t.name, i + 1);
        }
    }

    let outlier = outlier(path, raw.outlier_detection.as_ref(), errors);
    let health = raw
        .health_check
        .as_ref()
        .map(|h| health_check(&format!("{path}.healthCheck"), h, errors));
    if errors.len() > before || targets.is_empty() {
        return None;
    }
    let health = match health {
        Some(settings) => match TargetProbes::new(&raw.name, provider, &targets, &settings) {
            Ok(probes) => Some((settings, probes)),
            Err(msg) => {
                errors.push(ConfigError::new(format!("{path}.healthCheck"), msg));
                return None;
            }
        },
        None => None,
    };
    Some(Balancer::new(&raw.name, targets, policy, outlier, health))
}

fn outlier(
    path: &str,
    raw: Option<&RawOutlierDetection>,
    errors: &mut Vec<ConfigError>,
) -> Outlier {
    let default = Outlier::default();
    let Some(raw) = raw else { return default };
    let opath = format!("{path}.outlierDetection");
    let consecutive_failures = raw
        .consecutive_failures
        .unwrap_or(default.consecutive_failures);
    if consecutive_failures == 0 {
        errors.push(ConfigError::new(
            format!("{opath}.consecutiveFailures"),
            "must be at least 1",
        ));
    }
    let eject_for = parse_duration(
        &format!("{opath}.ejectFor"),
        raw.eject_for.as_deref(),
        default.eject_for,
        errors,
    );
    if eject_for.is_zero() {
        errors.push(ConfigError::new(
            format!("{opath}.ejectFor"),
            "must be longer than 0",
        ));
    }
    Outlier {
        consecutive_failures,
        eject_for,
    }
}

fn health_check(
    hpath: &str,
    raw: &RawHealthCheck,
    errors: &mut Vec<ConfigError>,
) -> HealthCheckSettings {
    if !raw.path.starts_with('/') {
        errors.push(ConfigError::new(
            format!("{hpath}.path"),
            "a path must start with /",
        ));
    }
    let interval = parse_duration(
        &format!("{hpath}.interval"),
        raw.interval.as_deref(),
        DEFAULT_INTERVAL,
        errors,
    );
    let timeout = parse_duration(
        &format!("{hpath}.timeout"),
        raw.timeout.as_deref(),
        DEFAULT_PROBE_TIMEOUT,
        errors,
    );
    for (key, value) in [("interval", interval), ("timeout", timeout)] {
        if value.is_zero() {
            errors.push(ConfigError::new(
                format!("{hpath}.{key}"),
                "must be longer than 0",
            ));
        }
    }
    let expect_status = raw.expect_status.unwrap_or(200);
    if !(100..=599).contains(&expect_status) {
        errors.push(ConfigError::new(
            format!("{hpath}.expectStatus"),
            format!("{expect_status} is not an HTTP status"),
        ));
    }
    HealthCheckSettings {
        path: raw.path.clone(),
        interval,
        timeout,
        expect_status,
    }
}

#[cfg(test)]
mod tests {
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
    fn unknown_keys_and_single_target_providers_are_refused() {
        let e = errors(
            "    provider: openai\n    endpoints:\n      - url: http://a\n        wieght: 2\n",
        );
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
            e[0].starts_with("backends[0].loadBalancing: provider mock has a single target"),
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
}
