//! `tools`, `toolConfig` and `generationConfig` of a Gemini request as hub fields, and Gemini's
//! `Schema` as JSON Schema; what becomes of each field is listed in the
//! [parent module's docs](super).

use serde_json::{json, Map, Value};

use super::{array, fields, integer, invalid, number, refuse, string, unsigned};
use crate::openai::{ChatRequest, FunctionDef, Stop, Tool};
use crate::TranslateError;

/// One `tools[]` entry: its function declarations as hub tools; other tools are refused.
pub(super) fn declarations(t: &Value, at: &str, out: &mut Vec<Tool>) -> Result<(), TranslateError> {
    for (key, name, value) in fields(t, at)? {
        if name != "functionDeclarations" {
            return Err(refuse(&format!("{at}.{key}")));
        }
        for (i, d) in array(value, &format!("{at}.{key}"))?.iter().enumerate() {
            out.push(declaration(d, &format!("{at}.{key}[{i}]"))?);
        }
    }
    Ok(())
}

fn declaration(d: &Value, at: &str) -> Result<Tool, TranslateError> {
    let mut f = FunctionDef::default();
    let mut name = None;
    for (key, fname, value) in fields(d, at)? {
        let at = format!("{at}.{key}");
        match fname.as_ref() {
            "name" => name = Some(string(value, &at)?.to_string()),
            "description" => f.description = Some(string(value, &at)?.to_string()),
            "parameters" => f.parameters = Some(json_schema(value, &at)?),
            "parametersJsonSchema" => f.parameters = Some(value.clone()),
            "response" | "responseJsonSchema" => {}
            "behavior"
                if value
                    .as_str()
                    .is_some_and(|b| b.eq_ignore_ascii_case("BLOCKING")) => {}
            _ => return Err(refuse(&at)),
        }
    }
    f.name = name.ok_or_else(|| invalid(format!("{at}: `name` is required")))?;
    if f.parameters.is_none() {
        f.parameters = Some(json!({"type": "object", "properties": {}}));
    }
    Ok(Tool {
        kind: "function".to_string(),
        function: f,
        extra: Map::new(),
    })
}

/// `toolConfig` → the hub `tool_choice`, and the names tools are cut down to (module docs).
pub(super) type Choice = Option<(Value, Option<Vec<String>>)>;

pub(super) fn tool_config(v: &Value, at: &str) -> Result<Choice, TranslateError> {
    let mut choice = None;
    for (key, name, value) in fields(v, at)? {
        let at = format!("{at}.{key}");
        match name.as_ref() {
            "functionCallingConfig" => choice = function_calling(value, &at)?,
            "retrievalConfig" => {}
            "includeServerSideToolInvocations" if value == &Value::Bool(false) => {}
            _ => return Err(refuse(&at)),
        }
    }
    Ok(choice)
}

fn function_calling(v: &Value, at: &str) -> Result<Choice, TranslateError> {
    let (mut mode, mut names) = ("AUTO".to_string(), Vec::new());
    let mut mode_at = format!("{at}.mode");
    for (key, name, value) in fields(v, at)? {
        let at = format!("{at}.{key}");
        match name.as_ref() {
            "mode" => {
                mode = string(value, &at)?.to_ascii_uppercase();
                mode_at = at;
            }
            "allowedFunctionNames" => {
                for (i, n) in array(value, &at)?.iter().enumerate() {
                    names.push(string(n, &format!("{at}[{i}]"))?.to_string());
                }
            }
            _ => return Err(refuse(&at)),
        }
    }
    let restrict = |names: Vec<String>| (!names.is_empty()).then_some(names);
    Ok(Some(match mode.as_str() {
        "AUTO" | "MODE_UNSPECIFIED" | "NONE" if !names.is_empty() => {
            return Err(invalid(format!(
                "{at}: `allowedFunctionNames` is only allowed with mode ANY or VALIDATED"
            )))
        }
        "AUTO" | "MODE_UNSPECIFIED" => (json!("auto"), None),
        "NONE" => (json!("none"), None),
        "ANY" if names.len() == 1 => (
            json!({"type": "function", "function": {"name": names[0]}}),
            None,
        ),
        "ANY" => (json!("required"), restrict(names)),
        "VALIDATED" => (json!("auto"), restrict(names)),
        other => {
            return Err(invalid(format!(
                "`{mode_at}`: unknown mode `{other}`; expected AUTO, ANY, NONE or VALIDATED"
            )))
        }
    }))
}

