//! String methods that return their result, so that they chain as in Python
//! (`it.trim().parse_int()`, `s.to_upper().pad(8, " ")`), plus `join`, `field`/`fields`.
//!
//! Rhai's own `trim`, `replace`, `pad`, `truncate`, `crop` and `remove` change a string
//! variable in place and return `()`. Each is registered here again with the same name and
//! argument types but taking the string by value: the engine's own functions are searched
//! before its packages, so these win, for method calls too. A method call on a variable
//! gets a copy: `s.trim()` returns the trimmed text and leaves `s` as it was (as in Python).
//! `make_upper`, `make_lower` and `clear` say in their names that they change the receiver:
//! they stay Rhai's.

use rhai::{Array, Dynamic, Engine, EvalAltResult, ImmutableString, NativeCallContext, INT};

type RResult<T> = Result<T, Box<EvalAltResult>>;

/// Register the value-returning string methods on `e`.
pub(crate) fn register(e: &mut Engine) {
    e.register_fn("trim", |s: ImmutableString| trimmed(s, str::trim));
    e.register_fn("strip", |s: ImmutableString| trimmed(s, str::trim));
    e.register_fn("trim_start", |s: ImmutableString| {
        trimmed(s, str::trim_start)
    });
    e.register_fn("lstrip", |s: ImmutableString| trimmed(s, str::trim_start));
    e.register_fn("trim_end", |s: ImmutableString| trimmed(s, str::trim_end));
    e.register_fn("rstrip", |s: ImmutableString| trimmed(s, str::trim_end));
    // Python's `strip(chars)`: any of these characters, from the ends.
    e.register_fn("strip", |s: ImmutableString, cs: &str| {
        trimmed(s, |t| t.trim_matches(|c| cs.contains(c)))
    });
    e.register_fn("lstrip", |s: ImmutableString, cs: &str| {
        trimmed(s, |t| t.trim_start_matches(|c| cs.contains(c)))
    });
    e.register_fn("rstrip", |s: ImmutableString, cs: &str| {
        trimmed(s, |t| t.trim_end_matches(|c| cs.contains(c)))
    });

    e.register_fn("replace", |s: ImmutableString, from: &str, to: &str| {
        replaced(s, from, to)
    });
    e.register_fn("replace", |s: ImmutableString, from: &str, to: char| {
        replaced(s, from, to.encode_utf8(&mut [0; 4]))
    });
    e.register_fn("replace", |s: ImmutableString, from: char, to: &str| {
        replaced(s, from.encode_utf8(&mut [0; 4]), to)
    });
    e.register_fn("replace", |s: ImmutableString, from: char, to: char| {
        replaced(
            s,
            from.encode_utf8(&mut [0; 4]),
            to.encode_utf8(&mut [0; 4]),
        )
    });
    e.register_fn("remove", |s: ImmutableString, sub: &str| {
        replaced(s, sub, "")
    });
    e.register_fn("remove", |s: ImmutableString, c: char| {
        replaced(s, c.encode_utf8(&mut [0; 4]), "")
    });

    e.register_fn("truncate", truncate);
    e.register_fn(
        "pad",
        |ctx: NativeCallContext, s: ImmutableString, len: INT, c: char| {
            pad(&ctx, s, len, c.encode_utf8(&mut [0; 4]))
        },
    );
    e.register_fn(
        "pad",
        |ctx: NativeCallContext, s: ImmutableString, len: INT, p: &str| pad(&ctx, s, len, p),
    );
    e.register_fn("crop", |s: &str, start: INT, len: INT| {
        sub_chars(s, start, len)
    });
    e.register_fn("crop", |s: &str, start: INT| {
        sub_chars(s, start, INT::try_from(s.len()).unwrap_or(INT::MAX))
    });
    e.register_fn("crop", |s: &str, r: std::ops::Range<INT>| {
        let start = r.start.max(0);
        sub_chars(s, start, r.end.max(start) - start)
    });
    e.register_fn("crop", |s: &str, r: std::ops::RangeInclusive<INT>| {
        let start = (*r.start()).max(0);
        let end = (*r.end()).max(start).min(INT::MAX - 1);
        sub_chars(s, start, end - start + 1)
    });

    e.register_fn("join", |xs: Array, sep: &str| join(&xs, sep));
    e.register_fn("join", |xs: Array, sep: char| {
        join(&xs, sep.encode_utf8(&mut [0; 4]))
    });
    // Python's order: `", ".join(xs)`.
    e.register_fn("join", |sep: &str, xs: Array| join(&xs, sep));

    e.register_fn("fields", |s: &str| -> Array {
        s.split_whitespace()
            .map(|f| Dynamic::from(f.to_string()))
            .collect()
    });
    e.register_fn("field", |s: &str, k: INT| -> ImmutableString {
        field_ws(s, k).into()
    });
    e.register_fn("field", |s: &str, k: INT, sep: &str| {
        if sep.is_empty() {
            return Err(rerr("field(k, sep): the separator is empty"));
        }
        Ok(ImmutableString::from(field(s, s.split(sep), k)))
    });
}

