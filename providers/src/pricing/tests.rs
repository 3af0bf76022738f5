//! The pricing function on the usage each provider's reader reports, and lookup precedence.
//! Expected costs are worked out by hand in the comments (rates in USD per million tokens).

use super::*;
use crate::{anthropic, bedrock, gemini, openai, ResponseTarget};

fn target(model: &str) -> ResponseTarget<'_> {
    ResponseTarget {
        model,
        created: 0,
        include_usage: true,
    }
}

#[track_caller]
fn assert_usd(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-12,
        "cost {actual} USD, expected {expected} USD"
    );
}

fn rates(input: f64, output: f64) -> Rates {
    Rates {
        input,
        output,
        cache_read: None,
        cache_write_5m: None,
        cache_write_1h: None,
        reasoning: None,
    }
}

#[test]
fn openai_answer_with_cached_and_reasoning_tokens() {
    let body = br#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-5-2025-08-07",
        "choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],
        "usage":{"prompt_tokens":12000,"completion_tokens":3000,"total_tokens":15000,
                 "prompt_tokens_details":{"cached_tokens":8000},
                 "completion_tokens_details":{"reasoning_tokens":2000}}}"#;
    let usage = openai::translate_response(body, &target("gpt-5"))
        .unwrap()
        .usage;
    assert_eq!(usage.reasoning_tokens, Some(2000));
    // gpt-5 (the dated snapshot matches `gpt-5-20*`): input 1.25, cached 0.125, output 10.
    // uncached 12000 − 8000 = 4000 × 1.25 = 5000
    // cached   8000 × 0.125               = 1000
    // output   3000 × 10 (the 2000 reasoning tokens are inside the 3000) = 30000
    // 36000 µUSD = 0.036 USD
    let cost = Catalog::builtin().cost("openai", "gpt-5-2025-08-07", &usage);
    assert_usd(cost.unwrap(), 0.036);
}

#[test]
fn anthropic_answer_with_cache_reads_and_writes() {
    let body =
        br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
        "content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn",
        "usage":{"input_tokens":1000,"cache_creation_input_tokens":2000,
                 "cache_read_input_tokens":10000,"output_tokens":500}}"#;
    let usage = anthropic::translate_response(body, &target("claude-sonnet-4-5"))
        .unwrap()
        .usage;
    assert_eq!(usage.input_tokens, Some(13000));
    let price = Catalog::builtin()
        .price("anthropic", "claude-sonnet-4-5-20250929")
        .unwrap();
    // Sonnet 4.5: input 3, 5-minute write 3.75, 1-hour write 6, cache read 0.3, output 15.
    // uncached 13000 − 10000 − 2000 = 1000 × 3 = 3000
    // written  2000 × 3.75                     = 7500
    // read    10000 × 0.3                      = 3000
    // output    500 × 15                       = 7500
    // 21000 µUSD = 0.021 USD
    assert_usd(cost(&usage, price), 0.021);
    // All 2000 written with the 1-hour TTL: 2000 × 6 = 12000 in place of 7500 → 25500 µUSD.
    let one_hour = Usage {
        cache_write_1h_tokens: Some(2000),
        ..usage
    };
    assert_usd(cost(&one_hour, price), 0.0255);
}

/// Anthropic's usage for a Claude answer (its `input_tokens` leaves out cache reads and writes)
/// whose cache writes are split by lifetime in `usage.cache_creation`.
const CLAUDE_SPLIT_WRITES: &[u8] =
    br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
    "content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn",
    "usage":{"input_tokens":1000,"cache_read_input_tokens":200,"cache_creation_input_tokens":300,
             "cache_creation":{"ephemeral_5m_input_tokens":200,"ephemeral_1h_input_tokens":100},
             "output_tokens":50}}"#;

