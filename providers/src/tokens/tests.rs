use std::collections::HashSet;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tiktoken_rs::CoreBPE;

use super::vocab::{Vocab, Work, O200K_BASE_PAT_STR};
use super::*;

/// tiktoken-rs itself, the reference our counts and splits must equal.
fn reference() -> &'static CoreBPE {
    static REFERENCE: OnceLock<CoreBPE> = OnceLock::new();
    REFERENCE.get_or_init(|| tiktoken_rs::o200k_base().expect("o200k_base"))
}

fn loaded() -> &'static Vocab {
    vocab().expect("the o200k table loads")
}

/// What the old `split_tokens` (over `CoreBPE`) returned.
fn reference_split(text: &str) -> Vec<String> {
    let bpe = reference();
    let mut pieces = Vec::new();
    for id in bpe.encode_ordinary(text) {
        match bpe.decode(&[id]) {
            Ok(piece) => pieces.push(piece),
            Err(_) => return vec![text.to_string()],
        }
    }
    pieces
}

fn assert_like_tiktoken(text: &str) {
    let expected = reference().encode_ordinary(text).len() as u64;
    assert_eq!(count(text), expected, "count of {text:?}");
    assert_eq!(
        split_tokens(text),
        reference_split(text),
        "split of {text:?}"
    );
}

const PROSE: &str = "The quick brown fox jumps over the lazy dog. It wasn't the first \
    time; it won't be the last. \"Really?\" she asked -- and laughed. Internationalization, \
    antidisestablishmentarianism and pneumonoultramicroscopicsilicovolcanoconiosis are long \
    words. Mr. O'Neil's dog's bone cost $1,234.56 (about 7% more than in 2023).";

const CODE: &str = r#"fn main() {
    let xs: Vec<u32> = (0..10).map(|x| x * x).collect();
    if xs.len() >= 3 && xs[2] != 4 { panic!("{:?}", xs); }
    println!("{}", xs.iter().sum::<u32>()); // -> 285
}
<div class="a-b_c">&nbsp;</div>  {"key": [1, 2.5e-3, null, true]}
SELECT * FROM t WHERE id IN (1,2,3) AND name LIKE '%x%';
	if (a<<=2 || b>>>1) return ~c ^ d;
"#;

