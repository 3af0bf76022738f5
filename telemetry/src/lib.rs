//! Per-request telemetry: the facts of one finished request ([`RequestRecord`]) become CEL
//! fields, an OTLP span and a log line.
//!
//! Nothing here runs on the request path but [`Telemetry::record`], which builds the log line
//! and the span's attributes and hands the span to a bounded queue; export happens in a
//! background task (see [`export`]). A full queue drops the span and counts the drop.
#![forbid(unsafe_code)]

pub mod facts;
pub mod fields;
pub mod value;

pub use facts::{LlmFacts, PromptMessage, RequestRecord, ToolCall};
pub use value::AttrValue;
