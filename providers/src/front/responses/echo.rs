//! The `response` object of a translated answer: what it echoes of the client's request
//! ([`Echo`]), its ids, status and usage. Shared by the whole answer ([`super::from_hub`]) and
//! the stream's `response.*` events ([`super::stream`]).
//!
//! - Echoed as sent (or the API's default when absent): `instructions`, `tools`,
//!   `tool_choice` (`"auto"`), `parallel_tool_calls` (`true`), `temperature`, `top_p`,
//!   `max_output_tokens`, `text` (`{"format":{"type":"text"}}`), `reasoning`
//!   (`{"effort":null,"summary":null}`), `metadata` (`{}`), `truncation` (`"disabled"`),
//!   `user`, `safety_identifier`, `prompt_cache_key`.
//! - Always: `store: false` (nothing is stored when translated, whatever was asked),
//!   `previous_response_id: null`, `background: false`.
//! - Usage: `input_tokens` is the hub's `prompt_tokens`, which counts cached tokens, as the
//!   Responses API's does; `input_tokens_details.cached_tokens` the cache reads; the cache
//!   writes, which the Responses API has no field for, go in
//!   `input_tokens_details.cache_write_tokens` (the hub's own name) when the provider reports
//!   them; `output_tokens_details.reasoning_tokens` the thinking tokens (0 when unreported).
//! - Ids: `resp_`, and for items `rs_`, `msg_`, `fc_` followed by the hub answer's id (its
//!   `chatcmpl-` or `msg_` prefix left out) and the item's output index.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Value};

use crate::openai::ChatUsage;
use crate::TranslateError;

/// What a translated `response` object echoes of the client's request, and what the answer's
/// shape depends on. Read once per request by [`Echo::read`]; JSON values are kept as the
/// client wrote them, unparsed.
#[derive(Clone, Debug, Default)]
pub struct Echo {
    /// The model the client asked for (the answer names the provider's when it gives one).
    pub model: String,
    pub instructions: Option<Box<RawValue>>,
    pub tools: Option<Box<RawValue>>,
    pub tool_choice: Option<Box<RawValue>>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub max_output_tokens: Option<u64>,
    pub parallel_tool_calls: Option<bool>,
    pub text: Option<Box<RawValue>>,
    pub reasoning: Option<Box<RawValue>>,
    pub metadata: Option<Box<RawValue>>,
    pub truncation: Option<String>,
    pub user: Option<String>,
    pub safety_identifier: Option<String>,
    pub prompt_cache_key: Option<String>,
    /// Whether `include` has `reasoning.encrypted_content`: reasoning items then carry the
    /// thinking blocks (see the `thinking` module).
    pub encrypted_reasoning: bool,
    /// Which hub functions stand for custom or namespaced tools.
    pub tool_map: super::ToolMap,
}

/// The part of the request [`Echo`] reads; every other field is skipped unparsed.
#[derive(Deserialize)]
struct EchoView<'a> {
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(default)]
    instructions: Option<Box<RawValue>>,
    #[serde(default)]
    tools: Option<Box<RawValue>>,
    #[serde(default)]
    tool_choice: Option<Box<RawValue>>,
    #[serde(default)]
    temperature: Option<f64>,
    #[serde(default)]
    top_p: Option<f64>,
    #[serde(default)]
    max_output_tokens: Option<u64>,
    #[serde(default)]
    parallel_tool_calls: Option<bool>,
    #[serde(default)]
    text: Option<Box<RawValue>>,
    #[serde(default)]
    reasoning: Option<Box<RawValue>>,
    #[serde(default)]
    metadata: Option<Box<RawValue>>,
    #[serde(default, borrow)]
    truncation: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    user: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    safety_identifier: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    prompt_cache_key: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    include: Option<Vec<Cow<'a, str>>>,
}

