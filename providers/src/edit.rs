//! Edits to the top level of a JSON object body, for native pass-through: the client's body
//! is read as its top-level keys, each with its value's raw text, and written back with some
//! keys set or removed. Nested values are never parsed, so what the client wrote inside them
//! (`cache_control`, thinking signatures, fields sluice does not know) reaches the provider
//! byte for byte. Whitespace between top-level members is not kept.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::TranslateError;

/// A JSON object's members as written: key (unescaped) and raw value, in order.
pub struct TopLevel<'a> {
    members: Vec<(Cow<'a, str>, Cow<'a, RawValue>)>,
    edited: bool,
}

impl<'a> TopLevel<'a> {
    /// Reads `body` (a JSON object); the error says why it is not one, for a 400.
    pub fn parse(body: &'a [u8]) -> Result<Self, TranslateError> {
        let members: Members<'a> =
            crate::json::from_body(body).map_err(TranslateError::InvalidRequest)?;
        Ok(TopLevel {
            members: members.0,
            edited: false,
        })
    }

    /// The raw value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&RawValue> {
        self.members
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_ref())
    }

    /// Sets `key` to the JSON `value` (replacing it in place, or appending it).
    pub fn set(&mut self, key: &'a str, value: &impl serde::Serialize) {
        let Ok(raw) = serde_json::value::to_raw_value(value) else {
            return;
        };
        self.edited = true;
        match self.members.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = Cow::Owned(raw),
            None => self.members.push((Cow::Borrowed(key), Cow::Owned(raw))),
        }
    }

    /// Sets `key` unless the body already has it.
    pub fn set_default(&mut self, key: &'a str, value: &impl serde::Serialize) {
        if self.get(key).is_none() {
            self.set(key, value);
        }
    }

    /// Removes `key`; true when it was there.
    pub fn remove(&mut self, key: &str) -> bool {
        let before = self.members.len();
        self.members.retain(|(k, _)| k != key);
        let removed = self.members.len() != before;
        self.edited |= removed;
        removed
    }

    /// Whether any edit was made (when none was, the original body can go as it came).
    pub fn is_edited(&self) -> bool {
        self.edited
    }

    /// The object written back: `{"key":raw,...}`.
    pub fn to_vec(&self) -> Vec<u8> {
        let len: usize = self
            .members
            .iter()
            .map(|(k, v)| k.len() + v.get().len() + 4)
            .sum();
        let mut out = Vec::with_capacity(len + 2);
        out.push(b'{');
        for (i, (k, v)) in self.members.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            // Writing a string to a Vec cannot fail.
            let _ = serde_json::to_writer(&mut out, k.as_ref());
            out.push(b':');
            out.extend_from_slice(v.get().as_bytes());
        }
        out.push(b'}');
        out
    }
}

/// The body after edits: `original` itself when nothing changed.
pub fn finish(top: &TopLevel<'_>, original: &[u8]) -> Vec<u8> {
    if top.is_edited() {
        top.to_vec()
    } else {
        original.to_vec()
    }
}

struct Members<'a>(Vec<(Cow<'a, str>, Cow<'a, RawValue>)>);

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Members<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'a>, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    let value: &'de RawValue = map.next_value()?;
                    out.push((key, Cow::Borrowed(value)));
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn untouched_members_keep_their_bytes_and_order() {
        let body = br#"{"model":"a","messages":[{"role":"user","content":"caf\u00e9  x"}], "x":{"b":1.50}}"#;
        let mut top = TopLevel::parse(body).unwrap();
        assert!(!top.is_edited());
        assert_eq!(finish(&top, body), body.to_vec());
        top.set("model", &"b");
        top.remove("x");
        top.set("anthropic_version", &"v");
        let out = String::from_utf8(top.to_vec()).unwrap();
        assert_eq!(
            out,
            r#"{"model":"b","messages":[{"role":"user","content":"caf\u00e9  x"}],"anthropic_version":"v"}"#
        );
    }

    #[test]
    fn escaped_keys_are_written_back_escaped_and_non_objects_refused() {
        let body = br#"{"a\"b":1}"#;
        let top = TopLevel::parse(body).unwrap();
        let v: Value = serde_json::from_slice(&top.to_vec()).unwrap();
        assert_eq!(v, json!({"a\"b": 1}));
        assert!(TopLevel::parse(b"[1]").is_err());
        assert!(TopLevel::parse(b"{\"a\":").is_err());
    }
}
