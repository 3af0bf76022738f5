//! Gemini requests passed natively to the providers that speak the Gemini API: the Gemini API
//! itself and Gemini models on Vertex AI. The body is not read at all (the model is in the
//! URL): it reaches the provider byte for byte, with its thought signatures, `cachedContent`,
//! safety settings and `thinkingConfig`. The only edits:
//!
//! - the URL: the model called (the path's, or the backend's pinned or the route's alias) on
//!   the provider's path: `/{version}/models/{model}:{method}` on the Gemini API, with the
//!   backend's `apiVersion` when it pins one (as a pinned model wins over the client's), else
//!   the version the client called (`v1`, `v1beta`), and `/v1/projects/{p}/locations/{l}/publishers/google/models/{model}:{method}` on
//!   Vertex AI; the client's query (its `?key=`) is not passed on;
//! - streams are always asked for as server-sent events (`?alt=sse`); a client that called
//!   `streamGenerateContent` without `alt=sse` gets the same responses framed as the JSON
//!   array Google sends then ([`super::framing`]).
//!
//! Answers, streams and Google-shaped errors reach the client as the provider sent them;
//! telemetry reads its facts from them with the Gemini provider's own reader.

use crate::sse::SseParser;
use crate::{
    gemini, vertex, Completion, RequestTarget, ResponseTarget, StreamFacts, StreamTranslator,
    TranslateError, UpstreamRequest,
};

use super::call::{GeminiCall, Method};
use super::framing::ArrayFraming;

/// The Gemini API version used when neither the client's path nor the backend names one.
const DEFAULT_API_VERSION: &str = "v1beta";

/// Where a Gemini model is served with the Gemini API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeminiSite {
    Gemini,
    Vertex,
}

impl GeminiSite {
    /// The upstream request: the client's body as it came, on this site's path.
    pub fn request(
        self,
        body: &[u8],
        call: &GeminiCall,
        target: &RequestTarget<'_>,
    ) -> Result<UpstreamRequest, TranslateError> {
        let method = match call.method {
            Method::Generate => "generateContent",
            Method::Stream => "streamGenerateContent?alt=sse",
            Method::CountTokens => "countTokens",
        };
        let model = gemini::model_id(target.model)?;
        let path = match self {
            GeminiSite::Gemini => {
                let version = target
                    .api_version
                    .filter(|v| !v.is_empty())
                    .or(call.api_version.as_deref())
                    .unwrap_or(DEFAULT_API_VERSION);
                format!("/{version}/models/{model}:{method}")
            }
            GeminiSite::Vertex => format!("{}:{method}", vertex::gemini_model_path(target)?),
        };
        Ok(UpstreamRequest::new(path, body.to_vec()))
    }

    /// A whole answer: as it came, with its facts.
    pub fn response(
        self,
        body: Vec<u8>,
        target: &ResponseTarget<'_>,
    ) -> Result<Completion, TranslateError> {
        gemini::native_facts(body, target)
    }

    /// A stream relayed as it comes (or framed as a JSON array), its facts gathered.
    pub fn stream(self, target: &ResponseTarget<'_>, sse: bool) -> Box<dyn StreamTranslator> {
        Box::new(Passthrough {
            reader: gemini::GeminiStream::facts_reader(target),
            array: (!sse).then(|| (SseParser::default(), ArrayFraming::default())),
        })
    }

    /// An upstream error: Google-shaped errors pass as they are; anything else is put in
    /// Google's shape.
    pub fn error(self, status: u16, body: &[u8]) -> Vec<u8> {
        let google = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .is_some_and(|v| match &v {
                serde_json::Value::Array(items) => {
                    items.first().is_some_and(|i| i.get("error").is_some())
                }
                _ => v.get("error").is_some_and(serde_json::Value::is_object),
            });
        if google {
            return body.to_vec();
        }
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        let message = if text.is_empty() {
            format!("upstream returned status {status}")
        } else {
            text.chars().take(1000).collect()
        };
        super::error_body(status, &message)
    }
}

/// Relays a Gemini SSE stream byte for byte (or, for a client that asked for the JSON-array
/// form, its events as array elements), reading its facts with the Gemini stream reader.
struct Passthrough {
    /// Reads the facts only (it writes nothing).
    reader: gemini::GeminiStream,
    array: Option<(SseParser, ArrayFraming)>,
}

impl Passthrough {
    fn relay(&mut self, chunk: Option<&[u8]>, out: &mut Vec<u8>) -> Result<(), TranslateError> {
        let mut nothing = Vec::new();
        match chunk {
            Some(c) => self.reader.feed(c, &mut nothing)?,
            None => self.reader.finish(&mut nothing)?,
        }
        let Some((parser, framing)) = self.array.as_mut() else {
            if let Some(c) = chunk {
                out.extend_from_slice(c);
            }
            return Ok(());
        };
        let mut element = |event: crate::sse::SseEvent| {
            framing.element(event.data.as_bytes(), out);
            Ok(())
        };
        match chunk {
            Some(c) => parser.feed(c, &mut element),
            None => {
                parser.finish(&mut element)?;
                framing.end(out);
                Ok(())
            }
        }
    }
}

