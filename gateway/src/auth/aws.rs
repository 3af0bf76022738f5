//! AWS credentials for bedrock backends, from the AWS SDK for Rust's credential providers
//! (`aws-config`): the default chain (environment, shared config and credentials files,
//! web identity / IRSA, ECS and EKS Pod Identity container credentials, EC2 instance
//! metadata with IMDSv2), or one named source, with an optional role assumed through STS.
//!
//! The providers fetch on every call; sluice keeps the credentials ([`AwsAuth`]) and fetches
//! again only when they near their expiry: a request that finds them within
//! [`REFRESH_BEFORE`] of it starts one refresh in the background and signs with the
//! credentials it has; only expired (or never fetched) credentials make requests wait, and
//! then for one fetch whatever their number (single flight). Fetches run on the background
//! thread ([`crate::background`]), where the providers' HTTP clients live.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use tokio::sync::{Mutex, OnceCell};

use super::sigv4::AwsCredentials;

/// Credentials this close to their expiry are refreshed (in the background).
pub const REFRESH_BEFORE: Duration = Duration::from_secs(300);
/// Credentials this close to their expiry are not used: requests wait for new ones.
const USABLE_UNTIL: Duration = Duration::from_secs(10);

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

/// Credentials as last fetched.
#[derive(Debug)]
struct Held {
    credentials: AwsCredentials,
    /// `None`: long-term keys that do not expire.
    expires: Option<SystemTime>,
}

impl Held {
    fn expires_within(&self, margin: Duration, now: SystemTime) -> bool {
        self.expires.is_some_and(|e| e <= now + margin)
    }
}

/// One bedrock backend's AWS credentials: where from, and the last ones fetched.
pub struct AwsAuth {
    pub source: AwsSource,
    /// A role assumed with the source's credentials (`auth.roleArn`).
    pub role_arn: Option<String>,
    region: String,
    provider: OnceCell<SharedCredentialsProvider>,
    held: ArcSwapOption<Held>,
    /// One fetch at a time.
    fetching: Mutex<()>,
    refreshing: AtomicBool,
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
            held: ArcSwapOption::empty(),
            fetching: Mutex::new(()),
            refreshing: AtomicBool::new(false),
        }
    }

    /// Credentials to sign with now: the held ones while they are good; a refresh in the
    /// background when they near their expiry; a fetch (one, however many wait) when there
    /// are none or they have expired.
    pub async fn credentials(self: &Arc<Self>) -> Result<AwsCredentials, String> {
        let now = SystemTime::now();
        if let Some(held) = self.held.load_full() {
            if !held.expires_within(REFRESH_BEFORE, now) {
                return Ok(held.credentials.clone());
            }
            if !held.expires_within(USABLE_UNTIL, now) {
                if !self.refreshing.swap(true, Ordering::AcqRel) {
                    let me = self.clone();
                    crate::background::spawn(async move {
                        if let Err(e) = me.fetch().await {
                            log::warn!("refreshing AWS credentials failed (the held ones are used until they expire): {e}");
                        }
                        me.refreshing.store(false, Ordering::Release);
                    });
                }
                return Ok(held.credentials.clone());
            }
        }
        let me = self.clone();
        crate::background::run(async move { me.fetch().await })
            .await?
            .map(|h| h.credentials.clone())
    }

    /// Fetches new credentials unless another caller just did.
    async fn fetch(&self) -> Result<Arc<Held>, String> {
        let _one = self.fetching.lock().await;
        if let Some(held) = self.held.load_full() {
            if !held.expires_within(REFRESH_BEFORE, SystemTime::now()) {
                return Ok(held);
            }
        }
        let provider = self.provider.get_or_init(|| self.build()).await;
        let got = provider.provide_credentials().await.map_err(|e| {
            format!(
                "no AWS credentials from {}: {}",
                self.source.describe(),
                aws_smithy_error_text(&e)
            )
        })?;
        let held = Arc::new(Held {
            credentials: AwsCredentials {
                access_key_id: got.access_key_id().to_string(),
                secret_access_key: got.secret_access_key().to_string(),
                session_token: got.session_token().map(str::to_string),
            },
            expires: got.expiry(),
        });
        self.held.store(Some(held.clone()));
        Ok(held)
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

    #[test]
    fn held_credentials_are_refreshed_before_they_expire() {
        let now = SystemTime::now();
        let held = |secs: u64| Held {
            credentials: AwsCredentials {
                access_key_id: "AKIA".into(),
                secret_access_key: "s".into(),
                session_token: None,
            },
            expires: Some(now + Duration::from_secs(secs)),
        };
        assert!(!held(3600).expires_within(REFRESH_BEFORE, now));
        assert!(held(200).expires_within(REFRESH_BEFORE, now));
        assert!(!held(200).expires_within(USABLE_UNTIL, now));
        let long_term = Held {
            expires: None,
            ..held(0)
        };
        assert!(!long_term.expires_within(REFRESH_BEFORE, now));
    }
}
