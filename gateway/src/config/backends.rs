//! Backends: provider, model, credentials (API keys, cloud accounts) and where to call, each
//! resolved from its raw YAML with every problem named by path.

use std::sync::Arc;
use std::time::Duration;

use sluice_providers::ProviderKind;

use super::raw::{RawBackend, RawSecret};
use super::runtime::{parse_duration, DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT};
use super::{ConfigError, Secret, Upstream};
use crate::auth::aws::{AwsAuth, AwsSource};
use crate::auth::google::GoogleAuth;

#[derive(Debug)]
pub struct Backend {
    pub name: String,
    pub provider: ProviderKind,
    pub model: Option<String>,
    pub api_version: Option<String>,
    pub api_key: Option<Secret>,
    /// Where to send requests; `None` for `mock`, which answers in-process.
    pub upstream: Option<Upstream>,
    /// Cloud credentials and placement for vertex and bedrock.
    pub cloud: Option<Cloud>,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    /// Retries of this backend before moving on.
    pub retries: u32,
    /// The whole call's budget, streams included; `None` for no limit.
    pub timeout: Option<Duration>,
    /// Several targets (endpoints, keys), balanced and ejected; `None` calls `upstream` with
    /// `api_key`, as a backend with one `baseUrl` does.
    pub balancer: Option<crate::balance::Balancer>,
}

impl Backend {
    /// Where a vertex backend's models live: its project, at the picked target's own
    /// location (`site`, from [`crate::balance::Pick`]) or else the backend's.
    pub fn vertex_site<'a>(
        &'a self,
        site: Option<&'a str>,
    ) -> Option<sluice_providers::VertexSite<'a>> {
        match &self.cloud {
            Some(Cloud::Google {
                project, location, ..
            }) => Some(sluice_providers::VertexSite {
                project,
                location: site.unwrap_or(location),
            }),
            _ => None,
        }
    }
}

/// Credentials and placement of a cloud-hosted backend.
#[derive(Debug, Clone)]
pub enum Cloud {
    Aws {
        region: String,
        auth: Arc<AwsAuth>,
    },
    Google {
        project: String,
        location: String,
        auth: Arc<GoogleAuth>,
    },
    /// Gemini (the Gemini API) with Google OAuth access tokens instead of an API key;
    /// `quota_project` (`project:`, checked as a header value at load) goes as
    /// `x-goog-user-project`.
    GeminiOAuth {
        quota_project: Option<http::HeaderValue>,
        auth: Arc<GoogleAuth>,
    },
    /// Azure with a Microsoft Entra ID token instead of an `api-key`.
    AzureEntra {
        token: Secret,
    },
    /// Azure with Microsoft Entra ID tokens from `azure_identity` (`auth:`).
    AzureIdentity {
        auth: Arc<crate::auth::azure::AzureAuth>,
    },
}

pub(super) fn resolve_secret(
    path: &str,
    raw: &RawSecret,
    errors: &mut Vec<ConfigError>,
) -> Option<Secret> {
    let value = match raw {
        RawSecret::Inline(s) => s.clone(),
        RawSecret::Source(src) => match (&src.env, &src.file) {
            (Some(name), None) => match std::env::var(name) {
                Ok(v) => v,
                Err(_) => {
                    errors.push(ConfigError::new(
                        format!("{path}.env"),
                        format!("environment variable {name} is not set"),
                    ));
                    return None;
                }
            },
            (None, Some(file)) => match std::fs::read_to_string(file) {
                Ok(v) => v.trim().to_string(),
                Err(e) => {
                    errors.push(ConfigError::new(
                        format!("{path}.file"),
                        format!("cannot read {file}: {e}"),
                    ));
                    return None;
                }
            },
            _ => {
                errors.push(ConfigError::new(
                    path,
                    "expected a string, {env: NAME} or {file: PATH}",
                ));
                return None;
            }
        },
    };
    if value.is_empty() {
        errors.push(ConfigError::new(path, "is empty"));
        return None;
    }
    Some(Secret::new(value))
}

