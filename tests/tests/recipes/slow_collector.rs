//! A slow collector does not slow requests down.

use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use prost::Message;
use sluice_tests::otlp::spans_of;
use sluice_tests::serve::{bind_local, spawn_http1, BoxError};

use crate::recipe_texts::{LANGFUSE_CREDENTIALS, RECIPE_LANGFUSE, RECIPE_LANGFUSE_ENDPOINT};
use crate::support::{config, gemini_upstream, send_concurrently, start_gateway};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_collector_does_not_delay_requests() {
    let exports = Arc::new(AtomicUsize::new(0));
    let spans_received = Arc::new(AtomicUsize::new(0));
    let listener = bind_local().await;
    let collector_addr = listener.local_addr().unwrap();
    let (e, n) = (exports.clone(), spans_received.clone());
    let _collector = spawn_http1(listener, move |_peer, req: hyper::Request<_>| {
        let (e, n) = (e.clone(), n.clone());
        async move {
            let gzip = req
                .headers()
                .get("content-encoding")
                .is_some_and(|v| v == "gzip");
            let body = req.into_body().collect().await?.to_bytes();
            let raw = if gzip {
                let mut out = Vec::new();
                flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut out)?;
                out
            } else {
                body.to_vec()
            };
            // 2 s per export.
            tokio::time::sleep(Duration::from_secs(2)).await;
            let decoded = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest::decode(&raw[..])?;
            n.fetch_add(spans_of(&decoded).len(), Ordering::SeqCst);
            e.fetch_add(1, Ordering::SeqCst);
            Ok::<_, BoxError>(
                hyper::Response::builder()
                    .status(200)
                    .header("content-type", "application/x-protobuf")
                    .body(Full::new(Bytes::new()))?,
            )
        }
    });

    let upstream = gemini_upstream().await;
    let tracing = RECIPE_LANGFUSE
        .replacen(
            RECIPE_LANGFUSE_ENDPOINT,
            &format!("http://{collector_addr}"),
            1,
        )
        .replacen("<base64-encoded-credentials>", LANGFUSE_CREDENTIALS, 1);
    let gw = start_gateway(&config(&tracing, "", &upstream)).await;

    let total = 50;
    let started = Instant::now();
    send_concurrently(&gw, total, 5).await;
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(3),
        "{total} requests took {elapsed:?} with a 2 s collector"
    );
    // The slow collector was really in the path, and eventually gets every span.
    let deadline = Instant::now() + Duration::from_secs(15);
    while spans_received.load(Ordering::SeqCst) < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(exports.load(Ordering::SeqCst) >= 1);
    assert_eq!(spans_received.load(Ordering::SeqCst), total);
}
