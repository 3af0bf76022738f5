//! [`ReceivedSpan`] and [`AttrValue`]: a flat, test-friendly view of the OTLP spans that
//! the receiver decoded, and the conversion from the protobuf messages.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, Span};

/// One attribute value as received, by OTLP type.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    Str(String),
    Int(i64),
    Double(f64),
    Bool(bool),
    /// Arrays, key-value lists and bytes, rendered as JSON text (bytes as a hex string);
    /// an attribute with no value is `Other("null")`.
    Other(String),
}

impl AttrValue {
    /// The string, if this is a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is an integer value.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            AttrValue::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The float, if this is a double value.
    pub fn as_double(&self) -> Option<f64> {
        match self {
            AttrValue::Double(d) => Some(*d),
            _ => None,
        }
    }

    /// The bool, if this is a bool value.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            AttrValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// A short name of the OTLP type: "string", "int", "double", "bool" or "other".
    pub fn type_name(&self) -> &'static str {
        match self {
            AttrValue::Str(_) => "string",
            AttrValue::Int(_) => "int",
            AttrValue::Double(_) => "double",
            AttrValue::Bool(_) => "bool",
            AttrValue::Other(_) => "other",
        }
    }

    fn from_any(v: Option<&AnyValue>) -> AttrValue {
        match v.and_then(|v| v.value.as_ref()) {
            Some(Value::StringValue(s)) => AttrValue::Str(s.clone()),
            Some(Value::IntValue(i)) => AttrValue::Int(*i),
            Some(Value::DoubleValue(d)) => AttrValue::Double(*d),
            Some(Value::BoolValue(b)) => AttrValue::Bool(*b),
            _ => AttrValue::Other(any_to_json(v).to_string()),
        }
    }
}

impl std::fmt::Display for AttrValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttrValue::Str(s) | AttrValue::Other(s) => f.write_str(s),
            AttrValue::Int(i) => write!(f, "{i}"),
            AttrValue::Double(d) => write!(f, "{d}"),
            AttrValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// Renders any OTLP value as JSON (bytes as a lower-case hex string).
pub fn any_to_json(v: Option<&AnyValue>) -> serde_json::Value {
    use serde_json::Value as J;
    match v.and_then(|v| v.value.as_ref()) {
        None => J::Null,
        Some(Value::StringValue(s)) => J::String(s.clone()),
        Some(Value::IntValue(i)) => J::from(*i),
        Some(Value::DoubleValue(d)) => J::from(*d),
        Some(Value::BoolValue(b)) => J::Bool(*b),
        Some(Value::BytesValue(b)) => J::String(hex(b)),
        Some(Value::ArrayValue(a)) => {
            J::Array(a.values.iter().map(|v| any_to_json(Some(v))).collect())
        }
        Some(Value::KvlistValue(kv)) => J::Object(
            kv.values
                .iter()
                .map(|kv| (kv.key.clone(), any_to_json(kv.value.as_ref())))
                .collect(),
        ),
        #[allow(unreachable_patterns)]
        Some(other) => J::String(format!("{other:?}")),
    }
}

/// Lower-case hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attrs(kvs: &[KeyValue]) -> Vec<(String, AttrValue)> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), AttrValue::from_any(kv.value.as_ref())))
        .collect()
}

/// One span as received by the [`OtlpReceiver`](super::OtlpReceiver).
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    /// 32 lower-case hex digits.
    pub trace_id: String,
    /// 16 lower-case hex digits.
    pub span_id: String,
    /// 16 lower-case hex digits, or empty for a root span.
    pub parent_span_id: String,
    pub name: String,
    /// The proto enum `opentelemetry.proto.trace.v1.Span.SpanKind` (2 = server).
    pub kind: i32,
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
    /// Span attributes, in the order received.
    pub attributes: Vec<(String, AttrValue)>,
    /// Attributes of the span's resource (e.g. `service.name`), in the order received.
    pub resource_attributes: Vec<(String, AttrValue)>,
    /// The instrumentation scope's name.
    pub scope_name: String,
    /// The proto status code (0 unset, 1 ok, 2 error) and message.
    pub status_code: i32,
    pub status_message: String,
    /// The span exactly as decoded, for anything not flattened above.
    pub raw: Span,
}

impl ReceivedSpan {
    /// The first attribute with this key.
    pub fn attr(&self, key: &str) -> Option<&AttrValue> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The attribute's value if it is a string.
    pub fn str_attr(&self, key: &str) -> Option<&str> {
        self.attr(key).and_then(AttrValue::as_str)
    }

    /// The attribute's value if it is an integer.
    pub fn int_attr(&self, key: &str) -> Option<i64> {
        self.attr(key).and_then(AttrValue::as_int)
    }

    /// The attribute's value if it is a double.
    pub fn double_attr(&self, key: &str) -> Option<f64> {
        self.attr(key).and_then(AttrValue::as_double)
    }

    /// The attribute's value if it is a bool.
    pub fn bool_attr(&self, key: &str) -> Option<bool> {
        self.attr(key).and_then(AttrValue::as_bool)
    }

    /// Every attribute key, in the order received.
    pub fn attr_keys(&self) -> Vec<&str> {
        self.attributes.iter().map(|(k, _)| k.as_str()).collect()
    }

    /// The first resource attribute with this key.
    pub fn resource_attr(&self, key: &str) -> Option<&AttrValue> {
        self.resource_attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// True for `SPAN_KIND_SERVER`.
    pub fn is_server(&self) -> bool {
        self.kind == SpanKind::Server as i32
    }

    /// True for `SPAN_KIND_CLIENT`.
    pub fn is_client(&self) -> bool {
        self.kind == SpanKind::Client as i32
    }

    /// True when the span has no parent.
    pub fn is_root(&self) -> bool {
        self.parent_span_id.is_empty()
    }

    /// End minus start.
    pub fn duration(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.end_unix_nanos.saturating_sub(self.start_unix_nanos))
    }
}

/// Flattens every span in an export request.
pub fn spans_of(req: &ExportTraceServiceRequest) -> Vec<ReceivedSpan> {
    let mut out = Vec::new();
    for rs in &req.resource_spans {
        let resource_attributes = rs
            .resource
            .as_ref()
            .map(|r| attrs(&r.attributes))
            .unwrap_or_default();
        for ss in &rs.scope_spans {
            let scope_name = ss
                .scope
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default();
            for span in &ss.spans {
                let parent = if span.parent_span_id.iter().all(|b| *b == 0) {
                    String::new()
                } else {
                    hex(&span.parent_span_id)
                };
                out.push(ReceivedSpan {
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: parent,
                    name: span.name.clone(),
                    kind: span.kind,
                    start_unix_nanos: span.start_time_unix_nano,
                    end_unix_nanos: span.end_time_unix_nano,
                    attributes: attrs(&span.attributes),
                    resource_attributes: resource_attributes.clone(),
                    scope_name: scope_name.clone(),
                    status_code: span.status.as_ref().map(|s| s.code).unwrap_or(0),
                    status_message: span
                        .status
                        .as_ref()
                        .map(|s| s.message.clone())
                        .unwrap_or_default(),
                    raw: span.clone(),
                });
            }
        }
    }
    out
}
