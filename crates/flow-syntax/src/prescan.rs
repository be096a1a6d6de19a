//! A linear pre-pass over a script's brackets. It bounds nesting depth (so that the
//! recursive-descent parser can never overflow its stack) and finds the bracket a parse
//! error is really about (an unclosed `{` is reported where it was opened).

use super::parse_error::{ParseError, ParseErrorKind};
use crate::Span;

/// Deepest bracket nesting a script may have.
pub(crate) const MAX_DEPTH: usize = 128;

/// The UTF-8 byte-order mark some editors put at the start of a file.
const BOM: &[u8] = "\u{feff}".as_bytes();

/// What the bracket scan found.
#[derive(Debug, Default)]
pub(crate) struct Brackets {
    /// The innermost bracket still open at the end, with its closing char.
    pub(crate) unclosed: Option<(usize, char)>,
    /// The first closing bracket that matched nothing.
    pub(crate) unmatched: Option<(usize, char)>,
    /// A `/*` never closed.
    pub(crate) unclosed_comment: Option<usize>,
    /// A `"` or `` ` `` never closed.
    pub(crate) unclosed_string: Option<(usize, char)>,
    /// The block comments that start a word, `/*` to `*/` included: the grammar does not
    /// look for these (whether a `/*` is ever closed takes a scan to the end, which the
    /// grammar would repeat at every `/*`), the parser blanks them out instead.
    pub(crate) comments: Vec<(usize, usize)>,
}

impl Brackets {
    /// Imbalance of `{}` or `()`, which no valid script has (`[`/`]` may be glob text).
    pub(crate) fn error(&self, src_len: usize) -> Option<ParseError> {
        if let Some(at) = self.unclosed_comment {
            return Some(ParseError::new(
                Span::new(at, at + 2),
                ParseErrorKind::UnclosedText { what: "comment" },
            ));
        }
        if let Some((at, close @ ('}' | ')'))) = self.unmatched {
            return Some(ParseError::new(
                Span::new(at, at + 1),
                ParseErrorKind::Unmatched { close },
            ));
        }
        if let Some((open, close @ ('}' | ')'))) = self.unclosed {
            return Some(ParseError::new(
                Span::new(src_len, src_len),
                ParseErrorKind::Unclosed {
                    open: Span::new(open, open + 1),
                    close,
                },
            ));
        }
        None
    }
}

/// Scan `src`: fail on excessive depth, else report unbalanced brackets. A UTF-8 byte-order
/// mark at the start is ignored (as by the grammar).
pub(crate) fn scan(src: &str) -> Result<Brackets, ParseError> {
    let Some(rest) = src.as_bytes().strip_prefix(BOM) else {
        return scan_bytes(src.as_bytes());
    };
    let n = BOM.len();
    let shift = |o: Option<(usize, char)>| o.map(|(at, c)| (at + n, c));
    match scan_bytes(rest) {
        Ok(b) => Ok(Brackets {
            unclosed: shift(b.unclosed),
            unmatched: shift(b.unmatched),
            unclosed_comment: b.unclosed_comment.map(|at| at + n),
            unclosed_string: shift(b.unclosed_string),
            comments: b.comments.iter().map(|(s, e)| (s + n, e + n)).collect(),
        }),
        Err(e) => Err(ParseError::new(
            Span::new(e.span.start + n, e.span.end + n),
            e.kind,
        )),
    }
}

