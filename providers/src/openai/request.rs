//! The hub's request: OpenAI's chat completions request, read key by key, with the hub's
//! extensions (see the module docs of [`super`]).

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::open_object::open_object;

use crate::TranslateError;

/// The chat completions path on an OpenAI base URL.
pub const CHAT_COMPLETIONS_PATH: &str = "/v1/chat/completions";

/// A chat completions request. Known fields are typed; the rest pass through in `extra`.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct ChatRequest {
    #[serde(default)]
    pub model: String,
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Stop>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
    /// Hub extension: Anthropic's `thinking` object (see the module docs).
    #[serde(default, skip_serializing)]
    pub thinking: Option<Value>,
    /// Hub extension: top-k sampling.
    #[serde(default, skip_serializing)]
    pub top_k: Option<u64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

// The request side is parsed on every request: read key by key (see `open_object`), not
// through `#[serde(flatten)]`.
open_object!(ChatRequest, "a chat completions request (a JSON object)",
    required { "messages" => messages }
    optional {
        "model" => model, "stream" => stream, "stream_options" => stream_options,
        "temperature" => temperature, "top_p" => top_p, "max_tokens" => max_tokens,
        "max_completion_tokens" => max_completion_tokens, "n" => n, "stop" => stop,
        "presence_penalty" => presence_penalty, "frequency_penalty" => frequency_penalty,
        "seed" => seed, "tools" => tools, "tool_choice" => tool_choice,
        "response_format" => response_format, "reasoning_effort" => reasoning_effort,
        "thinking" => thinking, "top_k" => top_k,
    }
);
open_object!(StreamOptions, "stream options (a JSON object)",
    required {}
    optional { "include_usage" => include_usage }
);
open_object!(Message, "a message (a JSON object)",
    required { "role" => role }
    optional {
        "content" => content, "name" => name, "tool_calls" => tool_calls,
        "tool_call_id" => tool_call_id, "reasoning_content" => reasoning_content,
        "thinking_blocks" => thinking_blocks,
    }
);
open_object!(ContentPart, "a content part (a JSON object)",
    required { "type" => kind }
    optional { "text" => text, "image_url" => image_url }
);
open_object!(FunctionDef, "a function definition (a JSON object)",
    required { "name" => name }
    optional { "description" => description, "parameters" => parameters }
);

