//! Model-id patterns of the price catalog: an exact id, or a glob where `*` matches any run
//! of characters (none too). Nothing else is special, so ids with `.`, `:` or `@` are written
//! as they are (`us.anthropic.claude-sonnet-4-5-*`, `claude-opus-4@*`).

/// Whether `pattern` holds a `*`.
pub(super) fn is_glob(pattern: &str) -> bool {
    pattern.contains('*')
}

/// How specific a glob is: its literal characters. Of two globs matching an id, the one with
/// more wins (`claude-sonnet-5-5*` over `claude-sonnet-5*`).
pub(super) fn specificity(pattern: &str) -> usize {
    pattern.chars().filter(|&c| c != '*').count()
}

/// Whether `name` matches `pattern` (exact when it holds no `*`).
pub fn matches(pattern: &str, name: &str) -> bool {
    let Some((head, tail)) = pattern.split_once('*') else {
        return pattern == name;
    };
    let Some(rest) = name.strip_prefix(head) else {
        return false;
    };
    let (middle, last) = tail.rsplit_once('*').unwrap_or(("", tail));
    // Stripping the suffix from what is left after the prefix keeps the two from overlapping.
    let Some(mut rest) = rest.strip_suffix(last) else {
        return false;
    };
    // With `*` as the only wildcard, taking each middle piece at its first place is enough.
    for piece in middle.split('*').filter(|p| !p.is_empty()) {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_patterns_match_only_themselves() {
        assert!(matches("gpt-4o", "gpt-4o"));
        assert!(!matches("gpt-4o", "gpt-4o-mini"));
        assert!(!matches("gpt-4o", "gpt-4"));
    }

    #[test]
    fn trailing_star_matches_dated_snapshots() {
        assert!(matches("gpt-5-20*", "gpt-5-2025-08-07"));
        assert!(!matches("gpt-5-20*", "gpt-5-mini-2025-08-07"));
        assert!(matches("claude-sonnet-4-5*", "claude-sonnet-4-5"));
        assert!(matches("claude-opus-4@*", "claude-opus-4@20250514"));
        assert!(!matches("claude-opus-4@*", "claude-opus-4-1@20250805"));
    }

    #[test]
    fn stars_anywhere() {
        assert!(matches(
            "*.anthropic.claude-haiku-4-5-*",
            "eu.anthropic.claude-haiku-4-5-20251001-v1:0"
        ));
        assert!(matches("a*b*c", "abc"));
        assert!(matches("a*b*c", "a-x-b-y-c"));
        assert!(!matches("a*b*c", "a-x-c-y-b"));
        // The prefix and suffix may not share characters.
        assert!(!matches("ab*ba", "aba"));
        assert!(matches("*", ""));
    }

    #[test]
    fn specificity_counts_literal_characters() {
        assert_eq!(specificity("claude-sonnet-5*"), 15);
        assert_eq!(specificity("claude-sonnet-5-5*"), 17);
        assert!(is_glob("x*") && !is_glob("x"));
    }
}
