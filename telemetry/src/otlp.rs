//! OTLP trace protobuf, written straight from sluice's spans.
//!
//! A batch becomes one `ExportTraceServiceRequest` (one resource, one scope, the spans) in a
//! single pass: every nested length is computed from the values, never by encoding twice.
//! The field numbers are those of `opentelemetry/proto/trace/v1/trace.proto` and
//! `common/v1/common.proto`; the varint and key primitives are prost's. The unit tests decode
//! the bytes with `opentelemetry-proto`'s generated types, so a wrong field shows up there.
//!
//! Why not `opentelemetry-otlp`: measured with callgrind, its export path (SDK `SpanData` →
//! grouping by resource and scope → prost's nested `encoded_len` passes) cost ~44,000
//! instructions per span, a fifth of a whole proxied request; this costs a few thousand.

use std::time::{SystemTime, UNIX_EPOCH};

use prost::encoding::{encoded_len_varint, key_len, WireType};

use crate::{Attr, AttrValue};

/// One finished request's span, as queued for export.
#[derive(Clone, Debug, PartialEq)]
pub struct SpanRecord<'a> {
    pub name: String,
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub parent_span_id: Option<[u8; 8]>,
    pub start: SystemTime,
    pub end: SystemTime,
    pub attributes: Vec<Attr<'a>>,
    /// Status `ERROR` with this message; `None` leaves the status unset.
    pub error: Option<String>,
}

/// `Span.SpanKind.SPAN_KIND_SERVER`.
const KIND_SERVER: u64 = 2;
/// `Status.StatusCode.STATUS_CODE_ERROR`.
const STATUS_ERROR: u64 = 2;
/// `SpanFlags`: the W3C sampled bit, and whether the parent is known to be remote or not.
const FLAG_SAMPLED: u32 = 0x01;
const FLAG_HAS_IS_REMOTE: u32 = 0x100;
const FLAG_IS_REMOTE: u32 = 0x200;

/// Encodes spans for one resource and scope; reuse it for every batch.
#[derive(Debug)]
pub struct Encoder {
    /// `Resource` message body (its attributes).
    resource: Vec<u8>,
    /// `InstrumentationScope` message body.
    scope: Vec<u8>,
    /// Encoded spans of the batch being built, each with its key and length.
    spans: Vec<u8>,
    /// Spans in `spans`.
    count: usize,
}

