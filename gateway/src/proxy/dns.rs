//! Upstream host resolution off the blocking path: `tokio::net::lookup_host` with a small
//! cache (30 s), since Pingora's `HttpPeer::new` would resolve synchronously on a worker.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const TTL: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
pub struct DnsCache {
    /// Host name → its address and when it was looked up (the port is the caller's).
    entries: Mutex<HashMap<String, (Instant, IpAddr)>>,
}

impl DnsCache {
    pub async fn resolve(&self, host: &str, port: u16) -> std::io::Result<SocketAddr> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(SocketAddr::new(ip, port));
        }
        if let Ok(entries) = self.entries.lock() {
            if let Some((at, ip)) = entries.get(host) {
                if at.elapsed() < TTL {
                    return Ok(SocketAddr::new(*ip, port));
                }
            }
        }
        // Boxed: the lookup's future is large and runs once per host every 30 s, so it stays
        // out of every request's future.
        let addr = Box::pin(tokio::net::lookup_host((host, port)))
            .await?
            .next()
            .ok_or_else(|| std::io::Error::other(format!("{host} has no address")))?;
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(host.to_string(), (Instant::now(), addr.ip()));
        }
        Ok(addr)
    }
}
