//! `randomSampling`: false, true and a ratio, and a caller's sampled or unsampled parent.

use std::time::Duration;

use sluice_tests::OtlpReceiver;

use crate::recipe_texts::{RECIPE_DEFAULT, RECIPE_DEFAULT_ENDPOINT};
use crate::support::{
    chat_request, config, gemini_upstream, recipe_with_endpoint, send, send_concurrently,
    start_gateway, WAIT,
};

fn default_recipe_sampling(otlp: &OtlpReceiver, sampling: &str) -> String {
    recipe_with_endpoint(RECIPE_DEFAULT, RECIPE_DEFAULT_ENDPOINT, &otlp.endpoint()).replacen(
        "randomSampling: true",
        &format!("randomSampling: {sampling}"),
        1,
    )
}

#[tokio::test]
async fn sampling_false_exports_nothing_but_a_sampled_parent_is_followed() {
    let otlp = OtlpReceiver::start_grpc().await;
    let upstream = gemini_upstream().await;
    let tracing = default_recipe_sampling(&otlp, "false");
    assert!(tracing.contains("randomSampling: false"));
    let gw = start_gateway(&config(&tracing, "", &upstream)).await;

    for _ in 0..5 {
        send(&gw, &chat_request(false), &[]).await;
    }
    let logs = gw.wait_for_request_logs(5, WAIT).await;
    assert_eq!(logs.len(), 5);
    assert!(logs.iter().all(|l| l.get("http.status") == Some("200")));
    // Well past the exporter's batch interval (200 ms).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        otlp.spans().len(),
        0,
        "randomSampling: false exported spans: {:#?}",
        otlp.spans()
    );

    // A caller's sampled traceparent (flags 01) is followed even so.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent = format!("00-{trace_id}-00f067aa0ba902b7-01");
    send(&gw, &chat_request(false), &[("traceparent", &parent)]).await;
    let span = otlp.wait_for_span_named("POST /gemini", WAIT).await;
    assert_eq!(span.trace_id, trace_id);
    assert_eq!(span.parent_span_id, "00f067aa0ba902b7");
    // And it is the only one: the 5 unsampled requests were not merely late.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(otlp.spans().len(), 1, "{:#?}", otlp.spans());
    // The upstream sees a sampled traceparent for the parent-sampled request.
    let ups = upstream.wait_for_requests(6, WAIT).await;
    assert_eq!(
        ups[5].header("traceparent"),
        Some(format!("00-{trace_id}-{}-01", span.span_id).as_str())
    );
}

#[tokio::test]
async fn sampling_true_does_not_export_an_unsampled_parent() {
    let otlp = OtlpReceiver::start_grpc().await;
    let upstream = gemini_upstream().await;
    let tracing = default_recipe_sampling(&otlp, "true");
    let gw = start_gateway(&config(&tracing, "", &upstream)).await;

    let unsampled = "0af7651916cd43dd8448eb211c80319c";
    let parent = format!("00-{unsampled}-b7ad6b7169203331-00");
    send(&gw, &chat_request(false), &[("traceparent", &parent)]).await;
    let log = &gw.wait_for_request_logs(1, WAIT).await[0];
    assert_eq!(log.get("trace.id"), Some(unsampled));

    // A control request without a traceparent is exported (and is queued after the first).
    send(&gw, &chat_request(false), &[]).await;
    let control = otlp.wait_for_span_named("POST /gemini", WAIT).await;
    assert_ne!(control.trace_id, unsampled);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let spans = otlp.spans();
    assert_eq!(spans.len(), 1, "{spans:#?}");
    assert!(spans.iter().all(|s| s.trace_id != unsampled));
    // The upstream is told the caller's decision: not sampled.
    let ups = upstream.wait_for_requests(2, WAIT).await;
    let tp = ups[0].header("traceparent").expect("traceparent upstream");
    assert!(tp.starts_with(&format!("00-{unsampled}-")), "{tp}");
    assert!(tp.ends_with("-00"), "{tp}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sampling_ratio_half_exports_about_half() {
    let otlp = OtlpReceiver::start_grpc().await;
    let upstream = gemini_upstream().await;
    let tracing = default_recipe_sampling(&otlp, "0.5");
    let mut gw = start_gateway(&config(&tracing, "", &upstream)).await;

    let total = 200;
    send_concurrently(&gw, total, 8).await;
    let logs = gw.wait_for_request_logs(total, WAIT).await;
    assert_eq!(logs.len(), total);

    // SIGTERM drains the span queue before exit, so everything sampled has arrived after it.
    let status = gw.terminate(WAIT).await;
    assert!(status.success());
    let spans = otlp.spans();
    assert!(
        (60..=140).contains(&spans.len()),
        "randomSampling: 0.5 over {total} requests exported {} spans",
        spans.len()
    );
    let logged: std::collections::HashSet<&str> =
        logs.iter().filter_map(|l| l.get("trace.id")).collect();
    assert_eq!(logged.len(), total, "distinct trace ids");
    for span in &spans {
        assert!(logged.contains(span.trace_id.as_str()));
    }
}
