//! A script parsed and built a statement at a time (a long one in two halves at once), with
//! the same tree as the whole parse; `None` wherever the whole parse must be run instead.

use super::ast::{Ast, Stmt};
use super::build::Builder;
use super::parse_error::ParseError;
use super::parser::{FlowParser, Rule};
use pest::Parser;

/// A script this long is parsed in two halves at once (on a machine with a second core).
const TWO_HALVES: usize = 64 << 10;

/// Parse and build `text` a statement at a time, as `script` would: pest's list of tokens
/// then holds one statement, not the whole script, and stays in the cache (a 10,000-line
/// script's list is tens of MB, each page of it faulted in fresh). `None` where `script`
/// must be parsed instead: wherever a statement or a separator fails to parse, so that a
/// script with an error gets exactly the report it always got.
///
/// This accepts only what `script` accepts, with the same statements: `script` is the head,
/// then `statement sk (sep sk statement sk)* sk sep? sk EOI`; each step here is one
/// `statement sk (sep sk)?`, and the script must end where a step does.
pub(super) fn by_statement(text: &str, known: &[String]) -> Option<Result<Ast, Vec<ParseError>>> {
    let two =
        text.len() >= TWO_HALVES && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
    by_statement_in(text, if two { cut_at(text) } else { None }, known)
}

/// [`by_statement`], in two halves at once if `cut` is a place to cut (past the head).
///
/// The second half starts at a line that looks like a statement's start, on a thread of its
/// own. Its steps are the ones the first half would go on with exactly when the first half's
/// steps end on that line's start (a step's parse depends only on the text from where it
/// starts), and its statements are built the same when no name it found undeclared was
/// declared in the first half (the only thing a statement's build takes from those before
/// it). Otherwise the first half goes on alone, as without a cut.
fn by_statement_in(
    text: &str,
    cut: Option<usize>,
    known: &[String],
) -> Option<Result<Ast, Vec<ParseError>>> {
    let head = FlowParser::parse(Rule::script_head, text).ok()?.next()?;
    let start = head.as_span().end();
    let mut b = Builder::new(text, start);
    b.declare(known);
    let mut stmts = vec![];
    match cut.filter(|&c| c > start && c < text.len()) {
        None => {
            steps(text, start, text.len(), &mut b, &mut stmts)?;
        }
        Some(mid) => std::thread::scope(|scope| {
            // (No thread to be had: the first half goes on alone.)
            let second = std::thread::Builder::new()
                .spawn_scoped(scope, move || {
                    let mut b2 = Builder::recording(text, mid);
                    b2.declare(known);
                    let mut st2 = vec![];
                    let end = steps(text, mid, text.len(), &mut b2, &mut st2);
                    (end, b2, st2)
                })
                .ok();
            let at = steps(text, start, mid, &mut b, &mut stmts);
            // (A panic there is a defect; the first half then goes on alone.)
            let joined = second.and_then(|h| h.join().ok());
            let at = at?;
            match joined {
                Some((Some(_), later, st2)) if at == mid && b.agrees(&later) => {
                    b.absorb(later);
                    stmts.extend(st2);
                }
                _ => {
                    steps(text, at, text.len(), &mut b, &mut stmts)?;
                }
            }
            Some(())
        })?,
    }
    Some(if b.errors.is_empty() {
        Ok(Ast { stmts })
    } else {
        Err(b.errors)
    })
}

/// Parse and build the steps of `text` from `pos` until one ends at or past `until`; where
/// the last one ended, or `None` if a step failed to parse or lacked its separator.
fn steps(
    text: &str,
    mut pos: usize,
    until: usize,
    b: &mut Builder<'_>,
    stmts: &mut Vec<Stmt>,
) -> Option<usize> {
    while pos < until {
        let step = FlowParser::parse(Rule::stmt_step, &text[pos..])
            .ok()?
            .next()?;
        let end = pos + step.as_span().end();
        b.set_offset(pos);
        let mut separated = false;
        for p in step.into_inner() {
            if p.as_rule() == Rule::step_sep {
                separated = true;
            } else if let Some(s) = b.stmt(p) {
                stmts.push(s);
            }
        }
        // Another statement follows only after a separator.
        if end < text.len() && !separated {
            return None;
        }
        pos = end;
    }
    Some(pos)
}

