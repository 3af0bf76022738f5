//! Google Gemini (Generative Language API), native `generateContent` /
//! `streamGenerateContent?alt=sse`, translated from and to OpenAI Chat Completions (the hub);
//! also the format of Gemini models on Vertex AI ([`crate::vertex`]).
//!
//! Each field of the hub request (see [`crate::openai`]), and what becomes of it:
//!
//! - `messages`: system and developer messages → `systemInstruction`; user turns → `user`
//!   contents (text, images and files as `inlineData` or `fileData`, `input_audio`); assistant
//!   turns → `model` contents (text, `functionCall` parts); tool messages → `functionResponse`
//!   parts of one `user` turn per run of them (an image in a tool result is refused: a
//!   function response is JSON). A message's `name` names a tool message's function when its
//!   call is not in the conversation, and is otherwise ignored (Gemini has no speaker names).
//! - Thought signatures: Gemini 3 models put a `thoughtSignature` on function calls and refuse
//!   the next turn unless it comes back on the same part. It rides twice: in the tool call id
//!   (`call_0__sig__<signature>`, which OpenAI clients echo verbatim), and in the message's
//!   `thinking_blocks` as `{"type":"thinking","thinking","signature":"sluice:gemini:<sig>"}`
//!   (which clients of thinking blocks send back). An assistant message's Gemini signature
//!   goes back on its turn's first `functionCall` part (or first part, with no call); see
//!   [`thinking`]. Its other `thinking_blocks` (Claude's) are left out, as not valid on Gemini,
//!   and so is its `reasoning_content`: Gemini takes no thought text back.
//! - `cache_control` (on parts and tools): ignored; Gemini caches prompts implicitly, and its
//!   explicit caches are resources created apart (`cachedContents`), not request markers.
//!   Caching changes cost, not the answer.
//! - `thinking`, `reasoning_effort` → `generationConfig.thinkingConfig` (`thinkingLevel` for
//!   Gemini 3 and later, `thinkingBudget` before; see [`thinking::thinking_config`]), with
//!   `includeThoughts` unless thinking is off.
//! - `max_completion_tokens` (else `max_tokens`) → `maxOutputTokens`; `temperature`,
//!   `top_p` → `topP`, `top_k` → `topK`, `n` → `candidateCount`, `stop` → `stopSequences`,
//!   `seed`, `presence_penalty` → `presencePenalty`, `frequency_penalty` →
//!   `frequencyPenalty` (all in `generationConfig`); `response_format` `json_object` →
//!   `responseMimeType: application/json`, `json_schema` → that and `responseSchema` (cut
//!   down to what Gemini's `Schema` takes); `stream` → `streamGenerateContent?alt=sse`.
//! - `tools` → `functionDeclarations` (their JSON Schemas cut down likewise); `tool_choice`
//!   → `toolConfig.functionCallingConfig` (`auto` → `AUTO`, `none` → `NONE`, `required` →
//!   `ANY`, a function → `ANY` with `allowedFunctionNames`).
//! - Ignored, as their loss cannot change the answer: `user` and `safety_identifier`
//!   (end-user ids for OpenAI's abuse monitoring, not read by the model), `store` and
//!   `metadata` (OpenAI's storage of completions and its tags), `service_tier` (latency and
//!   price, not the answer), `prompt_cache_key` and `prompt_cache_retention` (OpenAI's cache
//!   routing and retention), `stream_options` (usage is always read, and sent when
//!   `include_usage`), `parallel_tool_calls: true` and `logprobs: false` (the defaults).
//! - Refused with a 400 naming the field: `parallel_tool_calls: false` (Gemini may always call
//!   several functions at once), `logprobs: true`, `response_format` types other than `text`,
//!   `json_object` and `json_schema`, and every other field (`logit_bias`, `top_logprobs`,
//!   `audio`, `modalities`, `functions`, ...).
//!
//! Answers: text parts joined per candidate, `functionCall` parts → `tool_calls`, `thought`
//! parts → `reasoning_content` (not `content`), each `thoughtSignature` → a `thinking_blocks`
//! entry (above). Usage from `usageMetadata`: `cachedContentTokenCount` → cached tokens (part
//! of the prompt tokens, as in OpenAI's), `thoughtsTokenCount` → reasoning tokens, counted in
//! the completion tokens as OpenAI counts them (Gemini counts them apart).

mod request;
mod stream;
pub mod thinking;
mod wire;

use serde_json::Value;

use crate::error::{openai_error_body, openai_error_type};
use crate::openai::{
    completion_facts, hub_completion, ChatResponse, ChatUsage, Choice, FunctionCall,
    ResponseMessage, ToolCall,
};
use crate::{Completion, ResponseTarget, TranslateError, Usage};

pub(crate) use request::model_id;
pub use request::translate_request;
pub use stream::GeminiStream;

use wire::{GenerateContentResponse, UsageMetadata};

/// Joins a tool call id and the thought signature that must come back with the call.
const SIGNATURE_SEPARATOR: &str = "__sig__";

// ---------------------------------------------------------------------------------------------
// Responses

/// A `GenerateContentResponse` as an OpenAI `chat.completion`, with its facts.
pub fn translate_response(
    body: &[u8],
    target: &ResponseTarget<'_>,
) -> Result<Completion, TranslateError> {
    hub_completion(&to_hub(body, target)?)
}

/// The facts of a `GenerateContentResponse` that reaches the client as it came (the Gemini
/// front door's native pass-through): read as the hub's answer, not written out again.
pub fn native_facts(
    body: Vec<u8>,
    target: &ResponseTarget<'_>,
) -> Result<Completion, TranslateError> {
    let hub = to_hub(&body, target)?;
    Ok(completion_facts(&hub, body))
}

