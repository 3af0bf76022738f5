//! Google Application Default Credentials on Google's own crate (`google-cloud-auth`): a key
//! file named by `GOOGLE_APPLICATION_CREDENTIALS` (service account, user, workload identity
//! federation), gcloud's user credentials, else the metadata server (GKE Workload Identity,
//! GCE; `GCE_METADATA_HOST` moves it); or the metadata server alone.
//!
//! The crate keeps the token and refreshes it in one background task before it expires, so
//! requests do not wait for it and concurrent requests cause one refresh. Its credentials are
//! built, and its tokens fetched, on sluice's background thread ([`crate::background`]),
//! where that task lives. A credential whose refresh failed for good is built again on the
//! next request.

use google_cloud_auth::credentials::{self, AccessTokenCredentials};
use tokio::sync::Mutex;

use super::google::{AuthError, CLOUD_PLATFORM_SCOPE};

/// Which ADC source (`auth.source` of a vertex backend).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdcSource {
    /// The whole ADC search (the default when no key or token is configured).
    Adc,
    /// The metadata server only.
    Metadata,
}

impl AdcSource {
    pub fn describe(self) -> &'static str {
        match self {
            AdcSource::Adc => "Google Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's user credentials, else the metadata server)",
            AdcSource::Metadata => "the Google metadata server (GKE Workload Identity, GCE)",
        }
    }
}

pub struct Adc {
    pub source: AdcSource,
    credentials: Mutex<Option<AccessTokenCredentials>>,
}

impl std::fmt::Debug for Adc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Adc")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

fn build(source: AdcSource) -> Result<AccessTokenCredentials, AuthError> {
    let scopes = [CLOUD_PLATFORM_SCOPE];
    let built = match source {
        AdcSource::Adc => credentials::Builder::default()
            .with_scopes(scopes)
            .build_access_token_credentials(),
        AdcSource::Metadata => credentials::mds::Builder::default()
            .with_scopes(scopes)
            .build_access_token_credentials(),
    };
    built.map_err(|e| AuthError::Adc(format!("{}: {e}", source.describe())))
}

impl Adc {
    pub fn new(source: AdcSource) -> Adc {
        Adc {
            source,
            credentials: Mutex::new(None),
        }
    }

    /// An access token. Call on the background runtime ([`crate::background::run`]).
    pub async fn token(&self) -> Result<String, AuthError> {
        let mut held = self.credentials.lock().await;
        let creds = match held.as_ref() {
            Some(c) => c.clone(),
            None => {
                let c = build(self.source)?;
                *held = Some(c.clone());
                c
            }
        };
        // Not held across the fetch: the crate serves concurrent callers from its cache.
        drop(held);
        match creds.access_token().await {
            Ok(t) => Ok(t.token),
            Err(e) => {
                // A refresh that failed for good ends the crate's task: build anew next time.
                if !e.is_transient() {
                    *self.credentials.lock().await = None;
                }
                Err(AuthError::Adc(format!("{}: {e}", self.source.describe())))
            }
        }
    }
}