fn rerr(msg: &str) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorRuntime(
        msg.into(),
        rhai::Position::NONE,
    ))
}

fn trimmed(s: ImmutableString, f: impl Fn(&str) -> &str) -> ImmutableString {
    let t = f(&s);
    if t.len() == s.len() {
        s
    } else {
        t.into()
    }
}

fn replaced(s: ImmutableString, from: &str, to: &str) -> ImmutableString {
    if s.is_empty() || from.is_empty() && to.is_empty() || !s.contains(from) {
        return s;
    }
    s.replace(from, to).into()
}

/// The first `len` characters (none when `len` ≤ 0), as Rhai's `truncate`.
fn truncate(s: ImmutableString, len: INT) -> ImmutableString {
    let Ok(len) = usize::try_from(len) else {
        return ImmutableString::new();
    };
    match s.char_indices().nth(len) {
        Some((at, _)) => s[..at].into(),
        None => s,
    }
}

/// `s` padded at the end with `p` to `len` characters, as Rhai's `pad`.
fn pad(ctx: &NativeCallContext, s: ImmutableString, len: INT, p: &str) -> RResult<ImmutableString> {
    let too_large = || {
        Box::new(EvalAltResult::ErrorDataTooLarge(
            "Length of string".into(),
            rhai::Position::NONE,
        ))
    };
    if len <= 0 {
        return Ok(s);
    }
    let len = usize::try_from(len).map_err(|_| too_large())?;
    let max = ctx.engine().max_string_size();
    if max > 0 && len > max {
        return Err(too_large());
    }
    let have = s.chars().count();
    if len <= have {
        return Ok(s);
    }
    if p.is_empty() {
        return Err(rerr("pad: the padding is empty"));
    }
    let mut out = String::with_capacity(s.len() + (len - have) * p.len());
    out.push_str(&s);
    out.extend(p.chars().cycle().take(len - have));
    if max > 0 && out.len() > max {
        return Err(too_large());
    }
    Ok(out.into())
}

/// `len` characters from `start` (from the end when negative), as Rhai's `sub_string`
/// (which is what its in-place `crop` keeps).
pub(crate) fn sub_chars(s: &str, start: INT, len: INT) -> ImmutableString {
    if s.is_empty() || len <= 0 {
        return ImmutableString::new();
    }
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let offset = if start < 0 {
        match usize::try_from(start.unsigned_abs()) {
            Ok(back) => n.saturating_sub(back),
            Err(_) => return ImmutableString::new(),
        }
    } else {
        match usize::try_from(start) {
            Ok(st) if st < n => st,
            _ => return ImmutableString::new(),
        }
    };
    let len = usize::try_from(len).map_or(n - offset, |l| l.min(n - offset));
    chars[offset..offset + len]
        .iter()
        .collect::<String>()
        .into()
}