#[test]
fn one_hour_cache_writes_are_priced_at_their_own_rate() {
    // The answer translated for a chat client, and passed as it is to a Messages client.
    let hub = anthropic::translate_response(CLAUDE_SPLIT_WRITES, &target("claude-sonnet-4-5"))
        .unwrap()
        .usage;
    let native = anthropic::facts::message_facts(CLAUDE_SPLIT_WRITES.to_vec())
        .unwrap()
        .usage;
    assert_eq!(hub, native);
    assert_eq!(
        hub.input_tokens,
        Some(1500),
        "1000 + 200 read + 300 written"
    );
    assert_eq!(hub.cached_input_tokens, Some(200));
    assert_eq!(hub.cache_creation_input_tokens, Some(300));
    assert_eq!(hub.cache_write_1h_tokens, Some(100));
    let price = Catalog::builtin()
        .price("anthropic", "claude-sonnet-4-5-20250929")
        .unwrap();
    // Sonnet 4.5 (catalog `claude-sonnet-4-5*`, 1500 input tokens: below the 200k tier):
    // input 3, cache read 0.3, 5-minute write 3.75, 1-hour write 6, output 15.
    // uncached 1500 − 200 − 300 = 1000 × 3    = 3000
    // read      200 × 0.3                     =   60
    // 5m write  300 − 100 = 200 × 3.75        =  750
    // 1h write  100 × 6                       =  600
    // output     50 × 15                      =  750
    // 5160 µUSD = 0.00516 USD
    assert_usd(cost(&hub, price), 0.00516);
    assert_usd(
        Catalog::builtin()
            .cost("anthropic", "claude-sonnet-4-5-20250929", &native)
            .unwrap(),
        0.00516,
    );
    // Without the split every write is a 5-minute one: 100 × (6 − 3.75) = 225 µUSD less.
    let unsplit = Usage {
        cache_write_1h_tokens: None,
        ..hub
    };
    assert_usd(cost(&unsplit, price), 0.004935);
}

#[test]
fn gemini_2_5_pro_above_200k_input_tokens_is_priced_whole_at_the_long_context_rates() {
    let body = br#"{"candidates":[{"content":{"role":"model","parts":[{"text":"ok"}]},"finishReason":"STOP"}],
        "usageMetadata":{"promptTokenCount":250000,"cachedContentTokenCount":50000,
                         "candidatesTokenCount":1000,"thoughtsTokenCount":3000,"totalTokenCount":254000},
        "modelVersion":"gemini-2.5-pro"}"#;
    let usage = gemini::translate_response(body, &target("gemini-2.5-pro"))
        .unwrap()
        .usage;
    assert_eq!(usage.output_tokens, Some(4000), "thoughts count as output");
    // 250000 > 200000 input tokens: every token at the long-context rates
    // (input 2.5, cached 0.25, output 15; below the threshold 1.25, 0.125, 10).
    // uncached 250000 − 50000 = 200000 × 2.5 = 500000
    // cached    50000 × 0.25                 =  12500
    // output     4000 × 15                   =  60000
    // 572500 µUSD = 0.5725 USD
    let cost = Catalog::builtin().cost("gemini", "gemini-2.5-pro", &usage);
    assert_usd(cost.unwrap(), 0.5725);
    // The same call on Vertex AI costs the same.
    let vertex = Catalog::builtin().cost("vertex", "gemini-2.5-pro", &usage);
    assert_usd(vertex.unwrap(), 0.5725);
}

#[test]
fn bedrock_claude_geographic_profile_costs_more_than_global() {
    let body = br#"{"output":{"message":{"role":"assistant","content":[{"text":"ok"}]}},
        "stopReason":"end_turn","metrics":{"latencyMs":10},
        "usage":{"inputTokens":100,"outputTokens":200,"totalTokens":6300,
                 "cacheReadInputTokens":5000,"cacheWriteInputTokens":1000}}"#;
    let usage = bedrock::translate_response(body, &target("x"))
        .unwrap()
        .usage;
    assert_eq!(usage.input_tokens, Some(6100));
    let catalog = Catalog::builtin();
    // us. profile of Sonnet 4.5: input 3.3, read 0.33, 5-minute write 4.125, output 16.5.
    // 100 × 3.3 + 5000 × 0.33 + 1000 × 4.125 + 200 × 16.5
    //   = 330 + 1650 + 4125 + 3300 = 9405 µUSD
    let us = catalog.cost(
        "bedrock",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        &usage,
    );
    assert_usd(us.unwrap(), 0.009405);
    // global. profile: 3, 0.3, 3.75, 15 → 300 + 1500 + 3750 + 3000 = 8550 µUSD
    let global = catalog.cost(
        "bedrock",
        "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        &usage,
    );
    assert_usd(global.unwrap(), 0.00855);
}

