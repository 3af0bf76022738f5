//! What a Gemini front-door path says: the model and the method are in the URL
//! (`.../v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse`), not in the body.

/// The Gemini API method a path calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Generate,
    Stream,
    CountTokens,
}

/// One Gemini front-door call, read from its path and query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeminiCall {
    /// The model id as the path names it (without `models/`).
    pub model: String,
    pub method: Method,
    /// The API version the client called (`v1`, `v1beta`, `v1alpha`), when the path has one.
    pub api_version: Option<String>,
    /// A stream asked for as server-sent events (`?alt=sse`); else a JSON array.
    pub sse: bool,
}

impl GeminiCall {
    /// The call a path (the route prefix removed) and query make, when it is a Gemini
    /// front-door path: `[/{version}]/models/{model}:{method}`, with anything before the
    /// version (a Vertex-style `projects/.../publishers/google/` is not read).
    pub fn parse(rest: &str, query: Option<&str>) -> Option<GeminiCall> {
        let rest = rest.split('?').next().unwrap_or("").trim_end_matches('/');
        let (before, call) = rest.rsplit_once("models/")?;
        let (model, method) = call.split_once(':')?;
        let method = match method {
            "generateContent" => Method::Generate,
            "streamGenerateContent" => Method::Stream,
            "countTokens" => Method::CountTokens,
            _ => return None,
        };
        if model.is_empty() || model.contains('/') {
            return None;
        }
        let api_version = before
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .filter(|v| v.starts_with("v1"))
            .map(str::to_string);
        let sse = query.is_some_and(|q| q.split('&').any(|kv| kv.eq_ignore_ascii_case("alt=sse")));
        Some(GeminiCall {
            model: model.to_string(),
            method,
            api_version,
            sse,
        })
    }

    pub fn stream(&self) -> bool {
        self.method == Method::Stream
    }
}

/// Whether a path (route prefix removed) is a Gemini front-door call.
pub fn is_gemini_path(rest: &str) -> Option<Method> {
    GeminiCall::parse(rest, None).map(|c| c.method)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_the_model_method_version_and_framing() {
        let c = GeminiCall::parse(
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
            Some("alt=sse"),
        )
        .unwrap();
        assert_eq!(c.model, "gemini-2.5-flash");
        assert_eq!(c.method, Method::Stream);
        assert_eq!(c.api_version.as_deref(), Some("v1beta"));
        assert!(c.sse);
        let c = GeminiCall::parse("v1/models/gemini-2.0-flash:generateContent", None).unwrap();
        assert_eq!(
            (c.method, c.api_version.as_deref(), c.sse),
            (Method::Generate, Some("v1"), false)
        );
        let c = GeminiCall::parse("/models/m:countTokens", Some("key=k")).unwrap();
        assert_eq!((c.method, c.api_version), (Method::CountTokens, None));
        assert!(GeminiCall::parse("/v1/models/m:embedContent", None).is_none());
        assert!(GeminiCall::parse("/v1/chat/completions", None).is_none());
        assert!(GeminiCall::parse("/v1/models/a/b:generateContent", None).is_none());
    }
}
