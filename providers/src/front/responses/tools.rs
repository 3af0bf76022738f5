//! The Responses API's client-run tools, as hub function tools and back. Flat `function`
//! tools become chat's nested functions; and so that coding agents (Codex sends all of these
//! by default) keep their tools on any provider:
//!
//! - a `custom` tool (free-form input, e.g. Codex's `apply_patch`) becomes a function taking
//!   one string, `input`; its `format` (a Lark or regex grammar) is added to the description,
//!   so the model knows the form its input takes. The model's call comes back as a
//!   `custom_tool_call` with that `input`; `custom_tool_call` and `custom_tool_call_output`
//!   items in `input` go back as the function's call and result;
//! - a `namespace` tool's functions and custom tools become functions named
//!   `<namespace>__<name>`; their calls come back as `function_call` items with `namespace`
//!   and `name` apart, and such items in `input` go back under the joined name;
//! - `tool_search` (the discovery of `defer_loading` tools) is left out: deferred tools are
//!   offered to the model up front when translated, so there is nothing to discover.
//!
//! Tools OpenAI runs itself (`web_search`, `file_search`, `code_interpreter`, `computer_use`,
//! `image_generation`, `mcp`, `shell`, `apply_patch`, `local_shell`, ...) have no counterpart
//! on another provider and are refused with a 400 that names them.

use serde_json::{json, Map, Value};

use super::to_hub::{invalid, opt_str, ACROSS};
use crate::error::no_counterpart;
use crate::openai::{FunctionDef, Tool};
use crate::TranslateError;

/// Joins a namespace and a tool name into the hub function's name.
const NAMESPACE_SEPARATOR: &str = "__";

/// What a hub function stands for on the Responses side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToolKind {
    Function,
    /// A `custom` tool: one string of input.
    Custom,
    /// A function or custom tool of a `namespace`.
    Namespaced {
        namespace: String,
        name: String,
        custom: bool,
    },
}

/// The hub function names that do not stand for a plain function, read from a request's
/// `tools`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ToolMap {
    special: Vec<(String, ToolKind)>,
}

impl ToolMap {
    /// The map of a request's `tools` (lenient: the request was checked by
    /// [`hub_tools`] already).
    pub fn read(tools: &Value) -> ToolMap {
        let mut special = Vec::new();
        for tool in tools.as_array().into_iter().flatten() {
            let name = tool.get("name").and_then(Value::as_str).unwrap_or_default();
            match tool.get("type").and_then(Value::as_str) {
                Some("custom") => special.push((name.to_string(), ToolKind::Custom)),
                Some("namespace") => {
                    for inner in tool
                        .get("tools")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        let inner_name = inner
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        let custom = inner.get("type").and_then(Value::as_str) == Some("custom");
                        special.push((
                            joined(name, inner_name),
                            ToolKind::Namespaced {
                                namespace: name.to_string(),
                                name: inner_name.to_string(),
                                custom,
                            },
                        ));
                    }
                }
                _ => {}
            }
        }
        ToolMap { special }
    }

    /// What the hub function `name` stands for.
    pub fn kind(&self, name: &str) -> ToolKind {
        self.special
            .iter()
            .find(|(n, _)| n == name)
            .map_or(ToolKind::Function, |(_, k)| k.clone())
    }
}

/// The hub function name of `name` in `namespace`.
pub(super) fn joined(namespace: &str, name: &str) -> String {
    format!("{namespace}{NAMESPACE_SEPARATOR}{name}")
}

/// The hub arguments of a custom tool's call: `{"input": <text>}`.
pub(super) fn custom_arguments(input: &str) -> String {
    json!({ "input": input }).to_string()
}

/// A custom tool's input from the hub arguments (as given when they are not the object).
pub(super) fn custom_input(arguments: &str) -> String {
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(mut o)) => match o.remove("input") {
            Some(Value::String(s)) => s,
            Some(other) => other.to_string(),
            None => String::new(),
        },
        _ => arguments.to_string(),
    }
}

/// The id prefix of the output item for a call of `kind`, as OpenAI's.
pub(super) fn item_prefix(kind: &ToolKind) -> &'static str {
    match kind {
        ToolKind::Custom | ToolKind::Namespaced { custom: true, .. } => "ctc",
        _ => "fc",
    }
}

/// The output item for a hub tool call of `kind` (`arguments` may still be empty).
pub(super) fn call_item(
    kind: &ToolKind,
    id: &str,
    status: &str,
    call_id: &str,
    name: &str,
    arguments: &str,
) -> Value {
    // As OpenAI's `custom_tool_call` items: no `status`.
    let custom = |name: &str| {
        json!({"id": id, "type": "custom_tool_call", "call_id": call_id,
               "name": name, "input": custom_input(arguments)})
    };
    let function = |name: &str| {
        json!({"id": id, "type": "function_call", "status": status, "call_id": call_id,
               "name": name, "arguments": arguments})
    };
    match kind {
        ToolKind::Function => function(name),
        ToolKind::Custom => custom(name),
        ToolKind::Namespaced {
            namespace,
            name,
            custom: is_custom,
        } => {
            let mut item = if *is_custom {
                custom(name)
            } else {
                function(name)
            };
            item["namespace"] = json!(namespace);
            item
        }
    }
}