impl Encoder {
    /// `resource`: the resource's attributes (`service.name`, ...); the scope is sluice's.
    pub fn new(resource: &[Attr<'_>], scope_name: &str, scope_version: &str) -> Self {
        let mut r = Vec::new();
        for (k, v) in resource {
            put_key_value(&mut r, 1, k, v);
        }
        let mut s = Vec::new();
        put_str(&mut s, 1, scope_name);
        put_str(&mut s, 2, scope_version);
        Encoder {
            resource: r,
            scope: s,
            spans: Vec::with_capacity(64 * 1024),
            count: 0,
        }
    }

    /// Adds a span to the batch being built (encoded here; the exporter gets spans
    /// [`encode`]d by the thread that made them).
    pub fn push(&mut self, span: &SpanRecord<'_>) {
        self.push_encoded(&encode(span));
    }

    /// Adds a span [`encode`]d earlier (on another thread) to the batch being built.
    pub fn push_encoded(&mut self, span: &EncodedSpan) {
        self.spans.extend_from_slice(&span.0);
        self.count += 1;
    }

    /// Spans pushed since the last [`Encoder::finish`].
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no span was pushed since the last [`Encoder::finish`].
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The `ExportTraceServiceRequest` of the spans pushed so far; starts a new batch.
    pub fn finish(&mut self) -> Vec<u8> {
        let scope_spans_len = bytes_field_len(1, self.scope.len()) + self.spans.len();
        let resource_spans_len =
            bytes_field_len(1, self.resource.len()) + bytes_field_len(2, scope_spans_len);
        let mut out = Vec::with_capacity(bytes_field_len(1, resource_spans_len));
        encode_key(1, WireType::LengthDelimited, &mut out);
        encode_varint(resource_spans_len as u64, &mut out);
        put_bytes(&mut out, 1, &self.resource);
        encode_key(2, WireType::LengthDelimited, &mut out);
        encode_varint(scope_spans_len as u64, &mut out);
        put_bytes(&mut out, 1, &self.scope);
        out.extend_from_slice(&self.spans);
        self.spans.clear();
        self.count = 0;
        out
    }
}

/// One span as it goes into a batch: the `ScopeSpans.spans` field, key and length included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedSpan(Vec<u8>);

thread_local! {
    /// A span's body before its length is known, kept per thread between spans.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(2048));
}

/// Encodes `span` for a later [`Encoder::push_encoded`]: done by the thread that made the
/// span, so its attribute strings are freed where they were allocated, and the export queue
/// holds one buffer per span instead of its tree of strings.
pub fn encode(span: &SpanRecord<'_>) -> EncodedSpan {
    SCRATCH.with(|scratch| {
        let mut body = scratch.borrow_mut();
        encode_body(span, &mut body);
        let mut out = Vec::with_capacity(bytes_field_len(2, body.len()));
        put_bytes(&mut out, 2, &body);
        EncodedSpan(out)
    })
}

/// The `Span` message of `span`, without its key and length, into `b` (cleared first).
fn encode_body(span: &SpanRecord<'_>, b: &mut Vec<u8>) {
    b.clear();
    put_bytes(b, 1, &span.trace_id);
    put_bytes(b, 2, &span.span_id);
    if let Some(parent) = &span.parent_span_id {
        put_bytes(b, 4, parent);
    }
    put_str(b, 5, &span.name);
    put_varint(b, 6, KIND_SERVER);
    put_fixed64(b, 7, unix_nanos(span.start));
    put_fixed64(b, 8, unix_nanos(span.end));
    for (k, v) in &span.attributes {
        put_key_value(b, 9, k, v);
    }
    if let Some(message) = &span.error {
        let len = str_field_len(2, message) + key_len(3) + encoded_len_varint(STATUS_ERROR);
        encode_key(15, WireType::LengthDelimited, b);
        encode_varint(len as u64, b);
        put_str(b, 2, message);
        put_varint(b, 3, STATUS_ERROR);
    }
    let remote = if span.parent_span_id.is_some() {
        FLAG_IS_REMOTE
    } else {
        0
    };
    encode_key(16, WireType::ThirtyTwoBit, b);
    b.extend_from_slice(&(FLAG_SAMPLED | FLAG_HAS_IS_REMOTE | remote).to_le_bytes());
}

fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// prost's `encode_varint`, for a `Vec`: a value below 128 (every key and most lengths here)
/// is one `push`, inlined, where prost's generic `BufMut` version is a call per value that
/// writes byte by byte (callgrind: a sixth of the encoder's time).
#[inline]
fn encode_varint(mut v: u64, buf: &mut Vec<u8>) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

#[inline]
fn encode_key(field: u32, wire_type: WireType, buf: &mut Vec<u8>) {
    encode_varint(u64::from(field << 3 | wire_type as u32), buf);
}

/// Length of a length-delimited field whose body is `len` bytes.
#[inline]
fn bytes_field_len(field: u32, len: usize) -> usize {
    key_len(field) + encoded_len_varint(len as u64) + len
}

#[inline]
fn str_field_len(field: u32, s: &str) -> usize {
    bytes_field_len(field, s.len())
}

#[inline]
fn put_bytes(buf: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    encode_key(field, WireType::LengthDelimited, buf);
    encode_varint(bytes.len() as u64, buf);
    buf.extend_from_slice(bytes);
}

#[inline]
fn put_str(buf: &mut Vec<u8>, field: u32, s: &str) {
    put_bytes(buf, field, s.as_bytes());
}

#[inline]
fn put_varint(buf: &mut Vec<u8>, field: u32, v: u64) {
    encode_key(field, WireType::Varint, buf);
    encode_varint(v, buf);
}

#[inline]
fn put_fixed64(buf: &mut Vec<u8>, field: u32, v: u64) {
    encode_key(field, WireType::SixtyFourBit, buf);
    buf.extend_from_slice(&v.to_le_bytes());
}

/// Body length of an `AnyValue` holding `v`.
#[inline]
fn any_value_len(v: &AttrValue) -> usize {
    match v {
        AttrValue::Str(s) => str_field_len(1, s),
        AttrValue::Bool(_) => key_len(2) + 1,
        // int64 is a varint of the two's complement: negatives take ten bytes.
        AttrValue::Int(i) => key_len(3) + encoded_len_varint(*i as u64),
        AttrValue::Float(_) => key_len(4) + 8,
        AttrValue::StrList(items) => bytes_field_len(5, array_len(items)),
    }
}

/// Body length of an `ArrayValue` of string `AnyValue`s.
fn array_len(items: &[String]) -> usize {
    items
        .iter()
        .map(|s| bytes_field_len(1, str_field_len(1, s)))
        .sum()
}

#[inline]
fn put_any_value(buf: &mut Vec<u8>, v: &AttrValue) {
    match v {
        AttrValue::Str(s) => put_str(buf, 1, s),
        AttrValue::Bool(b) => put_varint(buf, 2, u64::from(*b)),
        AttrValue::Int(i) => put_varint(buf, 3, *i as u64),
        AttrValue::Float(f) => put_fixed64(buf, 4, f.to_bits()),
        AttrValue::StrList(items) => {
            encode_key(5, WireType::LengthDelimited, buf);
            encode_varint(array_len(items) as u64, buf);
            for s in items {
                encode_key(1, WireType::LengthDelimited, buf);
                encode_varint(str_field_len(1, s) as u64, buf);
                put_str(buf, 1, s);
            }
        }
    }
}

/// A `KeyValue` as field `field` of the enclosing message. The whole attribute is reserved
/// at once, so the writes below never grow the buffer.
#[inline]
fn put_key_value(buf: &mut Vec<u8>, field: u32, key: &str, v: &AttrValue) {
    let value_len = any_value_len(v);
    let len = str_field_len(1, key) + bytes_field_len(2, value_len);
    buf.reserve(bytes_field_len(field, len));
    encode_key(field, WireType::LengthDelimited, buf);
    encode_varint(len as u64, buf);
    put_str(buf, 1, key);
    encode_key(2, WireType::LengthDelimited, buf);
    encode_varint(value_len as u64, buf);
    put_any_value(buf, v);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    use prost::Message;

    use super::*;

    fn span(i: u8, parent: bool, error: bool) -> SpanRecord<'static> {
        let start = UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789);
        SpanRecord {
            name: format!("POST /gemini/{i}"),
            trace_id: [i; 16],
            span_id: [i + 1; 8],
            parent_span_id: parent.then_some([9; 8]),
            start,
            end: start + Duration::from_millis(250),
            attributes: vec![
                ("gateway".into(), AttrValue::Str("sluice".into())),
                ("http.status".into(), AttrValue::Int(200)),
                ("negative".into(), AttrValue::Int(-3)),
                ("ratio".into(), AttrValue::Float(0.25)),
                ("streaming".into(), AttrValue::Bool(true)),
                (
                    "gen_ai.response.finish_reasons".into(),
                    AttrValue::StrList(vec!["stop".into(), "length".into()]),
                ),
                ("empty".into(), AttrValue::from(String::new())),
                ("long".into(), AttrValue::from("x".repeat(300))),
            ],
            error: error.then(|| "upstream timed out".to_string()),
        }
    }

    fn any(v: &Option<opentelemetry_proto::tonic::common::v1::AnyValue>) -> Option<&Value> {
        v.as_ref().and_then(|a| a.value.as_ref())
    }

    #[test]
    fn spans_encoded_ahead_make_the_same_batch() {
        let resource = vec![("service.name".into(), AttrValue::Str("sluice".into()))];
        let spans = [span(1, false, false), span(2, true, true)];
        let mut direct = Encoder::new(&resource, "sluice", "0.1.0");
        let mut ahead = Encoder::new(&resource, "sluice", "0.1.0");
        for s in &spans {
            direct.push(s);
            ahead.push_encoded(&encode(s));
        }
        assert_eq!(ahead.len(), 2);
        assert_eq!(direct.finish(), ahead.finish());
    }

    #[test]
    fn varints_match_prost() {
        for v in [
            0,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u64::from(u32::MAX),
            (-3i64) as u64,
            u64::MAX,
        ] {
            let mut ours = vec![7];
            encode_varint(v, &mut ours);
            let mut theirs = vec![7];
            prost::encoding::encode_varint(v, &mut theirs);
            assert_eq!(ours, theirs, "{v}");
            assert_eq!(ours.len() - 1, encoded_len_varint(v), "{v}");
        }
    }

    #[test]
    fn batches_decode_with_the_official_types() {
        let resource = vec![
            ("service.name".into(), AttrValue::Str("sluice".into())),
            ("deployment".into(), AttrValue::Str("prod".into())),
        ];
        let mut enc = Encoder::new(&resource, "sluice", "0.1.0");
        assert!(enc.is_empty());
        let spans = [span(1, false, false), span(2, true, true)];
        for s in &spans {
            enc.push(s);
        }
        assert_eq!(enc.len(), 2);
        let bytes = enc.finish();
        assert!(enc.is_empty(), "finish starts a new batch");
        let req = ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap();
        assert_eq!(req.resource_spans.len(), 1);
        let rs = &req.resource_spans[0];
        let res = rs.resource.as_ref().unwrap();
        assert_eq!(res.attributes.len(), 2);
        assert_eq!(res.attributes[1].key, "deployment");
        assert_eq!(rs.scope_spans.len(), 1);
        let scope = rs.scope_spans[0].scope.as_ref().unwrap();
        assert_eq!(
            (scope.name.as_str(), scope.version.as_str()),
            ("sluice", "0.1.0")
        );
        let got = &rs.scope_spans[0].spans;
        assert_eq!(got.len(), 2);

        let a = &got[0];
        assert_eq!(a.name, "POST /gemini/1");
        assert_eq!(a.trace_id, vec![1; 16]);
        assert_eq!(a.span_id, vec![2; 8]);
        assert!(a.parent_span_id.is_empty());
        assert_eq!(a.kind, 2);
        assert_eq!(a.start_time_unix_nano, 1_700_000_000_123_456_789);
        assert_eq!(a.end_time_unix_nano - a.start_time_unix_nano, 250_000_000);
        assert_eq!(a.flags, 0x101);
        assert!(a.status.is_none());
        let attrs: Vec<(&str, Option<&Value>)> = a
            .attributes
            .iter()
            .map(|kv| (kv.key.as_str(), any(&kv.value)))
            .collect();
        assert_eq!(
            attrs[0],
            ("gateway", Some(&Value::StringValue("sluice".into())))
        );
        assert_eq!(attrs[1], ("http.status", Some(&Value::IntValue(200))));
        assert_eq!(attrs[2], ("negative", Some(&Value::IntValue(-3))));
        assert_eq!(attrs[3], ("ratio", Some(&Value::DoubleValue(0.25))));
        assert_eq!(attrs[4], ("streaming", Some(&Value::BoolValue(true))));
        match attrs[5].1 {
            Some(Value::ArrayValue(arr)) => {
                let items: Vec<_> = arr.values.iter().map(|v| v.value.clone()).collect();
                assert_eq!(
                    items,
                    vec![
                        Some(Value::StringValue("stop".into())),
                        Some(Value::StringValue("length".into()))
                    ]
                );
            }
            other => panic!("finish_reasons: {other:?}"),
        }
        assert_eq!(
            attrs[6],
            ("empty", Some(&Value::StringValue(String::new())))
        );
        assert_eq!(attrs[7].1, Some(&Value::StringValue("x".repeat(300))));

        let b = &got[1];
        assert_eq!(b.parent_span_id, vec![9; 8]);
        assert_eq!(b.flags, 0x301);
        let status = b.status.as_ref().unwrap();
        assert_eq!(
            (status.code, status.message.as_str()),
            (2, "upstream timed out")
        );

        // The next batch holds only its own spans.
        enc.push(&span(3, false, false));
        let req = ExportTraceServiceRequest::decode(enc.finish().as_slice()).unwrap();
        let spans = &req.resource_spans[0].scope_spans[0].spans;
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].name, "POST /gemini/3");
    }
}
