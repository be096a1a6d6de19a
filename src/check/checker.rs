//! The checker: walks the AST, reports every problem at once, and builds the plan.

use super::fns::Fns;
use super::programs::{Lookup, Programs};
use super::scope::{Scopes, Var};
use super::{CheckError, CheckErrorKind as K};
use crate::ast::{
    Amount, Ast, Callable, Command, Ident, Join, LetValue, Pipeline, Pool, PoolSize, PoolWork,
    Rhai, Sink, Spawn, SpawnBody, Stage, StageKind, Stmt, StmtKind, Word, WordPart,
};
use crate::Span;
use std::borrow::Cow;

/// What the checker may assume beyond the script itself.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Variables that already exist (REPL entries, host-set variables).
    pub known_vars: Vec<String>,
    /// Host-registered functions: name and number of parameters.
    pub known_fns: Vec<(String, usize)>,
    /// Search path for programs (default: the `PATH` environment variable).
    pub path: Option<std::ffi::OsString>,
}

/// Check a script; on success return its plan (what the tests look at).
///
/// # Errors
/// Every problem found, in source order.
#[cfg(test)]
pub(crate) fn check(
    ast: &Ast,
    src: &str,
    opts: &CheckOptions,
) -> Result<super::Plan, Vec<CheckError>> {
    check_only(ast, src, opts).map(|warnings| super::Plan::build(ast, src, warnings))
}

/// Check a script without building its plan (what only `flow plan` and the REPL's `:plan`
/// show): on success, its warnings in source order.
///
/// # Errors
/// Every problem found, in source order.
pub(crate) fn check_only(
    ast: &Ast,
    src: &str,
    opts: &CheckOptions,
) -> Result<Vec<CheckError>, Vec<CheckError>> {
    let mut c = Checker::new(ast, src, opts);
    c.stmts(&ast.stmts);
    c.errors.extend(super::channels::check(&ast.stmts));
    let (mut warnings, mut errors): (Vec<_>, Vec<_>) =
        c.errors.into_iter().partition(CheckError::is_warning);
    errors.extend(super::rhai_syntax::check(ast, &opts.known_fns));
    super::traps::check(&ast.stmts, src, &mut errors, &mut warnings);
    if errors.is_empty() {
        warnings.sort_by_key(|e| e.span.start);
        Ok(warnings)
    } else {
        errors.sort_by_key(|e| e.span.start);
        Err(errors)
    }
}

struct Checker<'s> {
    src: &'s str,
    fns: Fns<'s>,
    scopes: Scopes<'s>,
    programs: Programs,
    slurm: super::slurm::SlurmCheck,
    /// Inside an `on slurm` job block: what runs on the node.
    on_node: Option<OnNode>,
    /// Checking the text of `sh "…"`: a `$name` there may have been meant for the shell.
    in_sh: bool,
    errors: Vec<CheckError>,
}

/// An `on slurm` job block (`exec { … } on slurm`) being checked: it runs as `flow -c` on a
/// Slurm node, where nothing declared outside it exists (only `it`, `seq` and `slot` are
/// bound there), nor the script's `fn`s.
struct OnNode {
    /// The block (a `fn` defined inside it goes with it).
    block: Span,
    /// The scopes open outside the block ([`Scopes::depth`]).
    depth: usize,
    /// Names from outside already reported in this block: each is reported once.
    reported: Vec<String>,
}

impl<'s> Checker<'s> {
    fn new(ast: &'s Ast, src: &'s str, opts: &'s CheckOptions) -> Self {
        Checker {
            src,
            fns: Fns::new(ast, &opts.known_fns),
            scopes: Scopes::new(&opts.known_vars),
            programs: Programs::new(opts.path.as_ref()),
            slurm: super::slurm::SlurmCheck::default(),
            on_node: None,
            in_sh: false,
            errors: vec![],
        }
    }

    fn error(&mut self, span: Span, kind: K) {
        self.errors.push(CheckError::new(span, kind));
    }

    fn stmts(&mut self, stmts: &'s [Stmt]) {
        for s in stmts {
            self.stmt(s);
        }
    }

