//! Streams that fail: upstream errors, cut streams and unreadable provider streams.

use serde_json::json;
use sluice_providers::front::responses::{Echo, FromHubStream};
use sluice_providers::{StreamFacts, StreamTranslator, TranslateError};

use crate::support::{events, hub_chunk, run_stream, types};

#[test]
fn an_upstream_error_fails_the_response() {
    let echo = Echo::read(br#"{"model":"m","input":"x"}"#).unwrap();
    let input = format!(
        "{}{}data: {{\"error\":{{\"message\":\"Overloaded\",\"type\":\"api_error\",\"code\":\"overloaded_error\"}}}}\n\ndata: [DONE]\n\n",
        hub_chunk(json!({"role": "assistant"}), None),
        hub_chunk(json!({"content": "Sure, here is"}), None),
    );
    let (out, _) = run_stream(input.as_bytes(), &echo, &[]);
    let got = events(&out);
    assert_eq!(
        types(&got)[2..],
        [
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.failed",
        ]
    );
    let failed = &got.last().unwrap()["response"];
    assert_eq!(failed["status"], "failed");
    assert_eq!(
        failed["error"],
        json!({"code": "server_error", "message": "Overloaded"})
    );
    assert_eq!(failed["output"][0]["status"], "incomplete");
}

#[test]
fn a_stream_cut_before_its_finish_reason_fails() {
    let echo = Echo::read(br#"{"model":"m","input":"x"}"#).unwrap();
    for ending in ["data: [DONE]\n\n", ""] {
        let input = format!(
            "{}{}",
            hub_chunk(
                json!({"tool_calls": [{"index": 0, "id": "c", "function": {"name": "f", "arguments": "{\"a\""}}]}),
                None
            ),
            ending
        );
        let (out, _) = run_stream(input.as_bytes(), &echo, &[]);
        let got = events(&out);
        assert_eq!(
            got.iter()
                .filter(|e| e["type"] == "response.failed")
                .count(),
            1,
            "{got:#?}"
        );
        let failed = &got.last().unwrap()["response"];
        assert_eq!(failed["error"]["code"], "server_error");
        assert!(
            failed["error"]["message"]
                .as_str()
                .unwrap()
                .contains("ended before"),
            "{failed}"
        );
        assert_eq!(failed["output"][0]["arguments"], "{\"a\"");
    }
    let (out, _) = run_stream(b"", &echo, &[]);
    assert_eq!(
        types(&events(&out)),
        [
            "response.created",
            "response.in_progress",
            "response.failed"
        ],
        "an empty upstream stream still ends the client's"
    );
}

/// A provider stream translator that writes one hub chunk, then cannot read the rest.
struct BreaksAfterOneChunk(StreamFacts);

impl StreamTranslator for BreaksAfterOneChunk {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), TranslateError> {
        if chunk == b"bad" {
            return Err(TranslateError::InvalidResponse(
                "unexpected event".to_string(),
            ));
        }
        out.extend_from_slice(hub_chunk(json!({"content": "Hi"}), None).as_bytes());
        Ok(())
    }

    fn finish(&mut self, _out: &mut Vec<u8>) -> Result<(), TranslateError> {
        Ok(())
    }

    fn facts(&self) -> &StreamFacts {
        &self.0
    }
}

#[test]
fn a_provider_stream_that_cannot_be_read_fails_the_response_once() {
    let echo = Echo::read(br#"{"model":"m","input":"x"}"#).unwrap();
    let mut stream =
        FromHubStream::new(Box::new(BreaksAfterOneChunk(StreamFacts::default())), echo);
    let mut out = Vec::new();
    stream.feed(b"ok", &mut out).unwrap();
    let err = stream.feed(b"bad", &mut out).unwrap_err();
    assert!(
        matches!(err, TranslateError::InvalidResponse(_)),
        "the gateway still learns of it"
    );
    stream.feed(b"ok", &mut out).unwrap();
    stream.finish(&mut out).unwrap();
    let got = events(&out);
    assert_eq!(
        got.iter()
            .filter(|e| e["type"] == "response.failed")
            .count(),
        1
    );
    let failed = &got.last().unwrap()["response"];
    assert!(
        failed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unexpected event"),
        "{failed}"
    );
    assert_eq!(failed["output"][0]["content"][0]["text"], "Hi");
}
