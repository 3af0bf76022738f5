//! A backend's targets and how they are balanced: `endpoints`, `apiKeys`, `loadBalancing`,
//! `healthCheck`, `outlierDetection`, resolved into a [`Balancer`] with every problem named by
//! path. A backend with none of these keys gets no balancer and calls its one URL as before.

use std::time::Duration;

use sluice_providers::ProviderKind;

use super::backends::{resolve_secret, site_base_url, Cloud};
use super::raw::{RawBackend, RawEndpoint, RawHealthCheck, RawOutlierDetection};
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
    if provider == ProviderKind::Mock {
        errors.push(ConfigError::new(
            format!("{path}.{first_key}"),
            "the mock provider answers in-process; it has no targets to balance",
        ));
        return None;
    }
    // Bedrock, vertex and gemini with OAuth call with the backend's cloud credentials, not
    // with keys.
    let signed = matches!(provider, ProviderKind::Bedrock | ProviderKind::Vertex)
        || matches!(cloud, Some(Cloud::GeminiOAuth { .. }));
    let site_key = match provider {
        ProviderKind::Bedrock => Some("region"),
        ProviderKind::Vertex => Some("location"),
        _ => None,
    };
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
        Some(_) if signed => {
            errors.push(ConfigError::new(
                format!("{path}.apiKeys"),
                format!("provider {provider} calls with its cloud credentials (auth:), not keys"),
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

    // URLs with their weight, own key and own region or location.
    let mut urls: Vec<(Upstream, u32, Option<Secret>, Option<String>)> = Vec::new();
    match &raw.endpoints {
        Some(list) if list.is_empty() => errors.push(ConfigError::new(
            format!("{path}.endpoints"),
            "must not be empty",
        )),
        Some(list) => {
            for (j, e) in list.iter().enumerate() {
                let epath = format!("{path}.endpoints[{j}]");
                let site = endpoint_site(&epath, provider, site_key, e, errors);
                let url = match (&e.url, &site) {
                    (Some(url), _) => Some(url.clone()),
                    (None, Some(site)) => site_base_url(provider, site),
                    (None, None) => {
                        let or_site = site_key.map(|k| format!(" or {k}")).unwrap_or_default();
                        errors.push(ConfigError::new(
                            format!("{epath}.url"),
                            format!("an endpoint needs a url{or_site}"),
                        ));
                        None
                    }
                };
                let upstream = url.and_then(|url| match Upstream::parse(&url) {
                    Ok(u) => Some(u),
                    Err(msg) => {
                        errors.push(ConfigError::new(format!("{epath}.url"), msg));
                        None
                    }
                });
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
                    Some(_) if signed => {
                        errors.push(ConfigError::new(
                            format!("{epath}.apiKey"),
                            format!("provider {provider} calls with its cloud credentials (auth:), not keys"),
                        ));
                        None
                    }
                    Some(k) => resolve_secret(&format!("{epath}.apiKey"), k, errors),
                    None => None,
                };
                if let Some(u) = upstream {
                    urls.push((u, weight, own_key, site));
                }
            }
        }
        None => {
            if let Some(b) = base {
                urls.push((b.clone(), 1, None, None));
            }
        }
    }

    let mut targets: Vec<Target> = Vec::new();
    for (upstream, weight, own_key, site) in urls {
        let keys: Vec<Option<Secret>> = match own_key {
            Some(k) => vec![Some(k)],
            None => keys.clone(),
        };
        for api_key in keys {
            targets.push(Target {
                name: upstream.endpoint().to_string(),
                upstream: upstream.clone(),
                api_key,
                site: site.clone(),
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
        Some(settings) => {
            match TargetProbes::new(&raw.name, provider, cloud, &targets, &settings) {
                Ok(probes) => Some((settings, probes)),
                Err(msg) => {
                    errors.push(ConfigError::new(format!("{path}.healthCheck"), msg));
                    return None;
                }
            }
        }
        None => None,
    };
    Some(Balancer::new(&raw.name, targets, policy, outlier, health))
}

/// An endpoint's own `region` (bedrock) or `location` (vertex); either is an error for any
/// other provider (`site_key` names the one `provider` takes).
fn endpoint_site(
    epath: &str,
    provider: ProviderKind,
    site_key: Option<&str>,
    e: &RawEndpoint,
    errors: &mut Vec<ConfigError>,
) -> Option<String> {
    let mut site = None;
    for (key, value) in [("region", &e.region), ("location", &e.location)] {
        match value {
            Some(v) if site_key == Some(key) => site = Some(v.clone()),
            Some(_) => {
                let wanted = if key == "region" { "bedrock" } else { "vertex" };
                errors.push(ConfigError::new(
                    format!("{epath}.{key}"),
                    format!("only for provider {wanted}, not {provider}"),
                ));
            }
            None => {}
        }
    }
    site
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
mod tests;
