use std::time::Duration;

use super::*;
use crate::facts::LlmFacts;

fn rec(status: u16, error: Option<&str>, llm: Option<LlmFacts>) -> RequestRecord {
    RequestRecord {
        status,
        llm,
        error: error.map(str::to_string),
        endpoint: "api.openai.com:443".into(),
        ..crate::facts::sample_record()
    }
}

fn facts(model: &str, input: u64, output: u64, stream: bool) -> LlmFacts {
    LlmFacts {
        provider: "openai".into(),
        request_model: model.into(),
        response_model: Some(format!("{model}-0613")),
        input_tokens: Some(input),
        output_tokens: Some(output),
        streaming: stream,
        time_to_first_token: stream.then(|| Duration::from_millis(500)),
        ..LlmFacts::default()
    }
}

#[test]
fn records_tokens_durations_and_counts() {
    let stats = Arc::new(TelemetryStats::default());
    stats.spans_dropped.store(3, Ordering::Relaxed);
    let m = Metrics::new(stats);
    m.record(&rec(200, None, Some(facts("gpt-4", 10, 5, false))));
    m.record(&rec(200, None, Some(facts("gpt-4", 7, 11, true))));
    m.record(&rec(
        429,
        Some("upstream returned status 429"),
        Some(facts("gpt-4", 0, 0, false)),
    ));
    m.record(&rec(
        200,
        Some("client disconnected mid-stream: WriteError"),
        None,
    ));
    m.endpoint_ejected("pool", "a:443");
    m.endpoint_ejected("pool", "a:443");
    m.set_endpoint_health([("pool", "gone:443", true)]);
    m.set_endpoint_health([("pool", "a:443", false), ("pool", "b:443", true)]);
    let text = m.encode(2);
    assert!(!text.contains("gone:443"), "{text}");
    let labels = "gen_ai_provider_name=\"openai\",gen_ai_request_model=\"gpt-4\",\
                  gen_ai_response_model=\"gpt-4-0613\",route=\"chat\"";
    for line in [
        format!("gen_ai_client_token_usage_sum{{{labels},gen_ai_token_type=\"input\"}} 17.0"),
        format!("gen_ai_client_token_usage_count{{{labels},gen_ai_token_type=\"output\"}} 3"),
        format!("gen_ai_client_operation_duration_seconds_count{{{labels}}} 2"),
        format!(
            "gen_ai_client_operation_duration_seconds_count{{{labels},error_type=\"rate_limited\"}} 1"
        ),
        format!("gen_ai_server_time_to_first_token_seconds_count{{{labels}}} 1"),
        // (1.5 s - 0.5 s) / (11 - 1)
        format!("gen_ai_server_time_per_output_token_seconds_sum{{{labels}}} 0.1"),
        "sluice_requests_total{route=\"chat\",status=\"200\",gen_ai_provider_name=\"openai\"} 2"
            .to_string(),
        "sluice_upstream_errors_total{route=\"chat\",gen_ai_provider_name=\"openai\",kind=\"rate_limited\"} 1"
            .to_string(),
        "sluice_client_disconnects_total{route=\"chat\"} 1".to_string(),
        // 1,500 ms less 1,450 ms upstream, four times.
        "sluice_gateway_overhead_seconds_count{route=\"chat\"} 4".to_string(),
        "sluice_gateway_overhead_seconds_bucket{le=\"0.025\",route=\"chat\"} 0".to_string(),
        "sluice_gateway_overhead_seconds_bucket{le=\"0.05\",route=\"chat\"} 4".to_string(),
        "sluice_otlp_spans_dropped_total 3".to_string(),
        "sluice_cel_errors_total 0".to_string(),
        "sluice_requests_in_flight 2".to_string(),
        "sluice_endpoint_ejections_total{backend=\"pool\",endpoint=\"a:443\"} 2".to_string(),
        "sluice_endpoint_healthy{backend=\"pool\",endpoint=\"a:443\"} 0".to_string(),
        "sluice_endpoint_healthy{backend=\"pool\",endpoint=\"b:443\"} 1".to_string(),
        "# TYPE gen_ai_client_token_usage histogram".to_string(),
        "gen_ai_client_token_usage_bucket{".to_string(),
    ] {
        assert!(text.contains(&line), "missing {line:?} in\n{text}");
    }
    assert!(text.ends_with("# EOF\n"));
}

