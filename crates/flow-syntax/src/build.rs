//! Turns pest's parse tree into the AST, resolving what the grammar alone cannot:
//! whether `xs.push(4)` is Rhai (xs is a variable) or a command (`foo.sh`).

use super::ast::{
    Command, Ident, Join, LetValue, Pipeline, RedirectKind, Rhai, Spawn, SpawnBody, Stage,
    StageKind, Stmt, StmtKind, Word, WordPart,
};
use super::parse_error::{ParseError, ParseErrorKind};
use super::parser::{FlowParser, Rule};
use crate::Span;
use pest::iterators::{Pair, Pairs};
use pest::Parser;
use std::collections::HashSet;

mod commands;
mod stages;
use std::time::Duration;

type P<'a> = Pair<'a, Rule>;

/// Most `else if` arms one `if` may have: each arm is a level deeper in the tree, and walking
/// 20,000 of them overflowed the stack (500 are accepted; pest's own guard stops a debug
/// build near 900).
pub(crate) const MAX_ELSE_IF: usize = 1_000;

/// Builds AST nodes from pairs; collects errors instead of stopping at the first.
pub(crate) struct Builder<'s> {
    src: &'s str,
    /// Byte offset of the parsed text within `src` (non-zero when re-parsing a statement).
    offset: usize,
    /// Names declared by `let`/`for` so far (and `args`).
    vars: HashSet<String>,
    /// Names looked up in `vars` and not found, while building the second half of a script
    /// before the first half's names are known (`None`: not recorded).
    misses: Option<Vec<String>>,
    pub(crate) errors: Vec<ParseError>,
    /// The shell's `$1`, `$(…)`… in the words of the command being built: errors unless the
    /// command hands them to a program that reads them (`sh "…"`, `bash -c`, `awk`).
    dollars: Vec<super::foreign::Foreign>,
}

/// Operators that, after a variable at statement start, make the statement a Rhai
/// expression rather than a program of that name with arguments.
const OPERATORS: &[&str] = &[
    "+", "-", "*", "/", "%", "**", "==", "!=", "<=", ">=", "&&", "||", "??", "..", "..=",
];

/// `x`, `x * 10`, `x > 3`: a command whose words read as a value (its program a variable).
fn is_value_expression(c: &Command) -> bool {
    let op = |w: &Word| w.literal().is_some_and(|t| OPERATORS.contains(&t.as_str()));
    match (c.args.first(), c.redirects.as_slice()) {
        (None, []) => true,
        (Some(first), []) => op(first),
        // `n > 3`, `n < 3`: comparisons the grammar read as redirects.
        (None, [r]) => matches!(r.kind, RedirectKind::Out | RedirectKind::In),
        _ => false,
    }
}

/// Whether the whole word is one quoted string: `"done"`, `'raw'`, `"n = ${n}"`.
fn is_quoted(w: &Word) -> bool {
    matches!(
        w.parts.as_slice(),
        [WordPart::Quoted(_) | WordPart::Interp(_)]
    )
}

