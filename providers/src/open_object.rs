//! Deserializing JSON objects whose unknown keys are kept (in an `extra` map), without
//! `#[serde(flatten)]`. serde's flatten buffers every field of the object into its private
//! `Content` tree and deserializes it a second time; on the request path that doubled the cost
//! of parsing a chat request. [`open_object!`] writes the `Deserialize` impl a derive would,
//! reading each key once: a known key into its field, any other into `extra`.

use serde::de::{self, DeserializeSeed, Deserializer, Visitor};
use std::fmt;

/// An object key: one of the struct's known keys, or another (kept for `extra`).
pub(crate) enum Key {
    Known(&'static str),
    Other(String),
}

/// Reads a key, matched against `known` without allocating.
pub(crate) struct KeySeed(pub &'static [&'static str]);

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl KeySeed {
    fn known(&self, key: &str) -> Option<&'static str> {
        self.0.iter().find(|k| **k == key).copied()
    }
}

impl Visitor<'_> for KeySeed {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(match self.known(v) {
            Some(k) => Key::Known(k),
            None => Key::Other(v.to_string()),
        })
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Key, E> {
        Ok(match self.known(&v) {
            Some(k) => Key::Known(k),
            None => Key::Other(v),
        })
    }
}

/// `impl Deserialize` for a struct with an `extra: Map<String, Value>` field, starting from
/// `init` (default: `Default::default()`): `required` keys must be present (else serde's
/// "missing field" error), `optional` ones may be, every other key goes to `extra`. A repeated
/// key keeps its last value.
macro_rules! open_object {
    (
        $ty:ident, $expecting:literal,
        required { $($rkey:literal => $rfield:ident),* $(,)? }
        optional { $($okey:literal => $ofield:ident),* $(,)? }
    ) => {
        $crate::open_object::open_object!($ty, $expecting, init <$ty>::default(),
            required { $($rkey => $rfield),* }
            optional { $($okey => $ofield),* }
        );
    };
    (
        $ty:ident, $expecting:literal, init $init:expr,
        required { $($rkey:literal => $rfield:ident),* $(,)? }
        optional { $($okey:literal => $ofield:ident),* $(,)? }
    ) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct ObjectVisitor;
                impl<'de> serde::de::Visitor<'de> for ObjectVisitor {
                    type Value = $ty;

                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str($expecting)
                    }

                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<$ty, A::Error> {
                        use $crate::open_object::{Key, KeySeed};
                        const KNOWN: &[&str] = &[$($rkey,)* $($okey,)*];
                        let mut out: $ty = $init;
                        $(let mut $rfield = false;)*
                        while let Some(key) = map.next_key_seed(KeySeed(KNOWN))? {
                            match key {
                                $(Key::Known($rkey) => {
                                    out.$rfield = map.next_value()?;
                                    $rfield = true;
                                })*
                                $(Key::Known($okey) => out.$ofield = map.next_value()?,)*
                                Key::Known(k) => {
                                    out.extra.insert(k.to_string(), map.next_value()?);
                                }
                                Key::Other(k) => {
                                    out.extra.insert(k, map.next_value()?);
                                }
                            }
                        }
                        $(if !$rfield {
                            return Err(serde::de::Error::missing_field($rkey));
                        })*
                        Ok(out)
                    }
                }
                d.deserialize_map(ObjectVisitor)
            }
        }
    };
}

pub(crate) use open_object;

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::openai::{ChatChunk, ChatRequest, Content, Stop};

    #[test]
    fn known_keys_are_typed_and_the_rest_kept_in_order() {
        let body =
            br#"{"model":"m","user":"u1","messages":[{"role":"user","content":"hi","x-note":1}],
            "stop":"END","temperature":null,"metadata":{"k":"v"},"str\u0065am":true}"#;
        let req = ChatRequest::parse(body).unwrap();
        assert_eq!(req.model, "m");
        assert!(req.stream, "an escaped key is still a known key");
        assert_eq!(req.temperature, None);
        assert_eq!(req.stop, Some(Stop::One("END".into())));
        assert_eq!(
            req.extra.keys().collect::<Vec<_>>(),
            ["user", "metadata"],
            "unknown keys, in their order"
        );
        assert_eq!(req.messages[0].content, Some(Content::Text("hi".into())));
        assert_eq!(req.messages[0].extra["x-note"], 1);
        // Written back, nothing is lost.
        let back = serde_json::to_value(&req).unwrap();
        assert_eq!(back["user"], "u1");
        assert_eq!(back["metadata"], json!({"k": "v"}));
        assert_eq!(back["messages"][0]["x-note"], 1);
    }

    #[test]
    fn lists_and_parts_parse_like_the_derive_did() {
        let req = ChatRequest::parse(
            br#"{"messages":[{"role":"user","content":[{"type":"text","text":"a","cache":true},
                {"type":"image_url","image_url":{"url":"data:x"}}]}],"stop":["a","b"]}"#,
        )
        .unwrap();
        assert_eq!(req.stop, Some(Stop::Many(vec!["a".into(), "b".into()])));
        let Some(Content::Parts(parts)) = &req.messages[0].content else {
            panic!("parts expected");
        };
        assert_eq!(parts[0].kind, "text");
        assert_eq!(parts[0].extra["cache"], Value::Bool(true));
        assert_eq!(parts[1].image_url.as_ref().unwrap().url, "data:x");
    }

    #[test]
    fn missing_and_mistyped_fields_say_which() {
        let err = |body: &[u8]| ChatRequest::parse(body).unwrap_err().to_string();
        assert!(err(br#"{"model":"m"}"#).contains("missing field `messages`"));
        assert!(err(br#"{"messages":[{"content":"x"}]}"#).contains("missing field `role`"));
        assert!(err(br#"{"messages":[],"stream":"yes"}"#).contains("expected a boolean"));
        assert!(err(br#"{"messages":[{"role":"user","content":7}]}"#)
            .contains("expected a string or a list of content parts"));
        assert!(err(b"[1]").contains("expected a chat completions request"));
    }

    #[test]
    fn a_chunk_starts_from_its_own_defaults() {
        let chunk: ChatChunk = serde_json::from_str(
            r#"{"id":"c1","choices":[{"index":0,"delta":{"content":"Hi","refusal":null},
                "logprobs":null}],"system_fingerprint":"fp"}"#,
        )
        .unwrap();
        assert_eq!(
            chunk.object, "chat.completion.chunk",
            "absent: the init value"
        );
        assert_eq!(chunk.choices[0].delta.content.as_deref(), Some("Hi"));
        assert_eq!(chunk.extra["system_fingerprint"], "fp");
        assert!(chunk.choices[0].extra.contains_key("logprobs"));
        assert!(chunk.choices[0].delta.extra.contains_key("refusal"));
    }
}
