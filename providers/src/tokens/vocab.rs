//! The `o200k_base` vocabulary kept compactly, and tiktoken's `encode_ordinary` over it.
//!
//! tiktoken-rs's `CoreBPE` holds every token three times (bytes → rank and rank → bytes hash
//! maps, a sorted list), each as its own heap `Vec`, plus 128 clones of the pre-tokenizer. We
//! only count tokens and cut text at token boundaries, so one copy is enough: all token bytes
//! in one arena in rank order, each rank's offset into it, and an open-addressed index from
//! bytes to rank that stores ranks only (the bytes are compared in the arena). The build
//! script (`providers/build.rs`) makes all three from tiktoken-rs's `CoreBPE` at build time;
//! they are static data in the binary here (4.1 MiB: 1.33 MiB of bytes, 0.76 MiB of offsets,
//! a 2 MiB index), read in place as little-endian `u32`s: file-backed pages, resident only
//! once touched and reclaimable, never copied to the heap.
//!
//! Encoding is tiktoken's: split the text with the o200k pre-tokenizer regex; a piece that is
//! a token is one token; any other piece is merged byte-pair-wise, always merging the adjacent
//! pair whose concatenation has the lowest rank (the leftmost on a tie) until no adjacent pair
//! concatenates to a token.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use fancy_regex::Regex;

use super::table::{self, EMPTY};

/// No merge (no token, or no right-hand neighbour), as a rank: sorts after every real rank.
const NO_RANK: u32 = u32::MAX;
/// Pieces this long or longer merge with a heap (O(m log n)); shorter ones rescan a small
/// vector, which is faster at the sizes words have. (tiktoken's threshold too.)
const LONG_PIECE: usize = 100;

/// The ordinary tokens' bytes, concatenated in rank order (written by `build.rs`).
static BYTES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/o200k_bytes.bin"));
/// Rank `r`'s bytes are `BYTES[starts[r]..starts[r + 1]]`: little-endian `u32`s, one more
/// than there are ranks.
static STARTS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/o200k_starts.bin"));
/// The bytes → rank index, little-endian `u32` slots laid out by [`table`].
static SLOTS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/o200k_slots.bin"));

/// tiktoken's `o200k_base` pre-tokenizer: tiktoken-rs 0.12's `O200K_BASE_PAT_STR`
/// (`src/tiktoken_ext/openai_public.rs`), copied so tiktoken-rs is only a build (and test)
/// dependency; a test checks the copy still equals it.
pub(super) const O200K_BASE_PAT_STR: &str = concat!(
    r#"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"#,
    "|",
    r#"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"#,
    "|",
    r#"\p{N}{1,3}"#,
    "|",
    r#" ?[^\s\p{L}\p{N}]+[\r\n/]*"#,
    "|",
    r#"\s*[\r\n]+"#,
    "|",
    r#"\s+(?!\S)"#,
    "|",
    r#"\s+"#
);

pub(super) struct Vocab {
    /// Every token's bytes, concatenated in rank order.
    bytes: &'static [u8],
    /// Little-endian `u32`s: rank `r`'s bytes are `bytes[starts[r]..starts[r + 1]]`.
    starts: &'static [u8],
    /// The open-addressed index ([`table::build_index`]), little-endian `u32` slots, a power
    /// of two of them: each is [`EMPTY`] or `tag << rank_bits | rank`.
    slots: &'static [u8],
    /// Bits of a slot that hold the rank.
    rank_bits: u32,
    /// `64 - log2(slot count)`: a hash's top bits pick its home slot.
    home_shift: u32,
    /// Slot count - 1.
    slot_mask: usize,
    /// The o200k pre-tokenizer (one compiled regex, shared by all threads).
    pattern: Regex,
}

/// The `u32` at word `at` of little-endian `words`; [`EMPTY`] past their end.
#[inline]
fn word(words: &[u8], at: usize) -> u32 {
    words
        .get(at.saturating_mul(4)..)
        .and_then(<[u8]>::first_chunk::<4>)
        .map_or(EMPTY, |word| u32::from_le_bytes(*word))
}

/// Scratch space for merging pieces, reused across the pieces of one text.
#[derive(Default)]
pub(super) struct Work {
    /// Part boundaries of the last merged piece: part `i` is `bounds[i]..bounds[i + 1]`.
    bounds: Vec<usize>,
    /// Short pieces: (start of a part, rank of it merged with the next part).
    parts: Vec<(usize, u32)>,
    /// Long pieces: for each byte offset that starts a part, where the part ends / where the
    /// part before it starts / the rank of it merged with the next part ([`NO_RANK`] when the
    /// offset no longer starts a part).
    ends: Vec<usize>,
    prevs: Vec<usize>,
    pair_ranks: Vec<u32>,
    /// Long pieces: candidate merges (rank, start), lowest rank then leftmost first; stale
    /// entries are skipped when popped.
    heap: BinaryHeap<Reverse<(u32, usize)>>,
}