impl Echo {
    /// Reads what the answer echoes from the client's request body; the error names what is
    /// wrong, for a 400.
    pub fn read(body: &[u8]) -> Result<Echo, TranslateError> {
        let v: EchoView<'_> =
            crate::json::from_body(body).map_err(TranslateError::InvalidRequest)?;
        let own = |s: Option<Cow<'_, str>>| s.map(Cow::into_owned);
        // Only custom and namespaced tools make a map; plain functions need none.
        let tool_map = match &v.tools {
            Some(raw)
                if raw.get().contains("\"custom\"") || raw.get().contains("\"namespace\"") =>
            {
                serde_json::from_str::<serde_json::Value>(raw.get())
                    .map(|t| super::ToolMap::read(&t))
                    .unwrap_or_default()
            }
            _ => super::ToolMap::default(),
        };
        Ok(Echo {
            tool_map,
            model: own(v.model).unwrap_or_default(),
            instructions: v.instructions.map(one_line),
            tools: v.tools.map(one_line),
            tool_choice: v.tool_choice.map(one_line),
            temperature: v.temperature,
            top_p: v.top_p,
            max_output_tokens: v.max_output_tokens,
            parallel_tool_calls: v.parallel_tool_calls,
            text: v.text.map(one_line),
            reasoning: v.reasoning.map(one_line),
            metadata: v.metadata.map(one_line),
            truncation: own(v.truncation),
            user: own(v.user),
            safety_identifier: own(v.safety_identifier),
            prompt_cache_key: own(v.prompt_cache_key),
            encrypted_reasoning: v
                .include
                .iter()
                .flatten()
                .any(|i| i == "reasoning.encrypted_content"),
        })
    }
}

/// `raw` without line breaks: an echoed value goes in one SSE `data:` line. Line breaks in
/// JSON are whitespace between tokens (inside strings they are escaped), so the whitespace
/// between tokens is dropped; a value on one line (the norm) is kept as it is.
fn one_line(raw: Box<RawValue>) -> Box<RawValue> {
    let text = raw.get();
    if !text.contains(['\n', '\r']) {
        return raw;
    }
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
        } else if !c.is_ascii_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    RawValue::from_string(out).unwrap_or(raw)
}

/// A request value echoed as sent, or the API's default.
#[derive(Serialize)]
#[serde(untagged)]
enum Echoed<'a> {
    Given(&'a RawValue),
    Default(Value),
}

fn echoed(given: &Option<Box<RawValue>>, default: impl FnOnce() -> Value) -> Echoed<'_> {
    match given {
        Some(raw) => Echoed::Given(raw),
        None => Echoed::Default(default()),
    }
}

/// The state of a response, and its `incomplete_details.reason` or `error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Status<'a> {
    InProgress,
    Completed,
    Incomplete(&'static str),
    Failed { code: &'a str, message: &'a str },
}

impl Status<'_> {
    /// The status a hub finish reason gives the answer.
    pub(super) fn of_finish(finish: Option<&str>) -> Status<'static> {
        match finish {
            Some("length") => Status::Incomplete("max_output_tokens"),
            Some("content_filter") => Status::Incomplete("content_filter"),
            _ => Status::Completed,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Status::InProgress => "in_progress",
            Status::Completed => "completed",
            Status::Incomplete(_) => "incomplete",
            Status::Failed { .. } => "failed",
        }
    }

    /// The `status` of the output items it closes.
    pub(super) fn item_status(self) -> &'static str {
        match self {
            Status::Completed => "completed",
            _ => "incomplete",
        }
    }

    /// The event type that ends a stream with this status.
    pub(super) fn event_type(self) -> &'static str {
        match self {
            Status::InProgress => "response.in_progress",
            Status::Completed => "response.completed",
            Status::Incomplete(_) => "response.incomplete",
            Status::Failed { .. } => "response.failed",
        }
    }
}

#[derive(Serialize)]
struct ErrorObject<'a> {
    code: &'a str,
    message: &'a str,
}

#[derive(Serialize)]
struct Incomplete {
    reason: &'static str,
}

