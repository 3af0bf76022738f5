//! The layout of the `o200k_base` bytes → rank index, and its hash. One file, used both by
//! the build script (`providers/build.rs`, through `#[path]`), which builds the index into
//! `$OUT_DIR`, and by [`super::vocab`], which probes that index at run time: the two must
//! hash and place tokens identically.

/// A slot of the index holding no rank.
pub(super) const EMPTY: u32 = u32::MAX;
/// The index has at least this many slots a token (load factor ≤ 1 / this). For o200k, 2 is
/// 2^19 slots (2 MiB, load 0.38): 1.3 probes a hit on average, 17 at most. 1 would save 1 MiB
/// at load 0.76 (2.6 probes a hit, 130 at most, and misses, most of a merge's lookups, far
/// longer); binary search over ranks sorted by bytes would save 1.2 MiB at 5-7× the lookup
/// time.
#[allow(dead_code)] // the build script's
pub(super) const SLOTS_PER_TOKEN: usize = 2;
/// Ranks must leave room in a slot for some hash tag bits (o200k needs 18 bits).
const MAX_RANK_BITS: u32 = 24;

/// Bits of a slot that hold the rank, for `tokens` tokens (enough that no slot can equal
/// [`EMPTY`]); `None` if there are no tokens or too many.
pub(super) fn rank_bits(tokens: usize) -> Option<u32> {
    if tokens == 0 {
        return None;
    }
    let bits = u32::BITS - u32::try_from(tokens).ok()?.leading_zeros();
    (bits <= MAX_RANK_BITS).then_some(bits)
}

/// `64 - log2(slot_count)` (`slot_count` a power of two): a hash's top bits pick its home
/// slot.
pub(super) fn home_shift(slot_count: usize) -> u32 {
    u64::BITS - slot_count.trailing_zeros()
}

/// Home slot and tag of `bytes`: a slot is `tag << rank_bits | rank`, the tag being hash bits
/// that rule out most byte comparisons against non-matching tokens.
#[inline]
pub(super) fn place(bytes: &[u8], rank_bits: u32, home_shift: u32) -> (usize, u32) {
    let hash = hash(bytes);
    let home = (hash >> home_shift) as usize;
    let tag = (hash as u32) >> rank_bits;
    (home, tag)
}

/// Builds the open-addressed index (linear probing, a power of two long, with at least
/// `slots_per_token` slots a token) of the tokens `token(0)`, …, `token(tokens - 1)`. A
/// duplicate keeps its lowest rank (o200k has none). `None` if there are no tokens or too
/// many.
#[cfg_attr(not(test), allow(dead_code))] // the build script's, and the tests'
pub(super) fn build_index<'a>(
    tokens: usize,
    token: impl Fn(u32) -> &'a [u8],
    slots_per_token: usize,
) -> Option<Vec<u32>> {
    let rank_bits = rank_bits(tokens)?;
    // More slots than tokens, so a probe always ends at an empty slot.
    let slot_count = tokens
        .checked_mul(slots_per_token.max(1))?
        .checked_add(1)?
        .checked_next_power_of_two()?;
    let home_shift = home_shift(slot_count);
    let mask = slot_count - 1;
    let rank_mask = (1u32 << rank_bits) - 1;
    let mut slots = vec![EMPTY; slot_count];
    for rank in 0..u32::try_from(tokens).ok()? {
        let bytes = token(rank);
        let (mut at, tag) = place(bytes, rank_bits, home_shift);
        loop {
            let slot = slots[at];
            if slot == EMPTY {
                slots[at] = tag << rank_bits | rank;
                break;
            }
            if token(slot & rank_mask) == bytes {
                break;
            }
            at = (at + 1) & mask;
        }
    }
    Some(slots)
}

/// A 64-bit hash of a token's bytes: FxHash-style word mixing, then a MurmurHash3 finalizer
/// so both the top bits (home slot) and the low bits (tag) are well mixed.
#[inline]
pub(super) fn hash(bytes: &[u8]) -> u64 {
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
