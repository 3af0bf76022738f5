//! Where a backend's Google OAuth tokens (vertex, gemini with OAuth) and Microsoft Entra ID
//! tokens (azure) come from, checked with their YAML paths. (bedrock's `auth:` is read in
//! [`super::backends`].)

use super::backends::resolve_secret;
use super::raw::{RawBackend, RawCloudAuth};
use super::{ConfigError, Secret};
use crate::auth::azure::AzureSource;
use crate::auth::google::{GoogleAuth, CLOUD_PLATFORM_SCOPE};
use crate::auth::google_adc::AdcSource;

/// The Google OAuth tokens of the backend at `path`: from its `serviceAccount` key, from
/// `token` (vertex's `apiKey`: a fixed access token), else Application Default Credentials
/// (`auth.source`: `adc`, the default, or `metadata`).
pub(super) fn google_auth(
    path: &str,
    raw: &RawBackend,
    token: Option<Secret>,
    errors: &mut Vec<ConfigError>,
) -> Option<GoogleAuth> {
    let adc = match raw.auth.as_ref().and_then(|a| a.source.as_deref()) {
        None | Some("adc") => AdcSource::Adc,
        Some("metadata") => AdcSource::Metadata,
        Some(other) => {
            errors.push(ConfigError::new(
                format!("{path}.auth.source"),
                format!("unknown Google credential source {other:?}; adc (default) or metadata (or give serviceAccount or apiKey)"),
            ));
            return None;
        }
    };
    if raw.auth.is_some() && (raw.service_account.is_some() || token.is_some()) {
        errors.push(ConfigError::new(
            format!("{path}.auth"),
            "auth names where credentials come from: leave out serviceAccount and apiKey",
        ));
        return None;
    }
    match (&raw.service_account, token) {
        (Some(sa), None) => {
            let json = resolve_secret(&format!("{path}.serviceAccount"), sa, errors)?;
            match GoogleAuth::service_account(json.expose(), CLOUD_PLATFORM_SCOPE) {
                Ok(a) => Some(a),
                Err(e) => {
                    errors.push(ConfigError::new(
                        format!("{path}.serviceAccount"),
                        e.to_string(),
                    ));
                    None
                }
            }
        }
        (None, Some(token)) => Some(GoogleAuth::static_token(token.expose().to_string())),
        (None, None) => Some(GoogleAuth::adc(adc)),
        (Some(_), Some(_)) => {
            errors.push(ConfigError::new(
                path,
                "provider vertex takes one of serviceAccount (a key file) or apiKey (an access token), or neither (Application Default Credentials)",
            ));
            None
        }
    }
}

/// Fields of `auth:` that belong to another provider.
pub(super) fn misplaced(
    path: &str,
    provider: sluice_providers::ProviderKind,
    raw: &RawCloudAuth,
    errors: &mut Vec<ConfigError>,
) {
    use sluice_providers::ProviderKind::{Azure, Bedrock};
    let fields = [
        ("profile", raw.profile.is_some(), Bedrock),
        ("roleArn", raw.role_arn.is_some(), Bedrock),
        ("clientId", raw.client_id.is_some(), Azure),
        ("tenantId", raw.tenant_id.is_some(), Azure),
        ("clientSecret", raw.client_secret.is_some(), Azure),
    ];
    for (name, present, wanted) in fields {
        if present && provider != wanted {
            errors.push(ConfigError::new(
                format!("{path}.{name}"),
                format!("only for provider {wanted}"),
            ));
        }
    }
}

pub(super) fn azure_source(
    path: &str,
    raw: &RawCloudAuth,
    errors: &mut Vec<ConfigError>,
) -> Option<AzureSource> {
    let secret = raw
        .client_secret
        .as_ref()
        .and_then(|s| resolve_secret(&format!("{path}.clientSecret"), s, errors));
    let source = match raw.source.as_deref() {
        Some("managedIdentity") => AzureSource::ManagedIdentity {
            client_id: raw.client_id.clone(),
        },
        Some("workloadIdentity") => AzureSource::WorkloadIdentity {
            client_id: raw.client_id.clone(),
            tenant_id: raw.tenant_id.clone(),
        },
        Some("clientSecret") => {
            let (Some(tenant_id), Some(client_id), Some(secret)) =
                (raw.tenant_id.clone(), raw.client_id.clone(), secret)
            else {
                errors.push(ConfigError::new(
                    path,
                    "source clientSecret needs tenantId, clientId and clientSecret",
                ));
                return None;
            };
            return Some(AzureSource::ClientSecret {
                tenant_id,
                client_id,
                secret,
            });
        }
        other => {
            errors.push(ConfigError::new(
                format!("{path}.source"),
                format!(
                    "{}; managedIdentity, workloadIdentity or clientSecret (or give apiKey or entraToken instead of auth)",
                    other.map_or("missing".to_string(), |o| format!("unknown Azure credential source {o:?}"))
                ),
            ));
            return None;
        }
    };
    if raw.client_secret.is_some() {
        errors.push(ConfigError::new(
            format!("{path}.clientSecret"),
            "only for source clientSecret",
        ));
        return None;
    }
    Some(source)
}

