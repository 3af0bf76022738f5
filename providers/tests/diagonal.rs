//! Golden tests of native pass-through on the diagonal (the client speaks the provider's own
//! API), on real-shaped bodies: the Claude Code 2.1.332 captures in
//! `tests/fixtures/claude_code/` (see its README) for Messages to Anthropic, Claude on Vertex
//! AI and Claude on Bedrock, and a realistic Chat Completions request for OpenAI and Azure.
//!
//! Each expected upstream body is the client's body with the edits the module docs of
//! `front::messages::native` and `front::chat` name, written here by hand on the client's
//! JSON; everything else must reach the provider untouched (nested values byte for byte).
//! Answers and streams must reach the client as the provider sent them, but for the named
//! differences (Vertex's `vertex_event`s, Bedrock's event stream and invocation metrics).
//!
//! `thinking_tool_message.json` is hand-written (not captured): the non-streamed answer shaped
//! like the `thinking_tool_stream.sse` one, with a text block and a cache read added.

use std::collections::BTreeMap;

use base64::Engine;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use sluice_providers::bedrock::eventstream::{encode_event, encode_exception};
use sluice_providers::front::messages::ClaudeSite;
use sluice_providers::plan::Native;
use sluice_providers::sse::{SseEvent, SseParser};
use sluice_providers::{
    ClientRequest, Front, Plan, ProviderKind, RequestTarget, ResponseTarget, StreamFacts,
    ToolCallFact, TranslateError, UpstreamRequest, Usage, VertexSite,
};

const CLIENT_MODEL: &str = "claude-opus-5-5";
const VERTEX_MODEL: &str = "claude-opus-5-5@20260101";
const BEDROCK_MODEL: &str = "us.anthropic.claude-opus-5-5-v1:0";
const VERTEX: VertexSite<'static> = VertexSite {
    project: "my-project",
    location: "us-east5",
};
const REQUESTS: &[&str] = &["first_request.raw.json", "tool_result_request.raw.json"];
const STREAMS: &[&str] = &["thinking_tool_stream.sse", "text_stream.sse"];

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/claude_code/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("not JSON ({e}): {bytes:?}"))
}

fn assert_json_eq(case: &str, got: &Value, want: &Value) {
    if got != want {
        let (g, w) = (got.as_object(), want.as_object());
        let diff: Vec<&String> = match (g, w) {
            (Some(g), Some(w)) => g
                .keys()
                .chain(w.keys())
                .filter(|k| g.get(*k) != w.get(*k))
                .collect(),
            _ => Vec::new(),
        };
        panic!("{case}: bodies differ at top-level keys {diff:?}");
    }
}

/// The client's headers that travel on, read from the capture as the gateway does: the
/// Messages front door's names, matched without regard to case, kept lower-case.
fn forwarded_headers() -> Vec<(&'static str, String)> {
    let captured: BTreeMap<String, String> =
        serde_json::from_slice(&fixture("first_request.headers.json")).expect("headers JSON");
    Front::Messages
        .forwarded_headers()
        .iter()
        .filter_map(|&name| {
            captured
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| (name, v.clone()))
        })
        .collect()
}

fn beta_header() -> String {
    let forwarded = forwarded_headers();
    let beta = forwarded
        .iter()
        .find(|(n, _)| *n == "anthropic-beta")
        .map(|(_, v)| v.clone())
        .expect("the capture has anthropic-beta");
    assert_eq!(
        beta.split(',').count(),
        8,
        "the capture's beta list: {beta}"
    );
    beta
}

/// A place Claude is served with the Messages API, as the gateway would call it.
struct Site {
    site: ClaudeSite,
    provider: ProviderKind,
    model: &'static str,
    vertex: Option<VertexSite<'static>>,
}

const SITES: [Site; 3] = [
    Site {
        site: ClaudeSite::Anthropic,
        provider: ProviderKind::Anthropic,
        model: CLIENT_MODEL,
        vertex: None,
    },
    Site {
        site: ClaudeSite::Vertex,
        provider: ProviderKind::Vertex,
        model: VERTEX_MODEL,
        vertex: Some(VERTEX),
    },
    Site {
        site: ClaudeSite::Bedrock,
        provider: ProviderKind::Bedrock,
        model: BEDROCK_MODEL,
        vertex: None,
    },
];

