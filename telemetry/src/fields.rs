//! CEL fields (being written).
