//! The request's facts as CEL values, and as [`Out`] values for plain paths: each
//! [`Var`] (`llm.prompt`, `request.method`, ...) and the value it builds from the record,
//! borrowing the record's strings. Nothing is built ahead of use ([`super::resolver`] asks for
//! one variable at a time). Absent facts (an `Option` that is `None`, `llm` on a request that
//! reached no LLM) are absent keys, so an expression touching them fails with "no such key".

use std::collections::HashMap;

use cel::common::types::{
    CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString,
};
use cel::common::value::Val;

use super::json::json_val;
use super::out::Out;
use crate::facts::{Choice, LlmFacts, Needs, RequestRecord, ToolCall, ToolDefinition};

/// A top-level variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Root {
    Llm,
    Request,
    Response,
    Source,
}

impl Root {
    pub(crate) fn parse(name: &str) -> Option<Root> {
        Some(match name {
            "llm" => Root::Llm,
            "request" => Root::Request,
            "response" => Root::Response,
            "source" => Root::Source,
            _ => return None,
        })
    }

    /// The fields of this root, canonical (camelCase) names, in the order a map of it lists them.
    pub(crate) fn vars(self) -> &'static [Var] {
        match self {
            Root::Llm => &LLM_VARS,
            Root::Request => &[Var::Method, Var::Path, Var::Host, Var::Headers],
            Root::Response => &[Var::Status],
            Root::Source => &[Var::Address],
        }
    }

    /// Whether the root exists for this request.
    pub(super) fn present(self, rec: &RequestRecord) -> bool {
        self != Root::Llm || rec.llm.is_some()
    }

    /// The whole root as one value: every present field, in canonical order.
    pub(crate) fn to_out(self, rec: &RequestRecord) -> Option<Out<'_>> {
        if !self.present(rec) {
            return None;
        }
        let entries = self
            .vars()
            .iter()
            .filter_map(|v| Some((v.name().into(), v.to_out(rec)?)))
            .collect();
        Some(Out::Map(entries))
    }
}

const LLM_VARS: [Var; 20] = [
    Var::Provider,
    Var::RequestModel,
    Var::ResponseModel,
    Var::InputTokens,
    Var::OutputTokens,
    Var::TotalTokens,
    Var::Streaming,
    Var::Params,
    Var::Prompt,
    Var::Completion,
    Var::ToolCalls,
    Var::Tools,
    Var::CachedInputTokens,
    Var::CacheCreationInputTokens,
    Var::ReasoningTokens,
    Var::TimeToFirstToken,
    Var::FinishReasons,
    Var::UsageEstimated,
    Var::Cost,
    Var::Choices,
];

/// One field of a root: `llm.inputTokens` (alias `llm.input_tokens`), `request.path`, ...
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Var {
    Provider,
    RequestModel,
    ResponseModel,
    InputTokens,
    OutputTokens,
    TotalTokens,
    Streaming,
    Params,
    Prompt,
    Completion,
    ToolCalls,
    /// The tools offered: `[{name, description, parameters}]`.
    Tools,
    CachedInputTokens,
    CacheCreationInputTokens,
    ReasoningTokens,
    TimeToFirstToken,
    FinishReasons,
    UsageEstimated,
    /// USD; absent when the model has no price.
    Cost,
    /// The answer as messages, one per choice (text, tool calls, finish reason).
    Choices,
    Method,
    Path,
    Host,
    Headers,
    Status,
    Address,
}

