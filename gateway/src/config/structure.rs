//! The config tree read into its types (`raw`), every structural problem reported at once:
//! serde stops at the first unknown key or mistyped value, so each one found is recorded and
//! taken out of the tree, and the tree is read again.

use serde_json::Value;
use serde_path_to_error::Segment;

use super::{is_secret_path, raw, unquote_values, ConfigError};

/// At most this many structural problems are reported from one file.
const MAX_PROBLEMS: usize = 50;

/// The config's types, or `None` with every structural problem in `errors`. Unknown keys are
/// taken out and the rest is read (they change nothing, so what follows is checked too); after
/// any other problem (a mistyped value, a missing field) it is not, as later checks would
/// report its consequences.
pub(super) fn read(mut tree: Value, errors: &mut Vec<ConfigError>) -> Option<raw::RawConfig> {
    let mut only_unknown_keys = true;
    for _ in 0..MAX_PROBLEMS {
        let e = match serde_path_to_error::deserialize::<_, raw::RawConfig>(&tree) {
            Ok(raw) => return only_unknown_keys.then_some(raw),
            Err(e) => e,
        };
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let segments: Vec<Segment> = e.path().iter().cloned().collect();
        let mut msg = e.into_inner().to_string();
        if is_secret_path(&path) {
            // serde quotes the value it refused (`invalid type: integer `12345``).
            msg = unquote_values(&msg);
        }
        let unknown_key = msg.starts_with("unknown field");
        // A missing field has nothing to take out; an array item taken out would renumber
        // the items after it in later messages.
        let last = msg.starts_with("missing field")
            || matches!(segments.last(), Some(Segment::Seq { .. }));
        only_unknown_keys &= unknown_key;
        errors.push(ConfigError::new(path, msg));
        if last {
            return None;
        }
        if !take_out(&mut tree, &segments) {
            return None;
        }
    }
    None
}

/// Removes the value at `segments` from `tree`; false when there is none.
fn take_out(tree: &mut Value, segments: &[Segment]) -> bool {
    let Some((last, parents)) = segments.split_last() else {
        return false;
    };
    let mut node = tree;
    for s in parents {
        node = match (s, node) {
            (Segment::Map { key }, Value::Object(m)) => match m.get_mut(key) {
                Some(v) => v,
                None => return false,
            },
            (Segment::Seq { index }, Value::Array(a)) => match a.get_mut(*index) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    match (last, node) {
        (Segment::Map { key }, Value::Object(m)) => m.remove(key).is_some(),
        _ => false,
    }
}
