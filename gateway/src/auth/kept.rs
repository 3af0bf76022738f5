//! A credential kept between requests and refreshed before it expires ([`Kept`]), for the
//! cloud SDK providers that fetch on every call (AWS) or refresh only on the request path
//! (Azure): a request that finds it near its expiry starts one refresh in the background and
//! uses what is held; only an expired (or never fetched) credential makes requests wait, and
//! then for one fetch whatever their number. Fetches run on the background thread
//! ([`crate::background`]).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use tokio::sync::Mutex;

/// A credential this close to its expiry is not used: requests wait for a new one.
const USABLE_UNTIL: Duration = Duration::from_secs(10);

/// A fetched credential and when it expires (`None`: it does not).
#[derive(Debug)]
pub struct Held<T> {
    pub value: T,
    pub expires: Option<SystemTime>,
}

impl<T> Held<T> {
    pub fn expires_within(&self, margin: Duration, now: SystemTime) -> bool {
        self.expires.is_some_and(|e| e <= now + margin)
    }
}

/// Where a [`Kept`] credential comes from: a fetch of a new one.
pub trait Source: Send + Sync + 'static {
    type Credential;
    fn fetch(&self) -> impl Future<Output = Result<Held<Self::Credential>, String>> + Send;
}

pub struct Kept<T> {
    held: ArcSwapOption<Held<T>>,
    /// One fetch at a time.
    fetching: Mutex<()>,
    refreshing: AtomicBool,
    /// Refreshed once this close to its expiry.
    refresh_before: Duration,
}

impl<T> std::fmt::Debug for Kept<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kept")
            .field("refresh_before", &self.refresh_before)
            .finish_non_exhaustive()
    }
}

impl<T: Clone + Send + Sync + 'static> Kept<T> {
    pub fn new(refresh_before: Duration) -> Kept<T> {
        Kept {
            held: ArcSwapOption::empty(),
            fetching: Mutex::new(()),
            refreshing: AtomicBool::new(false),
            refresh_before,
        }
    }

    /// The credential to use now; `fetch` gets a new one when needed.
    pub async fn get<F, Fut>(self: &Arc<Self>, fetch: F) -> Result<T, String>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Held<T>, String>> + Send + 'static,
    {
        let now = SystemTime::now();
        if let Some(held) = self.held.load_full() {
            if !held.expires_within(self.refresh_before, now) {
                return Ok(held.value.clone());
            }
            if !held.expires_within(USABLE_UNTIL, now) {
                if !self.refreshing.swap(true, Ordering::AcqRel) {
                    let me = self.clone();
                    crate::background::spawn(async move {
                        if let Err(e) = me.load(&fetch).await {
                            log::warn!("refreshing cloud credentials failed (the held ones are used until they expire): {e}");
                        }
                        me.refreshing.store(false, Ordering::Release);
                    });
                }
                return Ok(held.value.clone());
            }
        }
        let me = self.clone();
        crate::background::run(async move { me.load(&fetch).await })
            .await?
            .map(|h| h.value.clone())
    }

    /// [`Kept::get`] with `source`'s fetch.
    pub async fn get_from<S: Source<Credential = T>>(
        self: &Arc<Self>,
        source: &Arc<S>,
    ) -> Result<T, String> {
        let source = source.clone();
        self.get(move || {
            let source = source.clone();
            async move { source.fetch().await }
        })
        .await
    }

    /// Fetches a new credential unless another caller just did.
    async fn load<F, Fut>(&self, fetch: &F) -> Result<Arc<Held<T>>, String>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Held<T>, String>>,
    {
        let _one = self.fetching.lock().await;
        if let Some(held) = self.held.load_full() {
            if !held.expires_within(self.refresh_before, SystemTime::now()) {
                return Ok(held);
            }
        }
        let held = Arc::new(fetch().await?);
        self.held.store(Some(held.clone()));
        Ok(held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn margins() {
        let now = SystemTime::now();
        let held = |secs: u64| Held {
            value: (),
            expires: Some(now + Duration::from_secs(secs)),
        };
        assert!(!held(3600).expires_within(Duration::from_secs(300), now));
        assert!(held(200).expires_within(Duration::from_secs(300), now));
        assert!(!held(200).expires_within(USABLE_UNTIL, now));
        let forever = Held {
            value: (),
            expires: None,
        };
        assert!(!forever.expires_within(Duration::from_secs(300), now));
    }

    #[test]
    fn concurrent_callers_share_one_fetch() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let kept = Arc::new(Kept::<u32>::new(Duration::from_secs(300)));
            let fetches = Arc::new(AtomicUsize::new(0));
            let tasks: Vec<_> = (0..20)
                .map(|_| {
                    let (kept, fetches) = (kept.clone(), fetches.clone());
                    tokio::spawn(async move {
                        kept.get(move || {
                            let fetches = fetches.clone();
                            async move {
                                tokio::time::sleep(Duration::from_millis(50)).await;
                                let n = fetches.fetch_add(1, Ordering::SeqCst) as u32;
                                Ok(Held {
                                    value: n,
                                    expires: Some(SystemTime::now() + Duration::from_secs(3600)),
                                })
                            }
                        })
                        .await
                    })
                })
                .collect();
            for t in tasks {
                assert_eq!(t.await.unwrap(), Ok(0));
            }
            assert_eq!(fetches.load(Ordering::SeqCst), 1);
        });
    }
}
