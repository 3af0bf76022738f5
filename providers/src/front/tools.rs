//! The tools a request offers the model, read from any front door's body in one shape, for
//! telemetry (`llm.tools`): each tool's name, description and JSON Schema of its input.
//!
//! - Chat Completions: `tools[].function` `{name, description, parameters}`; a `custom` tool
//!   (free-text input) by its `custom.name` and description.
//! - Messages: `tools[]` `{name, description, input_schema}`; server tools (`web_search`,
//!   ...) by their `name`.
//! - Responses: `tools[]` `{name, description, parameters}` for functions; hosted tools
//!   (`web_search`, `file_search`, ...) by their `type`.
//! - Gemini: every `tools[].functionDeclarations[]` `{name, description, parameters` or
//!   `parametersJsonSchema}`; other tool kinds (`googleSearch`, `codeExecution`, ...) by
//!   their key.
//!
//! Read only when a log or span field reads `llm.tools`: the body is parsed again for it.

use serde::Deserialize;
use serde_json::Value;

use super::Front;

/// One tool offered to the model.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ToolDefinition {
    pub name: String,
    pub description: Option<String>,
    /// The JSON Schema of the tool's input, when it has one.
    pub parameters: Option<Value>,
}

/// The tools of a `front` request body, in the order given; none when the body has none or
/// cannot be read.
pub fn definitions(front: Front, body: &[u8]) -> Vec<ToolDefinition> {
    #[derive(Deserialize)]
    struct Tools {
        #[serde(default)]
        tools: Vec<Value>,
    }
    let Ok(Tools { tools }) = serde_json::from_slice::<Tools>(body) else {
        return Vec::new();
    };
    match front {
        Front::Chat => tools.iter().filter_map(chat_tool).collect(),
        Front::Messages => tools
            .iter()
            .filter_map(|t| named(t, "name", "description", "input_schema"))
            .collect(),
        Front::Responses => tools.iter().filter_map(responses_tool).collect(),
        Front::Gemini => tools.iter().flat_map(gemini_tools).collect(),
    }
}

/// `{<name>, <description>, <schema>}` of `v`, named by its `name` key.
fn named(v: &Value, name: &str, description: &str, schema: &str) -> Option<ToolDefinition> {
    Some(ToolDefinition {
        name: v.get(name)?.as_str()?.to_string(),
        description: v
            .get(description)
            .and_then(Value::as_str)
            .map(str::to_string),
        parameters: v.get(schema).filter(|s| !s.is_null()).cloned(),
    })
}

/// A tool known only by its kind (a hosted or built-in tool).
fn kind(name: &str) -> ToolDefinition {
    ToolDefinition {
        name: name.to_string(),
        ..ToolDefinition::default()
    }
}

fn chat_tool(t: &Value) -> Option<ToolDefinition> {
    match t.get("type").and_then(Value::as_str) {
        // A custom tool takes free text (its `format`), not a JSON Schema.
        Some("custom") => named(t.get("custom")?, "name", "description", "parameters"),
        _ => named(t.get("function")?, "name", "description", "parameters"),
    }
}

fn responses_tool(t: &Value) -> Option<ToolDefinition> {
    match t.get("type").and_then(Value::as_str)? {
        "function" | "custom" => named(t, "name", "description", "parameters"),
        hosted => Some(kind(hosted)),
    }
}

fn gemini_tools(t: &Value) -> Vec<ToolDefinition> {
    let Some(map) = t.as_object() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in map {
        match key.as_str() {
            "functionDeclarations" | "function_declarations" => {
                for f in value.as_array().into_iter().flatten() {
                    let schema = if f.get("parametersJsonSchema").is_some() {
                        "parametersJsonSchema"
                    } else {
                        "parameters"
                    };
                    out.extend(named(f, "name", "description", schema));
                }
            }
            other => out.push(kind(other)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn names(front: Front, body: Value) -> Vec<(String, Option<String>, Option<Value>)> {
        definitions(front, body.to_string().as_bytes())
            .into_iter()
            .map(|t| (t.name, t.description, t.parameters))
            .collect()
    }

    fn schema() -> Value {
        json!({"type": "object", "properties": {"city": {"type": "string"}}})
    }

    #[test]
    fn each_front_doors_tools_read_alike() {
        let weather = (
            "get_weather".to_string(),
            Some("Weather of a city".to_string()),
            Some(schema()),
        );
        let chat = json!({"tools": [{"type": "function", "function": {"name": "get_weather",
            "description": "Weather of a city", "parameters": schema()}}]});
        assert_eq!(names(Front::Chat, chat), std::slice::from_ref(&weather));
        let messages = json!({"tools": [
            {"name": "get_weather", "description": "Weather of a city", "input_schema": schema()},
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}]});
        assert_eq!(
            names(Front::Messages, messages),
            [weather.clone(), ("web_search".to_string(), None, None)]
        );
        let responses = json!({"tools": [
            {"type": "function", "name": "get_weather", "description": "Weather of a city",
             "parameters": schema()},
            {"type": "web_search"}]});
        assert_eq!(
            names(Front::Responses, responses),
            [weather.clone(), ("web_search".to_string(), None, None)]
        );
        let gemini = json!({"tools": [
            {"functionDeclarations": [{"name": "get_weather", "description": "Weather of a city",
                                       "parametersJsonSchema": schema()}]},
            {"googleSearch": {}}]});
        assert_eq!(
            names(Front::Gemini, gemini),
            [weather, ("googleSearch".to_string(), None, None)]
        );
    }

    #[test]
    fn no_tools_or_an_unreadable_body_is_none() {
        assert!(names(Front::Chat, json!({"messages": []})).is_empty());
        assert!(definitions(Front::Messages, b"not json").is_empty());
        // A tool without a name is left out, not made up.
        assert!(names(Front::Chat, json!({"tools": [{"type": "function"}]})).is_empty());
    }
}
