//! `reduce` blocks that only count or sum per key: `{ acc[K] = (acc[K] ?? 0) + N; acc }`
//! or `{ if K in acc { acc[K] += N } else { acc[K] = N } acc }`, the histogram a Python
//! user writes with `Counter` and the per-key sum awk writes as `s[$7] += $10`. A Rhai map
//! is a sorted tree: with many distinct keys each item pays two searches with a string
//! comparison at every level. When `K` and `N` are native fast-path expressions of the item
//! (written in place, or bound by leading fast `let`s), the sums are kept in a hash map and
//! made into the Rhai map once, at the end. Any item the native path cannot take (a key
//! that is not text, an `N` that is not an integer, an overflow, a `let` that needs Rhai)
//! hands the sums so far, as the map, to the general fold, which gives Rhai's own result
//! or error from that item on.

use super::Env;
use crate::script::fastpath::Fast;
use rhai::{Dynamic, Map, INT};

/// A counting block: the key of an item, and how much each item adds.
pub(super) struct Counting {
    key: Fast,
    by: By,
    /// The block's leading `let`s: each must give a value natively, as Rhai would give one
    /// (a `let` that fails in Rhai fails the item there).
    lets: Vec<Fast>,
}

/// What an item adds.
enum By {
    Const(INT),
    Item(Fast),
}

/// Where a counting body stands: the names of the accumulator and of the item, the
/// variables it sees, and names already bound to fast expressions of the stage's item (a
/// `fn`'s parameters given by the call `{ f(acc, it.field(1)) }`).
pub(super) struct Names<'a> {
    pub(super) acc: &'a str,
    pub(super) item: &'a str,
    pub(super) scope: &'a rhai::Scope<'static>,
    pub(super) bound: Vec<(String, Fast)>,
}

impl Env {
    /// The block `code` as a [`Counting`], if it is one.
    pub(super) fn counting(&self, code: &str) -> Option<Counting> {
        self.counting_in(
            code,
            &Names {
                acc: "acc",
                item: "it",
                scope: &self.vars,
                bound: vec![],
            },
        )
    }

    /// The same for a body that names the accumulator and the item its own way.
    pub(super) fn counting_in(&self, code: &str, n: &Names<'_>) -> Option<Counting> {
        let builtin = |name: &str| self.builtin_method(name);
        let (lets, at) = crate::script::fastpath::lets_named(code, n.item, n.scope, &builtin);
        // A `let` that reads a bound name is not the item's alone: the prefix ended there.
        let (k, by) = shape(&code[at..], n.acc).or_else(|| in_shape(&code[at..], n.acc))?;
        // A name bound by a leading `let` (or by the call) is that expression; anything
        // else is compiled in place, and must not read the accumulator.
        // A `let` the key or the amount is, is evaluated there; only the others are
        // evaluated on their own (to fail the item where Rhai's `let` would).
        let used = std::cell::RefCell::new(vec![false; lets.len()]);
        let of = |text: &str| -> Option<Fast> {
            let text = text.trim();
            if let Some(i) = lets.iter().rposition(|(name, _)| name == text) {
                used.borrow_mut()[i] = true;
                return Some(lets[i].1.clone());
            }
            let known = lets.iter().chain(n.bound.iter());
            match known.clone().find(|(name, _)| name == text) {
                Some((_, f)) => Some(f.clone()),
                None if !names(text, n.acc)
                    && !known.clone().any(|(name, _)| names(text, name)) =>
                {
                    crate::script::fastpath::compile_named(text, n.item, n.scope, &builtin)
                }
                None => None,
            }
        };
        let key = of(k)?;
        let by = match by.trim().parse::<INT>() {
            Ok(c) if !by.trim().starts_with(['-', '+']) => By::Const(c),
            _ => By::Item(of(by)?),
        };
        let used = used.into_inner();
        Some(Counting {
            key,
            by,
            lets: lets
                .into_iter()
                .zip(used)
                .filter(|(_, u)| !u)
                .map(|((_, f), _)| f)
                .collect(),
        })
    }
}

/// Counts kept natively.
pub(super) struct Counts {
    map: crate::runtime::value::KeyCounts,
}