/// A `GenerateContentResponse` as the hub's answer.
fn to_hub(body: &[u8], target: &ResponseTarget<'_>) -> Result<ChatResponse, TranslateError> {
    let resp: GenerateContentResponse =
        crate::json::from_body(body).map_err(TranslateError::InvalidResponse)?;
    let mut next_call = 0;
    let mut choices = Vec::new();
    for (i, cand) in resp.candidates.iter().enumerate() {
        let mut text = String::new();
        let mut calls = Vec::new();
        let mut reasoning = String::new();
        let mut thinking_blocks = Vec::new();
        for part in cand.parts() {
            let (thought, block) = thinking::part_reasoning(part);
            thinking_blocks.extend(block);
            if let Some(thought) = thought {
                reasoning.push_str(thought);
                continue;
            }
            if let Some(t) = &part.text {
                text.push_str(t);
            }
            if let Some(fc) = &part.function_call {
                calls.push(ToolCall {
                    id: call_id(fc, part.thought_signature.as_deref(), &mut next_call),
                    kind: "function".to_string(),
                    function: FunctionCall {
                        name: fc.name.clone(),
                        arguments: call_arguments(fc),
                    },
                });
            }
        }
        let finish = finish_reason(cand.finish_reason.as_deref(), !calls.is_empty());
        choices.push(Choice {
            index: u32::try_from(i).unwrap_or(u32::MAX),
            message: ResponseMessage::assistant(text, calls, reasoning, thinking_blocks),
            finish_reason: Some(finish.to_string()),
            ..Choice::default()
        });
    }
    if choices.is_empty() {
        // No candidates: the prompt itself was blocked (promptFeedback.blockReason).
        let blocked = resp
            .prompt_feedback
            .as_ref()
            .is_some_and(|f| f.block_reason.is_some());
        choices.push(Choice {
            index: 0,
            message: ResponseMessage {
                role: "assistant".to_string(),
                content: Some(String::new()),
                ..ResponseMessage::default()
            },
            finish_reason: Some(if blocked { "content_filter" } else { "stop" }.to_string()),
            ..Choice::default()
        });
    }
    Ok(ChatResponse {
        id: resp
            .response_id
            .clone()
            .filter(|id| !id.is_empty())
            .unwrap_or_else(crate::openai::generated_id),
        object: "chat.completion".to_string(),
        created: target.created,
        model: response_model(&resp, target.model),
        choices,
        usage: resp
            .usage_metadata
            .as_ref()
            .map(|u| ChatUsage::from_usage(&usage_from(u))),
        ..ChatResponse::default()
    })
}

fn response_model(resp: &GenerateContentResponse, fallback: &str) -> String {
    resp.model_version
        .clone()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| fallback.to_string())
}

/// The OpenAI id of a function call: the part's own id, or `call_<n>`; with the thought
/// signature appended when there is one (see the module docs).
fn call_id(fc: &wire::FunctionCall, signature: Option<&str>, next: &mut u64) -> String {
    let base = match fc.id.as_deref() {
        Some(id) if !id.is_empty() => id.to_string(),
        _ => format!("call_{next}"),
    };
    *next += 1;
    match signature {
        Some(sig) if !sig.is_empty() => format!("{base}{SIGNATURE_SEPARATOR}{sig}"),
        _ => base,
    }
}

fn call_arguments(fc: &wire::FunctionCall) -> String {
    match &fc.args {
        None | Some(Value::Null) => "{}".to_string(),
        Some(args) => args.to_string(),
    }
}

/// An OpenAI `finish_reason` for a Gemini `finishReason`.
fn finish_reason(reason: Option<&str>, has_tool_calls: bool) -> &'static str {
    let mapped = match reason {
        Some("MAX_TOKENS") => "length",
        Some(
            "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY",
        ) => "content_filter",
        _ => "stop",
    };
    if mapped == "stop" && has_tool_calls {
        "tool_calls"
    } else {
        mapped
    }
}

/// Usage from `usageMetadata`; thinking tokens are billed as output, so they count there.
fn usage_from(u: &UsageMetadata) -> Usage {
    let input = u.prompt_token_count.unwrap_or(0);
    let output = u
        .candidates_token_count
        .unwrap_or(0)
        .saturating_add(u.thoughts_token_count.unwrap_or(0));
    Usage {
        input_tokens: Some(input),
        output_tokens: Some(output),
        total_tokens: Some(
            u.total_token_count
                .unwrap_or_else(|| input.saturating_add(output)),
        ),
        cached_input_tokens: u.cached_content_token_count,
        cache_creation_input_tokens: None,
        cache_write_1h_tokens: None,
        reasoning_tokens: u.thoughts_token_count,
        estimated: false,
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

/// A Gemini error (`{"error": {"code", "message", "status"}}`) as an OpenAI error body.
pub fn translate_error(status: u16, body: &[u8]) -> Vec<u8> {
    let parsed = serde_json::from_slice::<Value>(body).ok();
    // Gemini answers some calls with a JSON array of responses, an error being one of them.
    let error = parsed.as_ref().and_then(|v| match v {
        Value::Array(items) => items.first().and_then(|i| i.get("error")),
        _ => v.get("error"),
    });
    if let Some(error) = error.filter(|e| e.is_object()) {
        return error_body(status, error);
    }
    crate::error::text_error_body(status, body)
}

/// The OpenAI error body for a Gemini `error` object.
fn error_body(status: u16, error: &Value) -> Vec<u8> {
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .filter(|m| !m.trim().is_empty())
        .map_or_else(
            || format!("upstream returned status {status}"),
            str::to_string,
        );
    let code = error
        .get("status")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase);
    openai_error_body(&message, openai_error_type(status), code.as_deref())
}
