//! `reduce` blocks that only count: `{ acc[K] = (acc[K] ?? 0) + N; acc }`, the histogram
//! that a Python user writes as `Counter`. A Rhai map is a sorted tree: with many distinct
//! keys each item pays two searches with a string comparison at every level. When `K` is a
//! native fast-path expression of the item (directly, or through one fast leading
//! `let k = …;`), the counts are kept in a hash map and made into the Rhai map once, at the
//! end. Any item the native path cannot take (a key that is not text, an overflow) hands
//! the counts so far, as the map, to the general fold, which gives Rhai's own result or
//! error from that item on.

use super::Env;
use crate::script::fastpath::Fast;
use rhai::{Dynamic, Map, INT};
use std::collections::HashMap;

/// A counting block: the key of an item, and how much each item adds.
pub(super) struct Counting {
    key: Fast,
    by: INT,
}

impl Env {
    /// The block `code` as a [`Counting`], if it is one.
    pub(super) fn counting(&self, code: &str) -> Option<Counting> {
        let builtin = |name: &str| self.builtin_method(name);
        let (lets, at) = crate::script::fastpath::lets(code, &self.vars, &builtin);
        let (k1, k2, by) = shape(&code[at..])?;
        let k = k1.trim();
        if k != k2.trim() {
            return None;
        }
        let key = match lets.as_slice() {
            [] if !names_acc(k) => crate::script::fastpath::compile(k, &self.vars, &builtin)?,
            [(name, f)] if name == k => f.clone(),
            _ => return None,
        };
        Some(Counting { key, by })
    }
}

/// Counts kept natively.
pub(super) struct Counts {
    map: HashMap<Box<str>, INT>,
}

impl Counts {
    /// Start from `init` when it is a map of integers (`#{}` usually).
    pub(super) fn start(init: &Dynamic) -> Option<Counts> {
        let m = init.read_lock::<Map>()?;
        let mut map = HashMap::with_capacity(m.len());
        for (k, v) in m.iter() {
            map.insert(k.as_str().into(), v.as_int().ok()?);
        }
        Some(Counts { map })
    }

    /// Count `it`; false (nothing counted) when the native path cannot.
    pub(super) fn add(&mut self, c: &Counting, it: &Dynamic) -> bool {
        crate::script::fastpath::eval_text(&c.key, it, |k| match self.map.get_mut(k) {
            Some(n) => n.checked_add(c.by).map(|m| *n = m).is_some(),
            None => {
                self.map.insert(k.into(), c.by);
                true
            }
        }) == Some(true)
    }

    pub(super) fn into_map(self) -> Dynamic {
        let map: Map = self
            .map
            .into_iter()
            .map(|(k, n)| (k.as_ref().into(), Dynamic::from_int(n)))
            .collect();
        Dynamic::from_map(map)
    }
}

/// Whether `k` names `acc` (a key computed from the accumulator is not the item's).
fn names_acc(k: &str) -> bool {
    k.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|w| w == "acc")
}

/// `acc[K1] = (acc[K2] ?? 0) + N; acc` with optional spaces and final `;`: the two key
/// texts and N.
fn shape(s: &str) -> Option<(&str, &str, INT)> {
    let mut c = Cursor(s);
    c.word("acc")?;
    c.lit("[")?;
    let k1 = c.bracketed()?;
    c.lit("=")?;
    if c.0.starts_with('=') {
        return None;
    }
    c.lit("(")?;
    c.word("acc")?;
    c.lit("[")?;
    let k2 = c.bracketed()?;
    c.lit("??")?;
    c.lit("0")?;
    c.lit(")")?;
    c.lit("+")?;
    let by = c.int()?;
    c.lit(";")?;
    c.word("acc")?;
    let _ = c.lit(";");
    c.0.trim().is_empty().then_some((k1, k2, by))
}

struct Cursor<'a>(&'a str);

impl<'a> Cursor<'a> {
    fn lit(&mut self, t: &str) -> Option<()> {
        self.0 = self.0.trim_start().strip_prefix(t)?;
        Some(())
    }

    fn word(&mut self, w: &str) -> Option<()> {
        self.lit(w)?;
        let next_is_ident = self
            .0
            .starts_with(|c: char| c.is_alphanumeric() || c == '_');
        (!next_is_ident).then_some(())
    }

    fn int(&mut self) -> Option<INT> {
        let s = self.0.trim_start();
        let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let n = s[..end].parse().ok()?;
        self.0 = &s[end..];
        Some(n)
    }

    /// The text up to the `]` that closes an opened `[`, which is passed. Strings in
    /// double quotes are skipped whole; other quotes and escapes are not taken.
    fn bracketed(&mut self) -> Option<&'a str> {
        let s = self.0;
        let mut depth = 0_i32;
        let mut in_str = false;
        for (i, ch) in s.char_indices() {
            match ch {
                '\\' | '`' | '\'' => return None,
                '"' => in_str = !in_str,
                '[' | '(' | '{' if !in_str => depth += 1,
                ']' if !in_str && depth == 0 => {
                    self.0 = &s[i + 1..];
                    return Some(&s[..i]);
                }
                ']' | ')' | '}' if !in_str => depth -= 1,
                _ => {}
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::shape;

    #[test]
    fn the_counting_shape_and_only_it() {
        assert_eq!(
            shape("acc[s] = (acc[s] ?? 0) + 1; acc"),
            Some(("s", "s", 1))
        );
        assert_eq!(
            shape(" acc[it.split(\" \")[0]]=(acc[it.split(\" \")[0]]??0)+2;\n acc; "),
            Some(("it.split(\" \")[0]", "it.split(\" \")[0]", 2))
        );
        assert_eq!(shape("acc[s] = (acc[s] ?? 0) + 1; acc.len()"), None);
        assert_eq!(shape("acc[s] == (acc[s] ?? 0) + 1; acc"), None);
        assert_eq!(shape("acc[s] = (acc[s] ?? 1) + 1; acc"), None);
        assert_eq!(shape("acc[s] = (acc[s] ?? 0) + 1; accx"), None);
        assert_eq!(shape("acc[s] = (acc[s] ?? 0) + x; acc"), None);
        assert_eq!(shape("acc[`${s}`] = (acc[`${s}`] ?? 0) + 1; acc"), None);
        assert_eq!(shape("acc[s] = (acc[s] ?? 0) + 1; acc; print(1)"), None);
    }
}
