//! Turns pest's parse tree into the AST, resolving what the grammar alone cannot:
//! whether `xs.push(4)` is Rhai (xs is a variable) or a command (`foo.sh`).

use super::ast::{
    Amount, Callable, Command, Ident, Join, LetValue, Pipeline, Pool, PoolOpts, PoolSize, PoolWork,
    Redirect, RedirectKind, Rhai, Sink, Source, Spawn, SpawnBody, Stage, StageKind, Stmt, StmtKind,
    Word, WordPart,
};
use super::parse_error::{ParseError, ParseErrorKind};
use super::parser::{FlowParser, Rule};
use crate::Span;
use pest::iterators::{Pair, Pairs};
use pest::Parser;
use std::collections::HashSet;
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
    pub(crate) errors: Vec<ParseError>,
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
            errors: vec![],
        }
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

    /// One statement of a script parsed a statement at a time (a pair under `stmt_step`).
    pub(crate) fn stmt_at_top(&mut self, p: P<'_>) -> Option<Stmt> {
        self.stmt(p)
    }

    fn stmts(&mut self, p: P<'_>) -> Vec<Stmt> {
        kid_iter(p).filter_map(|s| self.stmt(s)).collect()
    }

    fn stmt(&mut self, p: P<'_>) -> Option<Stmt> {
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
                if !self.vars.contains(&name.name) {
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
                if !self.vars.contains(&head) {
                    return self.reparse_as_pipeline(&p);
                }
                StmtKind::Rhai(self.rhai(&p))
            }
            Rule::spawn_stmt => StmtKind::Spawn(self.spawn(first_kid(p)?)),
            Rule::join_stmt => StmtKind::Join(self.join(first_kid(p)?)),
            Rule::cancel_stmt => StmtKind::Cancel(self.ident(&first_kid(p)?)),
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
            Rule::try_stmt => {
                let k = kids(p);
                let body = self.stmts(k[0].clone());
                let (var, handler) = match (k.get(1), k.get(2)) {
                    (Some(n), Some(h)) => {
                        let var = self.ident(n);
                        self.vars.insert(var.name.clone());
                        (Some(var), self.stmts(h.clone()))
                    }
                    (Some(h), None) => (None, self.stmts(h.clone())),
                    _ => {
                        let end = span.end;
                        self.err(
                            Span::new(span.start, (span.start + 3).min(end)),
                            ParseErrorKind::TryWithoutCatch,
                        );
                        return None;
                    }
                };
                StmtKind::Try { body, var, handler }
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
                        c.program
                            .literal()
                            .filter(|w| self.vars.contains(w) || is_number(w))
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
                    errors: vec![],
                };
                let pl = first_kid(only).map(|x| sub.pipeline(x));
                self.vars = sub.vars;
                self.errors.extend(sub.errors);
                Some(Stmt {
                    span,
                    kind: StmtKind::Pipeline(pl?),
                })
            }
            Err(e) => {
                let pos = super::parser::pipeline_stop(text, &e.location) + span.start;
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
        for c in kid_iter(p) {
            match c.as_rule() {
                Rule::name => names.push(self.ident(&c)),
                _ => timeout = self.duration(&c),
            }
        }
        Join {
            span,
            names,
            timeout,
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

    pub(crate) fn pipeline(&mut self, p: P<'_>) -> Pipeline {
        let span = self.span(&p);
        let mut pl = Pipeline {
            span,
            source: None,
            stages: vec![],
            redirects: vec![],
        };
        for c in kid_iter(p) {
            match c.as_rule() {
                Rule::source => {
                    let s = self.span(&c);
                    if let Some(e) = first_kid(c) {
                        pl.source = Some(Source {
                            span: s,
                            expr: self.cond(&e),
                        });
                    }
                }
                Rule::redirects => {
                    for r in kid_iter(c) {
                        pl.redirects.push(self.redirect(r));
                    }
                }
                _ => {
                    if let Some(st) = self.stage(c) {
                        pl.stages.push(st);
                    }
                }
            }
        }
        // Redirects written after a final command belong to that command.
        if let Some(Stage {
            kind: StageKind::Command(cmd),
            ..
        }) = pl.stages.last_mut()
        {
            cmd.redirects.append(&mut pl.redirects);
        }
        pl
    }

    fn stage(&mut self, p: P<'_>) -> Option<Stage> {
        let span = self.span(&p);
        let kind = match p.as_rule() {
            Rule::item_stage => self.item_stage(first_kid(p)?)?,
            Rule::sink_stage => self.sink(first_kid(p)?)?,
            Rule::pool_stage => StageKind::Pool(Box::new(self.pool(p)?)),
            Rule::command | Rule::caret_command => StageKind::Command(self.command(p)),
            Rule::keyword_misuse => {
                let k = p
                    .as_str()
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_string();
                let rest = p.as_str()[k.len()..].trim();
                let names_only = rest.split(',').all(|w| {
                    let w = w.trim();
                    !w.is_empty() && w.chars().all(|c| c.is_alphanumeric() || c == '_')
                });
                if matches!(k.as_str(), "join" | "cancel")
                    && (rest.is_empty() || rest.ends_with(',') || names_only)
                {
                    self.err(span, ParseErrorKind::MissingTaskNames { keyword: k });
                    return None;
                }
                let fix = format!("^{}", p.as_str().trim_end());
                self.err(span, ParseErrorKind::KeywordAsCommand { keyword: k, fix });
                return None;
            }
            _ => return None,
        };
        Some(Stage { span, kind })
    }

    fn callable(&self, p: &P<'_>) -> Callable {
        let inner = p.clone().into_inner().next();
        match inner {
            Some(i) if i.as_rule() == Rule::rhai_block => Callable::Block(self.block(&i)),
            Some(i) => Callable::Fn(self.ident(&i)),
            None => Callable::Fn(self.ident(p)),
        }
    }

    fn amount(&mut self, p: &P<'_>) -> Amount {
        let span = self.span(p);
        let Some(inner) = p.clone().into_inner().next() else {
            return Amount::Int(0, span);
        };
        match inner.as_rule() {
            Rule::integer => {
                if let Ok(n) = inner.as_str().parse::<i64>() {
                    Amount::Int(n, span)
                } else {
                    self.err(
                        span,
                        ParseErrorKind::BadNumber {
                            text: inner.as_str().into(),
                        },
                    );
                    Amount::Int(0, span)
                }
            }
            Rule::rhai_block => Amount::Expr(self.block(&inner)),
            _ => Amount::Expr(self.rhai(&inner)),
        }
    }

    fn item_stage(&mut self, p: P<'_>) -> Option<StageKind> {
        let rule = p.as_rule();
        let k0 = first_kid(p);
        Some(match rule {
            Rule::map_stage => StageKind::Map(self.callable(k0.as_ref()?)),
            Rule::filter_stage => StageKind::Filter(self.callable(k0.as_ref()?)),
            Rule::flat_map_stage => StageKind::FlatMap(self.callable(k0.as_ref()?)),
            Rule::each_stage => StageKind::Each(self.callable(k0.as_ref()?)),
            Rule::take_stage => StageKind::Take(self.amount(k0.as_ref()?)),
            Rule::skip_stage => StageKind::Skip(self.amount(k0.as_ref()?)),
            Rule::batch_stage => StageKind::Batch(self.amount(k0.as_ref()?)),
            Rule::sort_stage => StageKind::Sort(k0.as_ref().map(|c| self.callable(c))),
            Rule::uniq_stage => StageKind::Uniq,
            Rule::lines_stage => StageKind::Lines(k0.as_ref().map(|s| lines_sep(s.as_str()))),
            Rule::json_stage => StageKind::Json,
            Rule::to_json_stage => StageKind::ToJson,
            Rule::into_stage => StageKind::Into(self.ident(k0.as_ref()?)),
            _ => return None,
        })
    }

    fn sink(&mut self, p: P<'_>) -> Option<StageKind> {
        let rule = p.as_rule();
        let mut k = kid_iter(p);
        let s = match rule {
            Rule::count_sink => Sink::Count,
            Rule::count_by_sink => Sink::CountBy(self.callable(&k.next()?)),
            Rule::sum_sink => Sink::Sum,
            Rule::first_sink => Sink::First,
            Rule::last_sink => Sink::Last,
            Rule::collect_sink => Sink::Collect,
            Rule::text_sink => Sink::Text,
            Rule::reduce_sink => {
                let init = k.next()?.into_inner().next()?;
                let init = if init.as_rule() == Rule::rhai_block {
                    self.block(&init)
                } else {
                    self.rhai(&init)
                };
                Sink::Reduce {
                    init,
                    f: self.callable(&k.next()?),
                }
            }
            _ => return None,
        };
        Some(StageKind::Sink(s))
    }

    fn pool(&mut self, p: P<'_>) -> Option<Pool> {
        let mut size = PoolSize::Cpus;
        let mut work = None;
        let mut opts = PoolOpts::default();
        for c in kid_iter(p) {
            match c.as_rule() {
                Rule::pool_size => {
                    let span = self.span(&c);
                    let inner = c.clone().into_inner().next()?;
                    size = match inner.as_rule() {
                        Rule::integer => match inner.as_str().parse() {
                            Ok(n) => PoolSize::Fixed(n, span),
                            Err(_) => {
                                self.err(
                                    span,
                                    ParseErrorKind::BadNumber {
                                        text: c.as_str().into(),
                                    },
                                );
                                PoolSize::Cpus
                            }
                        },
                        Rule::rhai_block => PoolSize::Expr(self.block(&inner)),
                        _ => PoolSize::Cpus,
                    };
                }
                Rule::pool_map => work = Some(PoolWork::Map(self.callable(&first_kid(c)?))),
                Rule::pool_exec => {
                    let inner = first_kid(c)?;
                    work = Some(if inner.as_rule() == Rule::stmt_block {
                        let span = self.span(&inner);
                        PoolWork::ExecBlock {
                            stmts: self.stmts(inner),
                            span,
                        }
                    } else {
                        PoolWork::Exec(self.command(inner))
                    });
                }
                Rule::pool_opt => self.pool_opt(first_kid(c)?, &mut opts),
                _ => {}
            }
        }
        Some(Pool {
            size,
            work: work?,
            opts,
        })
    }

    fn pool_opt(&mut self, o: P<'_>, opts: &mut PoolOpts) {
        let span = self.span(&o);
        let rule = o.as_rule();
        let k = kids(o);
        match rule {
            Rule::ordered_opt => opts.unordered = false,
            Rule::unordered_opt => opts.unordered = true,
            Rule::chunk_opt => opts.chunk = Some(self.amount(&k[0])),
            Rule::retries_opt => opts.retries = Some(self.amount(&k[0])),
            Rule::timeout_opt => opts.timeout = self.duration(&k[0]),
            Rule::on_error_opt => self.on_error_opt(&k, opts),
            Rule::progress_opt => opts.progress = true,
            Rule::log_opt => opts.log = Some(self.word(&k[0])),
            Rule::resume_opt => {
                opts.resume = true;
                opts.resume_span = Some(span);
            }
            Rule::slurm_opt => {
                let mut settings = vec![];
                for s in k {
                    let sk = kids(s);
                    settings.push((sk[0].as_str().to_string(), self.word(&sk[1])));
                }
                opts.slurm = Some(settings);
            }
            _ => {}
        }
    }

    /// `on_error MODE [N | N%] [soon | now]`: a threshold only goes with `fail`.
    fn on_error_opt(&mut self, k: &[P<'_>], opts: &mut PoolOpts) {
        let mode = k[0].as_str();
        match mode {
            "fail" => (opts.skip_errors, opts.continue_errors) = (false, false),
            "skip" => (opts.skip_errors, opts.continue_errors) = (true, false),
            "continue" => (opts.skip_errors, opts.continue_errors) = (false, true),
            other => {
                let s = self.span(&k[0]);
                self.err(s, ParseErrorKind::BadOnError { text: other.into() });
                return;
            }
        }
        opts.halt = None;
        if k.len() == 1 {
            return;
        }
        if mode != "fail" {
            let s = Span::new(self.span(&k[1]).start, self.span(&k[k.len() - 1]).end);
            let text = format!("{mode} {}", s.text(self.src));
            self.err(s, ParseErrorKind::BadOnError { text });
            return;
        }
        let mut halt = crate::ast::Halt {
            count: 1,
            percent: false,
            soon: false,
        };
        for p in &k[1..] {
            let t = p.as_str();
            match p.as_rule() {
                Rule::halt_when => halt.soon = t == "soon",
                _ => {
                    halt.percent = t.ends_with('%');
                    let digits = t.trim_end_matches('%');
                    match digits.parse::<u32>() {
                        Ok(n) if n >= 1 && (!halt.percent || n <= 100) => halt.count = n,
                        _ => {
                            let s = self.span(p);
                            self.err(
                                s,
                                ParseErrorKind::BadOnError {
                                    text: format!("fail {t}"),
                                },
                            );
                        }
                    }
                }
            }
        }
        opts.halt = Some(halt);
    }

    fn command(&mut self, p: P<'_>) -> Command {
        let mut cmd = Command {
            unchecked: false,
            env: vec![],
            program: Word {
                span: self.span(&p),
                parts: vec![],
            },
            caret: false,
            args: vec![],
            redirects: vec![],
            shell: false,
        };
        for c in kid_iter(p) {
            match c.as_rule() {
                Rule::sh_command => {
                    cmd.shell = true;
                    let span = self.span(&c);
                    cmd.program = Word {
                        span,
                        parts: vec![],
                    };
                    for x in kid_iter(c) {
                        match x.as_rule() {
                            Rule::redirect => cmd.redirects.push(self.redirect(x)),
                            Rule::unchecked => cmd.unchecked = true,
                            Rule::env_assign => cmd.env.push(self.env_assign(&x)),
                            _ => {
                                let span = self.span(&x);
                                cmd.args.push(Word {
                                    span,
                                    parts: vec![self.part(x)],
                                });
                            }
                        }
                    }
                }
                Rule::unchecked => cmd.unchecked = true,
                Rule::env_assign => cmd.env.push(self.env_assign(&c)),
                Rule::program | Rule::any_program => {
                    for x in kid_iter(c.clone()) {
                        match x.as_rule() {
                            Rule::caret => cmd.caret = true,
                            _ => cmd.program = self.word(&x),
                        }
                    }
                }
                Rule::caret => cmd.caret = true,
                Rule::word => cmd.program = self.word(&c),
                Rule::arg => cmd.args.push(self.word(&c)),
                Rule::redirect => cmd.redirects.push(self.redirect(c)),
                _ => {}
            }
        }
        cmd
    }

    fn env_assign(&mut self, x: &P<'_>) -> (Ident, Word) {
        let k = kids(x.clone());
        let name = self.ident(&k[0]);
        let value = match k.get(1) {
            Some(v) => self.word(v),
            None => Word {
                span: self.span(x),
                parts: vec![],
            },
        };
        (name, value)
    }

    fn redirect(&mut self, p: P<'_>) -> Redirect {
        let span = self.span(&p);
        let k = kids(p);
        if k[0].as_rule() == Rule::err_to_out {
            return Redirect {
                span,
                kind: RedirectKind::ErrToOut,
                target: None,
            };
        }
        let kind = match k[0].as_str() {
            ">" => RedirectKind::Out,
            ">>" => RedirectKind::Append,
            "<" => RedirectKind::In,
            "2>" => RedirectKind::Err,
            _ => RedirectKind::ErrAppend,
        };
        Redirect {
            span,
            kind,
            target: k.get(1).map(|w| self.word(w)),
        }
    }

    fn word(&mut self, p: &P<'_>) -> Word {
        let span = self.span(p);
        let mut parts = vec![];
        for x in p.clone().into_inner() {
            if x.as_rule() == Rule::bare {
                parts.extend(split_bare(x.as_str()));
            } else {
                parts.push(self.part(x));
            }
        }
        Word { span, parts }
    }

    fn part(&mut self, p: P<'_>) -> WordPart {
        match p.as_rule() {
            Rule::bare => WordPart::Bare(p.as_str().into()),
            Rule::lone_dollar | Rule::dollar => WordPart::Quoted("$".into()),
            Rule::sq_string => WordPart::Quoted(
                p.into_inner()
                    .next()
                    .map_or(String::new(), |t| t.as_str().into()),
            ),
            Rule::var_ref => {
                let i = p.into_inner().next();
                match i {
                    Some(i) => WordPart::Var(self.ident(&i)),
                    None => WordPart::Quoted(String::new()),
                }
            }
            Rule::expr_ref => match p.clone().into_inner().next() {
                Some(b) => WordPart::Expr(Rhai {
                    code: b.as_str().into(),
                    span: self.span(&b),
                }),
                None => WordPart::Quoted(String::new()),
            },
            Rule::dq_string => {
                let mut parts: Vec<WordPart> = vec![];
                for x in p.into_inner() {
                    let piece = match x.as_rule() {
                        Rule::dq_text => WordPart::Quoted(x.as_str().into()),
                        Rule::dq_escape => WordPart::Quoted(unescape_dq(x.as_str())),
                        _ => self.part(x),
                    };
                    // Merge adjacent literal text.
                    if let (Some(WordPart::Quoted(prev)), WordPart::Quoted(s)) =
                        (parts.last_mut(), &piece)
                    {
                        prev.push_str(s);
                        continue;
                    }
                    parts.push(piece);
                }
                WordPart::Interp(parts)
            }
            _ => WordPart::Quoted(p.as_str().into()),
        }
    }
}

/// `a\ b` → `a b`; an escaped character is literal (never globbed), so it becomes quoted text.
fn split_bare(s: &str) -> Vec<WordPart> {
    let mut parts = vec![];
    let mut bare = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                if !bare.is_empty() {
                    parts.push(WordPart::Bare(std::mem::take(&mut bare)));
                }
                parts.push(WordPart::Quoted(n.to_string()));
            }
        } else {
            bare.push(c);
        }
    }
    if !bare.is_empty() {
        parts.push(WordPart::Bare(bare));
    }
    parts
}

/// The separator of `lines SEP`: `"\0"` (escapes decoded) or `'raw'`.
fn lines_sep(s: &str) -> String {
    let inner = &s[1..s.len() - 1];
    if s.starts_with('\'') {
        return inner.into();
    }
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) => out.push_str(&unescape_dq(&format!("\\{e}"))),
                None => out.push(c),
            },
            c => out.push(c),
        }
    }
    out
}

/// The escapes of double-quoted strings: `\n \t \" \\ \$`; others stay as written.
fn unescape_dq(s: &str) -> String {
    match s {
        "\\n" => "\n".into(),
        "\\t" => "\t".into(),
        "\\r" => "\r".into(),
        "\\0" => "\0".into(),
        "\\\"" => "\"".into(),
        "\\\\" => "\\".into(),
        "\\$" => "$".into(),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use crate::syntax::parse_error::ParseErrorKind;

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
        assert!(matches!(
            last("7z a x.7z f").kind,
            crate::ast::StmtKind::Pipeline(_)
        ));
    }
}
