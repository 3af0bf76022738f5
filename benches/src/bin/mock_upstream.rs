//! A fast mock LLM upstream for load tests: a minimal HTTP/1.1 keep-alive server on tokio.
//!
//! `mock_upstream PORT [THREADS]` listens on `127.0.0.1:PORT` (THREADS tokio workers, default 2,
//! like nginx's `worker_processes auto` on the 2-core machine the numbers were taken on).
//! All answers are prebuilt at start, so a request costs a header parse and one write:
//!
//! - `POST .../chat/completions`: a fixed OpenAI `chat.completion` with `usage`; when the body
//!   holds `"stream":true` (or `"stream": true`), an SSE stream instead: 10 content chunks, a
//!   finish chunk, a usage chunk and `data: [DONE]`, chunked transfer encoding, no delays.
//! - `POST .../models/M:generateContent`: a fixed Gemini response with `usageMetadata`;
//!   `:streamGenerateContent` (`?alt=sse`): 10 Gemini SSE events, the last with usage.
//! - `POST .../v1/messages`: a fixed Anthropic `message` with `usage` (cache reads included);
//!   streamed, the Anthropic events of the same 10 words, `message_delta` with the usage.
//! - `POST .../responses`: a fixed OpenAI Responses `response` with `usage` (cached and
//!   reasoning token details included); streamed, the Responses events of the same 10 words
//!   (`response.created` ... `response.completed` with the usage, `event:` lines and
//!   `sequence_number`s).
//! - `POST /v1/traces`: 200 with an empty protobuf body, so the same binary is an OTLP/HTTP
//!   sink that accepts and drops spans.
//! - anything else: 404.
//!
//! Request bodies with `Content-Length` or `Transfer-Encoding: chunked` are read in full
//! before answering; `Connection: close` is honoured.

use bytes::{Buf, BytesMut};
use memchr::memmem;
use std::io;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const CHAT: &str = r#"{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"AI learns patterns from many examples and uses them to predict answers for new inputs.","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":15,"completion_tokens":17,"total_tokens":32},"system_fingerprint":"fp_bench"}"#;

const GEMINI: &str = r#"{"candidates":[{"content":{"parts":[{"text":"AI learns patterns from many examples and uses them to predict answers for new inputs."}],"role":"model"},"finishReason":"STOP","avgLogprobs":-0.21}],"usageMetadata":{"promptTokenCount":15,"candidatesTokenCount":17,"totalTokenCount":32},"modelVersion":"gemini-2.0-flash","responseId":"bench"}"#;

const MESSAGE: &str = r#"{"id":"msg_bench","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"AI learns patterns from many examples and uses them to predict answers for new inputs."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":15,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":17}}"#;

const RESPONSE: &str = r#"{"id":"resp_bench","object":"response","created_at":1700000000,"status":"completed","error":null,"incomplete_details":null,"model":"gpt-4o-mini-2024-07-18","output":[{"id":"msg_bench","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"AI learns patterns from many examples and uses them to predict answers for new inputs.","annotations":[]}]}],"usage":{"input_tokens":15,"input_tokens_details":{"cached_tokens":0},"output_tokens":17,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":32}}"#;

const WORDS: [&str; 10] = [
    "AI",
    " learns",
    " patterns",
    " from",
    " many",
    " examples",
    " and",
    " predicts",
    " new",
    " answers.",
];

struct Answers {
    chat: Vec<u8>,
    chat_stream: Vec<u8>,
    gemini: Vec<u8>,
    gemini_stream: Vec<u8>,
    message: Vec<u8>,
    message_stream: Vec<u8>,
    response: Vec<u8>,
    response_stream: Vec<u8>,
    otlp: Vec<u8>,
    not_found: Vec<u8>,
    bad_request: Vec<u8>,
}

