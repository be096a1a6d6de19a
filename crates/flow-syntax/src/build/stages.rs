//! The pipeline, its stages and pool options, from their pairs.

use super::commands::unescape_dq;
use super::{first_kid, kid_iter, kids, Builder, P};
use crate::ast::{
    Amount, Callable, Pipeline, Pool, PoolOpts, PoolSize, PoolWork, Sink, Source, Stage, StageKind,
};
use crate::foreign;
use crate::parse_error::ParseErrorKind;
use crate::parser::Rule;
use crate::Span;

impl Builder<'_> {
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

    pub(super) fn stage(&mut self, p: P<'_>) -> Option<Stage> {
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
                // `count=0`: a shell assignment, not the program `count`.
                if let Some((message, help)) = foreign::assignment(p.as_str().trim_end()) {
                    self.err(span, ParseErrorKind::Foreign { message, help });
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

    pub(super) fn callable(&self, p: &P<'_>) -> Callable {
        let inner = p.clone().into_inner().next();
        match inner {
            Some(i) if i.as_rule() == Rule::rhai_block => Callable::Block(self.block(&i)),
            Some(i) => Callable::Fn(self.ident(&i)),
            None => Callable::Fn(self.ident(p)),
        }
    }

    pub(super) fn amount(&mut self, p: &P<'_>) -> Amount {
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

    pub(super) fn item_stage(&mut self, p: P<'_>) -> Option<StageKind> {
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

    pub(super) fn sink(&mut self, p: P<'_>) -> Option<StageKind> {
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

    pub(super) fn pool(&mut self, p: P<'_>) -> Option<Pool> {
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

    pub(super) fn pool_opt(&mut self, o: P<'_>, opts: &mut PoolOpts) {
        let span = self.span(&o);
        let rule = o.as_rule();
        let k = kids(o);
        match rule {
            Rule::ordered_opt => opts.unordered = false,
            Rule::unordered_opt => opts.unordered = true,
            Rule::chunk_opt => opts.chunk = Some(self.amount(&k[0])),
            Rule::retries_opt => opts.retries = Some(self.amount(&k[0])),
            Rule::backoff_opt => {
                opts.backoff = self.duration(&k[0]);
                opts.backoff_span = Some(span);
            }
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
    pub(super) fn on_error_opt(&mut self, k: &[P<'_>], opts: &mut PoolOpts) {
        let mode = k[0].as_str();
        match mode {
            "fail" => (opts.skip_errors, opts.continue_errors) = (false, false),
            "skip" => (opts.skip_errors, opts.continue_errors) = (true, false),
            "continue" => (opts.skip_errors, opts.continue_errors) = (false, true),
            "keep" => (opts.skip_errors, opts.continue_errors) = (false, false),
            other => {
                let s = self.span(&k[0]);
                self.err(s, ParseErrorKind::BadOnError { text: other.into() });
                return;
            }
        }
        opts.keep_errors = mode == "keep";
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
