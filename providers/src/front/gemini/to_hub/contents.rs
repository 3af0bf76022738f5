//! The `contents` of a Gemini request (turns and their parts) as hub messages; what becomes of
//! each part is listed in the [parent module's docs](super).

use serde_json::{json, Value};

use super::{array, field, fields, invalid, refuse, string, text_part};
use crate::front::gemini::from_hub::decode_signature;
use crate::openai::{Content, ContentPart, FunctionCall, ImageUrl, Message, ToolCall};
use crate::TranslateError;

/// The function calls of the latest model turn, for the responses that follow it.
#[derive(Default)]
pub(super) struct Calls {
    open: Vec<OpenCall>,
}

struct OpenCall {
    hub_id: String,
    /// The id the client sent, if any.
    gemini_id: Option<String>,
    name: String,
    answered: bool,
}

impl Calls {
    /// The hub id a `functionResponse` answers: the call with its id, else the first
    /// unanswered call of its name.
    fn answer(&mut self, id: Option<&str>, name: &str, at: &str) -> Result<String, TranslateError> {
        let by_id = id.and_then(|id| {
            self.open
                .iter()
                .position(|c| c.gemini_id.as_deref() == Some(id))
        });
        let by_name = || self.open.iter().position(|c| !c.answered && c.name == name);
        let found = by_id.or_else(by_name);
        let Some(i) = found else {
            return Err(invalid(format!(
                "{at}: `functionResponse` `{name}` answers no `functionCall` of the model turn before it"
            )));
        };
        self.open[i].answered = true;
        Ok(self.open[i].hub_id.clone())
    }
}

/// What one turn's parts become.
#[derive(Default)]
struct Turn {
    parts: Vec<ContentPart>,
    text: String,
    reasoning: String,
    tool_calls: Vec<ToolCall>,
    tool_results: Vec<Message>,
    thinking_blocks: Vec<Value>,
}

/// One `Content` → hub messages.
pub(super) fn convert_content(
    c: &Value,
    at: &str,
    index: usize,
    calls: &mut Calls,
    out: &mut Vec<Message>,
) -> Result<(), TranslateError> {
    let mut role = "user";
    let mut parts: &[Value] = &[];
    let mut parts_key = "parts";
    for (key, name, value) in fields(c, at)? {
        match name.as_ref() {
            "role" => {
                role = match string(value, &format!("{at}.{key}"))? {
                    "user" | "function" | "tool" => "user",
                    "model" => "model",
                    other => {
                        return Err(invalid(format!(
                            "{at}.{key}: `role` must be `user` or `model`, not `{other}`"
                        )))
                    }
                }
            }
            "parts" => {
                parts_key = key;
                parts = array(value, &format!("{at}.{key}"))?;
            }
            _ => return Err(refuse(&format!("{at}.{key}"))),
        }
    }
    if role == "model" {
        calls.open.clear();
    }
    let mut turn = Turn::default();
    for (j, p) in parts.iter().enumerate() {
        let at = format!("{at}.{parts_key}[{j}]");
        turn.add(p, &at, role, (index, j), calls)?;
    }
    turn.finish(role, out);
    Ok(())
}