/// The cloud placement and credentials of vertex and bedrock backends; errors for keys that
/// belong to another provider.
fn cloud(
    path: &str,
    provider: ProviderKind,
    raw: &RawBackend,
    api_key: Option<Secret>,
    errors: &mut Vec<ConfigError>,
) -> Option<Cloud> {
    let misplaced = |key: &str, value: bool, wanted: &[ProviderKind], errors: &mut Vec<_>| {
        if value && !wanted.contains(&provider) {
            let names: Vec<&str> = wanted.iter().map(|p| p.name()).collect();
            errors.push(ConfigError::new(
                format!("{path}.{key}"),
                format!("only for provider {}", names.join(" and ")),
            ));
        }
    };
    if raw.auth.is_some()
        && !matches!(
            provider,
            ProviderKind::Bedrock
                | ProviderKind::Vertex
                | ProviderKind::Azure
                | ProviderKind::Gemini
        )
    {
        errors.push(ConfigError::new(
            format!("{path}.auth"),
            "only for providers bedrock, vertex, gemini and azure",
        ));
    }
    if let Some(auth) = &raw.auth {
        super::cloud_auth::misplaced(&format!("{path}.auth"), provider, auth, errors);
    }
    use ProviderKind::{Azure, Bedrock, Gemini, Vertex};
    let placed: [(&str, bool, &[ProviderKind]); 5] = [
        ("region", raw.region.is_some(), &[Bedrock]),
        ("project", raw.project.is_some(), &[Vertex, Gemini]),
        ("location", raw.location.is_some(), &[Vertex]),
        (
            "serviceAccount",
            raw.service_account.is_some(),
            &[Vertex, Gemini],
        ),
        ("entraToken", raw.entra_token.is_some(), &[Azure]),
    ];
    for (key, present, wanted) in placed {
        misplaced(key, present, wanted, errors);
    }
    match provider {
        ProviderKind::Bedrock => {
            let auth = raw.auth.as_ref();
            let profile = auth.and_then(|a| a.profile.as_deref());
            let region = raw.region.clone();
            let Some(region) = region.or_else(|| crate::auth::aws::region_from_chain(profile))
            else {
                errors.push(ConfigError::new(
                    format!("{path}.region"),
                    "provider bedrock needs an AWS region: set region, AWS_REGION (or AWS_DEFAULT_REGION), or region in the AWS profile",
                ));
                return None;
            };
            let source = match AwsSource::parse(auth.and_then(|a| a.source.as_deref()), profile) {
                Ok(s) => s,
                Err(e) => {
                    errors.push(ConfigError::new(format!("{path}.auth"), e));
                    return None;
                }
            };
            let role_arn = auth.and_then(|a| a.role_arn.clone());
            if role_arn.as_deref().is_some_and(|r| !r.starts_with("arn:")) {
                errors.push(ConfigError::new(
                    format!("{path}.auth.roleArn"),
                    "expected a role ARN (arn:aws:iam::<account>:role/<name>)",
                ));
                return None;
            }
            Some(Cloud::Aws {
                auth: Arc::new(AwsAuth::new(source, role_arn, region.clone())),
                region,
            })
        }
        ProviderKind::Vertex => {
            let (Some(project), Some(location)) = (raw.project.clone(), raw.location.clone())
            else {
                errors.push(ConfigError::new(
                    path,
                    "provider vertex needs project and location",
                ));
                return None;
            };
            let auth = super::cloud_auth::google_auth(path, raw, api_key, errors)?;
            Some(Cloud::Google {
                project,
                location,
                auth: Arc::new(auth),
            })
        }
        ProviderKind::Gemini if raw.auth.is_some() || raw.service_account.is_some() => {
            if api_key.is_some() {
                errors.push(ConfigError::new(
                    format!("{path}.apiKey"),
                    "provider gemini takes an API key (apiKey) or Google OAuth (auth, serviceAccount), not both",
                ));
                return None;
            }
            let quota_project = match raw.project.as_deref().map(http::HeaderValue::try_from) {
                None => None,
                Some(Ok(v)) => Some(v),
                Some(Err(_)) => {
                    errors.push(ConfigError::new(
                        format!("{path}.project"),
                        "not a valid project id (it goes in a header)",
                    ));
                    return None;
                }
            };
            let auth = super::cloud_auth::google_auth(path, raw, None, errors)?;
            Some(Cloud::GeminiOAuth {
                quota_project,
                auth: Arc::new(auth),
            })
        }
        ProviderKind::Gemini if raw.project.is_some() => {
            errors.push(ConfigError::new(
                format!("{path}.project"),
                "provider gemini takes project (the quota project) only with Google OAuth (auth, serviceAccount)",
            ));
            None
        }
        ProviderKind::Azure if raw.auth.is_some() => {
            if api_key.is_some() || raw.entra_token.is_some() {
                errors.push(ConfigError::new(
                    format!("{path}.auth"),
                    "auth names where Entra ID tokens come from: leave out apiKey and entraToken",
                ));
                return None;
            }
            let source = super::cloud_auth::azure_source(
                &format!("{path}.auth"),
                raw.auth.as_ref()?,
                errors,
            )?;
            Some(Cloud::AzureIdentity {
                auth: Arc::new(crate::auth::azure::AzureAuth::new(source)),
            })
        }
        ProviderKind::Azure => {
            let token = raw.entra_token.as_ref()?;
            if api_key.is_some() {
                errors.push(ConfigError::new(
                    path,
                    "provider azure takes one of apiKey (api-key header) or entraToken (bearer token)",
                ));
                return None;
            }
            let token = resolve_secret(&format!("{path}.entraToken"), token, errors)?;
            Some(Cloud::AzureEntra { token })
        }
        _ => None,
    }
}

