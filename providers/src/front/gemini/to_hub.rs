//! A Gemini `generateContent` request → the hub's OpenAI [`ChatRequest`], for routes whose
//! provider does not speak Gemini. The model comes from the URL path. Field names are read in
//! camelCase and in the proto's snake_case (`generation_config`, `max_output_tokens`), as the
//! REST API reads both; errors name a field by the path the client wrote. Every field is
//! carried, mapped, ignored for a stated reason, or refused with a 400 that names it:
//!
//! - `contents`: `user` turns (or no role) → user messages (`text`; `inlineData` images →
//!   `image_url` data URLs, PDFs → `file` parts, WAV and MP3 → `input_audio`, other types
//!   refused; `fileData` → `image_url` for an http(s) image URL, refused for files stored
//!   with Google (Files API, `gs://`), which the provider cannot read, and for other types);
//!   `functionResponse` parts → `tool` messages (the `response` object as JSON text) before
//!   the turn's other parts. `model` turns → assistant messages: text, `functionCall` →
//!   `tool_calls` (the call's `id`, else `call_<turn>_<part>`; a response finds its call by
//!   id, else the first unanswered call of its name, so clients that make up ids still
//!   match), `thought: true` parts → `reasoning_content`, a `thoughtSignature` made by sluice
//!   → `thinking_blocks` (the provider's signed thinking, see [`super::from_hub`]). Gemini's
//!   own signatures are dropped: they mean nothing to another provider. Empty text parts are
//!   left out. Refused: `executableCode`, `codeExecutionResult`, `videoMetadata`,
//!   `functionResponse.parts` (media in a function response), media in model turns, and every
//!   other part field.
//! - `systemInstruction` (text parts) → a system message first.
//! - `tools[].functionDeclarations` → function tools (`parameters`, Gemini's OpenAPI-subset
//!   `Schema`, converted to JSON Schema: upper-case types lower-cased, `nullable` → a
//!   `"null"` type, `example` → `examples`, `format: enum` and `propertyOrdering` dropped as
//!   they only shape output; `parametersJsonSchema` as it is; none → an empty object schema).
//!   A declaration's `response`/`responseJsonSchema` (the function's output shape) is ignored:
//!   the output itself arrives in the `functionResponse`. `behavior` other than `BLOCKING` and
//!   other tools (`googleSearch`, `codeExecution`, `urlContext`, ...) are refused.
//! - `toolConfig.functionCallingConfig`: `AUTO` → `auto`, `NONE` → `none`, `ANY` → `required`
//!   (with one allowed name → that function; with several → `required` and the tools cut
//!   down to those names, so the model sees only the functions it may call), `VALIDATED` →
//!   `auto` (allowed names likewise): the provider does not constrain arguments to the schema.
//!   `retrievalConfig` is ignored (it only locates grounding tools, which are refused).
//! - `generationConfig`: `temperature`, `topP`, `topK` (hub extension), `maxOutputTokens` →
//!   `max_tokens`, `stopSequences` → `stop`, `candidateCount` → `n`, `presencePenalty`,
//!   `frequencyPenalty`, `seed`; `responseMimeType: application/json` → `json_object`, with
//!   `responseSchema` (converted as above) or `responseJsonSchema` → `json_schema` named
//!   `response` (not strict: Gemini schemas rarely meet OpenAI's strict rules);
//!   `thinkingConfig.thinkingBudget` → hub `thinking` (`0` disabled, `-1` adaptive, else
//!   enabled with that budget, at least Anthropic's 1,024), `thinkingLevel` →
//!   `reasoning_effort` (`minimal`, `low`, `medium`, `high`), `includeThoughts` read as
//!   always on ([`super::from_hub`]). Values that ask nothing pass: `responseModalities:
//!   [TEXT]`, `responseLogprobs: false`, `logprobs: 0`, `text/plain`. Refused: other
//!   modalities, log probabilities, `text/x.enum`, and every other field (`speechConfig`,
//!   `mediaResolution`, `imageConfig`, ...).
//! - Ignored: `safetySettings` (Gemini's own safety filters: the provider applies its own
//!   policies), `labels` (billing tags), `serviceTier` (latency and price), `model` (the path
//!   names the model).
//! - Refused: `cachedContent` (it names a cache stored by Gemini, which the provider cannot
//!   read), and every other field.
//!
//! Streaming is told by the URL (`:streamGenerateContent`): the caller sets `stream` and
//! `stream_options.include_usage` on the result.
mod config;
mod contents;

use std::borrow::Cow;

use serde_json::Value;

use crate::error::no_counterpart;
use crate::openai::{ChatRequest, Content, ContentPart, Message, Tool};
use crate::TranslateError;

use config::{declarations, generation_config, tool_config};
use contents::{convert_content, Calls};

/// Where a field that cannot be carried is said to have no counterpart.
const ACROSS: &str = "a translated request (the route's provider does not speak Gemini)";

pub(super) fn invalid(msg: impl Into<String>) -> TranslateError {
    TranslateError::InvalidRequest(msg.into())
}

