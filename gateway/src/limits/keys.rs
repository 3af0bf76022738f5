//! Virtual keys as clients present them: the header or query parameter they come in, and
//! their SHA-256 hash (the key itself is never kept).

use sha2::{Digest, Sha256};

/// SHA-256 of a key.
pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Parses `sha256:<64 hex>`.
pub fn parse_hash(text: &str) -> Option<[u8; 32]> {
    let hex = text.strip_prefix("sha256:")?;
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The key a client presented: `Authorization: Bearer <key>`, `x-api-key`, `api-key` or
/// `x-goog-api-key` (Gemini's; its `?key=` is read by [`query_key`]).
pub fn presented_key<'a>(header: impl Fn(&str) -> Option<&'a str>) -> Option<&'a str> {
    if let Some(auth) = header("authorization") {
        let auth = auth.trim();
        if let Some(key) = auth
            .strip_prefix("Bearer ")
            .or_else(|| auth.strip_prefix("bearer "))
        {
            return Some(key.trim());
        }
    }
    header("x-api-key")
        .or_else(|| header("api-key"))
        .or_else(|| header("x-goog-api-key"))
        .map(str::trim)
}

/// The key in a query string's `key=` parameter (Gemini clients may send it so), unless empty
/// or percent-encoded (keys are plain ASCII; an encoded one is not taken as given).
pub fn query_key(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .find_map(|kv| kv.strip_prefix("key="))
        .filter(|k| !k.is_empty() && !k.contains('%'))
}
