//! The catalog file's shape (`providers/pricing/catalog.json`), its checks at load, and the
//! index that answers "which price has this (provider, model)".

use std::collections::HashMap;

use serde::de::IgnoredAny;
use serde::Deserialize;

use super::glob;
use super::{LongContext, Price, Rates};

/// A catalog or override table that cannot be used; names where.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CatalogError {
    #[error("price catalog: {0}")]
    Json(String),
    #[error("{at}: {problem}")]
    Invalid { at: String, problem: String },
}

/// One price of the catalog file, with where it was read.
#[derive(Clone, Debug, PartialEq)]
pub struct CatalogEntry {
    /// A provider name as in [`crate::ProviderKind::name`] (`openai`, `bedrock`, ...).
    pub provider: String,
    /// Exact model ids or globs (see the `glob` module).
    pub models: Vec<String>,
    pub price: Price,
    /// When the price was read (`YYYY-MM-DD`).
    pub checked: String,
    /// The provider's pricing page.
    pub source: String,
    pub note: Option<String>,
}

/// A price the caller supplies (the gateway's `pricing` config), one model id or glob each.
#[derive(Clone, Debug, PartialEq)]
pub struct PriceEntry {
    pub provider: String,
    pub model: String,
    pub price: Price,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    /// Where the numbers came from: for readers of the file, not for sluice.
    #[allow(dead_code)]
    #[serde(default)]
    about: IgnoredAny,
    entries: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    provider: String,
    models: Vec<String>,
    input: f64,
    output: f64,
    cache_read: Option<f64>,
    #[serde(default)]
    cache_write_5m: Option<f64>,
    #[serde(default)]
    cache_write_1h: Option<f64>,
    #[serde(default)]
    reasoning: Option<f64>,
    #[serde(default)]
    long_context: Option<RawTier>,
    checked: String,
    source: String,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTier {
    above_input_tokens: u64,
    input: f64,
    output: f64,
    #[serde(default)]
    cache_read: Option<f64>,
    #[serde(default)]
    cache_write_5m: Option<f64>,
    #[serde(default)]
    cache_write_1h: Option<f64>,
    #[serde(default)]
    reasoning: Option<f64>,
}

/// The entries of a catalog file, checked.
pub(super) fn parse(text: &str) -> Result<Vec<CatalogEntry>, CatalogError> {
    let file: RawFile =
        serde_json::from_str(text).map_err(|e| CatalogError::Json(e.to_string()))?;
    let entries: Vec<CatalogEntry> = file
        .entries
        .into_iter()
        .map(|r| CatalogEntry {
            provider: r.provider,
            models: r.models,
            price: Price {
                rates: Rates {
                    input: r.input,
                    output: r.output,
                    cache_read: r.cache_read,
                    cache_write_5m: r.cache_write_5m,
                    cache_write_1h: r.cache_write_1h,
                    reasoning: r.reasoning,
                },
                long_context: r.long_context.map(|t| LongContext {
                    above_input_tokens: t.above_input_tokens,
                    rates: Rates {
                        input: t.input,
                        output: t.output,
                        cache_read: t.cache_read,
                        cache_write_5m: t.cache_write_5m,
                        cache_write_1h: t.cache_write_1h,
                        reasoning: t.reasoning,
                    },
                }),
            },
            checked: r.checked,
            source: r.source,
            note: r.note,
        })
        .collect();
    let mut seen = Seen::default();
    for (i, e) in entries.iter().enumerate() {
        let at = || format!("entries[{i}]");
        if e.models.is_empty() {
            return Err(invalid(at(), "no models"));
        }
        check_price(&e.price).map_err(|p| invalid(at(), p))?;
        for (j, model) in e.models.iter().enumerate() {
            let at = || format!("entries[{i}].models[{j}]");
            check_names(&e.provider, model).map_err(|p| invalid(at(), p))?;
            seen.insert(&e.provider, model, at())?;
        }
    }
    Ok(entries)
}

/// Checks the caller's overrides as [`parse`] checks the file; `overrides[i]` names each.
pub(super) fn check_overrides(overrides: &[PriceEntry]) -> Result<(), CatalogError> {
    let mut seen = Seen::default();
    for (i, o) in overrides.iter().enumerate() {
        let at = || format!("overrides[{i}] ({} {})", o.provider, o.model);
        check_names(&o.provider, &o.model).map_err(|p| invalid(at(), p))?;
        check_price(&o.price).map_err(|p| invalid(at(), p))?;
        seen.insert(&o.provider, &o.model, at())?;
    }
    Ok(())
}

fn invalid(at: String, problem: impl Into<String>) -> CatalogError {
    CatalogError::Invalid {
        at,
        problem: problem.into(),
    }
}

/// (provider, pattern) pairs met so far, to refuse a second price for the same pair.
#[derive(Default)]
struct Seen(HashMap<(String, String), String>);

impl Seen {
    fn insert(&mut self, provider: &str, model: &str, at: String) -> Result<(), CatalogError> {
        let key = (provider.to_owned(), model.to_owned());
        if let Some(first) = self.0.get(&key) {
            return Err(invalid(
                at,
                format!("{provider} {model} is priced twice (first at {first})"),
            ));
        }
        self.0.insert(key, at);
        Ok(())
    }
}

fn check_names(provider: &str, model: &str) -> Result<(), String> {
    if provider.is_empty() {
        return Err("empty provider".into());
    }
    if model.is_empty() || model.chars().any(char::is_whitespace) {
        return Err(format!("model pattern {model:?} is empty or has spaces"));
    }
    if model.chars().all(|c| c == '*') {
        return Err("a pattern of only `*` would price every model".into());
    }
    Ok(())
}

/// Prices are finite and not negative; a long-context tier starts above zero tokens.
fn check_price(price: &Price) -> Result<(), String> {
    check_rates(&price.rates, "")?;
    if let Some(t) = &price.long_context {
        if t.above_input_tokens == 0 {
            return Err("long_context.above_input_tokens is 0".into());
        }
        check_rates(&t.rates, "long_context.")?;
    }
    Ok(())
}

fn check_rates(r: &Rates, prefix: &str) -> Result<(), String> {
    let named = [
        ("input", Some(r.input)),
        ("output", Some(r.output)),
        ("cache_read", r.cache_read),
        ("cache_write_5m", r.cache_write_5m),
        ("cache_write_1h", r.cache_write_1h),
        ("reasoning", r.reasoning),
    ];
    for (name, value) in named {
        if let Some(v) = value {
            if !v.is_finite() || v < 0.0 {
                return Err(format!(
                    "{prefix}{name} is {v}: prices are finite and not negative"
                ));
            }
        }
    }
    Ok(())
}

/// Prices by (provider, model): exact ids in a map, globs per provider from the most specific.
#[derive(Clone, Debug, Default)]
pub(super) struct Index {
    exact: HashMap<String, HashMap<String, usize>>,
    globs: HashMap<String, Vec<(String, usize)>>,
}

impl Index {
    /// The index of `(provider, pattern, slot)` triples; `slot` is what [`Index::find`] gives back.
    pub(super) fn new<'a>(patterns: impl IntoIterator<Item = (&'a str, &'a str, usize)>) -> Self {
        let mut index = Index::default();
        for (provider, pattern, slot) in patterns {
            if glob::is_glob(pattern) {
                index
                    .globs
                    .entry(provider.to_owned())
                    .or_default()
                    .push((pattern.to_owned(), slot));
            } else {
                index
                    .exact
                    .entry(provider.to_owned())
                    .or_default()
                    .insert(pattern.to_owned(), slot);
            }
        }
        // Stable: among equally specific globs the earlier one stays first.
        for globs in index.globs.values_mut() {
            globs.sort_by_key(|(p, _)| std::cmp::Reverse(glob::specificity(p)));
        }
        index
    }

    /// The slot of the exact id, else of the most specific glob that matches.
    pub(super) fn find(&self, provider: &str, model: &str) -> Option<usize> {
        if let Some(&slot) = self.exact.get(provider).and_then(|m| m.get(model)) {
            return Some(slot);
        }
        self.globs
            .get(provider)?
            .iter()
            .find(|(pattern, _)| glob::matches(pattern, model))
            .map(|&(_, slot)| slot)
    }
}
