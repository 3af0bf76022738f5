//! The hub request as a Gemini `generateContent` body (the fields' fates are listed in the
//! [module docs](super)).

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::error::{no_counterpart, refuse_unmapped, Carries};
use crate::openai::{
    content_blocks, part_text, text_only, ChatRequest, Content, ContentPart, Message, ToolCall,
};
use crate::{RequestTarget, TranslateError, UpstreamRequest};

use super::thinking;
use super::wire::{
    self, clean_schema, is_empty_object_schema, Blob, FileData, FunctionCallingConfig,
    FunctionDeclaration, FunctionResponse, GenerateContentRequest, GenerationConfig, Part, Tool,
    ToolConfig,
};
use super::SIGNATURE_SEPARATOR;

/// The API named in refusals.
const API: &str = "Gemini";

/// The API version used when the backend names none.
const DEFAULT_API_VERSION: &str = "v1beta";

/// The `generateContent` (or, for streams, `streamGenerateContent?alt=sse`) request for `req`.
pub fn translate_request(
    req: &ChatRequest,
    target: &RequestTarget<'_>,
) -> Result<UpstreamRequest, TranslateError> {
    let model = model_id(target.model)?;
    let version = target
        .api_version
        .filter(|v| !v.is_empty())
        .unwrap_or(DEFAULT_API_VERSION);
    let path = if req.stream {
        format!("/{version}/models/{model}:streamGenerateContent?alt=sse")
    } else {
        format!("/{version}/models/{model}:generateContent")
    };
    refuse_unmapped(
        req,
        &Carries {
            api: API,
            mapped: &[],
            ignored: &["user"],
            penalties: true,
            choices: true,
        },
    )?;
    let (contents, system_instruction) = convert_messages(&req.messages)?;
    let body = GenerateContentRequest {
        contents,
        system_instruction,
        tools: convert_tools(req)?,
        tool_config: convert_tool_choice(req.tool_choice.as_ref())?,
        generation_config: generation_config(req, model)?,
    };
    let body =
        serde_json::to_vec(&body).map_err(|e| TranslateError::InvalidRequest(e.to_string()))?;
    Ok(UpstreamRequest::new(path, body))
}

/// The model id for the URL: `models/` prefix removed, and only characters Gemini model ids
/// use, so a client-chosen model cannot reshape the upstream path or query.
pub(crate) fn model_id(model: &str) -> Result<&str, TranslateError> {
    let id = model.strip_prefix("models/").unwrap_or(model);
    let valid = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    if valid {
        Ok(id)
    } else {
        Err(TranslateError::InvalidRequest(format!(
            "invalid Gemini model name {model:?}"
        )))
    }
}

type Turns = (Vec<wire::Content>, Option<wire::Content>);

fn convert_messages(messages: &[Message]) -> Result<Turns, TranslateError> {
    let mut contents: Vec<wire::Content> = Vec::new();
    let mut system: Vec<Part> = Vec::new();
    // Tool call id -> function name, from the assistant turns seen so far.
    let mut call_names: HashMap<&str, &str> = HashMap::new();
    let mut previous_was_tool = false;
    for m in messages {
        let is_tool = matches!(m.role.as_str(), "tool" | "function");
        match m.role.as_str() {
            "system" | "developer" => system.extend(system_parts(m.content.as_ref())?),
            "user" => push_turn(&mut contents, "user", user_parts(m.content.as_ref())?),
            "assistant" => {
                let mut parts = assistant_text_parts(m.content.as_ref());
                for call in m.tool_calls.iter().flatten() {
                    call_names.insert(call.id.as_str(), call.function.name.as_str());
                    parts.push(function_call_part(call)?);
                }
                thinking::restore_signature(m.thinking_blocks.as_deref(), &mut parts);
                push_turn(&mut contents, "model", parts);
            }
            _ if is_tool => {
                let part = function_response_part(m, &call_names)?;
                // Gemini wants all responses to one model turn's calls in a single turn.
                match contents.last_mut() {
                    Some(last) if previous_was_tool => last.parts.push(part),
                    _ => push_turn(&mut contents, "user", vec![part]),
                }
            }
            other => {
                return Err(TranslateError::InvalidRequest(format!(
                    "unknown message role {other:?}"
                )))
            }
        }
        // System messages add no turn, so they do not split a run of tool responses.
        if !matches!(m.role.as_str(), "system" | "developer") {
            previous_was_tool = is_tool;
        }
    }
    let system_instruction = (!system.is_empty()).then(|| wire::Content {
        role: None,
        parts: system,
    });
    Ok((contents, system_instruction))
}

