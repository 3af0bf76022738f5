//! Helpers shared by the diagonal tests: fixtures, JSON comparison, the Claude sites and
//! the plans' response targets.

use std::collections::BTreeMap;

use serde_json::value::RawValue;
use serde_json::Value;
use sluice_providers::front::messages::ClaudeSite;
use sluice_providers::plan::Native;
use sluice_providers::{
    ClientRequest, Front, Plan, ProviderKind, RequestTarget, ResponseTarget, UpstreamRequest,
    Usage, VertexSite,
};

use crate::common::read_fixture;

pub(crate) const CLIENT_MODEL: &str = "claude-opus-5-5";
const VERTEX_MODEL: &str = "claude-opus-5-5@20260101";
const BEDROCK_MODEL: &str = "us.anthropic.claude-opus-5-5-v1:0";
const VERTEX: VertexSite<'static> = VertexSite {
    project: "my-project",
    location: "us-east5",
};

pub(crate) fn fixture(name: &str) -> Vec<u8> {
    read_fixture("claude_code", name)
}

pub(crate) fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("not JSON ({e}): {bytes:?}"))
}

pub(crate) fn assert_json_eq(case: &str, got: &Value, want: &Value) {
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
pub(crate) fn forwarded_headers() -> Vec<(&'static str, String)> {
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

pub(crate) fn beta_header() -> String {
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
pub(crate) struct Site {
    pub(crate) site: ClaudeSite,
    pub(crate) provider: ProviderKind,
    pub(crate) model: &'static str,
    pub(crate) vertex: Option<VertexSite<'static>>,
}

pub(crate) const SITES: [Site; 3] = [
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
    pub(crate) fn plan(&self) -> Plan {
        let plan = Plan::choose(Front::Messages, self.provider, self.model);
        assert_eq!(plan, Plan::Native(Native::Messages(self.site)));
        plan
    }

    pub(crate) fn request_with(
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
    pub(crate) fn request(&self, raw: &[u8]) -> UpstreamRequest {
        self.request_with(raw, self.model, &forwarded_headers(), Some("beta=true"))
    }
}

/// A JSON object's top-level members with their values' raw text.
pub(crate) fn raw_members(body: &[u8]) -> BTreeMap<String, String> {
    let members: BTreeMap<String, Box<RawValue>> =
        serde_json::from_slice(body).expect("a JSON object");
    members
        .into_iter()
        .map(|(k, v)| (k, v.get().to_string()))
        .collect()
}

/// Every member the edits leave alone reaches the provider with the client's own bytes.
pub(crate) fn assert_untouched_members(
    case: &str,
    client: &[u8],
    upstream: &[u8],
    edited: &[&str],
) {
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

pub(crate) fn response_target() -> ResponseTarget<'static> {
    ResponseTarget {
        model: CLIENT_MODEL,
        created: 1_700_000_000,
        include_usage: true,
    }
}

/// A Messages client's request, for the plan's stream (which reads nothing of it natively).
pub(crate) fn messages_request() -> ClientRequest {
    let body = br#"{"model":"m","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    ClientRequest::read(Front::Messages, body.to_vec()).expect("a Messages request")
}

pub(crate) fn usage(input: u64, cache_read: u64, cache_creation: u64, output: u64) -> Usage {
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

/// The request's headers with owned values, to compare with literals.
pub(crate) fn owned(
    headers: &[(&'static str, std::borrow::Cow<'static, str>)],
) -> Vec<(&'static str, String)> {
    headers.iter().map(|(n, v)| (*n, v.to_string())).collect()
}