/// The base URL of bedrock in AWS region `site`, or of vertex at Google Cloud location `site`.
pub(super) fn site_base_url(provider: ProviderKind, site: &str) -> Option<String> {
    match provider {
        ProviderKind::Bedrock => Some(format!("https://bedrock-runtime.{site}.amazonaws.com")),
        ProviderKind::Vertex => Some(sluice_providers::vertex::base_url(site)),
        _ => None,
    }
}

pub(super) fn backend(
    i: usize,
    raw: &RawBackend,
    errors: &mut Vec<ConfigError>,
) -> Option<Backend> {
    let path = format!("backends[{i}]");
    let provider = match ProviderKind::from_name(&raw.provider) {
        Some(p) => p,
        None => {
            errors.push(ConfigError::new(
                format!("{path}.provider"),
                format!(
                    "unknown provider \"{}\"; expected one of {}",
                    raw.provider,
                    ProviderKind::NAMES.join(", ")
                ),
            ));
            return None;
        }
    };
    let api_key = raw
        .api_key
        .as_ref()
        .and_then(|k| resolve_secret(&format!("{path}.apiKey"), k, errors));
    let cloud = cloud(&path, provider, raw, api_key.clone(), errors);
    let computed_base = match &cloud {
        Some(Cloud::Aws { region: site, .. } | Cloud::Google { location: site, .. }) => {
            site_base_url(provider, site)
        }
        Some(
            Cloud::GeminiOAuth { .. } | Cloud::AzureEntra { .. } | Cloud::AzureIdentity { .. },
        )
        | None => provider.default_base_url().map(str::to_string),
    };
    let upstream = match (&raw.base_url, computed_base.as_deref()) {
        (Some(url), _) => match Upstream::parse(url) {
            Ok(u) => Some(u),
            Err(e) => {
                errors.push(ConfigError::new(format!("{path}.baseUrl"), e));
                None
            }
        },
        (None, Some(default)) => Upstream::parse(default).ok(),
        (None, None) => None,
    };
    if provider == ProviderKind::Mock && raw.base_url.is_some() {
        errors.push(ConfigError::new(
            format!("{path}.baseUrl"),
            "the mock provider calls no upstream",
        ));
    }
    let balancer = super::balancing::balancer(
        &path,
        raw,
        provider,
        upstream.as_ref(),
        api_key.as_ref(),
        cloud.as_ref(),
        errors,
    );
    // With `endpoints`, the first stands for the backend where one URL is expected.
    let upstream = match (&raw.endpoints, &balancer) {
        (Some(_), Some(b)) => b.targets().first().map(|t| t.upstream.clone()),
        _ => upstream,
    };
    // Bedrock and vertex have theirs from their region or location (a missing one is an
    // error of its own); azure's is per resource.
    if computed_base.is_none()
        && !matches!(
            provider,
            ProviderKind::Mock | ProviderKind::Bedrock | ProviderKind::Vertex
        )
        && raw.base_url.is_none()
        && raw.endpoints.is_none()
    {
        errors.push(ConfigError::new(
            format!("{path}.baseUrl"),
            format!(
                "provider {provider} needs a baseUrl (e.g. https://<resource>.openai.azure.com)"
            ),
        ));
    }
    if provider == ProviderKind::Azure && raw.model.is_none() {
        errors.push(ConfigError::new(
            format!("{path}.model"),
            "provider azure needs the deployment name as model",
        ));
    }
    if raw.api_version.is_some() && provider.default_api_version().is_none() {
        errors.push(ConfigError::new(
            format!("{path}.apiVersion"),
            format!("not used by provider {provider}"),
        ));
    }
    Some(Backend {
        name: raw.name.clone(),
        provider,
        model: raw.model.clone().filter(|m| !m.is_empty()),
        api_version: raw.api_version.clone(),
        api_key,
        upstream,
        cloud,
        connect_timeout: parse_duration(
            &format!("{path}.connectTimeout"),
            raw.connect_timeout.as_deref(),
            DEFAULT_CONNECT_TIMEOUT,
            errors,
        ),
        retries: raw.retries.unwrap_or(0),
        timeout: raw
            .timeout
            .as_deref()
            .map(|t| parse_duration(&format!("{path}.timeout"), Some(t), Duration::ZERO, errors)),
        read_timeout: parse_duration(
            &format!("{path}.readTimeout"),
            raw.read_timeout.as_deref(),
            DEFAULT_READ_TIMEOUT,
            errors,
        ),
        balancer,
    })
}