/// Adds a turn; a message with nothing Gemini can carry (e.g. empty text) is left out.
fn push_turn(contents: &mut Vec<wire::Content>, role: &str, parts: Vec<Part>) {
    if !parts.is_empty() {
        contents.push(wire::Content {
            role: Some(role.to_string()),
            parts,
        });
    }
}

fn text_part(text: &str) -> Option<Part> {
    // Gemini refuses empty text parts.
    (!text.is_empty()).then(|| Part::text(text))
}

fn system_parts(content: Option<&Content>) -> Result<Vec<Part>, TranslateError> {
    content_blocks(content, text_part, |p| {
        Ok(text_only(p, "Gemini system instructions")?.and_then(text_part))
    })
}

fn assistant_text_parts(content: Option<&Content>) -> Vec<Part> {
    content_blocks(content, text_part, |p| Ok(part_text(p).and_then(text_part))).unwrap_or_default()
}

fn user_parts(content: Option<&Content>) -> Result<Vec<Part>, TranslateError> {
    content_blocks(content, text_part, user_part)
}

fn user_part(p: &ContentPart) -> Result<Option<Part>, TranslateError> {
    match p.kind.as_str() {
        "text" => Ok(p.text.as_deref().and_then(text_part)),
        "image_url" => {
            let url = p.image_url_str()?;
            media_part(url).map(Some)
        }
        "input_audio" => {
            let audio = p.extra.get("input_audio");
            let field = |name: &str| audio.and_then(|a| a.get(name)).and_then(Value::as_str);
            let (Some(data), Some(format)) = (field("data"), field("format")) else {
                return Err(TranslateError::InvalidRequest(
                    "input_audio part needs data and format".to_string(),
                ));
            };
            Ok(Some(Part {
                inline_data: Some(Blob {
                    mime_type: format!("audio/{format}"),
                    data: data.to_string(),
                }),
                ..Part::default()
            }))
        }
        "file" => {
            let data = p.extra.get("file").and_then(|f| f.get("file_data"));
            match data.and_then(Value::as_str) {
                Some(url) if url.starts_with("data:") => media_part(url).map(Some),
                _ => Err(TranslateError::Unsupported(
                    "Gemini takes file parts only as data URLs (file_data)".to_string(),
                )),
            }
        }
        other => Err(TranslateError::Unsupported(format!(
            "content part type {other:?} is not supported for Gemini"
        ))),
    }
}

/// An image (or file) URL as a part: `data:` URLs inline, http(s) URLs by reference.
fn media_part(url: &str) -> Result<Part, TranslateError> {
    if let Some(rest) = url.strip_prefix("data:") {
        let (meta, data) = rest.split_once(',').unwrap_or((rest, ""));
        let Some(mime) = meta.strip_suffix(";base64") else {
            return Err(TranslateError::Unsupported(
                "only base64 data URLs can be sent to Gemini".to_string(),
            ));
        };
        let mime = mime.split(';').next().unwrap_or("");
        let mime = match mime {
            "" | "image/jpg" => "image/jpeg",
            m => m,
        };
        return Ok(Part {
            inline_data: Some(Blob {
                mime_type: mime.to_string(),
                data: data.to_string(),
            }),
            ..Part::default()
        });
    }
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return Err(TranslateError::Unsupported(format!(
            "Gemini takes data: or http(s) URLs, not {url:?}"
        )));
    }
    Ok(Part {
        file_data: Some(FileData {
            mime_type: Some(mime_from_url(url).to_string()),
            file_uri: url.to_string(),
        }),
        ..Part::default()
    })
}

fn mime_from_url(url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let file = path.rsplit('/').next().unwrap_or(path);
    let ext = file.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        Some("gif") => "image/gif",
        Some("heic") => "image/heic",
        Some("heif") => "image/heif",
        Some("pdf") => "application/pdf",
        _ => "image/jpeg",
    }
}

/// Splits a tool call id made by [`call_id`] into its own id and thought signature.
fn split_call_id(id: &str) -> (&str, Option<&str>) {
    match id.split_once(SIGNATURE_SEPARATOR) {
        Some((base, sig)) if !sig.is_empty() => (base, Some(sig)),
        _ => (id, None),
    }
}

fn function_call_part(call: &ToolCall) -> Result<Part, TranslateError> {
    let args = call.arguments_object()?;
    let (_, signature) = split_call_id(&call.id);
    Ok(Part {
        function_call: Some(wire::FunctionCall {
            id: None,
            name: call.function.name.clone(),
            args: Some(args),
        }),
        thought_signature: signature.map(str::to_string),
        ..Part::default()
    })
}

