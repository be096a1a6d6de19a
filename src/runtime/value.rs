//! Item conversions: items ↔ lines, items ↔ JSON, ordering for `sort`, `sum`.

use crate::script::display::display;
use rhai::{Array, Dynamic, Map};
use std::cmp::Ordering;

/// A batch of items: the unit that moves through channels.
pub(crate) type Batch = Vec<Dynamic>;

/// An item as a line of text (strings raw, other values in display form).
pub(crate) fn to_line(v: &Dynamic) -> String {
    display(v)
}

/// [`to_line`] and a newline, appended to `buf`: text and integers are written as they
/// are, without a string made per item.
pub(crate) fn write_line(buf: &mut Vec<u8>, v: &Dynamic) {
    if let Some(s) = v.read_lock::<rhai::ImmutableString>() {
        buf.extend_from_slice(s.as_bytes());
    } else if let Ok(i) = v.as_int() {
        use std::io::Write;
        let _ = write!(buf, "{i}");
    } else {
        buf.extend_from_slice(display(v).as_bytes());
    }
    buf.push(b'\n');
}

/// The elements of an array or an integer range, as `for` and `from` iterate them;
/// `Err` gives the value back when it is neither.
pub(crate) fn elements(v: Dynamic) -> Result<Box<dyn Iterator<Item = Dynamic> + Send>, Dynamic> {
    if v.is_array() {
        return Ok(Box::new(v.cast::<Array>().into_iter()));
    }
    let v = match v.try_cast_result::<std::ops::Range<i64>>() {
        Ok(r) => return Ok(Box::new(r.map(Dynamic::from))),
        Err(v) => v,
    };
    match v.try_cast_result::<std::ops::RangeInclusive<i64>>() {
        Ok(r) => Ok(Box::new(r.map(Dynamic::from))),
        Err(v) => Err(v),
    }
}

/// Counts or sums per key, kept natively until they become a map: a hash table with
/// random keys (ahash), fast on short keys and not open to keys made to collide. A key is
/// the map's own key type, kept inline when short (an IP, a status, a path): no allocation
/// per key, no pointer to follow when a probe compares keys, nothing to copy into the map.
pub(crate) type KeyCounts =
    std::collections::HashMap<rhai::Identifier, rhai::INT, ahash::RandomState>;

/// Add `by` to the count of `k` (false, nothing changed, when the count would overflow).
/// One probe of the table: a key short enough to be kept inline (most keys: an IP, a
/// status, a word) is made before the lookup, which costs no allocation; a longer one is
/// looked up first and made only when new. (With a million distinct keys, a second probe
/// for each new one was a tenth of the run.)
pub(crate) fn add_count(counts: &mut KeyCounts, k: &str, by: rhai::INT) -> bool {
    /// The longest text `rhai::Identifier` (a SmartString) keeps inline on 64-bit targets.
    const INLINE: usize = 23;
    if k.len() <= INLINE {
        let n = counts.entry(k.into()).or_insert(0);
        return n.checked_add(by).map(|m| *n = m).is_some();
    }
    match counts.get_mut(k) {
        Some(n) => n.checked_add(by).map(|m| *n = m).is_some(),
        None => {
            counts.insert(k.into(), by);
            true
        }
    }
}

/// The map a script sees of `counts`. Sorted here, where keys are unique and an unstable
/// sort is enough, so that building the map finds them in order (one pass, no second sort).
pub(crate) fn counts_into_map(counts: KeyCounts) -> Dynamic {
    let mut v: Vec<(rhai::Identifier, rhai::INT)> = counts.into_iter().collect();
    v.sort_unstable_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    let map: rhai::Map = v
        .into_iter()
        .map(|(k, n)| (k, Dynamic::from_int(n)))
        .collect();
    Dynamic::from_map(map)
}

/// How many items [`elements`] gives of `v`, when it is a collection.
pub(crate) fn len(v: &Dynamic) -> Option<u64> {
    if let Some(a) = v.read_lock::<Array>() {
        u64::try_from(a.len()).ok()
    } else if let Some(r) = v.read_lock::<std::ops::Range<i64>>() {
        u64::try_from(r.end.saturating_sub(r.start)).ok()
    } else if let Some(r) = v.read_lock::<std::ops::RangeInclusive<i64>>() {
        u64::try_from(r.end().saturating_sub(*r.start()).saturating_add(1)).ok()
    } else {
        None
    }
}

