//! A parser for the gateway's text request log line (logfmt-like):
//!
//! ```text
//! info request gateway=sluice listener=http ... llm.request.model= duration=3165ms
//! ```
//!
//! The first word is the level, the words before the first `key=value` are the message, and
//! every `key=value` after that is kept in order. Values may be empty, or double-quoted with
//! `\"`, `\\`, `\n`, `\t` and `\r` escapes.

/// One parsed log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub level: String,
    pub message: String,
    /// `key=value` pairs, in the order written.
    pub fields: Vec<(String, String)>,
}

impl LogLine {
    /// The value of the first field with this key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The field parsed as an integer.
    pub fn get_int(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(|v| v.parse().ok())
    }

    /// True when the key is present (even with an empty value).
    pub fn has(&self, key: &str) -> bool {
        self.fields.iter().any(|(k, _)| k == key)
    }

    /// Every key, in the order written.
    pub fn keys(&self) -> Vec<&str> {
        self.fields.iter().map(|(k, _)| k.as_str()).collect()
    }

    /// True for the per-request line (`message == "request"`).
    pub fn is_request(&self) -> bool {
        self.message == "request"
    }

    /// `duration=3165ms` (also `s`, `us`/`µs`, `ns`) as a `Duration`.
    pub fn duration(&self, key: &str) -> Option<std::time::Duration> {
        parse_duration(self.get(key)?)
    }
}

const LEVELS: &[&str] = &[
    "trace", "debug", "info", "warn", "warning", "error", "fatal",
];

/// Parses one text log line; `None` if it is not `<level> <message> [key=value ...]`
/// (e.g. a JSON line, a blank line, or a line not starting with a known level).
pub fn parse_log_line(line: &str) -> Option<LogLine> {
    let tokens = tokenize(line.trim_end_matches(['\r', '\n']))?;
    let mut it = tokens.into_iter();
    let level = it.next()?;
    if level.1.is_some() || !LEVELS.contains(&level.0.to_ascii_lowercase().as_str()) {
        return None;
    }
    let mut message = Vec::new();
    let mut fields = Vec::new();
    for (key, value) in it {
        match value {
            None if fields.is_empty() => message.push(key),
            None => fields.push((key, String::new())),
            Some(v) => fields.push((key, v)),
        }
    }
    if message.is_empty() {
        return None;
    }
    Some(LogLine {
        level: level.0,
        message: message.join(" "),
        fields,
    })
}

/// Splits into (word or key, value-if-`=`) tokens. `None` on an unterminated quote.
fn tokenize(line: &str) -> Option<Vec<(String, Option<String>)>> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Some(out);
        }
        let mut key = String::new();
        let mut value = None;
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            if c == '=' {
                value = Some(read_value(&mut chars)?);
                break;
            }
            key.push(c);
        }
        out.push((key, value));
    }
}

fn read_value(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<String> {
    let mut v = String::new();
    if chars.peek() == Some(&'"') {
        chars.next();
        loop {
            match chars.next()? {
                '"' => return Some(v),
                '\\' => match chars.next()? {
                    'n' => v.push('\n'),
                    't' => v.push('\t'),
                    'r' => v.push('\r'),
                    other => v.push(other),
                },
                c => v.push(c),
            }
        }
    }
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            break;
        }
        v.push(c);
        chars.next();
    }
    Some(v)
}

/// Parses `3165ms`, `1.5s`, `20us`, `20µs`, `100ns`.
pub fn parse_duration(s: &str) -> Option<std::time::Duration> {
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "ms" => n / 1e3,
        "us" | "µs" => n / 1e6,
        "ns" => n / 1e9,
        _ => return None,
    };
    Some(std::time::Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_and_empty_values() {
        let l = parse_log_line(r#"warn request a= b="x \"y\" z" c=1"#).unwrap();
        assert_eq!(l.level, "warn");
        assert_eq!(l.get("a"), Some(""));
        assert_eq!(l.get("b"), Some(r#"x "y" z"#));
        assert_eq!(l.get_int("c"), Some(1));
        assert!(parse_log_line(r#"{"level":"info"}"#).is_none());
        assert!(parse_log_line("info request a=\"open").is_none());
    }
}
