//! What an LLM call cost, in USD: the price catalog and the pricing function.
//!
//! The catalog is `providers/pricing/catalog.json` (its README says where the numbers come
//! from), compiled in and parsed once ([`Catalog::builtin`]). A price is found by provider
//! (as [`crate::ProviderKind::name`] spells it) and model id:
//! - the caller's overrides ([`Catalog::with_overrides`], the gateway's `pricing` config) come
//!   first: an override that matches at all wins over every catalog entry;
//! - within the overrides, then within the catalog, an exact model id wins, else the glob with
//!   the most literal characters (`claude-sonnet-5-5*` over `claude-sonnet-5*`), else, between
//!   equally specific globs, the earlier one;
//! - a model with no price has none: [`Catalog::price`] gives `None`, never a zero price.
//!
//! [`cost`] prices a [`Usage`] as the readers report it, in OpenAI's terms: `input_tokens`
//! counts every prompt token, cached and cache-written ones too. So uncached input is
//! `input − cached − cache_creation`, each part at its own rate (cache writes at the rate of
//! their lifetime, 5 minutes or 1 hour); `output_tokens` already holds the reasoning tokens,
//! all at the output rate. A price's long-context tier, when the input tokens pass its
//! threshold, prices the whole request (as Gemini 2.5 Pro and Claude Sonnet 4 do above 200k
//! input tokens).
//!
//! Not priced: modalities (audio, image tokens cost as text here), batch and flex discounts,
//! regional surcharges that the model id does not show (Vertex regional endpoints, Anthropic's
//! `inference_geo`, Azure data zones): the override table is the place for those.

mod catalog;
mod glob;

/// Whether `name` matches `pattern`, where `*` matches any run of characters (the
/// catalog's model patterns; also the model lists of keys).
pub use glob::matches as glob_matches;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod validation_tests;

use std::sync::LazyLock;

pub use catalog::{CatalogEntry, CatalogError, PriceEntry};

use catalog::Index;

use crate::Usage;

/// The catalog file, built into the binary.
const CATALOG_JSON: &str = include_str!("../../pricing/catalog.json");

/// Rates in USD per million tokens.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rates {
    /// Uncached input.
    pub input: f64,
    /// Output, reasoning included unless `reasoning` is set.
    pub output: f64,
    /// Output spent thinking (the usage's `reasoning_tokens`); `None`: billed as `output`,
    /// as every provider in the built-in catalog bills it.
    pub reasoning: Option<f64>,
    /// Input read from the provider's prompt cache; `None`: no discount, billed as `input`.
    pub cache_read: Option<f64>,
    /// Input written to the prompt cache with a 5-minute life (Anthropic's default; Bedrock's
    /// only); `None`: billed as `input`.
    pub cache_write_5m: Option<f64>,
    /// Input written to the prompt cache with a 1-hour life; `None`: as `cache_write_5m`.
    pub cache_write_1h: Option<f64>,
}

/// Rates for the whole request once its input tokens exceed `above_input_tokens`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LongContext {
    pub above_input_tokens: u64,
    pub rates: Rates,
}

/// What one model costs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Price {
    pub rates: Rates,
    pub long_context: Option<LongContext>,
}

impl Price {
    /// A price with one set of rates and no long-context tier.
    pub fn flat(rates: Rates) -> Self {
        Price {
            rates,
            long_context: None,
        }
    }

    /// The rates a request with `input_tokens` (cached ones included) pays.
    pub fn rates_for(&self, input_tokens: u64) -> &Rates {
        match &self.long_context {
            Some(tier) if input_tokens > tier.above_input_tokens => &tier.rates,
            _ => &self.rates,
        }
    }
}

