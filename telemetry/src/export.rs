//! Span export, off the request path: [`SpanQueue::push`] never blocks (a full queue drops the
//! span and counts it); [`SpanExporter::run`] batches spans and sends them over OTLP (gRPC or
//! HTTP/protobuf) from a background task. A flush request drains the queue, for shutdown.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::trace::{SpanData, SpanExporter as _};
use opentelemetry_sdk::Resource;
use tokio::sync::mpsc;

use crate::settings::OtlpProtocol;

/// Spans waiting for export at most; more are dropped (and counted).
pub const QUEUE_CAPACITY: usize = 8192;
/// Spans per export call at most.
pub const MAX_BATCH: usize = 512;
/// How long a span waits for a batch to fill.
pub const EXPORT_INTERVAL: Duration = Duration::from_millis(200);

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
#[derive(Clone, Debug)]
pub struct SpanQueue {
    tx: mpsc::Sender<SpanData>,
    stats: Arc<TelemetryStats>,
}

impl SpanQueue {
    pub fn push(&self, span: SpanData) {
        match self.tx.try_send(span) {
            Ok(()) => {
                self.stats.spans_queued.fetch_add(1, Ordering::Relaxed);
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
    rx: mpsc::Receiver<SpanData>,
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
    (
        SpanQueue {
            tx,
            stats: stats.clone(),
        },
        SpanExporter {
            settings,
            rx,
            flush_rx,
            stats,
        },
        FlushHandle { tx: flush_tx },
    )
}

fn resource(version: &str) -> Resource {
    let service = std::env::var("OTEL_SERVICE_NAME")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "sluice".to_string());
    Resource::builder_empty()
        .with_detector(Box::new(
            opentelemetry_sdk::resource::EnvResourceDetector::new(),
        ))
        .with_attributes([
            KeyValue::new("service.name", service),
            KeyValue::new("service.version", version.to_string()),
        ])
        .build()
}

fn build_otlp(settings: &ExportSettings) -> Result<opentelemetry_otlp::SpanExporter, String> {
    let timeout = Duration::from_secs(10);
    let mut exporter = match settings.protocol {
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
            let mut builder = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(settings.endpoint.clone())
                .with_timeout(timeout)
                .with_metadata(metadata);
            if settings.gzip {
                builder = builder.with_compression(opentelemetry_otlp::Compression::Gzip);
            }
            if settings.endpoint.starts_with("https://") {
                builder = builder
                    .with_tls_config(tonic::transport::ClientTlsConfig::new().with_webpki_roots());
            }
            builder.build()
        }
        OtlpProtocol::Http => {
            let endpoint = format!("{}/v1/traces", settings.endpoint.trim_end_matches('/'));
            let headers: HashMap<String, String> = settings.headers.iter().cloned().collect();
            let mut builder = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_endpoint(endpoint)
                .with_timeout(timeout)
                .with_headers(headers);
            if settings.gzip {
                builder = builder.with_compression(opentelemetry_otlp::Compression::Gzip);
            }
            builder.build()
        }
    }
    .map_err(|e| e.to_string())?;
    exporter.set_resource(&resource(&settings.service_version));
    Ok(exporter)
}

impl SpanExporter {
    /// Exports until the queue's senders are all gone. Export errors are counted and logged
    /// (at most one line every 10 s), never retried: a dead collector costs memory only up
    /// to the queue's capacity.
    pub async fn run(mut self) {
        let exporter = match build_otlp(&self.settings) {
            Ok(e) => e,
            Err(e) => {
                log::error!("OTLP exporter could not be built: {e}; spans will be dropped");
                while self.rx.recv().await.is_some() {
                    self.stats.spans_dropped.fetch_add(1, Ordering::Relaxed);
                }
                return;
            }
        };
        let mut batch: Vec<SpanData> = Vec::with_capacity(MAX_BATCH);
        let mut tick = tokio::time::interval(EXPORT_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_error_log: Option<tokio::time::Instant> = None;
        loop {
            tokio::select! {
                n = self.rx.recv_many(&mut batch, MAX_BATCH) => {
                    if n == 0 {
                        break;
                    }
                    if batch.len() >= MAX_BATCH {
                        self.export(&exporter, &mut batch, &mut last_error_log).await;
                    }
                }
                _ = tick.tick() => {
                    self.export(&exporter, &mut batch, &mut last_error_log).await;
                }
                Some(ack) = self.flush_rx.recv() => {
                    while let Ok(span) = self.rx.try_recv() {
                        batch.push(span);
                        if batch.len() >= MAX_BATCH {
                            self.export(&exporter, &mut batch, &mut last_error_log).await;
                        }
                    }
                    self.export(&exporter, &mut batch, &mut last_error_log).await;
                    let _ = ack.try_send(());
                }
            }
        }
        self.export(&exporter, &mut batch, &mut last_error_log)
            .await;
    }

    async fn export(
        &self,
        exporter: &opentelemetry_otlp::SpanExporter,
        batch: &mut Vec<SpanData>,
        last_error_log: &mut Option<tokio::time::Instant>,
    ) {
        if batch.is_empty() {
            return;
        }
        let spans = std::mem::take(batch);
        let n = spans.len() as u64;
        match exporter.export(spans).await {
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