/// A request's `tools` → the hub's tools (module docs).
pub(super) fn hub_tools(v: &Value) -> Result<Option<Vec<Tool>>, TranslateError> {
    let items = match v {
        Value::Null => return Ok(None),
        Value::Array(items) => items,
        _ => return Err(invalid("`tools` must be an array")),
    };
    let mut tools = Vec::with_capacity(items.len());
    for (i, t) in items.iter().enumerate() {
        let at = format!("tools[{i}]");
        let obj = t
            .as_object()
            .ok_or_else(|| invalid(format!("`{at}` must be an object")))?;
        match obj.get("type").and_then(Value::as_str) {
            Some("function") => tools.push(function_tool(obj, &at, None)?),
            Some("custom") => tools.push(custom_tool(obj, &at, None)?),
            Some("namespace") => namespace_tools(obj, &at, &mut tools)?,
            Some("tool_search") => {}
            Some(other) => return Err(no_counterpart(&format!("{at}.type: {other}"), ACROSS)),
            None => return Err(invalid(format!("{at}: `type` is required"))),
        }
    }
    let mut names: Vec<&str> = tools.iter().map(|t| t.function.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(invalid(format!("`tools`: two tools are named {:?}", w[0])));
    }
    Ok((!tools.is_empty()).then_some(tools))
}

fn namespace_tools(
    obj: &Map<String, Value>,
    at: &str,
    tools: &mut Vec<Tool>,
) -> Result<(), TranslateError> {
    let namespace = obj
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid(format!("{at}: `name` is required")))?;
    for key in obj.keys() {
        if !matches!(key.as_str(), "type" | "name" | "description" | "tools") {
            return Err(no_counterpart(&format!("{at}.{key}"), ACROSS));
        }
    }
    let inner = obj
        .get("tools")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid(format!("{at}: `tools` must be an array")))?;
    let about = obj.get("description").and_then(Value::as_str);
    for (j, t) in inner.iter().enumerate() {
        let at = format!("{at}.tools[{j}]");
        let o = t
            .as_object()
            .ok_or_else(|| invalid(format!("`{at}` must be an object")))?;
        let ns = Some((namespace, about));
        match o.get("type").and_then(Value::as_str) {
            Some("function") => tools.push(function_tool(o, &at, ns)?),
            Some("custom") => tools.push(custom_tool(o, &at, ns)?),
            Some(other) => return Err(no_counterpart(&format!("{at}.type: {other}"), ACROSS)),
            None => return Err(invalid(format!("{at}: `type` is required"))),
        }
    }
    Ok(())
}

/// A namespace and its description, for the tools in it.
type Namespace<'a> = Option<(&'a str, Option<&'a str>)>;

fn hub_name(name: &str, ns: Namespace<'_>) -> String {
    match ns {
        Some((namespace, _)) => joined(namespace, name),
        None => name.to_string(),
    }
}

/// A description with its namespace's before it.
fn described(description: Option<String>, ns: Namespace<'_>) -> Option<String> {
    match (ns.and_then(|(_, about)| about), description) {
        (Some(about), Some(d)) => Some(format!("{about}\n\n{d}")),
        (Some(about), None) => Some(about.to_string()),
        (None, d) => d,
    }
}

/// A function tool (flat in Responses) as the hub's (nested) tool.
fn function_tool(
    obj: &Map<String, Value>,
    at: &str,
    ns: Namespace<'_>,
) -> Result<Tool, TranslateError> {
    let mut function = FunctionDef::default();
    for (key, value) in obj {
        match key.as_str() {
            "type" | "defer_loading" => {}
            "name" => {
                function.name = opt_str(value, &format!("{at}.name"))?
                    .unwrap_or_default()
                    .to_string()
            }
            "description" => {
                function.description =
                    opt_str(value, &format!("{at}.description"))?.map(str::to_string)
            }
            "parameters" => function.parameters = Some(value.clone()).filter(|p| !p.is_null()),
            "strict" => {
                if !value.is_null() {
                    function.extra.insert(key.clone(), value.clone());
                }
            }
            other => {
                if !value.is_null() {
                    return Err(no_counterpart(&format!("{at}.{other}"), ACROSS));
                }
            }
        }
    }
    if function.name.is_empty() {
        return Err(invalid(format!("{at}: `name` is required")));
    }
    function.name = hub_name(&function.name, ns);
    function.description = described(function.description, ns);
    Ok(Tool {
        kind: "function".to_string(),
        function,
        extra: Map::new(),
    })
}

