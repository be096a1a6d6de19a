//! `sh "…"` without injection. No interpolated value is ever part of the script text that
//! `/bin/sh` parses: the values are passed as positional arguments, copied into variables
//! `__flow_1`, `__flow_2`, … by a prologue, and each interpolation in the text becomes a
//! reference to its variable, written for sh's quoting context at that place:
//!
//! | context | written as |
//! |---|---|
//! | unquoted (also inside `$(…)`, `` `…` ``, `(…)`) | `"${__flow_1}"` (an array: `"${__flow_1}" "${__flow_2}"`) |
//! | inside `"…"` or an unquoted here-document | `${__flow_1}` |
//! | inside `'…'` | `'"${__flow_1}"'` (close, insert, reopen) |
//!
//! Contexts where no reference can work are check errors: `$((…))` (sh would evaluate the
//! value as arithmetic), a here-document with a quoted delimiter (nothing expands there), a
//! delimiter that is interpolated, and a backslash right before an interpolation.
//!
//! The context only depends on the literal text, so the checker finds problems before the
//! script runs. A tracker that misjudged a context could only misrender a value (print the
//! reference literally, or split it), never run it: the value is not in the text.

use crate::ast::WordPart;

/// Where an interpolation sits in the sh text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ctx {
    /// Outside quotes; `whole_word` when blanks or operators surround it (arrays allowed).
    Unquoted { whole_word: bool },
    /// Inside `"…"`, or the body of an unquoted here-document.
    Double,
    /// Inside `'…'`.
    Single,
}

/// An interpolation that cannot be made safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Problem {
    /// Inside `$((…))`.
    Arithmetic,
    /// In the body of `<<'EOF'` / `<<"EOF"` / `<<\EOF`.
    QuotedHereDoc,
    /// In the delimiter word of a here-document.
    HereDocDelimiter,
    /// Right after a backslash that would escape the reference.
    Backslash,
}

