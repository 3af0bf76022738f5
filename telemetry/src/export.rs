//! Span export, off the request path: [`SpanQueue::push`] never blocks (a full queue drops the
//! span and counts it); [`SpanExporter::run`] batches spans and sends them over OTLP (gRPC or
//! HTTP/protobuf) from a background task. A flush request drains the queue, for shutdown.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Notify};

use crate::otlp::{self, EncodedSpan, Encoder, SpanRecord};
use crate::settings::OtlpProtocol;
use crate::{Attr, AttrValue};

/// Spans waiting for export at most; more are dropped (and counted).
pub const QUEUE_CAPACITY: usize = 8192;
/// Spans per export call at most.
pub const MAX_BATCH: usize = 512;
/// How long a span waits for a batch to fill.
pub const EXPORT_INTERVAL: Duration = Duration::from_millis(200);
/// One export call's deadline (connect included).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Counters of the telemetry pipeline, exported as metrics.
#[derive(Debug, Default)]
pub struct TelemetryStats {
    pub spans_queued: AtomicU64,
    pub spans_dropped: AtomicU64,
    pub spans_exported: AtomicU64,
    pub export_failures: AtomicU64,
    pub cel_errors: AtomicU64,
}

/// Where and how to send spans.
#[derive(Clone, Debug)]
pub struct ExportSettings {
    pub endpoint: String,
    pub protocol: OtlpProtocol,
    pub headers: Vec<(String, String)>,
    pub gzip: bool,
    pub service_version: String,
}

/// The sending side, held by the request path.
///
/// Pushing a span does not wake the exporter: it sleeps until its interval ticks or until a
/// full batch is waiting, so a busy gateway pays one cross-thread wake per batch, not one
/// per request.
#[derive(Clone, Debug)]
pub struct SpanQueue {
    tx: mpsc::Sender<EncodedSpan>,
    batch_ready: Arc<Notify>,
    stats: Arc<TelemetryStats>,
}

