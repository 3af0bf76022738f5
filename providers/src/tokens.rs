//! Token counting with tiktoken's `o200k_base` vocabulary, for the mock provider and for
//! estimating usage a provider did not report.
//!
//! tiktoken-rs's `CoreBPE` is ~45 MB resident (every token three times, 128 regex clones) and
//! takes ~0.3 s to build, so it is never built at run time: the build script
//! (`providers/build.rs`) builds it once and writes its 199,998 ordinary tokens as a compact
//! table (4.1 MiB: one byte arena, rank offsets, a prebuilt bytes → rank index; see
//! [`vocab`]) that is static data in the binary, read in place (file-backed pages, resident
//! only once touched, reclaimable). tiktoken-rs is only a build and test dependency. Counts
//! and splits are tiktoken's `encode_ordinary`, re-implemented over that table, at about
//! `CoreBPE`'s speed (the pre-tokenizer regex takes most of the time).
//!
//! Loading is just compiling that pre-tokenizer regex: ~6-7 ms in release, ~1.4 MiB
//! anonymous memory (measured with `measure_load` in the tests); the first counts then
//! touch the table's pages (up to its 4.1 MiB, file-backed). That is still more than a
//! request should wait for, so loading happens on first need only, and never on a request
//! path that must not stall:
//! - [`count`] / [`count_prompt`] load the pre-tokenizer if needed and count exactly (the mock
//!   provider, which warms it at start-up with [`warm`]);
//! - [`estimate`] / [`estimate_prompt`] count exactly once it is loaded; before that they
//!   start loading it on a background thread and answer with a bytes/4 heuristic, so a
//!   gateway worker never blocks on the load.

use std::sync::{Once, OnceLock};

mod table;
mod vocab;

use vocab::{Vocab, Work};

static VOCAB: OnceLock<Option<Vocab>> = OnceLock::new();

fn vocab() -> Option<&'static Vocab> {
    VOCAB.get_or_init(Vocab::load).as_ref()
}

/// The tokenizer when already loaded, else `None` after starting a background load.
fn loaded_or_start() -> Option<&'static Vocab> {
    if let Some(loaded) = VOCAB.get() {
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

/// Loads the tokenizer now (blocking, ~7 ms); call from a background thread at start-up when
/// counting is certain, e.g. for a `mock` backend.
pub fn warm() {
    let _ = vocab();
}

fn heuristic(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

fn count_with(vocab: Option<&Vocab>, text: &str) -> u64 {
    let Some(vocab) = vocab else {
        return heuristic(text);
    };
    let mut work = Work::default();
    let mut tokens = 0;
    vocab.for_each_piece(text, &mut work, |piece, bounds| {
        tokens += match (piece, bounds) {
            (Ok(_), None) => 1,
            (Ok(_), Some(bounds)) => (bounds.len() as u64).saturating_sub(1),
            (Err(rest), _) => heuristic(rest),
        };
    });
    tokens
}

/// Tokens in `text`, exactly (loads the tokenizer if needed).
pub fn count(text: &str) -> u64 {
    count_with(vocab(), text)
}

/// Tokens in `text`: exact once the tokenizer is loaded, a bytes/4 estimate until then.
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

/// Splits `text` into pieces of about one token each (for streaming the mock's answer): each
/// token's text, or the whole text as one piece if a token is not whole UTF-8 characters.
pub fn split_tokens(text: &str) -> Vec<String> {
    match vocab() {
        Some(vocab) => split_with(vocab, text).unwrap_or_else(|| vec![text.to_string()]),
        None => text.split_inclusive(' ').map(str::to_string).collect(),
    }
}

fn split_with(vocab: &Vocab, text: &str) -> Option<Vec<String>> {
    let mut work = Work::default();
    let mut pieces = Vec::new();
    let mut whole_chars = true;
    vocab.for_each_piece(text, &mut work, |piece, bounds| match (piece, bounds) {
        (Ok(piece), Some(bounds)) => {
            for part in bounds.windows(2) {
                match piece
                    .as_bytes()
                    .get(part[0]..part[1])
                    .map(std::str::from_utf8)
                {
                    Some(Ok(part)) => pieces.push(part.to_string()),
                    _ => whole_chars = false,
                }
            }
        }
        (Ok(piece) | Err(piece), _) => pieces.push(piece.to_string()),
    });
    whole_chars.then_some(pieces)
}

#[cfg(test)]
mod tests;
