//! `auth:` of an azure backend: which Microsoft Entra ID source, checked with its YAML path.
//! (bedrock's and vertex's `auth:` are read in [`super::backends`].)

use super::raw::RawCloudAuth;
use super::ConfigError;
use crate::auth::azure::AzureSource;

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
        .and_then(|s| super::backends::resolve_secret(&format!("{path}.clientSecret"), s, errors));
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
}