#[test]
fn tier_starts_above_its_threshold_not_at_it() {
    let price = Price {
        rates: rates(1.0, 2.0),
        long_context: Some(LongContext {
            above_input_tokens: 200_000,
            rates: rates(10.0, 20.0),
        }),
    };
    let usage = |input| Usage {
        input_tokens: Some(input),
        output_tokens: Some(1000),
        ..Usage::default()
    };
    // 200000 × 1 + 1000 × 2 = 202000 µUSD
    assert_usd(cost(&usage(200_000), &price), 0.202);
    // 200001 × 10 + 1000 × 20 = 2020010 µUSD
    assert_usd(cost(&usage(200_001), &price), 2.02001);
}

#[test]
fn missing_cache_rates_fall_back_to_the_input_rate() {
    let usage = Usage {
        input_tokens: Some(1000),
        cached_input_tokens: Some(300),
        cache_creation_input_tokens: Some(200),
        output_tokens: Some(10),
        ..Usage::default()
    };
    // No cache rates at all: (500 + 300 + 200) × 2 + 10 × 8 = 2080 µUSD
    let plain = Price::flat(rates(2.0, 8.0));
    assert_usd(cost(&usage, &plain), 0.00208);
    // A 5-minute rate but no 1-hour one: 1-hour writes use the 5-minute rate.
    // 500 × 2 + 300 × 0.2 + 200 × 2.5 + 10 × 8 = 1000 + 60 + 500 + 80 = 1640 µUSD
    let five_only = Price::flat(Rates {
        cache_read: Some(0.2),
        cache_write_5m: Some(2.5),
        ..rates(2.0, 8.0)
    });
    assert_usd(cost(&usage, &five_only), 0.00164);
    let one_hour = Usage {
        cache_write_1h_tokens: Some(200),
        ..usage
    };
    assert_usd(cost(&one_hour, &five_only), 0.00164);
    // No cache rates at all: 1-hour writes cost input too, 2080 µUSD as above.
    assert_usd(cost(&one_hour, &plain), 0.00208);
}

#[test]
fn reasoning_tokens_have_a_rate_of_their_own_when_one_is_set() {
    let usage = Usage {
        input_tokens: Some(1000),
        output_tokens: Some(500),
        reasoning_tokens: Some(400),
        ..Usage::default()
    };
    // Without a reasoning rate, reasoning is output: 1000 × 1 + 500 × 4 = 3000 µUSD.
    assert_usd(cost(&usage, &Price::flat(rates(1.0, 4.0))), 0.003);
    // With one: 1000 × 1 + 100 × 4 + 400 × 10 = 5400 µUSD.
    let price = Price::flat(Rates {
        reasoning: Some(10.0),
        ..rates(1.0, 4.0)
    });
    assert_usd(cost(&usage, &price), 0.0054);
    // More reasoning reported than output: no more than the output is priced as reasoning.
    let odd = Usage {
        reasoning_tokens: Some(900),
        ..usage
    };
    assert_usd(cost(&odd, &price), 0.006);
}

