//! The `anthropic-beta` values Claude on Bedrock and on Vertex AI take. Both refuse a request
//! that names a beta they do not serve (400 "invalid beta flag" / "Unexpected value(s) for the
//! anthropic-beta header"), and clients written for Anthropic's own API send first-party betas
//! (Claude Code sends `claude-code-20250219`, `thinking-token-count-...`): passed as they are,
//! every such request would fail. So, for those two sites only, each beta is kept, renamed to
//! the site's name for it, or left out, by these tables (as LiteLLM does; its
//! `litellm/anthropic_beta_headers_config.json` at commit 030dd40, September 2026, is the
//! source; neither cloud publishes a complete list). A beta not in a table is left out.
//! Anthropic itself gets the client's list unchanged.

/// `(client's beta, the site's name for it)`.
type Table = &'static [(&'static str, &'static str)];

const BEDROCK: Table = &[
    (
        "advanced-tool-use-2025-11-20",
        "tool-search-tool-2025-10-19",
    ),
    ("tool-search-tool-2025-10-19", "tool-search-tool-2025-10-19"),
    ("compact-2026-01-12", "compact-2026-01-12"),
    ("computer-use-2025-01-24", "computer-use-2025-01-24"),
    ("computer-use-2025-11-24", "computer-use-2025-11-24"),
    ("context-1m-2025-08-07", "context-1m-2025-08-07"),
    (
        "context-management-2025-06-27",
        "context-management-2025-06-27",
    ),
    (
        "dangerous-tool-use-2026-09-03",
        "dangerous-tool-use-2026-09-03",
    ),
    ("effort-2025-11-24", "effort-2025-11-24"),
    (
        "fine-grained-tool-streaming-2025-05-14",
        "fine-grained-tool-streaming-2025-05-14",
    ),
    (
        "thinking-binding-controls-2026-08-01",
        "thinking-binding-controls-2026-08-01",
    ),
    (
        "mid-conversation-output-config-2026-07-01",
        "mid-conversation-output-config-2026-07-01",
    ),
    (
        "thinking-display-updates-2026-08-18",
        "thinking-display-updates-2026-08-18",
    ),
    (
        "mid-conversation-tool-changes-2026-07-01",
        "mid-conversation-tool-changes-2026-07-01",
    ),
];

const VERTEX: Table = &[
    (
        "advanced-tool-use-2025-11-20",
        "tool-search-tool-2025-10-19",
    ),
    ("tool-search-tool-2025-10-19", "tool-search-tool-2025-10-19"),
    ("compact-2026-01-12", "compact-2026-01-12"),
    ("compact-2026-09-04", "compact-2026-09-04"),
    ("computer-use-2025-01-24", "computer-use-2025-01-24"),
    ("computer-use-2025-11-24", "computer-use-2025-11-24"),
    ("context-1m-2025-08-07", "context-1m-2025-08-07"),
    (
        "context-management-2025-06-27",
        "context-management-2025-06-27",
    ),
    (
        "dangerous-tool-use-2026-09-03",
        "dangerous-tool-use-2026-09-03",
    ),
    (
        "interleaved-thinking-2025-05-14",
        "interleaved-thinking-2025-05-14",
    ),
    ("per-turn-control-2026-07-01", "per-turn-control-2026-07-01"),
    (
        "thinking-binding-controls-2026-08-01",
        "thinking-binding-controls-2026-08-01",
    ),
    (
        "thinking-display-updates-2026-08-18",
        "thinking-display-updates-2026-08-18",
    ),
    ("web-search-2025-03-05", "web-search-2025-03-05"),
];

/// Where a beta list is going.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Site {
    Bedrock,
    Vertex,
}

/// The betas of a comma-separated `anthropic-beta` value the site takes, under its names, in
/// the client's order, each once.
pub fn for_site(header: &str, site: Site) -> Vec<&'static str> {
    let table = match site {
        Site::Bedrock => BEDROCK,
        Site::Vertex => VERTEX,
    };
    let mut out: Vec<&'static str> = Vec::new();
    for beta in header.split(',').map(str::trim) {
        if let Some((_, name)) = table.iter().find(|(from, _)| *from == beta) {
            if !out.contains(name) {
                out.push(name);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Claude Code 2.1.332's list (providers/tests/fixtures/claude_code).
    const CLAUDE_CODE: &str = "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,per-turn-control-2026-07-01,mid-conversation-tool-changes-2026-07-01,thinking-token-count-2026-05-13,advanced-tool-use-2025-11-20,effort-2025-11-24";

    #[test]
    fn each_site_gets_the_betas_it_serves_under_its_names() {
        assert_eq!(
            for_site(CLAUDE_CODE, Site::Bedrock),
            [
                "context-management-2025-06-27",
                "mid-conversation-tool-changes-2026-07-01",
                "tool-search-tool-2025-10-19",
                "effort-2025-11-24"
            ]
        );
        assert_eq!(
            for_site(CLAUDE_CODE, Site::Vertex),
            [
                "interleaved-thinking-2025-05-14",
                "context-management-2025-06-27",
                "per-turn-control-2026-07-01",
                "tool-search-tool-2025-10-19"
            ]
        );
        assert_eq!(
            for_site(
                "tool-search-tool-2025-10-19, advanced-tool-use-2025-11-20",
                Site::Vertex
            ),
            ["tool-search-tool-2025-10-19"],
            "renamed betas count once"
        );
        assert!(for_site("claude-code-20250219", Site::Bedrock).is_empty());
    }
}
