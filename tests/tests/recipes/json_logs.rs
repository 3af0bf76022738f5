//! JSON logs: typed values and the text line's keys.

use serde_json::{json, Value};
use sluice_tests::OtlpReceiver;

use crate::recipe_texts::{RECIPE_DEFAULT, RECIPE_DEFAULT_ENDPOINT};
use crate::support::{
    chat_request, config, gemini_upstream, recipe_with_endpoint, send, start_gateway,
    COMPLETION_TOKENS, PROMPT_TOKENS, REQUEST_MODEL, RESPONSE_MODEL, WAIT,
};

#[tokio::test]
async fn json_logs_have_typed_values_and_the_text_lines_keys() {
    let otlp = OtlpReceiver::start_grpc().await;
    let upstream = gemini_upstream().await;
    let tracing = recipe_with_endpoint(RECIPE_DEFAULT, RECIPE_DEFAULT_ENDPOINT, &otlp.endpoint());
    let indent: String = tracing.chars().take_while(|c| *c == ' ').collect();
    let logging = format!("{indent}logging: {{format: json}}\n");
    let json_gw = start_gateway(&config(&tracing, &logging, &upstream)).await;
    let text_gw = start_gateway(&config(&tracing, "", &upstream)).await;

    for _ in 0..3 {
        send(&json_gw, &chat_request(false), &[]).await;
    }
    send(&text_gw, &chat_request(false), &[]).await;
    let text = &text_gw.wait_for_request_logs(1, WAIT).await[0];

    let lines = json_gw
        .wait_for_log_lines(|l| l.contains("\"request\""), 3, WAIT)
        .await;
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        json_gw.request_logs().is_empty(),
        "no text request lines with format json"
    );
    for line in &lines {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line}"));
        let obj = v.as_object().expect("a JSON object");
        let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        let mut want = vec!["time", "level", "msg"];
        want.extend(text.keys());
        assert_eq!(keys, want, "JSON keys vs the text line's keys");

        let time = obj["time"].as_str().expect("time is a string");
        assert!(
            time.len() >= 20 && time.ends_with('Z') && time.contains('T'),
            "{time}"
        );
        assert_eq!(obj["level"], json!("info"));
        assert_eq!(obj["msg"], json!("request"));
        assert_eq!(obj["http.status"], json!(200));
        assert!(obj["http.status"].is_u64());
        assert_eq!(obj["llm.request.tokens"], json!(PROMPT_TOKENS));
        assert_eq!(obj["llm.response.tokens"], json!(COMPLETION_TOKENS));
        assert_eq!(obj["llm.provider"], json!("gemini"));
        assert_eq!(obj["llm.request.model"], json!(REQUEST_MODEL));
        assert_eq!(obj["llm.response.model"], json!(RESPONSE_MODEL));
        assert_eq!(obj["gateway"], json!("sluice"));
        assert_eq!(obj["http.path"], json!("/gemini"));
        // Every other value is the text line's (where it does not vary per request).
        for (k, tv) in &text.fields {
            match k.as_str() {
                "src.addr" | "trace.id" | "span.id" | "duration" => {
                    assert!(obj[k.as_str()].is_string(), "{k}")
                }
                "http.status" | "llm.request.tokens" | "llm.response.tokens" => {
                    assert_eq!(obj[k.as_str()].to_string(), *tv, "{k}")
                }
                _ => assert_eq!(obj[k.as_str()], json!(tv), "{k}"),
            }
        }
        let trace_id = obj["trace.id"].as_str().unwrap();
        assert_eq!(trace_id.len(), 32);
    }
    // Each JSON line's trace id is an exported span's.
    let spans = otlp.wait_for_spans(4, WAIT).await;
    for line in &lines {
        let v: Value = serde_json::from_str(line).unwrap();
        let id = v["trace.id"].as_str().unwrap();
        assert!(spans.iter().any(|s| s.trace_id == id), "{id}");
    }
}
