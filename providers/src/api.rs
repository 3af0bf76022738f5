//! Which API a request speaks, told by the end of its path.

use crate::front::{self, Front};

/// Which API a request speaks, told by the end of its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiKind {
    /// A generation request of a front door (chat completions, messages, responses, Gemini's
    /// `generateContent` and `streamGenerateContent`).
    Generate(Front),
    /// Counting a request's input tokens in a front door's shape (Anthropic's
    /// `messages/count_tokens`, the Responses API's `responses/input_tokens`, Gemini's
    /// `:countTokens`).
    CountTokens(Front),
    /// A call on a stored response of the Responses API (`GET`/`DELETE .../responses/{id}`,
    /// `.../responses/{id}/input_items`, `POST .../responses/{id}/cancel`).
    StoredResponse,
    Embeddings,
    Models,
}

impl ApiKind {
    /// The API of a request to `path` that its route matched, leaving `rest` after the
    /// route's prefix (empty for an exact route, or the bare prefix). Told by the path's end
    /// ([`ApiKind::api_path`]): `path: /v1/messages` is the Messages API; a route's whole path
    /// that names no API (the seed's `/gemini`) is chat completions. `None`: no API there.
    pub fn of_request(path: &str, rest: &str) -> Option<Self> {
        if nothing_follows(rest) {
            Some(Self::from_path(path).unwrap_or(Self::Generate(Front::Chat)))
        } else {
            Self::from_path(rest)
        }
    }

    /// What a request's API is told by: what follows the route's prefix, or the whole path
    /// when nothing does.
    pub fn api_path<'a>(path: &'a str, rest: &'a str) -> &'a str {
        if nothing_follows(rest) {
            path
        } else {
            rest
        }
    }

    /// The API of a request whose path, with the route prefix removed, is `rest`.
    /// The bare prefix is chat completions, as in the seed's `/gemini` route.
    pub fn from_path(rest: &str) -> Option<Self> {
        let rest = rest.split('?').next().unwrap_or("").trim_end_matches('/');
        let ends = |api: &str| {
            rest.strip_suffix(api)
                .is_some_and(|head| head.is_empty() || head.ends_with('/'))
        };
        if let Some(method) = front::gemini::call::is_gemini_path(rest) {
            return Some(match method {
                front::gemini::Method::CountTokens => Self::CountTokens(Front::Gemini),
                _ => Self::Generate(Front::Gemini),
            });
        }
        if rest.is_empty() || ends("chat/completions") {
            Some(Self::Generate(Front::Chat))
        } else if ends("messages/count_tokens") {
            Some(Self::CountTokens(Front::Messages))
        } else if ends("messages") {
            Some(Self::Generate(Front::Messages))
        } else if ends("responses") {
            Some(Self::Generate(Front::Responses))
        } else if ends("responses/input_tokens") {
            Some(Self::CountTokens(Front::Responses))
        } else if rest.starts_with("responses/") || rest.contains("/responses/") {
            Some(Self::StoredResponse)
        } else if rest.ends_with("/embeddings") {
            Some(Self::Embeddings)
        } else if rest.ends_with("/models") {
            Some(Self::Models)
        } else {
            None
        }
    }
}

/// Whether nothing follows a route's prefix (or exact path) in a request's path.
fn nothing_follows(rest: &str) -> bool {
    rest.trim_end_matches('/').is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_is_told_by_the_paths_end() {
        let of = ApiKind::of_request;
        // Under a prefix: by what follows it.
        assert_eq!(
            of("/anthropic/v1/messages", "/v1/messages"),
            Some(ApiKind::Generate(Front::Messages))
        );
        assert_eq!(
            of("/a/v1/messages/count_tokens", "/v1/messages/count_tokens"),
            Some(ApiKind::CountTokens(Front::Messages))
        );
        assert_eq!(
            of("/o/v1/responses/resp_1", "/v1/responses/resp_1"),
            Some(ApiKind::StoredResponse)
        );
        assert_eq!(
            of(
                "/g/v1beta/models/gemini-2.0-flash:streamGenerateContent",
                "/v1beta/models/gemini-2.0-flash:streamGenerateContent"
            ),
            Some(ApiKind::Generate(Front::Gemini))
        );
        assert_eq!(
            of("/o/v1/embeddings", "/v1/embeddings"),
            Some(ApiKind::Embeddings)
        );
        assert_eq!(of("/o/v1/models", "/v1/models"), Some(ApiKind::Models));
        assert_eq!(of("/o/v1/audio/speech", "/v1/audio/speech"), None);
        // The seed's bare prefix is chat completions.
        assert_eq!(of("/gemini", ""), Some(ApiKind::Generate(Front::Chat)));
        assert_eq!(of("/gemini/", "/"), Some(ApiKind::Generate(Front::Chat)));
        // An exact route (or a prefix hit on itself) is read by its whole path.
        assert_eq!(
            of("/v1/messages", ""),
            Some(ApiKind::Generate(Front::Messages))
        );
        assert_eq!(
            of("/v1/responses", ""),
            Some(ApiKind::Generate(Front::Responses))
        );
        assert_eq!(of("/v1/embeddings", ""), Some(ApiKind::Embeddings));
        assert_eq!(
            of("/v1beta/models/gemini-2.0-flash:countTokens", ""),
            Some(ApiKind::CountTokens(Front::Gemini))
        );
        assert_eq!(of("/exact", ""), Some(ApiKind::Generate(Front::Chat)));
        // Under a `/` prefix the rest is the whole path, and still told by its end.
        assert_eq!(of("/v1/nothing/here", "/v1/nothing/here"), None);
        assert_eq!(
            of("/v1/messages", "/v1/messages"),
            Some(ApiKind::Generate(Front::Messages))
        );
    }
}