#[cfg(test)]
mod tests {
    use crate::config::load_str;

    fn backend(rest: &str) -> String {
        format!(
            "listeners:\n  - bind: 127.0.0.1:0\n    routes: [{{match: {{pathPrefix: /}}, backend: b}}]\n\
             backends:\n  - {{name: b, {rest}}}\n"
        )
    }

    fn errors(yaml: &str) -> Vec<String> {
        match load_str(yaml) {
            Ok(_) => panic!("accepted: {yaml}"),
            Err(e) => e.0.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn azure_sources_load_and_the_secret_never_shows() {
        let yaml = backend(
            "provider: azure, model: gpt-4o, baseUrl: 'https://r.openai.azure.com', \
             auth: {source: clientSecret, tenantId: t-1, clientId: app-1, clientSecret: s3cr3t-value}",
        );
        let c = load_str(&yaml).unwrap();
        let shown = format!("{c:?}{}", c.redacted);
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(shown.contains("ClientSecret"));
    }

    #[test]
    fn auth_mistakes_name_their_path() {
        let e = errors(&backend(
            "provider: azure, model: gpt-4o, baseUrl: 'https://r.openai.azure.com', auth: {source: clientSecret, clientId: a}",
        ));
        assert!(
            e.iter().any(|e| e.starts_with("backends[0].auth")
                && e.contains("needs tenantId, clientId and clientSecret")),
            "{e:?}"
        );
        let e = errors(&backend(
            "provider: azure, model: gpt-4o, baseUrl: 'https://r.openai.azure.com', auth: {source: vault}",
        ));
        assert!(
            e.iter()
                .any(|e| e.starts_with("backends[0].auth.source") && e.contains("\"vault\"")),
            "{e:?}"
        );
        let e = errors(&backend(
            "provider: bedrock, region: us-east-1, auth: {source: env, tenantId: t}",
        ));
        assert!(
            e.iter().any(|e| e.starts_with("backends[0].auth.tenantId")
                && e.contains("only for provider azure")),
            "{e:?}"
        );
        let e = errors(&backend("provider: openai, apiKey: k, auth: {source: env}"));
        assert!(e.iter().any(|e| e.starts_with("backends[0].auth")), "{e:?}");
    }

    #[test]
    fn bedrock_and_vertex_call_their_regional_endpoint_without_a_base_url() {
        let c = load_str(&backend("provider: bedrock, region: eu-west-3")).unwrap();
        let up = c.backends[0].upstream.as_ref().unwrap();
        assert_eq!(up.host_header(), "bedrock-runtime.eu-west-3.amazonaws.com");
        let c = load_str(&backend(
            "provider: vertex, project: p, location: europe-west4, apiKey: t",
        ))
        .unwrap();
        let up = c.backends[0].upstream.as_ref().unwrap();
        assert_eq!(up.host_header(), "europe-west4-aiplatform.googleapis.com");
        // Azure's is per resource: it must be given.
        let e = errors(&backend("provider: azure, model: d, apiKey: k"));
        assert!(
            e.iter()
                .any(|e| e.starts_with("backends[0].baseUrl: provider azure needs a baseUrl")),
            "{e:?}"
        );
    }

    #[test]
    fn gemini_takes_an_api_key_or_google_oauth() {
        use crate::config::runtime::Cloud;
        let c = load_str(&backend(
            "provider: gemini, project: billing-proj, auth: {source: metadata}",
        ))
        .unwrap();
        match &c.backends[0].cloud {
            Some(Cloud::GeminiOAuth {
                quota_project,
                auth,
            }) => {
                assert_eq!(
                    quota_project.as_ref().and_then(|p| p.to_str().ok()),
                    Some("billing-proj")
                );
                assert_eq!(
                    auth.adc_source(),
                    Some(crate::auth::google_adc::AdcSource::Metadata)
                );
            }
            other => panic!("{other:?}"),
        }
        // An API key alone: no OAuth.
        let c = load_str(&backend("provider: gemini, apiKey: k")).unwrap();
        assert!(c.backends[0].cloud.is_none());
        for (rest, want) in [
            (
                "apiKey: k, auth: {source: adc}",
                "backends[0].apiKey: provider gemini takes an API key (apiKey) or Google OAuth",
            ),
            (
                "apiKey: k, project: p",
                "backends[0].project: provider gemini takes project (the quota project) only with Google OAuth",
            ),
            (
                "auth: {source: adc}, project: \"bad\\nid\"",
                "backends[0].project: not a valid project id",
            ),
            (
                "auth: {source: adc}, location: us-east1",
                "backends[0].location: only for provider vertex",
            ),
            (
                "auth: {source: adc}, apiKeys: [a, b]",
                "backends[0].apiKeys: provider gemini calls with its cloud credentials",
            ),
        ] {
            let e = errors(&backend(&format!("provider: gemini, {rest}")));
            assert!(e.iter().any(|e| e.starts_with(want)), "{rest}: {e:?}");
        }
    }
}