fn refuse(at: &str) -> TranslateError {
    no_counterpart(at, ACROSS)
}

/// A field name in camelCase: the proto's snake_case names converted, others as they are.
fn camel(key: &str) -> Cow<'_, str> {
    if !key.get(1..).is_some_and(|rest| rest.contains('_')) {
        return Cow::Borrowed(key);
    }
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for (i, c) in key.chars().enumerate() {
        if c == '_' && i > 0 {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The object's non-null fields as (name as written, camelCase name, value).
fn fields<'a>(
    v: &'a Value,
    at: &str,
) -> Result<impl Iterator<Item = (&'a str, Cow<'a, str>, &'a Value)>, TranslateError> {
    let obj = v
        .as_object()
        .ok_or_else(|| invalid(format!("`{at}` must be an object")))?;
    Ok(obj
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.as_str(), camel(k), v)))
}

fn field<'a>(v: &'a Value, camel_name: &str) -> Option<&'a Value> {
    v.as_object()?
        .iter()
        .find(|(k, v)| !v.is_null() && camel(k) == camel_name)
        .map(|(_, v)| v)
}

fn string<'a>(v: &'a Value, at: &str) -> Result<&'a str, TranslateError> {
    v.as_str()
        .ok_or_else(|| invalid(format!("`{at}` must be a string")))
}

fn array<'a>(v: &'a Value, at: &str) -> Result<&'a [Value], TranslateError> {
    v.as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| invalid(format!("`{at}` must be an array")))
}

fn number(v: &Value, at: &str) -> Result<f64, TranslateError> {
    v.as_f64()
        .ok_or_else(|| invalid(format!("`{at}` must be a number")))
}

