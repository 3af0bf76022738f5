//! Upstream host resolution off the blocking path: `tokio::net::lookup_host` with a small
//! cache (30 s), since Pingora's `HttpPeer::new` would resolve synchronously on a worker.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const TTL: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
pub struct DnsCache {
    entries: Mutex<HashMap<(String, u16), (Instant, SocketAddr)>>,
}

impl DnsCache {
    pub async fn resolve(&self, host: &str, port: u16) -> std::io::Result<SocketAddr> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(SocketAddr::new(ip, port));
        }
        let key = (host.to_string(), port);
        if let Ok(entries) = self.entries.lock() {
            if let Some((at, addr)) = entries.get(&key) {
                if at.elapsed() < TTL {
                    return Ok(*addr);
                }
            }
        }
        let addr = tokio::net::lookup_host((host, port))
            .await?
            .next()
            .ok_or_else(|| std::io::Error::other(format!("{host} has no address")))?;
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(key, (Instant::now(), addr));
        }
        Ok(addr)
    }
}
