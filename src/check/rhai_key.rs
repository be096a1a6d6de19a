//! The key under which the Rhai syntax check remembers a text that compiled cleanly: the
//! text with what cannot change its syntax written one way. A generated or long script
//! repeats shapes, not texts (`map { f1(it) }`, `map { f5(it) }`; `let x3 = 3`), and each
//! distinct text costs a Rhai compile (≈8,000 instructions).
//!
//! In the key, an identifier with a digit in it (`x12`, `f3`) is renamed by first appearance
//! (`v0`, `v1`, …), a plain decimal integer is `0` and a plain non-empty double-quoted string
//! is `"s"`. Why two texts with one key compile alike (both cleanly or neither):
//! - Rhai's keywords, reserved words and special names (`Fn`, `this`, `global`, `is_def_var`
//!   …) have no digit, so no renamed word is one; renaming is one-to-one, so which names are
//!   equal (a duplicated parameter or `fn`, a captured variable) stays as it was.
//! - Rhai's parser looks at an integer's value only in `switch` cases (an empty range) and
//!   at a string's content only in `switch` cases and map keys (duplicates): a text with the
//!   word `switch` or a `#` (`#{`) keeps its own text as key.
//! - Anything the scan is not sure of (comments, escapes, a `'`, non-ASCII outside strings,
//!   floats and other number forms) also keeps the text as key; the two kinds of key
//!   cannot meet (each starts with its own mark).

/// Deeper nesting of back-tick strings and `${ … }` keeps the text as key.
const MAX_NESTING: usize = 16;

/// Write the key of `text` into `out` (cleared first).
pub(crate) fn key(text: &str, out: &mut Vec<u8>) {
    out.clear();
    out.push(b'c');
    let mut k = Keyer {
        src: text.as_bytes(),
        text,
        at: 0,
        out,
        names: vec![],
    };
    if k.code(0).is_none() || k.at != k.src.len() {
        verbatim(text, out);
    }
}

/// The key of a text kept as it is: another mark, so it never equals a rewritten key.
pub(crate) fn verbatim(text: &str, out: &mut Vec<u8>) {
    out.clear();
    out.push(b'v');
    out.extend_from_slice(text.as_bytes());
}

struct Keyer<'a, 'o> {
    src: &'a [u8],
    text: &'a str,
    at: usize,
    out: &'o mut Vec<u8>,
    /// Renamed identifiers, in order of first appearance: `v{index}`.
    names: Vec<&'a str>,
}

impl<'a> Keyer<'a, '_> {
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.src.get(self.at + ahead).copied()
    }

    /// Code up to the end (`depth` 0) or up to the `}` that closes a `${` (consumed).
    /// `None`: keep the text as key.
    fn code(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_NESTING {
            return None;
        }
        let mut braces = 0usize;
        while let Some(b) = self.peek(0) {
            match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'_' | b'0'..=b'9' => self.word()?,
                b'"' => self.string()?,
                b'`' => self.backtick(depth + 1)?,
                b'{' => {
                    braces += 1;
                    self.byte(b);
                }
                b'}' => {
                    self.byte(b);
                    if braces == 0 && depth > 0 {
                        return Some(());
                    }
                    braces = braces.saturating_sub(1);
                }
                b'/' if matches!(self.peek(1), Some(b'/' | b'*')) => return None,
                b'#' | b'\'' | b'\\' => return None,
                0x80..=0xff => return None,
                _ => {
                    // A run of bytes with no meaning here, copied at once.
                    let run = self.src[self.at..]
                        .iter()
                        .take_while(|c| !plain_stop(**c))
                        .count()
                        .max(1);
                    self.out
                        .extend_from_slice(&self.src[self.at..self.at + run]);
                    self.at += run;
                }
            }
        }
        // Text that ends inside `${` is kept as key.
        (depth == 0).then_some(())
    }

    fn byte(&mut self, b: u8) {
        self.out.push(b);
        self.at += 1;
    }

    fn word(&mut self) -> Option<()> {
        let start = self.at;
        let len = self.src[start..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
            .count();
        self.at += len;
        let w = &self.text[start..self.at];
        let wb = w.as_bytes();
        if wb[0].is_ascii_digit() {
            return self.integer(start, wb);
        }
        if w == "switch" {
            return None;
        }
        if !wb.iter().any(u8::is_ascii_digit) {
            self.out.extend_from_slice(wb);
            return Some(());
        }
        if !wb[0].is_ascii_alphabetic() {
            return None;
        }
        let index = match self.names.iter().position(|n| *n == w) {
            Some(i) => i,
            None => {
                self.names.push(w);
                self.names.len() - 1
            }
        };
        self.out.push(b'v');
        self.out.extend_from_slice(itoa(index, &mut [0; 20]));
        Some(())
    }

    /// A decimal integer that fits an `i64`, not next to a lone `.` (a float or a tuple
    /// index): `0`. Other number forms keep the text as key.
    fn integer(&mut self, start: usize, wb: &[u8]) -> Option<()> {
        let plain =
            wb.len() <= 18 && wb.iter().all(u8::is_ascii_digit) && (wb[0] != b'0' || wb.len() == 1);
        let before = &self.src[..start];
        let lone_dot_before = before.ends_with(b".") && !before.ends_with(b"..");
        let lone_dot_after = self.peek(0) == Some(b'.') && self.peek(1) != Some(b'.');
        if !plain || lone_dot_before || lone_dot_after {
            return None;
        }
        self.out.push(b'0');
        Some(())
    }

    /// A double-quoted string without escapes or line breaks: `""` or `"s"`.
    fn string(&mut self) -> Option<()> {
        let rest = &self.src[self.at + 1..];
        let len = rest.iter().position(|&c| c == b'"')?;
        if rest[..len]
            .iter()
            .any(|&c| matches!(c, b'\\' | b'\n' | b'\r'))
        {
            return None;
        }
        self.out
            .extend_from_slice(if len == 0 { b"\"\"" } else { b"\"s\"" });
        self.at += len + 2;
        Some(())
    }

    /// A back-tick string: its text as it is, the code of each `${ … }` keyed.
    fn backtick(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_NESTING {
            return None;
        }
        self.out.push(b'`');
        self.at += 1;
        loop {
            let b = self.peek(0)?;
            match b {
                b'`' => {
                    self.byte(b);
                    return Some(());
                }
                b'\\' => return None,
                b'$' if self.peek(1) == Some(b'{') => {
                    self.out.extend_from_slice(b"${");
                    self.at += 2;
                    self.code(depth)?;
                }
                // Bytes as they are (non-ASCII ones too): `$`, `` ` `` and `\\` are ASCII and
                // never inside another character's bytes.
                _ => self.byte(b),
            }
        }
    }
}