/// JSON text → value.
pub(crate) fn from_json(v: serde_json::Value) -> Dynamic {
    use serde_json::Value as J;
    match v {
        J::Null => Dynamic::UNIT,
        J::Bool(b) => b.into(),
        J::Number(n) => n
            .as_i64()
            .map_or_else(|| n.as_f64().unwrap_or(f64::NAN).into(), Into::into),
        J::String(s) => s.into(),
        J::Array(a) => Dynamic::from_array(a.into_iter().map(from_json).collect()),
        J::Object(o) => {
            let m: Map = o
                .into_iter()
                .map(|(k, v)| (k.into(), from_json(v)))
                .collect();
            Dynamic::from_map(m)
        }
    }
}

/// Value → JSON.
pub(crate) fn to_json(v: &Dynamic) -> serde_json::Value {
    use serde_json::Value as J;
    if v.is_unit() {
        J::Null
    } else if let Ok(b) = v.as_bool() {
        J::Bool(b)
    } else if let Ok(i) = v.as_int() {
        J::from(i)
    } else if let Ok(f) = v.as_float() {
        serde_json::Number::from_f64(f).map_or(J::Null, J::Number)
    } else if let Some(a) = v.read_lock::<Array>() {
        J::Array(a.iter().map(to_json).collect())
    } else if let Some(m) = v.read_lock::<Map>() {
        J::Object(m.iter().map(|(k, v)| (k.to_string(), to_json(v))).collect())
    } else {
        J::String(display(v))
    }
}

/// Total order used by `sort`: numbers numerically, then strings, then the rest by text.
pub(crate) fn compare(a: &Dynamic, b: &Dynamic) -> Ordering {
    let num = |v: &Dynamic| v.as_int().map(|i| i as f64).or_else(|_| v.as_float()).ok();
    match (num(a), num(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => display(a).cmp(&display(b)),
    }
}

/// Equality used by `uniq`.
pub(crate) fn same(a: &Dynamic, b: &Dynamic) -> bool {
    a.type_name() == b.type_name() && compare(a, b) == Ordering::Equal && display(a) == display(b)
}

/// Running total for `sum`: integers stay integers until a float appears.
#[derive(Default)]
pub(crate) struct Sum {
    int: i64,
    float: Option<f64>,
}

impl Sum {
    pub(crate) fn add(&mut self, v: &Dynamic) -> Result<(), String> {
        let parsed;
        let v = if let Some(s) = v.read_lock::<rhai::ImmutableString>() {
            let t = s.trim();
            parsed = t
                .parse::<i64>()
                .map(Dynamic::from)
                .or_else(|_| t.parse::<f64>().map(Dynamic::from))
                .map_err(|_| format!("`sum` needs numbers, got the text {:?}", s.as_str()))?;
            &parsed
        } else {
            v
        };
        if let Ok(i) = v.as_int() {
            match &mut self.float {
                Some(f) => *f += i as f64,
                None => match self.int.checked_add(i) {
                    Some(s) => self.int = s,
                    None => self.float = Some(self.int as f64 + i as f64),
                },
            }
        } else if let Ok(f) = v.as_float() {
            self.float = Some(self.float.unwrap_or(self.int as f64) + f);
        } else {
            return Err(format!("`sum` needs numbers, got a {}", v.type_name()));
        }
        Ok(())
    }

    pub(crate) fn value(&self) -> Dynamic {
        self.float.map_or_else(|| self.int.into(), Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::{add_count, counts_into_map, KeyCounts};

    /// Short keys (made before the lookup) and long ones (made only when new) count the
    /// same; an overflowing count is refused and left as it was.
    #[test]
    fn counts_add_up_for_short_and_long_keys() {
        let mut c = KeyCounts::default();
        let long = "a key longer than twenty-three bytes";
        for k in ["10.0.0.1", long, "10.0.0.1", "", long, long] {
            assert!(add_count(&mut c, k, 1));
        }
        assert!(add_count(&mut c, "big", rhai::INT::MAX));
        assert!(!add_count(&mut c, "big", 1));
        assert!(!add_count(&mut c, long, rhai::INT::MAX));
        let m = counts_into_map(c);
        let m = m.read_lock::<rhai::Map>().expect("a map");
        let n = |k: &str| m.get(k).and_then(|v| v.as_int().ok());
        assert_eq!(
            (n("10.0.0.1"), n(long), n(""), n("big")),
            (Some(2), Some(3), Some(1), Some(rhai::INT::MAX))
        );
        let keys: Vec<&str> = m.keys().map(|k| k.as_str()).collect();
        assert_eq!(keys, ["", "10.0.0.1", long, "big"]);
    }
}
