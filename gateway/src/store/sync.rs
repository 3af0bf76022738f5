//! The store at run time ([`StoreHandle`]): its database connections live on the gateway's
//! background thread ([`crate::background`]), which also runs the store's work: reload
//! the keys when the store's version moves (polled every `refresh`, and at once on a
//! PostgreSQL notification), and write the spend buffer every `flush_interval`. The admin
//! API runs its queries there too ([`StoreHandle::run`]); the drain at shutdown writes the last
//! spend with [`StoreHandle::flush_blocking`].

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use super::keys::KeyTable;
use super::spend::SpendBuffer;
use super::{db_error, now_secs, Kind, Store};
use crate::config::runtime::StoreConfig;

/// At most one warning about the store this often.
const WARN_EVERY_SECS: u64 = 10;

pub struct StoreHandle {
    pub store: Arc<Store>,
    /// The store's keys, for the request path.
    pub keys: ArcSwap<KeyTable>,
    /// Spend not yet written.
    pub spend: SpendBuffer,
    refresh: Duration,
    flush_interval: Duration,
    warned_at: AtomicU64,
}

impl std::fmt::Debug for StoreHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreHandle")
            .field("kind", &self.store.kind)
            .finish_non_exhaustive()
    }
}

impl StoreHandle {
    /// Opens the store (migrating it) and loads its keys, before the gateway serves: a store
    /// that cannot be had is an error at start. Then starts the background work.
    pub fn open(config: &StoreConfig) -> Result<Arc<StoreHandle>, String> {
        let url = config.url.clone();
        let (store, table) = crate::background::block_on(async move {
            let store = Store::open(&url).await?;
            let table = load(&store).await.map_err(|e| db_error(&e))?;
            Ok::<_, String>((store, table))
        })??;
        log::info!(
            "store ({}): {} key(s)",
            match store.kind {
                Kind::Sqlite => "SQLite",
                Kind::Postgres => "PostgreSQL",
            },
            table.len()
        );
        let handle = Arc::new(StoreHandle {
            store: Arc::new(store),
            keys: ArcSwap::from_pointee(table),
            spend: SpendBuffer::default(),
            refresh: config.refresh,
            flush_interval: config.flush_interval,
            warned_at: AtomicU64::new(0),
        });
        crate::background::spawn(refresh_loop(handle.clone()));
        crate::background::spawn(flush_loop(handle.clone()));
        if handle.store.kind == Kind::Postgres {
            crate::background::spawn(listen_loop(handle.clone()));
        }
        Ok(handle)
    }

    /// Runs `work` on the background thread (where the store's connections live) and waits
    /// for it.
    pub async fn run<T, F>(&self, work: F) -> Result<T, String>
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        crate::background::run(work).await
    }

    /// Reloads the keys now (after a change made through this replica's admin API).
    pub async fn reload(self: &Arc<Self>) {
        let me = self.clone();
        let _ = self.run(async move { me.reload_keys().await }).await;
    }

    async fn reload_keys(&self) {
        match load(&self.store).await {
            Ok(table) => self.keys.store(Arc::new(table)),
            Err(e) => self.warn(&format!("cannot reload keys: {}", db_error(&e))),
        }
    }

    /// Writes what the spend buffer holds; a batch the store refuses goes back in it.
    pub async fn flush_now(&self) -> Result<(), String> {
        let batch = self.spend.take();
        if batch.is_empty() {
            return Ok(());
        }
        match self.store.write_spend(&batch).await {
            Ok(()) => Ok(()),
            Err(e) => {
                self.spend.put_back(batch);
                Err(db_error(&e))
            }
        }
    }

    /// At shutdown, from the draining thread: writes the last spend, waiting at most
    /// `timeout`. False when it could not.
    pub fn flush_blocking(self: &Arc<Self>, timeout: Duration) -> bool {
        let me = self.clone();
        let done = crate::background::block_on(async move {
            tokio::time::timeout(timeout, me.flush_now())
                .await
                .unwrap_or_else(|_| Err(format!("no answer within {timeout:?}")))
        })
        .and_then(|r| r);
        if let Err(e) = &done {
            log::warn!("store: the last spend was not written: {e}");
        }
        done.is_ok()
    }

    /// Logs a store problem, at most every [`WARN_EVERY_SECS`].
    fn warn(&self, what: &str) {
        let now = u64::try_from(now_secs()).unwrap_or(0);
        let last = self.warned_at.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= WARN_EVERY_SECS
            && self
                .warned_at
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            log::warn!("store: {what}");
        }
    }
}

/// The keys and the version they are of. The version is read first: a change made while the
/// keys are read moves it again, and the next poll reloads.
async fn load(store: &Store) -> Result<KeyTable, sqlx::Error> {
    let version = store.version().await?;
    let keys = store.list_keys().await?;
    Ok(KeyTable::new(&keys, version))
}

async fn refresh_loop(handle: Arc<StoreHandle>) {
    let mut tick = tokio::time::interval(handle.refresh);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match handle.store.version().await {
            Ok(v) if v != handle.keys.load().version => handle.reload_keys().await,
            Ok(_) => {}
            Err(e) => handle.warn(&format!("cannot read the key version: {}", db_error(&e))),
        }
    }
}

async fn flush_loop(handle: Arc<StoreHandle>) {
    let mut tick = tokio::time::interval(handle.flush_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = handle.flush_now().await {
            handle.warn(&format!("spend not written (kept for the next try): {e}"));
        }
    }
}

/// PostgreSQL: `LISTEN sluice_keys`, reloading on each notification; reconnects after a
/// second when the connection drops (the version poll covers the gap).
async fn listen_loop(handle: Arc<StoreHandle>) {
    loop {
        let url = handle.store.url().expose().to_string();
        match sqlx::postgres::PgListener::connect(&url).await {
            Ok(mut listener) => {
                if let Err(e) = listener.listen("sluice_keys").await {
                    handle.warn(&format!("cannot LISTEN: {}", db_error(&e)));
                } else {
                    while listener.recv().await.is_ok() {
                        handle.reload_keys().await;
                    }
                }
            }
            Err(e) => handle.warn(&format!("cannot LISTEN: {}", db_error(&e))),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
