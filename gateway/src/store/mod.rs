//! The store (`config.store.url`): keys made through the admin API and spend by hour, in
//! SQLite (one machine) or PostgreSQL (replicas sharing them), through sqlx's `Any` driver
//! so one set of queries serves both. Nothing on the request path waits on it: keys are
//! served from memory ([`keys::KeyTable`]), reloaded in the background when the store's
//! version counter moves ([`sync`]); spend is added up in memory ([`spend::SpendBuffer`]) and
//! written in batches.

pub mod keys;
pub mod spend;
pub mod sync;

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::AnyPool;

use crate::config::Secret;

/// The store's schema, in order; forward only. Each file is portable SQL (see its header).
const MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "keys and spend",
    include_str!("migrations/0001_keys_and_spend.sql"),
)];

/// Which database the URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

impl Kind {
    /// The kind of `url`, or why it is not one sluice can use.
    pub fn of(url: &str) -> Result<Kind, String> {
        if url.starts_with("sqlite:") {
            Ok(Kind::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Kind::Postgres)
        } else {
            Err("expected sqlite:///path/to/file.db or postgres://user:password@host/db".into())
        }
    }
}

/// An open store.
pub struct Store {
    pub pool: AnyPool,
    pub kind: Kind,
    url: Secret,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: never printed.
        f.debug_struct("Store")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Unix seconds now.
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A database error without the URL or other secrets: sqlx's messages name the query's
/// problem, not the connection string.
pub fn db_error(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Configuration(_) => "invalid store URL".to_string(),
        other => other.to_string(),
    }
}

impl Store {
    /// Connects to `url`, creating an SQLite file that does not exist yet, and runs the
    /// migrations it has not run.
    pub async fn open(url: &Secret) -> Result<Store, String> {
        sqlx::any::install_default_drivers();
        let kind = Kind::of(url.expose())?;
        let mut address = url.expose().to_string();
        if kind == Kind::Sqlite && !address.contains("mode=") {
            address.push_str(if address.contains('?') { "&" } else { "?" });
            address.push_str("mode=rwc");
        }
        let pool = AnyPoolOptions::new()
            .max_connections(if kind == Kind::Sqlite { 4 } else { 8 })
            .acquire_timeout(Duration::from_secs(10))
            .connect(&address)
            .await
            .map_err(|e| format!("cannot open the store: {}", db_error(&e)))?;
        let store = Store {
            pool,
            kind,
            url: url.clone(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The URL, for the PostgreSQL listener.
    pub(crate) fn url(&self) -> &Secret {
        &self.url
    }

    /// Runs the migrations the database has not had; refuses a database migrated past what
    /// this build knows.
    async fn migrate(&self) -> Result<(), String> {
        let migrations: Vec<Migration> = MIGRATIONS
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    Cow::Borrowed(sql),
                    false,
                )
            })
            .collect();
        let migrator = Migrator {
            migrations: Cow::Owned(migrations),
            ..Migrator::DEFAULT
        };
        migrator
            .run(&self.pool)
            .await
            .map_err(|e| format!("store migration failed: {e}"))
    }

    /// Tells other replicas that keys changed: the version counter moves (read every
    /// `refresh` by each replica), and on PostgreSQL a notification wakes them at once.
    pub async fn bump_version(&self) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE sluice_version SET version = version + 1 WHERE id = 1")
            .execute(&self.pool)
            .await?;
        if self.kind == Kind::Postgres {
            sqlx::query("SELECT pg_notify('sluice_keys', '')")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// The version counter.
    pub async fn version(&self) -> Result<i64, sqlx::Error> {
        use sqlx::Row;
        let row: AnyRow = sqlx::query("SELECT version FROM sluice_version WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        row.try_get::<i64, _>(0)
    }
}