impl Vocab {
    /// The table built into the binary, with the pre-tokenizer compiled (the only work:
    /// nothing is copied or indexed). `None` if the pattern does not compile or the
    /// tables are malformed.
    pub(super) fn load() -> Option<Vocab> {
        let pattern = Regex::new(O200K_BASE_PAT_STR).ok()?;
        Vocab::over(BYTES, STARTS, SLOTS, pattern)
    }

    /// The tables `bytes`, `starts` and `slots` (see [`Vocab`]'s fields), checked for shape
    /// only: lengths, and that there are more slots than tokens, a power of two of them.
    fn over(
        bytes: &'static [u8],
        starts: &'static [u8],
        slots: &'static [u8],
        pattern: Regex,
    ) -> Option<Vocab> {
        let whole_words = |words: &[u8]| words.chunks_exact(4).remainder().is_empty();
        if !whole_words(starts) || !whole_words(slots) {
            return None;
        }
        let tokens = (starts.len() / 4).checked_sub(1)?;
        let slot_count = slots.len() / 4;
        if !slot_count.is_power_of_two() || slot_count <= tokens {
            return None;
        }
        if word(starts, tokens) as usize != bytes.len() {
            return None;
        }
        Some(Vocab {
            bytes,
            starts,
            slots,
            rank_bits: table::rank_bits(tokens)?,
            home_shift: table::home_shift(slot_count),
            slot_mask: slot_count - 1,
            pattern,
        })
    }

    /// Rank `rank`'s bytes (empty past the last rank).
    #[inline]
    pub(super) fn token(&self, rank: u32) -> &'static [u8] {
        let rank = rank as usize;
        let (start, end) = (word(self.starts, rank), word(self.starts, rank + 1));
        self.bytes
            .get(start as usize..end as usize)
            .unwrap_or_default()
    }

    fn rank_mask(&self) -> u32 {
        (1 << self.rank_bits) - 1
    }

    /// Home slot and tag of `bytes`.
    fn place(&self, bytes: &[u8]) -> (usize, u32) {
        table::place(bytes, self.rank_bits, self.home_shift)
    }

    /// The rank of the token whose bytes are `bytes`, if there is one.
    #[inline]
    pub(super) fn rank(&self, bytes: &[u8]) -> Option<u32> {
        let (mut at, tag) = self.place(bytes);
        // Terminates: there are more slots than tokens, so some slot is empty.
        loop {
            let slot = word(self.slots, at);
            if slot == EMPTY {
                return None;
            }
            if slot >> self.rank_bits == tag {
                let rank = slot & self.rank_mask();
                if self.token(rank) == bytes {
                    return Some(rank);
                }
            }
            at = (at + 1) & self.slot_mask;
        }
    }

    fn rank_or_none(&self, bytes: &[u8]) -> u32 {
        self.rank(bytes).unwrap_or(NO_RANK)
    }

    /// Calls `piece` with each piece of the pre-tokenized `text` in order, and with the
    /// part boundaries of those that are not a token (`None` for a token). If the regex
    /// fails (fancy-regex's backtracking limit; not expected with this pattern), the rest of
    /// the text comes as an `Err`.
    pub(super) fn for_each_piece<'t>(
        &self,
        text: &'t str,
        work: &mut Work,
        mut piece: impl FnMut(Result<&'t str, &'t str>, Option<&[usize]>),
    ) {
        let mut done = 0;
        for found in self.pattern.find_iter(text) {
            let Ok(found) = found else {
                piece(Err(text.get(done..).unwrap_or_default()), None);
                return;
            };
            done = found.end();
            let bytes = found.as_str().as_bytes();
            if bytes.is_empty() {
                // The pattern matches no empty string; were it to, that is no token.
                continue;
            }
            if bytes.len() == 1 || self.rank(bytes).is_some() {
                piece(Ok(found.as_str()), None);
            } else {
                self.merge(bytes, work);
                piece(Ok(found.as_str()), Some(&work.bounds));
            }
        }
    }

    /// Byte-pair merges `piece` (2 bytes or more, not itself a token) into `work.bounds`.
    pub(super) fn merge(&self, piece: &[u8], work: &mut Work) {
        if piece.len() < LONG_PIECE {
            self.merge_short(piece, work);
        } else {
            self.merge_long(piece, work);
        }
    }

    /// Rescans a vector of parts for the lowest-ranked pair after each merge: O(n · merges),
    /// but n is small and the vector is contiguous.
    pub(super) fn merge_short(&self, piece: &[u8], work: &mut Work) {
        let parts = &mut work.parts;
        parts.clear();
        for start in 0..piece.len() {
            let pair = match piece.get(start..start + 2) {
                Some(pair) => self.rank_or_none(pair),
                None => NO_RANK,
            };
            parts.push((start, pair));
        }
        // The end, as a last part start: part `i` is `parts[i].0..parts[i + 1].0`.
        parts.push((piece.len(), NO_RANK));

        loop {
            let mut best = (NO_RANK, 0);
            for (at, &(_, rank)) in parts.iter().enumerate() {
                if rank < best.0 {
                    best = (rank, at);
                }
            }
            let (rank, at) = best;
            if rank == NO_RANK {
                break;
            }
            // Part `at` absorbs part `at + 1`; the pairs it and its left neighbour start
            // change.
            parts.remove(at + 1);
            parts[at].1 = self.pair_rank(piece, parts, at);
            if at > 0 {
                parts[at - 1].1 = self.pair_rank(piece, parts, at - 1);
            }
        }

        work.bounds.clear();
        work.bounds.extend(parts.iter().map(|&(start, _)| start));
    }

    /// Rank of part `at` merged with part `at + 1` (the last real part has no neighbour).
    fn pair_rank(&self, piece: &[u8], parts: &[(usize, u32)], at: usize) -> u32 {
        match (parts.get(at), parts.get(at + 2)) {
            (Some(&(start, _)), Some(&(end, _))) => self.rank_or_none(&piece[start..end]),
            _ => NO_RANK,
        }
    }

    /// Keeps candidate merges in a heap and the parts as a linked list over byte offsets:
    /// O(n log n) for pieces too long to rescan.
    pub(super) fn merge_long(&self, piece: &[u8], work: &mut Work) {
        let len = piece.len();
        let Work {
            bounds,
            ends,
            prevs,
            pair_ranks,
            heap,
            ..
        } = work;
        ends.clear();
        prevs.clear();
        pair_ranks.clear();
        heap.clear();
        for start in 0..len {
            ends.push(start + 1);
            prevs.push(start.wrapping_sub(1));
            let rank = match piece.get(start..start + 2) {
                Some(pair) => self.rank_or_none(pair),
                None => NO_RANK,
            };
            pair_ranks.push(rank);
            if rank != NO_RANK {
                heap.push(Reverse((rank, start)));
            }
        }

        while let Some(Reverse((rank, left))) = heap.pop() {
            if pair_ranks[left] != rank {
                // Stale: `left` was absorbed, or its right neighbour changed since. (A rank
                // fixes the merged bytes, so a current entry is never mistaken for stale.)
                continue;
            }
            let right = ends[left];
            let end = ends[right];
            ends[left] = end;
            pair_ranks[right] = NO_RANK;
            if end < len {
                prevs[end] = left;
                let rank = self.rank_or_none(&piece[left..ends[end]]);
                pair_ranks[left] = rank;
                if rank != NO_RANK {
                    heap.push(Reverse((rank, left)));
                }
            } else {
                pair_ranks[left] = NO_RANK;
            }
            if left > 0 {
                let before = prevs[left];
                let rank = self.rank_or_none(&piece[before..end]);
                pair_ranks[before] = rank;
                if rank != NO_RANK {
                    heap.push(Reverse((rank, before)));
                }
            }
        }

        bounds.clear();
        let mut start = 0;
        while start < len {
            bounds.push(start);
            start = ends[start];
        }
        bounds.push(len);
    }
}