impl Counts {
    /// Start from `init` when it is a map of integers (`#{}` usually).
    pub(super) fn start(init: &Dynamic) -> Option<Counts> {
        let m = init.read_lock::<Map>()?;
        let mut map = crate::runtime::value::KeyCounts::with_capacity_and_hasher(
            m.len(),
            ahash::RandomState::new(),
        );
        for (k, v) in m.iter() {
            map.insert(k.as_str().into(), v.as_int().ok()?);
        }
        Some(Counts { map })
    }

    /// Count `it`; false (nothing counted) when the native path cannot.
    pub(super) fn add(&mut self, c: &Counting, it: &Dynamic) -> bool {
        if c.lets
            .iter()
            .any(|f| crate::script::fastpath::eval(f, it).is_none())
        {
            return false;
        }
        let by = match &c.by {
            By::Const(n) => *n,
            By::Item(f) => match crate::script::fastpath::eval(f, it).map(|v| v.as_int()) {
                Some(Ok(n)) => n,
                _ => return false,
            },
        };
        crate::script::fastpath::eval_text(&c.key, it, |k| {
            crate::runtime::value::add_count(&mut self.map, k, by)
        }) == Some(true)
    }

    pub(super) fn into_map(self) -> Dynamic {
        crate::runtime::value::counts_into_map(self.map)
    }
}

/// Whether the text `k` has the word `w`.
fn names(k: &str, w: &str) -> bool {
    k.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|x| x == w)
}

/// `acc[K] = (acc[K] ?? 0) + N; acc` with optional spaces and final `;`: the key text and
/// the text of N (up to the `;`), the two keys written alike.
fn shape<'a>(s: &'a str, acc: &str) -> Option<(&'a str, &'a str)> {
    let mut c = Cursor(s);
    c.word(acc)?;
    c.lit("[")?;
    let k1 = c.bracketed()?;
    c.lit("=")?;
    if c.0.starts_with('=') {
        return None;
    }
    c.lit("(")?;
    c.word(acc)?;
    c.lit("[")?;
    let k2 = c.bracketed()?;
    c.lit("??")?;
    c.lit("0")?;
    c.lit(")")?;
    c.lit("+")?;
    let n = c.until(';')?;
    c.lit(";")?;
    c.word(acc)?;
    let _ = c.lit(";");
    (c.0.trim().is_empty() && k1.trim() == k2.trim()).then_some((k1, n))
}

