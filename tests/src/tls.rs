//! A TLS front for a plain mock: accepts TLS on `127.0.0.1:<ephemeral>` with the test
//! certificate in `tests/fixtures/tls` (for `127.0.0.1` and `localhost`, issued by a test CA)
//! and relays the decrypted bytes to the mock. The gateway trusts the test CA when started
//! with `SSL_CERT_FILE` set to [`ca_file`] (its root store is the system's, read by
//! `rustls-native-certs`, which honours that variable).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

use crate::serve::{bind_local, ServerTask};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/tls")
        .join(name)
}

/// The test CA's certificate (PEM), for `SSL_CERT_FILE`.
pub fn ca_file() -> PathBuf {
    fixture("ca.pem")
}

/// A running TLS front; stops accepting on drop.
pub struct TlsFront {
    addr: SocketAddr,
    handshakes: Arc<AtomicUsize>,
    _task: ServerTask,
}

impl TlsFront {
    /// Serves TLS in front of the plain HTTP server at `backend`.
    pub async fn start(backend: SocketAddr) -> TlsFront {
        let cert = CertificateDer::from_pem_file(fixture("upstream.pem")).expect("test cert");
        let key = PrivateKeyDer::from_pem_file(fixture("upstream.key")).expect("test key");
        // Both of rustls' crypto providers are built into this workspace: name one.
        let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .expect("TLS server config");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = bind_local().await;
        let addr = listener.local_addr().expect("local addr");
        let handshakes = Arc::new(AtomicUsize::new(0));
        let count = handshakes.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let count = count.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    count.fetch_add(1, Ordering::SeqCst);
                    let Ok(mut plain) = TcpStream::connect(backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        TlsFront {
            addr,
            handshakes,
            _task: task.into(),
        }
    }

    /// `https://127.0.0.1:<port>`
    pub fn base_url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// TLS handshakes completed so far (one per upstream connection the gateway opened).
    pub fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }
}