fn corpus() -> Vec<String> {
    let mut texts: Vec<String> = [
        "",
        "hello world",
        " ",
        "a",
        "\n",
        "1234567",
        "1234567890123 3.14159 -42 1e10 0x1F 1,000,000",
        "\n\n\n  x",
        "x  \n\n\t\t y   ",
        "   leading and trailing   ",
        "\r\n\r\nwindows\r\nlines\r\n",
        "don't I'll we've they're she'd it's I'M DON'T You'Ll",
        "can't won't shouldn't've y'all 'quoted' ''",
        "中文分词测试：这是一个句子，包含标点符号。",
        "日本語のテキストとカタカナ、ひらがな。",
        "한국어 문장입니다.",
        "مرحبا بالعالم، هذا نص عربي.",
        "Привет, мир! Ёжик в тумане.",
        "Ελληνικά γράμματα",
        "हिन्दी पाठ",
        "emoji 😀👍🏽 family 👨‍👩‍👧‍👦 flags 🇫🇷🇯🇵 ❤️",
        "combining: e\u{301} a\u{308} n\u{303} Z\u{335}\u{31b}\u{30d}a\u{338}l\u{334}g\u{337}o\u{336}",
        "zero\u{200b}width\u{feff}joiners\u{200d}",
        "tabs\tand\u{a0}nbsp\u{3000}ideographic space",
        "!!!???...,,,;;;:::---___===+++***",
        "a/b/c\\d|e@f#g$h%i^j&k*l(m)n[o]p{q}r<s>t~u`v",
        "https://example.com/path?query=1&other=two#frag",
        "CamelCaseIdentifier snake_case_identifier SCREAMING_CASE kebab-case",
        "MiXeD CaSe WoRdS AND ALLCAPS and lower",
        PROSE,
        CODE,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Long words (the heap merge) and long runs.
    texts.push("a".repeat(1000));
    texts.push("ab".repeat(300));
    texts.push("supercalifragilisticexpialidocious".repeat(10));
    texts.push(" ".repeat(500) + "x");
    texts.push("\n".repeat(300));
    texts.push("9".repeat(400));
    texts.push("!?".repeat(200));
    texts.push("😀".repeat(150));
    texts.push("ü".repeat(120));
    texts.push("中".repeat(200));
    texts.push(PROSE.repeat(20));
    texts
}

#[test]
fn counts_known_text() {
    assert_eq!(count("hello world"), 2);
    assert_eq!(split_tokens("hello world").concat(), "hello world");
    assert_eq!(count_prompt([("user", "hello world")]), 3 + 3 + 1 + 2);
    // Once loaded, estimates are exact.
    assert_eq!(estimate("hello world"), 2);
    assert_eq!(heuristic("hello world"), 3);
}

#[test]
fn counts_and_splits_like_tiktoken() {
    let mut whole = 0;
    for text in corpus() {
        assert_like_tiktoken(&text);
        let split = split_tokens(&text);
        whole += usize::from(split.len() == 1 && count(&text) > 1);
    }
    // Some texts have a token that is part of a character, so split_tokens falls back to the
    // whole text (as it did over CoreBPE).
    assert!(whole > 0);
    assert_eq!(count(""), 0);
    assert_eq!(split_tokens(""), Vec::<String>::new());
}

/// Characters from many classes the pre-tokenizer tells apart.
const PALETTE: &[char] = &[
    'a',
    'e',
    't',
    'n',
    's',
    'q',
    'z',
    'A',
    'T',
    'Q',
    'É',
    'é',
    'ß',
    'ø',
    '0',
    '1',
    '7',
    '9',
    '²',
    '٣',
    ' ',
    ' ',
    ' ',
    '\n',
    '\r',
    '\t',
    '\u{a0}',
    '\u{3000}',
    '\'',
    '"',
    '.',
    ',',
    '!',
    '?',
    '-',
    '_',
    '/',
    '\\',
    '(',
    ')',
    '{',
    '}',
    '<',
    '>',
    '$',
    '%',
    '中',
    '文',
    '的',
    'あ',
    'カ',
    '한',
    'م',
    'ر',
    'ب',
    'Ж',
    'ж',
    'λ',
    'ह',
    '\u{301}',
    '\u{308}',
    '\u{200d}',
    '😀',
    '👍',
    '\u{1f3fd}',
    '🇫',
    '🇷',
    '❤',
    '\u{fe0f}',
];

#[test]
fn random_text_counts_and_splits_like_tiktoken() {
    let mut rng = StdRng::seed_from_u64(0x51u64);
    for case in 0..3000 {
        let len = if case % 10 == 0 {
            rng.random_range(100..400)
        } else {
            rng.random_range(0..40)
        };
        // Runs of one character now and then, so long pieces (the heap merge) come up.
        let mut text = String::new();
        while text.chars().count() < len {
            let c = PALETTE[rng.random_range(0..PALETTE.len())];
            let run = if rng.random_bool(0.1) {
                rng.random_range(2..150)
            } else {
                1
            };
            text.extend(std::iter::repeat_n(c, run));
        }
        assert_like_tiktoken(&text);
    }
}

#[test]
fn table_holds_exactly_the_ordinary_tokens() {
    let vocab = loaded();
    let bpe = reference();
    assert_eq!(vocab.len(), 199_998);
    let mut tokens = HashSet::new();
    for rank in 0..vocab.len() as u32 {
        let bytes = bpe.decode_bytes(&[rank]).expect("an ordinary rank");
        assert_eq!(vocab.token(rank), bytes.as_slice(), "rank {rank}");
        assert_eq!(vocab.rank(&bytes), Some(rank), "rank {rank}");
        tokens.insert(bytes);
    }
    assert_eq!(tokens.len(), vocab.len());
    // Special tokens are not ordinary ones.
    assert_eq!(vocab.rank(b"<|endoftext|>"), None);
    assert_eq!(count("<|endoftext|>"), 7);
    // Byte strings that are not tokens are not found.
    let mut rng = StdRng::seed_from_u64(7);
    let mut misses = 0;
    for _ in 0..100_000 {
        let len = rng.random_range(2..12);
        let bytes: Vec<u8> = (0..len).map(|_| rng.random_range(b'a'..=b'z')).collect();
        let expected = tokens.contains(&bytes);
        assert_eq!(vocab.rank(&bytes).is_some(), expected, "{bytes:?}");
        misses += usize::from(!expected);
    }
    assert!(misses > 50_000, "the probe should mostly miss");
}

#[test]
fn pattern_is_tiktokens() {
    assert_eq!(O200K_BASE_PAT_STR, tiktoken_rs::O200K_BASE_PAT_STR);
}

#[test]
fn short_and_long_merges_agree() {
    let vocab = loaded();
    let mut rng = StdRng::seed_from_u64(99);
    let mut short = Work::default();
    let mut long = Work::default();
    let letters = b"aaabeeilnorsttu ";
    for _ in 0..2000 {
        let len = rng.random_range(2..300);
        let piece: Vec<u8> = (0..len)
            .map(|_| letters[rng.random_range(0..letters.len())])
            .collect();
        vocab.merge_short(&piece, &mut short);
        vocab.merge_long(&piece, &mut long);
        assert_eq!(short.bounds(), long.bounds(), "{piece:?}");
    }
}

/// This process's resident memory, in KiB: all of it and the anonymous part (heap, not
/// the binary's pages). From smaps_rollup, which walks the page tables: VmRSS in
/// /proc/self/status can lag on recent kernels.
fn resident_kib() -> (u64, u64) {
    let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").expect("smaps_rollup");
    let field = |name: &str| {
        rollup
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("a smaps_rollup field")
    };
    (field("Rss:"), field("Anonymous:"))
}

/// "RSS x MiB (anonymous y)".
fn show((rss, anon): (u64, u64)) -> String {
    format!(
        "RSS {:.1} MiB (anonymous {:.1})",
        rss as f64 / 1024.0,
        anon as f64 / 1024.0
    )
}

/// About 2 KB of mixed prose and code.
fn sample_2kb() -> String {
    let mut text = format!("{PROSE}\n\n{CODE}\n中文分词测试 😀 don't 1234567\n");
    while text.len() < 2048 {
        text = text.repeat(2);
    }
    let mut end = 2048;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text
}

// Measurements: run one at a time, each in its own process, e.g.
// cargo test --release -p sluice-providers --lib tokens::tests::measure_load -- --ignored --exact --nocapture

/// Resident memory and time of the real loader (the pre-tokenizer compile), and of a first
/// count (which touches the static tables' pages).
#[test]
#[ignore = "measurement; run alone with --nocapture"]
fn measure_load() {
    let before = resident_kib();
    let started = Instant::now();
    let vocab = Vocab::load().expect("loads");
    let took = started.elapsed();
    let after = resident_kib();
    let started = Instant::now();
    let tokens = count_with(Some(&vocab), &sample_2kb());
    let first_count = started.elapsed();
    let after_count = resident_kib();
    let started = Instant::now();
    let again = Vocab::load().expect("loads");
    let took_again = started.elapsed();
    drop(again);
    println!(
        "load: {took:?} (again: {took_again:?})\n  before: {}\n  loaded: {}\n  \
         after a first count ({first_count:?}): {}\n  \
         static tables {:.2} MiB ({} tokens, {} slots); 2 KB sample = {tokens} tokens",
        show(before),
        show(after),
        show(after_count),
        vocab.table_bytes() as f64 / (1024.0 * 1024.0),
        vocab.len(),
        vocab.slot_count(),
    );
}

/// Resident memory and time of tiktoken-rs's CoreBPE, as the gateway held it before.
#[test]
#[ignore = "measurement; run alone with --nocapture"]
fn measure_corebpe() {
    let before = resident_kib();
    let started = Instant::now();
    let bpe = tiktoken_rs::o200k_base().expect("o200k_base");
    let took = started.elapsed();
    let after = resident_kib();
    let tokens = bpe.encode_ordinary(&sample_2kb()).len();
    let after_count = resident_kib();
    println!(
        "CoreBPE load: {took:?}\n  before: {}\n  loaded: {}\n  after a count: {}\n  \
         2 KB sample = {tokens} tokens",
        show(before),
        show(after),
        show(after_count),
    );
}

fn per_call(took: Duration, calls: u32) -> Duration {
    took / calls
}

/// Count speed on ~2 KB, ours against CoreBPE, and the index's lookup speed against binary
/// search over ranks sorted by bytes.
#[test]
#[ignore = "measurement; run alone with --nocapture"]
fn measure_speed() {
    let vocab = loaded();
    let bpe = reference();
    let text = sample_2kb();
    assert_eq!(
        count_with(Some(vocab), &text),
        bpe.encode_ordinary(&text).len() as u64
    );
    let calls = 2000;
    let time = |f: &dyn Fn(&str) -> u64| {
        let started = Instant::now();
        let mut total = 0;
        for _ in 0..calls {
            total += f(std::hint::black_box(&text));
        }
        (per_call(started.elapsed(), calls), total)
    };
    for round in 0..2 {
        let (ours, _) = time(&|t| count_with(Some(vocab), t));
        let (theirs, _) = time(&|t| bpe.encode_ordinary(t).len() as u64);
        let (split, _) = time(&|t| split_with(vocab, t).map_or(0, |p| p.len()) as u64);
        let (theirs_split, _) = time(&|t| reference_split(t).len() as u64);
        let (regex, pieces) = time(&|t| vocab.piece_count(t) as u64);
        println!(
            "round {round}: {} bytes, {} pieces: count {ours:?}, CoreBPE encode_ordinary \
             {theirs:?}; split_tokens {split:?}, CoreBPE encode + decode {theirs_split:?}; \
             pre-tokenizer alone {regex:?}",
            text.len(),
            pieces / u64::from(calls),
        );
    }
    for slots_per_token in [1, 2, 4] {
        let index = vocab.reindexed(slots_per_token).expect("reindexes");
        let (took, _) = time(&|t| count_with(Some(&index), t));
        println!("count with {} slots: {took:?}", index.slot_count());
    }

    // Lookups: every token (hits) and as many near-miss strings.
    let mut keys: Vec<Vec<u8>> = (0..vocab.len() as u32)
        .map(|rank| vocab.token(rank).to_vec())
        .collect();
    let misses: Vec<Vec<u8>> = keys
        .iter()
        .map(|k| {
            let mut k = k.clone();
            k.push(b'#');
            k
        })
        .collect();
    keys.extend(misses);
    let mut rng = StdRng::seed_from_u64(3);
    for i in (1..keys.len()).rev() {
        keys.swap(i, rng.random_range(0..=i));
    }
    let time = |name: &str, lookup: &dyn Fn(&[u8]) -> Option<u32>| {
        let started = Instant::now();
        let found = keys.iter().filter(|k| lookup(k).is_some()).count();
        println!(
            "{name}: {:?} a lookup ({found} found)",
            started.elapsed() / keys.len() as u32
        );
    };
    for slots_per_token in [1, 2, 4] {
        let index = vocab.reindexed(slots_per_token).expect("reindexes");
        let (mean, longest) = index.probe_stats();
        println!(
            "{} slots ({:.2} MiB tables), hit probes mean {mean:.2} max {longest}",
            index.slot_count(),
            index.table_bytes() as f64 / (1024.0 * 1024.0)
        );
        time("  hash index", &|k| index.rank(k));
    }
    let sorted = vocab.sorted_ranks();
    time("binary search (0.76 MiB index)", &|k| {
        sorted
            .binary_search_by(|&r| vocab.token(r).cmp(k))
            .ok()
            .map(|at| sorted[at])
    });
}
