//! Reading one series of the gateway's `/metrics`, and waiting for it to reach a value.

use std::time::Duration;

use crate::http::get;
use crate::{poll_until, Gateway};

/// The value of the series `name{labels}` (labels as `/metrics` writes them, e.g.
/// `backend="pool",endpoint="127.0.0.1:8000"`), if it is there.
pub async fn metric(gw: &Gateway, name: &str, labels: &str) -> Option<String> {
    let text = get(&format!("{}/metrics", gw.admin_url())).await.text();
    let prefix = format!("{name}{{{labels}}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(str::to_string)
}

/// Waits up to `wait` until the series `name{labels}` reads `value`; panics with the
/// gateway's output if it never does.
pub async fn wait_metric(gw: &Gateway, name: &str, labels: &str, value: &str, wait: Duration) {
    let seen = poll_until(wait, Duration::from_millis(25), || async {
        (metric(gw, name, labels).await.as_deref() == Some(value)).then_some(())
    })
    .await;
    assert!(
        seen.is_some(),
        "{name}{{{labels}}} never became {value}: {:?}\n{}",
        metric(gw, name, labels).await,
        gw.output_report()
    );
}