/// A string, or a list of `T`: the shape of `content` and `stop`, read without serde's
/// untagged-enum buffering.
struct OneOrList<T, F>(fn(String) -> F, fn(Vec<T>) -> F, &'static str);

impl<'de, T: Deserialize<'de>, F> Visitor<'de> for OneOrList<T, F> {
    type Value = F;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.2)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<F, E> {
        Ok((self.0)(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<F, E> {
        Ok((self.0)(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<F, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok((self.1)(items))
    }
}

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(OneOrList(
            Content::Text,
            Content::Parts,
            "a string or a list of content parts",
        ))
    }
}

impl<'de> Deserialize<'de> for Stop {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(OneOrList(
            Stop::One,
            Stop::Many,
            "a string or a list of strings",
        ))
    }
}

impl ChatRequest {
    /// Parses a client's body; the error text says what is wrong, for a 400.
    pub fn parse(body: &[u8]) -> Result<Self, TranslateError> {
        crate::json::from_body(body).map_err(TranslateError::InvalidRequest)
    }

    /// Whether the client asked for a usage chunk at the end of its stream.
    pub fn include_usage(&self) -> bool {
        self.stream_options
            .as_ref()
            .and_then(|o| o.include_usage)
            .unwrap_or(false)
    }

    /// The prompt as `(role, text)` pairs, for `llm.prompt`.
    pub fn prompt(&self) -> Vec<(String, String)> {
        self.messages
            .iter()
            .map(|m| {
                let text = m.content.as_ref().map(Content::text).unwrap_or_default();
                (m.role.clone(), text)
            })
            .collect()
    }
}

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct StreamOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_usage: Option<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Stop {
    One(String),
    Many(Vec<String>),
}

impl Stop {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            Stop::One(s) => vec![s.clone()],
            Stop::Many(v) => v.clone(),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Message {
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// Hub extension: the thinking text of an assistant turn (see the module docs).
    #[serde(default, skip_serializing)]
    pub reasoning_content: Option<String>,
    /// Hub extension: the thinking blocks of an assistant turn, signatures included.
    #[serde(default, skip_serializing)]
    pub thinking_blocks: Option<Vec<Value>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Message content: a string, or a list of typed parts.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Parts(Vec<ContentPart>),
}

impl Content {
    /// Parts as message content: one plain text part (nothing carried beside its text)
    /// becomes a string.
    pub fn from_parts(mut parts: Vec<ContentPart>) -> Content {
        if parts.len() == 1 && parts[0].kind == "text" && parts[0].extra.is_empty() {
            Content::Text(parts.remove(0).text.unwrap_or_default())
        } else {
            Content::Parts(parts)
        }
    }

    /// The text of the content; parts' texts joined with newlines, other parts left out.
    pub fn text(&self) -> String {
        match self {
            Content::Text(s) => s.clone(),
            Content::Parts(parts) => {
                let texts: Vec<&str> = parts.iter().filter_map(|p| p.text.as_deref()).collect();
                texts.join("\n")
            }
        }
    }
}

/// Converts message content into a provider's blocks: a plain string becomes one block by
/// `text`, each part of a list goes through `part`; `None`s are left out. Shared by every
/// provider's request translation.
pub fn content_blocks<T>(
    content: Option<&Content>,
    text: impl Fn(&str) -> Option<T>,
    mut part: impl FnMut(&ContentPart) -> Result<Option<T>, TranslateError>,
) -> Result<Vec<T>, TranslateError> {
    match content {
        None => Ok(Vec::new()),
        Some(Content::Text(s)) => Ok(text(s).into_iter().collect()),
        Some(Content::Parts(parts)) => {
            let mut out = Vec::with_capacity(parts.len());
            for p in parts {
                out.extend(part(p)?);
            }
            Ok(out)
        }
    }
}

impl ContentPart {
    /// The URL of an `image_url` part; an error for one that lacks it.
    pub fn image_url_str(&self) -> Result<&str, TranslateError> {
        self.image_url
            .as_ref()
            .map(|i| i.url.as_str())
            .ok_or_else(|| {
                TranslateError::InvalidRequest("image_url part without image_url".to_string())
            })
    }
}

/// The text of a text part; `None` for other parts.
pub fn part_text(p: &ContentPart) -> Option<&str> {
    (p.kind == "text").then_some(p.text.as_deref()).flatten()
}

/// The text of a text part, refusing any other part where only text is allowed (`what`
/// names the place, e.g. "Gemini system instructions").
pub fn text_only<'a>(p: &'a ContentPart, what: &str) -> Result<Option<&'a str>, TranslateError> {
    if p.kind != "text" {
        return Err(TranslateError::Unsupported(format!(
            "{what} take text only, not {:?} parts",
            p.kind
        )));
    }
    Ok(p.text.as_deref())
}

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct ContentPart {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<ImageUrl>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ImageUrl {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct Tool {
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    pub function: FunctionDef,
    /// `cache_control` (a hub extension) and fields of other tool types.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn function_type() -> String {
    "function".to_string()
}

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct FunctionDef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ToolCall {
    #[serde(default)]
    pub id: String,
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    pub function: FunctionCall,
}

impl ToolCall {
    /// The call's arguments as the JSON object they must be (`{}` when empty); a 400 naming
    /// the call otherwise.
    pub fn arguments_object(&self) -> Result<Value, TranslateError> {
        let raw = self.function.arguments.trim();
        if raw.is_empty() {
            return Ok(Value::Object(Map::new()));
        }
        match serde_json::from_str::<Value>(raw) {
            Ok(v @ Value::Object(_)) => Ok(v),
            _ => Err(TranslateError::InvalidRequest(format!(
                "arguments of tool call {:?} are not a JSON object",
                self.id
            ))),
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct FunctionCall {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub arguments: String,
}