    /// Statements in a scope of their own: what they declare is gone after them.
    fn block(&mut self, stmts: &'s [Stmt], with: Option<&'s Ident>) {
        self.scopes.push();
        if let Some(v) = with {
            self.scopes.declare(&v.name, Var::Maybe(Some(v.span)));
        }
        self.stmts(stmts);
        self.scopes.pop();
    }

    fn stmt(&mut self, s: &'s Stmt) {
        match &s.kind {
            StmtKind::Fn { .. } => {}
            StmtKind::Rhai(r) | StmtKind::Throw(r) => self.node_rhai(r),
            StmtKind::Let { name, value } => {
                let var = match value {
                    // A literal is no handle; anything else may hold some.
                    LetValue::Expr(e) if is_plain_literal(&e.code) => Var::Value(Some(name.span)),
                    LetValue::Expr(e) => {
                        self.node_rhai(e);
                        let programs = &mut self.programs;
                        self.errors
                            .extend(super::foreign::backtick_command(&name.name, e, |p| {
                                matches!(programs.lookup(p), Lookup::Found)
                            }));
                        Var::Maybe(Some(name.span))
                    }
                    LetValue::Pipeline(p) => {
                        self.pipeline(p);
                        Var::Value(Some(name.span))
                    }
                    LetValue::Spawn(sp) => {
                        self.spawn(sp);
                        Var::Task
                    }
                    LetValue::Join(j) => {
                        self.join(j);
                        Var::Value(Some(name.span))
                    }
                };
                self.scopes.declare(&name.name, var);
            }
            StmtKind::Assign { name, expr, .. } => {
                self.node_rhai(expr);
                if !self.captured(&name.name, name.span) && self.scopes.get(&name.name).is_none() {
                    self.error(
                        name.span,
                        K::AssignUndeclared {
                            name: name.name.clone(),
                        },
                    );
                }
            }
            StmtKind::Spawn(sp) => self.spawn(sp),
            StmtKind::Join(j) => self.join(j),
            StmtKind::Cancel(names) => names.iter().for_each(|n| self.task(n, "cancel")),
            StmtKind::OnInterrupt { body, .. } => self.block(body, None),
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                self.node_rhai(cond);
                self.block(then, None);
                if let Some(o) = otherwise {
                    self.block(o, None);
                }
            }
            StmtKind::For { var, iter, body } => {
                self.node_rhai(iter);
                self.block(body, Some(var));
            }
            StmtKind::IfCommand {
                command,
                then,
                otherwise,
                ..
            } => {
                self.pipeline(command);
                self.block(then, None);
                if let Some(o) = otherwise {
                    self.block(o, None);
                }
            }
            StmtKind::Try { body, var, handler } => {
                self.block(body, None);
                self.block(handler, var.as_ref());
            }
            StmtKind::Pipeline(p) => self.pipeline(p),
        }
    }

    fn spawn(&mut self, sp: &'s Spawn) {
        match &sp.body {
            SpawnBody::Block(b) => self.block(b, None),
            SpawnBody::Pipeline(p) => self.pipeline(p),
        }
    }

    fn join(&mut self, j: &Join) {
        for n in &j.names {
            self.task(n, "join");
        }
    }

    fn task(&mut self, name: &Ident, action: &str) {
        if self.captured(&name.name, name.span) {
            return;
        }
        let declared = match self.scopes.get(&name.name) {
            Some(Var::Task | Var::Unknown | Var::Maybe(_)) => return,
            Some(Var::Value(at)) => at,
            None => None,
        };
        let kind = K::NotATask {
            action: action.into(),
            name: name.name.clone(),
            declared,
        };
        self.error(name.span, kind);
    }

    fn pipeline(&mut self, p: &'s Pipeline) {
        if let Some(s) = &p.source {
            self.node_rhai(&s.expr);
        }
        let mut ended: Option<(Span, &'static str)> = None;
        let mut reported = false;
        for stage in &p.stages {
            // (Spans trimmed only for what they are needed for: most stages need none.)
            if let (Some((sink, sink_name)), false) = (ended, reported) {
                reported = true;
                let kind = K::StageAfterSink {
                    sink,
                    sink_name: sink_name.into(),
                };
                self.error(trim(stage.span, self.src), kind);
            }
            self.stage(stage);
            ended = ended.or_else(|| ending(stage).map(|n| (trim(stage.span, self.src), n)));
        }
        for r in &p.redirects {
            if let Some(w) = &r.target {
                self.word(w);
            }
        }
    }

    fn stage(&mut self, stage: &'s Stage) {
        match &stage.kind {
            StageKind::Command(c) => self.command(c),
            StageKind::Map(f) => self.callable(f, "map", 1),
            StageKind::Filter(f) => self.callable(f, "filter", 1),
            StageKind::FlatMap(f) => self.callable(f, "flat_map", 1),
            StageKind::Each(f) => self.callable(f, "each", 1),
            StageKind::Sort(Some(f)) => self.callable(f, "sort by", 1),
            StageKind::Take(a) => self.amount(a, "take", 0),
            StageKind::Skip(a) => self.amount(a, "skip", 0),
            StageKind::Batch(a) => self.amount(a, "batch", 1),
            StageKind::Into(ch) => self.var(ch),
            StageKind::Sink(Sink::Reduce { init, f }) => {
                self.node_rhai(init);
                self.callable(f, "reduce", 2);
            }
            StageKind::Sink(Sink::CountBy(f)) => self.callable(f, "count_by", 1),
            StageKind::Pool(pool) => self.pool(pool, stage.span),
            StageKind::Sort(None)
            | StageKind::Uniq
            | StageKind::Lines(_)
            | StageKind::Json
            | StageKind::ToJson
            | StageKind::Sink(_) => {}
        }
    }

    fn pool(&mut self, pool: &'s Pool, span: Span) {
        match &pool.size {
            PoolSize::Fixed(n, at) if *n < 1 => self.error(*at, K::PoolSize { size: *n }),
            PoolSize::Expr(r) => self.node_rhai(r),
            _ => {}
        }
        match &pool.work {
            PoolWork::Map(f) => self.callable(f, "pool map", 1),
            PoolWork::Exec(c) => {
                self.errors
                    .extend(super::foreign::pool_job(c, span, self.src));
                self.scopes.push();
                self.scopes.declare("it", Var::Value(None));
                self.scopes.declare("seq", Var::Value(None));
                self.scopes.declare("slot", Var::Value(None));
                self.command(c);
                self.scopes.pop();
            }
            PoolWork::ExecBlock { stmts, span: block } => {
                self.errors
                    .extend(super::foreign::pool_block(stmts, self.src));
                // On Slurm the block runs on a node: what is declared from here out is
                // all it has.
                let slurm = pool.opts.slurm.is_some();
                let outer = if slurm {
                    let (block, depth) = (*block, self.scopes.depth());
                    let reported = vec![];
                    self.on_node.replace(OnNode {
                        block,
                        depth,
                        reported,
                    })
                } else {
                    None
                };
                self.scopes.push();
                self.scopes.declare("it", Var::Value(None));
                self.scopes.declare("seq", Var::Value(None));
                self.scopes.declare("slot", Var::Value(None));
                self.block(stmts, None);
                self.scopes.pop();
                if slurm {
                    self.on_node = outer;
                }
            }
        }
        let o = &pool.opts;
        if let Some(a) = &o.chunk {
            self.amount(a, "chunk", 1);
        }
        if let Some(a) = &o.retries {
            self.amount(a, "retries", 0);
        }
        if let Some(w) = &o.log {
            self.word(w);
        }
        for (_, w) in o.slurm.iter().flatten() {
            self.word(w);
        }
        if o.resume && o.log.is_none() {
            self.error(o.resume_span.unwrap_or(span), K::ResumeWithoutLog);
        }
        self.slurm
            .pool(o, span, &mut self.programs, &mut self.errors);
    }

    fn command(&mut self, c: &Command) {
        for (_, v) in &c.env {
            self.word(v);
        }
        // `Word::literal` without its copy when the word is one piece, as most programs are.
        let literal = match &c.program.parts[..] {
            [WordPart::Bare(s) | WordPart::Quoted(s)] => Some(Cow::Borrowed(s.as_str())),
            _ => c.program.literal().map(Cow::Owned),
        };
        match literal {
            // `sh "…"` runs /bin/sh, which is always there.
            _ if c.shell => self.errors.extend(super::shell::sh_text(c)),
            // `y = 3` with `y` never declared parses as a command; say what was meant.
            Some(name) if is_ident(&name) && c.args.first().is_some_and(is_assign_op) => {
                let name = name.into_owned();
                self.error(c.program.span, K::AssignUndeclared { name });
            }
            Some(name) => {
                self.program(&name, c);
                if !name.starts_with('#') {
                    self.errors.extend(super::foreign::hash_word(c));
                }
                self.errors
                    .extend(super::shell::shell_string(&name, &c.args));
                self.errors.extend(super::shell::sh_value(&name, &c.args));
            }
            None => self.word(&c.program),
        }
        self.in_sh = c.shell;
        for a in &c.args {
            self.word(a);
        }
        self.in_sh = false;
        for r in &c.redirects {
            if let Some(w) = &r.target {
                self.word(w);
            }
        }
    }

    fn program(&mut self, name: &str, c: &Command) {
        let span = c.program.span;
        // Another language's word (`cd`, `while`, `# …`, `name=world`): its fix, not
        // did-you-mean.
        let lookup = self.programs.lookup(name);
        let on_path = matches!(lookup, Lookup::Found);
        if matches!(lookup, Lookup::Found | Lookup::NotOnPath) {
            if let Some(e) = super::foreign::program(self.src, name, c, on_path) {
                self.errors.push(e);
                return;
            }
        }
        let kind = match lookup {
            Lookup::Found => return,
            Lookup::NotOnPath => K::UnknownCommand {
                name: name.into(),
                suggestion: self.programs.suggest(name),
            },
            Lookup::NoSuchFile => K::BadProgramPath {
                path: name.into(),
                exists: false,
            },
            Lookup::NotExecutable => K::BadProgramPath {
                path: name.into(),
                exists: true,
            },
        };
        self.error(span, kind);
    }

    fn word(&mut self, w: &Word) {
        self.parts(&w.parts);
    }

    fn parts(&mut self, parts: &[WordPart]) {
        for p in parts {
            match p {
                WordPart::Var(v) => self.var(v),
                WordPart::Interp(inner) => self.parts(inner),
                WordPart::Expr(r) => {
                    self.node_rhai(r);
                    self.env_expr(r);
                }
                WordPart::Bare(_) | WordPart::Quoted(_) => {}
            }
        }
    }

    fn var(&mut self, v: &Ident) {
        if self.captured(&v.name, v.span) {
            return;
        }
        if self.scopes.get(&v.name).is_none() {
            let suggestion = self.scopes.suggest(&v.name);
            // `$HOME`: an environment variable (unless a script variable was misspelt).
            let env = (!self.in_sh
                && (suggestion.is_none() || std::env::var_os(&v.name).is_some()))
            .then(|| super::foreign::variable(&v.name, v.span))
            .flatten();
            if let Some(e) = env {
                self.errors.push(e);
                return;
            }
            let kind = K::UnknownVariable {
                name: v.name.clone(),
                suggestion,
                in_sh: self.in_sh,
            };
            self.error(v.span, kind);
        }
    }

    /// `${HOME}`: a lone name that no script variable has, of an environment variable.
    fn env_expr(&mut self, r: &Rhai) {
        let name = r.code.trim();
        if !is_ident(name) || self.in_sh || self.scopes.get(name).is_some() {
            return;
        }
        if self.captured(name, r.span) {
            return;
        }
        let at = r.span.start + (r.code.len() - r.code.trim_start().len());
        let span = Span::new(at, at + name.len());
        self.errors.extend(super::foreign::variable(name, span));
    }

    /// Inside an `on slurm` job block, a name declared outside it: reported (once per name
    /// and block), and true.
    fn captured(&mut self, name: &str, span: Span) -> bool {
        let Some(node) = &mut self.on_node else {
            return false;
        };
        let Some(var) = self.scopes.outside(name, node.depth) else {
            return false;
        };
        if node.reported.iter().any(|r| r == name) {
            return true;
        }
        node.reported.push(name.to_string());
        let declared = match var {
            Var::Value(at) | Var::Maybe(at) => at,
            Var::Task | Var::Unknown => None,
        };
        let name = name.to_string();
        self.error(span, K::SlurmCapturesVariable { name, declared });
        true
    }

    /// Rhai code inside an `on slurm` job block: the names it reads from outside the block
    /// (found as the `fn` body trap finds them) and the script's `fn`s it calls are reported.
    fn node_rhai(&mut self, r: &Rhai) {
        let Some(node) = &self.on_node else { return };
        let scopes = &self.scopes;
        let found = super::traps::outer_names(&r.code, Default::default(), |w| {
            scopes.outside(w, node.depth).is_some()
        });
        let at = |offset: usize, w: &str| {
            Span::new(r.span.start + offset, r.span.start + offset + w.len())
        };
        for (offset, w) in found {
            self.captured(w, at(offset, w));
        }
        for (offset, w) in super::traps::calls(&r.code) {
            self.node_fn(w, at(offset, w));
        }
    }

    /// Inside an `on slurm` job block, a `fn` of the script defined outside the block
    /// (which the node does not have): reported, once per name and block.
    fn node_fn(&mut self, name: &str, span: Span) {
        let Some(node) = &mut self.on_node else {
            return;
        };
        let Some(defined) = self.fns.get(name).and_then(|f| f.defined) else {
            return;
        };
        let inside = defined.start >= node.block.start && defined.end <= node.block.end;
        if inside || node.reported.iter().any(|r| r == name) {
            return;
        }
        node.reported.push(name.to_string());
        let name = name.to_string();
        self.error(span, K::SlurmCallsFn { name, defined });
    }

    fn callable(&mut self, f: &Callable, stage: &str, expected: usize) {
        let name = match f {
            Callable::Fn(name) => name,
            Callable::Block(r) => return self.node_rhai(r),
        };
        self.node_fn(&name.name, name.span);
        let kind = match self.fns.get(&name.name) {
            Some(sig) if sig.params == expected => return,
            Some(sig) => K::Arity {
                stage: stage.into(),
                name: name.name.clone(),
                expected,
                found: sig.params,
                defined: sig.defined,
            },
            None => K::UnknownFunction {
                name: name.name.clone(),
                suggestion: super::suggest::closest(&name.name, self.fns.names()),
            },
        };
        self.error(name.span, kind);
    }

    fn amount(&mut self, a: &Amount, what: &str, min: i64) {
        match *a {
            Amount::Int(value, span) if value < min => {
                let what = what.into();
                self.error(span, K::BadAmount { what, value, min });
            }
            Amount::Expr(ref r) => self.node_rhai(r),
            Amount::Int(..) => {}
        }
    }
}