/// `42`, `1_000`, `2.5`, `1e3`: a number, which no program is named (`7z` is one, and not a
/// number). A block such as `spawn { sleep(1); 42 }` ends with its value.
fn is_number(w: &str) -> bool {
    let (mantissa, exp) = match w.find(['e', 'E']) {
        Some(i) => (&w[..i], Some(w[i + 1..].trim_start_matches(['+', '-']))),
        None => (w, None),
    };
    let digits = |t: &str| {
        t.starts_with(|c: char| c.is_ascii_digit())
            && t.chars().all(|c| c.is_ascii_digit() || c == '_')
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    digits(int) && frac.is_none_or(digits) && exp.is_none_or(digits)
}

/// Keyword tokens: present in the tree only so that keywords match whole words.
fn is_kw(r: Rule) -> bool {
    matches!(
        r,
        Rule::kw_fn
            | Rule::kw_let
            | Rule::kw_from
            | Rule::kw_spawn
            | Rule::kw_daemon
            | Rule::kw_join
            | Rule::kw_timeout
            | Rule::kw_on_interrupt
            | Rule::kw_grace
            | Rule::kw_pool
            | Rule::kw_exec
            | Rule::kw_map
            | Rule::kw_filter
            | Rule::kw_each
            | Rule::kw_flat_map
            | Rule::kw_take
            | Rule::kw_skip
            | Rule::kw_batch
            | Rule::kw_sort
            | Rule::kw_by
            | Rule::kw_uniq
            | Rule::kw_count
            | Rule::kw_count_by
            | Rule::kw_sum
            | Rule::kw_first
            | Rule::kw_last
            | Rule::kw_collect
            | Rule::kw_reduce
            | Rule::kw_lines
            | Rule::kw_text
            | Rule::kw_json
            | Rule::kw_to_json
            | Rule::kw_into
            | Rule::kw_unchecked
            | Rule::kw_ordered
            | Rule::kw_unordered
            | Rule::kw_chunk
            | Rule::kw_retries
            | Rule::kw_on_error
            | Rule::kw_progress
            | Rule::kw_log
            | Rule::kw_resume
            | Rule::kw_if
            | Rule::kw_else
            | Rule::kw_for
            | Rule::kw_try
            | Rule::kw_catch
            | Rule::kw_finally
            | Rule::kw_select
            | Rule::kw_as
            | Rule::kw_throw
            | Rule::kw_in
            | Rule::kw_cancel
            | Rule::kw_cpus
            | Rule::kw_on
            | Rule::kw_slurm
            | Rule::kw_sh
    )
}

/// Children of a pair without keyword tokens, as they come (no list is made).
fn kid_iter(p: P<'_>) -> impl Iterator<Item = P<'_>> {
    p.into_inner()
        .filter(|c| !is_kw(c.as_rule()) && c.as_rule() != Rule::EOI)
}

/// Children of a pair without keyword tokens, where they are wanted by position.
fn kids(p: P<'_>) -> Vec<P<'_>> {
    kid_iter(p).collect()
}

/// The first child of a pair that is not a keyword token.
fn first_kid(p: P<'_>) -> Option<P<'_>> {
    kid_iter(p).next()
}

impl<'s> Builder<'s> {
    pub(crate) fn new(src: &'s str, offset: usize) -> Self {
        let vars = ["args"].iter().map(|s| (*s).to_string()).collect();
        Builder {
            src,
            offset,
            vars,
            misses: None,
            errors: vec![],
            dollars: vec![],
        }
    }

    /// Variables that exist before the text (a host's, earlier REPL entries').
    pub(crate) fn declare(&mut self, names: &[String]) {
        self.vars.extend(names.iter().cloned());
    }

    /// A builder for statements further into a script than those another builder takes,
    /// built at the same time: it records each name it finds undeclared, for [`Self::agrees`].
    pub(crate) fn recording(src: &'s str, offset: usize) -> Self {
        Builder {
            misses: Some(vec![]),
            ..Builder::new(src, offset)
        }
    }

    /// Whether `later` (a [`Self::recording`] builder of the statements right after this
    /// one's) built them as this one would have: no name it found undeclared was declared
    /// here. (A name it found declared is declared here too: it starts from `args` alone.)
    pub(crate) fn agrees(&self, later: &Builder<'_>) -> bool {
        later
            .misses
            .iter()
            .flatten()
            .all(|n| !self.vars.contains(n))
    }

    /// Take over `later`'s declarations and errors (its statements come after this one's).
    pub(crate) fn absorb(&mut self, later: Builder<'_>) {
        self.vars.extend(later.vars);
        self.errors.extend(later.errors);
    }

    /// Whether `name` is a declared variable (recorded when it is not, see `misses`).
    fn has_var(&mut self, name: &str) -> bool {
        let hit = self.vars.contains(name);
        if !hit {
            if let Some(m) = &mut self.misses {
                m.push(name.to_string());
            }
        }
        hit
    }

    fn span(&self, p: &P<'_>) -> Span {
        Span::from_pest(p.as_span(), self.offset)
    }

    fn ident(&self, p: &P<'_>) -> Ident {
        Ident {
            name: p.as_str().to_string(),
            span: self.span(p),
        }
    }

    fn rhai(&self, p: &P<'_>) -> Rhai {
        // Expressions end where the grammar stops; trailing blanks are not part of them.
        let text = p.as_str();
        let trimmed = text.trim_end();
        let span = self.span(p);
        Rhai {
            code: trimmed.to_string(),
            span: Span::new(span.start, span.start + trimmed.len()),
        }
    }

    fn err(&mut self, span: Span, kind: ParseErrorKind) {
        self.errors.push(ParseError::new(span, kind));
    }

    pub(crate) fn script(&mut self, mut pairs: Pairs<'_, Rule>) -> Vec<Stmt> {
        let Some(script) = pairs.next() else {
            return vec![];
        };
        self.stmts(script)
    }

    /// Spans of the pairs built next are `offset` further into the script.
    pub(crate) fn set_offset(&mut self, offset: usize) {
        self.offset = offset;
    }

    fn stmts(&mut self, p: P<'_>) -> Vec<Stmt> {
        kid_iter(p).filter_map(|s| self.stmt(s)).collect()
    }

    /// One statement, from its pair (also a top-level one of `syntax/steps.rs`).
    pub(super) fn stmt(&mut self, p: P<'_>) -> Option<Stmt> {
        let span = self.span(&p);
        let kind = match p.as_rule() {
            Rule::fn_def => {
                let mut k = kid_iter(p.clone());
                let name = self.ident(&k.next()?);
                let params = kid_iter(k.next()?).map(|x| self.ident(&x)).collect();
                StmtKind::Fn {
                    name,
                    params,
                    code: self.rhai(&p),
                }
            }
            Rule::let_stmt => {
                let mut k = kid_iter(p);
                let name = self.ident(&k.next()?);
                let v = k.next()?;
                let value = match v.as_rule() {
                    Rule::spawn_expr => LetValue::Spawn(self.spawn(v)),
                    Rule::join_expr => LetValue::Join(self.join(v)),
                    Rule::pipeline_like => LetValue::Pipeline(self.pipeline(v)),
                    Rule::rhai_block => LetValue::Expr(self.block(&v)),
                    _ => LetValue::Expr(self.rhai(&v)),
                };
                self.vars.insert(name.name.clone());
                StmtKind::Let { name, value }
            }
            Rule::assign_stmt => {
                let k = kids(p.clone());
                let name = self.ident(&k[0]);
                if !self.has_var(&name.name) {
                    return self.reparse_as_pipeline(&p);
                }
                let op = k[1].as_str().to_string();
                StmtKind::Assign {
                    name,
                    op,
                    expr: self.rhai(&k[2]),
                }
            }
            Rule::call_stmt => StmtKind::Rhai(self.rhai(&p)),
            Rule::dotted_stmt => {
                let k = kids(p.clone());
                let head = k[0].as_str().to_string();
                if !self.has_var(&head) {
                    return self.reparse_as_pipeline(&p);
                }
                StmtKind::Rhai(self.rhai(&p))
            }
            Rule::spawn_stmt => StmtKind::Spawn(self.spawn(first_kid(p)?)),
            Rule::join_stmt => StmtKind::Join(self.join(first_kid(p)?)),
            Rule::cancel_stmt => StmtKind::Cancel(kid_iter(p).map(|c| self.ident(&c)).collect()),
            Rule::on_interrupt => {
                let mut grace = None;
                let mut body = vec![];
                for c in kid_iter(p) {
                    match c.as_rule() {
                        Rule::stmt_block => body = self.stmts(c),
                        _ => grace = self.duration(&c),
                    }
                }
                StmtKind::OnInterrupt { grace, body }
            }
            Rule::if_stmt => self.if_stmt(p, 0),
            Rule::value_stmt => StmtKind::Rhai(self.rhai(&p)),
            Rule::select_stmt => {
                let mut arms = vec![];
                let mut timeout = None;
                for arm in kid_iter(p) {
                    let k = kids(arm.clone());
                    match arm.as_rule() {
                        Rule::select_from => {
                            let chan = self.rhai(&k[0]);
                            let var = self.ident(&k[1]);
                            self.vars.insert(var.name.clone());
                            let body = self.stmts(k[2].clone());
                            arms.push(crate::ast::SelectArm { chan, var, body });
                        }
                        _ => {
                            let d = self.duration(&k[0]);
                            let body = self.stmts(k[1].clone());
                            if let Some(d) = d {
                                timeout = Some((d, body));
                            }
                        }
                    }
                }
                StmtKind::Select { arms, timeout }
            }
            Rule::try_stmt => {
                let mut k = kids(p);
                let finally = match k.last() {
                    Some(f) if f.as_rule() == Rule::finally_part => {
                        let f = k.pop().and_then(|f| first_kid(f));
                        Some(f.map(|b| self.stmts(b)).unwrap_or_default())
                    }
                    _ => None,
                };
                let body = self.stmts(k[0].clone());
                let (var, handler) = match (k.get(1), k.get(2)) {
                    (Some(n), Some(h)) => {
                        let var = self.ident(n);
                        self.vars.insert(var.name.clone());
                        (Some(var), Some(self.stmts(h.clone())))
                    }
                    (Some(h), None) => (None, Some(self.stmts(h.clone()))),
                    _ if finally.is_some() => (None, None),
                    _ => {
                        let end = span.end;
                        self.err(
                            Span::new(span.start, (span.start + 3).min(end)),
                            ParseErrorKind::TryWithoutCatch,
                        );
                        return None;
                    }
                };
                StmtKind::Try {
                    body,
                    var,
                    catches: handler.is_some(),
                    handler: handler.unwrap_or_default(),
                    finally,
                }
            }
            Rule::throw_stmt => match first_kid(p).as_ref() {
                Some(e) => StmtKind::Throw(self.rhai(e)),
                None => {
                    self.err(span, ParseErrorKind::ThrowWithoutValue);
                    return None;
                }
            },
            Rule::for_stmt => {
                let k = kids(p);
                let var = self.ident(&k[0]);
                let iter = self.cond(&k[1]);
                self.vars.insert(var.name.clone());
                let body = self.stmts(k[2].clone());
                StmtKind::For { var, iter, body }
            }
            Rule::pipeline => {
                let pl = self.pipeline(p.clone());
                // A lone variable name is its value (as in a REPL), not a program of that name;
                // so is a variable followed by an operator (`i * 10`, `n > 3`: a block's value).
                let lone = match pl.stages.as_slice() {
                    [Stage {
                        kind: StageKind::Command(c),
                        ..
                    }] if pl.source.is_none()
                        && c.env.is_empty()
                        && !c.caret
                        && !c.shell
                        && !c.unchecked
                        && is_value_expression(c) =>
                    {
                        match c.program.literal() {
                            Some(w) if is_number(&w) || self.has_var(&w) => Some(w),
                            // A quoted string alone is its value (`spawn { sleep(1); "done" }`);
                            // a program named by a quoted word is run with `^"my prog"`.
                            _ if is_quoted(&c.program) => Some(String::new()),
                            _ => None,
                        }
                    }
                    _ => None,
                };
                match lone {
                    Some(_) => StmtKind::Rhai(self.rhai(&p)),
                    None => StmtKind::Pipeline(pl),
                }
            }
            _ => return None,
        };
        Some(Stmt { span, kind })
    }

    /// `foo.sh | wc`, `echo = hi`: the head is no variable, so the statement is a command.
    fn reparse_as_pipeline(&mut self, p: &P<'_>) -> Option<Stmt> {
        let span = self.span(p);
        let text = p.as_str();
        match FlowParser::parse(Rule::pipeline_only, text) {
            Ok(mut pairs) => {
                let only = pairs.next()?;
                let mut sub = Builder {
                    src: self.src,
                    offset: span.start,
                    vars: std::mem::take(&mut self.vars),
                    misses: self.misses.take(),
                    errors: vec![],
                    dollars: vec![],
                };
                let pl = first_kid(only).map(|x| sub.pipeline(x));
                self.vars = sub.vars;
                self.misses = sub.misses;
                self.errors.extend(sub.errors);
                Some(Stmt {
                    span,
                    kind: StmtKind::Pipeline(pl?),
                })
            }
            Err(e) => {
                let pos = super::parser::pipeline_stop(text, &e.location) + span.start;
                // `Channel.of(…)`: another language's spelling, with flow's.
                if let Some(f) = super::foreign::at_stop(self.src, pos) {
                    self.errors.push(f.into());
                    return None;
                }
                let found = super::parser::found_at(self.src, pos);
                self.err(
                    Span::new(pos, (pos + 1).min(self.src.len()).max(pos)),
                    ParseErrorKind::Unexpected {
                        expected: "a command or a variable".into(),
                        found,
                    },
                );
                None
            }
        }
    }

    /// An `if` statement; `arms`: how many `else if` arms came before it in its chain (each
    /// one is a level deeper: past the nesting limit the chain is an error, not a stack
    /// overflow here or in whatever walks the tree after).
    fn if_stmt(&mut self, p: P<'_>, arms: usize) -> StmtKind {
        let k = kids(p);
        let command = (k[0].as_rule() == Rule::if_command).then(|| {
            let span = self.span(&k[0]);
            let parts = kids(k[0].clone());
            let negate = parts[0].as_rule() == Rule::if_not;
            let stages = parts
                .into_iter()
                .filter(|x| x.as_rule() != Rule::if_not)
                .filter_map(|x| self.stage(x))
                .collect();
            let command = Pipeline {
                span,
                source: None,
                stages,
                redirects: vec![],
            };
            (negate, command)
        });
        let cond = self.cond(&k[0]);
        let then = self.stmts(k[1].clone());
        let otherwise = k.get(2).map(|e| match e.as_rule() {
            Rule::if_stmt if arms >= MAX_ELSE_IF => {
                let at = self.span(e).start;
                self.err(
                    Span::new(at, at + 2),
                    ParseErrorKind::LongElseIf { limit: MAX_ELSE_IF },
                );
                vec![]
            }
            Rule::if_stmt => {
                let span = self.span(e);
                vec![Stmt {
                    span,
                    kind: self.if_stmt(e.clone(), arms + 1),
                }]
            }
            _ => self.stmts(e.clone()),
        });
        if let Some((negate, command)) = command {
            return StmtKind::IfCommand {
                negate,
                command,
                then,
                otherwise,
            };
        }
        StmtKind::If {
            cond,
            then,
            otherwise,
        }
    }

    /// A condition or iterable: a Rhai block `{ … }` or a bare expression.
    fn cond(&self, p: &P<'_>) -> Rhai {
        match p.as_rule() {
            Rule::rhai_block => self.block(p),
            _ => self.rhai(p),
        }
    }

    /// The body of a Rhai block `{ body }`.
    fn block(&self, p: &P<'_>) -> Rhai {
        let body = p.clone().into_inner().next();
        match body {
            Some(b) => Rhai {
                code: b.as_str().to_string(),
                span: self.span(&b),
            },
            None => Rhai {
                code: String::new(),
                span: self.span(p),
            },
        }
    }

    fn spawn(&mut self, p: P<'_>) -> Spawn {
        let span = self.span(&p);
        let mut daemon = false;
        let mut body = SpawnBody::Block(vec![]);
        for c in kid_iter(p) {
            match c.as_rule() {
                Rule::daemon => daemon = true,
                Rule::stmt_block => body = SpawnBody::Block(self.stmts(c)),
                _ => body = SpawnBody::Pipeline(self.pipeline(c)),
            }
        }
        Spawn { span, daemon, body }
    }

    fn join(&mut self, p: P<'_>) -> Join {
        let span = self.span(&p);
        let mut names = vec![];
        let mut timeout = None;
        let mut settle = false;
        for c in kid_iter(p) {
            match c.as_rule() {
                Rule::name => names.push(self.ident(&c)),
                Rule::settle => settle = true,
                _ => timeout = self.duration(&c),
            }
        }
        Join {
            span,
            names,
            timeout,
            settle,
        }
    }

    fn duration(&mut self, p: &P<'_>) -> Option<Duration> {
        let text = p.as_str();
        let span = self.span(p);
        if p.as_rule() == Rule::duration {
            let (num, unit) = text.split_at(text.find(|c: char| c.is_ascii_alphabetic())?);
            let n: f64 = num.parse().ok()?;
            let secs = match unit {
                "ms" => n / 1000.0,
                "s" => n,
                "m" => n * 60.0,
                _ => n * 3600.0,
            };
            if let Ok(d) = Duration::try_from_secs_f64(secs) {
                return Some(d);
            }
        }
        self.err(
            span,
            ParseErrorKind::BadDuration {
                text: text.to_string(),
            },
        );
        None
    }
}

#[cfg(test)]
mod tests {
    use crate::parse_error::ParseErrorKind;

    fn chain(arms: usize) -> String {
        let mut s = String::from("let x = 1\nif x > 0 { echo a }");
        for i in 0..arms {
            s.push_str(&format!(" else if x > {i} {{ echo b }}"));
        }
        s.push('\n');
        s
    }

    #[test]
    fn an_else_if_chain_up_to_the_limit_parses() {
        assert!(crate::parse(&chain(super::MAX_ELSE_IF)).is_ok());
    }

    #[test]
    fn a_longer_else_if_chain_is_an_error_at_the_arm_past_the_limit() {
        let src = chain(super::MAX_ELSE_IF + 1);
        let e = crate::parse(&src).unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            matches!(e[0].kind, ParseErrorKind::LongElseIf { limit: 1_000 }),
            "{e:?}"
        );
        let last_if = src.rfind("if x").unwrap();
        assert_eq!((e[0].span.start, e[0].span.end), (last_if, last_if + 2));
    }

    #[test]
    fn a_very_long_else_if_chain_is_an_error_not_a_stack_overflow() {
        // 20,000 arms overflowed the main thread's 8 MiB stack while building the tree.
        let src = chain(20_000);
        let run = std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(move || crate::parse(&src).is_err())
            .unwrap();
        assert!(run.join().unwrap());
    }

    #[test]
    fn a_number_alone_is_a_value_and_a_program_named_with_digits_is_not() {
        for w in ["42", "1_000", "2.5", "1e3", "1.5e-3"] {
            assert!(super::is_number(w), "{w}");
        }
        for w in ["7z", "1.", ".5", "1e", "e3", "42a", "1.2.3", "x1"] {
            assert!(!super::is_number(w), "{w}");
        }
        let last = |src: &str| {
            crate::parse(src)
                .expect("parses")
                .stmts
                .pop()
                .expect("a stmt")
        };
        assert!(matches!(
            last("sleep(1); 42").kind,
            crate::ast::StmtKind::Rhai(_)
        ));
        assert!(matches!(last("6 * 7").kind, crate::ast::StmtKind::Rhai(_)));
        for value in [
            r#"sleep(1); "done""#,
            "'raw'",
            r#""n = ${1 + 1}""#,
            r#""a" + "b""#,
        ] {
            assert!(
                matches!(last(value).kind, crate::ast::StmtKind::Rhai(_)),
                "{value}"
            );
        }
        assert!(matches!(
            last(r#""my prog" --flag"#).kind,
            crate::ast::StmtKind::Pipeline(_)
        ));
        assert!(matches!(
            last("7z a x.7z f").kind,
            crate::ast::StmtKind::Pipeline(_)
        ));
    }
}