/// The `response` object.
#[derive(Serialize)]
struct ResponseObject<'a> {
    id: &'a str,
    object: &'static str,
    created_at: u64,
    status: &'static str,
    background: bool,
    error: Option<ErrorObject<'a>>,
    incomplete_details: Option<Incomplete>,
    instructions: Option<&'a RawValue>,
    max_output_tokens: Option<u64>,
    model: &'a str,
    output: &'a [Value],
    parallel_tool_calls: bool,
    previous_response_id: Option<&'a str>,
    prompt_cache_key: Option<&'a str>,
    reasoning: Echoed<'a>,
    safety_identifier: Option<&'a str>,
    store: bool,
    temperature: Option<f64>,
    text: Echoed<'a>,
    tool_choice: Echoed<'a>,
    tools: Echoed<'a>,
    top_p: Option<f64>,
    truncation: &'a str,
    usage: Option<Value>,
    user: Option<&'a str>,
    metadata: Echoed<'a>,
}

/// What a `response` object says of the answer itself (the rest is [`Echo`]).
pub(super) struct Answer<'a> {
    pub id: &'a str,
    pub created_at: u64,
    pub model: &'a str,
    pub status: Status<'a>,
    pub output: &'a [Value],
    pub usage: Option<&'a ChatUsage>,
}

impl Echo {
    fn object<'a>(&'a self, a: &Answer<'a>) -> ResponseObject<'a> {
        let (error, incomplete_details) = match a.status {
            Status::Failed { code, message } => (Some(ErrorObject { code, message }), None),
            Status::Incomplete(reason) => (None, Some(Incomplete { reason })),
            _ => (None, None),
        };
        ResponseObject {
            id: a.id,
            object: "response",
            created_at: a.created_at,
            status: a.status.name(),
            background: false,
            error,
            incomplete_details,
            instructions: self.instructions.as_deref(),
            max_output_tokens: self.max_output_tokens,
            model: if a.model.is_empty() {
                &self.model
            } else {
                a.model
            },
            output: a.output,
            parallel_tool_calls: self.parallel_tool_calls.unwrap_or(true),
            previous_response_id: None,
            prompt_cache_key: self.prompt_cache_key.as_deref(),
            reasoning: echoed(&self.reasoning, || json!({"effort": null, "summary": null})),
            safety_identifier: self.safety_identifier.as_deref(),
            store: false,
            temperature: self.temperature,
            text: echoed(&self.text, || json!({"format": {"type": "text"}})),
            tool_choice: echoed(&self.tool_choice, || json!("auto")),
            tools: echoed(&self.tools, || json!([])),
            top_p: self.top_p,
            truncation: self.truncation.as_deref().unwrap_or("disabled"),
            usage: a.usage.map(usage_json),
            user: self.user.as_deref(),
            metadata: echoed(&self.metadata, || json!({})),
        }
    }

    /// The `response` object of an answer, as JSON.
    pub(super) fn response_body(&self, a: &Answer<'_>) -> Vec<u8> {
        // Serialising plain structs and values to a Vec cannot fail.
        serde_json::to_vec(&self.object(a)).unwrap_or_default()
    }

    /// A `response.*` event carrying the `response` object, as SSE.
    pub(super) fn response_event(
        &self,
        kind: &str,
        sequence_number: u64,
        a: &Answer<'_>,
        out: &mut Vec<u8>,
    ) {
        #[derive(Serialize)]
        struct Event<'a> {
            #[serde(rename = "type")]
            kind: &'a str,
            sequence_number: u64,
            response: ResponseObject<'a>,
        }
        let event = Event {
            kind,
            sequence_number,
            response: self.object(a),
        };
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"\ndata: ");
        let _ = serde_json::to_writer(&mut *out, &event);
        out.extend_from_slice(b"\n\n");
    }
}

/// The Responses usage for hub usage (see the module docs).
pub(super) fn usage_json(u: &ChatUsage) -> Value {
    let details = u.prompt_tokens_details.as_ref();
    let mut input_details = json!({
        "cached_tokens": details.and_then(|d| d.cached_tokens).unwrap_or(0),
    });
    if let Some(w) = details.and_then(|d| d.cache_write_tokens) {
        input_details["cache_write_tokens"] = json!(w);
    }
    let reasoning = u
        .completion_tokens_details
        .as_ref()
        .and_then(|d| d.reasoning_tokens)
        .unwrap_or(0);
    json!({
        "input_tokens": u.prompt_tokens,
        "input_tokens_details": input_details,
        "output_tokens": u.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": u.total_tokens,
    })
}

