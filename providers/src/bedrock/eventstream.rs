//! The `application/vnd.amazon.eventstream` binary framing that Bedrock's `ConverseStream`
//! answers in: a sequence of messages, each
//!
//! ```text
//! total length u32 BE | headers length u32 BE | prelude CRC32 (of the 8 bytes before)
//! headers (headers length bytes) | payload | message CRC32 (of everything before it)
//! ```
//!
//! and each header `name length u8 | name | value type u8 | value` (types 0-9: true, false,
//! byte, short, int, long, bytes and string with a u16 length, timestamp, uuid).
//!
//! Parsed here (with `crc32fast`, already in the tree) rather than with
//! `aws-smithy-eventstream`: that crate's decoder is fine, but it brings `aws-smithy-types`
//! (with `base64-simd`, `bytes-utils`, `num-integer`, `time`, `http-body`...) and a newer MSRV
//! into this crate, which is otherwise only serde, for about a hundred lines of parsing.
//!
//! The decoder is incremental: bytes may arrive split anywhere, and only one message (at most
//! [`MAX_MESSAGE`] bytes, checked from its prelude before it is buffered) is held.

use crate::TranslateError;

/// The largest message accepted; a prelude announcing more is an error.
pub const MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// Prelude (12 bytes) plus message CRC (4 bytes).
const MIN_MESSAGE: usize = 16;

/// One decoded message: its string headers (other header types are skipped) and its payload.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    pub headers: Vec<(String, String)>,
    pub payload: Vec<u8>,
}

impl Message {
    /// The value of the string header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Incremental decoder of an event stream.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    /// Adds `chunk` and hands every message it completes to `on_message`, in order.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        mut on_message: impl FnMut(Message) -> Result<(), TranslateError>,
    ) -> Result<(), TranslateError> {
        let mut rest = chunk;
        while !rest.is_empty() {
            // Take only up to the end of the current message, so the buffer never holds more
            // than one (and its size is checked before it is filled).
            let want = match self.needed()? {
                Some(total) => total - self.buf.len(),
                None => 12 - self.buf.len(),
            };
            let n = want.min(rest.len());
            self.buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if let Some(total) = self.needed()? {
                if self.buf.len() == total {
                    let message = decode_message(&self.buf)?;
                    self.buf.clear();
                    on_message(message)?;
                }
            }
        }
        Ok(())
    }

    /// The stream ended: an incomplete message left over is an error.
    pub fn finish(&mut self) -> Result<(), TranslateError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            let n = self.buf.len();
            self.buf.clear();
            Err(TranslateError::InvalidResponse(format!(
                "event stream ended inside a message ({n} bytes left)"
            )))
        }
    }

    /// The total length of the buffered message, once its prelude is complete and valid.
    fn needed(&self) -> Result<Option<usize>, TranslateError> {
        let Some(prelude) = self.buf.get(..12) else {
            return Ok(None);
        };
        let total = read_u32(prelude, 0) as usize;
        let headers = read_u32(prelude, 4) as usize;
        if crc32fast::hash(&prelude[..8]) != read_u32(prelude, 8) {
            return Err(invalid("prelude checksum mismatch"));
        }
        if total > MAX_MESSAGE {
            return Err(TranslateError::LineTooLong(MAX_MESSAGE));
        }
        if total < MIN_MESSAGE || headers > total - MIN_MESSAGE {
            return Err(invalid("bad message lengths"));
        }
        Ok(Some(total))
    }
}

fn invalid(what: &str) -> TranslateError {
    TranslateError::InvalidResponse(format!("event stream: {what}"))
}

fn read_u32(b: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    if let Some(src) = b.get(at..at + 4) {
        word.copy_from_slice(src);
    }
    u32::from_be_bytes(word)
}

/// Decodes one whole message (lengths already checked by [`Decoder::needed`]).
fn decode_message(msg: &[u8]) -> Result<Message, TranslateError> {
    let total = msg.len();
    let headers_len = read_u32(msg, 4) as usize;
    if crc32fast::hash(&msg[..total - 4]) != read_u32(msg, total - 4) {
        return Err(invalid("message checksum mismatch"));
    }
    let headers = decode_headers(&msg[12..12 + headers_len])?;
    Ok(Message {
        headers,
        payload: msg[12 + headers_len..total - 4].to_vec(),
    })
}

fn decode_headers(mut b: &[u8]) -> Result<Vec<(String, String)>, TranslateError> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let name_len = take(&mut b, 1)?[0] as usize;
        let name = String::from_utf8(take(&mut b, name_len)?)
            .map_err(|_| invalid("header name is not UTF-8"))?;
        let kind = take(&mut b, 1)?[0];
        let fixed = match kind {
            0 | 1 => 0,
            2 => 1,
            3 => 2,
            4 => 4,
            5 | 8 => 8,
            9 => 16,
            6 | 7 => {
                let len = take(&mut b, 2)?;
                let len = u16::from_be_bytes([len[0], len[1]]) as usize;
                let value = take(&mut b, len)?;
                if kind == 7 {
                    let value =
                        String::from_utf8(value).map_err(|_| invalid("header is not UTF-8"))?;
                    out.push((name, value));
                }
                continue;
            }
            other => return Err(invalid(&format!("unknown header type {other}"))),
        };
        take(&mut b, fixed)?;
    }
    Ok(out)
}

