//! Token counting with tiktoken, for the mock provider and for estimating usage when a
//! provider reports none. The BPE tables (several MB) load on first use only, so a gateway
//! that never counts never pays for them.

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

fn bpe() -> Option<&'static CoreBPE> {
    static BPE: OnceLock<Option<CoreBPE>> = OnceLock::new();
    BPE.get_or_init(|| tiktoken_rs::o200k_base().ok()).as_ref()
}

/// Loads the tables now (call from a background thread at start-up when counting is certain,
/// e.g. for a `mock` backend) so the first request does not pay for it.
pub fn warm() {
    let _ = bpe();
}

/// Tokens in `text` by the `o200k_base` encoding (GPT-4o's); a rough count by bytes if the
/// tables could not be loaded.
pub fn count(text: &str) -> u64 {
    match bpe() {
        Some(bpe) => bpe.encode_ordinary(text).len() as u64,
        None => (text.len() as u64).div_ceil(4),
    }
}

/// Tokens of a chat prompt: each message's text plus OpenAI's per-message overhead
/// (3 tokens a message, 3 to prime the reply), as in OpenAI's cookbook.
pub fn count_prompt<'a>(messages: impl IntoIterator<Item = (&'a str, &'a str)>) -> u64 {
    let mut total = 3;
    for (role, text) in messages {
        total += 3 + count(role) + count(text);
    }
    total
}

/// Splits `text` into pieces of about one token each (for streaming the mock's answer).
pub fn split_tokens(text: &str) -> Vec<String> {
    match bpe() {
        Some(bpe) => {
            let ids = bpe.encode_ordinary(text);
            let mut pieces = Vec::with_capacity(ids.len());
            for id in ids {
                match bpe.decode(&[id]) {
                    Ok(piece) => pieces.push(piece),
                    Err(_) => return vec![text.to_string()],
                }
            }
            pieces
        }
        None => text.split_inclusive(' ').map(str::to_string).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_known_text() {
        assert_eq!(count("hello world"), 2);
        assert_eq!(split_tokens("hello world").concat(), "hello world");
        assert_eq!(count_prompt([("user", "hello world")]), 3 + 3 + 1 + 2);
    }
}