fn join(xs: &[Dynamic], sep: &str) -> ImmutableString {
    let parts: Vec<String> = xs.iter().map(super::display::display).collect();
    parts.join(sep).into()
}

/// awk's `$k` split at whitespace, as [`field`] with `whole.split_whitespace()`: found by a
/// byte scan while the text up to the field's end is ASCII (a log line), else by `str`'s
/// Unicode-aware split.
pub(crate) fn field_ws(whole: &str, k: INT) -> &str {
    if k > 0 {
        if let Some(f) = ascii_field(whole, k) {
            return f;
        }
    }
    field(whole, whole.split_whitespace(), k)
}

/// The `k`th (1-based) whitespace-separated field, or `""` past the end; `None` when a
/// non-ASCII byte comes first (it could be Unicode whitespace).
fn ascii_field(s: &str, k: INT) -> Option<&str> {
    // `char::is_whitespace` for ASCII: space, \t, \n, \x0B, \x0C, \r.
    let ws = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r');
    let b = s.as_bytes();
    let mut n: INT = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] >= 0x80 {
            return None;
        }
        if ws(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        i = plain_run_end(b, i);
        while i < b.len() && !ws(b[i]) {
            if b[i] >= 0x80 {
                return None;
            }
            i += 1;
        }
        n += 1;
        if n == k {
            return s.get(start..i);
        }
    }
    Some("")
}