/// `if K in acc { acc[K] += N } else { acc[K] = N } acc`, the same sum spelt with `in`.
fn in_shape<'a>(s: &'a str, acc: &str) -> Option<(&'a str, &'a str)> {
    let mut c = Cursor(s);
    c.word("if")?;
    let k0 = c.until_word("in")?;
    c.word("in")?;
    c.word(acc)?;
    c.lit("{")?;
    c.word(acc)?;
    c.lit("[")?;
    let k1 = c.bracketed()?;
    c.lit("+=")?;
    let n1 = c.until('}')?;
    c.lit("}")?;
    c.word("else")?;
    c.lit("{")?;
    c.word(acc)?;
    c.lit("[")?;
    let k2 = c.bracketed()?;
    c.lit("=")?;
    if c.0.starts_with('=') {
        return None;
    }
    let n2 = c.until('}')?;
    c.lit("}")?;
    let _ = c.lit(";");
    c.word(acc)?;
    let _ = c.lit(";");
    let same = |a: &str, b: &str| {
        a.trim().trim_end_matches(';').trim() == b.trim().trim_end_matches(';').trim()
    };
    (c.0.trim().is_empty() && same(k0, k1) && same(k1, k2) && same(n1, n2))
        .then(|| (k1, n1.trim().trim_end_matches(';')))
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

    /// The text up to `end` at the top level, which is not passed.
    fn until(&mut self, end: char) -> Option<&'a str> {
        self.upto(|rest, _| rest.starts_with(end))
    }

    /// The text up to the word `w` at the top level, which is not passed.
    fn until_word(&mut self, w: &str) -> Option<&'a str> {
        self.upto(|rest, after_ident| {
            !after_ident
                && rest.strip_prefix(w).is_some_and(|after| {
                    !after.starts_with(|c: char| c.is_alphanumeric() || c == '_')
                })
        })
    }

    /// The text up to the `]` that closes an opened `[`, which is passed.
    fn bracketed(&mut self) -> Option<&'a str> {
        let inside = self.upto(|rest, _| rest.starts_with(']'))?;
        self.0 = &self.0[1..];
        Some(inside)
    }

    /// The text up to the first place at the top level (outside brackets and double-quoted
    /// strings) where `at(rest, after_an_identifier_char)` holds, which is not passed; none
    /// when another quote or an escape comes first, or no such place does.
    fn upto(&mut self, at: impl Fn(&str, bool) -> bool) -> Option<&'a str> {
        let s = self.0;
        let (mut depth, mut in_str, mut after_ident) = (0_i32, false, false);
        for (i, ch) in s.char_indices() {
            if !in_str && depth == 0 && at(&s[i..], after_ident) {
                self.0 = &s[i..];
                return Some(&s[..i]);
            }
            match ch {
                '\\' | '`' | '\'' => return None,
                '"' => in_str = !in_str,
                '[' | '(' | '{' if !in_str => depth += 1,
                ']' | ')' | '}' if !in_str => depth -= 1,
                _ => {}
            }
            after_ident = ch.is_alphanumeric() || ch == '_';
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::{in_shape, shape};

    fn sh(s: &str) -> Option<(&str, &str)> {
        shape(s, "acc")
    }

    fn ins(s: &str) -> Option<(&str, &str)> {
        in_shape(s, "acc")
    }

    #[test]
    fn the_counting_shape_and_only_it() {
        assert_eq!(sh("acc[s] = (acc[s] ?? 0) + 1; acc"), Some(("s", " 1")));
        assert_eq!(
            sh(" acc[it.split(\" \")[0]]=(acc[it.split(\" \")[0]]??0)+2;\n acc; "),
            Some(("it.split(\" \")[0]", "2"))
        );
        assert_eq!(
            sh("acc[p] = (acc[p] ?? 0) + it.field(10).parse_int(); acc"),
            Some(("p", " it.field(10).parse_int()"))
        );
        assert_eq!(sh("acc[s] = (acc[s] ?? 0) + 1; acc.len()"), None);
        assert_eq!(sh("acc[s] == (acc[s] ?? 0) + 1; acc"), None);
        assert_eq!(sh("acc[s] = (acc[s] ?? 1) + 1; acc"), None);
        assert_eq!(sh("acc[s] = (acc[s] ?? 0) + 1; accx"), None);
        assert_eq!(sh("acc[s] = (acc[t] ?? 0) + 1; acc"), None);
        assert_eq!(sh("acc[`${s}`] = (acc[`${s}`] ?? 0) + 1; acc"), None);
        assert_eq!(sh("acc[s] = (acc[s] ?? 0) + 1; acc; print(1)"), None);
    }

    #[test]
    fn a_fn_names_its_accumulator_its_own_way() {
        assert_eq!(shape("m[k] = (m[k] ?? 0) + 1; m", "m"), Some(("k", " 1")));
        assert_eq!(shape("m[k] = (m[k] ?? 0) + 1; m", "acc"), None);
        assert_eq!(
            in_shape("if k in m { m[k] += n } else { m[k] = n } m", "m"),
            Some(("k", "n"))
        );
    }

    #[test]
    fn the_sum_spelt_with_in() {
        assert_eq!(
            ins("if k in acc { acc[k] += n } else { acc[k] = n } acc"),
            Some(("k", "n"))
        );
        assert_eq!(
            ins("if p in acc { acc[p] += 1; } else { acc[p] = 1; }; acc;"),
            Some(("p", "1"))
        );
        assert_eq!(
            ins("if k in acc { acc[k] += n } else { acc[k] = m } acc"),
            None
        );
        assert_eq!(
            ins("if k in acc { acc[j] += n } else { acc[k] = n } acc"),
            None
        );
        assert_eq!(
            ins("if k in acc { acc[k] += n } else { acc[k] == n } acc"),
            None
        );
        assert_eq!(
            ins("if k in acc { acc[k] += n } else { acc[k] = n } acc.len()"),
            None
        );
        assert_eq!(
            ins("if within in acc { acc[within] += 1 } else { acc[within] = 1 } acc"),
            Some(("within", "1"))
        );
    }
}
