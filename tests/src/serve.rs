//! A tiny HTTP/1.1 server loop (hyper 1) shared by the mock upstream and the OTLP/HTTP
//! receiver: keep-alive on, one task per connection, every connection aborted when the
//! returned task is aborted (the connections live in a `JoinSet` owned by the accept loop).

use std::future::Future;
use std::net::SocketAddr;

use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// Boxed error type used by handlers; returning `Err` closes the connection without a reply.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A server's background task, aborted (with the connections it owns) when dropped: the mock
/// servers hold one so that dropping the server stops it.
#[derive(Debug)]
pub struct ServerTask(JoinHandle<()>);

impl From<JoinHandle<()>> for ServerTask {
    fn from(task: JoinHandle<()>) -> Self {
        ServerTask(task)
    }
}

impl Drop for ServerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Binds `127.0.0.1:0`.
pub async fn bind_local() -> TcpListener {
    TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0")
}

/// Serves `handler(peer address, request)` on every connection accepted by `listener` until the task is aborted.
pub fn spawn_http1<F, Fut, B>(listener: TcpListener, handler: F) -> JoinHandle<()>
where
    F: Fn(SocketAddr, Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<B>, BoxError>> + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    tokio::spawn(async move {
        let mut conns = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(conn) => conn,
                        Err(_) => {
                            // e.g. too many open files: back off briefly instead of spinning.
                            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let handler = handler.clone();
                    conns.spawn(async move {
                        let svc = service_fn(move |req| handler(peer, req));
                        let _ = http1::Builder::new()
                            .timer(TokioTimer::new())
                            .keep_alive(true)
                            .serve_connection(TokioIo::new(stream), svc)
                            .await;
                    });
                }
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
    })
}
