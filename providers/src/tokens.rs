//! Token counting with tiktoken's `o200k_base` vocabulary, for the mock provider and for
//! estimating usage a provider did not report.
//!
//! tiktoken-rs's `CoreBPE` is ~45 MB resident (every token three times, 128 regex clones), so
//! it is built once, only to copy its 199,998 ordinary tokens into a compact table (4.1 MiB:
//! one byte arena, rank offsets, a bytes → rank index; see [`vocab`]), and then dropped;
//! counts and splits are tiktoken's `encode_ordinary`, re-implemented over that table, at
//! about `CoreBPE`'s speed (the pre-tokenizer regex takes most of the time). Loaded, the
//! process holds ~5.5 MB more anonymous memory, plus the pages of the 3.6 MB vocabulary text
//! tiktoken-rs embeds in the binary, read once while loading (file-backed, reclaimable).
//! Loading takes ~0.4 s (0.3 s of it building the `CoreBPE`), so it happens on first need
//! only, and never on a request path that must not stall:
//! - [`count`] / [`count_prompt`] load the table if needed and count exactly (the mock
//!   provider, which warms it at start-up with [`warm`]);
//! - [`estimate`] / [`estimate_prompt`] count exactly once the table is loaded; before that
//!   they start loading it on a background thread and answer with a bytes/4 heuristic, so a
//!   gateway worker never blocks on the load.

use std::sync::{Once, OnceLock};

mod vocab;

use vocab::{Parts, Vocab, Work};

static VOCAB: OnceLock<Option<Vocab>> = OnceLock::new();

fn vocab() -> Option<&'static Vocab> {
    VOCAB.get_or_init(load).as_ref()
}

/// Compiles the pre-tokenizer, builds tiktoken-rs's `o200k_base` `CoreBPE`, copies its
/// tokens out (into buffers allocated here) and drops it, all on a thread of its own; then
/// indexes the copy here. The thread is for the allocator, so that the `CoreBPE`'s ~600,000
/// small allocations go back to the system once freed:
/// - glibc malloc: they land in the building thread's arena, where nothing of ours outlives
///   the thread but the regex (compiled first, so below them), and the arena is trimmed when
///   the thread exits (measured: ~20 MB handed back). With the copy and its index made on
///   that thread, or the `CoreBPE` built and dropped on the calling one, they stayed
///   resident.
/// - mimalloc (the gateway's allocator): freed pages are purged a delay (1 s by default)
///   after being freed, at a later allocator event. The building thread frees everything
///   before it hands the parts over, then waits out the delay before it exits, its exit
///   being such an event; without the wait they stayed resident until some other thread
///   happened to free a page (measured in the gateway with the mock backend: RSS ~60 MB
///   until traffic, ~30 MB with the wait).
fn load() -> Option<Vocab> {
    let (send, receive) = std::sync::mpsc::sync_channel(1);
    let mut parts = Parts::default();
    let spawned = std::thread::Builder::new()
        .name("sluice-tiktoken-build".to_string())
        .spawn(move || {
            let built = build_parts(&mut parts).map(|()| parts);
            let _ = send.send(built);
            std::thread::sleep(PURGE_WAIT);
        });
    let parts = match spawned {
        // `None` if it could not build them, or panicked.
        Ok(_) => receive.recv().ok().flatten()?,
        // No thread: build them here (the freed memory may then stay resident).
        Err(_) => {
            let mut parts = Parts::default();
            build_parts(&mut parts)?;
            parts
        }
    };
    Vocab::new(parts)
}

/// mimalloc's default purge delay (`MIMALLOC_PURGE_DELAY`, 1,000 ms), and a margin.
const PURGE_WAIT: std::time::Duration = std::time::Duration::from_millis(1200);

fn build_parts(parts: &mut Parts) -> Option<()> {
    parts.compile_pattern()?;
    let bpe = tiktoken_rs::o200k_base().ok()?;
    let copied = parts.copy_tokens(&bpe);
    drop(bpe);
    copied
}

/// The table when already loaded, else `None` after starting a background load.
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

/// Loads the table now (blocking); call from a background thread at start-up when counting
/// is certain, e.g. for a `mock` backend.
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

/// Tokens in `text`, exactly (loads the table if needed).
pub fn count(text: &str) -> u64 {
    count_with(vocab(), text)
}

/// Tokens in `text`: exact once the table is loaded, a bytes/4 estimate until then.
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
