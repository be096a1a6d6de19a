//! How a value prints: strings raw, `()` as nothing, others as Rhai shows them.

use rhai::{Dynamic, ImmutableString};

/// The display form of a value: strings raw, others as Rhai shows them.
pub fn display(v: &Dynamic) -> String {
    if let Some(s) = v.read_lock::<ImmutableString>() {
        return s.to_string();
    }
    if v.is_unit() {
        return String::new();
    }
    v.to_string()
}
