//! The LLM facts of a request for telemetry: what the client asked (model, parameters,
//! prompt) and what came back (usage, model, text, tool calls), copied only as far as the
//! config's telemetry reads them.

use sluice_providers::{pricing, tokens, ClientRequest, Completion, StreamFacts, Usage};
use sluice_telemetry::{LlmFacts, Needs, PromptMessage, ToolCall, ToolDefinition};

use crate::config::Backend;
use crate::proxy::RequestCtx;

/// The request's facts; the prompt, parameters and tools are copied only when telemetry
/// reads them.
pub(super) fn request_facts(req: &ClientRequest, backend: &Backend, needs: Needs) -> LlmFacts {
    let mut facts = LlmFacts {
        provider: backend.provider.name().to_string(),
        request_model: req.model.clone(),
        streaming: req.stream,
        ..LlmFacts::default()
    };
    if needs.params {
        facts.params = req
            .params
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
    }
    if needs.prompt {
        facts.prompt = req
            .prompt()
            .iter()
            .map(|(role, content)| PromptMessage {
                role: role.clone(),
                content: content.clone(),
            })
            .collect();
    }
    if needs.tools {
        facts.tools = req
            .tools()
            .into_iter()
            .map(|t| ToolDefinition {
                name: t.name,
                description: t.description,
                parameters: t.parameters,
            })
            .collect();
    }
    facts
}

/// Usage as reported, or counted with tiktoken when the provider gave none (marked estimated).
fn usage_or_estimate(usage: Usage, texts: &[String], req: &ClientRequest) -> Usage {
    if usage.input_tokens.is_some() && usage.output_tokens.is_some() {
        return usage;
    }
    let prompt = req.prompt();
    let input = usage.input_tokens.unwrap_or_else(|| {
        tokens::estimate_prompt(prompt.iter().map(|(r, t)| (r.as_str(), t.as_str())))
    });
    let output = usage
        .output_tokens
        .unwrap_or_else(|| texts.iter().map(|t| tokens::estimate(t)).sum());
    Usage {
        input_tokens: Some(input),
        output_tokens: Some(output),
        total_tokens: Some(input.saturating_add(output)),
        estimated: true,
        ..usage
    }
}

/// The response's facts; the completion and tool calls are copied only when telemetry reads
/// them.
fn fill_facts(
    llm: &mut LlmFacts,
    needs: Needs,
    usage: Usage,
    response_model: Option<&String>,
    texts: &[String],
    finish_reasons: &[String],
    tool_calls: &[sluice_providers::ToolCallFact],
) {
    llm.input_tokens = usage.input_tokens;
    llm.output_tokens = usage.output_tokens;
    llm.total_tokens = usage.total();
    llm.cached_input_tokens = usage.cached_input_tokens;
    llm.cache_creation_input_tokens = usage.cache_creation_input_tokens;
    llm.cache_write_1h_tokens = usage.cache_write_1h_tokens;
    llm.reasoning_tokens = usage.reasoning_tokens;
    llm.usage_estimated = usage.estimated;
    llm.response_model = response_model.cloned();
    llm.finish_reasons = finish_reasons.to_vec();
    if needs.completion {
        llm.completion = texts.to_vec();
    }
    if needs.tool_calls {
        llm.tool_calls = tool_calls
            .iter()
            .map(|t| ToolCall {
                id: t.id.clone(),
                name: t.name.clone(),
                arguments: t.arguments.clone(),
            })
            .collect();
    }
}

/// What the call cost, from the provider, the model and the final usage (reported or
/// estimated), with the config generation's catalog: the response's model when the provider
/// named one that has a price, else the model called. `None` (no price) leaves no cost; the
/// metrics count the model as unpriced.
pub(crate) fn price(ctx: &mut RequestCtx) {
    let Some(llm) = ctx.llm.as_mut() else {
        return;
    };
    if llm.input_tokens.is_none() && llm.output_tokens.is_none() {
        return;
    }
    let usage = Usage {
        input_tokens: llm.input_tokens,
        output_tokens: llm.output_tokens,
        total_tokens: llm.total_tokens,
        cached_input_tokens: llm.cached_input_tokens,
        cache_creation_input_tokens: llm.cache_creation_input_tokens,
        cache_write_1h_tokens: llm.cache_write_1h_tokens,
        reasoning_tokens: llm.reasoning_tokens,
        estimated: llm.usage_estimated,
    };
    let catalog = &ctx.generation.config.pricing;
    let provider = llm.provider.as_str();
    // The model that answered when it has a price, else the model called: each looked up once.
    let called = if ctx.called_model.is_empty() {
        llm.request_model.as_str()
    } else {
        ctx.called_model.as_str()
    };
    let price = llm
        .response_model
        .as_deref()
        .and_then(|m| catalog.price(provider, m))
        .or_else(|| catalog.price(provider, called));
    llm.cost = price.map(|p| pricing::cost(&usage, p));
}

pub(super) fn apply_completion(ctx: &mut RequestCtx, c: &Completion, req: &ClientRequest) {
    let needs = ctx.generation.telemetry.needs();
    if let Some(llm) = ctx.llm.as_mut() {
        let usage = usage_or_estimate(c.usage, &c.texts, req);
        fill_facts(
            llm,
            needs,
            usage,
            c.response_model.as_ref(),
            &c.texts,
            &c.finish_reasons,
            &c.tool_calls,
        );
    }
    price(ctx);
}

pub(super) fn apply_stream_facts(ctx: &mut RequestCtx, f: &StreamFacts, req: &ClientRequest) {
    if let Some(error) = &f.error {
        ctx.error.get_or_insert_with(|| error.clone());
    }
    let needs = ctx.generation.telemetry.needs();
    if let Some(llm) = ctx.llm.as_mut() {
        let usage = usage_or_estimate(f.usage, &f.texts, req);
        fill_facts(
            llm,
            needs,
            usage,
            f.response_model.as_ref(),
            &f.texts,
            &f.finish_reasons,
            &f.tool_calls,
        );
    }
    price(ctx);
}
