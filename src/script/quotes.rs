//! Quotes as people type them: in Rhai text, a single-quoted literal of more than one
//! character (`'hello world'`, `''`) is a raw string (docs/language.md), not Rhai's "Invalid
//! character". Every Rhai snippet flow compiles goes through [`rewrite`] first.
//!
//! The rewrite keeps byte positions: `'abc'` becomes `"abc"`, or `` `a\b` `` when the text
//! holds `"` or `\` (back-tick strings take both literally). Only a text that also holds a
//! back-tick or `${` needs a raw string `#"…"#`, which is longer: such literals are recorded
//! as [`Shift`]s so that positions after them map back to the script.
//! A valid Rhai character literal (`'x'`, `'\n'`, `'\''`, `'\u00e9'`) is left alone.
//!
//! The script's own back-tick strings get the escapes of a JavaScript template literal
//! (`\n`, `\t`, `\r`, `\\`, `` \` ``, `\$`), which Rhai's back-tick strings lack: each
//! becomes `${"\n"}` and is recorded as a [`Shift`] too. (The back-tick strings made from
//! single-quoted ones above are not rescanned: they stay raw.)

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, Mutex};

/// Columns added on one line of the rewritten text: positions at or after `col` (1-based,
/// in the rewritten text) are `delta` characters to the right of the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Shift {
    pub(crate) line: usize,
    pub(crate) col: usize,
    pub(crate) delta: usize,
}

/// Rhai text ready to compile, and how its positions differ from the original.
#[derive(Debug)]
pub(crate) struct Rewritten<'a> {
    pub(crate) text: Cow<'a, str>,
    pub(crate) shifts: Vec<Shift>,
}

impl Rewritten<'_> {
    /// The original position of a position in the rewritten text.
    pub(crate) fn original(&self, pos: rhai::Position) -> rhai::Position {
        unshift(&self.shifts, pos)
    }
}

fn unshift(shifts: &[Shift], pos: rhai::Position) -> rhai::Position {
    let (Some(line), Some(col)) = (pos.line(), pos.position()) else {
        return pos;
    };
    let delta: usize = shifts
        .iter()
        .filter(|s| s.line == line && s.col <= col)
        .map(|s| s.delta)
        .sum();
    if delta == 0 {
        return pos;
    }
    rhai::Position::new(
        u16::try_from(line).unwrap_or(u16::MAX),
        u16::try_from(col.saturating_sub(delta).max(1)).unwrap_or(u16::MAX),
    )
}

/// Rewrite the single-quoted strings of Rhai `code` into Rhai strings, its back-tick escapes
/// into what they stand for, its line breaks that end statements into `;`
/// (`script::newlines`), and its in-place string statements (`script::in_place`).
pub(crate) fn rewrite(code: &str) -> Rewritten<'_> {
    let mut r = rewrite_quotes(code);
    // Then a `;` where a line break ends a statement (`script::newlines`).
    if let Some((text, more)) = super::newlines::rewrite(&r.text, &mut r.shifts) {
        r.shifts.extend(more);
        r.text = Cow::Owned(text);
    }
    // Then the in-place string statements (`s.trim();`), on the text Rhai will read.
    if let Some((text, more)) = super::in_place::rewrite(&r.text, &mut r.shifts) {
        r.shifts.extend(more);
        r.text = Cow::Owned(text);
    }
    r
}

/// [`rewrite`]'s quotes and back-tick escapes.
fn rewrite_quotes(code: &str) -> Rewritten<'_> {
    // Single quotes to rewrite, or back-tick escapes (`\n` in a back-tick string).
    let to_rewrite = code.contains('\'') || (code.contains('`') && code.contains('\\'));
    if !to_rewrite {
        return Rewritten {
            text: Cow::Borrowed(code),
            shifts: vec![],
        };
    }
    let mut w = Writer {
        src: code,
        out: String::with_capacity(code.len() + 8),
        copied: 0,
        shifts: vec![],
        changed: false,
    };
    w.scan();
    if !w.changed {
        return Rewritten {
            text: Cow::Borrowed(code),
            shifts: vec![],
        };
    }
    w.out.push_str(&code[w.copied..]);
    Rewritten {
        text: Cow::Owned(w.out),
        shifts: w.shifts,
    }
}

