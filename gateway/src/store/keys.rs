//! Keys in the store: their rows, how they are made, changed and deleted, and the in-memory
//! table the request path reads ([`KeyTable`]).

use std::collections::HashMap;
use std::sync::Arc;

use rand::Rng;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{now_secs, Store};
use crate::limits::{hash_key, Budget, BudgetWindow, ClientKey, KeyAccess, Limits};

/// A key's row, without its secret (only its hash is stored).
#[derive(Clone, Debug, PartialEq)]
pub struct StoredKey {
    pub id: String,
    pub hash: [u8; 32],
    /// The key's first characters, to recognise it.
    pub prefix: String,
    /// What it may do: the columns a change writes.
    pub settings: KeySettings,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a key is made with and what a change may write (everything but its id, secret and
/// times).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeySettings {
    pub name: String,
    pub team: Option<String>,
    pub routes: Vec<String>,
    pub models: Vec<String>,
    pub limits: Limits,
    /// USD and window text (`1d`, `month`).
    pub budget: Option<(f64, String)>,
    pub expires_at: Option<i64>,
    pub disabled: bool,
}

const COLUMNS: &str = "id, hash, prefix, created_at, name, team, routes, models, \
    requests_per_minute, tokens_per_minute, budget_usd, budget_window, expires_at, disabled, \
    updated_at";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    crate::limits::parse_hash(&format!("sha256:{text}"))
}

/// A list column's JSON text.
fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

fn list(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

fn to_i64(v: Option<u64>) -> Option<i64> {
    v.map(|v| i64::try_from(v).unwrap_or(i64::MAX))
}

fn from_i64(v: Option<i64>) -> Option<u64> {
    v.map(|v| u64::try_from(v).unwrap_or(0))
}

fn row_to_key(row: &AnyRow) -> Result<StoredKey, sqlx::Error> {
    let hash: String = row.try_get("hash")?;
    let usd: Option<f64> = row.try_get("budget_usd")?;
    let window: Option<String> = row.try_get("budget_window")?;
    Ok(StoredKey {
        id: row.try_get("id")?,
        hash: unhex(&hash).unwrap_or([0; 32]),
        prefix: row.try_get("prefix")?,
        settings: KeySettings {
            name: row.try_get("name")?,
            team: row.try_get("team")?,
            routes: list(&row.try_get::<String, _>("routes")?),
            models: list(&row.try_get::<String, _>("models")?),
            limits: Limits {
                requests_per_minute: from_i64(row.try_get("requests_per_minute")?),
                tokens_per_minute: from_i64(row.try_get("tokens_per_minute")?),
            },
            budget: usd.zip(window),
            expires_at: row.try_get("expires_at")?,
            disabled: row.try_get::<i64, _>("disabled")? != 0,
        },
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Binds the columns of `key` a change may write, in [`COLUMNS`] order: `name` to
/// `updated_at`.
fn bind_settings<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    key: &StoredKey,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let s = &key.settings;
    let (usd, window) = s.budget.clone().unzip();
    q.bind(s.name.clone())
        .bind(s.team.clone())
        .bind(json_list(&s.routes))
        .bind(json_list(&s.models))
        .bind(to_i64(s.limits.requests_per_minute))
        .bind(to_i64(s.limits.tokens_per_minute))
        .bind(usd)
        .bind(window)
        .bind(s.expires_at)
        .bind(i64::from(s.disabled))
        .bind(key.updated_at)
}

/// A new key's secret: `sk-sluice-` and 32 random hex digits (128 bits).
fn new_secret() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    format!("sk-sluice-{}", hex(&bytes))
}

fn new_id() -> String {
    let bytes: [u8; 6] = rand::rng().random();
    format!("k_{}", hex(&bytes))
}

impl Store {
    /// Makes a key; returns its row and its secret (shown to the caller once, never stored).
    pub async fn create_key(&self, s: &KeySettings) -> Result<(StoredKey, String), sqlx::Error> {
        let secret = new_secret();
        let now = now_secs();
        let key = StoredKey {
            id: new_id(),
            hash: hash_key(&secret),
            prefix: secret.chars().take(14).collect(),
            settings: s.clone(),
            created_at: now,
            updated_at: now,
        };
        let sql = format!(
            "INSERT INTO sluice_keys ({COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        );
        self.bind_key(sqlx::query(&sql), &key)
            .execute(&self.pool)
            .await?;
        self.bump_version().await?;
        Ok((key, secret))
    }

    /// Binds `key`'s columns in [`COLUMNS`] order.
    fn bind_key<'q>(
        &self,
        q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
        key: &StoredKey,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        let q = q
            .bind(key.id.clone())
            .bind(hex(&key.hash))
            .bind(key.prefix.clone())
            .bind(key.created_at);
        bind_settings(q, key)
    }

    /// Every key, oldest first.
    pub async fn list_keys(&self) -> Result<Vec<StoredKey>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM sluice_keys ORDER BY created_at, id");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(row_to_key).collect()
    }

    pub async fn get_key(&self, id: &str) -> Result<Option<StoredKey>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM sluice_keys WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(row_to_key).transpose()
    }

    /// Writes every column of `key` but its id, hash and creation time.
    pub async fn update_key(&self, key: &StoredKey) -> Result<bool, sqlx::Error> {
        let query = sqlx::query(
            "UPDATE sluice_keys SET name = $1, team = $2, routes = $3, models = $4, \
             requests_per_minute = $5, tokens_per_minute = $6, budget_usd = $7, \
             budget_window = $8, expires_at = $9, disabled = $10, updated_at = $11 \
             WHERE id = $12",
        );
        let done = bind_settings(query, key)
            .bind(key.id.clone())
            .execute(&self.pool)
            .await?;
        self.bump_version().await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn delete_key(&self, id: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM sluice_keys WHERE id = $1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        self.bump_version().await?;
        Ok(done.rows_affected() > 0)
    }
}

/// The store's keys as the request path reads them, by hash.
#[derive(Debug, Default)]
pub struct KeyTable {
    by_hash: HashMap<[u8; 32], Arc<ClientKey>>,
    /// The store version these keys are of.
    pub version: i64,
}

impl KeyTable {
    /// The table of `keys` at `version`.
    pub fn new(keys: &[StoredKey], version: i64) -> KeyTable {
        let by_hash = keys
            .iter()
            .map(|k| (k.hash, Arc::new(client_key(k))))
            .collect();
        KeyTable { by_hash, version }
    }

    pub fn find(&self, hash: &[u8; 32]) -> Option<&Arc<ClientKey>> {
        self.by_hash.get(hash)
    }

    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }
}

/// The key the request path checks and counts.
fn client_key(k: &StoredKey) -> ClientKey {
    let s = &k.settings;
    let budget = s
        .budget
        .as_ref()
        .and_then(|(usd, window)| Budget::new(*usd, BudgetWindow::parse(window).ok()?));
    ClientKey {
        id: k.id.as_str().into(),
        name: s.name.clone(),
        scope: format!("key:{}", k.id).into(),
        team: s.team.as_deref().map(Arc::from),
        hash: k.hash,
        limits: s.limits,
        budget,
        access: Some(Arc::new(KeyAccess {
            routes: s.routes.clone(),
            models: s.models.clone(),
            expires_at: s.expires_at,
            disabled: s.disabled,
        })),
    }
}