fn fixed(status: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// An SSE response in chunked transfer encoding, one HTTP chunk per event.
fn sse(events: &[String]) -> Vec<u8> {
    let frames: Vec<String> = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    sse_frames(&frames)
}

/// Anthropic's and the Responses API's SSE: `event: <type>` before each event's data (the
/// event's first `"type"`, its own).
fn typed_sse(events: &[String]) -> Vec<u8> {
    let frames: Vec<String> = events
        .iter()
        .map(|e| {
            let kind = e
                .split("\"type\":\"")
                .nth(1)
                .and_then(|t| t.split('"').next())
                .unwrap_or("message");
            format!("event: {kind}\ndata: {e}\n\n")
        })
        .collect();
    sse_frames(&frames)
}

fn sse_frames(frames: &[String]) -> Vec<u8> {
    let mut out = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    for frame in frames {
        out.extend_from_slice(format!("{:x}\r\n{frame}\r\n", frame.len()).as_bytes());
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

fn answers() -> Answers {
    let head = r#""id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_bench""#;
    let mut chat = Vec::new();
    for (i, w) in WORDS.iter().enumerate() {
        let delta = if i == 0 {
            format!(r#"{{"role":"assistant","content":"{w}"}}"#)
        } else {
            format!(r#"{{"content":"{w}"}}"#)
        };
        chat.push(format!(
            r#"{{{head},"choices":[{{"index":0,"delta":{delta},"logprobs":null,"finish_reason":null}}],"usage":null}}"#
        ));
    }
    chat.push(format!(
        r#"{{{head},"choices":[{{"index":0,"delta":{{}},"logprobs":null,"finish_reason":"stop"}}],"usage":null}}"#
    ));
    chat.push(format!(
        r#"{{{head},"choices":[],"usage":{{"prompt_tokens":15,"completion_tokens":10,"total_tokens":25}}}}"#
    ));
    chat.push("[DONE]".into());

    let mut gemini = Vec::new();
    for (i, w) in WORDS.iter().enumerate() {
        let last = i == WORDS.len() - 1;
        let finish = if last {
            r#","finishReason":"STOP""#
        } else {
            ""
        };
        let usage = if last {
            r#","usageMetadata":{"promptTokenCount":15,"candidatesTokenCount":10,"totalTokenCount":25}"#
        } else {
            ""
        };
        gemini.push(format!(
            r#"{{"candidates":[{{"content":{{"parts":[{{"text":"{w}"}}],"role":"model"}}{finish}}}]{usage},"modelVersion":"gemini-2.0-flash","responseId":"bench"}}"#
        ));
    }

    let mut message = vec![
        r#"{"type":"message_start","message":{"id":"msg_bench","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":15,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}"#.to_string(),
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#.to_string(),
    ];
    for w in WORDS {
        message.push(format!(
            r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"text_delta","text":"{w}"}}}}"#
        ));
    }
    message.push(r#"{"type":"content_block_stop","index":0}"#.to_string());
    message.push(r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":10}}"#.to_string());
    message.push(r#"{"type":"message_stop"}"#.to_string());

    let json = "application/json";
    Answers {
        response: fixed("200 OK", json, RESPONSE),
        response_stream: typed_sse(&response_events()),
        message: fixed("200 OK", json, MESSAGE),
        message_stream: typed_sse(&message),
        chat: fixed("200 OK", json, CHAT),
        chat_stream: sse(&chat),
        gemini: fixed("200 OK", json, GEMINI),
        gemini_stream: sse(&gemini),
        otlp: fixed("200 OK", "application/x-protobuf", ""),
        not_found: fixed(
            "404 Not Found",
            json,
            r#"{"error":{"message":"not found","type":"invalid_request_error"}}"#,
        ),
        bad_request: b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            .to_vec(),
    }
}

/// The Responses API's stream of the 10 words: one message item, one text part.
fn response_events() -> Vec<String> {
    let head = r#""id":"resp_bench","object":"response","created_at":1700000000"#;
    let model = r#""model":"gpt-4o-mini-2024-07-18""#;
    let ids = r#""item_id":"msg_bench","output_index":0,"content_index":0"#;
    let text: String = WORDS.concat();
    let part = format!(r#"{{"type":"output_text","text":"{text}","annotations":[]}}"#);
    let item = format!(
        r#"{{"id":"msg_bench","type":"message","status":"completed","role":"assistant","content":[{part}]}}"#
    );
    let mut events = vec![
        format!(
            r#"{{"type":"response.created","response":{{{head},"status":"in_progress","error":null,"incomplete_details":null,{model},"output":[],"usage":null}}}}"#
        ),
        format!(
            r#"{{"type":"response.in_progress","response":{{{head},"status":"in_progress","error":null,"incomplete_details":null,{model},"output":[],"usage":null}}}}"#
        ),
        r#"{"type":"response.output_item.added","output_index":0,"item":{"id":"msg_bench","type":"message","status":"in_progress","role":"assistant","content":[]}}"#.to_string(),
        format!(
            r#"{{"type":"response.content_part.added",{ids},"part":{{"type":"output_text","text":"","annotations":[]}}}}"#
        ),
    ];
    for w in WORDS {
        events.push(format!(
            r#"{{"type":"response.output_text.delta",{ids},"delta":"{w}"}}"#
        ));
    }
    events.push(format!(
        r#"{{"type":"response.output_text.done",{ids},"text":"{text}"}}"#
    ));
    events.push(format!(
        r#"{{"type":"response.content_part.done",{ids},"part":{part}}}"#
    ));
    events.push(format!(
        r#"{{"type":"response.output_item.done","output_index":0,"item":{item}}}"#
    ));
    events.push(format!(
        r#"{{"type":"response.completed","response":{{{head},"status":"completed","error":null,"incomplete_details":null,{model},"output":[{item}],"usage":{{"input_tokens":15,"input_tokens_details":{{"cached_tokens":0}},"output_tokens":10,"output_tokens_details":{{"reasoning_tokens":0}},"total_tokens":25}}}}}}"#
    ));
    // Every event ends with its place in the stream, as OpenAI sends it.
    events
        .into_iter()
        .enumerate()
        .map(|(i, e)| format!(r#"{},"sequence_number":{i}}}"#, &e[..e.len() - 1]))
        .collect()
}

fn is_stream(body: &[u8]) -> bool {
    memmem::find(body, br#""stream":true"#).is_some()
        || memmem::find(body, br#""stream": true"#).is_some()
}

fn answer<'a>(a: &'a Answers, method: &str, path: &str, body: &[u8]) -> &'a [u8] {
    if method != "POST" {
        return &a.not_found;
    }
    let path = path.split('?').next().unwrap_or(path);
    if path.ends_with("/chat/completions") {
        if is_stream(body) {
            &a.chat_stream
        } else {
            &a.chat
        }
    } else if path.ends_with("/v1/messages") {
        if is_stream(body) {
            &a.message_stream
        } else {
            &a.message
        }
    } else if path.ends_with("/responses") {
        if is_stream(body) {
            &a.response_stream
        } else {
            &a.response
        }
    } else if path.ends_with(":streamGenerateContent") {
        &a.gemini_stream
    } else if path.ends_with(":generateContent") {
        &a.gemini
    } else if path == "/v1/traces" {
        &a.otlp
    } else {
        &a.not_found
    }
}

enum Body {
    Length(usize),
    Chunked,
}

/// Decodes a complete chunked body at the start of `buf`: (body, bytes consumed), or `None`
/// when more input is needed. Trailers are skipped.
fn chunked(buf: &[u8]) -> Result<Option<(Vec<u8>, usize)>, ()> {
    let mut pos = 0;
    let mut body = Vec::new();
    loop {
        let (n, size) = match httparse::parse_chunk_size(&buf[pos..]) {
            Ok(httparse::Status::Complete(x)) => x,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err(()),
        };
        pos += n;
        if size == 0 {
            // Trailers (usually none), then the final CRLF.
            loop {
                let Some(end) = memmem::find(&buf[pos..], b"\r\n") else {
                    return Ok(None);
                };
                pos += end + 2;
                if end == 0 {
                    return Ok(Some((body, pos)));
                }
            }
        }
        let size = size as usize;
        if buf.len() < pos + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&buf[pos..pos + size]);
        pos += size + 2;
    }
}

async fn serve(mut s: TcpStream, a: &'static Answers) -> io::Result<()> {
    s.set_nodelay(true)?;
    let mut buf = BytesMut::with_capacity(16 * 1024);
    loop {
        // Header.
        let (head_len, method, path, body, close) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut req = httparse::Request::new(&mut headers);
            match req.parse(&buf) {
                Ok(httparse::Status::Complete(n)) => {
                    let mut body = Body::Length(0);
                    let mut close = req.version == Some(0);
                    for h in req.headers.iter() {
                        if h.name.eq_ignore_ascii_case("content-length") {
                            let v = std::str::from_utf8(h.value)
                                .ok()
                                .and_then(|v| v.trim().parse().ok());
                            body = Body::Length(v.unwrap_or(0));
                        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                            if memmem::find(&h.value.to_ascii_lowercase(), b"chunked").is_some() {
                                body = Body::Chunked;
                            }
                        } else if h.name.eq_ignore_ascii_case("connection") {
                            close = h.value.eq_ignore_ascii_case(b"close");
                        }
                    }
                    let method = req.method.unwrap_or("").to_string();
                    let path = req.path.unwrap_or("").to_string();
                    break (n, method, path, body, close);
                }
                Ok(httparse::Status::Partial) => {
                    if s.read_buf(&mut buf).await? == 0 {
                        return Ok(());
                    }
                }
                Err(_) => {
                    s.write_all(&a.bad_request).await?;
                    return Ok(());
                }
            }
        };
        // Body, then the answer.
        match body {
            Body::Length(len) => {
                while buf.len() < head_len + len {
                    if s.read_buf(&mut buf).await? == 0 {
                        return Ok(());
                    }
                }
                s.write_all(answer(a, &method, &path, &buf[head_len..head_len + len]))
                    .await?;
                buf.advance(head_len + len);
            }
            Body::Chunked => loop {
                match chunked(&buf[head_len..]) {
                    Ok(Some((body, used))) => {
                        s.write_all(answer(a, &method, &path, &body)).await?;
                        buf.advance(head_len + used);
                        break;
                    }
                    Ok(None) => {
                        if s.read_buf(&mut buf).await? == 0 {
                            return Ok(());
                        }
                    }
                    Err(()) => {
                        s.write_all(&a.bad_request).await?;
                        return Ok(());
                    }
                }
            },
        }
        if close {
            return Ok(());
        }
    }
}

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args
        .next()
        .and_then(|p| p.parse().ok())
        .expect("usage: mock_upstream PORT [THREADS]");
    let threads: usize = args.next().and_then(|t| t.parse().ok()).unwrap_or(2).max(1);
    let a: &'static Answers = Box::leak(Box::new(answers()));
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?
        .block_on(async move {
            let listener = TcpListener::bind(("127.0.0.1", port)).await?;
            loop {
                let (s, _) = listener.accept().await?;
                tokio::spawn(async move {
                    let _ = serve(s, a).await;
                });
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies() {
        assert_eq!(
            chunked(b"5\r\nhello\r\n0\r\n\r\nrest"),
            Ok(Some((b"hello".to_vec(), 15)))
        );
        assert_eq!(chunked(b"5\r\nhel"), Ok(None));
        assert_eq!(chunked(b"5\r\nhello\r\n0\r\n"), Ok(None));
    }

    #[test]
    fn routes() {
        let a = answers();
        assert!(std::ptr::eq(
            answer(&a, "POST", "/v1/chat/completions", b"{}"),
            a.chat.as_slice()
        ));
        let s = br#"{"model":"x","stream":true}"#;
        assert!(std::ptr::eq(
            answer(&a, "POST", "/v1/chat/completions", s),
            a.chat_stream.as_slice()
        ));
        let g = "/v1beta/models/gemini-2.0-flash:generateContent";
        assert!(std::ptr::eq(
            answer(&a, "POST", g, b"{}"),
            a.gemini.as_slice()
        ));
        let gs = "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse";
        assert!(std::ptr::eq(
            answer(&a, "POST", gs, b"{}"),
            a.gemini_stream.as_slice()
        ));
        assert!(std::ptr::eq(
            answer(&a, "GET", "/", b""),
            a.not_found.as_slice()
        ));
        assert!(std::ptr::eq(
            answer(&a, "POST", "/v1/messages", b"{}"),
            a.message.as_slice()
        ));
        let ms = String::from_utf8(answer(&a, "POST", "/v1/messages", s).to_vec()).unwrap();
        assert!(
            ms.contains("event: message_start\ndata: {\"type\":\"message_start\""),
            "{ms}"
        );
        assert!(ms.contains("event: content_block_delta\n"), "{ms}");
        let stream = String::from_utf8(a.chat_stream.clone()).unwrap();
        assert!(std::ptr::eq(
            answer(&a, "POST", "/v1/responses", b"{}"),
            a.response.as_slice()
        ));
        assert!(std::ptr::eq(
            answer(&a, "POST", "/v1/responses", s),
            a.response_stream.as_slice()
        ));
        assert_eq!(stream.matches("data: ").count(), 13);
        assert!(stream.ends_with("data: [DONE]\n\n\r\n0\r\n\r\n"));
    }

    /// The Responses answers are JSON with the fields clients read, and the stream's events
    /// come in order, each named by its `event:` line, numbered, the text whole at the end.
    #[test]
    fn responses_answers() {
        let a = answers();
        let body = |r: &[u8]| {
            let r = std::str::from_utf8(r).unwrap();
            r.split_once("\r\n\r\n").unwrap().1.to_string()
        };
        let whole = body(&a.response);
        for field in [
            r#""object":"response""#,
            r#""status":"completed""#,
            r#""type":"output_text","text":"AI learns patterns from many examples and uses them to predict answers for new inputs.""#,
            r#""usage":{"input_tokens":15,"input_tokens_details":{"cached_tokens":0},"output_tokens":17,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":32}"#,
        ] {
            assert!(whole.contains(field), "{field} in {whole}");
        }

        let stream = String::from_utf8(a.response_stream.clone()).unwrap();
        let kinds: Vec<&str> = stream
            .lines()
            .filter_map(|l| l.strip_prefix("event: "))
            .collect();
        let mut want = vec![
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
        ];
        want.extend(["response.output_text.delta"; 10]);
        want.extend([
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]);
        assert_eq!(kinds, want);
        let data: Vec<&str> = stream
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .collect();
        for (i, (d, kind)) in data.iter().zip(&want).enumerate() {
            assert!(d.starts_with(&format!(r#"{{"type":"{kind}","#)), "{d}");
            assert!(d.ends_with(&format!(r#","sequence_number":{i}}}"#)), "{d}");
        }
        let text = r#""text":"AI learns patterns from many examples and predicts new answers.""#;
        assert!(data[14].contains(text), "{}", data[14]);
        assert!(data[17].contains(r#""output_tokens":10,"#), "{}", data[17]);
        assert!(data[17].contains(r#""total_tokens":25}"#), "{}", data[17]);
        assert!(stream.ends_with("\n\n\r\n0\r\n\r\n"));
    }
}