/// An integer, also as proto JSON writes 64-bit ones (a string) and as google-genai may
/// write some (`40.0`).
fn integer(v: &Value, at: &str) -> Result<i64, TranslateError> {
    let n = match v {
        Value::String(s) => s.trim().parse::<i64>().ok(),
        v => v.as_i64().or_else(|| {
            v.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
    };
    n.ok_or_else(|| invalid(format!("`{at}` must be an integer")))
}

fn unsigned(v: &Value, at: &str) -> Result<u64, TranslateError> {
    u64::try_from(integer(v, at)?)
        .map_err(|_| invalid(format!("`{at}` must be a non-negative integer")))
}

/// A Gemini request body → the hub request for `model` (from the URL path).
pub fn request_to_hub(body: &[u8], model: &str) -> Result<ChatRequest, TranslateError> {
    let v: Value = crate::json::from_body(body).map_err(invalid)?;
    let mut req = ChatRequest {
        model: model.to_string(),
        ..ChatRequest::default()
    };
    let mut contents = None;
    let mut tools: Vec<Tool> = Vec::new();
    let mut choice = None;
    for (key, name, value) in fields(&v, "request body")? {
        match name.as_ref() {
            "contents" => contents = Some((key, value)),
            "systemInstruction" => {
                if let Some(m) = system_message(value, key)? {
                    req.messages.insert(0, m);
                }
            }
            "tools" => {
                for (i, t) in array(value, key)?.iter().enumerate() {
                    declarations(t, &format!("{key}[{i}]"), &mut tools)?;
                }
            }
            "toolConfig" => choice = tool_config(value, key)?,
            "generationConfig" => generation_config(value, key, &mut req)?,
            "safetySettings" | "labels" | "serviceTier" | "model" => {}
            _ => return Err(refuse(key)),
        }
    }
    let (key, contents) = contents.ok_or_else(|| invalid("`contents` is required"))?;
    let mut calls = Calls::default();
    for (i, c) in array(contents, key)?.iter().enumerate() {
        convert_content(c, &format!("{key}[{i}]"), i, &mut calls, &mut req.messages)?;
    }
    if let Some((mapped, allowed)) = choice.filter(|_| !tools.is_empty()) {
        if let Some(names) = allowed {
            if let Some(missing) = names
                .iter()
                .find(|n| !tools.iter().any(|t| &t.function.name == *n))
            {
                return Err(invalid(format!(
                    "`allowedFunctionNames` names `{missing}`, which no function declaration declares"
                )));
            }
            tools.retain(|t| names.contains(&t.function.name));
        }
        req.tool_choice = Some(mapped);
    }
    req.tools = (!tools.is_empty()).then_some(tools);
    Ok(req)
}

/// `systemInstruction` (a `Content` of text parts) as a system message; `None` when empty.
fn system_message(v: &Value, at: &str) -> Result<Option<Message>, TranslateError> {
    let mut texts = Vec::new();
    for (key, name, value) in fields(v, at)? {
        match name.as_ref() {
            "role" => {}
            "parts" => {
                for (i, p) in array(value, &format!("{at}.{key}"))?.iter().enumerate() {
                    let at = format!("{at}.{key}[{i}]");
                    for (pk, pname, pv) in fields(p, &at)? {
                        match pname.as_ref() {
                            "text" => texts.push(string(pv, &format!("{at}.{pk}"))?.to_string()),
                            "thoughtSignature" => {}
                            _ => return Err(refuse(&format!("{at}.{pk}"))),
                        }
                    }
                }
            }
            _ => return Err(refuse(&format!("{at}.{key}"))),
        }
    }
    texts.retain(|t| !t.is_empty());
    let content = match texts.len() {
        0 => return Ok(None),
        1 => Content::Text(texts.remove(0)),
        _ => Content::Parts(texts.into_iter().map(text_part).collect()),
    };
    Ok(Some(Message {
        role: "system".to_string(),
        content: Some(content),
        ..Message::default()
    }))
}

fn text_part(text: String) -> ContentPart {
    ContentPart {
        kind: "text".to_string(),
        text: Some(text),
        ..ContentPart::default()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::contents::fill_thinking_text;
    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/tests/fixtures/gemini_front/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// The hub request as JSON, with the hub extensions the wire form leaves out.
    fn hub_json(req: &ChatRequest) -> Value {
        let mut v = serde_json::to_value(req).unwrap();
        if let Some(t) = &req.thinking {
            v["thinking"] = t.clone();
        }
        if let Some(k) = req.top_k {
            v["top_k"] = json!(k);
        }
        for (i, m) in req.messages.iter().enumerate() {
            if let Some(r) = &m.reasoning_content {
                v["messages"][i]["reasoning_content"] = json!(r);
            }
            if let Some(b) = &m.thinking_blocks {
                v["messages"][i]["thinking_blocks"] = json!(b);
            }
        }
        v
    }

    #[test]
    fn gemini_requests_become_the_expected_hub_requests() {
        for case in ["genai_agent", "cli_history", "media", "choice_several"] {
            let want: Value = serde_json::from_str(&fixture(&format!("{case}.hub.json"))).unwrap();
            let model = want["model"].as_str().unwrap();
            let body = fixture(&format!("{case}.gemini.json"));
            let req =
                request_to_hub(body.as_bytes(), model).unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_eq!(hub_json(&req), want, "{case}");
        }
    }

    #[test]
    fn each_refused_or_invalid_field_is_named() {
        let cases: Vec<Value> = serde_json::from_str(&fixture("refusals.cases.json")).unwrap();
        for case in &cases {
            let body = case["body"].to_string();
            let want = case["error"].as_str().unwrap();
            let err = request_to_hub(body.as_bytes(), "m").expect_err(want);
            let kind_ok = match case["kind"].as_str().unwrap() {
                "unsupported" => matches!(err, TranslateError::Unsupported(_)),
                _ => matches!(err, TranslateError::InvalidRequest(_)),
            };
            let text = err.to_string();
            assert!(text.contains(want) && kind_ok, "want {want:?}, got {err:?}");
        }
    }

    #[test]
    fn an_answer_sent_back_keeps_its_thinking_and_call_ids() {
        let hub: Value = serde_json::from_str(&fixture("thinking.hub-response.json")).unwrap();
        let answer = super::super::response_from_hub(hub.to_string().as_bytes(), "m").unwrap();
        let answer: Value = serde_json::from_slice(&answer).unwrap();
        let body = json!({"contents": [
            {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
            answer["candidates"][0]["content"],
            {"role": "user", "parts": [{"functionResponse": {"id": "toolu_01",
                "name": "get_weather", "response": {"temp": 21}}}]},
        ]});
        let req = request_to_hub(body.to_string().as_bytes(), "claude-sonnet-4-5").unwrap();
        let sent = &hub["choices"][0]["message"];
        let turn = &req.messages[1];
        assert_eq!(json!(turn.thinking_blocks), sent["thinking_blocks"]);
        assert_eq!(json!(turn.reasoning_content), sent["reasoning_content"]);
        assert_eq!(turn.tool_calls.as_ref().unwrap()[0].id, "toolu_01");
        assert_eq!(req.messages[2].tool_call_id.as_deref(), Some("toolu_01"));

        let mut blocks = vec![json!({"type": "thinking", "thinking": "", "signature": "s"})];
        fill_thinking_text(&mut blocks, "why");
        assert_eq!(blocks[0]["thinking"], "why");
    }

    #[test]
    fn snake_case_names_read_as_camel_case() {
        assert_eq!(camel("max_output_tokens"), "maxOutputTokens");
        assert_eq!(camel("generationConfig"), "generationConfig");
        assert_eq!(camel("_responseJsonSchema"), "_responseJsonSchema");
        assert_eq!(camel("text"), "text");
    }

    #[test]
    fn the_model_comes_from_the_path_and_bad_bodies_are_400s() {
        let body =
            br#"{"model": "models/gemini-2.5-pro", "contents": [{"parts": [{"text": "x"}]}]}"#;
        assert_eq!(request_to_hub(body, "gpt-4o").unwrap().model, "gpt-4o");
        for bad in [
            &b"[]"[..],
            b"{",
            br#"{"contents": {}}"#,
            br#"{"contents": [{"parts": 3}]}"#,
        ] {
            let err = request_to_hub(bad, "m").unwrap_err();
            assert!(matches!(err, TranslateError::InvalidRequest(_)), "{err}");
        }
    }
}
