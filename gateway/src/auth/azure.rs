//! Microsoft Entra ID tokens for azure backends, on Microsoft's crate (`azure_identity`):
//! a client secret (client credentials), managed identity (`IDENTITY_ENDPOINT` +
//! `IDENTITY_HEADER` where the platform sets them, else the instance metadata service), or
//! workload identity (`AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`:
//! AKS). The crate refreshes a token only on the request that finds it within 5 minutes of
//! its expiry; sluice keeps the token ([`super::kept::Kept`]) and refreshes it 4 minutes
//! before, once, in the background, so requests do not wait.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use azure_core::credentials::TokenCredential;
use azure_identity::{
    ClientSecretCredential, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
    UserAssignedId, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use tokio::sync::OnceCell;

use super::kept::{Held, Kept, Source};
use crate::config::Secret;

/// The scope of Azure OpenAI (Azure AI services).
pub const COGNITIVE_SERVICES_SCOPE: &str = "https://cognitiveservices.azure.com/.default";
/// Inside the crate's own 5-minute window, so that asking gives a new token.
const REFRESH_BEFORE: Duration = Duration::from_secs(240);

/// Where an azure backend's tokens come from (`auth.source`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AzureSource {
    /// `auth.clientId` (of a user-assigned identity) or the system-assigned one.
    ManagedIdentity { client_id: Option<String> },
    /// AKS workload identity; `auth.clientId` / `auth.tenantId` override the environment.
    WorkloadIdentity {
        client_id: Option<String>,
        tenant_id: Option<String>,
    },
    /// An app registration's secret.
    ClientSecret {
        tenant_id: String,
        client_id: String,
        secret: Secret,
    },
}

impl AzureSource {
    pub fn describe(&self) -> String {
        match self {
            AzureSource::ManagedIdentity { client_id: None } => "the Azure managed identity (system-assigned; IDENTITY_ENDPOINT where the platform sets it, else the instance metadata service)".into(),
            AzureSource::ManagedIdentity { client_id: Some(id) } => format!("the Azure user-assigned managed identity {id}"),
            AzureSource::WorkloadIdentity { .. } => "Azure workload identity (AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID, AZURE_TENANT_ID)".into(),
            AzureSource::ClientSecret { tenant_id, client_id, .. } => format!("the Entra ID app {client_id} of tenant {tenant_id} (client secret)"),
        }
    }
}

pub struct AzureAuth {
    pub source: AzureSource,
    credential: OnceCell<Arc<dyn TokenCredential>>,
    kept: Arc<Kept<String>>,
}

impl std::fmt::Debug for AzureAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The source's Debug redacts the client secret (a `Secret`).
        f.debug_struct("AzureAuth")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl AzureAuth {
    pub fn new(source: AzureSource) -> AzureAuth {
        AzureAuth {
            source,
            credential: OnceCell::new(),
            kept: Arc::new(Kept::new(REFRESH_BEFORE)),
        }
    }

    /// An access token (kept, refreshed before it expires).
    pub async fn token(self: &Arc<Self>) -> Result<String, String> {
        self.kept.get_from(self).await
    }

    fn build(&self) -> Result<Arc<dyn TokenCredential>, String> {
        let built: azure_core::Result<Arc<dyn TokenCredential>> = match &self.source {
            AzureSource::ManagedIdentity { client_id } => {
                ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                    user_assigned_id: client_id.clone().map(UserAssignedId::ClientId),
                    ..Default::default()
                }))
                .map(|c| c as Arc<dyn TokenCredential>)
            }
            AzureSource::WorkloadIdentity {
                client_id,
                tenant_id,
            } => WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
                client_id: client_id.clone(),
                tenant_id: tenant_id.clone(),
                ..Default::default()
            }))
            .map(|c| c as Arc<dyn TokenCredential>),
            AzureSource::ClientSecret {
                tenant_id,
                client_id,
                secret,
            } => ClientSecretCredential::new(
                tenant_id,
                client_id.clone(),
                azure_core::credentials::Secret::new(secret.expose().to_string()),
                None,
            )
            .map(|c| c as Arc<dyn TokenCredential>),
        };
        built.map_err(|e| format!("{}: {e}", self.source.describe()))
    }
}

impl Source for AzureAuth {
    type Credential = String;

    async fn fetch(&self) -> Result<Held<String>, String> {
        let credential = match self.credential.get() {
            Some(c) => c.clone(),
            None => {
                let c = self.build()?;
                self.credential.get_or_init(|| async { c }).await.clone()
            }
        };
        let token = credential
            .get_token(&[COGNITIVE_SERVICES_SCOPE], None)
            .await
            .map_err(|e| {
                format!(
                    "no Microsoft Entra ID token from {}: {e}",
                    self.source.describe()
                )
            })?;
        let expires = u64::try_from(token.expires_on.unix_timestamp())
            .ok()
            .map(|s| UNIX_EPOCH + Duration::from_secs(s))
            .filter(|t| *t > SystemTime::UNIX_EPOCH);
        Ok(Held {
            value: token.token.secret().to_string(),
            expires,
        })
    }
}
