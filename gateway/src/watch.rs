//! Reload on a changed config file: a background service compares the file's contents every
//! second (cheap: one stat, and a read only when size or mtime moved) and reloads as SIGHUP
//! does. Editors that replace the file (write + rename) are seen too.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;

use crate::state::State;

const POLL: Duration = Duration::from_secs(1);

pub struct ConfigWatch {
    pub state: Arc<State>,
}

/// What the file looked like: size, mtime and contents.
#[derive(PartialEq, Eq)]
struct Seen {
    len: u64,
    modified: Option<SystemTime>,
    text: Vec<u8>,
}

fn look(path: &str, previous: Option<&Seen>) -> Option<Seen> {
    let meta = std::fs::metadata(path).ok()?;
    let (len, modified) = (meta.len(), meta.modified().ok());
    if let Some(p) = previous {
        if p.len == len && p.modified == modified {
            return Some(Seen {
                len,
                modified,
                text: p.text.clone(),
            });
        }
    }
    let text = std::fs::read(path).ok()?;
    Some(Seen {
        len,
        modified,
        text,
    })
}

#[async_trait]
impl BackgroundService for ConfigWatch {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let Some(path) = self.state.config_path.clone() else {
            return;
        };
        let mut seen = look(&path, None);
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => return,
            }
            let now = look(&path, seen.as_ref());
            let changed = match (&seen, &now) {
                (Some(a), Some(b)) => a.text != b.text,
                (None, Some(_)) => true,
                _ => false,
            };
            if now.is_some() {
                seen = now;
            }
            if changed {
                log::info!("config file {path} changed; reloading");
                crate::shutdown::reload(&self.state);
            }
        }
    }
}