#[test]
fn model_labels_are_capped() {
    let m = Metrics::new(Arc::new(TelemetryStats::default()));
    for i in 0..MAX_LABEL_SETS + 50 {
        m.record(&rec(200, None, Some(facts(&format!("m{i}"), 1, 1, false))));
    }
    let text = m.encode(0);
    let sets = |prefix: &str| text.lines().filter(|l| l.starts_with(prefix)).count();
    // 1000 label sets of real models, then one per token type for "other".
    assert_eq!(sets("gen_ai_client_token_usage_count{"), MAX_LABEL_SETS + 2);
    assert_eq!(
        sets("gen_ai_client_operation_duration_seconds_count{"),
        MAX_LABEL_SETS + 1
    );
    assert!(text.contains("gen_ai_request_model=\"other\""));
}

#[test]
fn counts_limit_decisions() {
    let m = Metrics::new(Arc::new(TelemetryStats::default()));
    let mut allowed = rec(200, None, None);
    allowed.limit = Some(crate::facts::LimitFacts {
        decision: "allowed",
        scopes: vec!["key:team-a".into(), "route:chat".into()],
    });
    m.record(&allowed);
    m.record(&allowed);
    let mut refused = rec(429, Some("rate limit exceeded"), None);
    refused.limit = Some(crate::facts::LimitFacts {
        decision: "refused",
        scopes: vec!["route:chat".into()],
    });
    m.record(&refused);
    let mut spent = rec(429, Some("budget exceeded: key:team-a"), None);
    spent.limit = Some(crate::facts::LimitFacts {
        decision: "budget_exceeded",
        scopes: vec!["key:team-a".into()],
    });
    m.record(&spent);
    assert_eq!(upstream_error_kind(&spent), Outcome::Failed);
    assert_eq!(
        error_type(&spent, upstream_error_kind(&spent)).as_deref(),
        Some("429")
    );
    m.record(&rec(200, None, None));
    m.limit_store_error();
    let text = m.encode(0);
    for line in [
        "sluice_limit_decisions_total{scope=\"key:team-a\",decision=\"allowed\"} 2",
        "sluice_limit_decisions_total{scope=\"route:chat\",decision=\"allowed\"} 2",
        "sluice_limit_decisions_total{scope=\"route:chat\",decision=\"refused\"} 1",
        "sluice_limit_decisions_total{scope=\"key:team-a\",decision=\"budget_exceeded\"} 1",
        "sluice_limit_store_errors_total 1",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    // A refusal of sluice's own (a limit or a budget) is not an upstream error.
    assert!(!text.contains("kind=\"rate_limited\""), "{text}");
    assert!(!text.contains("error_type=\"rate_limited\""), "{text}");
}

#[test]
fn classifies_failures() {
    let kind = |status, err: Option<&str>| upstream_error_kind(&rec(status, err, None));
    assert_eq!(kind(200, None), Outcome::Ok);
    assert_eq!(kind(404, Some("no route")), Outcome::Failed);
    assert_eq!(
        kind(503, Some("upstream returned status 503")),
        Outcome::Upstream("upstream_5xx")
    );
    assert_eq!(
        kind(502, Some("connect refused")),
        Outcome::Upstream("connect")
    );
    assert_eq!(kind(504, Some("timed out")), Outcome::Upstream("timeout"));
    assert_eq!(
        kind(200, Some("client gone: WriteError")),
        Outcome::ClientDisconnected
    );
}