pub(super) fn generation_config(
    v: &Value,
    at: &str,
    req: &mut ChatRequest,
) -> Result<(), TranslateError> {
    let mut mime: Option<(String, String)> = None;
    let mut schema = None;
    for (key, name, value) in fields(v, at)? {
        let at = format!("{at}.{key}");
        match name.as_ref() {
            "temperature" => req.temperature = Some(number(value, &at)?),
            "topP" => req.top_p = Some(number(value, &at)?),
            "topK" => req.top_k = Some(unsigned(value, &at)?),
            "maxOutputTokens" => req.max_tokens = Some(unsigned(value, &at)?),
            "candidateCount" => {
                let n = u32::try_from(unsigned(value, &at)?)
                    .map_err(|_| invalid(format!("`{at}` is too large")))?;
                req.n = Some(n);
            }
            "presencePenalty" => req.presence_penalty = Some(number(value, &at)?),
            "frequencyPenalty" => req.frequency_penalty = Some(number(value, &at)?),
            "seed" => req.seed = Some(integer(value, &at)?),
            "stopSequences" => {
                let stops = array(value, &at)?
                    .iter()
                    .map(|s| string(s, &at).map(str::to_string))
                    .collect::<Result<Vec<_>, _>>()?;
                req.stop = (!stops.is_empty()).then_some(Stop::Many(stops));
            }
            "responseMimeType" => mime = Some((string(value, &at)?.to_ascii_lowercase(), at)),
            "responseSchema" => schema = Some(json_schema(value, &at)?),
            "responseJsonSchema" | "_responseJsonSchema" => schema = Some(value.clone()),
            "thinkingConfig" => thinking_config(value, &at, req)?,
            "responseModalities" => {
                for (i, m) in array(value, &at)?.iter().enumerate() {
                    let m = string(m, &format!("{at}[{i}]"))?;
                    if !m.eq_ignore_ascii_case("TEXT") {
                        return Err(refuse(&format!("{at}: {m}")));
                    }
                }
            }
            "responseLogprobs" | "enableEnhancedCivicAnswers" if value == &Value::Bool(false) => {}
            "logprobs" if value.as_u64() == Some(0) => {}
            _ => return Err(refuse(&at)),
        }
    }
    let mime_type = mime.as_ref().map(|(m, _)| m.as_str());
    req.response_format = match (mime_type, schema) {
        (None | Some("application/json"), Some(schema)) => Some(json!({
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": schema},
        })),
        (Some("application/json"), None) => Some(json!({"type": "json_object"})),
        (None | Some("text/plain"), None) => None,
        (Some("text/plain"), Some(_)) => {
            return Err(invalid(format!(
                "{at}: a response schema needs `responseMimeType: application/json`"
            )))
        }
        (Some(_), _) => {
            let (m, at) = mime.unwrap_or_default();
            return Err(refuse(&format!("{at}: {m}")));
        }
    };
    Ok(())
}

/// `thinkingConfig` → hub `thinking` (a budget) or `reasoning_effort` (a level).
fn thinking_config(v: &Value, at: &str, req: &mut ChatRequest) -> Result<(), TranslateError> {
    let (mut budget, mut level) = (None, None);
    for (key, name, value) in fields(v, at)? {
        let at = format!("{at}.{key}");
        match name.as_ref() {
            "includeThoughts" => {}
            "thinkingBudget" => budget = Some(integer(value, &at)?),
            "thinkingLevel" => {
                level = match string(value, &at)?.to_ascii_lowercase().as_str() {
                    "thinking_level_unspecified" => None,
                    l @ ("minimal" | "low" | "medium" | "high") => Some(l.to_string()),
                    other => {
                        return Err(invalid(format!(
                            "`{at}`: unknown level `{other}`; expected MINIMAL, LOW, MEDIUM or HIGH"
                        )))
                    }
                }
            }
            _ => return Err(refuse(&at)),
        }
    }
    if budget.is_some() && level.is_some() {
        return Err(invalid(format!(
            "{at}: `thinkingBudget` and `thinkingLevel` cannot both be set"
        )));
    }
    req.thinking = match budget {
        None => None,
        Some(0) => Some(json!({"type": "disabled"})),
        Some(b) if b < 0 => Some(json!({"type": "adaptive"})),
        Some(b) => Some(json!({"type": "enabled", "budget_tokens": b.max(1024)})),
    };
    req.reasoning_effort = level;
    Ok(())
}