/// The ids of one answer's response and items (see the module docs).
#[derive(Clone, Debug, Default)]
pub(super) struct Ids {
    base: String,
}

impl Ids {
    /// Ids from the hub answer's id; a fresh one when it has none.
    pub(super) fn new(hub_id: &str) -> Ids {
        let base = ["chatcmpl-", "msg_", "resp_"]
            .iter()
            .find_map(|p| hub_id.strip_prefix(p))
            .unwrap_or(hub_id);
        let base = if base.is_empty() {
            let fresh = crate::openai::generated_id();
            fresh.trim_start_matches("chatcmpl-").to_string()
        } else {
            base.to_string()
        };
        Ids { base }
    }

    pub(super) fn response(&self) -> String {
        format!("resp_{}", self.base)
    }

    /// An output item's id: `prefix` is `rs`, `msg` or `fc`.
    pub(super) fn item(&self, prefix: &str, output_index: usize) -> String {
        format!("{prefix}_{}_{output_index}", self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_is_read_for_its_echo() {
        let echo = Echo::read(
            br#"{"model":"m","input":[{"role":"user","content":"hi"}],"tools":[ {"type":"function","name":"f"} ],
                "temperature":0.5,"include":["reasoning.encrypted_content"],"metadata":{"k":"v"},"user":"u"}"#,
        )
        .unwrap();
        assert_eq!(echo.model, "m");
        assert_eq!(
            echo.tools.as_ref().unwrap().get(),
            r#"[ {"type":"function","name":"f"} ]"#
        );
        assert_eq!(echo.temperature, Some(0.5));
        assert!(echo.encrypted_reasoning);
        assert_eq!(echo.user.as_deref(), Some("u"));
        let err = Echo::read(br#"{"temperature":"hot"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid type"), "{err}");
    }

    #[test]
    fn echoed_values_fit_on_one_line() {
        let body = "{\"metadata\": {\"k\" :\r\n  \"a \\\"b\\\" \\n c\"},\n \"tools\": [\n]}";
        let echo = Echo::read(body.as_bytes()).unwrap();
        assert_eq!(
            echo.metadata.unwrap().get(),
            r#"{"k":"a \"b\" \n c"}"#,
            "whitespace between tokens dropped, strings untouched"
        );
        assert_eq!(echo.tools.unwrap().get(), "[]");
    }

    #[test]
    fn defaults_are_the_apis_and_storage_is_never_claimed() {
        let echo = Echo::read(br#"{"model":"m","store":true}"#).unwrap();
        let answer = Answer {
            id: "resp_1",
            created_at: 7,
            model: "",
            status: Status::Incomplete("max_output_tokens"),
            output: &[],
            usage: None,
        };
        let v: Value = serde_json::from_slice(&echo.response_body(&answer)).unwrap();
        assert_eq!(v["model"], "m");
        assert_eq!(v["store"], false);
        assert_eq!(v["status"], "incomplete");
        assert_eq!(
            v["incomplete_details"],
            json!({"reason": "max_output_tokens"})
        );
        assert_eq!(v["text"], json!({"format": {"type": "text"}}));
        assert_eq!(v["tool_choice"], "auto");
        assert_eq!(v["tools"], json!([]));
        assert_eq!(v["parallel_tool_calls"], true);
        assert_eq!(v["truncation"], "disabled");
        assert_eq!(v["usage"], Value::Null);
    }

    #[test]
    fn ids_drop_the_hub_prefix() {
        let ids = Ids::new("chatcmpl-abc");
        assert_eq!(ids.response(), "resp_abc");
        assert_eq!(ids.item("fc", 2), "fc_abc_2");
        assert_eq!(Ids::new("msg_01X").response(), "resp_01X");
        assert!(Ids::new("").response().len() > "resp_".len());
    }
}