impl Turn {
    fn add(
        &mut self,
        p: &Value,
        at: &str,
        role: &str,
        (turn, part): (usize, usize),
        calls: &mut Calls,
    ) -> Result<(), TranslateError> {
        let model = role == "model";
        let thought = field(p, "thought").and_then(Value::as_bool) == Some(true);
        let mut data = None;
        for (key, name, value) in fields(p, at)? {
            match name.as_ref() {
                "thought" => {}
                "thoughtSignature" => {
                    let sig = string(value, &format!("{at}.{key}"))?;
                    if model {
                        self.thinking_blocks
                            .extend(decode_signature(sig).unwrap_or_default());
                    }
                }
                "text" | "inlineData" | "fileData" | "functionCall" | "functionResponse" => {
                    if data.is_some() {
                        return Err(invalid(format!("{at}: a part holds one kind of data")));
                    }
                    data = Some((key, name, value));
                }
                _ => return Err(refuse(&format!("{at}.{key}"))),
            }
        }
        let Some((key, name, value)) = data else {
            return Ok(()); // a part with only a signature (or nothing)
        };
        let at = format!("{at}.{key}");
        match (name.as_ref(), model) {
            // Empty texts are left out (providers refuse empty text blocks).
            ("text", _) => match string(value, &at)? {
                "" => {}
                text if thought && model => self.reasoning.push_str(text),
                text if model => self.text.push_str(text),
                text => self.parts.push(text_part(text.to_string())),
            },
            ("inlineData", false) => self.parts.push(inline_data(value, &at)?),
            ("fileData", false) => self.parts.push(file_data(value, &at)?),
            ("functionCall", true) => {
                let call = function_call(value, &at, format!("call_{turn}_{part}"))?;
                calls.open.push(OpenCall {
                    hub_id: call.id.clone(),
                    gemini_id: field(value, "id")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    name: call.function.name.clone(),
                    answered: false,
                });
                self.tool_calls.push(call);
            }
            ("functionResponse", false) => self
                .tool_results
                .push(function_response(value, &at, calls)?),
            ("inlineData" | "fileData", true) => {
                return Err(refuse(&format!("{at} in a model turn")))
            }
            (other, _) => {
                return Err(invalid(format!(
                    "{at}: `{other}` parts belong in {} turns",
                    if model { "user" } else { "model" }
                )))
            }
        }
        Ok(())
    }

    fn finish(mut self, role: &str, out: &mut Vec<Message>) {
        out.extend(self.tool_results);
        if role == "model" {
            fill_thinking_text(&mut self.thinking_blocks, &self.reasoning);
            let content = (!self.text.is_empty() || self.tool_calls.is_empty())
                .then_some(Content::Text(self.text));
            out.push(Message {
                role: "assistant".to_string(),
                content,
                tool_calls: (!self.tool_calls.is_empty()).then_some(self.tool_calls),
                reasoning_content: (!self.reasoning.is_empty()).then_some(self.reasoning),
                thinking_blocks: (!self.thinking_blocks.is_empty()).then_some(self.thinking_blocks),
                ..Message::default()
            });
        } else if !self.parts.is_empty() {
            out.push(Message {
                role: "user".to_string(),
                content: Some(Content::from_parts(self.parts)),
                ..Message::default()
            });
        }
    }
}

/// When no thinking block holds text (a signature made apart from its text), the turn's
/// thought text goes in the first thinking block: the provider wants the two together.
pub(super) fn fill_thinking_text(blocks: &mut [Value], reasoning: &str) {
    let is_thinking = |b: &Value| b.get("type").and_then(Value::as_str) == Some("thinking");
    let texts_empty = blocks.iter().filter(|b| is_thinking(b)).all(|b| {
        b.get("thinking")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    });
    if texts_empty && !reasoning.is_empty() {
        if let Some(first) = blocks.iter_mut().find(|b| is_thinking(b)) {
            first["thinking"] = Value::String(reasoning.to_string());
        }
    }
}

/// `inlineData` `{mimeType, data, displayName?}` → an image, file or audio part.
fn inline_data(v: &Value, at: &str) -> Result<ContentPart, TranslateError> {
    let (mut mime, mut data, mut display) = (None, None, None);
    for (key, name, value) in fields(v, at)? {
        let at = format!("{at}.{key}");
        match name.as_ref() {
            "mimeType" => mime = Some((string(value, &at)?, at)),
            "data" => data = Some(string(value, &at)?),
            "displayName" => display = Some(string(value, &at)?),
            _ => return Err(refuse(&at)),
        }
    }
    let (mime, mime_at) = mime.ok_or_else(|| invalid(format!("{at}: `mimeType` is required")))?;
    let data = data.ok_or_else(|| invalid(format!("{at}: `data` is required")))?;
    let mime_lower = mime.to_ascii_lowercase();
    let mut part = ContentPart::default();
    match mime_lower.as_str() {
        m if m.starts_with("image/") => {
            part.kind = "image_url".to_string();
            part.image_url = Some(ImageUrl {
                url: format!("data:{mime_lower};base64,{data}"),
                detail: None,
            });
        }
        "application/pdf" => {
            part.kind = "file".to_string();
            let file = json!({
                "file_data": format!("data:application/pdf;base64,{data}"),
                "filename": display.unwrap_or("document.pdf"),
            });
            part.extra.insert("file".to_string(), file);
        }
        "audio/wav" | "audio/x-wav" | "audio/wave" | "audio/mp3" | "audio/mpeg" => {
            part.kind = "input_audio".to_string();
            let format = if mime_lower.contains("wav") {
                "wav"
            } else {
                "mp3"
            };
            let audio = json!({"data": data, "format": format});
            part.extra.insert("input_audio".to_string(), audio);
        }
        _ => return Err(refuse(&format!("{mime_at}: {mime}"))),
    }
    Ok(part)
}