/// A custom tool as a hub function of one string, `input` (module docs).
fn custom_tool(
    obj: &Map<String, Value>,
    at: &str,
    ns: Namespace<'_>,
) -> Result<Tool, TranslateError> {
    let mut name = None;
    let mut description = None;
    let mut form = None;
    for (key, value) in obj {
        match key.as_str() {
            "type" | "defer_loading" => {}
            "name" => name = opt_str(value, &format!("{at}.name"))?,
            "description" => description = opt_str(value, &format!("{at}.description"))?,
            "format" => form = input_form(value, &format!("{at}.format"))?,
            other => {
                if !value.is_null() {
                    return Err(no_counterpart(&format!("{at}.{other}"), ACROSS));
                }
            }
        }
    }
    let name = name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid(format!("{at}: `name` is required")))?;
    let input_about = match &form {
        Some(form) => format!("The tool's whole input, as free text. {form}"),
        None => "The tool's whole input, as free text.".to_string(),
    };
    let description = match (description, &form) {
        (Some(d), Some(form)) => Some(format!("{d}\n\n{form}")),
        (Some(d), None) => Some(d.to_string()),
        (None, form) => form.clone(),
    };
    Ok(Tool {
        kind: "function".to_string(),
        function: FunctionDef {
            name: hub_name(name, ns),
            description: described(description, ns),
            parameters: Some(json!({
                "type": "object",
                "properties": {"input": {"type": "string", "description": input_about}},
                "required": ["input"],
                "additionalProperties": false,
            })),
            ..FunctionDef::default()
        },
        extra: Map::new(),
    })
}

/// A custom tool's `format`, as a sentence for the model: free text says nothing; a grammar
/// is given whole.
fn input_form(v: &Value, at: &str) -> Result<Option<String>, TranslateError> {
    if v.is_null() {
        return Ok(None);
    }
    let obj = v
        .as_object()
        .ok_or_else(|| invalid(format!("`{at}` must be an object")))?;
    match obj.get("type").and_then(Value::as_str) {
        Some("text") => Ok(None),
        Some("grammar") => {
            let syntax = obj.get("syntax").and_then(Value::as_str).unwrap_or("lark");
            let definition = obj
                .get("definition")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(format!("{at}: a grammar needs its `definition`")))?;
            Ok(Some(format!(
                "The input must follow this {syntax} grammar:\n{definition}"
            )))
        }
        Some(other) => Err(no_counterpart(&format!("{at}.type: {other}"), ACROSS)),
        None => Err(invalid(format!("{at}: `type` is required"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codex_tools() -> Value {
        json!([
            {"type": "function", "name": "exec_command", "parameters": {"type": "object"}, "strict": false},
            {"type": "custom", "name": "apply_patch", "description": "Edit files.",
             "format": {"type": "grammar", "syntax": "lark", "definition": "start: \"*** Begin Patch\""}},
            {"type": "namespace", "name": "multi_agent_v1", "description": "Sub-agents.",
             "tools": [{"type": "function", "name": "spawn", "description": "Spawn one.", "parameters": {"type": "object"}}]},
            {"type": "tool_search", "execution": "client", "description": "Find tools", "parameters": {"type": "object"}}
        ])
    }

    #[test]
    fn custom_namespaced_and_discovery_tools_become_functions_or_nothing() {
        let tools = hub_tools(&codex_tools()).unwrap().unwrap();
        let names: Vec<&str> = tools.iter().map(|t| t.function.name.as_str()).collect();
        assert_eq!(
            names,
            ["exec_command", "apply_patch", "multi_agent_v1__spawn"]
        );
        let patch = &tools[1].function;
        assert_eq!(
            patch.description.as_deref(),
            Some("Edit files.\n\nThe input must follow this lark grammar:\nstart: \"*** Begin Patch\"")
        );
        assert_eq!(
            patch.parameters.as_ref().unwrap()["required"],
            json!(["input"])
        );
        assert_eq!(
            tools[2].function.description.as_deref(),
            Some("Sub-agents.\n\nSpawn one.")
        );
        let hosted = json!([{"type": "web_search", "external_web_access": false}]);
        let err = hub_tools(&hosted).unwrap_err().to_string();
        assert!(err.contains("tools[0].type: web_search"), "{err}");
        let twice = json!([{"type": "function", "name": "a__b"},
            {"type": "namespace", "name": "a", "description": "", "tools": [{"type": "function", "name": "b"}]}]);
        assert!(hub_tools(&twice).unwrap_err().to_string().contains("a__b"));
    }

    #[test]
    fn calls_come_back_as_the_tool_kind_they_stand_for() {
        let map = ToolMap::read(&codex_tools());
        assert_eq!(map.kind("exec_command"), ToolKind::Function);
        let patch = call_item(
            &map.kind("apply_patch"),
            "ctc_1",
            "completed",
            "call_1",
            "apply_patch",
            &custom_arguments("*** Begin Patch\n"),
        );
        assert_eq!(
            patch,
            json!({"id": "ctc_1", "type": "custom_tool_call",
                   "call_id": "call_1", "name": "apply_patch", "input": "*** Begin Patch\n"})
        );
        let spawn = call_item(
            &map.kind("multi_agent_v1__spawn"),
            "fc_1",
            "completed",
            "call_2",
            "multi_agent_v1__spawn",
            "{}",
        );
        assert_eq!(spawn["type"], "function_call");
        assert_eq!(spawn["name"], "spawn");
        assert_eq!(spawn["namespace"], "multi_agent_v1");
    }
}
