//! The `o200k_base` vocabulary kept compactly, and tiktoken's `encode_ordinary` over it.
//!
//! tiktoken-rs's `CoreBPE` holds every token three times (bytes → rank and rank → bytes hash
//! maps, a sorted list), each as its own heap `Vec`, plus 128 clones of the pre-tokenizer. We
//! only count tokens and cut text at token boundaries, so one copy is enough: all token bytes
//! in one arena in rank order, each rank's offset into it, and an open-addressed index from
//! bytes to rank that stores ranks only (the bytes are compared in the arena).
//!
//! Encoding is tiktoken's: split the text with the o200k pre-tokenizer regex; a piece that is
//! a token is one token; any other piece is merged byte-pair-wise, always merging the adjacent
//! pair whose concatenation has the lowest rank (the leftmost on a tie) until no adjacent pair
//! concatenates to a token.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use fancy_regex::Regex;
use tiktoken_rs::CoreBPE;

/// A slot of [`Vocab::slots`] holding no rank.
const EMPTY: u32 = u32::MAX;
/// No merge (no token, or no right-hand neighbour), as a rank: sorts after every real rank.
const NO_RANK: u32 = u32::MAX;
/// Pieces this long or longer merge with a heap (O(m log n)); shorter ones rescan a small
/// vector, which is faster at the sizes words have. (tiktoken's threshold too.)
const LONG_PIECE: usize = 100;
/// The index has at least this many slots a token (load factor ≤ 1 / this). For o200k, 2 is
/// 2^19 slots (2 MiB, load 0.38): 1.3 probes a hit on average, 17 at most. 1 would save 1 MiB
/// at load 0.76 (2.6 probes a hit, 130 at most, and misses, most of a merge's lookups, far
/// longer); binary search over ranks sorted by bytes would save 1.2 MiB at 5-7× the lookup
/// time.
const SLOTS_PER_TOKEN: usize = 2;
/// Ranks must leave room in a slot for some hash tag bits (o200k needs 18 bits).
const MAX_RANK_BITS: u32 = 24;

pub(super) struct Vocab {
    /// Every token's bytes, concatenated in rank order.
    bytes: Box<[u8]>,
    /// Rank `r`'s bytes are `bytes[starts[r]..starts[r + 1]]` (one entry more than ranks).
    starts: Box<[u32]>,
    /// Open-addressed index, linear probing, a power of two long: each slot is [`EMPTY`] or
    /// `tag << rank_bits | rank`, where the tag is hash bits that rule out most byte
    /// comparisons against non-matching tokens.
    slots: Box<[u32]>,
    /// Bits of a slot that hold the rank (enough that no slot can equal [`EMPTY`]).
    rank_bits: u32,
    /// `64 - log2(slots.len())`: a hash's top bits pick its home slot.
    home_shift: u32,
    /// The o200k pre-tokenizer (one compiled regex, shared by all threads).
    pattern: Regex,
}

/// What a [`Vocab`] is made of, before the bytes → rank index: the compiled pre-tokenizer and
/// the token bytes in rank order, copied out of a `CoreBPE`.
pub(super) struct Parts {
    pattern: Option<Regex>,
    bytes: Vec<u8>,
    starts: Vec<u32>,
}

impl Default for Parts {
    /// Room for exactly o200k (199,998 tokens, 1,397,670 bytes), so copying it neither
    /// regrows the buffers nor leaves spare capacity to shed when they are boxed.
    fn default() -> Parts {
        let mut starts = Vec::with_capacity(O200K_TOKENS + 1);
        starts.push(0);
        Parts {
            pattern: None,
            bytes: Vec::with_capacity(O200K_BYTES),
            starts,
        }
    }
}

const O200K_TOKENS: usize = 199_998;
const O200K_BYTES: usize = 1_397_670;

impl Parts {
    /// Compiles the o200k pre-tokenizer; `None` if it does not compile.
    pub(super) fn compile_pattern(&mut self) -> Option<()> {
        self.pattern = Some(Regex::new(tiktoken_rs::O200K_BASE_PAT_STR).ok()?);
        Some(())
    }

    /// Appends `bpe`'s ordinary tokens: ranks 0, 1, … up to the first it cannot decode.
    /// (Past the ordinary ranks only special tokens decode: o200k's `<|endoftext|>` is
    /// 199,999, so 199,998 ends the ordinary ones.) `None` if the arena outgrows `u32`.
    pub(super) fn copy_tokens(&mut self, bpe: &CoreBPE) -> Option<()> {
        let mut rank: u32 = 0;
        while let Ok(token) = bpe.decode_bytes(&[rank]) {
            self.bytes.extend_from_slice(&token);
            self.starts.push(u32::try_from(self.bytes.len()).ok()?);
            rank = rank.checked_add(1)?;
        }
        Some(())
    }
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
    /// Indexes the copied tokens. `None` if the pattern was not compiled, or there are no
    /// tokens or too many.
    pub(super) fn new(parts: Parts) -> Option<Vocab> {
        Vocab::index(parts.bytes, parts.starts, SLOTS_PER_TOKEN, parts.pattern?)
    }