/// A fact, borrowed from the record, before it becomes a CEL value or an [`Out`].
pub(super) enum Fact<'a> {
    Str(&'a str),
    Int(u64),
    Float(f64),
    Bool(bool),
    Params(&'a [(String, serde_json::Value)]),
    Prompt(&'a LlmFacts),
    Strings(&'a [String]),
    ToolCalls(&'a [ToolCall]),
    Tools(&'a [ToolDefinition]),
    Choices(&'a LlmFacts),
    Headers(&'a [(String, String)]),
}

impl Var {
    /// Marks in `needs` the copied fact this variable reads, if it is one.
    pub(crate) fn mark(self, needs: &mut Needs) {
        match self {
            Var::Prompt => needs.prompt = true,
            Var::Completion => needs.completion = true,
            Var::Params => needs.params = true,
            Var::ToolCalls => needs.tool_calls = true,
            Var::Tools => needs.tools = true,
            Var::Choices => {
                needs.completion = true;
                needs.tool_calls = true;
            }
            Var::Headers => needs.headers = true,
            _ => {}
        }
    }

    /// The field `name` of `root`, in camelCase or snake_case.
    pub(crate) fn parse(root: Root, name: &str) -> Option<Var> {
        Some(match (root, name) {
            (Root::Llm, "provider") => Var::Provider,
            (Root::Llm, "requestModel" | "request_model") => Var::RequestModel,
            (Root::Llm, "responseModel" | "response_model") => Var::ResponseModel,
            (Root::Llm, "inputTokens" | "input_tokens") => Var::InputTokens,
            (Root::Llm, "outputTokens" | "output_tokens") => Var::OutputTokens,
            (Root::Llm, "totalTokens" | "total_tokens") => Var::TotalTokens,
            (Root::Llm, "streaming") => Var::Streaming,
            (Root::Llm, "params") => Var::Params,
            (Root::Llm, "prompt") => Var::Prompt,
            (Root::Llm, "completion") => Var::Completion,
            (Root::Llm, "toolCalls" | "tool_calls") => Var::ToolCalls,
            (Root::Llm, "tools") => Var::Tools,
            (Root::Llm, "cachedInputTokens" | "cached_input_tokens") => Var::CachedInputTokens,
            (Root::Llm, "cacheCreationInputTokens" | "cache_creation_input_tokens") => {
                Var::CacheCreationInputTokens
            }
            (Root::Llm, "reasoningTokens" | "reasoning_tokens") => Var::ReasoningTokens,
            (Root::Llm, "timeToFirstToken" | "time_to_first_token") => Var::TimeToFirstToken,
            (Root::Llm, "finishReasons" | "finish_reasons") => Var::FinishReasons,
            (Root::Llm, "usageEstimated" | "usage_estimated") => Var::UsageEstimated,
            (Root::Llm, "cost") => Var::Cost,
            (Root::Llm, "choices") => Var::Choices,
            (Root::Request, "method") => Var::Method,
            (Root::Request, "path") => Var::Path,
            (Root::Request, "host") => Var::Host,
            (Root::Request, "headers") => Var::Headers,
            (Root::Response, "status") => Var::Status,
            (Root::Source, "address") => Var::Address,
            _ => return None,
        })
    }

    /// The canonical name.
    pub(super) fn name(self) -> &'static str {
        match self {
            Var::Provider => "provider",
            Var::RequestModel => "requestModel",
            Var::ResponseModel => "responseModel",
            Var::InputTokens => "inputTokens",
            Var::OutputTokens => "outputTokens",
            Var::TotalTokens => "totalTokens",
            Var::Streaming => "streaming",
            Var::Params => "params",
            Var::Prompt => "prompt",
            Var::Completion => "completion",
            Var::ToolCalls => "toolCalls",
            Var::Tools => "tools",
            Var::CachedInputTokens => "cachedInputTokens",
            Var::CacheCreationInputTokens => "cacheCreationInputTokens",
            Var::ReasoningTokens => "reasoningTokens",
            Var::TimeToFirstToken => "timeToFirstToken",
            Var::FinishReasons => "finishReasons",
            Var::UsageEstimated => "usageEstimated",
            Var::Cost => "cost",
            Var::Choices => "choices",
            Var::Method => "method",
            Var::Path => "path",
            Var::Host => "host",
            Var::Headers => "headers",
            Var::Status => "status",
            Var::Address => "address",
        }
    }

    /// The fact, or `None` when absent for this request.
    pub(super) fn fact(self, rec: &RequestRecord) -> Option<Fact<'_>> {
        let llm = || rec.llm.as_ref();
        Some(match self {
            Var::Provider => Fact::Str(&llm()?.provider),
            Var::RequestModel => Fact::Str(&llm()?.request_model),
            Var::ResponseModel => Fact::Str(llm()?.response_model.as_deref()?),
            Var::InputTokens => Fact::Int(llm()?.input_tokens?),
            Var::OutputTokens => Fact::Int(llm()?.output_tokens?),
            Var::TotalTokens => Fact::Int(llm()?.total()?),
            Var::Streaming => Fact::Bool(llm()?.streaming),
            Var::Params => Fact::Params(&llm()?.params),
            Var::Prompt => Fact::Prompt(llm()?),
            Var::Completion => Fact::Strings(&llm()?.completion),
            Var::ToolCalls => Fact::ToolCalls(&llm()?.tool_calls),
            Var::Tools => Fact::Tools(&llm()?.tools),
            Var::CachedInputTokens => Fact::Int(llm()?.cached_input_tokens?),
            Var::CacheCreationInputTokens => Fact::Int(llm()?.cache_creation_input_tokens?),
            Var::ReasoningTokens => Fact::Int(llm()?.reasoning_tokens?),
            Var::TimeToFirstToken => {
                Fact::Float(llm()?.time_to_first_token?.as_nanos() as f64 / 1e6)
            }
            Var::FinishReasons => Fact::Strings(&llm()?.finish_reasons),
            Var::UsageEstimated => Fact::Bool(llm()?.usage_estimated),
            Var::Cost => Fact::Float(llm()?.cost?),
            Var::Choices => Fact::Choices(llm()?),
            Var::Method => Fact::Str(&rec.method),
            Var::Path => Fact::Str(&rec.path),
            Var::Host => Fact::Str(&rec.host),
            Var::Headers => Fact::Headers(&rec.headers),
            Var::Status => Fact::Int(u64::from(rec.status)),
            Var::Address => Fact::Str(&rec.source_address),
        })
    }

    /// The fact as an [`Out`], for a plain path evaluated without the interpreter.
    pub(crate) fn to_out(self, rec: &RequestRecord) -> Option<Out<'_>> {
        Some(match self.fact(rec)? {
            Fact::Str(s) => Out::Str(s.into()),
            Fact::Int(i) => Out::Int(saturate(i)),
            Fact::Float(f) => Out::Float(f),
            Fact::Bool(b) => Out::Bool(b),
            Fact::Params(params) => Out::Map(
                params
                    .iter()
                    .map(|(k, v)| (k.as_str().into(), Out::Json(v)))
                    .collect(),
            ),
            Fact::Prompt(llm) => Out::List(
                llm.prompt
                    .iter()
                    .map(|m| {
                        Out::Map(vec![
                            ("role".into(), Out::Str(m.role.as_str().into())),
                            ("content".into(), Out::Str(m.content.as_str().into())),
                        ])
                    })
                    .collect(),
            ),
            Fact::Strings(list) => {
                Out::List(list.iter().map(|s| Out::Str(s.as_str().into())).collect())
            }
            Fact::ToolCalls(calls) => tool_calls_out(calls),
            Fact::Tools(tools) => Out::List(tools.iter().map(tool_out).collect()),
            Fact::Choices(llm) => Out::List(llm.choices().map(choice_out).collect()),
            Fact::Headers(headers) => {
                let mut entries: Vec<(std::borrow::Cow<'_, str>, Out<'_>)> =
                    Vec::with_capacity(headers.len());
                for (name, value) in headers {
                    match entries.iter_mut().find(|(k, _)| k == name) {
                        // a repeated header: its values joined, as HTTP allows
                        Some((_, Out::Str(joined))) => {
                            let j = joined.to_mut();
                            j.push_str(", ");
                            j.push_str(value);
                        }
                        _ => entries.push((name.as_str().into(), Out::Str(value.as_str().into()))),
                    }
                }
                Out::Map(entries)
            }
        })
    }

    /// The fact as a CEL value, borrowing the record's strings.
    pub(super) fn to_val(self, rec: &RequestRecord) -> Option<Box<dyn Val + '_>> {
        Some(match self.fact(rec)? {
            Fact::Str(s) => Box::new(CelString::from(s)),
            Fact::Int(i) => Box::new(CelInt::from(saturate(i))),
            Fact::Float(f) => Box::new(CelDouble::from(f)),
            Fact::Bool(b) => Box::new(CelBool::from(b)),
            Fact::Params(params) => Box::new(CelMap::from(
                params
                    .iter()
                    .map(|(k, v)| (CelMapKey::from(k.as_str()), json_val(v)))
                    .collect::<HashMap<_, _>>(),
            )),
            Fact::Prompt(llm) => list(llm.prompt.iter().map(|m| {
                string_map(&[("role", m.role.as_str()), ("content", m.content.as_str())])
            })),
            Fact::Strings(strings) => list(
                strings
                    .iter()
                    .map(|s| Box::new(CelString::from(s.as_str())) as Box<dyn Val>),
            ),
            Fact::ToolCalls(calls) => tool_calls_val(calls),
            Fact::Tools(tools) => list(tools.iter().map(tool_val)),
            Fact::Choices(llm) => list(llm.choices().map(choice_val)),
            Fact::Headers(headers) => {
                let mut map: HashMap<CelMapKey<'_>, Box<dyn Val + '_>> =
                    HashMap::with_capacity(headers.len());
                for (name, value) in headers {
                    let key = CelMapKey::from(name.as_str());
                    let joined = match map.get(&key).and_then(|v| v.downcast_ref::<CelString>()) {
                        Some(prev) => CelString::from(format!("{}, {value}", prev.inner())),
                        None => CelString::from(value.as_str()),
                    };
                    map.insert(key, Box::new(joined));
                }
                Box::new(CelMap::from(map))
            }
        })
    }
}

/// `[{id, name, arguments}]`.
fn tool_calls_out(calls: &[ToolCall]) -> Out<'_> {
    Out::List(
        calls
            .iter()
            .map(|c| {
                Out::Map(vec![
                    ("id".into(), Out::Str(c.id.as_str().into())),
                    ("name".into(), Out::Str(c.name.as_str().into())),
                    ("arguments".into(), Out::Str(c.arguments.as_str().into())),
                ])
            })
            .collect(),
    )
}

fn tool_calls_val(calls: &[ToolCall]) -> Box<dyn Val + '_> {
    list(calls.iter().map(|c| {
        string_map(&[
            ("id", c.id.as_str()),
            ("name", c.name.as_str()),
            ("arguments", c.arguments.as_str()),
        ])
    }))
}

/// `{name, description, parameters}`; description and parameters may be null.
fn tool_out(t: &ToolDefinition) -> Out<'_> {
    Out::Map(vec![
        ("name".into(), Out::Str(t.name.as_str().into())),
        (
            "description".into(),
            t.description
                .as_deref()
                .map_or(Out::Null, |d| Out::Str(d.into())),
        ),
        (
            "parameters".into(),
            t.parameters.as_ref().map_or(Out::Null, Out::Json),
        ),
    ])
}