impl StreamTranslator for Passthrough {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), TranslateError> {
        self.relay(Some(chunk), out)
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), TranslateError> {
        self.relay(None, out)
    }

    fn facts(&self) -> &StreamFacts {
        self.reader.facts()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VertexSite;
    use serde_json::Value;

    fn call(path: &str, query: Option<&str>) -> GeminiCall {
        GeminiCall::parse(path, query).unwrap()
    }

    #[test]
    fn the_body_passes_untouched_on_each_sites_path() {
        let body = br#"{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"cachedContent":"cachedContents/abc","safetySettings":[{"category":"HARM_CATEGORY_HATE_SPEECH","threshold":"BLOCK_NONE"}],"generationConfig":{"thinkingConfig":{"thinkingBudget":128,"includeThoughts":true}}}"#;
        let target = RequestTarget {
            model: "gemini-2.5-flash",
            api_version: Some("v1beta"),
            ..RequestTarget::default()
        };
        let c = call("/v1/models/gemini-2.5-flash:streamGenerateContent", None);
        let up = GeminiSite::Gemini.request(body, &c, &target).unwrap();
        assert_eq!(up.body, body.to_vec());
        assert_eq!(
            up.path, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            "the backend's apiVersion wins"
        );
        let unpinned = RequestTarget {
            api_version: None,
            ..target.clone()
        };
        let up = GeminiSite::Gemini.request(body, &c, &unpinned).unwrap();
        assert_eq!(
            up.path,
            "/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
        );
        let c = call("/models/x:countTokens", Some("key=secret"));
        let up = GeminiSite::Gemini.request(body, &c, &target).unwrap();
        assert_eq!(up.path, "/v1beta/models/gemini-2.5-flash:countTokens");
        let vertex = RequestTarget {
            vertex: Some(VertexSite {
                project: "p",
                location: "us-central1",
            }),
            ..target.clone()
        };
        let c = call("/v1beta/models/x:generateContent", None);
        let up = GeminiSite::Vertex.request(body, &c, &vertex).unwrap();
        assert_eq!(
            up.path,
            "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent"
        );
        assert_eq!(up.body, body.to_vec());
        let bad = RequestTarget {
            model: "../x?y",
            ..target
        };
        assert!(GeminiSite::Gemini.request(body, &c, &bad).is_err());
    }

    const EVENTS: &str = concat!(
        "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hel\"}]}}],\"modelVersion\":\"gemini-2.5-flash\"}\r\n\r\n",
        "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"lo\"}]},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":2,\"totalTokenCount\":6,\"cachedContentTokenCount\":1},\"modelVersion\":\"gemini-2.5-flash\"}\r\n\r\n",
    );

    fn run(sse: bool, split: usize) -> (Vec<u8>, StreamFacts) {
        let target = ResponseTarget {
            model: "gemini-2.5-flash",
            created: 1,
            include_usage: true,
        };
        let mut s = GeminiSite::Gemini.stream(&target, sse);
        let mut out = Vec::new();
        for piece in EVENTS.as_bytes().chunks(split) {
            s.feed(piece, &mut out).unwrap();
        }
        s.finish(&mut out).unwrap();
        (out, s.facts().clone())
    }

    #[test]
    fn streams_pass_byte_for_byte_or_as_a_json_array_with_their_facts() {
        for split in [1, 7, 64, EVENTS.len()] {
            let (out, facts) = run(true, split);
            assert_eq!(out, EVENTS.as_bytes());
            assert_eq!(facts.texts, ["Hello"]);
            assert_eq!(facts.usage.input_tokens, Some(4));
            assert_eq!(facts.usage.output_tokens, Some(2));
            assert_eq!(facts.usage.cached_input_tokens, Some(1));
            let (out, facts) = run(false, split);
            let array: Vec<Value> = serde_json::from_slice(&out).unwrap();
            assert_eq!(array.len(), 2);
            assert_eq!(array[1]["usageMetadata"]["totalTokenCount"], 6);
            assert_eq!(facts.usage.total_tokens, Some(6));
        }
    }

    #[test]
    fn the_facts_reader_writes_nothing() {
        let target = ResponseTarget {
            model: "gemini-2.5-flash",
            created: 1,
            include_usage: true,
        };
        let mut reader = gemini::GeminiStream::facts_reader(&target);
        let mut out = Vec::new();
        reader.feed(EVENTS.as_bytes(), &mut out).unwrap();
        reader.finish(&mut out).unwrap();
        assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
        assert_eq!(reader.facts().texts, ["Hello"]);
        assert_eq!(reader.facts().usage.total_tokens, Some(6));
    }

    #[test]
    fn google_errors_pass_and_others_are_put_in_googles_shape() {
        let google =
            br#"{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}"#;
        assert_eq!(GeminiSite::Gemini.error(429, google), google.to_vec());
        let v: Value =
            serde_json::from_slice(&GeminiSite::Vertex.error(502, b"bad gateway")).unwrap();
        assert_eq!(v["error"]["code"], 502);
        assert_eq!(v["error"]["message"], "bad gateway");
    }
}