/// Where the scanner is, for nesting: inside a back-tick string, or inside `${ … }` of one
/// (with its brace depth).
#[derive(Clone, Copy)]
enum Ctx {
    Backtick,
    Interp(usize),
}

struct Writer<'a> {
    src: &'a str,
    out: String,
    /// `src[..copied]` is already in `out`.
    copied: usize,
    shifts: Vec<Shift>,
    changed: bool,
}

impl Writer<'_> {
    fn scan(&mut self) {
        let b = self.src.as_bytes();
        let mut stack: Vec<Ctx> = vec![];
        let mut i = 0;
        while i < b.len() {
            if let Some(Ctx::Backtick) = stack.last() {
                match b[i] {
                    b'`' if b.get(i + 1) == Some(&b'`') => i += 2,
                    b'`' => {
                        stack.pop();
                        i += 1;
                    }
                    b'\\' => i = self.escape(i),
                    b'$' if b.get(i + 1) == Some(&b'{') => {
                        stack.push(Ctx::Interp(0));
                        i += 2;
                    }
                    _ => i += 1,
                }
                continue;
            }
            match b[i] {
                b'/' if b.get(i + 1) == Some(&b'/') => {
                    i = self.src[i..].find('\n').map_or(b.len(), |n| i + n);
                }
                b'/' if b.get(i + 1) == Some(&b'*') => i = block_comment_end(b, i),
                b'"' => i = dq_string_end(b, i),
                b'`' => {
                    stack.push(Ctx::Backtick);
                    i += 1;
                }
                b'#' if matches!(b.get(i + 1), Some(b'"' | b'#')) => i = raw_string_end(b, i),
                b'{' => {
                    if let Some(Ctx::Interp(d)) = stack.last_mut() {
                        *d += 1;
                    }
                    i += 1;
                }
                b'}' => {
                    match stack.last_mut() {
                        Some(Ctx::Interp(0)) => {
                            stack.pop();
                        }
                        Some(Ctx::Interp(d)) => *d -= 1,
                        _ => {}
                    }
                    i += 1;
                }
                b'\'' => i = self.single(i),
                _ => i += 1,
            }
        }
    }

    /// At a `'`: leave a character literal alone, rewrite a raw string; the index after it.
    fn single(&mut self, at: usize) -> usize {
        let rest = &self.src[at + 1..];
        if let Some(n) = char_literal_len(rest) {
            return at + 1 + n;
        }
        // No closing quote: leave it for Rhai to report.
        let Some(close) = rest.find('\'') else {
            return at + 1;
        };
        let content = &rest[..close];
        let end = at + 1 + close + 1;
        self.out.push_str(&self.src[self.copied..at]);
        self.copied = end;
        self.changed = true;
        if !content.contains(['"', '\\']) && !content.contains('\n') {
            self.out.push('"');
            self.out.push_str(content);
            self.out.push('"');
        } else if !content.contains('`')
            && !content.contains("${")
            && !content.starts_with('\n')
            && !content.starts_with("\r\n")
        {
            self.out.push('`');
            self.out.push_str(content);
            self.out.push('`');
        } else {
            self.raw(content);
        }
        end
    }

    /// At a `\` in a back-tick string: `\n`, `\t`, `\r`, `\\`, `` \` `` and `\$` become what
    /// they stand for (Rhai takes back-tick text literally), written as an interpolated
    /// Rhai string (`${"\n"}`: the text keeps its lines, the columns after it are mapped
    /// back); any other backslash stays as it is (`\d` in a regex). The index after it.
    fn escape(&mut self, at: usize) -> usize {
        let lit = match self.src.as_bytes().get(at + 1) {
            Some(b'n') => "\\n",
            Some(b't') => "\\t",
            Some(b'r') => "\\r",
            Some(b'\\') => "\\\\",
            Some(b'`') => "`",
            Some(b'$') => "$",
            _ => return at + 1,
        };
        self.out.push_str(&self.src[self.copied..at]);
        self.copied = at + 2;
        self.changed = true;
        self.out.push_str("${\"");
        self.out.push_str(lit);
        self.out.push_str("\"}");
        let (line, col) = self.end_of_out();
        // `${"` and `"}` around the escape, which was two characters.
        let delta = lit.len() + 3;
        self.shifts.push(Shift { line, col, delta });
        at + 2
    }

    /// The line and the column after the end of the text written so far (1-based).
    fn end_of_out(&self) -> (usize, usize) {
        let line = self.out.matches('\n').count() + 1;
        let col = self
            .out
            .rsplit('\n')
            .next()
            .map_or(0, |l| l.chars().count())
            + 1;
        (line, col)
    }

    /// `#"content"#` with enough hashes that the content cannot close it.
    fn raw(&mut self, content: &str) {
        let mut hashes = 1;
        let cb = content.as_bytes();
        for (k, _) in content.match_indices('"') {
            let run = cb[k + 1..].iter().take_while(|&&c| c == b'#').count();
            hashes = hashes.max(run + 1);
        }
        let fence = "#".repeat(hashes);
        self.out.push_str(&fence);
        self.out.push('"');
        self.out.push_str(content);
        self.out.push('"');
        self.out.push_str(&fence);
        // Where the literal ends, in the rewritten text: columns after it moved right.
        let (line, col) = self.end_of_out();
        let delta = if content.contains('\n') {
            hashes
        } else {
            2 * hashes
        };
        self.shifts.push(Shift { line, col, delta });
    }
}