#[test]
fn inconsistent_counts_never_go_negative_and_missing_counts_are_zero() {
    let price = Price::flat(Rates {
        cache_read: Some(0.5),
        ..rates(1.0, 4.0)
    });
    // 200 cached of 100 input: no uncached part, the cached ones still priced: 200 × 0.5.
    let odd = Usage {
        input_tokens: Some(100),
        cached_input_tokens: Some(200),
        ..Usage::default()
    };
    assert_usd(cost(&odd, &price), 0.0001);
    assert_usd(cost(&Usage::default(), &price), 0.0);
    // More 1-hour writes (500) than writes (200): only the 200 are priced, all at 1 hour.
    let price = Price::flat(Rates {
        cache_write_5m: Some(1.25),
        cache_write_1h: Some(2.0),
        ..rates(1.0, 4.0)
    });
    let odd = Usage {
        input_tokens: Some(1000),
        cache_creation_input_tokens: Some(200),
        cache_write_1h_tokens: Some(500),
        ..Usage::default()
    };
    // uncached 1000 − 200 = 800 × 1 = 800; 200 × 2 = 400 → 1200 µUSD
    assert_usd(cost(&odd, &price), 0.0012);
}

const PRECEDENCE: &str = r#"{"about": {}, "entries": [
  {"provider": "anthropic", "models": ["claude-*"], "input": 1, "output": 1, "cache_read": null, "checked": "2026-01-01", "source": "https://example.com/a"},
  {"provider": "anthropic", "models": ["claude-sonnet-*"], "input": 2, "output": 2, "cache_read": null, "checked": "2026-01-01", "source": "https://example.com/b"},
  {"provider": "anthropic", "models": ["claude-sonnet-4-5*"], "input": 3, "output": 3, "cache_read": null, "checked": "2026-01-01", "source": "https://example.com/c"},
  {"provider": "anthropic", "models": ["claude-sonnet-4-5-20250929"], "input": 4, "output": 4, "cache_read": null, "checked": "2026-01-01", "source": "https://example.com/d"},
  {"provider": "anthropic", "models": ["*-haiku-9"], "input": 5, "output": 5, "cache_read": null, "checked": "2026-01-01", "source": "https://example.com/e"},
  {"provider": "anthropic", "models": ["claude-*9"], "input": 6, "output": 6, "cache_read": null, "checked": "2026-01-01", "source": "https://example.com/f"}
]}"#;

fn input_rate(catalog: &Catalog, provider: &str, model: &str) -> Option<f64> {
    catalog.price(provider, model).map(|p| p.rates.input)
}

#[test]
fn exact_beats_glob_and_the_most_specific_glob_wins() {
    let c = Catalog::from_json(PRECEDENCE).unwrap();
    assert_eq!(
        input_rate(&c, "anthropic", "claude-sonnet-4-5-20250929"),
        Some(4.0)
    );
    assert_eq!(
        input_rate(&c, "anthropic", "claude-sonnet-4-5-20991231"),
        Some(3.0)
    );
    assert_eq!(input_rate(&c, "anthropic", "claude-sonnet-4-6"), Some(2.0));
    assert_eq!(input_rate(&c, "anthropic", "claude-opus-4-1"), Some(1.0));
    // `*-haiku-9` and `claude-*9` both match with 8 literal characters: the earlier wins.
    assert_eq!(input_rate(&c, "anthropic", "claude-haiku-9"), Some(5.0));
    // Globs are per provider.
    assert_eq!(
        input_rate(&c, "bedrock", "claude-sonnet-4-5-20250929"),
        None
    );
}

#[test]
fn builtin_exact_snapshot_beats_the_family_glob() {
    let c = Catalog::builtin();
    // gpt-4o-2024-05-13 kept its launch price; the `gpt-4o-20*` glob holds later snapshots.
    assert_eq!(input_rate(c, "openai", "gpt-4o-2024-05-13"), Some(5.0));
    assert_eq!(input_rate(c, "openai", "gpt-4o-2024-11-20"), Some(2.5));
    // `claude-opus-5` is exact only, so an Opus 5.5 snapshot meets `claude-opus-5-5*` (4) and
    // is not priced as Opus 5 (5).
    assert_eq!(
        input_rate(c, "anthropic", "claude-opus-5-5-20261101"),
        Some(4.0)
    );
    assert_eq!(input_rate(c, "anthropic", "claude-opus-5"), Some(5.0));
}

