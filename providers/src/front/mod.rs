//! The front doors: the APIs clients speak to sluice. Each has a module with its whole face:
//! its request view (the few facts read before choosing an upstream), its native pass-through
//! (for providers that speak it), and its answer, stream and error shapes for answers that
//! come back through the hub. Adding a front door is a module here, a variant of [`Front`] and
//! a row in [`crate::plan::Plan::choose`].

pub mod chat;
pub mod count;
pub mod gemini;
pub mod messages;
mod read;
pub mod responses;
pub mod tools;

use crate::{ClientRequest, Completion, StreamTranslator, TranslateError};

/// A client API family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Front {
    /// OpenAI Chat Completions (`.../chat/completions`, and the bare route prefix).
    Chat,
    /// Anthropic Messages (`.../messages`).
    Messages,
    /// OpenAI Responses (`.../responses`).
    Responses,
    /// Gemini (`.../models/{model}:generateContent`, `:streamGenerateContent`).
    Gemini,
}

impl Front {
    /// The API a path speaks, for the shape of errors made before a route is known: the
    /// Messages API for `.../messages...`, the Responses API for `.../responses...`, Gemini's
    /// for `.../models/{model}:{method}`, else chat completions.
    pub fn for_error_path(path: &str) -> Front {
        let p = path.trim_end_matches('/');
        if p.ends_with("/messages") || p.ends_with("/messages/count_tokens") {
            Front::Messages
        } else if p.ends_with("/responses") || p.contains("/responses/") {
            Front::Responses
        } else if gemini::call::is_gemini_path(p).is_some() {
            Front::Gemini
        } else {
            Front::Chat
        }
    }

    /// A short name, e.g. for log messages.
    pub fn name(self) -> &'static str {
        match self {
            Front::Chat => "chat completions",
            Front::Messages => "messages",
            Front::Responses => "responses",
            Front::Gemini => "gemini generateContent",
        }
    }

    /// The client's headers of this API family that reach a provider speaking it natively.
    pub fn forwarded_headers(self) -> &'static [&'static str] {
        match self {
            Front::Chat | Front::Gemini => &[],
            Front::Messages => messages::FORWARDED_HEADERS,
            Front::Responses => responses::FORWARDED_HEADERS,
        }
    }

    /// An error the gateway makes itself, as a body of this API.
    pub fn error_body(self, status: u16, message: &str) -> Vec<u8> {
        match self {
            // The Responses API's errors have chat completions' shape.
            Front::Chat | Front::Responses => chat::error_body(status, message),
            Front::Messages => messages::error_body(status, message),
            Front::Gemini => gemini::error_body(status, message),
        }
    }

    /// A refusal because a budget is spent (status 429) in this API's shape, coded
    /// `budget_exceeded`: in OpenAI's and the Responses API's `error.code` (with the `type`
    /// OpenAI gives a spent quota, `insufficient_quota`), as Anthropic's `error.type`, and as
    /// the `reason` of a Gemini error's `google.rpc.ErrorInfo` detail.
    pub fn budget_error_body(self, message: &str) -> Vec<u8> {
        const CODE: &str = "budget_exceeded";
        match self {
            Front::Chat | Front::Responses => {
                crate::error::openai_error_body(message, "insufficient_quota", Some(CODE))
            }
            Front::Messages => messages::error_of_type(CODE, message),
            Front::Gemini => serde_json::json!({"error": {
                "code": 429,
                "message": message,
                "status": gemini::error_status(429),
                "details": [{
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": CODE,
                    "domain": "sluice",
                }],
            }})
            .to_string()
            .into_bytes(),
        }
    }

    /// An error inside a stream already under way, as this API's stream event(s) ending it
    /// (for Gemini's JSON-array stream, the array's last element and its end; `begun` says
    /// whether the array's first element went out already).
    pub fn stream_error_event(
        self,
        status: u16,
        message: &str,
        req: &ClientRequest,
        begun: bool,
    ) -> Vec<u8> {
        let body = self.error_body(status, message);
        let mut out = Vec::with_capacity(body.len() + 32);
        match self {
            Front::Responses => return responses::stream_error_event(status, message),
            Front::Gemini if !req.gemini_sse() => {
                let opening: &[u8] = if begun { b",\r\n" } else { b"[" };
                out.extend_from_slice(opening);
                out.extend_from_slice(&body);
                out.extend_from_slice(b"]");
            }
            Front::Gemini => {
                out.extend_from_slice(b"data: ");
                out.extend_from_slice(&body);
                out.extend_from_slice(b"\r\n\r\n");
            }
            Front::Chat => {
                out.extend_from_slice(b"data: ");
                out.extend_from_slice(&body);
                out.extend_from_slice(b"\n\ndata: [DONE]\n\n");
            }
            Front::Messages => {
                out.extend_from_slice(b"event: error\ndata: ");
                out.extend_from_slice(&body);
                out.extend_from_slice(b"\n\n");
            }
        }
        out
    }

    /// A hub (OpenAI chat.completion) answer as this API's answer; facts unchanged.
    pub fn from_hub_response(
        self,
        mut c: Completion,
        req: &ClientRequest,
    ) -> Result<Completion, TranslateError> {
        c.body = match self {
            Front::Chat => return Ok(c),
            Front::Messages => messages::response_from_openai(&c.body)?,
            Front::Responses => {
                let echo = responses::Echo::read(&req.body)?;
                responses::response_from_hub(&c.body, &echo)?
            }
            Front::Gemini => gemini::response_from_hub(&c.body, &req.model)?,
        };
        Ok(c)
    }

    /// A hub (OpenAI chunk) stream translator followed by this API's stream shape.
    pub fn from_hub_stream(
        self,
        inner: Box<dyn StreamTranslator>,
        model: &str,
        req: &ClientRequest,
    ) -> Result<Box<dyn StreamTranslator>, TranslateError> {
        Ok(match self {
            Front::Chat => inner,
            Front::Messages => Box::new(messages::FromHubStream::new(inner, model)),
            Front::Responses => {
                let echo = responses::Echo::read(&req.body)?;
                Box::new(responses::FromHubStream::new(inner, echo))
            }
            Front::Gemini => Box::new(gemini::FromHubStream::new(inner, model, req.gemini_sse())),
        })
    }

    /// A hub (OpenAI-shaped) error body as this API's error body.
    pub fn from_hub_error(self, status: u16, body: Vec<u8>) -> Vec<u8> {
        match self {
            Front::Chat => body,
            Front::Messages => messages::error_from_openai(status, &body),
            Front::Responses => responses::error_from_hub(status, &body),
            Front::Gemini => gemini::error_from_hub(status, &body),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::gemini::GeminiCall;

    #[test]
    fn a_broken_gemini_array_stream_still_ends_as_one_array() {
        let call = GeminiCall::parse("/v1beta/models/m:streamGenerateContent", None).unwrap();
        let req = ClientRequest::read_gemini(br#"{"contents":[]}"#.to_vec(), call).unwrap();
        let alone = Front::Gemini.stream_error_event(502, "broke", &req, false);
        let v: serde_json::Value = serde_json::from_slice(&alone).unwrap();
        assert_eq!(v[0]["error"]["message"], "broke");
        let mut after = br#"[{"candidates":[]}"#.to_vec();
        after.extend(Front::Gemini.stream_error_event(502, "broke", &req, true));
        let v: serde_json::Value = serde_json::from_slice(&after).unwrap();
        assert_eq!(v[1]["error"]["code"], 502);
    }
}
