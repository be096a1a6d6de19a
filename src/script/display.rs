//! How a value prints: strings raw, `()` as nothing, others as Rhai shows them.

use rhai::{Dynamic, ImmutableString};

/// How the runtime's own values print (a task handle): set by the runtime, which this
/// module does not import. Rhai would show their Rust type path.
static RUNTIME_VALUES: std::sync::OnceLock<fn(&Dynamic) -> Option<String>> =
    std::sync::OnceLock::new();

/// Let the runtime say how its values print (`None`: not one of its values).
pub(crate) fn show_runtime_values(f: fn(&Dynamic) -> Option<String>) {
    let _ = RUNTIME_VALUES.set(f);
}

/// The display form of a value: strings raw, others as Rhai shows them (a channel and the
/// runtime's values as what they are, not as a Rust type).
pub fn display(v: &Dynamic) -> String {
    if let Some(s) = v.read_lock::<ImmutableString>() {
        return s.to_string();
    }
    if v.is_unit() {
        return String::new();
    }
    // (Numbers, maps and arrays skip the type checks below: printing them is a hot path.)
    if v.is_variant() {
        if let Some(c) = v.read_lock::<super::channel::FlowChannel>() {
            return format!("channel({})", c.capacity());
        }
        if let Some(s) = RUNTIME_VALUES.get().and_then(|f| f(v)) {
            return s;
        }
    }
    v.to_string()
}
