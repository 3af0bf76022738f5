//! `llm.cost` in the log line (text and JSON), on the span (with and without a recipe), as a
//! CEL variable and in `/metrics`.

use std::sync::Arc;
use std::time::SystemTime;

use crate::export::TelemetryStats;
use crate::facts::{sample_record, LlmFacts, RequestRecord};
use crate::fields::Fields;
use crate::metrics::Metrics;
use crate::record::{base_attributes, significant_digits};
use crate::{logline, AttrValue, FieldRules, LogFormat, Telemetry};

/// gpt-4o-mini, 150 input and 100 output tokens: 150 × 0.15 + 100 × 0.60 = 82.5 µUSD.
fn priced(cost: Option<f64>) -> RequestRecord {
    RequestRecord {
        llm: Some(LlmFacts {
            provider: "openai".into(),
            request_model: "gpt-4o-mini".into(),
            response_model: Some("gpt-4o-mini-2024-07-18".into()),
            input_tokens: Some(150),
            output_tokens: Some(100),
            cost,
            ..LlmFacts::default()
        }),
        key: "team-a".into(),
        team: "platform".into(),
        ..sample_record()
    }
}

fn text_line(rec: &RequestRecord) -> String {
    let mut attrs = Vec::new();
    base_attributes("sluice", rec, &mut attrs);
    let mut out = Vec::new();
    logline::format_text(&attrs, &mut out);
    String::from_utf8(out).unwrap()
}

fn telemetry() -> Telemetry {
    let stats = Arc::new(TelemetryStats::default());
    Telemetry::new(
        "sluice".into(),
        LogFormat::Text,
        FieldRules::default(),
        None,
        stats.clone(),
        Arc::new(Metrics::new(stats)),
    )
}

fn span_cost(rec: &RequestRecord, fields: &[(&str, &str)]) -> Option<AttrValue<'static>> {
    let t = telemetry();
    let add: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let rules = FieldRules {
        fields: Fields::compile(&add).unwrap(),
        remove: Vec::new(),
    };
    let mut attrs = Vec::new();
    base_attributes("sluice", rec, &mut attrs);
    let span = t.span(rec, attrs, &rules);
    span.attributes
        .iter()
        .find(|(k, _)| k == "llm.cost")
        .map(|(_, v)| v.clone().into_owned())
}

#[test]
fn the_text_line_ends_with_the_cost_after_the_seed_keys() {
    let mut rec = priced(Some(0.0000825));
    rec.error = Some("client disconnected".into());
    rec.llm.as_mut().unwrap().usage_estimated = true;
    let line = text_line(&rec);
    assert!(
        line.ends_with(
            " llm.response.tokens=100 duration=1500ms llm.usage.estimated=true \
             key.id=team-a key.team=platform error=\"client disconnected\" llm.cost=0.0000825\n"
        ),
        "{line}"
    );
}

#[test]
fn an_unpriced_request_has_no_cost_key() {
    let line = text_line(&priced(None));
    assert!(
        line.ends_with(" duration=1500ms key.id=team-a key.team=platform\n"),
        "{line}"
    );
    assert!(!line.contains("llm.cost"), "{line}");
}

#[test]
fn the_cost_is_plain_decimal_with_at_most_ten_significant_digits() {
    // 0.1 + 0.2 is 0.30000000000000004 as a double.
    let cases = [
        (0.1 + 0.2, "0.3"),
        (1.0 / 3.0, "0.3333333333"),
        (2.0 / 3.0 * 1e-7, "0.00000006666666667"),
        (12.5, "12.5"),
        (0.0, "0"),
    ];
    for (cost, text) in cases {
        let line = text_line(&priced(Some(cost)));
        assert!(
            line.ends_with(&format!(" llm.cost={text}\n")),
            "{cost}: {line}"
        );
    }
    assert_eq!(significant_digits(123456789012.0, 10), 123456789000.0);
}

#[test]
fn the_json_line_has_the_cost_as_a_number() {
    let rec = priced(Some(0.0000825));
    let mut attrs = Vec::new();
    base_attributes("sluice", &rec, &mut attrs);
    let mut out = Vec::new();
    logline::format_json(SystemTime::UNIX_EPOCH, &attrs, &mut out);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["llm.cost"], serde_json::json!(0.0000825));
    assert!(v["llm.cost"].is_f64());
}

#[test]
fn the_span_carries_the_cost_as_a_double_with_and_without_a_recipe() {
    let rec = priced(Some(0.0000825));
    assert_eq!(span_cost(&rec, &[]), Some(AttrValue::Float(0.0000825)));
    let recipe = [("gen_ai.system", "llm.provider")];
    assert_eq!(span_cost(&rec, &recipe), Some(AttrValue::Float(0.0000825)));
    assert_eq!(span_cost(&priced(None), &recipe), None);
}

#[test]
fn cel_sees_the_cost_as_a_double_and_nothing_without_a_price() {
    let add = vec![
        ("c".to_string(), "llm.cost".to_string()),
        ("doubled".to_string(), "llm.cost * 2.0".to_string()),
        ("has".to_string(), "has(llm.cost)".to_string()),
    ];
    let fields = Fields::compile(&add).unwrap();
    let mut out = Vec::new();
    let rec = priced(Some(0.25));
    let failed = fields.evaluate(&rec, &mut out);
    assert_eq!(failed, 0, "{out:?}");
    let get = |out: &[crate::Attr<'_>], k: &str| {
        out.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone().into_owned())
    };
    assert_eq!(get(&out, "c"), Some(AttrValue::Float(0.25)));
    assert_eq!(get(&out, "doubled"), Some(AttrValue::Float(0.5)));
    assert_eq!(get(&out, "has"), Some(AttrValue::Bool(true)));

    let rec = priced(None);
    let mut out = Vec::new();
    fields.evaluate(&rec, &mut out);
    assert_eq!(get(&out, "c"), None);
    assert_eq!(get(&out, "has"), Some(AttrValue::Bool(false)));
}

#[test]
fn metrics_add_the_cost_by_key_and_count_unpriced_models() {
    let m = Metrics::new(Arc::new(TelemetryStats::default()));
    m.record(&priced(Some(0.25)));
    m.record(&priced(Some(0.5)));
    let mut unpriced = priced(None);
    unpriced.llm.as_mut().unwrap().request_model = "my-model".into();
    m.record(&unpriced);
    // A failed call with no usage is not a pricing gap.
    let mut failed = priced(None);
    failed.llm.as_mut().unwrap().input_tokens = None;
    failed.llm.as_mut().unwrap().output_tokens = None;
    m.record(&failed);
    let text = m.encode(0);
    assert!(
        text.contains(
            "sluice_cost_usd_total{route=\"chat\",gen_ai_provider_name=\"openai\",\
             gen_ai_request_model=\"gpt-4o-mini\",key=\"team-a\",team=\"platform\"} 0.75\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "sluice_unpriced_requests_total{gen_ai_provider_name=\"openai\",\
             gen_ai_request_model=\"my-model\"} 1\n"
        ),
        "{text}"
    );
    assert!(
        !text.contains("sluice_unpriced_requests_total{gen_ai_provider_name=\"openai\",gen_ai_request_model=\"gpt-4o-mini\"}"),
        "{text}"
    );
}