/// Where to cut `text` in two (near its middle): the start of a line that begins with a
/// letter at its first column, after a line that ends in nothing that continues a
/// statement (`|`, `\`, an opening bracket, `,`). Only a guess: see [`by_statement_in`]
/// for why a wrong one costs time, never a different tree.
fn cut_at(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = text.len() / 2;
    let limit = (i + (64 << 10)).min(b.len());
    while i < limit {
        let nl = i + memchr::memchr(b'\n', &b[i..limit])?;
        let at = nl + 1;
        let before = text[..nl].trim_end_matches([' ', '\t', '\r']);
        let continues = before.ends_with(['|', '\\', '{', '(', '[', ',']);
        if at < b.len() && b[at].is_ascii_alphabetic() && !continues {
            return Some(at);
        }
        i = at;
    }
    None
}

#[cfg(test)]
mod tests {
    /// A script parsed a statement at a time has the tree `script` gives it, and one that
    /// `script` refuses is never taken that way (it gets the whole parse and its report).
    #[test]
    fn statement_at_a_time_is_the_whole_parse() {
        let (mut stepped, mut whole) = (0, 0);
        for text in crate::test_scripts::case_variants() {
            let want = format!(
                "{:?}",
                super::super::parser::whole(&text, &text, &Default::default())
            );
            // In two halves wherever a cut is found, as a long script is parsed.
            match super::by_statement_in(&text, super::cut_at(&text), &[]) {
                Some(got) => {
                    assert_eq!(format!("{got:?}"), want, "{text:?}");
                    stepped += 1;
                }
                None => {
                    assert!(
                        super::super::parser::tests::guarded(&text).is_none(),
                        "not taken a step at a time: {text:?}"
                    );
                    whole += 1;
                }
            }
        }
        assert!(
            stepped > 1000 && whole > 1000,
            "{stepped} stepped, {whole} whole"
        );
    }

    /// A cut anywhere (at every line start of every case script, inside statements too)
    /// gives the whole parse's tree: the second half's work is used only where the first
    /// half's steps end right at the cut.
    #[test]
    fn a_cut_anywhere_gives_the_whole_tree() {
        let mut cuts = 0;
        for src in crate::test_scripts::case_scripts() {
            let want = format!(
                "{:?}",
                super::super::parser::whole(&src, &src, &Default::default())
            );
            for (i, _) in src.match_indices('\n') {
                if let Some(got) = super::by_statement_in(&src, Some(i + 1), &[]) {
                    assert_eq!(format!("{got:?}"), want, "cut at {}: {src:?}", i + 1);
                    cuts += 1;
                }
            }
        }
        assert!(cuts > 1000, "{cuts} cuts");
    }

    /// A name declared in the first half changes how the second half reads a statement
    /// that uses it (`xs.push(4)`: Rhai if `xs` is a variable, else the program `xs.push`
    /// with an argument): the halves give the whole parse's tree all the same.
    #[test]
    fn halves_see_the_names_declared_before_them() {
        let filler = "ls -l | wc -l\n".repeat(200);
        for (uses, read_as) in [
            ("xs.push(4)", "Rhai(Rhai { code: \"xs.push(4)\""),
            ("xs += [4]", "Assign {"),
            ("xs", "Rhai(Rhai { code: \"xs\""),
            ("n * 2", "Rhai(Rhai { code: \"n * 2\""),
        ] {
            let text = format!("let xs = [1]\nlet n = 1\n{filler}{uses}\n{filler}");
            let want = format!(
                "{:?}",
                super::super::parser::whole(&text, &text, &Default::default())
            );
            assert!(super::cut_at(&text).is_some());
            let got = super::by_statement_in(&text, super::cut_at(&text), &[]).expect("parses");
            assert_eq!(format!("{got:?}"), want, "{uses}");
            assert!(want.contains(read_as), "{uses}: {want}");
        }
    }
}