impl Problem {
    /// What is wrong, for a diagnostic.
    pub(crate) fn message(self) -> &'static str {
        match self {
            Problem::Arithmetic => {
                "a value interpolated into `$((…))` would be evaluated by sh as arithmetic (code)"
            }
            Problem::QuotedHereDoc => {
                "a value interpolated into a here-document with a quoted delimiter cannot expand"
            }
            Problem::HereDocDelimiter => "a here-document delimiter cannot be interpolated",
            Problem::Backslash => "a backslash right before an interpolation would escape it",
        }
    }

    /// How to fix it.
    pub(crate) fn help(self) -> &'static str {
        match self {
            Problem::Arithmetic => "compute it in flow: `${a + b}`, or outside `$((…))`",
            Problem::QuotedHereDoc => {
                "use an unquoted delimiter (`<<EOF`): the value still arrives as data"
            }
            Problem::HereDocDelimiter => "write the delimiter literally: `<<EOF`",
            Problem::Backslash => "remove the backslash, or write `\\\\\\\\` for a literal one",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tok {
    Ch(char),
    Hole(usize),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum St {
    Top,
    Single,
    Double,
    Back,
    /// `$(` or `(`.
    Paren,
    /// `$((`, with its inner paren depth.
    Arith(u32),
    /// `${`, inside double quotes or not.
    Brace {
        in_double: bool,
    },
    Comment,
}

fn tokens(parts: &[WordPart]) -> Vec<Tok> {
    let mut v = vec![];
    let mut hole = 0;
    for p in parts {
        match p {
            WordPart::Bare(s) | WordPart::Quoted(s) => v.extend(s.chars().map(Tok::Ch)),
            _ => {
                v.push(Tok::Hole(hole));
                hole += 1;
            }
        }
    }
    v
}

fn boundary(t: Option<&Tok>) -> bool {
    match t {
        None => true,
        Some(Tok::Ch(c)) => matches!(
            c,
            ' ' | '\t' | '\n' | ';' | '&' | '|' | '(' | ')' | '<' | '>' | '`'
        ),
        Some(Tok::Hole(_)) => false,
    }
}

struct HereDoc {
    delim: String,
    quoted: bool,
    strip_tabs: bool,
}

/// The context of each interpolation of an `sh` string, in order, or the first that cannot
/// be made safe (its index among the interpolations).
pub(crate) fn contexts(parts: &[WordPart]) -> Result<Vec<Ctx>, (usize, Problem)> {
    let t = tokens(parts);
    let mut out = vec![];
    let mut stack = vec![St::Top];
    let mut pending: Vec<HereDoc> = vec![];
    let ch = |i: usize| match t.get(i) {
        Some(Tok::Ch(c)) => Some(*c),
        _ => None,
    };
    let mut i = 0;
    while i < t.len() {
        let st = *stack.last().unwrap_or(&St::Top);
        let c = match t[i] {
            Tok::Hole(h) => {
                let ctx = match st {
                    St::Single => Ctx::Single,
                    St::Double | St::Brace { in_double: true } => Ctx::Double,
                    St::Arith(_) => return Err((h, Problem::Arithmetic)),
                    St::Brace { in_double: false } => Ctx::Unquoted { whole_word: false },
                    St::Top | St::Back | St::Paren | St::Comment => Ctx::Unquoted {
                        whole_word: boundary(i.checked_sub(1).and_then(|j| t.get(j)))
                            && boundary(t.get(i + 1)),
                    },
                };
                out.push(ctx);
                i += 1;
                continue;
            }
            Tok::Ch(c) => c,
        };
        let next = ch(i + 1);
        i += 1;
        match st {
            St::Single => {
                if c == '\'' {
                    stack.pop();
                }
                continue;
            }
            St::Comment => {
                if c == '\n' {
                    stack.pop();
                    i -= 1; // the newline ends the line for here-documents too
                }
                continue;
            }
            _ => {}
        }
        let in_double = matches!(st, St::Double | St::Brace { in_double: true });
        match c {
            '\\' => match t.get(i) {
                Some(Tok::Hole(h)) => return Err((*h, Problem::Backslash)),
                Some(_) => i += 1,
                None => {}
            },
            '"' if st == St::Double => {
                stack.pop();
            }
            '"' => stack.push(St::Double),
            '\'' if !in_double => stack.push(St::Single),
            '`' if st == St::Back => {
                stack.pop();
            }
            '`' => stack.push(St::Back),
            '$' if next == Some('(') && ch(i + 1) == Some('(') => {
                stack.push(St::Arith(0));
                i += 2;
            }
            '$' if next == Some('(') => {
                stack.push(St::Paren);
                i += 1;
            }
            '$' if next == Some('{') => {
                stack.push(St::Brace { in_double });
                i += 1;
            }
            '}' if matches!(st, St::Brace { .. }) => {
                stack.pop();
            }
            '(' | ')' if matches!(st, St::Arith(_)) => {
                let St::Arith(d) = st else { continue };
                stack.pop();
                if c == '(' {
                    stack.push(St::Arith(d + 1));
                } else if d > 0 {
                    stack.push(St::Arith(d - 1));
                } else if next == Some(')') {
                    i += 1;
                }
            }
            _ if in_double || matches!(st, St::Arith(_)) => {}
            '(' => stack.push(St::Paren),
            ')' if st == St::Paren => {
                stack.pop();
            }
            '#' if boundary(i.checked_sub(2).and_then(|j| t.get(j)))
                && !matches!(st, St::Brace { .. }) =>
            {
                stack.push(St::Comment);
            }
            '<' if next == Some('<') && ch(i + 1) != Some('<') => {
                i += 1;
                let strip_tabs = ch(i) == Some('-');
                if strip_tabs {
                    i += 1;
                }
                while matches!(ch(i), Some(' ' | '\t')) {
                    i += 1;
                }
                let (doc, end) = delimiter(&t, i, strip_tabs)?;
                pending.push(doc);
                i = end;
            }
            '<' if next == Some('<') => i += 2, // bash's `<<<` here-string: an ordinary word follows
            '\n' if !pending.is_empty() => {
                i = bodies(&t, i, std::mem::take(&mut pending), &mut out)?;
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The delimiter word of a here-document starting at `i`; returns it and where it ends.
fn delimiter(
    t: &[Tok],
    mut i: usize,
    strip_tabs: bool,
) -> Result<(HereDoc, usize), (usize, Problem)> {
    let mut delim = String::new();
    let mut quoted = false;
    let mut quote: Option<char> = None;
    while let Some(tok) = t.get(i) {
        let c = match *tok {
            Tok::Hole(h) => return Err((h, Problem::HereDocDelimiter)),
            Tok::Ch(c) => c,
        };
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => delim.push(c),
            (None, '\'' | '"') => {
                quoted = true;
                quote = Some(c);
            }
            (None, '\\') => {
                quoted = true;
                if let Some(Tok::Ch(n)) = t.get(i + 1) {
                    delim.push(*n);
                    i += 1;
                }
            }
            (None, c) if boundary(Some(&Tok::Ch(c))) => break,
            (None, c) => delim.push(c),
        }
        i += 1;
    }
    let doc = HereDoc {
        delim,
        quoted,
        strip_tabs,
    };
    Ok((doc, i))
}

/// Skip the bodies of `docs`, which start after the newline at `i`; interpolations in them
/// are recorded in `out`. Returns the index after the last body.
fn bodies(
    t: &[Tok],
    mut i: usize,
    docs: Vec<HereDoc>,
    out: &mut Vec<Ctx>,
) -> Result<usize, (usize, Problem)> {
    for doc in docs {
        loop {
            if i >= t.len() {
                return Ok(i);
            }
            // One line: [i, end).
            let end = t[i..]
                .iter()
                .position(|x| *x == Tok::Ch('\n'))
                .map_or(t.len(), |p| i + p);
            let line = &t[i..end];
            let text: Option<String> = line
                .iter()
                .map(|x| match x {
                    Tok::Ch(c) => Some(*c),
                    Tok::Hole(_) => None,
                })
                .collect();
            if let Some(text) = text {
                let text = if doc.strip_tabs {
                    text.trim_start_matches('\t')
                } else {
                    &text
                };
                if text == doc.delim {
                    i = end + 1;
                    break;
                }
            }
            for x in line {
                if let Tok::Hole(h) = x {
                    if doc.quoted {
                        return Err((*h, Problem::QuotedHereDoc));
                    }
                    out.push(Ctx::Double);
                }
            }
            i = end + 1;
        }
    }
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parts from text where `@` marks an interpolation.
    fn parts(s: &str) -> Vec<WordPart> {
        let mut v = vec![];
        for (k, piece) in s.split('@').enumerate() {
            if k > 0 {
                v.push(WordPart::Var(crate::ast::Ident {
                    name: "x".into(),
                    span: crate::Span::default(),
                }));
            }
            v.push(WordPart::Quoted(piece.into()));
        }
        v
    }

    fn ctx(s: &str) -> Result<Vec<Ctx>, (usize, Problem)> {
        contexts(&parts(s))
    }

    const U: Ctx = Ctx::Unquoted { whole_word: true };
    const UP: Ctx = Ctx::Unquoted { whole_word: false };

    #[test]
    fn quote_contexts() {
        assert_eq!(
            ctx("echo @ x@y '@' \"@\" 'a'@"),
            Ok(vec![U, UP, Ctx::Single, Ctx::Double, UP])
        );
        assert_eq!(
            ctx("echo \"it's @\" 'say \"@\"'"),
            Ok(vec![Ctx::Double, Ctx::Single])
        );
        assert_eq!(ctx("echo \\'@"), Ok(vec![UP]));
        assert_eq!(
            ctx("echo \"$(echo @ '@')\" `echo @`"),
            Ok(vec![U, Ctx::Single, U])
        );
        assert_eq!(ctx("echo \"${v:-@}\" ${v:-@}"), Ok(vec![Ctx::Double, UP]));
        assert_eq!(ctx("f() { echo @; }; (cd /; ls @)"), Ok(vec![U, U]));
        assert_eq!(ctx("# it's a comment\necho @"), Ok(vec![U]));
        assert_eq!(ctx("echo a#b'@'"), Ok(vec![Ctx::Single]));
    }

    #[test]
    fn here_documents() {
        assert_eq!(
            ctx("cat <<EOF\nhi '@'\nEOF\necho '@'"),
            Ok(vec![Ctx::Double, Ctx::Single])
        );
        assert_eq!(
            ctx("cat <<-EOF; echo @\n\thi @\n\tEOF\necho @"),
            Ok(vec![U, Ctx::Double, U])
        );
        assert_eq!(ctx("cat <<'EOF'\n@\nEOF"), Err((0, Problem::QuotedHereDoc)));
        assert_eq!(ctx("cat <<\\EOF\n@\nEOF"), Err((0, Problem::QuotedHereDoc)));
        assert_eq!(ctx("cat <<@\nx\n"), Err((0, Problem::HereDocDelimiter)));
        assert_eq!(ctx("cat <<< @"), Ok(vec![U]));
    }

    #[test]
    fn unsafe_contexts() {
        assert_eq!(ctx("echo $(( @ + 1 ))"), Err((0, Problem::Arithmetic)));
        assert_eq!(ctx("echo $(( (1) )) @"), Ok(vec![U]));
        assert_eq!(ctx("echo @ \\@"), Err((1, Problem::Backslash)));
        assert_eq!(ctx("echo \"\\@\""), Err((0, Problem::Backslash)));
        assert_eq!(ctx("echo '\\@'"), Ok(vec![Ctx::Single]));
    }
}
