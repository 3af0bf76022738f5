//! Formats the per-request log line: the seed's text form or a flat JSON object.

use std::io::Write;
use std::time::SystemTime;

use crate::{Attr, AttrValue};

/// `info request k=v k=v ...`, values quoted only when they need it.
pub fn format_text(attrs: &[Attr<'_>], out: &mut Vec<u8>) {
    out.extend_from_slice(b"info request");
    for (k, v) in attrs {
        out.push(b' ');
        out.extend_from_slice(k.as_bytes());
        out.push(b'=');
        match v {
            AttrValue::Str(s) => write_text_value(s, out),
            AttrValue::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
            AttrValue::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            other => {
                let _ = write!(out, "{other}");
            }
        }
    }
    out.push(b'\n');
}

/// Bytes that make a text value need quotes: space, `"`, `=`, backslash and ASCII controls.
const NEEDS_QUOTES: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = b < 0x20
            || b == 0x7f
            || b == b' ' as usize
            || b == b'"' as usize
            || b == b'=' as usize
            || b == b'\\' as usize;
        b += 1;
    }
    t
};

fn write_text_value(s: &str, out: &mut Vec<u8>) {
    let needs_quotes = s.bytes().any(|b| NEEDS_QUOTES[usize::from(b)]);
    if !needs_quotes {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// `{"time":..., "level":"info", "msg":"request", k: v, ...}` on one line.
pub fn format_json(time: SystemTime, attrs: &[Attr<'_>], out: &mut Vec<u8>) {
    let mut map = serde_json::Map::with_capacity(attrs.len() + 3);
    map.insert(
        "time".to_string(),
        humantime::format_rfc3339_micros(time).to_string().into(),
    );
    map.insert("level".to_string(), "info".into());
    map.insert("msg".to_string(), "request".into());
    for (k, v) in attrs {
        let value = match v {
            AttrValue::Str(s) => serde_json::Value::from(s.as_ref()),
            AttrValue::Int(i) => (*i).into(),
            AttrValue::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            AttrValue::Bool(b) => (*b).into(),
            AttrValue::StrList(items) => items.clone().into(),
        };
        map.insert(k.to_string(), value);
    }
    let _ = serde_json::to_writer(&mut *out, &map);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quoting_table_matches_its_rule() {
        for b in 0..=255u8 {
            let rule = b == b' ' || b == b'"' || b == b'=' || b == b'\\' || b.is_ascii_control();
            assert_eq!(NEEDS_QUOTES[usize::from(b)], rule, "{b}");
        }
    }

    #[test]
    fn text_line_quotes_only_when_needed() {
        let attrs = vec![
            ("gateway".into(), AttrValue::from("sluice")),
            ("llm.request.model".into(), AttrValue::from("")),
            ("http.status".into(), AttrValue::Int(200)),
            ("error".into(), AttrValue::from("no route for \"/x\"")),
        ];
        let mut out = Vec::new();
        format_text(&attrs, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "info request gateway=sluice llm.request.model= http.status=200 error=\"no route for \\\"/x\\\"\"\n"
        );
    }

    #[test]
    fn json_line_keeps_types() {
        let attrs = vec![
            ("http.status".into(), AttrValue::Int(200)),
            ("x".into(), AttrValue::Float(0.2)),
        ];
        let mut out = Vec::new();
        format_json(SystemTime::UNIX_EPOCH, &attrs, &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["http.status"], 200);
        assert_eq!(v["x"], 0.2);
        assert_eq!(v["level"], "info");
        assert_eq!(v["time"], "1970-01-01T00:00:00.000000Z");
    }
}