fn function_response_part(
    m: &Message,
    call_names: &HashMap<&str, &str>,
) -> Result<Part, TranslateError> {
    let id = m.tool_call_id.as_deref();
    let name = id
        .and_then(|id| call_names.get(id).copied())
        .or(m.name.as_deref())
        .ok_or_else(|| {
            TranslateError::InvalidRequest(format!(
                "tool message {:?} answers no earlier assistant tool call",
                id.unwrap_or("")
            ))
        })?;
    if let Some(Content::Parts(parts)) = &m.content {
        if let Some(p) = parts.iter().find(|p| p.kind != "text") {
            return Err(no_counterpart(
                &format!("a {:?} part in a tool result", p.kind),
                "Gemini (a function response is JSON)",
            ));
        }
    }
    let text = m.content.as_ref().map(Content::text).unwrap_or_default();
    let response = match serde_json::from_str::<Value>(&text) {
        Ok(v @ Value::Object(_)) => v,
        Ok(v) => json!({ "content": v }),
        Err(_) => json!({ "content": text }),
    };
    Ok(Part {
        function_response: Some(FunctionResponse {
            name: name.to_string(),
            response,
        }),
        ..Part::default()
    })
}

fn convert_tools(req: &ChatRequest) -> Result<Vec<Tool>, TranslateError> {
    let mut declarations = Vec::new();
    for tool in req.tools.iter().flatten() {
        if tool.kind != "function" {
            return Err(TranslateError::Unsupported(format!(
                "tool type {:?} is not supported for Gemini",
                tool.kind
            )));
        }
        let f = &tool.function;
        declarations.push(FunctionDeclaration {
            name: f.name.clone(),
            description: f.description.clone(),
            parameters: f
                .parameters
                .as_ref()
                .map(clean_schema)
                .filter(|p| !is_empty_object_schema(p)),
        });
    }
    if declarations.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![Tool {
        function_declarations: declarations,
    }])
}

fn convert_tool_choice(choice: Option<&Value>) -> Result<Option<ToolConfig>, TranslateError> {
    let Some(choice) = choice else {
        return Ok(None);
    };
    let (mode, names) = match choice {
        Value::String(s) => match s.as_str() {
            "auto" => ("AUTO", Vec::new()),
            "none" => ("NONE", Vec::new()),
            "required" => ("ANY", Vec::new()),
            other => {
                return Err(TranslateError::InvalidRequest(format!(
                    "unknown tool_choice {other:?}"
                )))
            }
        },
        Value::Object(_) => {
            let name = choice.pointer("/function/name").and_then(Value::as_str);
            match name {
                Some(name) => ("ANY", vec![name.to_string()]),
                None => {
                    return Err(TranslateError::Unsupported(
                        "tool_choice must be auto, none, required or a function".to_string(),
                    ))
                }
            }
        }
        Value::Null => return Ok(None),
        _ => {
            return Err(TranslateError::InvalidRequest(
                "tool_choice must be a string or an object".to_string(),
            ))
        }
    };
    Ok(Some(ToolConfig {
        function_calling_config: FunctionCallingConfig {
            mode,
            allowed_function_names: names,
        },
    }))
}

fn generation_config(
    req: &ChatRequest,
    model: &str,
) -> Result<Option<GenerationConfig>, TranslateError> {
    let (response_mime_type, response_schema) = match &req.response_format {
        None | Some(Value::Null) => (None, None),
        Some(rf) => match rf.get("type").and_then(Value::as_str) {
            Some("text") => (None, None),
            Some("json_object") => (Some("application/json"), None),
            Some("json_schema") => (
                Some("application/json"),
                rf.pointer("/json_schema/schema").map(clean_schema),
            ),
            _ => {
                return Err(TranslateError::Unsupported(
                    "response_format must be text, json_object or json_schema".to_string(),
                ))
            }
        },
    };
    let config = GenerationConfig {
        stop_sequences: req.stop.as_ref().map(|s| s.to_vec()).unwrap_or_default(),
        response_mime_type,
        response_schema,
        candidate_count: req.n,
        max_output_tokens: req.max_completion_tokens.or(req.max_tokens),
        temperature: req.temperature,
        top_p: req.top_p,
        seed: req.seed,
        presence_penalty: req.presence_penalty,
        frequency_penalty: req.frequency_penalty,
        top_k: req.top_k,
        thinking_config: thinking::thinking_config(req, model)?,
    };
    Ok((config != GenerationConfig::default()).then_some(config))
}