/// `span` without the whitespace the parser may include at its ends.
pub(crate) fn trim(span: Span, src: &str) -> Span {
    let text = span.text(src);
    if text.is_empty() {
        return span;
    }
    let start = span.start + (text.len() - text.trim_start().len());
    let end = span.end - (text.len() - text.trim_end().len());
    Span::new(start, end.max(start))
}

fn is_ident(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_assign_op(w: &Word) -> bool {
    matches!(&w.parts[..], [WordPart::Bare(op)] if ["=", "+=", "-=", "*=", "/="].contains(&op.as_str()))
}

/// The keyword of a stage that ends its pipeline (nothing may follow it).
fn ending(stage: &Stage) -> Option<&'static str> {
    Some(match &stage.kind {
        StageKind::Into(_) => "into",
        StageKind::Sink(s) => match s {
            Sink::Count => "count",
            Sink::CountBy(_) => "count_by",
            Sink::Sum => "sum",
            Sink::First => "first",
            Sink::Last => "last",
            Sink::Collect => "collect",
            Sink::Text => "text",
            Sink::Reduce { .. } => "reduce",
        },
        _ => return None,
    })
}

/// A number, string or boolean literal: a value that cannot be a task handle.
fn is_plain_literal(code: &str) -> bool {
    let c = code.trim();
    c == "true"
        || c == "false"
        || c.parse::<f64>().is_ok()
        || (c.len() >= 2
            && ((c.starts_with('"') && c.ends_with('"'))
                || (c.starts_with('\'') && c.ends_with('\''))))
}