#[cfg(test)]
impl Work {
    pub(super) fn bounds(&self) -> &[usize] {
        &self.bounds
    }
}

#[cfg(test)]
impl Vocab {
    /// Number of tokens.
    pub(super) fn len(&self) -> usize {
        self.starts.len() / 4 - 1
    }

    /// Bytes of the tables (static data, not heap; not counting the regex).
    pub(super) fn table_bytes(&self) -> usize {
        self.bytes.len() + self.starts.len() + self.slots.len()
    }

    /// The same tokens indexed with `slots_per_token` slots a token (for measuring; the new
    /// index is leaked).
    pub(super) fn reindexed(&self, slots_per_token: usize) -> Option<Vocab> {
        let slots = table::build_index(self.len(), |rank| self.token(rank), slots_per_token)?;
        let slots: Vec<u8> = slots.iter().flat_map(|slot| slot.to_le_bytes()).collect();
        Vocab::over(
            self.bytes,
            self.starts,
            Vec::leak(slots),
            self.pattern.clone(),
        )
    }

    /// Pieces the pre-tokenizer cuts `text` into (for timing it alone).
    pub(super) fn piece_count(&self, text: &str) -> usize {
        self.pattern.find_iter(text).count()
    }

    pub(super) fn slot_count(&self) -> usize {
        self.slot_mask + 1
    }

    /// Ranks sorted by their bytes (for comparing binary search with the hash index).
    pub(super) fn sorted_ranks(&self) -> Vec<u32> {
        let mut ranks: Vec<u32> = (0..self.len() as u32).collect();
        ranks.sort_by(|&a, &b| self.token(a).cmp(self.token(b)));
        ranks
    }

    /// Mean and longest probe sequence of successful lookups.
    pub(super) fn probe_stats(&self) -> (f64, usize) {
        let (mut total, mut longest) = (0usize, 0usize);
        for rank in 0..self.len() as u32 {
            let (home, _) = self.place(self.token(rank));
            let mut at = home;
            while word(self.slots, at) & self.rank_mask() != rank {
                at = (at + 1) & self.slot_mask;
            }
            let probes = ((at + self.slot_count() - home) & self.slot_mask) + 1;
            total += probes;
            longest = longest.max(probes);
        }
        (total as f64 / self.len() as f64, longest)
    }
}
