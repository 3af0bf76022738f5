//! `config.pricing`: price overrides on top of the built-in catalog, checked at load and built
//! into one [`Catalog`] per config generation.

use std::collections::HashSet;

use sluice_providers::pricing::{Catalog, Price, PriceEntry, Rates};
use sluice_providers::ProviderKind;

use super::raw::RawPrice;
use super::ConfigError;

/// The built-in catalog with `raw`'s overrides; problems go to `errors` with their path.
pub(super) fn catalog(raw: &[RawPrice], errors: &mut Vec<ConfigError>) -> Catalog {
    let mut entries = Vec::with_capacity(raw.len());
    let mut seen = HashSet::new();
    for (i, p) in raw.iter().enumerate() {
        let path = format!("config.pricing[{i}]");
        let before = errors.len();
        if ProviderKind::from_name(&p.provider).is_none() {
            errors.push(ConfigError::new(
                format!("{path}.provider"),
                format!(
                    "unknown provider \"{}\"; expected one of {}",
                    p.provider,
                    ProviderKind::NAMES.join(", ")
                ),
            ));
        }
        if p.model.trim().is_empty() {
            errors.push(ConfigError::new(
                format!("{path}.model"),
                "must name a model or a glob",
            ));
        }
        for (field, value) in [
            ("input", Some(p.input)),
            ("output", Some(p.output)),
            ("cacheRead", p.cache_read),
            ("cacheWrite5m", p.cache_write_5m),
            ("cacheWrite1h", p.cache_write_1h),
            ("reasoning", p.reasoning),
        ] {
            if let Some(v) = value.filter(|v| !v.is_finite() || *v < 0.0) {
                errors.push(ConfigError::new(
                    format!("{path}.{field}"),
                    format!("{v} is not a price: USD per million tokens, 0 or more"),
                ));
            }
        }
        if !seen.insert((p.provider.as_str(), p.model.as_str())) {
            errors.push(ConfigError::new(
                format!("{path}.model"),
                format!("{} {} is priced twice", p.provider, p.model),
            ));
        }
        if errors.len() > before {
            continue;
        }
        let entry = PriceEntry {
            provider: p.provider.clone(),
            model: p.model.clone(),
            price: Price::flat(Rates {
                input: p.input,
                output: p.output,
                cache_read: p.cache_read,
                cache_write_5m: p.cache_write_5m,
                cache_write_1h: p.cache_write_1h,
                reasoning: p.reasoning,
            }),
        };
        // The catalog's own checks (the glob's shape), one entry at a time to name it.
        match Catalog::builtin().with_overrides([entry.clone()]) {
            Ok(_) => entries.push(entry),
            Err(e) => errors.push(ConfigError::new(format!("{path}.model"), problem(&e))),
        }
    }
    match Catalog::builtin().with_overrides(entries) {
        Ok(c) => c,
        Err(e) => {
            errors.push(ConfigError::new("config.pricing", e.to_string()));
            Catalog::builtin().clone()
        }
    }
}

fn problem(e: &sluice_providers::pricing::CatalogError) -> String {
    match e {
        sluice_providers::pricing::CatalogError::Invalid { problem, .. } => problem.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use sluice_providers::Usage;

    use crate::config::load_str;

    fn config(pricing: &str) -> String {
        format!(
            "config:\n  pricing: {pricing}\nlisteners:\n  - name: http\n    bind: 127.0.0.1:0\n    \
             routes: [{{name: r, match: {{pathPrefix: /}}, backend: m}}]\n\
             backends:\n  - name: m\n    provider: mock\n"
        )
    }

    fn errors(pricing: &str) -> Vec<String> {
        match load_str(&config(pricing)) {
            Ok(_) => panic!("pricing should be rejected: {pricing}"),
            Err(e) => e.0.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn overrides_win_over_the_catalog_and_add_models() {
        let c = load_str(&config(
            "[{provider: openai, model: gpt-4o-mini, input: 1, output: 2, cacheWrite: 3}, \
             {provider: openai, model: \"my-*\", input: 10, output: 20}]",
        ))
        .unwrap();
        let usage = Usage {
            input_tokens: Some(1_000_000),
            output_tokens: Some(1_000_000),
            ..Usage::default()
        };
        // 1 × 1 + 1 × 2 USD; the catalog says 0.15 + 0.60.
        assert_eq!(c.pricing.cost("openai", "gpt-4o-mini", &usage), Some(3.0));
        assert_eq!(c.pricing.cost("openai", "my-model", &usage), Some(30.0));
        // `cacheWrite` is the contract's spelling of `cacheWrite5m`.
        let rates = c.pricing.price("openai", "gpt-4o-mini").unwrap().rates;
        assert_eq!(rates.cache_write_5m, Some(3.0));
        // A rate for reasoning tokens: 1 × 1 + 0.5 × 2 + 0.5 × 8 USD.
        let c = load_str(&config(
            "[{provider: openai, model: gpt-5, input: 1, output: 2, reasoning: 8}]",
        ))
        .unwrap();
        let thinking = Usage {
            reasoning_tokens: Some(500_000),
            ..usage
        };
        assert_eq!(c.pricing.cost("openai", "gpt-5", &thinking), Some(6.0));
        let e = errors("[{provider: openai, model: x, input: 1, output: 1, reasoning: -1}]");
        assert!(
            e[0].starts_with("config.pricing[0].reasoning: -1 is not a price"),
            "{e:?}"
        );
        // Untouched entries keep the catalog's price.
        assert!(c.pricing.price("anthropic", "claude-sonnet-4-5").is_some());
        assert_eq!(c.pricing.price("openai", "unknown-model"), None);
    }

    #[test]
    fn bad_overrides_name_their_path() {
        let e = errors("[{provider: opnai, model: x, input: 1, output: 1}]");
        assert!(
            e[0].starts_with("config.pricing[0].provider: unknown provider \"opnai\""),
            "{e:?}"
        );
        let e = errors(
            "[{provider: openai, model: x, input: 1, output: 1}, \
             {provider: openai, model: y, input: 1, output: -2}]",
        );
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("config.pricing[1].output: -2 is not a price"),
            "{e:?}"
        );
        let e = errors(
            "[{provider: openai, model: x, input: 1, output: 1}, \
             {provider: openai, model: x, input: 2, output: 2}]",
        );
        assert_eq!(e, ["config.pricing[1].model: openai x is priced twice"]);
        let e = errors("[{provider: openai, model: x, input: 1, output: 1, cacheWrite2h: 1}]");
        assert!(e[0].starts_with("config.pricing[0]"), "{e:?}");
        assert!(e[0].contains("cacheWrite2h"), "{e:?}");
    }
}
