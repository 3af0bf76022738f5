//! Token counting with tiktoken (`o200k_base`), for the mock provider and for estimating usage
//! a provider did not report. The BPE tables are large (~45 MB resident, ~200 ms to load), so
//! they load on first need only, and never on a request path that must not stall:
//! - [`count`] / [`count_prompt`] load them if needed and count exactly (the mock provider,
//!   which warms them at start-up with [`warm`]);
//! - [`estimate`] / [`estimate_prompt`] count exactly once the tables are loaded; before that
//!   they start loading them on a background thread and answer with a bytes/4 heuristic, so a
//!   gateway worker never blocks on the load.

use std::sync::{Once, OnceLock};

use tiktoken_rs::CoreBPE;

static BPE: OnceLock<Option<CoreBPE>> = OnceLock::new();

fn bpe() -> Option<&'static CoreBPE> {
    BPE.get_or_init(|| tiktoken_rs::o200k_base().ok()).as_ref()
}

/// The tables when already loaded, else `None` after starting a background load.
fn loaded_or_start() -> Option<&'static CoreBPE> {
    if let Some(loaded) = BPE.get() {
        return loaded.as_ref();
    }
    static START: Once = Once::new();
    START.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("sluice-tiktoken".to_string())
            .spawn(warm);
        if spawned.is_err() {
            // No thread: counts stay heuristic rather than stall a worker.
        }
    });
    None
}

/// Loads the tables now (blocking); call from a background thread at start-up when counting
/// is certain, e.g. for a `mock` backend.
pub fn warm() {
    let _ = bpe();
}

fn heuristic(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

fn count_with(bpe: Option<&CoreBPE>, text: &str) -> u64 {
    match bpe {
        Some(bpe) => bpe.encode_ordinary(text).len() as u64,
        None => heuristic(text),
    }
}

/// Tokens in `text`, exactly (loads the tables if needed).
pub fn count(text: &str) -> u64 {
    count_with(bpe(), text)
}

/// Tokens in `text`: exact once the tables are loaded, a bytes/4 estimate until then.
pub fn estimate(text: &str) -> u64 {
    count_with(loaded_or_start(), text)
}

fn prompt_with<'a>(
    counter: impl Fn(&str) -> u64,
    messages: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> u64 {
    // OpenAI's cookbook: 3 tokens a message, 3 to prime the reply.
    let mut total = 3;
    for (role, text) in messages {
        total += 3 + counter(role) + counter(text);
    }
    total
}

/// Tokens of a chat prompt, exactly: each message's text plus OpenAI's per-message overhead.
pub fn count_prompt<'a>(messages: impl IntoIterator<Item = (&'a str, &'a str)>) -> u64 {
    prompt_with(count, messages)
}

/// Tokens of a chat prompt, as [`estimate`] counts.
pub fn estimate_prompt<'a>(messages: impl IntoIterator<Item = (&'a str, &'a str)>) -> u64 {
    prompt_with(estimate, messages)
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
        // Once loaded, estimates are exact.
        assert_eq!(estimate("hello world"), 2);
        assert_eq!(heuristic("hello world"), 3);
    }
}
