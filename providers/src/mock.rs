//! The `mock` provider: answers in-process in OpenAI shape, with usage counted by tiktoken, so
//! the embedded demo config works with no key and no network. The answer is deterministic:
//! it names the model and echoes the last user message.

use crate::openai::{
    write_chunk_event, ChatChunk, ChatRequest, ChatResponse, ChatUsage, Choice, ChunkChoice, Delta,
    ResponseMessage, DONE_EVENT,
};
use crate::{tokens, Completion, StreamFacts, Usage};

/// The mock's reply text to `req`.
pub fn reply_text(req: &ChatRequest) -> String {
    let last_user = req
        .messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .and_then(|m| m.content.as_ref())
        .map(|c| c.text())
        .unwrap_or_default();
    let mut echo: String = last_user.chars().take(200).collect();
    if echo.len() < last_user.len() {
        echo.push('…');
    }
    format!("This is a mock response from sluice. You said: {echo}")
}

fn usage_for(req: &ChatRequest, text: &str) -> Usage {
    let prompt = req.prompt();
    let input = tokens::count_prompt(prompt.iter().map(|(r, t)| (r.as_str(), t.as_str())));
    let output = tokens::count(text);
    Usage {
        input_tokens: Some(input),
        output_tokens: Some(output),
        total_tokens: Some(input.saturating_add(output)),
        ..Usage::default()
    }
}

fn model_name(model: &str) -> String {
    if model.is_empty() {
        "mock-1".to_string()
    } else {
        model.to_string()
    }
}

/// A complete `chat.completion` for `req`.
pub fn complete(req: &ChatRequest, model: &str, id: &str, created: u64) -> Completion {
    let text = reply_text(req);
    let usage = usage_for(req, &text);
    let resp = ChatResponse {
        id: id.to_string(),
        object: "chat.completion".to_string(),
        created,
        model: model_name(model),
        choices: vec![Choice {
            index: 0,
            message: ResponseMessage {
                role: "assistant".to_string(),
                content: Some(text),
                ..ResponseMessage::default()
            },
            finish_reason: Some("stop".to_string()),
            ..Choice::default()
        }],
        usage: Some(ChatUsage::from_usage(&usage)),
        ..ChatResponse::default()
    };
    let body = serde_json::to_vec(&resp).unwrap_or_default();
    crate::openai::completion_facts(&resp, body)
}

/// The whole SSE stream for `req`, as a list of events (one token each) so the gateway can
/// write them one by one; and the stream's facts.
pub fn stream(
    req: &ChatRequest,
    model: &str,
    id: &str,
    created: u64,
) -> (Vec<Vec<u8>>, StreamFacts) {
    let text = reply_text(req);
    let usage = usage_for(req, &text);
    let model = model_name(model);
    let chunk = |delta: Delta, finish: Option<&str>| ChatChunk {
        id: id.to_string(),
        object: "chat.completion.chunk".to_string(),
        created,
        model: model.clone(),
        choices: vec![ChunkChoice {
            index: 0,
            delta,
            finish_reason: finish.map(str::to_string),
            ..ChunkChoice::default()
        }],
        ..ChatChunk::default()
    };
    let mut events = Vec::new();
    let mut push = |c: &ChatChunk| {
        let mut out = Vec::new();
        write_chunk_event(c, &mut out);
        events.push(out);
    };
    push(&chunk(
        Delta {
            role: Some("assistant".to_string()),
            content: Some(String::new()),
            ..Delta::default()
        },
        None,
    ));
    for piece in tokens::split_tokens(&text) {
        push(&chunk(
            Delta {
                content: Some(piece),
                ..Delta::default()
            },
            None,
        ));
    }
    push(&chunk(Delta::default(), Some("stop")));
    if req.include_usage() {
        push(&ChatChunk {
            id: id.to_string(),
            object: "chat.completion.chunk".to_string(),
            created,
            model: model.clone(),
            choices: Vec::new(),
            usage: Some(ChatUsage::from_usage(&usage)),
            ..ChatChunk::default()
        });
    }
    events.push(DONE_EVENT.to_vec());
    let facts = StreamFacts {
        usage,
        response_model: Some(model.clone()),
        texts: vec![text],
        finish_reasons: vec!["stop".to_string()],
        tool_calls: Vec::new(),
        first_token_seen: true,
        error: None,
    };
    (events, facts)
}
