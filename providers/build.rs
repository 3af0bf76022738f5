//! Builds the `o200k_base` token table (see `src/tokens/vocab.rs`) at build time, so the
//! gateway never builds tiktoken-rs's `CoreBPE` at run time: builds the `CoreBPE` once, takes
//! its ordinary tokens (ranks 0, 1, … up to the first it cannot decode: past them only special
//! tokens decode, and o200k's `<|endoftext|>` is 199,999), and writes to `$OUT_DIR`, as
//! little-endian binary files that `tokens::vocab` includes with `include_bytes!`:
//! - `o200k_bytes.bin`: every token's bytes, concatenated in rank order;
//! - `o200k_starts.bin`: a `u32` per rank and one more, rank `r`'s bytes being
//!   `bytes[starts[r]..starts[r + 1]]`;
//! - `o200k_slots.bin`: the bytes → rank index, `u32` slots laid out by `src/tokens/table.rs`
//!   (shared with the runtime, so both hash alike).

use std::error::Error;
use std::path::PathBuf;

#[path = "src/tokens/table.rs"]
mod table;

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/tokens/table.rs");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);

    let bpe = tiktoken_rs::o200k_base()?;
    let mut bytes = Vec::new();
    let mut starts = vec![0u32];
    let mut rank: u32 = 0;
    while let Ok(token) = bpe.decode_bytes(&[rank]) {
        bytes.extend_from_slice(&token);
        starts.push(u32::try_from(bytes.len())?);
        rank = rank.checked_add(1).ok_or("too many ranks")?;
    }
    drop(bpe);

    let tokens = starts.len() - 1;
    let token = |rank: u32| {
        let rank = rank as usize;
        &bytes[starts[rank] as usize..starts[rank + 1] as usize]
    };
    let slots = table::build_index(tokens, token, table::SLOTS_PER_TOKEN)
        .ok_or("the tokens cannot be indexed (none, or too many)")?;

    let little_endian =
        |words: &[u32]| -> Vec<u8> { words.iter().flat_map(|word| word.to_le_bytes()).collect() };
    std::fs::write(out.join("o200k_bytes.bin"), &bytes)?;
    std::fs::write(out.join("o200k_starts.bin"), little_endian(&starts))?;
    std::fs::write(out.join("o200k_slots.bin"), little_endian(&slots))?;
    Ok(())
}