fn entry(provider: &str, model: &str, input: f64) -> PriceEntry {
    PriceEntry {
        provider: provider.into(),
        model: model.into(),
        price: Price::flat(rates(input, 1.0)),
    }
}

#[test]
fn overrides_win_over_the_catalog_even_as_globs() {
    let c = Catalog::builtin()
        .with_overrides([
            entry("openai", "gpt-4o*", 1.0),
            entry("openai", "my-finetune", 7.0),
        ])
        .unwrap();
    // The catalog prices gpt-4o exactly (2.5), the override's glob still wins.
    assert_eq!(input_rate(&c, "openai", "gpt-4o"), Some(1.0));
    assert_eq!(input_rate(&c, "openai", "gpt-4o-2024-05-13"), Some(1.0));
    assert_eq!(input_rate(&c, "openai", "my-finetune"), Some(7.0));
    // Models the overrides leave alone keep the catalog's price.
    assert_eq!(input_rate(&c, "openai", "gpt-4.1"), Some(2.0));
    // The builtin catalog itself is unchanged.
    assert_eq!(
        input_rate(Catalog::builtin(), "openai", "gpt-4o"),
        Some(2.5)
    );
    // Overriding again replaces the overrides.
    let again = c.with_overrides([entry("openai", "gpt-4.1", 9.0)]).unwrap();
    assert_eq!(input_rate(&again, "openai", "gpt-4.1"), Some(9.0));
    assert_eq!(input_rate(&again, "openai", "gpt-4o"), Some(2.5));
}

#[test]
fn bad_overrides_are_refused_with_their_place() {
    let dup = Catalog::builtin().with_overrides([
        entry("openai", "gpt-4o", 1.0),
        entry("openai", "gpt-4o", 2.0),
    ]);
    assert_eq!(
        dup.unwrap_err().to_string(),
        "overrides[1] (openai gpt-4o): openai gpt-4o is priced twice (first at overrides[0] (openai gpt-4o))"
    );
    let negative = Catalog::builtin().with_overrides([entry("openai", "gpt-4o", -1.0)]);
    assert_eq!(
        negative.unwrap_err().to_string(),
        "overrides[0] (openai gpt-4o): input is -1: prices are finite and not negative"
    );
    let everything = Catalog::builtin().with_overrides([entry("openai", "*", 1.0)]);
    assert!(everything.is_err());
}

#[test]
fn unknown_models_have_no_price_not_a_zero_one() {
    let c = Catalog::builtin();
    let usage = Usage {
        input_tokens: Some(10),
        output_tokens: Some(10),
        ..Usage::default()
    };
    assert_eq!(c.cost("openai", "gpt-unknown-7", &usage), None);
    assert_eq!(c.price("openai", ""), None);
    // A model priced at one provider is not priced at another.
    assert!(c.price("gemini", "gemini-2.5-pro").is_some());
    assert_eq!(c.price("openai", "gemini-2.5-pro"), None);
    assert_eq!(c.price("mock", "mock-model"), None);
}

#[test]
fn bad_catalog_files_name_the_entry() {
    let negative = PRECEDENCE.replace(r#""input": 3,"#, r#""input": -3,"#);
    assert_eq!(
        Catalog::from_json(&negative).unwrap_err().to_string(),
        "entries[2]: input is -3: prices are finite and not negative"
    );
    let twice = PRECEDENCE.replace(r#"["claude-sonnet-*"]"#, r#"["claude-*"]"#);
    assert_eq!(
        Catalog::from_json(&twice).unwrap_err().to_string(),
        "entries[1].models[0]: anthropic claude-* is priced twice (first at entries[0].models[0])"
    );
    let typo = PRECEDENCE.replace(
        r#""cache_read": null, "checked": "2026-01-01", "source": "https://example.com/a""#,
        r#""cache_reed": null, "checked": "2026-01-01", "source": "https://example.com/a""#,
    );
    let err = Catalog::from_json(&typo).unwrap_err().to_string();
    assert!(err.contains("unknown field `cache_reed`"), "{err}");
}