    /// Indexes the tokens `bytes[starts[r]..starts[r + 1]]`, with at least `slots_per_token`
    /// index slots a token.
    fn index(
        bytes: Vec<u8>,
        starts: Vec<u32>,
        slots_per_token: usize,
        pattern: Regex,
    ) -> Option<Vocab> {
        let tokens = starts.len().checked_sub(1).filter(|&n| n > 0)?;
        let rank_bits = u32::BITS - u32::try_from(tokens).ok()?.leading_zeros();
        if rank_bits > MAX_RANK_BITS {
            return None;
        }
        // More slots than tokens, so a probe always ends at an empty slot.
        let slot_count = tokens
            .checked_mul(slots_per_token.max(1))?
            .checked_add(1)?
            .checked_next_power_of_two()?;
        let mut vocab = Vocab {
            bytes: bytes.into_boxed_slice(),
            starts: starts.into_boxed_slice(),
            slots: vec![EMPTY; slot_count].into_boxed_slice(),
            rank_bits,
            home_shift: u64::BITS - slot_count.trailing_zeros(),
            pattern,
        };
        for rank in 0..tokens as u32 {
            vocab.insert(rank);
        }
        Some(vocab)
    }

    /// Rank `rank`'s bytes.
    pub(super) fn token(&self, rank: u32) -> &[u8] {
        let rank = rank as usize;
        &self.bytes[self.starts[rank] as usize..self.starts[rank + 1] as usize]
    }

    fn rank_mask(&self) -> u32 {
        (1 << self.rank_bits) - 1
    }

    /// Home slot and tag of `bytes`.
    fn place(&self, bytes: &[u8]) -> (usize, u32) {
        let hash = hash(bytes);
        let home = (hash >> self.home_shift) as usize;
        let tag = (hash as u32) >> self.rank_bits;
        (home, tag)
    }

    fn insert(&mut self, rank: u32) {
        let (mut at, tag) = self.place(self.token(rank));
        let mask = self.slots.len() - 1;
        loop {
            let slot = self.slots[at];
            if slot == EMPTY {
                self.slots[at] = tag << self.rank_bits | rank;
                return;
            }
            // A duplicate keeps its lowest rank (o200k has none).
            if self.token(slot & self.rank_mask()) == self.token(rank) {
                return;
            }
            at = (at + 1) & mask;
        }
    }

    /// The rank of the token whose bytes are `bytes`, if there is one.
    #[inline]
    pub(super) fn rank(&self, bytes: &[u8]) -> Option<u32> {
        let (mut at, tag) = self.place(bytes);
        let mask = self.slots.len() - 1;
        // Terminates: there are more slots than tokens, so some slot is empty.
        loop {
            let slot = self.slots[at];
            if slot == EMPTY {
                return None;
            }
            if slot >> self.rank_bits == tag {
                let rank = slot & self.rank_mask();
                if self.token(rank) == bytes {
                    return Some(rank);
                }
            }
            at = (at + 1) & mask;
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

/// A 64-bit hash of a token's bytes: FxHash-style word mixing, then a MurmurHash3 finalizer
/// so both the top bits (home slot) and the low bits (tag) are well mixed.
fn hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0xf135_7aea_2e62_a9c5;
    let mut h = bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[cfg(test)]
impl Work {
    pub(super) fn bounds(&self) -> &[usize] {
        &self.bounds
    }
}

#[cfg(test)]
impl Vocab {
    /// Copies and indexes `bpe`'s ordinary tokens on this thread (the loader does it in two
    /// steps on two threads).
    pub(super) fn from_bpe(bpe: &CoreBPE) -> Option<Vocab> {
        let mut parts = Parts::default();
        parts.compile_pattern()?;
        parts.copy_tokens(bpe)?;
        Vocab::new(parts)
    }

    /// Number of tokens.
    pub(super) fn len(&self) -> usize {
        self.starts.len() - 1
    }

    /// Heap bytes held by the tables (not counting the regex).
    pub(super) fn table_bytes(&self) -> usize {
        self.bytes.len() + 4 * self.starts.len() + 4 * self.slots.len()
    }

    /// The same tokens indexed with `slots_per_token` slots a token (for measuring).
    pub(super) fn reindexed(&self, slots_per_token: usize) -> Option<Vocab> {
        Vocab::index(
            self.bytes.to_vec(),
            self.starts.to_vec(),
            slots_per_token,
            self.pattern.clone(),
        )
    }

    /// Pieces the pre-tokenizer cuts `text` into (for timing it alone).
    pub(super) fn piece_count(&self, text: &str) -> usize {
        self.pattern.find_iter(text).count()
    }

    pub(super) fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// Ranks sorted by their bytes (for comparing binary search with the hash index).
    pub(super) fn sorted_ranks(&self) -> Vec<u32> {
        let mut ranks: Vec<u32> = (0..self.len() as u32).collect();
        ranks.sort_by(|&a, &b| self.token(a).cmp(self.token(b)));
        ranks
    }

    /// Mean and longest probe sequence of successful lookups.
    pub(super) fn probe_stats(&self) -> (f64, usize) {
        let mask = self.slots.len() - 1;
        let (mut total, mut longest) = (0usize, 0usize);
        for rank in 0..self.len() as u32 {
            let (home, _) = self.place(self.token(rank));
            let mut at = home;
            while self.slots[at] & self.rank_mask() != rank {
                at = (at + 1) & mask;
            }
            let probes = ((at + self.slots.len() - home) & mask) + 1;
            total += probes;
            longest = longest.max(probes);
        }
        (total as f64 / self.len() as f64, longest)
    }
}