impl SpanQueue {
    /// Encodes `span` here (see [`otlp::encode`]) and queues it; a full queue drops it.
    pub fn push(&self, span: SpanRecord) {
        if self.tx.capacity() == 0 {
            // Full: not worth encoding (a racing push may still find it full below).
            self.stats.spans_dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        match self.tx.try_send(otlp::encode(&span)) {
            Ok(()) => {
                self.stats.spans_queued.fetch_add(1, Ordering::Relaxed);
                if self.tx.max_capacity() - self.tx.capacity() >= MAX_BATCH {
                    self.batch_ready.notify_one();
                }
            }
            Err(_) => {
                self.stats.spans_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Asks the exporter to send everything queued; answered on the given channel when done.
pub type FlushRequest = std::sync::mpsc::SyncSender<()>;

/// The exporting side: run it in a background task on a tokio runtime.
pub struct SpanExporter {
    settings: ExportSettings,
    rx: mpsc::Receiver<EncodedSpan>,
    batch_ready: Arc<Notify>,
    flush_rx: mpsc::Receiver<FlushRequest>,
    stats: Arc<TelemetryStats>,
}

/// A handle to ask for a flush from any thread.
#[derive(Clone, Debug)]
pub struct FlushHandle {
    tx: mpsc::Sender<FlushRequest>,
}

impl FlushHandle {
    /// Blocks (outside the runtime) until queued spans are exported or `timeout` passes.
    pub fn flush_blocking(&self, timeout: Duration) -> bool {
        let (ack_tx, ack_rx) = std::sync::mpsc::sync_channel(1);
        if self.tx.try_send(ack_tx).is_err() {
            return false;
        }
        ack_rx.recv_timeout(timeout).is_ok()
    }
}

/// A queue, its exporter and a flush handle.
pub fn pipeline(
    settings: ExportSettings,
    stats: Arc<TelemetryStats>,
) -> (SpanQueue, SpanExporter, FlushHandle) {
    let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
    let (flush_tx, flush_rx) = mpsc::channel(4);
    let batch_ready = Arc::new(Notify::new());
    (
        SpanQueue {
            tx,
            batch_ready: batch_ready.clone(),
            stats: stats.clone(),
        },
        SpanExporter {
            settings,
            rx,
            batch_ready,
            flush_rx,
            stats,
        },
        FlushHandle { tx: flush_tx },
    )
}

/// The resource's attributes: `OTEL_RESOURCE_ATTRIBUTES` (`k=v,k2=v2`, values
/// percent-decoded), then `service.name` (`OTEL_SERVICE_NAME`, else `sluice`) and
/// `service.version`, which win over the same keys from the environment.
fn resource(version: &str) -> Vec<Attr<'static>> {
    let mut attrs: Vec<Attr<'static>> = Vec::new();
    let mut set = |k: &str, v: String| match attrs.iter_mut().find(|(key, _)| key == k) {
        Some(slot) => slot.1 = AttrValue::from(v),
        None => attrs.push((k.to_string().into(), AttrValue::from(v))),
    };
    if let Ok(list) = std::env::var("OTEL_RESOURCE_ATTRIBUTES") {
        for (k, v) in list.split_terminator(',').filter_map(|e| e.split_once('=')) {
            let v = percent_encoding::percent_decode_str(v.trim()).decode_utf8_lossy();
            set(k.trim(), v.into_owned());
        }
    }
    let service = std::env::var("OTEL_SERVICE_NAME")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "sluice".to_string());
    set("service.name", service);
    set("service.version", version.to_string());
    attrs
}

/// Where encoded batches go.
enum Transport {
    /// OTLP/HTTP: `POST {endpoint}/v1/traces`, `application/x-protobuf`.
    Http {
        client: reqwest::Client,
        url: String,
        headers: reqwest::header::HeaderMap,
        gzip: bool,
    },
    /// OTLP/gRPC: `TraceService/Export` on one HTTP/2 channel.
    Grpc {
        client: tonic::client::Grpc<tonic::transport::Channel>,
        metadata: tonic::metadata::MetadataMap,
    },
}

const GRPC_EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

impl Transport {
    fn new(settings: &ExportSettings) -> Result<Self, String> {
        match settings.protocol {
            OtlpProtocol::Grpc => {
                let mut metadata = tonic::metadata::MetadataMap::new();
                for (k, v) in &settings.headers {
                    let key =
                        tonic::metadata::MetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes())
                            .map_err(|_| format!("invalid header name {k}"))?;
                    let value = v
                        .parse()
                        .map_err(|_| format!("invalid value for header {k}"))?;
                    metadata.insert(key, value);
                }
                let mut endpoint =
                    tonic::transport::Endpoint::from_shared(settings.endpoint.clone())
                        .map_err(|e| format!("invalid endpoint {}: {e}", settings.endpoint))?
                        .connect_timeout(EXPORT_TIMEOUT)
                        .timeout(EXPORT_TIMEOUT);
                if settings.endpoint.starts_with("https://") {
                    endpoint = endpoint
                        .tls_config(tonic::transport::ClientTlsConfig::new().with_webpki_roots())
                        .map_err(|e| e.to_string())?;
                }
                let mut client = tonic::client::Grpc::new(endpoint.connect_lazy());
                if settings.gzip {
                    client = client.send_compressed(tonic::codec::CompressionEncoding::Gzip);
                }
                Ok(Transport::Grpc { client, metadata })
            }
            OtlpProtocol::Http => {
                let mut headers = reqwest::header::HeaderMap::new();
                for (k, v) in &settings.headers {
                    let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
                        .map_err(|_| format!("invalid header name {k}"))?;
                    let value = reqwest::header::HeaderValue::from_str(v)
                        .map_err(|_| format!("invalid value for header {k}"))?;
                    headers.insert(name, value);
                }
                let client = reqwest::Client::builder()
                    .timeout(EXPORT_TIMEOUT)
                    .build()
                    .map_err(|e| e.to_string())?;
                Ok(Transport::Http {
                    client,
                    url: format!("{}/v1/traces", settings.endpoint.trim_end_matches('/')),
                    headers,
                    gzip: settings.gzip,
                })
            }
        }
    }

    /// Sends one encoded `ExportTraceServiceRequest`.
    async fn send(&mut self, body: Vec<u8>) -> Result<(), String> {
        match self {
            Transport::Http {
                client,
                url,
                headers,
                gzip,
            } => {
                let mut req = client
                    .post(url.as_str())
                    .headers(headers.clone())
                    .header("content-type", "application/x-protobuf");
                req = if *gzip {
                    use std::io::Write as _;
                    let mut enc = flate2::write::GzEncoder::new(
                        Vec::with_capacity(body.len() / 4),
                        flate2::Compression::fast(),
                    );
                    enc.write_all(&body).map_err(|e| e.to_string())?;
                    let zipped = enc.finish().map_err(|e| e.to_string())?;
                    req.header("content-encoding", "gzip").body(zipped)
                } else {
                    req.body(body)
                };
                let resp = req.send().await.map_err(|e| e.to_string())?;
                let status = resp.status();
                if status.is_success() {
                    Ok(())
                } else {
                    let text = resp.text().await.unwrap_or_default();
                    let text: String = text.chars().take(200).collect();
                    Err(format!("collector answered {status}: {text}"))
                }
            }
            Transport::Grpc { client, metadata } => {
                client
                    .ready()
                    .await
                    .map_err(|e| format!("collector unreachable: {e}"))?;
                let mut req = tonic::Request::new(bytes::Bytes::from(body));
                *req.metadata_mut() = metadata.clone();
                let path = http::uri::PathAndQuery::from_static(GRPC_EXPORT_PATH);
                client
                    .unary(req, path, RawCodec)
                    .await
                    .map(|_| ())
                    .map_err(|s| format!("collector answered {:?}: {}", s.code(), s.message()))
            }
        }
    }
}

/// A tonic codec for bodies that are already protobuf: bytes out, the answer ignored.
#[derive(Clone, Copy, Debug, Default)]
struct RawCodec;

impl tonic::codec::Codec for RawCodec {
    type Encode = bytes::Bytes;
    type Decode = ();
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl tonic::codec::Encoder for RawCodec {
    type Item = bytes::Bytes;
    type Error = tonic::Status;

    fn encode(
        &mut self,
        item: Self::Item,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), Self::Error> {
        use bytes::BufMut as _;
        dst.put_slice(&item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawCodec {
    type Item = ();
    type Error = tonic::Status;

    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Self::Item>, Self::Error> {
        use bytes::Buf as _;
        // An ExportTraceServiceResponse (partial_success) is not acted on: skip it.
        src.advance(src.remaining());
        Ok(Some(()))
    }
}

impl SpanExporter {
    /// Exports until the queue's senders are all gone. Export errors are counted and logged
    /// (at most one line every 10 s), never retried: a dead collector costs memory only up
    /// to the queue's capacity.
    pub async fn run(mut self) {
        let mut transport = match Transport::new(&self.settings) {
            Ok(t) => t,
            Err(e) => {
                log::error!("OTLP exporter could not be built: {e}; spans will be dropped");
                while self.rx.recv().await.is_some() {
                    self.stats.spans_dropped.fetch_add(1, Ordering::Relaxed);
                }
                return;
            }
        };
        let resource = resource(&self.settings.service_version);
        let mut batch = Encoder::new(&resource, "sluice", env!("CARGO_PKG_VERSION"));
        let mut tick = tokio::time::interval(EXPORT_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_error_log: Option<tokio::time::Instant> = None;
        loop {
            // The channel is only read here, never awaited: an awaiting receiver would be
            // woken by every span pushed.
            let ack = tokio::select! {
                () = self.batch_ready.notified() => None,
                _ = tick.tick() => None,
                Some(ack) = self.flush_rx.recv() => Some(ack),
            };
            let open = self
                .drain(&mut transport, &mut batch, &mut last_error_log)
                .await;
            if let Some(ack) = ack {
                let _ = ack.try_send(());
            }
            if !open {
                break;
            }
        }
    }

    /// Exports everything queued, a batch at a time; false once every sender is gone.
    async fn drain(
        &mut self,
        transport: &mut Transport,
        batch: &mut Encoder,
        last_error_log: &mut Option<tokio::time::Instant>,
    ) -> bool {
        let mut open = true;
        loop {
            match self.rx.try_recv() {
                Ok(span) => {
                    batch.push_encoded(&span);
                    if batch.len() >= MAX_BATCH {
                        self.export(transport, batch, last_error_log).await;
                    }
                }
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        self.export(transport, batch, last_error_log).await;
        open
    }

    async fn export(
        &self,
        transport: &mut Transport,
        batch: &mut Encoder,
        last_error_log: &mut Option<tokio::time::Instant>,
    ) {
        if batch.is_empty() {
            return;
        }
        let n = batch.len() as u64;
        let body = batch.finish();
        match transport.send(body).await {
            Ok(()) => {
                self.stats.spans_exported.fetch_add(n, Ordering::Relaxed);
            }
            Err(e) => {
                self.stats.export_failures.fetch_add(1, Ordering::Relaxed);
                self.stats.spans_dropped.fetch_add(n, Ordering::Relaxed);
                let now = tokio::time::Instant::now();
                if last_error_log.is_none_or(|t| now.duration_since(t) > Duration::from_secs(10)) {
                    *last_error_log = Some(now);
                    log::warn!("OTLP export to {} failed: {e}", self.settings.endpoint);
                }
            }
        }
    }
}