impl Site {
    fn plan(&self) -> Plan {
        let plan = Plan::choose(Front::Messages, self.provider, self.model);
        assert_eq!(plan, Plan::Native(Native::Messages(self.site)));
        plan
    }

    fn request_with(
        &self,
        raw: &[u8],
        model: &str,
        forwarded: &[(&'static str, String)],
        query: Option<&str>,
    ) -> UpstreamRequest {
        let mut req = ClientRequest::read(Front::Messages, raw.to_vec()).expect("client body");
        let target = RequestTarget {
            model,
            vertex: self.vertex,
            forwarded,
            query,
            ..RequestTarget::default()
        };
        self.plan()
            .request(&mut req, &target)
            .unwrap_or_else(|e| panic!("{:?}: {e}", self.site))
    }

    /// The upstream request for the client's `raw` body, with the capture's headers and query.
    fn request(&self, raw: &[u8]) -> UpstreamRequest {
        self.request_with(raw, self.model, &forwarded_headers(), Some("beta=true"))
    }
}

/// A JSON object's top-level members with their values' raw text.
fn raw_members(body: &[u8]) -> BTreeMap<String, String> {
    let members: BTreeMap<String, Box<RawValue>> =
        serde_json::from_slice(body).expect("a JSON object");
    members
        .into_iter()
        .map(|(k, v)| (k, v.get().to_string()))
        .collect()
}

/// Every member the edits leave alone reaches the provider with the client's own bytes.
fn assert_untouched_members(case: &str, client: &[u8], upstream: &[u8], edited: &[&str]) {
    let (client, upstream) = (raw_members(client), raw_members(upstream));
    for (key, raw) in &client {
        if edited.contains(&key.as_str()) {
            continue;
        }
        assert!(
            upstream.get(key) == Some(raw),
            "{case}: `{key}` did not pass byte for byte"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Requests

#[test]
fn anthropic_gets_the_client_bytes_as_they_came() {
    for name in REQUESTS {
        let raw = fixture(name);
        let up = SITES[0].request(&raw);
        assert!(up.body == raw, "{name}: body not byte for byte");
        assert_eq!(up.path, "/v1/messages?beta=true", "{name}");
        assert_eq!(
            owned(&up.headers),
            [
                ("anthropic-version", "2023-06-01".to_string()),
                ("anthropic-beta", beta_header()),
            ],
            "{name}"
        );
    }
}

#[test]
fn anthropic_with_a_pinned_model_differs_only_in_model() {
    const PINNED: &str = "claude-opus-5-5-20260101";
    for name in REQUESTS {
        let raw = fixture(name);
        let up = SITES[0].request_with(&raw, PINNED, &forwarded_headers(), Some("beta=true"));
        let mut want = json(&raw);
        want["model"] = json!(PINNED);
        assert_json_eq(name, &json(&up.body), &want);
        assert_untouched_members(name, &raw, &up.body, &["model"]);
        // The capture is compact, so the whole body differs only in the model's bytes.
        let prefix = format!(r#"{{"model":"{CLIENT_MODEL}","#);
        assert!(raw.starts_with(prefix.as_bytes()), "{name}");
        let mut want_bytes = format!(r#"{{"model":"{PINNED}","#).into_bytes();
        want_bytes.extend_from_slice(&raw[prefix.len()..]);
        assert!(up.body == want_bytes, "{name}: more than the model changed");
        assert_eq!(up.path, "/v1/messages?beta=true", "{name}");
    }
}

#[test]
fn anthropic_without_the_clients_headers_or_query() {
    let raw = fixture("first_request.raw.json");
    let up = SITES[0].request_with(&raw, CLIENT_MODEL, &[], None);
    assert_eq!(up.path, "/v1/messages");
    assert_eq!(
        owned(&up.headers),
        [("anthropic-version", "2023-06-01".to_string())]
    );
    assert!(up.body == raw);
    let up = SITES[0].request_with(&raw, CLIENT_MODEL, &[], Some("x=1&beta=true"));
    assert_eq!(up.path, "/v1/messages?beta=true");
    let up = SITES[0].request_with(&raw, CLIENT_MODEL, &[], Some("beta=false"));
    assert_eq!(up.path, "/v1/messages");
}

#[test]
fn vertex_moves_the_model_into_the_url_and_adds_its_version() {
    for name in REQUESTS {
        let raw = fixture(name);
        let up = SITES[1].request(&raw);
        let mut want = json(&raw);
        let obj = want.as_object_mut().expect("object");
        assert_eq!(obj.remove("model"), Some(json!(CLIENT_MODEL)));
        obj.insert("anthropic_version".into(), json!("vertex-2023-10-16"));
        assert_json_eq(name, &json(&up.body), &want);
        assert_untouched_members(name, &raw, &up.body, &["model"]);
        assert_eq!(
            up.path,
            "/v1/projects/my-project/locations/us-east5/publishers/anthropic/models/\
             claude-opus-5-5@20260101:streamRawPredict",
            "{name}"
        );
        // Only the betas Vertex serves, under its names (front/messages/betas.rs).
        assert_eq!(
            owned(&up.headers),
            [(
                "anthropic-beta",
                "interleaved-thinking-2025-05-14,context-management-2025-06-27,\
                 per-turn-control-2026-07-01,tool-search-tool-2025-10-19"
                    .to_string()
            )],
            "{name}"
        );
    }
}

#[test]
fn bedrock_moves_model_and_stream_out_and_the_betas_in() {
    for name in REQUESTS {
        let raw = fixture(name);
        let up = SITES[2].request(&raw);
        let mut want = json(&raw);
        let obj = want.as_object_mut().expect("object");
        assert_eq!(obj.remove("model"), Some(json!(CLIENT_MODEL)));
        assert_eq!(obj.remove("stream"), Some(json!(true)));
        obj.insert("anthropic_version".into(), json!("bedrock-2023-05-31"));
        // Only the betas Bedrock serves, under its names (front/messages/betas.rs): Claude
        // Code's first-party ones (`claude-code-20250219`, ...) would be refused.
        obj.insert(
            "anthropic_beta".into(),
            json!([
                "context-management-2025-06-27",
                "mid-conversation-tool-changes-2026-07-01",
                "tool-search-tool-2025-10-19",
                "effort-2025-11-24"
            ]),
        );
        assert_json_eq(name, &json(&up.body), &want);
        assert_untouched_members(name, &raw, &up.body, &["model", "stream"]);
        assert_eq!(
            up.path, "/model/us.anthropic.claude-opus-5-5-v1%3A0/invoke-with-response-stream",
            "{name}"
        );
        assert!(up.headers.is_empty(), "{name}: {:?}", up.headers);
    }
}

#[test]
fn unstreamed_requests_call_the_unstreamed_apis() {
    let mut v = json(&fixture("tool_result_request.raw.json"));
    v["stream"] = json!(false);
    let raw = serde_json::to_vec(&v).expect("JSON");
    let vertex = SITES[1].request(&raw);
    assert!(vertex
        .path
        .ends_with("/models/claude-opus-5-5@20260101:rawPredict"));
    assert_eq!(json(&vertex.body)["stream"], json!(false));
    let bedrock = SITES[2].request(&raw);
    assert_eq!(
        bedrock.path,
        "/model/us.anthropic.claude-opus-5-5-v1%3A0/invoke"
    );
    assert!(json(&bedrock.body).get("stream").is_none());
    // No `stream` at all is a whole answer too.
    v.as_object_mut().expect("object").remove("stream");
    let raw = serde_json::to_vec(&v).expect("JSON");
    assert!(SITES[2].request(&raw).path.ends_with("/invoke"));
}

#[test]
fn a_version_or_beta_list_the_body_names_is_kept() {
    let mut v = json(&fixture("first_request.raw.json"));
    v["anthropic_version"] = json!("vertex-2099-01-01");
    v["anthropic_beta"] = json!(["only-this-2099-01-01"]);
    let raw = serde_json::to_vec(&v).expect("JSON");
    let vertex = json(&SITES[1].request(&raw).body);
    assert_eq!(vertex["anthropic_version"], "vertex-2099-01-01");
    let bedrock = json(&SITES[2].request(&raw).body);
    assert_eq!(bedrock["anthropic_version"], "vertex-2099-01-01");
    assert_eq!(bedrock["anthropic_beta"], json!(["only-this-2099-01-01"]));
}

// ---------------------------------------------------------------------------------------------
// Streams

fn response_target() -> ResponseTarget<'static> {
    ResponseTarget {
        model: CLIENT_MODEL,
        created: 1_700_000_000,
        include_usage: true,
    }
}

/// A Messages client's request, for the plan's stream (which reads nothing of it natively).
fn messages_request() -> ClientRequest {
    let body = br#"{"model":"m","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    ClientRequest::read(Front::Messages, body.to_vec()).expect("a Messages request")
}

fn run_stream<'a>(
    plan: Plan,
    pieces: impl IntoIterator<Item = &'a [u8]>,
) -> (Vec<u8>, StreamFacts) {
    let req = messages_request();
    let mut relay = plan
        .stream(&response_target(), "msg_x".to_string(), &req)
        .expect("a stream");
    let mut out = Vec::new();
    for piece in pieces {
        relay.feed(piece, &mut out).expect("feed");
    }
    relay.finish(&mut out).expect("finish");
    (out, relay.facts().clone())
}

/// `input` cut at 1 to 11 random places.
fn random_pieces<'a>(rng: &mut StdRng, input: &'a [u8]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = (0..rng.random_range(1..12))
        .map(|_| rng.random_range(0..=input.len()))
        .collect();
    cuts.push(0);
    cuts.push(input.len());
    cuts.sort_unstable();
    cuts.windows(2).map(|w| &input[w[0]..w[1]]).collect()
}

fn events(bytes: &[u8]) -> Vec<SseEvent> {
    let mut parser = SseParser::default();
    let mut out = Vec::new();
    let mut push = |e: SseEvent| {
        out.push(e);
        Ok(())
    };
    parser.feed(bytes, &mut push).expect("SSE");
    parser.finish(&mut push).expect("SSE");
    out
}

fn usage(input: u64, cache_read: u64, cache_creation: u64, output: u64) -> Usage {
    let all_input = input + cache_read + cache_creation;
    Usage {
        input_tokens: Some(all_input),
        output_tokens: Some(output),
        total_tokens: Some(all_input + output),
        cached_input_tokens: Some(cache_read),
        cache_creation_input_tokens: Some(cache_creation),
        // Claude Code's captures report `"ephemeral_1h_input_tokens": 0`.
        cache_write_1h_tokens: Some(0),
        reasoning_tokens: None,
        estimated: false,
    }
}

/// The facts each stream fixture must yield, on every site.
fn expected_facts(stream: &str) -> StreamFacts {
    let model = Some(CLIENT_MODEL.to_string());
    match stream {
        "thinking_tool_stream.sse" => StreamFacts {
            usage: usage(8, 0, 12355, 88),
            response_model: model,
            // Thinking is not answer text.
            texts: vec![String::new()],
            finish_reasons: vec!["tool_use".into()],
            tool_calls: vec![ToolCallFact {
                id: "toolu_01KmM4dbV8TV7FTSPNV7m6GU".into(),
                name: "Bash".into(),
                arguments:
                    r#"{"command":"echo hello-from-tool","description":"Print a marker string"}"#
                        .into(),
            }],
            first_token_seen: true,
            error: None,
        },
        "text_stream.sse" => StreamFacts {
            usage: usage(12, 11286, 1243, 9),
            response_model: model,
            texts: vec!["The command printed: hello-from-tool".into()],
            finish_reasons: vec!["end_turn".into()],
            tool_calls: Vec::new(),
            first_token_seen: true,
            error: None,
        },
        other => panic!("no facts for {other}"),
    }
}

#[test]
fn anthropic_streams_pass_byte_for_byte_however_split() {
    let plan = SITES[0].plan();
    let mut rng = StdRng::seed_from_u64(0xd1a6);
    for name in STREAMS {
        let input = fixture(name);
        let (out, facts) = run_stream(plan, [&input[..]]);
        assert!(out == input, "{name}: not byte for byte");
        assert_eq!(facts, expected_facts(name), "{name}");
        for _ in 0..100 {
            let pieces = random_pieces(&mut rng, &input);
            let (out, facts) = run_stream(plan, pieces.iter().copied());
            let sizes: Vec<usize> = pieces.iter().map(|p| p.len()).collect();
            assert!(out == input, "{name}: not byte for byte, pieces {sizes:?}");
            assert_eq!(facts, expected_facts(name), "{name}: pieces {sizes:?}");
        }
    }
}

#[test]
fn the_first_token_is_seen_at_the_first_content() {
    for name in STREAMS {
        let input = fixture(name);
        let first_block = find(&input, b"event: content_block_start");
        let req = messages_request();
        let mut relay = SITES[0]
            .plan()
            .stream(&response_target(), "x".into(), &req)
            .expect("a stream");
        let mut out = Vec::new();
        relay.feed(&input[..first_block], &mut out).expect("feed");
        assert!(!relay.facts().first_token_seen, "{name}: at message_start");
        assert_eq!(
            relay.facts().usage.output_tokens,
            None,
            "{name}: provisional"
        );
        let first_delta = find(&input, b"event: content_block_delta");
        relay
            .feed(&input[first_block..first_delta + 30], &mut out)
            .expect("feed");
        // A thinking block counts at its start, a text block at its first text.
        let at_start = name.starts_with("thinking");
        assert_eq!(relay.facts().first_token_seen, at_start, "{name}");
        relay
            .feed(&input[first_delta + 30..], &mut out)
            .expect("feed");
        assert!(relay.facts().first_token_seen, "{name}");
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("present")
}

#[test]
fn vertex_streams_pass_without_vertex_events() {
    let plan = SITES[1].plan();
    let mut rng = StdRng::seed_from_u64(0xd1a7);
    let vertex_event =
        "event: vertex_event\ndata: {\"type\":\"vertex_event\",\"usage\":{\"input_tokens\":8}}\n\n";
    for name in STREAMS {
        let original = String::from_utf8(fixture(name)).expect("UTF-8");
        // One after message_start, one before message_stop.
        let second = original.find("event: content_block_start").expect("block");
        let last = original.rfind("event: message_stop").expect("stop");
        let input = format!(
            "{}{vertex_event}{}{vertex_event}{}",
            &original[..second],
            &original[second..last],
            &original[last..]
        );
        assert_eq!(
            events(input.as_bytes()).len(),
            events(original.as_bytes()).len() + 2
        );
        let (out, facts) = run_stream(plan, [input.as_bytes()]);
        assert_eq!(String::from_utf8_lossy(&out), original, "{name}");
        assert_eq!(facts, expected_facts(name), "{name}");
        for _ in 0..100 {
            let pieces = random_pieces(&mut rng, input.as_bytes());
            let (out, facts) = run_stream(plan, pieces.iter().copied());
            assert!(out == original.as_bytes(), "{name}: split");
            assert_eq!(facts, expected_facts(name), "{name}: split");
        }
    }
}

/// The stream as Bedrock's `InvokeModelWithResponseStream` sends it: each Anthropic event a
/// `chunk` event with the JSON base64-encoded, Bedrock's metrics in `message_stop`.
fn bedrock_wire(sse: &[u8]) -> Vec<u8> {
    let mut wire = Vec::new();
    for event in events(sse) {
        let mut data = event.data.clone();
        if event.event.as_deref() == Some("message_stop") {
            let mut v = json(data.as_bytes());
            v["amazon-bedrock-invocationMetrics"] = json!({
                "inputTokenCount": 8,
                "outputTokenCount": 88,
                "invocationLatency": 2417,
                "firstByteLatency": 630,
            });
            data = v.to_string();
            assert!(data.contains("amazon-bedrock-invocationMetrics"));
        }
        let b64 = base64::engine::general_purpose::STANDARD.encode(data.as_bytes());
        let payload = json!({"bytes": b64, "p": "abcdefghijklmnopqrstuvwxyzABCDEF"});
        wire.extend(encode_event("chunk", payload.to_string().as_bytes()));
    }
    wire
}

/// Events compared by name and data JSON.
fn assert_same_events(case: &str, got: &[u8], want: &[u8]) {
    let named = |bytes: &[u8]| -> Vec<(Option<String>, Value)> {
        events(bytes)
            .into_iter()
            .map(|e| (e.event, json(e.data.as_bytes())))
            .collect()
    };
    let (got, want) = (named(got), named(want));
    assert_eq!(got.len(), want.len(), "{case}: event count");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "{case}: event {i}");
    }
}

#[test]
fn bedrock_event_streams_become_the_original_sse() {
    let plan = SITES[2].plan();
    let mut rng = StdRng::seed_from_u64(0xd1a8);
    for name in STREAMS {
        let original = fixture(name);
        let wire = bedrock_wire(&original);
        let (out, facts) = run_stream(plan, [&wire[..]]);
        assert_same_events(name, &out, &original);
        assert!(
            !String::from_utf8_lossy(&out).contains("invocationMetrics"),
            "{name}"
        );
        assert_eq!(facts, expected_facts(name), "{name}");
        for _ in 0..100 {
            let pieces = random_pieces(&mut rng, &wire);
            let (split, facts) = run_stream(plan, pieces.iter().copied());
            assert!(split == out, "{name}: depends on the split");
            assert_eq!(facts, expected_facts(name), "{name}: split");
        }
    }
}

#[test]
fn a_bedrock_exception_mid_stream_ends_it_with_an_error_event() {
    let original = fixture("text_stream.sse");
    let cut = find(&original, b"event: content_block_stop");
    let mut wire = bedrock_wire(&original[..cut]);
    wire.extend(encode_exception(
        "throttlingException",
        br#"{"message":"Too many tokens, please wait before trying again."}"#,
    ));
    let (out, facts) = run_stream(SITES[2].plan(), [&wire[..]]);
    let out_events = events(&out);
    let last = out_events.last().expect("events");
    assert_eq!(last.event.as_deref(), Some("error"));
    assert_eq!(
        json(last.data.as_bytes()),
        json!({"type":"error","error":{"type":"rate_limit_error",
            "message":"throttlingException: Too many tokens, please wait before trying again."}})
    );
    assert_same_events(
        "before the error",
        &out[..out.len() - last_len(&out)],
        &original[..cut],
    );
    assert_eq!(facts.texts, ["The command printed: hello-from-tool"]);
    assert!(facts
        .error
        .as_deref()
        .is_some_and(|e| e.contains("rate_limit_error")));
    assert!(facts.finish_reasons.is_empty());
}

/// The length of the last SSE event in `out` (which ends with a blank line).
fn last_len(out: &[u8]) -> usize {
    let body = &out[..out.len() - 2];
    let start = body
        .windows(2)
        .rposition(|w| w == b"\n\n")
        .map_or(0, |p| p + 2);
    out.len() - start
}

// ---------------------------------------------------------------------------------------------
// Whole answers and errors

#[test]
fn a_whole_answer_passes_as_it_came_with_its_facts() {
    let body = fixture("thinking_tool_message.json");
    for site in &SITES {
        let c = site
            .plan()
            .response(body.clone(), &response_target(), &messages_request())
            .unwrap_or_else(|e| panic!("{:?}: {e}", site.site));
        assert!(c.body == body, "{:?}: not byte for byte", site.site);
        assert_eq!(c.usage, usage(8, 1024, 12355, 112), "{:?}", site.site);
        assert_eq!(c.response_model.as_deref(), Some(CLIENT_MODEL));
        assert_eq!(c.texts, ["I'll run that with Bash — one moment.\n"]);
        assert_eq!(c.finish_reasons, ["tool_use"]);
        assert_eq!(
            c.tool_calls,
            [ToolCallFact {
                id: "toolu_01KmM4dbV8TV7FTSPNV7m6GU".into(),
                name: "Bash".into(),
                arguments:
                    r#"{"command":"echo hello-from-tool","description":"Print a marker string"}"#
                        .into(),
            }]
        );
    }
}

#[test]
fn errors_in_anthropics_shape_pass_as_they_are() {
    let body = br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CVkA2fWq3yFw2bUa7Jx9t"}"#;
    for site in &SITES {
        assert!(
            site.plan().error(529, body) == body.to_vec(),
            "{:?}",
            site.site
        );
    }
}

#[test]
fn vertex_errors_are_put_in_anthropics_shape() {
    let plan = SITES[1].plan();
    for (status, google_status, want) in [
        (400, "INVALID_ARGUMENT", "invalid_request_error"),
        (401, "UNAUTHENTICATED", "authentication_error"),
        (403, "PERMISSION_DENIED", "permission_error"),
        (404, "NOT_FOUND", "not_found_error"),
        (429, "RESOURCE_EXHAUSTED", "rate_limit_error"),
        (500, "INTERNAL", "api_error"),
        (503, "UNAVAILABLE", "api_error"),
    ] {
        let message = format!("{google_status} happened");
        let error = json!({"error": {"code": status, "message": message, "status": google_status}});
        let want = json!({"type": "error", "error": {"type": want, "message": message}});
        // Vertex sends some as a one-element list, some as the object itself.
        for body in [json!([error.clone()]), error] {
            let got = json(&plan.error(status, body.to_string().as_bytes()));
            assert_eq!(got, want, "{status}: {body}");
        }
    }
}

#[test]
fn bedrock_errors_are_put_in_anthropics_shape() {
    let plan = SITES[2].plan();
    for (status, key, want) in [
        (400, "message", "invalid_request_error"),
        (403, "Message", "permission_error"),
        (404, "message", "not_found_error"),
        (429, "message", "rate_limit_error"),
        (500, "message", "api_error"),
        (503, "message", "api_error"),
    ] {
        let message = format!("Bedrock says {status}");
        let body = json!({ key: message }).to_string();
        let got = json(&plan.error(status, body.as_bytes()));
        assert_eq!(
            got,
            json!({"type": "error", "error": {"type": want, "message": message}}),
            "{status}"
        );
    }
    let got = json(&plan.error(502, b"<html>Bad Gateway</html>"));
    assert_eq!(
        got,
        json!({"type":"error","error":{"type":"api_error","message":"<html>Bad Gateway</html>"}})
    );
    let got = json(&plan.error(502, b""));
    assert_eq!(got["error"]["message"], "upstream returned status 502");
}

// ---------------------------------------------------------------------------------------------
// Chat Completions on the diagonal

/// A realistic chat request, as a client writes it (spacing and all): a tool round trip,
/// `tool_choice`, a JSON schema answer, `logit_bias`, `reasoning_effort` and a vendor field.
const CHAT_REQUEST: &str = r#"{
  "model": "gpt-5.1",
  "messages": [
    {"role": "developer", "content": "Answer as JSON. Be terse."},
    {"role": "user", "content": [{"type": "text", "text": "Weather in Paris, °C?"}]},
    {"role": "assistant", "content": null, "tool_calls": [
      {"id": "call_7Qk2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
    ]},
    {"role": "tool", "tool_call_id": "call_7Qk2", "content": "{\"temp_c\":18.50}"}
  ],
  "tools": [{"type": "function", "function": {
    "name": "get_weather", "description": "Current weather", "strict": true,
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"], "additionalProperties": false}}}],
  "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
  "parallel_tool_calls": false,
  "response_format": {"type": "json_schema", "json_schema": {"name": "weather", "strict": true,
    "schema": {"type": "object", "properties": {"temp_c": {"type": "number"}},
               "required": ["temp_c"], "additionalProperties": false}}},
  "logit_bias": {"1734": -100, "50256": 5},
  "reasoning_effort": "low",
  "max_completion_tokens": 800,
  "seed": 7,
  "store": false,
  "metadata": {"team": "weather"},
  "x_vendor_trace": {"id": "t-9", "sampled": true}
}"#;

fn chat_request(
    provider: ProviderKind,
    raw: &[u8],
    model: &str,
    api_version: Option<&str>,
) -> UpstreamRequest {
    let plan = Plan::choose(Front::Chat, provider, model);
    assert_eq!(plan, Plan::Native(Native::Chat(provider)));
    let mut req = ClientRequest::read(Front::Chat, raw.to_vec()).expect("client body");
    let target = RequestTarget {
        model,
        api_version,
        ..RequestTarget::default()
    };
    plan.request(&mut req, &target).expect("request")
}

#[test]
fn chat_goes_to_openai_byte_for_byte() {
    let raw = CHAT_REQUEST.as_bytes();
    let up = chat_request(ProviderKind::OpenAi, raw, "gpt-5.1", None);
    assert!(up.body == raw, "not byte for byte");
    assert_eq!(up.path, "/v1/chat/completions");
    assert!(up.headers.is_empty());
    // A pinned model is the only difference.
    let up = chat_request(ProviderKind::OpenAi, raw, "gpt-5.1-2026-01-01", None);
    let mut want = json(raw);
    want["model"] = json!("gpt-5.1-2026-01-01");
    assert_json_eq("pinned", &json(&up.body), &want);
    assert_untouched_members("pinned", raw, &up.body, &["model"]);
}

#[test]
fn a_chat_stream_only_gains_stream_usage() {
    let mut v = json(CHAT_REQUEST.as_bytes());
    v["stream"] = json!(true);
    let raw = serde_json::to_vec(&v).expect("JSON");
    let up = chat_request(ProviderKind::OpenAi, &raw, "gpt-5.1", None);
    let mut want = v.clone();
    want["stream_options"] = json!({"include_usage": true});
    assert_json_eq("stream", &json(&up.body), &want);
    assert_untouched_members("stream", &raw, &up.body, &["stream_options"]);
    // Other stream options stay beside it.
    v["stream_options"] = json!({"include_obfuscation": false});
    let raw = serde_json::to_vec(&v).expect("JSON");
    let up = chat_request(ProviderKind::OpenAi, &raw, "gpt-5.1", None);
    assert_eq!(
        json(&up.body)["stream_options"],
        json!({"include_obfuscation": false, "include_usage": true})
    );
    // A client that asked for usage already is not edited at all.
    v["stream_options"] = json!({"include_usage": true});
    let raw = serde_json::to_vec(&v).expect("JSON");
    let up = chat_request(ProviderKind::OpenAi, &raw, "gpt-5.1", None);
    assert!(up.body == raw);
}

#[test]
fn chat_goes_to_an_azure_deployment() {
    let raw = CHAT_REQUEST.as_bytes();
    let up = chat_request(ProviderKind::Azure, raw, "weather-gpt51", None);
    assert_eq!(
        up.path,
        "/openai/deployments/weather-gpt51/chat/completions?api-version=2024-10-21"
    );
    let mut want = json(raw);
    want["model"] = json!("weather-gpt51");
    assert_json_eq("azure", &json(&up.body), &want);
    assert_untouched_members("azure", raw, &up.body, &["model"]);
    let up = chat_request(
        ProviderKind::Azure,
        raw,
        "weather-gpt51",
        Some("2025-04-01-preview"),
    );
    assert_eq!(
        up.path,
        "/openai/deployments/weather-gpt51/chat/completions?api-version=2025-04-01-preview"
    );
    // Without a pinned model the client names the deployment: it cannot leave its segment.
    for model in ["../../openai/assistants", "x?api-version=1#", "x/y"] {
        let plan = Plan::choose(Front::Chat, ProviderKind::Azure, model);
        let mut req = ClientRequest::read(Front::Chat, raw.to_vec()).expect("client body");
        let target = RequestTarget {
            model,
            ..RequestTarget::default()
        };
        let err = plan.request(&mut req, &target).expect_err(model);
        assert!(
            matches!(err, TranslateError::InvalidRequest(_)),
            "{model}: {err}"
        );
    }
}

#[test]
fn a_whole_chat_answer_passes_as_it_came() {
    let body = br#"{"id":"chatcmpl-9x","object":"chat.completion","created":1700000000,"model":"gpt-5.1-2026-01-01","choices":[{"index":0,"message":{"role":"assistant","content":"{\"temp_c\":18.5}","refusal":null},"finish_reason":"stop"}],"usage":{"prompt_tokens":120,"completion_tokens":12,"total_tokens":132,"prompt_tokens_details":{"cached_tokens":64},"completion_tokens_details":{"reasoning_tokens":4}},"system_fingerprint":"fp_x"}"#;
    let plan = Plan::choose(Front::Chat, ProviderKind::OpenAi, "gpt-5.1");
    let req = ClientRequest::read(Front::Chat, br#"{"messages":[]}"#.to_vec()).expect("chat");
    let c = plan
        .response(body.to_vec(), &response_target(), &req)
        .expect("answer");
    assert!(c.body == body.to_vec());
    assert_eq!(c.texts, [r#"{"temp_c":18.5}"#]);
    assert_eq!(c.finish_reasons, ["stop"]);
    assert_eq!(c.usage.input_tokens, Some(120));
    assert_eq!(c.usage.cached_input_tokens, Some(64));
    assert_eq!(c.response_model.as_deref(), Some("gpt-5.1-2026-01-01"));
}

/// The request's headers with owned values, to compare with literals.
fn owned(
    headers: &[(&'static str, std::borrow::Cow<'static, str>)],
) -> Vec<(&'static str, String)> {
    headers.iter().map(|(n, v)| (*n, v.to_string())).collect()
}