/// The length after the opening quote of a valid Rhai character literal (including the
/// closing quote), if `rest` starts one.
fn char_literal_len(rest: &str) -> Option<usize> {
    let mut cs = rest.char_indices();
    let (_, c) = cs.next()?;
    let body_end = match c {
        '\'' | '\n' | '\r' => return None,
        '\\' => {
            let (_, e) = cs.next()?;
            let hex = match e {
                'n' | 't' | 'r' | '\\' | '\'' => 0,
                'x' => 2,
                'u' => 4,
                'U' => 8,
                _ => return None,
            };
            for _ in 0..hex {
                if !cs.next()?.1.is_ascii_hexdigit() {
                    return None;
                }
            }
            cs.clone().next().map_or(rest.len(), |(k, _)| k)
        }
        _ => c.len_utf8(),
    };
    (rest[body_end..].starts_with('\'')).then_some(body_end + 1)
}

fn dq_string_end(b: &[u8], at: usize) -> usize {
    let mut i = at + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// Rhai's block comments nest.
fn block_comment_end(b: &[u8], at: usize) -> usize {
    let mut depth = 0;
    let mut i = at;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

/// `#"…"#`, `##"…"##`: ends at a `"` followed by as many `#`.
fn raw_string_end(b: &[u8], at: usize) -> usize {
    let hashes = b[at..].iter().take_while(|&&c| c == b'#').count();
    let mut i = at + hashes;
    if b.get(i) != Some(&b'"') {
        return i;
    }
    i += 1;
    while i < b.len() {
        if b[i] == b'"' && b[i + 1..].iter().take_while(|&&c| c == b'#').count() >= hashes {
            return i + 1 + hashes;
        }
        i += 1;
    }
    b.len()
}

/// Shifts of snippets compiled at their script positions (see `position::padded`), by
/// script text: a run error inside such a snippet is reported against the script only.
static SHIFTS: LazyLock<Mutex<HashMap<u64, Vec<Shift>>>> = LazyLock::new(Mutex::default);
static ANY_SHIFTS: AtomicBool = AtomicBool::new(false);

fn key(src: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    src.hash(&mut h);
    h.finish()
}

/// Remember the shifts of a snippet of `src` compiled at its script position.
pub(crate) fn remember(src: &str, shifts: &[Shift]) {
    if shifts.is_empty() {
        return;
    }
    let mut map = SHIFTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let known = map.entry(key(src)).or_default();
    for s in shifts {
        if !known.contains(s) {
            known.push(*s);
        }
    }
    ANY_SHIFTS.store(true, Ordering::Relaxed);
}

/// A snippet compiled as written (not padded): its text for Rhai, with the shifts of any
/// literal that grew remembered under the snippet's own text, where `position::span_at`
/// looks them up.
pub(crate) fn for_snippet(code: &str) -> Cow<'_, str> {
    let r = rewrite(code);
    if matches!(r.text, Cow::Owned(_)) {
        remember(code, &r.shifts);
    }
    r.text
}

/// A position of a snippet compiled at its script position, mapped to the script's.
pub(crate) fn in_script(src: &str, pos: rhai::Position) -> rhai::Position {
    if !ANY_SHIFTS.load(Ordering::Relaxed) {
        return pos;
    }
    let map = SHIFTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    map.get(&key(src)).map_or(pos, |s| unshift(s, pos))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw(s: &str) -> String {
        rewrite(s).text.into_owned()
    }

    #[test]
    fn strings_become_strings_of_the_same_length() {
        assert_eq!(rw("it == 'abc'"), "it == \"abc\"");
        assert_eq!(rw("x + ''"), "x + \"\"");
        assert_eq!(rw(r#"'say "hi"'"#), r#"`say "hi"`"#);
        assert_eq!(rw(r"it.split('\d')"), r"it.split(`\d`)");
        for s in ["it == 'abc'", r"'a\b'", "'a\"b'", "f('x y', 'z')"] {
            assert_eq!(rw(s).len(), s.len(), "{s}");
        }
    }

    #[test]
    fn characters_strings_and_comments_are_left_alone() {
        for s in [
            "it + '!'",
            r"'\n'",
            r"'\''",
            r"'\\'",
            r"'\u00e9'",
            "'é'",
            "\"it's\"",
            "`it's ${ x + \"'\" } and 'y'`",
            "// it's\nx",
            "/* it's /* nested */ 'a' */ x",
            "#\"it's\"#",
            "#{ a: 'b' }",
        ] {
            assert_eq!(rw(s), s, "{s}");
        }
        assert_eq!(rw("`${ 'ab' }`"), "`${ \"ab\" }`");
        assert_eq!(rw("#{ a: 'bc' }"), "#{ a: \"bc\" }");
    }

    #[test]
    fn only_a_string_with_both_kinds_of_quote_grows_and_is_mapped_back() {
        let r = rewrite("f('a\"`b', 1) + nope");
        assert_eq!(r.text, "f(#\"a\"`b\"#, 1) + nope");
        let nope = r.text.find("nope").unwrap() + 1;
        let p = r.original(rhai::Position::new(1, u16::try_from(nope).unwrap()));
        assert_eq!(
            p.position(),
            Some("f('a\"`b', 1) + nope".find("nope").unwrap() + 1)
        );
        assert_eq!(rw("'\"#`'"), "##\"\"#`\"##");
    }

    #[test]
    fn rewritten_text_compiles_to_the_raw_text() {
        let e = rhai::Engine::new();
        for (src, want) in [
            ("'hello world'", "hello world"),
            ("''", ""),
            (r"'C:\dir'", r"C:\dir"),
            ("'say \"hi\"'", "say \"hi\""),
            ("'a\"`b ${x}'", "a\"`b ${x}"),
            ("'\"#'", "\"#"),
            ("'two\nlines'", "two\nlines"),
            ("'\nlead \\ \"'", "\nlead \\ \""),
        ] {
            let got: String = e.eval(&rw(src)).unwrap_or_else(|er| panic!("{src}: {er}"));
            assert_eq!(got, want, "{src}");
        }
        let c: char = e.eval(&rw(r"'\''")).unwrap();
        assert_eq!(c, '\'');
    }

    #[test]
    fn backtick_escapes_become_what_they_stand_for() {
        let e = rhai::Engine::new();
        for (src, want) in [
            (r"`a\nb`", "a\nb"),
            (r"`a\tb`", "a\tb"),
            (r"`a\\nb`", "a\\nb"),
            (r"`a\`b`", "a`b"),
            (r"`a\${1}`", "a${1}"),
            (r"`a\$b`", "a$b"),
            (r"`\d+ ${1 + 1}\n`", "\\d+ 2\n"),
            (r"`a``b\n`", "a`b\n"),
            ("`two\nlines\\n`", "two\nlines\n"),
            (r"`${ `in\n` }`", "in\n"),
            (r"'a\nb'", r"a\nb"),
        ] {
            let got: String = e.eval(&rw(src)).unwrap_or_else(|er| panic!("{src}: {er}"));
            assert_eq!(got, want, "{src}");
        }
        assert_eq!(rw(r#""a\n" + `b`"#), r#""a\n" + `b`"#);
    }

    #[test]
    fn positions_after_a_backtick_escape_are_mapped_back() {
        let src = r"`a\nb\tc` + nope";
        let r = rewrite(src);
        let nope = r.text.find("nope").unwrap() + 1;
        let p = r.original(rhai::Position::new(1, u16::try_from(nope).unwrap()));
        assert_eq!(p.position(), Some(src.find("nope").unwrap() + 1));
    }
}
