//! One small tokio runtime (a thread named `sluice-background`) for work that must outlive
//! any one request and must not run on a listener's workers: cloud credential loads and their
//! refresh, and the store's connections, key reloads and spend writes. The clients those loads make (and their pooled connections) live here, so they do
//! not depend on which worker first needed them, and a refresh started by a request keeps
//! going after that request ends.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Handle, Runtime};

static RUNTIME: OnceLock<Option<Runtime>> = OnceLock::new();

fn runtime() -> Option<&'static Runtime> {
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("sluice-background")
                .enable_all()
                .build()
                .map_err(|e| log::error!("cannot start the background thread: {e}"))
                .ok()
        })
        .as_ref()
}

/// Runs `work` on the background runtime and waits for its result.
pub async fn run<T, F>(work: F) -> Result<T, String>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let rt = runtime().ok_or("the background thread is not running")?;
    rt.spawn(work)
        .await
        .map_err(|e| format!("background task failed: {e}"))
}

/// Starts `work` on the background runtime without waiting for it.
pub fn spawn<F>(work: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    if let Some(rt) = runtime() {
        rt.spawn(work);
    }
}

/// Runs `work` to completion from a thread outside any runtime (start-up checks).
pub fn block_on<T, F>(work: F) -> Result<T, String>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    if Handle::try_current().is_ok() {
        return Err("block_on called inside a runtime".into());
    }
    let rt = runtime().ok_or("the background thread is not running")?;
    Ok(rt.block_on(work))
}