/// The first `n` bytes of `b`, advancing it.
fn take(b: &mut &[u8], n: usize) -> Result<Vec<u8>, TranslateError> {
    if b.len() < n {
        return Err(invalid("truncated header"));
    }
    let (head, tail) = b.split_at(n);
    *b = tail;
    Ok(head.to_vec())
}

/// Encodes one message with string headers: for tests and mock upstreams.
pub fn encode_message(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut head = Vec::new();
    for (name, value) in headers {
        let name = &name.as_bytes()[..name.len().min(255)];
        let value = &value.as_bytes()[..value.len().min(u16::MAX as usize)];
        head.push(name.len() as u8);
        head.extend_from_slice(name);
        head.push(7);
        head.extend_from_slice(&(value.len() as u16).to_be_bytes());
        head.extend_from_slice(value);
    }
    let total = MIN_MESSAGE + head.len() + payload.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(head.len() as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// An `event` message of type `event_type` with a JSON payload, as Bedrock sends them.
pub fn encode_event(event_type: &str, payload: &[u8]) -> Vec<u8> {
    encode_message(
        &[
            (":event-type", event_type),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload,
    )
}

/// An `exception` message of type `exception_type` with a JSON payload.
pub fn encode_exception(exception_type: &str, payload: &[u8]) -> Vec<u8> {
    encode_message(
        &[
            (":exception-type", exception_type),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        payload,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8], size: usize) -> Result<Vec<Message>, TranslateError> {
        let mut d = Decoder::default();
        let mut out = Vec::new();
        for chunk in bytes.chunks(size.max(1)) {
            d.feed(chunk, |m| {
                out.push(m);
                Ok(())
            })?;
        }
        d.finish()?;
        Ok(out)
    }

    #[test]
    fn round_trips_at_every_split() {
        let mut bytes = encode_event("messageStart", br#"{"role":"assistant"}"#);
        bytes.extend(encode_exception(
            "throttlingException",
            br#"{"message":"slow"}"#,
        ));
        bytes.extend(encode_message(&[], b""));
        for size in 1..=bytes.len() {
            let got = decode_all(&bytes, size).unwrap();
            assert_eq!(got.len(), 3);
            assert_eq!(got[0].header(":event-type"), Some("messageStart"));
            assert_eq!(got[0].header(":message-type"), Some("event"));
            assert_eq!(got[0].payload, br#"{"role":"assistant"}"#);
            assert_eq!(
                got[1].header(":exception-type"),
                Some("throttlingException")
            );
            assert_eq!(got[2], Message::default());
        }
    }

    /// A message from the AWS event stream test vectors (`all_headers`): every header type.
    #[test]
    fn skips_non_string_headers() {
        let mut head = Vec::new();
        let mut push = |name: &str, kind: u8, value: &[u8]| {
            head.push(name.len() as u8);
            head.extend_from_slice(name.as_bytes());
            head.push(kind);
            head.extend_from_slice(value);
        };
        push("t", 0, b"");
        push("f", 1, b"");
        push("b", 2, &[7]);
        push("s", 3, &[0, 7]);
        push("i", 4, &[0, 0, 0, 7]);
        push("l", 5, &[0; 8]);
        push("by", 6, &[0, 2, 1, 2]);
        push("str", 7, &[0, 2, b'o', b'k']);
        push("ts", 8, &[0; 8]);
        push("u", 9, &[0; 16]);
        let total = (16 + head.len() + 2) as u32;
        let mut msg = total.to_be_bytes().to_vec();
        msg.extend_from_slice(&(head.len() as u32).to_be_bytes());
        let crc = crc32fast::hash(&msg);
        msg.extend_from_slice(&crc.to_be_bytes());
        msg.extend_from_slice(&head);
        msg.extend_from_slice(b"{}");
        let crc = crc32fast::hash(&msg);
        msg.extend_from_slice(&crc.to_be_bytes());
        let got = decode_all(&msg, 5).unwrap();
        assert_eq!(got[0].headers, vec![("str".to_string(), "ok".to_string())]);
        assert_eq!(got[0].payload, b"{}");
    }

    #[test]
    fn corruption_is_an_error() {
        let good = encode_event("messageStop", br#"{"stopReason":"end_turn"}"#);
        for at in 0..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0x20;
            assert!(decode_all(&bad, 7).is_err(), "flipped byte {at}");
        }
        assert!(matches!(
            decode_all(&good[..good.len() - 1], 3),
            Err(TranslateError::InvalidResponse(_))
        ));
    }

    #[test]
    fn oversized_message_is_refused_before_buffering() {
        let mut prelude = ((MAX_MESSAGE + 1) as u32).to_be_bytes().to_vec();
        prelude.extend_from_slice(&0u32.to_be_bytes());
        let crc = crc32fast::hash(&prelude);
        prelude.extend_from_slice(&crc.to_be_bytes());
        let mut d = Decoder::default();
        assert_eq!(
            d.feed(&prelude, |_| Ok(())),
            Err(TranslateError::LineTooLong(MAX_MESSAGE))
        );
    }
}
