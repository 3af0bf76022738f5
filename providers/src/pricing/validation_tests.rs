//! The catalog file's checks, run in CI: each entry complete, dated and sourced, no price
//! twice, none negative or out of shape, and every glob matching real model ids
//! (`providers/pricing/known_models.txt`) that resolve to the entry that holds it.

use std::collections::HashSet;

use serde_json::Value;

use super::*;
use crate::ProviderKind;

const KNOWN_MODELS: &str = include_str!("../../pricing/known_models.txt");

/// The hosts of each provider's own pricing pages.
fn own_hosts(provider: &str) -> &'static [&'static str] {
    match provider {
        "openai" => &["developers.openai.com", "openai.com", "platform.openai.com"],
        "azure" => &["azure.microsoft.com"],
        "anthropic" => &[
            "platform.claude.com",
            "docs.anthropic.com",
            "www.anthropic.com",
        ],
        "gemini" => &["ai.google.dev"],
        "vertex" => &["cloud.google.com"],
        "bedrock" => &["aws.amazon.com"],
        _ => &[],
    }
}

fn raw_entries() -> Vec<Value> {
    let file: Value = serde_json::from_str(CATALOG_JSON).unwrap();
    file["entries"].as_array().unwrap().clone()
}

fn is_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let num = |p: &str, len: usize| p.len() == len && p.bytes().all(|b| b.is_ascii_digit());
    parts.len() == 3
        && num(parts[0], 4)
        && num(parts[1], 2)
        && num(parts[2], 2)
        && parts[0] >= "2024"
        && ("01"..="12").contains(&parts[1])
        && ("01"..="31").contains(&parts[2])
}

#[test]
fn builtin_catalog_loads() {
    let c = Catalog::builtin();
    assert!(c.entries().len() > 100, "{} entries", c.entries().len());
    for provider in [
        "openai",
        "azure",
        "anthropic",
        "gemini",
        "vertex",
        "bedrock",
    ] {
        assert!(
            c.entries().iter().any(|e| e.provider == provider),
            "no {provider} prices"
        );
    }
}

#[test]
fn every_entry_is_complete_dated_and_sourced() {
    for (i, e) in raw_entries().iter().enumerate() {
        let at = format!("entries[{i}] {}", e["models"]);
        let provider = e["provider"].as_str().unwrap();
        assert!(
            matches!(ProviderKind::from_name(provider), Some(k) if k.name() == provider),
            "{at}: unknown provider {provider}"
        );
        for key in ["input", "output"] {
            assert!(e[key].is_number(), "{at}: no {key} price");
        }
        // Required even when null, so a missing cached price is a decision, not an omission.
        assert!(
            e.as_object().unwrap().contains_key("cache_read"),
            "{at}: cache_read must be given (null when the provider gives no discount)"
        );
        let checked = e["checked"].as_str().unwrap();
        assert!(
            is_date(checked),
            "{at}: checked {checked:?} is not YYYY-MM-DD"
        );
        let source = e["source"].as_str().unwrap();
        let host = source
            .strip_prefix("https://")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or("");
        assert!(
            own_hosts(provider).contains(&host),
            "{at}: source {source} is not a pricing page of {provider}"
        );
    }
}

#[test]
fn claude_prices_carry_their_cache_rates() {
    for e in Catalog::builtin().entries() {
        if !e.models.iter().any(|m| m.contains("claude")) {
            continue;
        }
        let r = &e.price.rates;
        assert!(
            r.cache_read.is_some() && r.cache_write_5m.is_some(),
            "{e:?}: Claude prices need cache_read and cache_write_5m"
        );
        if e.provider == "anthropic" {
            assert!(
                r.cache_write_1h.is_some(),
                "{e:?}: Anthropic lists 1-hour writes"
            );
        }
    }
}

/// The shape prices have: cache reads cost less than input, writes more; a long-context tier
/// costs more than the base and names the same kinds of rates.
fn check_shape(e: &CatalogEntry, r: &Rates) {
    if let Some(read) = r.cache_read {
        assert!(read <= r.input, "{e:?}: cache_read above input");
    }
    if let Some(w5) = r.cache_write_5m {
        assert!(w5 >= r.input, "{e:?}: cache_write_5m below input");
    }
    if let Some(w1) = r.cache_write_1h {
        assert!(
            w1 >= r.cache_write_5m.unwrap_or(r.input),
            "{e:?}: cache_write_1h below cache_write_5m"
        );
    }
    assert!(r.input > 0.0 && r.output > 0.0, "{e:?}: a zero price");
}

#[test]
fn prices_have_a_sane_shape() {
    for e in Catalog::builtin().entries() {
        check_shape(e, &e.price.rates);
        if let Some(t) = &e.price.long_context {
            check_shape(e, &t.rates);
            let (base, tier) = (&e.price.rates, &t.rates);
            assert!(
                tier.input > base.input && tier.output >= base.output,
                "{e:?}"
            );
            assert!(
                t.above_input_tokens >= 100_000,
                "{e:?}: a tier that low is unheard of"
            );
            let kinds = |r: &Rates| {
                [
                    r.cache_read.is_some(),
                    r.cache_write_5m.is_some(),
                    r.cache_write_1h.is_some(),
                ]
            };
            assert_eq!(kinds(base), kinds(tier), "{e:?}: tier rates differ in kind");
        }
    }
}

#[test]
fn no_provider_and_model_is_priced_twice() {
    let mut seen = HashSet::new();
    for e in Catalog::builtin().entries() {
        for m in &e.models {
            assert!(seen.insert((&e.provider, m)), "{} {m} twice", e.provider);
        }
    }
}

/// `provider model pattern` lines of known_models.txt.
fn known_models() -> Vec<(&'static str, &'static str, &'static str)> {
    KNOWN_MODELS
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut f = l.split_whitespace();
            let mut next = || f.next().unwrap_or_else(|| panic!("bad line {l:?}"));
            (next(), next(), next())
        })
        .collect()
}

#[test]
fn known_model_ids_resolve_to_the_entry_holding_their_pattern() {
    let c = Catalog::builtin();
    for (provider, model, pattern) in known_models() {
        let e = c
            .entry(provider, model)
            .unwrap_or_else(|| panic!("{provider} {model} has no price"));
        assert!(
            e.models.iter().any(|m| m == pattern),
            "{provider} {model} resolves to {:?}, not to the entry of {pattern}",
            e.models
        );
        assert!(
            glob::matches(pattern, model),
            "{pattern} does not match {model}"
        );
    }
}

#[test]
fn every_glob_matches_a_known_model_id() {
    let known = known_models();
    for e in Catalog::builtin().entries() {
        for m in e.models.iter().filter(|m| glob::is_glob(m)) {
            assert!(
                known
                    .iter()
                    .any(|&(p, id, _)| p == e.provider && glob::matches(m, id)),
                "{} {m} matches no id in known_models.txt",
                e.provider
            );
        }
    }
}