fn tool_val(t: &ToolDefinition) -> Box<dyn Val + '_> {
    let description: Box<dyn Val + '_> = match t.description.as_deref() {
        Some(d) => Box::new(CelString::from(d)),
        None => Box::new(CelNull),
    };
    let parameters: Box<dyn Val + '_> = match &t.parameters {
        Some(p) => json_val(p),
        None => Box::new(CelNull),
    };
    let entries: [(&str, Box<dyn Val + '_>); 3] = [
        ("name", Box::new(CelString::from(t.name.as_str()))),
        ("description", description),
        ("parameters", parameters),
    ];
    Box::new(CelMap::from(
        entries
            .into_iter()
            .map(|(k, v)| (CelMapKey::from(k), v))
            .collect::<HashMap<_, _>>(),
    ))
}

/// `{role, content, toolCalls, finishReason}`; content and finish reason may be null.
fn choice_out(c: Choice<'_>) -> Out<'_> {
    fn text(s: Option<&str>) -> Out<'_> {
        s.map_or(Out::Null, |s| Out::Str(s.into()))
    }
    Out::Map(vec![
        ("role".into(), Out::Str("assistant".into())),
        ("content".into(), text(c.content)),
        ("toolCalls".into(), tool_calls_out(c.tool_calls)),
        ("finishReason".into(), text(c.finish_reason)),
    ])
}

