//! The bare Pingora pass-through proxy: the floor any Pingora gateway pays.
//!
//! `bare_proxy [LISTEN] [UPSTREAM] [THREADS]` (defaults `127.0.0.1:8081`, `127.0.0.1:9000`, 1).
//! Every request goes, unchanged, to the upstream over plain HTTP with Pingora's connection
//! pool. One worker thread by default, Pingora's own default (`ServerConf::threads`).
//! SIGINT exits at once (Pingora's fast shutdown); SIGTERM waits Pingora's grace period.

use async_trait::async_trait;
use pingora::prelude::*;
use std::net::SocketAddr;

struct Bare {
    upstream: SocketAddr,
}

#[async_trait]
impl ProxyHttp for Bare {
    type CTX = ();
    fn new_ctx(&self) {}

    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut ()) -> Result<Box<HttpPeer>> {
        Ok(Box::new(HttpPeer::new(self.upstream, false, String::new())))
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:8081".into());
    let upstream = args.next().unwrap_or_else(|| "127.0.0.1:9000".into());
    let upstream: SocketAddr = upstream.parse().expect("UPSTREAM must be IP:PORT");
    let threads: usize = args
        .next()
        .map_or(1, |t| t.parse().expect("THREADS must be a number"));

    let conf = pingora::server::configuration::ServerConf {
        threads,
        ..Default::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();
    let mut proxy = http_proxy_service(&server.configuration, Bare { upstream });
    proxy.add_tcp(&listen);
    server.add_service(proxy);
    server.run_forever();
}
