//! Telemetry settings the gateway's config resolves to.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// OTLP/gRPC; the endpoint is the collector's address (`http://host:4317`).
    Grpc,
    /// OTLP/HTTP with protobuf bodies; the endpoint is a base URL and `/v1/traces` is appended.
    Http,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// The seed's `info request key=value ...` line.
    Text,
    /// One flat JSON object per request: the text line's keys with typed values, plus
    /// `time`, `level` and `msg`.
    Json,
}