fn scan_bytes(b: &[u8]) -> Result<Brackets, ParseError> {
    let mut stack: Vec<(usize, u8)> = Vec::new();
    let mut out = Brackets::default();
    let mut no_close_after: Option<usize> = None;
    let mut i = 0;
    // The first line may be a shebang.
    if b.starts_with(b"#!") {
        while i < b.len() && b[i] != b'\n' {
            i += 1;
        }
    }
    while i < b.len() {
        let c = b[i];
        match c {
            b'"' | b'`' => {
                let end = skip_quoted(b, i, c);
                if end >= b.len() && !(end > i + 1 && b[end - 1] == c && !escaped_at(b, end - 1)) {
                    out.unclosed_string.get_or_insert((i, c as char));
                }
                i = end;
            }
            b'\'' => i = skip_quoted(b, i, c),
            // As in the grammar, `//` starts a comment only at the start of a word:
            // `https://x` is a word.
            b'/' if b.get(i + 1) == Some(&b'/') && word_start(b, i) => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            // `/*` never closed is a comment only where a statement could start; elsewhere
            // it is a word (`ls /*` globs).
            b'/' if b.get(i + 1) == Some(&b'*') && word_start(b, i) => {
                let start = i;
                let mut j = i + 2;
                // Once a `/*` found no `*/`, no later one will: do not scan again.
                if no_close_after.is_some() {
                    j = b.len();
                }
                while j < b.len() && !(b[j] == b'*' && b.get(j + 1) == Some(&b'/')) {
                    j += 1;
                }
                if j < b.len() {
                    i = j + 2;
                    out.comments.push((start, i));
                } else if line_start(b, i) {
                    out.unclosed_comment.get_or_insert(start);
                    i = b.len();
                } else {
                    no_close_after = Some(start);
                    i += 2;
                }
            }
            b'\\' => i += 2,
            b'{' | b'(' | b'[' => {
                stack.push((i, c));
                if stack.len() > MAX_DEPTH {
                    return Err(ParseError::new(
                        Span::new(i, i + 1),
                        ParseErrorKind::TooDeep { limit: MAX_DEPTH },
                    ));
                }
                i += 1;
            }
            b'}' | b')' | b']' => {
                let want = match c {
                    b'}' => b'{',
                    b')' => b'(',
                    _ => b'[',
                };
                match stack.last() {
                    Some(&(_, o)) if o == want => {
                        stack.pop();
                    }
                    _ => {
                        if out.unmatched.is_none() {
                            out.unmatched = Some((i, c as char));
                        }
                    }
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    if let Some(&(pos, o)) = stack.last() {
        let close = match o {
            b'{' => '}',
            b'(' => ')',
            _ => ']',
        };
        out.unclosed = Some((pos, close));
    }
    Ok(out)
}

/// Whether `i` starts a word: after a blank, a line start, an opening bracket or a `|`.
fn word_start(b: &[u8], i: usize) -> bool {
    i == 0
        || matches!(
            b[i - 1],
            b' ' | b'\t' | b'\n' | b'\r' | b';' | b'{' | b'(' | b'[' | b',' | b'|'
        )
}

/// Whether only blanks stand between the line's start and `i`.
fn line_start(b: &[u8], i: usize) -> bool {
    b[..i]
        .iter()
        .rev()
        .take_while(|c| **c != b'\n')
        .all(|c| *c == b' ' || *c == b'\t')
}

/// Whether the byte at `i` is escaped by an odd number of backslashes.
fn escaped_at(b: &[u8], i: usize) -> bool {
    let mut n = 0;
    let mut j = i;
    while j > 0 && b[j - 1] == b'\\' {
        n += 1;
        j -= 1;
    }
    n % 2 == 1
}

/// Index after the closing quote (or the end). Single quotes do not span lines, so that
/// an apostrophe in a comment-free word cannot swallow the rest of the script.
fn skip_quoted(b: &[u8], start: usize, q: u8) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' if q != b'\'' => i += 2,
            b'\n' if q == b'\'' => return i,
            x if x == q => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced() {
        let b = scan("map { \"}\" + `${ {a:1} }` } // }").unwrap();
        assert!(b.unclosed.is_none() && b.unmatched.is_none());
    }

    #[test]
    fn unclosed_reports_opener() {
        let b = scan("if x {\n ls\n").unwrap();
        assert_eq!(b.unclosed, Some((5, '}')));
    }

    #[test]
    fn urls_and_globs_are_not_comments() {
        let b = scan("spawn { curl -s https://x/a }\nls /*\n").unwrap();
        assert!(
            b.unclosed.is_none() && b.unclosed_comment.is_none(),
            "{b:?}"
        );
        let b = scan("ls\n  /* never closed\n").unwrap();
        assert_eq!(b.unclosed_comment, Some(5));
    }

    #[test]
    fn a_byte_order_mark_is_skipped_and_positions_stay_the_script_s() {
        let b = scan("\u{feff}#!/usr/bin/env flow (\nif x {\n").unwrap();
        assert_eq!(b.unclosed, Some((30, '}')));
        let b = scan("\u{feff}// a comment: (\nls\n").unwrap();
        assert!(b.unclosed.is_none(), "{b:?}");
    }

    #[test]
    fn unclosed_comments_are_scanned_for_once() {
        let src = format!(
            "/* a */ ls /* b */ x/* c */\necho {}\n",
            "/* ".repeat(200_000)
        );
        let start = std::time::Instant::now();
        let b = scan(&src).unwrap();
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
        assert!(b.unclosed_comment.is_none(), "{b:?}");
        // `x/*` starts no word: not a comment the prescan takes (Rhai text may).
        assert_eq!(b.comments, vec![(0, 7), (11, 18)]);
    }

    #[test]
    fn deep_nesting_is_an_error_not_an_overflow() {
        let src = "{".repeat(10_000);
        let e = scan(&src).unwrap_err();
        assert!(matches!(e.kind, ParseErrorKind::TooDeep { .. }));
    }
}