/// `fileData` `{fileUri, mimeType?}` → an image URL part, for http(s) images not stored with
/// Google.
fn file_data(v: &Value, at: &str) -> Result<ContentPart, TranslateError> {
    let (mut uri, mut mime) = (None, None);
    for (key, name, value) in fields(v, at)? {
        let at = format!("{at}.{key}");
        match name.as_ref() {
            "fileUri" => uri = Some((string(value, &at)?, at)),
            "mimeType" => mime = Some(string(value, &at)?.to_ascii_lowercase()),
            "displayName" => {}
            _ => return Err(refuse(&at)),
        }
    }
    let (uri, uri_at) = uri.ok_or_else(|| invalid(format!("{at}: `fileUri` is required")))?;
    let lower = uri.to_ascii_lowercase();
    let web = lower.starts_with("https://") || lower.starts_with("http://");
    let stored = lower.contains("generativelanguage.googleapis.com/") || !web;
    if stored {
        return Err(refuse(&format!("{uri_at} (a file stored with Google)")));
    }
    let mime = mime.or_else(|| image_type_of(&lower).map(str::to_string));
    match mime.as_deref() {
        Some(m) if m.starts_with("image/") => Ok(ContentPart {
            kind: "image_url".to_string(),
            image_url: Some(ImageUrl {
                url: uri.to_string(),
                detail: None,
            }),
            ..ContentPart::default()
        }),
        other => Err(refuse(&format!(
            "{at} of type {}",
            other.unwrap_or("unknown")
        ))),
    }
}

fn image_type_of(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    Some(match path.rsplit_once('.')?.1 {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        _ => return None,
    })
}

fn function_call(v: &Value, at: &str, made_id: String) -> Result<ToolCall, TranslateError> {
    let (mut id, mut name, mut args) = (None, None, None);
    for (key, fname, value) in fields(v, at)? {
        let at = format!("{at}.{key}");
        match fname.as_ref() {
            "id" => id = Some(string(value, &at)?),
            "name" => name = Some(string(value, &at)?),
            "args" => {
                if !value.is_object() {
                    return Err(invalid(format!("`{at}` must be an object")));
                }
                args = Some(value.to_string());
            }
            _ => return Err(refuse(&at)),
        }
    }
    let name = name.ok_or_else(|| invalid(format!("{at}: `name` is required")))?;
    Ok(ToolCall {
        id: id
            .filter(|id| !id.is_empty())
            .map_or(made_id, str::to_string),
        kind: "function".to_string(),
        function: FunctionCall {
            name: name.to_string(),
            arguments: args.unwrap_or_else(|| "{}".to_string()),
        },
    })
}

/// `functionResponse` → a tool message answering its call, the `response` as JSON text.
fn function_response(v: &Value, at: &str, calls: &mut Calls) -> Result<Message, TranslateError> {
    let (mut id, mut name, mut response) = (None, None, None);
    for (key, fname, value) in fields(v, at)? {
        let at = format!("{at}.{key}");
        match fname.as_ref() {
            "id" => id = Some(string(value, &at)?),
            "name" => name = Some(string(value, &at)?),
            "response" => response = Some(value),
            _ => return Err(refuse(&at)),
        }
    }
    let name = name.ok_or_else(|| invalid(format!("{at}: `name` is required")))?;
    let call_id = calls.answer(id, name, at)?;
    let text = response.map_or_else(|| "{}".to_string(), Value::to_string);
    Ok(Message {
        role: "tool".to_string(),
        content: Some(Content::Text(text)),
        tool_call_id: Some(call_id),
        ..Message::default()
    })
}
