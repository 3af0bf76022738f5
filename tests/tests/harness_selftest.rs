//! Self-test of the harness pieces against each other (never the gateway): the OTLP receiver
//! against opentelemetry-otlp's real exporters, the mock upstream against the test client,
//! and the log-line, SSE and template helpers on known inputs.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, KeyValue, Value};
use opentelemetry_otlp::{Compression, WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanExporter as _, SpanLinks};
use opentelemetry_sdk::Resource;
use prost::Message;
use serde_json::json;
use sluice_tests::http::{self, chunks_text, parse_sse, Client};
use sluice_tests::otlp::{AttrValue, OtlpReceiver, Protocol, ReceivedSpan, GRPC_EXPORT_PATH};
use sluice_tests::upstream::{MockUpstream, Reply};
use sluice_tests::{parse_log_line, render, Ports, Recorder};

const T: Duration = Duration::from_secs(10);
const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";
const SPAN: &str = "b7ad6b7169203331";

fn span_data() -> SpanData {
    let start = SystemTime::now() - Duration::from_millis(250);
    SpanData {
        span_context: SpanContext::new(
            TraceId::from_hex(TRACE).unwrap(),
            SpanId::from_hex(SPAN).unwrap(),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: SpanId::from_hex(PARENT).unwrap(),
        parent_span_is_remote: true,
        span_kind: SpanKind::Server,
        name: "POST /gemini".into(),
        start_time: start,
        end_time: start + Duration::from_millis(200),
        attributes: vec![
            KeyValue::new("gateway", "sluice"),
            KeyValue::new("http.status", 200i64),
            KeyValue::new("gen_ai.request.temperature", 0.5f64),
            KeyValue::new("llm.streaming", false),
            KeyValue::new("tags", Value::Array(Array::I64(vec![1, 2]))),
        ],
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: InstrumentationScope::builder("selftest").build(),
    }
}

fn resource() -> Resource {
    Resource::builder_empty()
        .with_service_name("sluice-selftest")
        .build()
}

fn assert_span(s: &ReceivedSpan) {
    assert_eq!(s.name, "POST /gemini");
    assert_eq!(s.trace_id, TRACE);
    assert_eq!(s.span_id, SPAN);
    assert_eq!(s.parent_span_id, PARENT);
    assert!(s.is_server() && !s.is_root());
    assert_eq!(s.duration(), Duration::from_millis(200));
    assert_eq!(
        s.attr_keys(),
        [
            "gateway",
            "http.status",
            "gen_ai.request.temperature",
            "llm.streaming",
            "tags"
        ]
    );
    assert_eq!(s.str_attr("gateway"), Some("sluice"));
    assert_eq!(s.int_attr("http.status"), Some(200));
    assert_eq!(s.str_attr("http.status"), None, "an int is not a string");
    assert_eq!(
        s.attr("gen_ai.request.temperature"),
        Some(&AttrValue::Double(0.5))
    );
    assert_eq!(s.bool_attr("llm.streaming"), Some(false));
    assert_eq!(s.attr("tags"), Some(&AttrValue::Other("[1,2]".into())));
    assert_eq!(
        s.resource_attr("service.name"),
        Some(&AttrValue::Str("sluice-selftest".into()))
    );
    assert_eq!(s.scope_name, "selftest");
}

#[tokio::test]
async fn otlp_grpc_receives_gzip_export_with_metadata() {
    let rx = OtlpReceiver::start_grpc().await;
    assert_eq!(rx.protocol(), Protocol::Grpc);
    let mut md = tonic::metadata::MetadataMap::new();
    md.insert("authorization", "Basic c2s6cGs=".parse().unwrap());
    let mut exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(rx.endpoint())
        .with_compression(Compression::Gzip)
        .with_metadata(md)
        .build()
        .unwrap();
    exporter.set_resource(&resource());
    exporter.export(vec![span_data()]).await.unwrap();

    let spans = rx.wait_for_spans(1, T).await;
    assert_eq!(spans.len(), 1);
    assert_span(&spans[0]);
    let exports = rx.exports();
    assert_eq!(exports[0].header("authorization"), Some("Basic c2s6cGs="));
    assert_eq!(exports[0].header("grpc-encoding"), Some("gzip"));
    assert_eq!(rx.request_paths(), [GRPC_EXPORT_PATH]);
    assert_eq!(
        rx.wait_for_span_named("POST /gemini", T).await.span_id,
        SPAN
    );
}

#[tokio::test]
async fn otlp_grpc_reject_mode_fails_the_export() {
    let rx = OtlpReceiver::start_grpc().await;
    rx.set_reject(true);
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(rx.endpoint())
        .build()
        .unwrap();
    assert!(exporter.export(vec![span_data()]).await.is_err());
    let exports = rx.wait_for_exports(1, T).await;
    assert_eq!(exports[0].status, 503);
    assert!(rx.spans().is_empty());
}

#[tokio::test]
async fn otlp_http_receives_gzip_protobuf_export_with_headers() {
    let rx = OtlpReceiver::start_http().await;
    let headers = HashMap::from([("Authorization".to_string(), "Basic xyz".to_string())]);
    let mut exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(rx.traces_url())
        .with_compression(Compression::Gzip)
        .with_headers(headers)
        .build()
        .unwrap();
    exporter.set_resource(&resource());
    exporter.export(vec![span_data()]).await.unwrap();

    let spans = rx.wait_for_spans(1, T).await;
    assert_span(&spans[0]);
    assert_eq!(rx.request_paths(), ["/v1/traces"]);
    let hs = &rx.requests_headers()[0];
    assert!(
        hs.contains(&("authorization".into(), "Basic xyz".into())),
        "{hs:?}"
    );
    assert_eq!(rx.exports()[0].header("content-encoding"), Some("gzip"));
}

#[tokio::test]
async fn otlp_http_accepts_any_prefix_and_rejects_the_rest() {
    let rx = OtlpReceiver::start_http().await;
    let req = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest {
        resource_spans: vec![opentelemetry_proto::tonic::trace::v1::ResourceSpans {
            scope_spans: vec![opentelemetry_proto::tonic::trace::v1::ScopeSpans {
                spans: vec![opentelemetry_proto::tonic::trace::v1::Span {
                    trace_id: vec![1; 16],
                    span_id: vec![2; 8],
                    name: "raw".into(),
                    kind: 3,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let pb = [("content-type", "application/x-protobuf")];
    let url = format!("{}/api/public/otel/v1/traces", rx.endpoint());
    let resp = http::post_raw(&url, req.encode_to_vec(), &pb).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("application/x-protobuf"));
    assert!(resp.body.is_empty(), "an empty ExportTraceServiceResponse");
    let s = &rx.wait_for_spans(1, T).await[0];
    assert_eq!((s.name.as_str(), s.is_client()), ("raw", true));
    assert_eq!(s.trace_id, "01".repeat(16));
    assert!(s.is_root());

    let bad_path = format!("{}/v1/metrics", rx.endpoint());
    assert_eq!(http::post_raw(&bad_path, vec![], &pb).await.status, 404);
    let json_type = [("content-type", "application/json")];
    assert_eq!(
        http::post_raw(&rx.traces_url(), "{}", &json_type)
            .await
            .status,
        415
    );
    assert_eq!(
        http::post_raw(&rx.traces_url(), "garbage", &pb)
            .await
            .status,
        400
    );
    assert_eq!(rx.exports().len(), 4);
    assert_eq!(rx.spans().len(), 1);
    rx.clear();
    assert!(rx.exports().is_empty() && rx.spans().is_empty());
}

#[tokio::test]
async fn upstream_serves_queue_then_default_and_records_requests() {
    let up = MockUpstream::start(Reply::json(200, &json!({"default": true}))).await;
    up.push_reply(Reply::json(429, &json!({"error": "slow down"})).with_header("Retry-After", "1"));
    let client = Client::new(); // keep-alive
    let url = format!("{}/v1beta/models/m:generateContent?alt=sse", up.base_url());
    let r1 = client
        .post_json(&url, &json!({"n": 1}), &[("X-Api-Key", "k1")])
        .await;
    assert_eq!(r1.status, 429);
    assert_eq!(r1.header("retry-after"), Some("1"));
    assert_eq!(r1.json()["error"], "slow down");
    for n in 2..=4 {
        let r = client.post_json(&url, &json!({ "n": n }), &[]).await;
        assert_eq!((r.status, r.json()), (200, json!({"default": true})));
    }
    let g = client.get(&format!("{}/healthz", up.base_url())).await;
    assert_eq!(g.status, 200);

    let reqs = up.wait_for_requests(5, T).await;
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].path, "/v1beta/models/m:generateContent?alt=sse");
    assert_eq!(reqs[0].path_only(), "/v1beta/models/m:generateContent");
    assert_eq!(reqs[0].query(), Some("alt=sse"));
    assert_eq!(reqs[0].header("x-api-key"), Some("k1"));
    assert!(reqs[0].headers.iter().any(|(k, _)| k == "x-api-key"));
    assert_eq!(reqs[0].header("content-type"), Some("application/json"));
    let ns: Vec<_> = reqs[..4].iter().map(|r| r.json()["n"].clone()).collect();
    assert_eq!(ns, [json!(1), json!(2), json!(3), json!(4)]);
    assert_eq!(reqs[4].method, "GET");
    assert!(
        reqs.iter().all(|r| r.peer == reqs[0].peer),
        "one kept-alive connection"
    );

    // The free functions use a new connection per request.
    http::get(&up.base_url()).await;
    http::get(&up.base_url()).await;
    let reqs = up.wait_for_requests(7, T).await;
    assert_ne!(reqs[5].peer, reqs[6].peer);
}

#[tokio::test]
async fn upstream_handler_picks_reply_per_request() {
    let up = MockUpstream::start_with_handler(|r| {
        if r.path.ends_with("/models") {
            Reply::json(200, &json!({"data": []}))
        } else {
            Reply::text(404, "nope")
        }
    })
    .await;
    assert_eq!(
        http::get(&format!("{}/v1/models", up.base_url()))
            .await
            .status,
        200
    );
    let r = http::get(&format!("{}/other", up.base_url())).await;
    assert_eq!((r.status, r.text().as_str()), (404, "nope"));
}

#[tokio::test]
async fn upstream_streams_chunks_with_gaps() {
    let gap = Duration::from_millis(150);
    let events = [r#"{"i":0}"#, r#"{"i":1}"#, r#"{"i":2}"#, "[DONE]"];
    let up = MockUpstream::start(Reply::sse(&events, gap)).await;
    let resp = http::post_json_streaming(&up.base_url(), &json!({"stream": true}), &[]).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("text/event-stream"));
    assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
    let chunks = resp.collect_chunks().await;
    assert_eq!(chunks.len(), 4, "{chunks:?}");
    for w in chunks.windows(2) {
        let d = w[1].at - w[0].at;
        assert!(
            d >= gap - Duration::from_millis(30),
            "gap {d:?} in {chunks:?}"
        );
    }
    let data = http::sse_data(&chunks_text(&chunks));
    assert_eq!(data, events);
}

#[tokio::test]
async fn upstream_failure_modes() {
    let up = MockUpstream::start(Reply::abort()).await;
    let client = Client::fresh();
    let err = client.send("POST", &up.base_url(), &[], "{}").await;
    assert!(err.is_err(), "abort gives no response: {err:?}");

    let cut = Reply::stream(
        200,
        vec![],
        vec![Bytes::from("a"), Bytes::from("b")],
        Duration::ZERO,
    )
    .then_abort();
    up.push_reply(cut);
    let resp = client
        .send_streaming("GET", &up.base_url(), &[], "")
        .await
        .unwrap();
    let (chunks, err) = resp.collect_chunks_lenient().await;
    assert_eq!(chunks_text(&chunks), "ab");
    assert!(err.is_some(), "a cut stream ends in an error");

    let slow = Duration::from_millis(300);
    up.push_reply(Reply::text(200, "late").with_delay(slow));
    let resp = client
        .send_streaming("GET", &up.base_url(), &[], "")
        .await
        .unwrap();
    assert!(resp.head_at >= slow, "{:?}", resp.head_at);
    assert_eq!(up.wait_for_requests(3, T).await.len(), 3);
}

#[test]
fn parses_the_contract_log_line() {
    let line = "info request gateway=sluice listener=http route=google endpoint=generativelanguage.googleapis.com:443 src.addr=127.0.0.1:49576 http.method=POST http.host=localhost http.path=/gemini http.version=HTTP/1.1 http.status=200 trace.id=4bf92f3577b34da6a3ce929d0e0e4736 span.id=00f067aa0ba902b7 llm.provider=gemini llm.request.model= llm.request.tokens=8 llm.response.model=gemini-1.5-flash-latest llm.response.tokens=313 duration=3165ms";
    let l = parse_log_line(line).unwrap();
    assert_eq!((l.level.as_str(), l.message.as_str()), ("info", "request"));
    assert!(l.is_request());
    assert_eq!(l.keys()[..3], ["gateway", "listener", "route"]);
    assert_eq!(l.keys().len(), 18);
    assert_eq!(
        l.get("endpoint"),
        Some("generativelanguage.googleapis.com:443")
    );
    assert_eq!(l.get("llm.request.model"), Some(""));
    assert!(l.has("llm.request.model"));
    assert_eq!(l.get_int("llm.response.tokens"), Some(313));
    assert_eq!(l.get("trace.id").unwrap().len(), 32);
    assert_eq!(l.duration("duration"), Some(Duration::from_millis(3165)));
    assert_eq!(l.get("missing"), None);
    assert!(parse_log_line("").is_none());
}

#[test]
fn parses_sse_bodies() {
    let body = "event: message_start\r\ndata: {\"a\":1}\r\n\r\n: keepalive\n\ndata: x\ndata: y\n\ndata: [DONE]\n\n";
    let ev = parse_sse(body);
    assert_eq!(ev.len(), 3);
    assert_eq!(ev[0].event.as_deref(), Some("message_start"));
    assert_eq!(ev[0].data, "{\"a\":1}");
    assert_eq!(ev[1].data, "x\ny");
    assert_eq!(http::sse_data(body), ["{\"a\":1}", "x\ny", "[DONE]"]);
}

#[test]
fn renders_templates_and_picks_ports() {
    let p = Ports::new();
    assert_ne!(p.listener, p.admin);
    let yaml = render(
        "bind: {{listen}}\nadminAddr: {{admin}}\nexpr: '{\"a\": 1}'\n",
        &[("listen", &p.listener_addr()), ("admin", &p.admin_addr())],
    );
    assert!(yaml.contains(&format!("bind: 127.0.0.1:{}", p.listener)));
    assert_eq!(
        sluice_tests::setup::yaml_scalar(&yaml, "adminAddr"),
        Some(p.admin_addr())
    );
    let missing = std::panic::catch_unwind(|| render("x: {{nope}}", &[]));
    assert!(missing.is_err());
}

#[tokio::test]
async fn recorder_waits_and_times_out() {
    let rec = std::sync::Arc::new(Recorder::<u32>::default());
    let r2 = rec.clone();
    tokio::spawn(async move {
        for i in 0..5 {
            r2.push(i);
            tokio::task::yield_now().await;
        }
    });
    let even = rec.wait_for(3, T, |i| i % 2 == 0).await.unwrap();
    assert_eq!(even, [0, 2, 4]);
    let err = rec.wait_for(9, Duration::from_millis(50), |_| true).await;
    assert_eq!(err.unwrap_err().len(), 5);
}
