//! Rhai reports positions as line/column of the text it compiled. flow compiles each
//! snippet padded with the newlines and spaces that precede it in the script, so Rhai's
//! line/column *are* the script's; these helpers build the padding and map back to bytes.
//! The padded text is also where single-quoted strings are rewritten (`quotes`).

use crate::Span;

/// `code` preceded by whitespace so that it starts at `span.start`'s line and column, with
/// its single-quoted strings rewritten for Rhai (positions kept, or remembered for `span_at`).
pub(crate) fn padded(src: &str, span: Span, code: &str) -> String {
    let text = pad(src, span, code);
    let r = super::quotes::rewrite(&text);
    match r.text {
        std::borrow::Cow::Owned(s) => {
            super::quotes::remember(src, &r.shifts);
            s
        }
        std::borrow::Cow::Borrowed(_) => text,
    }
}

fn pad(src: &str, span: Span, code: &str) -> String {
    let before = src.get(..span.start).unwrap_or("");
    let line = before.matches('\n').count();
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count());
    let mut s = String::with_capacity(line + col + code.len());
    s.extend(std::iter::repeat_n('\n', line));
    s.extend(std::iter::repeat_n(' ', col));
    s.push_str(code);
    s
}

/// The byte offset of 1-based `line`/`col` in `src`.
pub(crate) fn offset(src: &str, line: usize, col: usize) -> Option<usize> {
    let mut start = 0;
    for _ in 1..line {
        start += src.get(start..)?.find('\n')? + 1;
    }
    let l = src.get(start..)?;
    let within = l
        .char_indices()
        .nth(col.saturating_sub(1))
        .map_or(l.len(), |(i, _)| i);
    Some(start + within)
}

/// A span of one token at a Rhai position, if it maps into `src`.
pub(crate) fn span_at(src: &str, pos: rhai::Position) -> Option<Span> {
    let pos = super::quotes::in_script(src, pos);
    let (line, col) = (pos.line()?, pos.position().unwrap_or(1));
    let at = offset(src, line, col)?;
    let rest = src.get(at..)?;
    let len = rest
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(rest.len(), |(i, _)| i)
        .max(rest.chars().next().map_or(0, char::len_utf8));
    Some(Span::new(at, at + len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_round_trips() {
        let src = "let a = 1\nfrom xs | map { it.foo() }\n";
        let at = src.find("it.foo").unwrap();
        let p = padded(src, Span::new(at, at + 8), "it.foo()");
        let line = p.matches('\n').count() + 1;
        let col = p.rsplit('\n').next().unwrap().find('i').unwrap() + 1;
        assert_eq!(offset(src, line, col), Some(at));
    }
}
