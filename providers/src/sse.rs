//! An incremental Server-Sent Events parser: fed arbitrary chunks (lines split anywhere),
//! it calls back once per complete event. Synchronous and allocation-light, so it lives in the
//! per-request stream state with no task per stream (the SSE crates on crates.io are built
//! around async `Stream`s). Buffered bytes are capped by [`MAX_LINE`].

use crate::TranslateError;

/// The most bytes one event may buffer (an incomplete line plus the data gathered so far).
pub const MAX_LINE: usize = 4 * 1024 * 1024;

/// One event: its `event:` name, if any, and its `data:` lines joined with `\n`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

impl SseEvent {
    /// Writes the event back out in SSE form.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        if let Some(name) = &self.event {
            out.extend_from_slice(b"event: ");
            out.extend_from_slice(name.as_bytes());
            out.push(b'\n');
        }
        for line in self.data.split('\n') {
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
    }
}

#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    event: SseEvent,
    has_data: bool,
}

impl SseParser {
    /// Feeds a chunk; `on_event` is called for each event the chunk completes.
    pub fn feed<F>(&mut self, chunk: &[u8], mut on_event: F) -> Result<(), TranslateError>
    where
        F: FnMut(SseEvent) -> Result<(), TranslateError>,
    {
        let mut rest = chunk;
        while let Some(pos) = memchr::memchr(b'\n', rest) {
            let (head, tail) = rest.split_at(pos);
            rest = &tail[1..];
            let complete = if self.line.is_empty() {
                self.take_line(head, &mut on_event)?;
                continue;
            } else {
                self.line.extend_from_slice(head);
                std::mem::take(&mut self.line)
            };
            self.take_line(&complete, &mut on_event)?;
        }
        self.line.extend_from_slice(rest);
        if self.line.len() + self.event.data.len() > MAX_LINE {
            return Err(TranslateError::LineTooLong(MAX_LINE));
        }
        Ok(())
    }

    /// The input ended: an event not closed by a blank line is still delivered.
    pub fn finish<F>(&mut self, mut on_event: F) -> Result<(), TranslateError>
    where
        F: FnMut(SseEvent) -> Result<(), TranslateError>,
    {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.take_line(&line, &mut on_event)?;
        }
        self.dispatch(&mut on_event)
    }

    fn take_line<F>(&mut self, line: &[u8], on_event: &mut F) -> Result<(), TranslateError>
    where
        F: FnMut(SseEvent) -> Result<(), TranslateError>,
    {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return self.dispatch(on_event);
        }
        if line[0] == b':' {
            return Ok(()); // a comment (keep-alive)
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        // Valid UTF-8 (the norm) is borrowed after the fast check; only broken bytes are
        // replaced, in a copy.
        let value = match std::str::from_utf8(value) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(value),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.event.data.push('\n');
                }
                self.event.data.push_str(&value);
                self.has_data = true;
                if self.event.data.len() > MAX_LINE {
                    return Err(TranslateError::LineTooLong(MAX_LINE));
                }
            }
            b"event" => self.event.event = Some(value.into_owned()),
            _ => {} // id, retry and unknown fields carry nothing we translate
        }
        Ok(())
    }

    fn dispatch<F>(&mut self, on_event: &mut F) -> Result<(), TranslateError>
    where
        F: FnMut(SseEvent) -> Result<(), TranslateError>,
    {
        if !self.has_data && self.event.event.is_none() {
            return Ok(());
        }
        let event = std::mem::take(&mut self.event);
        self.has_data = false;
        on_event(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_split(input: &[u8], split: usize) -> Vec<SseEvent> {
        let mut p = SseParser::default();
        let mut events = Vec::new();
        for chunk in input.chunks(split.max(1)) {
            p.feed(chunk, |e| {
                events.push(e);
                Ok(())
            })
            .unwrap();
        }
        p.finish(|e| {
            events.push(e);
            Ok(())
        })
        .unwrap();
        events
    }

    #[test]
    fn events_survive_any_split() {
        let input = b"event: a\r\ndata: {\"x\":1}\r\n\r\n: keepalive\n\ndata: one\ndata: two\n\ndata: [DONE]\n\n";
        let whole = parse_split(input, input.len());
        assert_eq!(
            whole,
            vec![
                SseEvent {
                    event: Some("a".into()),
                    data: "{\"x\":1}".into()
                },
                SseEvent {
                    event: None,
                    data: "one\ntwo".into()
                },
                SseEvent {
                    event: None,
                    data: "[DONE]".into()
                },
            ]
        );
        for split in 1..input.len() {
            assert_eq!(parse_split(input, split), whole, "split at {split}");
        }
    }

    #[test]
    fn unterminated_last_event_is_delivered() {
        assert_eq!(
            parse_split(b"data: tail", 3),
            vec![SseEvent {
                event: None,
                data: "tail".into()
            }]
        );
    }

    #[test]
    fn an_endless_line_is_refused() {
        let mut p = SseParser::default();
        let big = vec![b'x'; MAX_LINE + 1];
        assert_eq!(
            p.feed(&big, |_| Ok(())),
            Err(TranslateError::LineTooLong(MAX_LINE))
        );
    }
}
