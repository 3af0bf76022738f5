//! W3C trace context: parsing an incoming `traceparent`, making ids, sampling, and the
//! `traceparent` sent upstream.

use rand::Rng;

use crate::facts::push_hex;

/// The caller's span, from a valid `traceparent` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParentContext {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub sampled: bool,
}

fn parse_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Parses `traceparent: 00-<trace id>-<span id>-<flags>`; all-zero ids are invalid.
pub fn parse_traceparent(value: &str) -> Option<ParentContext> {
    let mut parts = value.trim().split('-');
    let version = parts.next()?;
    if version.len() != 2 || version == "ff" {
        return None;
    }
    let trace_id: [u8; 16] = parse_hex(parts.next()?)?;
    let span_id: [u8; 8] = parse_hex(parts.next()?)?;
    let flags: [u8; 1] = parse_hex(parts.next()?)?;
    if version == "00" && parts.next().is_some() {
        return None;
    }
    if trace_id == [0; 16] || span_id == [0; 8] {
        return None;
    }
    Some(ParentContext {
        trace_id,
        span_id,
        sampled: flags[0] & 1 == 1,
    })
}

/// Ids and the sampling decision for one request's span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpanIds {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub parent_span_id: Option<[u8; 8]>,
    pub sampled: bool,
}

impl SpanIds {
    /// New ids: a child of `parent` when given (whose sampling decision is followed), else a
    /// new trace sampled with probability `ratio`.
    pub fn new(parent: Option<ParentContext>, ratio: f64) -> Self {
        let mut rng = rand::rng();
        let mut span_id = [0u8; 8];
        while span_id == [0; 8] {
            rng.fill(&mut span_id);
        }
        match parent {
            Some(p) => SpanIds {
                trace_id: p.trace_id,
                span_id,
                parent_span_id: Some(p.span_id),
                sampled: p.sampled,
            },
            None => {
                let mut trace_id = [0u8; 16];
                while trace_id == [0; 16] {
                    rng.fill(&mut trace_id);
                }
                let sampled = ratio >= 1.0 || (ratio > 0.0 && rng.random::<f64>() < ratio);
                SpanIds {
                    trace_id,
                    span_id,
                    parent_span_id: None,
                    sampled,
                }
            }
        }
    }

    /// The `traceparent` for the upstream request: this span as the parent.
    pub fn traceparent(&self) -> String {
        // `00-` + 32 + `-` + 16 + `-` + 2.
        let mut s = String::with_capacity(55);
        s.push_str("00-");
        push_hex(&mut s, &self.trace_id);
        s.push('-');
        push_hex(&mut s, &self.span_id);
        s.push_str(if self.sampled { "-01" } else { "-00" });
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::hex;

    #[test]
    fn parses_and_continues_a_trace() {
        let p =
            parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").unwrap();
        assert!(p.sampled);
        let ids = SpanIds::new(Some(p), 0.0);
        assert_eq!(hex(&ids.trace_id), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(ids.parent_span_id, Some(p.span_id));
        assert!(ids.sampled, "parent-based: the caller sampled");
        let tp = ids.traceparent();
        assert!(tp.starts_with("00-0af7651916cd43dd8448eb211c80319c-"));
        assert!(tp.ends_with("-01"));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01",
        ] {
            assert!(parse_traceparent(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn ratio_zero_and_one() {
        assert!(SpanIds::new(None, 1.0).sampled);
        assert!(!SpanIds::new(None, 0.0).sampled);
    }
}