/// Gemini's `Schema` (OpenAPI 3.0 subset) → JSON Schema (module docs); other keys refused.
fn json_schema(s: &Value, at: &str) -> Result<Value, TranslateError> {
    let mut out = Map::new();
    let mut nullable = false;
    for (key, name, value) in fields(s, at)? {
        let at = format!("{at}.{key}");
        let value = match name.as_ref() {
            "type" => match string(value, &at)?.to_ascii_lowercase().as_str() {
                "type_unspecified" => continue,
                t => json!(t),
            },
            "nullable" => {
                nullable = value.as_bool() == Some(true);
                continue;
            }
            "format" if value == "enum" => continue,
            "propertyOrdering" => continue,
            "format" | "title" | "description" | "enum" | "required" | "pattern" | "default"
            | "minimum" | "maximum" => value.clone(),
            "maxItems" | "minItems" | "minProperties" | "maxProperties" | "minLength"
            | "maxLength" => json!(unsigned(value, &at)?),
            "example" => {
                out.insert("examples".to_string(), json!([value]));
                continue;
            }
            "items" => json_schema(value, &at)?,
            "additionalProperties" if value.is_boolean() => value.clone(),
            "additionalProperties" => json_schema(value, &at)?,
            "anyOf" => Value::Array(
                array(value, &at)?
                    .iter()
                    .enumerate()
                    .map(|(i, s)| json_schema(s, &format!("{at}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            "properties" | "defs" | "$defs" => {
                let mut props = Map::new();
                for (prop, s) in value.as_object().into_iter().flatten() {
                    props.insert(prop.clone(), json_schema(s, &format!("{at}.{prop}"))?);
                }
                let name = if name == "properties" {
                    "properties"
                } else {
                    "$defs"
                };
                out.insert(name.to_string(), Value::Object(props));
                continue;
            }
            "ref" | "$ref" => {
                let r = string(value, &at)?;
                let r = r
                    .strip_prefix("#/defs/")
                    .map_or_else(|| r.to_string(), |n| format!("#/$defs/{n}"));
                out.insert("$ref".to_string(), json!(r));
                continue;
            }
            _ => return Err(refuse(&at)),
        };
        out.insert(name.into_owned(), value);
    }
    if nullable {
        match out.get_mut("type") {
            Some(t @ Value::String(_)) => *t = json!([t.clone(), "null"]),
            _ => {
                if let Some(Value::Array(any)) = out.get_mut("anyOf") {
                    any.push(json!({"type": "null"}));
                }
            }
        }
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::front::gemini::request_to_hub;

    #[test]
    fn function_calling_modes_map_to_tool_choice() {
        let tools = json!([{"functionDeclarations": [{"name": "f"}, {"name": "g"}]}]);
        let cases = [
            (json!({"mode": "AUTO"}), json!("auto"), 2),
            (json!({"mode": "NONE"}), json!("none"), 2),
            (json!({"mode": "ANY"}), json!("required"), 2),
            (
                json!({"mode": "ANY", "allowedFunctionNames": ["g"]}),
                json!({"type": "function", "function": {"name": "g"}}),
                2,
            ),
            (json!({"mode": "VALIDATED"}), json!("auto"), 2),
            (
                json!({"mode": "VALIDATED", "allowedFunctionNames": ["f"]}),
                json!("auto"),
                1,
            ),
            (json!({"mode": "any"}), json!("required"), 2),
        ];
        for (config, want, n_tools) in cases {
            let body = json!({
                "contents": [{"parts": [{"text": "x"}]}],
                "tools": tools,
                "toolConfig": {"functionCallingConfig": config},
            });
            let req = request_to_hub(body.to_string().as_bytes(), "m").unwrap();
            assert_eq!(req.tool_choice, Some(want), "{config}");
            assert_eq!(req.tools.map(|t| t.len()), Some(n_tools), "{config}");
        }
        // A tool config without tools asks nothing.
        let body = json!({"contents": [{"parts": [{"text": "x"}]}],
                          "toolConfig": {"functionCallingConfig": {"mode": "ANY"}}});
        let req = request_to_hub(body.to_string().as_bytes(), "m").unwrap();
        assert_eq!((req.tools, req.tool_choice), (None, None));
    }

    #[test]
    fn thinking_config_maps_to_the_hub_intent() {
        let cases = [
            (
                json!({"thinkingBudget": 0}),
                Some(json!({"type": "disabled"})),
                None,
            ),
            (
                json!({"thinkingBudget": -1}),
                Some(json!({"type": "adaptive"})),
                None,
            ),
            (
                json!({"thinkingBudget": 20000}),
                Some(json!({"type": "enabled", "budget_tokens": 20000})),
                None,
            ),
            (json!({"thinkingLevel": "MINIMAL"}), None, Some("minimal")),
            (json!({"thinking_level": "medium"}), None, Some("medium")),
            (json!({"includeThoughts": true}), None, None),
        ];
        for (config, thinking, effort) in cases {
            let body = json!({"contents": [{"parts": [{"text": "x"}]}],
                              "generationConfig": {"thinkingConfig": config}});
            let req = request_to_hub(body.to_string().as_bytes(), "m").unwrap();
            assert_eq!(req.thinking, thinking, "{config}");
            assert_eq!(req.reasoning_effort.as_deref(), effort, "{config}");
        }
    }
}
