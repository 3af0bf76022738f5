//! A backend's `baseUrl`, parsed: scheme, host, port and base path.

/// A parsed `baseUrl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// Path prefix of the base URL, without a trailing slash (`""` or `/openai`).
    pub base_path: String,
    /// Worked out once here, read on every request.
    host_header: String,
    /// `host_header` as a header value, cloned per request (a reference count).
    host_value: http::HeaderValue,
    endpoint: String,
}

impl Upstream {
    /// The `Host` header value: the port only when it is not the scheme's default.
    pub fn host_header(&self) -> &str {
        &self.host_header
    }

    /// [`Upstream::host_header`] as a header value.
    pub fn host_value(&self) -> &http::HeaderValue {
        &self.host_value
    }

    /// `host:port`, as the log line's `endpoint`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The base path joined with a provider path. A base URL that already ends in the
    /// version segment the provider path starts with (`https://api.openai.com/v1`, as the
    /// OpenAI SDKs write it) does not get it twice.
    pub fn join_path(&self, path: &str) -> String {
        let mut base = self.base_path.as_str();
        if let Some((first, _)) = path.trim_start_matches('/').split_once('/') {
            if let Some(stripped) = base.strip_suffix(first).and_then(|b| b.strip_suffix('/')) {
                base = stripped;
            }
        }
        let mut joined = String::with_capacity(base.len() + path.len());
        joined.push_str(base);
        joined.push_str(path);
        joined
    }

    pub fn parse(url: &str) -> Result<Self, String> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!("\"{url}\" is not an http:// or https:// URL"));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(format!("\"{url}\" has no host"));
        }
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => match p.parse() {
                Ok(port) => (h, port),
                Err(_) => return Err(format!("\"{url}\" has an invalid port")),
            },
            _ => (authority, default_port),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let endpoint = format!("{host}:{port}");
        let host_header = if port == default_port {
            host.to_string()
        } else {
            endpoint.clone()
        };
        let host_value = http::HeaderValue::from_str(&host_header)
            .map_err(|_| format!("\"{url}\" has a host that cannot be a Host header"))?;
        Ok(Upstream {
            tls,
            host: host.to_string(),
            port,
            base_path: path.trim_end_matches('/').to_string(),
            host_header,
            host_value,
            endpoint,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_parse_and_join() {
        let u = Upstream::parse("https://api.openai.com/v1").unwrap();
        assert_eq!(
            (u.tls, u.host.as_str(), u.port, u.base_path.as_str()),
            (true, "api.openai.com", 443, "/v1")
        );
        assert_eq!(u.join_path("/v1/chat/completions"), "/v1/chat/completions");
        let u = Upstream::parse("http://127.0.0.1:9000/").unwrap();
        assert_eq!((u.tls, u.port, u.base_path.as_str()), (false, 9000, ""));
        assert_eq!(
            u.join_path("/v1beta/models/x:generateContent"),
            "/v1beta/models/x:generateContent"
        );
        let u = Upstream::parse("https://api.groq.com/openai").unwrap();
        assert_eq!(
            u.join_path("/v1/chat/completions"),
            "/openai/v1/chat/completions"
        );
        assert!(Upstream::parse("ftp://x").is_err());
        assert!(Upstream::parse("http://x:notaport").is_err());
    }
}