/// Where the run of bytes from `i` that are all printable ASCII and not a space (0x21 to
/// 0x7E, and DEL) ends, found eight bytes at a time: inside a field, most bytes are, and
/// the byte-by-byte loop takes over at the first that is not (whitespace, a control byte,
/// or a non-ASCII one).
fn plain_run_end(b: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let w = u64::from_le_bytes(w);
        // A byte at or above 0x80, or below 0x21 (the lowest such byte is found exactly:
        // a borrow only reaches the bytes above it).
        let special = (w & HIGH) | (w.wrapping_sub(ONES * 0x21) & !w & HIGH);
        if special != 0 {
            return i + (special.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i
}

/// awk's `$k`: 1-based, `0` is the whole text, negative counts from the end (`-1` is the
/// last, awk's `$NF`); past the end is `""`, as in awk. Borrowed from `whole`: the native
/// fast path (`fastpath_eval`) calls it too.
pub(crate) fn field<'s>(whole: &'s str, parts: impl Iterator<Item = &'s str>, k: INT) -> &'s str {
    if k == 0 {
        return whole;
    }
    let got = if k > 0 {
        usize::try_from(k - 1).ok().and_then(|i| {
            let mut parts = parts;
            parts.nth(i)
        })
    } else {
        let all: Vec<&str> = parts.collect();
        usize::try_from(k.unsigned_abs())
            .ok()
            .and_then(|back| all.len().checked_sub(back))
            .map(|i| all[i])
    };
    got.unwrap_or("")
}

#[cfg(test)]
mod tests {
    use rhai::{Dynamic, Engine};

    fn engine() -> Engine {
        let mut e = Engine::new();
        super::register(&mut e);
        e
    }

    fn eval(code: &str) -> String {
        engine()
            .eval::<Dynamic>(code)
            .unwrap_or_else(|e| panic!("{code}: {e}"))
            .to_string()
    }

    #[test]
    fn methods_chain_and_leave_the_receiver_alone() {
        assert_eq!(eval(r#"" 42 ".trim().parse_int() + 1"#), "43");
        assert_eq!(
            eval(r#"let s = " a "; let t = s.trim(); s.len() * 10 + t.len()"#),
            "31"
        );
        assert_eq!(eval(r#"let s = "a_b"; s.replace("_", "-"); s"#), "a_b");
        assert_eq!(eval(r#""ab".to_upper().pad(4, ".")"#), "AB..");
        assert_eq!(eval(r#""a-b".replace('-', '+')"#), "a+b");
        assert_eq!(eval(r#""a,b,c".remove(",")"#), "abc");
        assert_eq!(eval(r#""hello".truncate(2) + "hello".truncate(-1)"#), "he");
        assert_eq!(
            eval(r#""xxhixx".strip("x") + "|" + "  a ".rstrip() + "|""#),
            "hi|  a|"
        );
    }

    /// `crop` and `truncate` give what Rhai's in-place versions leave in the variable.
    #[test]
    fn crop_and_truncate_agree_with_rhai() {
        let ours = engine();
        let rhai = Engine::new();
        let texts = ["", "a", "héllo wörld", "abc"];
        let args = [
            "0, 2", "1, 100", "-2, 1", "-100, 3", "2, -1", "5, 1", "0", "-3", "2", "1..3", "0..=1",
            "3..1", "-2..2",
        ];
        for t in texts {
            for a in args {
                let mine: String = ours.eval(&format!("{t:?}.crop({a})")).unwrap();
                let theirs: String = rhai
                    .eval(&format!("let s = {t:?}; s.crop({a}); s"))
                    .unwrap();
                assert_eq!(mine, theirs, "{t:?}.crop({a})");
            }
            for n in [-1, 0, 1, 3, 100] {
                let mine: String = ours.eval(&format!("{t:?}.truncate({n})")).unwrap();
                let theirs: String = rhai
                    .eval(&format!("let s = {t:?}; s.truncate({n}); s"))
                    .unwrap();
                assert_eq!(mine, theirs, "{t:?}.truncate({n})");
            }
        }
    }

    #[test]
    fn join_and_fields() {
        assert_eq!(eval(r#"[1, "a", 2.5].join(", ")"#), "1, a, 2.5");
        assert_eq!(eval(r#"", ".join(["x", "y"])"#), "x, y");
        assert_eq!(eval(r#"["x", "y"].join('-')"#), "x-y");
        let line = r#"let l = "  a  b\tc "; "#;
        assert_eq!(
            eval(&format!("{line} l.field(2) + l.field(-1) + l.field(9)")),
            "bc"
        );
        assert_eq!(eval(&format!("{line} l.fields().len()")), "3");
        assert_eq!(eval(r#""a::b".field(3, ":")"#), "b");
        assert_eq!(eval(r#""x y".field(0)"#), "x y");
    }

    /// The byte scan gives `split_whitespace`'s field, also next to Unicode whitespace
    /// and control characters.
    #[test]
    fn field_by_bytes_is_split_whitespaces() {
        let texts = [
            "a b  c",
            "  lead trail  ",
            "tab\tsep\nnl\x0bvt\x0cff\rcr",
            "",
            " ",
            "nbsp\u{a0}x y",
            "ä ö ü",
            "x\u{2003}y z",
            "a\x1fb \x7f c\x00d  e",
            "ends in é",
            "é first",
            "10.1.2.3 - - [10/Oct/2024:13:55:36 +0000] \"GET /p/1 HTTP/1.1\" 503 2326",
        ];
        // Long fields (read eight bytes at a time) with a byte of every kind at every place.
        let mut long: Vec<String> = vec![];
        for special in [
            " ", "\t", "\r", "\x01", "\x20\x20", "\x7f", "!", "~", "é", "\u{a0}", "\u{2003}",
        ] {
            for at in 0..24 {
                let mut f = "x".repeat(24);
                f.insert_str(at, special);
                long.push(format!("{f} abcdefghijklmnopq {f}\t{f}"));
            }
        }
        for t in texts.iter().copied().chain(long.iter().map(String::as_str)) {
            for k in -3..12 {
                assert_eq!(
                    super::field_ws(t, k),
                    super::field(t, t.split_whitespace(), k),
                    "{t:?} {k}"
                );
            }
        }
    }
}