/// A byte that may begin something the key rewrites or refuses (a word, a string, a
/// brace, a comment, …): the end of a run copied as it is.
fn plain_stop(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'_' | b'"' | b'`' | b'{' | b'}' | b'/' | b'#' | b'\'' | b'\\'
        )
        || b >= 0x80
}

/// `n` in decimal, without allocating.
fn itoa(mut n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(text: &str) -> String {
        let mut out = vec![];
        key(text, &mut out);
        String::from_utf8(out).expect("a key of UTF-8 is UTF-8")
    }

    #[test]
    fn shapes_share_a_key() {
        assert_eq!(k("f1(it)"), k("f25(it)"));
        assert_eq!(k("f1(it)"), "cv0(it)");
        assert_eq!(k("it + 9"), "cit + 0");
        assert_eq!(k("fn f1(x) { x * 2 }"), "cfn v0(x) { x * 0 }");
        assert_eq!(k("1..=1000"), "c0..=0");
        assert_eq!(k("[\"a4.csv\", \"\"]"), "c[\"s\", \"\"]");
        assert_eq!(
            k("print(`${x0} and ${c2}`);"),
            k("print(`${x10} and ${c12}`);")
        );
        assert_eq!(k("`a ${ {x1} } é ${y2}`"), "c`a ${ {v0} } é ${v1}`");
    }

    #[test]
    fn equal_names_stay_equal_and_different_ones_different() {
        assert_eq!(k("fn g(a1, b1) { a1 }"), "cfn g(v0, v1) { v0 }");
        assert_ne!(k("fn g(a1, a1) {}"), k("fn g(a1, b1) {}"));
        assert_ne!(k("fn f1() {} fn f1() {}"), k("fn f1() {} fn f2() {}"));
    }

    #[test]
    fn what_rhai_may_read_keeps_the_text() {
        for text in [
            "switch x { 1 => 2, 3..1 => 4 }",
            "#{a: 1, \"a\": 2}",
            "1.5 + x1",
            "x.0",
            "0x10",
            "07",
            "1_000",
            "12345678901234567890",
            "'a'",
            "\"a\\\"b\"",
            "x1 // note",
            "x1 /* note */",
            "é1",
            "_1 + 1",
            "`a\\` + x1",
            "`${x1`",
            "\"open",
        ] {
            assert_eq!(k(text), format!("v{text}"), "{text}");
        }
    }

    #[test]
    fn the_two_kinds_of_key_never_meet() {
        // A kept text that reads like a rewritten key is still told apart by its mark.
        assert_ne!(k("switch v0"), format!("c{}", "switch v0"));
        assert!(k("x1 + 1").starts_with('c') && k("x1 // 1").starts_with('v'));
    }
}
