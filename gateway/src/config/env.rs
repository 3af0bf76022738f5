//! `$VAR` / `${VAR}` expansion in config strings, done on the parsed YAML tree so that an
//! unset variable is reported with the YAML path of the string that names it. `$$` is a
//! literal `$`. CEL expressions (`fields.add` values) are not expanded.

use serde_json::Value;

use super::ConfigError;

/// Expands every string in `value`, except under a `fields.add` map.
pub fn expand_tree(value: &mut Value, path: &mut String, errors: &mut Vec<ConfigError>) {
    match value {
        Value::String(s) if s.contains('$') => match expand(s, &|name| std::env::var(name).ok()) {
            Ok(expanded) => *s = expanded,
            Err(_) if super::is_secret_path(path) && !names_only_variables(s) => {
                // A secret with a `$` of its own: what follows it is part of the secret.
                errors.push(ConfigError::new(
                    path.clone(),
                    "names an environment variable that is not set (not shown: the value is a \
                     secret; write a literal $ as $$)",
                ))
            }
            Err(msg) => errors.push(ConfigError::new(path.clone(), msg)),
        },
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                expand_tree(item, path, errors);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            let is_fields = path.ends_with(".fields");
            for (key, item) in map.iter_mut() {
                if is_fields && key == "add" {
                    continue;
                }
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                expand_tree(item, path, errors);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Whether `input` is plainly a variable reference, not a secret that holds a `$`: the whole
/// string is `$NAME`, or every `$` of it opens a `${NAME}` (a braced name is deliberate).
fn names_only_variables(input: &str) -> bool {
    let is_name =
        |n: &str| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if let Some(name) = input.strip_prefix('$') {
        if is_name(name) {
            return true;
        }
    }
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        let after = &rest[pos + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            rest = stripped;
            continue;
        }
        let Some(braced) = after.strip_prefix('{') else {
            return false;
        };
        match braced.find('}') {
            Some(end) if is_name(&braced[..end]) => rest = &braced[end + 1..],
            _ => return false,
        }
    }
    true
}

/// Expands `$VAR`, `${VAR}` and `$$` in `input` using `lookup`.
pub fn expand(input: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
            continue;
        }
        let (name, tail) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], &braced[end + 1..]),
                None => return Err("unclosed ${ in variable reference".to_string()),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        if name.is_empty() {
            // A lone `$` is kept as it is.
            out.push('$');
            rest = after;
            continue;
        }
        match lookup(name) {
            Some(v) => out.push_str(&v),
            None => return Err(format!("environment variable {name} is not set")),
        }
        rest = tail;
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<String> {
        (name == "KEY").then(|| "secret".to_string())
    }

    #[test]
    fn expands_both_forms() {
        assert_eq!(expand("$KEY", &lookup).unwrap(), "secret");
        assert_eq!(expand("a-${KEY}-b", &lookup).unwrap(), "a-secret-b");
        assert_eq!(expand("cost $$5 $", &lookup).unwrap(), "cost $5 $");
        assert_eq!(
            expand("$NOPE", &lookup).unwrap_err(),
            "environment variable NOPE is not set"
        );
    }

    #[test]
    fn tree_errors_name_the_path_and_skip_cel() {
        let mut v = serde_json::json!({
            "backends": [{"apiKey": "$MISSING_VAR_FOR_TEST"}],
            "config": {"tracing": {"fields": {"add": {"x": "'$notenv'"}}}}
        });
        let mut errors = Vec::new();
        expand_tree(&mut v, &mut String::new(), &mut errors);
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].to_string(),
            "backends[0].apiKey: environment variable MISSING_VAR_FOR_TEST is not set"
        );
    }

    #[test]
    fn a_secret_holding_a_dollar_is_not_echoed() {
        let mut v = serde_json::json!({
            "backends": [
                {"apiKey": "sk-ab$cdSECRETPART"},
                {"apiKeys": ["x$SECRETTAIL"]},
                {"apiKey": "${MISSING_VAR_FOR_TEST}-suffix"}
            ],
            "config": {
                "store": {"url": "postgres://u:pa$sSECRET@db/sluice"},
                "tracing": {"headers": {"authorization": "Basic a$SECRETB"}},
                "name": "not-a-secret-$MISSING_VAR_FOR_TEST"
            }
        });
        let mut errors = Vec::new();
        expand_tree(&mut v, &mut String::new(), &mut errors);
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 6, "{text:?}");
        for t in &text {
            assert!(!t.contains("SECRET"), "{t}");
        }
        assert!(text[0].starts_with("backends[0].apiKey: names an environment variable"));
        assert!(text[1].starts_with("backends[1].apiKeys[0]: names an environment variable"));
        // A braced reference is deliberate: named.
        assert_eq!(
            text[2],
            "backends[2].apiKey: environment variable MISSING_VAR_FOR_TEST is not set"
        );
        assert!(text
            .iter()
            .any(|t| t.starts_with("config.store.url: names an environment variable")));
        assert!(text.iter().any(|t| t
            .starts_with("config.tracing.headers.authorization: names an environment variable")));
        assert!(text
            .iter()
            .any(|t| t == "config.name: environment variable MISSING_VAR_FOR_TEST is not set"));
    }
}