/// The cost in USD of `usage` at `price`. Cache writes are priced by lifetime: the 1-hour
/// part (`cache_write_1h_tokens`, which Anthropic reports in `usage.cache_creation`) at
/// `cache_write_1h`, the rest at `cache_write_5m`; a usage without the split (Bedrock Converse)
/// is priced as 5-minute writes. Counts the usage does not report are taken as zero.
pub fn cost(usage: &Usage, price: &Price) -> f64 {
    let input = usage.input_tokens.unwrap_or(0);
    let cached = usage.cached_input_tokens.unwrap_or(0);
    let written = usage.cache_creation_input_tokens.unwrap_or(0);
    // A reader that reports more cached tokens than input tokens gets no negative part, nor
    // more 1-hour writes than writes.
    let uncached = input.saturating_sub(cached).saturating_sub(written);
    let written_1h = usage.cache_write_1h_tokens.unwrap_or(0).min(written);
    let written_5m = written - written_1h;
    let output = usage.output_tokens.unwrap_or(0);
    // Reasoning is part of the output count; never more of it than output.
    let reasoning = usage.reasoning_tokens.unwrap_or(0).min(output);
    let r = price.rates_for(input);
    let write_5m = r.cache_write_5m.unwrap_or(r.input);
    let write_1h = r.cache_write_1h.or(r.cache_write_5m).unwrap_or(r.input);
    let micro_usd = uncached as f64 * r.input
        + cached as f64 * r.cache_read.unwrap_or(r.input)
        + written_5m as f64 * write_5m
        + written_1h as f64 * write_1h
        + (output - reasoning) as f64 * r.output
        + reasoning as f64 * r.reasoning.unwrap_or(r.output);
    micro_usd / 1_000_000.0
}

/// The price catalog, with the caller's overrides on top.
#[derive(Clone, Debug)]
pub struct Catalog {
    entries: Vec<CatalogEntry>,
    index: Index,
    overrides: Vec<PriceEntry>,
    override_index: Index,
}

static BUILTIN: LazyLock<Catalog> = LazyLock::new(|| {
    // The file is compiled in and checked by `validation_tests`: it cannot fail here unless
    // a test has failed first.
    // ok: the file is built in and checked by `validation_tests`; built at config load.
    Catalog::from_json(CATALOG_JSON).expect("providers/pricing/catalog.json is valid")
});

impl Catalog {
    /// The catalog built into the binary, parsed on first use.
    pub fn builtin() -> &'static Catalog {
        &BUILTIN
    }

    /// A catalog from the text of a catalog file (the shape of `providers/pricing/catalog.json`).
    pub fn from_json(text: &str) -> Result<Catalog, CatalogError> {
        let entries = catalog::parse(text)?;
        let index = Index::new(entries.iter().enumerate().flat_map(|(i, e)| {
            e.models
                .iter()
                .map(move |m| (e.provider.as_str(), m.as_str(), i))
        }));
        Ok(Catalog {
            entries,
            index,
            overrides: Vec::new(),
            override_index: Index::default(),
        })
    }

    /// This catalog with `overrides` on top, in place of any it had. An override that matches
    /// a (provider, model) wins over the catalog, glob or not; a (provider, model) given twice,
    /// or a negative price, is an error naming `overrides[i]`.
    pub fn with_overrides(
        &self,
        overrides: impl IntoIterator<Item = PriceEntry>,
    ) -> Result<Catalog, CatalogError> {
        let overrides: Vec<PriceEntry> = overrides.into_iter().collect();
        catalog::check_overrides(&overrides)?;
        let override_index = Index::new(
            overrides
                .iter()
                .enumerate()
                .map(|(i, o)| (o.provider.as_str(), o.model.as_str(), i)),
        );
        Ok(Catalog {
            entries: self.entries.clone(),
            index: self.index.clone(),
            overrides,
            override_index,
        })
    }

    /// The price of `model` at `provider`: an override, else the catalog's; `None` when neither
    /// prices it.
    pub fn price(&self, provider: &str, model: &str) -> Option<&Price> {
        if let Some(i) = self.override_index.find(provider, model) {
            return Some(&self.overrides[i].price);
        }
        self.entry(provider, model).map(|e| &e.price)
    }

    /// The catalog entry (overrides aside) that prices `model` at `provider`, with its source.
    pub fn entry(&self, provider: &str, model: &str) -> Option<&CatalogEntry> {
        self.index.find(provider, model).map(|i| &self.entries[i])
    }

    /// The cost in USD of a call, or `None` when the model has no price (see [`cost`]).
    pub fn cost(&self, provider: &str, model: &str, usage: &Usage) -> Option<f64> {
        self.price(provider, model).map(|p| cost(usage, p))
    }

    /// Every entry of the catalog file, in its order.
    pub fn entries(&self) -> &[CatalogEntry] {
        &self.entries
    }
}
