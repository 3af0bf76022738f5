//! The JSON-array framing of Gemini's `streamGenerateContent` without `?alt=sse`: one array
//! written as the responses come, `[{...}` then `,\r\n{...}` per response and `]` at the end,
//! which Google's clients read incrementally.

/// Writes stream elements as one JSON array.
#[derive(Debug, Default)]
pub struct ArrayFraming {
    started: bool,
    ended: bool,
}

impl ArrayFraming {
    /// One element (a JSON value's text).
    pub fn element(&mut self, json: &[u8], out: &mut Vec<u8>) {
        if self.ended || json.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        out.extend_from_slice(if self.started { b",\r\n" } else { b"[" });
        self.started = true;
        out.extend_from_slice(json);
    }

    /// The end of the array (an empty array when no element came).
    pub fn end(&mut self, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        if !self.started {
            out.push(b'[');
        }
        out.push(b']');
        self.ended = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_make_one_array() {
        let mut f = ArrayFraming::default();
        let mut out = Vec::new();
        f.element(br#"{"a":1}"#, &mut out);
        f.element(b"  ", &mut out);
        f.element(br#"{"b":2}"#, &mut out);
        f.end(&mut out);
        f.end(&mut out);
        assert_eq!(out, b"[{\"a\":1},\r\n{\"b\":2}]");
        let mut empty = Vec::new();
        ArrayFraming::default().end(&mut empty);
        assert_eq!(empty, b"[]");
    }
}
