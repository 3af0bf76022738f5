//! A config tree as block YAML, for `sluice translate`: mappings and sequences in block
//! style, a string plain when it cannot be read as anything else and double-quoted (JSON's
//! escapes, which YAML shares) otherwise. Key order is the tree's.

use serde_json::{Map, Value};

/// Appends `value` (a mapping) to `out` as YAML.
pub(super) fn write(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) if !map.is_empty() => mapping(map, 0, false, out),
        other => {
            scalar(other, out);
            out.push('\n');
        }
    }
}

/// The entries of `map` at `indent`; with `inline_first`, the first one goes on the current
/// line (after a sequence's `- `).
fn mapping(map: &Map<String, Value>, indent: usize, inline_first: bool, out: &mut String) {
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 || !inline_first {
            pad(indent, out);
        }
        string(key, out);
        out.push(':');
        nested(value, indent, out);
    }
}

/// What follows `key:` or `-`: a scalar on the same line, or a block below.
fn nested(value: &Value, indent: usize, out: &mut String) {
    match value {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            mapping(m, indent + 2, false, out);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            sequence(items, indent + 2, out);
        }
        other => {
            out.push(' ');
            scalar(other, out);
            out.push('\n');
        }
    }
}

fn sequence(items: &[Value], indent: usize, out: &mut String) {
    for item in items {
        pad(indent, out);
        out.push('-');
        match item {
            Value::Object(m) if !m.is_empty() => {
                out.push(' ');
                mapping(m, indent + 2, true, out);
            }
            other => nested(other, indent, out),
        }
    }
}

fn pad(indent: usize, out: &mut String) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn scalar(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => string(s, out),
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
        other => out.push_str(&other.to_string()),
    }
}

fn string(s: &str, out: &mut String) {
    if plain(s) {
        out.push_str(s);
    } else {
        // A JSON string is a YAML double-quoted scalar.
        out.push_str(&Value::from(s).to_string());
    }
}

/// Whether `s` reads back as the same string unquoted: a conservative set of characters,
/// not starting with an indicator or a digit, not a YAML keyword.
fn plain(s: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "true", "false", "null", "yes", "no", "on", "off", "y", "n", "~",
    ];
    let Some(first) = s.chars().next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '/' || first == '$' || first == '_')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:$@+-".contains(c))
        && !s.ends_with(':')
        && !KEYWORDS.contains(&s.to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_block_yaml_that_reads_back_the_same() {
        let tree = serde_json::json!({
            "name": "kgateway-system/agentgateway",
            "config": {"tracing": {"randomSampling": true, "fields": {"add": {"gen_ai.operation.name": "\"chat\""}}}},
            "listeners": [{"name": "http", "bind": "0.0.0.0:8080", "routes": [
                {"name": "ns/r", "match": {"pathPrefix": "/gemini"}, "backends": ["a", "b"]}
            ]}],
            "backends": [{"name": "a", "apiKey": {"env": "X"}, "model": "", "n": 3, "off": "off", "e": []}]
        });
        let mut out = String::new();
        write(&tree, &mut out);
        assert!(
            out.contains(
                "  - name: http\n    bind: \"0.0.0.0:8080\"\n    routes:\n      - name: ns/r\n"
            ),
            "{out}"
        );
        assert!(
            out.contains("        backends:\n          - a\n          - b\n"),
            "{out}"
        );
        assert!(
            out.contains("gen_ai.operation.name: \"\\\"chat\\\"\""),
            "{out}"
        );
        let options = serde_saphyr::options! { strict_booleans: true };
        let back: Value = serde_saphyr::from_str_with_options(&out, options).unwrap();
        assert_eq!(back, tree, "{out}");
    }
}
