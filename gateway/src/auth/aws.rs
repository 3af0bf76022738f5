//! AWS credentials for bedrock backends, from the AWS SDK for Rust's credential providers
//! (`aws-config`): the default chain (environment, shared config and credentials files,
//! web identity / IRSA, ECS and EKS Pod Identity container credentials, EC2 instance
//! metadata with IMDSv2), or one named source, with an optional role assumed through STS.
//!
//! The providers fetch on every call; sluice keeps the credentials ([`super::kept::Kept`]) and
//! fetches again only within [`REFRESH_BEFORE`] of their expiry, once, in the background.
//! Fetches run on the background thread ([`crate::background`]), where the providers' HTTP
//! clients live.

use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use tokio::sync::OnceCell;

use super::kept::{Held, Kept, Source};
use super::sigv4::AwsCredentials;

/// Credentials this close to their expiry are refreshed (in the background).
pub const REFRESH_BEFORE: Duration = Duration::from_secs(300);

/// Where a backend's AWS credentials come from (`auth.source`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AwsSource {
    /// The SDK's default chain, in its order (the default).
    Chain,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`.
    Env,
    /// The shared config and credentials files; a named profile, else `AWS_PROFILE` or
    /// `default`.
    Profile(Option<String>),
    /// `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` (EKS IRSA) through STS.
    WebIdentity,
    /// `AWS_CONTAINER_CREDENTIALS_FULL_URI` / `..._RELATIVE_URI` (ECS, EKS Pod Identity).
    Container,
    /// The EC2 instance metadata service (IMDSv2).
    Imds,
}

impl AwsSource {
    /// `auth.source` as written (`chain`, `env`, `profile`, `webIdentity`, `container`,
    /// `imds`), with `auth.profile` for `profile`.
    pub fn parse(source: Option<&str>, profile: Option<&str>) -> Result<AwsSource, String> {
        let source = match source.unwrap_or(if profile.is_some() { "profile" } else { "chain" }) {
            "chain" => AwsSource::Chain,
            "env" => AwsSource::Env,
            "profile" => AwsSource::Profile(profile.map(str::to_string)),
            "webIdentity" => AwsSource::WebIdentity,
            "container" => AwsSource::Container,
            "imds" => AwsSource::Imds,
            other => {
                return Err(format!(
                    "unknown AWS credential source {other:?}; chain (default), env, profile, webIdentity, container or imds"
                ))
            }
        };
        if profile.is_some() && !matches!(source, AwsSource::Profile(_)) {
            return Err("profile is only for source: profile".into());
        }
        Ok(source)
    }

    /// What `sluice check` says of it.
    pub fn describe(&self) -> String {
        match self {
            AwsSource::Chain => "the AWS default credential chain (environment, shared config and credentials files, web identity, container credentials, instance metadata; the first that has credentials)".into(),
            AwsSource::Env => "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN)".into(),
            AwsSource::Profile(Some(p)) => format!("the AWS profile {p:?} of the shared config and credentials files"),
            AwsSource::Profile(None) => "the AWS profile of AWS_PROFILE (else \"default\") in the shared config and credentials files".into(),
            AwsSource::WebIdentity => "web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, through STS)".into(),
            AwsSource::Container => "container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI or _RELATIVE_URI: ECS, EKS Pod Identity)".into(),
            AwsSource::Imds => "the EC2 instance metadata service (IMDSv2)".into(),
        }
    }
}

/// One bedrock backend's AWS credentials: where from, and the last ones fetched.
pub struct AwsAuth {
    pub source: AwsSource,
    /// A role assumed with the source's credentials (`auth.roleArn`).
    pub role_arn: Option<String>,
    region: String,
    provider: OnceCell<SharedCredentialsProvider>,
    kept: Arc<Kept<AwsCredentials>>,
}

impl std::fmt::Debug for AwsAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsAuth")
            .field("source", &self.source)
            .field("role_arn", &self.role_arn)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl AwsAuth {
    pub fn new(source: AwsSource, role_arn: Option<String>, region: String) -> AwsAuth {
        AwsAuth {
            source,
            role_arn,
            region,
            provider: OnceCell::new(),
            kept: Arc::new(Kept::new(REFRESH_BEFORE)),
        }
    }

    /// Credentials to sign with now (kept, refreshed before they expire).
    pub async fn credentials(self: &Arc<Self>) -> Result<AwsCredentials, String> {
        self.kept.get_from(self).await
    }

    async fn build(&self) -> SharedCredentialsProvider {
        use aws_config::provider_config::ProviderConfig;
        let region = Region::new(self.region.clone());
        let conf = ProviderConfig::default().with_region(Some(region.clone()));
        let base = match &self.source {
            AwsSource::Chain => SharedCredentialsProvider::new(
                aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
                    .configure(conf)
                    .build()
                    .await,
            ),
            AwsSource::Env => SharedCredentialsProvider::new(
                aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
            ),
            AwsSource::Profile(name) => {
                let mut b =
                    aws_config::profile::ProfileFileCredentialsProvider::builder().configure(&conf);
                if let Some(name) = name {
                    b = b.profile_name(name);
                }
                SharedCredentialsProvider::new(b.build())
            }
            AwsSource::WebIdentity => SharedCredentialsProvider::new(
                aws_config::web_identity_token::WebIdentityTokenCredentialsProvider::builder()
                    .configure(&conf)
                    .build(),
            ),
            AwsSource::Container => SharedCredentialsProvider::new(
                aws_config::ecs::EcsCredentialsProvider::builder()
                    .configure(&conf)
                    .build(),
            ),
            AwsSource::Imds => SharedCredentialsProvider::new(
                aws_config::imds::credentials::ImdsCredentialsProvider::builder()
                    .configure(&conf)
                    .build(),
            ),
        };
        let Some(role) = &self.role_arn else {
            return base;
        };
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region(region)
            .credentials_provider(base)
            .load()
            .await;
        SharedCredentialsProvider::new(
            aws_config::sts::AssumeRoleProvider::builder(role.clone())
                .session_name("sluice")
                .configure(&sdk)
                .build()
                .await,
        )
    }
}

impl Source for AwsAuth {
    type Credential = AwsCredentials;

    async fn fetch(&self) -> Result<Held<AwsCredentials>, String> {
        let provider = self.provider.get_or_init(|| self.build()).await;
        let got = provider.provide_credentials().await.map_err(|e| {
            format!(
                "no AWS credentials from {}: {}",
                self.source.describe(),
                aws_smithy_error_text(&e)
            )
        })?;
        Ok(Held {
            value: AwsCredentials {
                access_key_id: got.access_key_id().to_string(),
                secret_access_key: got.secret_access_key().to_string(),
                session_token: got.session_token().map(str::to_string),
            },
            expires: got.expiry(),
        })
    }
}

/// The region of a bedrock backend without `region:`, from the AWS SDK's region chain
/// without instance metadata: `AWS_REGION`, `AWS_DEFAULT_REGION`, then the profile's
/// `region` in the shared config file (of `profile`, else of `AWS_PROFILE` or `default`).
/// Run on a thread of its own (the providers are async and read files), so that it works
/// wherever the config is loaded.
pub fn region_from_chain(profile: Option<&str>) -> Option<String> {
    use aws_config::meta::region::RegionProviderChain;
    let profile = profile.map(str::to_string);
    let chain = || async move {
        let mut in_profile = aws_config::profile::ProfileFileRegionProvider::builder();
        if let Some(name) = profile {
            in_profile = in_profile.profile_name(name);
        }
        let chain = RegionProviderChain::first_try(
            aws_config::environment::region::EnvironmentVariableRegionProvider::new(),
        )
        .or_else(in_profile.build());
        chain.region().await.map(|r| r.to_string())
    };
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()
            .and_then(|rt| rt.block_on(chain()))
    })
    .join()
    .ok()
    .flatten()
}

/// A credentials error with its causes, without the credentials (the SDK's errors carry
/// none).
fn aws_smithy_error_text(e: &aws_credential_types::provider::error::CredentialsError) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_as_written() {
        assert_eq!(AwsSource::parse(None, None), Ok(AwsSource::Chain));
        assert_eq!(
            AwsSource::parse(None, Some("prod")),
            Ok(AwsSource::Profile(Some("prod".into())))
        );
        assert_eq!(AwsSource::parse(Some("imds"), None), Ok(AwsSource::Imds));
        assert_eq!(
            AwsSource::parse(Some("webIdentity"), None),
            Ok(AwsSource::WebIdentity)
        );
        assert!(AwsSource::parse(Some("sso"), None)
            .unwrap_err()
            .contains("unknown AWS credential source \"sso\""));
        assert!(AwsSource::parse(Some("env"), Some("prod")).is_err());
    }
}