fn choice_val(c: Choice<'_>) -> Box<dyn Val + '_> {
    fn text(s: Option<&str>) -> Box<dyn Val + '_> {
        match s {
            Some(s) => Box::new(CelString::from(s)),
            None => Box::new(CelNull),
        }
    }
    let entries: [(&str, Box<dyn Val + '_>); 4] = [
        ("role", Box::new(CelString::from("assistant"))),
        ("content", text(c.content)),
        ("toolCalls", tool_calls_val(c.tool_calls)),
        ("finishReason", text(c.finish_reason)),
    ];
    Box::new(CelMap::from(
        entries
            .into_iter()
            .map(|(k, v)| (CelMapKey::from(k), v))
            .collect::<HashMap<_, _>>(),
    ))
}

fn saturate(i: u64) -> i64 {
    i64::try_from(i).unwrap_or(i64::MAX)
}

fn list<'a>(items: impl Iterator<Item = Box<dyn Val + 'a>>) -> Box<dyn Val + 'a> {
    Box::new(CelList::from(items.collect::<Vec<_>>()))
}

fn string_map<'a>(entries: &[(&'a str, &'a str)]) -> Box<dyn Val + 'a> {
    Box::new(CelMap::from(
        entries
            .iter()
            .map(|(k, v)| {
                (
                    CelMapKey::from(*k),
                    Box::new(CelString::from(*v)) as Box<dyn Val>,
                )
            })
            .collect::<HashMap<_, _>>(),
    ))
}
