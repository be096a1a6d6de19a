//! The checker: walks the AST, reports every problem at once, and builds the plan.

use super::fns::Fns;
use super::programs::{Lookup, Programs};
use super::quick_hash::QuickHash;
use super::rhai_names::Reads;
use super::scope::{Scopes, Var};
use super::{CheckError, CheckErrorKind as K};
use crate::ast::{
    Amount, Ast, Callable, Command, Ident, Join, LetValue, Pipeline, Pool, PoolSize, PoolWork,
    Rhai, Sink, Spawn, SpawnBody, Stage, StageKind, Stmt, StmtKind, Word, WordPart,
};
use crate::Span;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

/// What the checker may assume beyond the script itself.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Variables that already exist (REPL entries, host-set variables).
    pub known_vars: Vec<String>,
    /// Host-registered functions: name and number of parameters.
    pub known_fns: Vec<(String, usize)>,
    /// Search path for programs (default: the `PATH` environment variable).
    pub path: Option<std::ffi::OsString>,
    /// The host registers with Rhai's own API (`Engine::register`), which may give Rhai code
    /// names the checker cannot see (a module's constants, a variable resolver, functions of
    /// any name): a name Rhai code reads that the checker does not know is then left to the
    /// run instead of being `flow::check::unknown_variable`.
    pub open_names: bool,
    /// The host's allow-list of programs (`Engine::allow_programs`): a command naming
    /// another one literally is `flow::check::not_allowed`. `None`: any program.
    pub allowed_programs: Option<Vec<String>>,
}

/// Check a script without building its plan (what only `flow plan` and the REPL's `:plan`
/// show): on success, its warnings in source order.
///
/// # Errors
/// Every problem found, in source order.
pub fn check_only(
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
    /// The names Rhai texts read, by text (`None`: nothing to look at).
    reads: HashMap<&'s str, Option<Rc<Reads>>, QuickHash>,
    /// A bare Rhai engine that compiles the texts whose names need a look.
    rhai: Option<rhai::Engine>,
    /// Names the script declares anywhere (`let`, `for`, `catch`): a `fn` body naming one
    /// is the `fn_script_variable` trap's to report.
    script_vars: Option<HashSet<&'s str, QuickHash>>,
    ast: &'s Ast,
    open_names: bool,
    allowed: Option<&'s [String]>,
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
            reads: HashMap::default(),
            rhai: None,
            script_vars: None,
            ast,
            open_names: opts.open_names,
            allowed: opts.allowed_programs.as_deref(),
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
            StmtKind::Fn { name, params, code } => self.fn_names(name, params, code),
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
            StmtKind::Select { arms, timeout } => {
                for a in arms {
                    if let Some(what) = literal_kind(&a.chan.code) {
                        self.error(a.chan.span, K::SelectNotAChannel { what });
                    }
                    self.node_rhai(&a.chan);
                    self.block(&a.body, Some(&a.var));
                }
                if let Some((_, b)) = timeout {
                    self.block(b, None);
                }
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
            StmtKind::Try {
                body,
                var,
                handler,
                finally,
                ..
            } => {
                self.block(body, None);
                self.block(handler, var.as_ref());
                if let Some(f) = finally {
                    self.block(f, None);
                }
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
        let mut ended: Option<(Span, String)> = None;
        let mut reported = false;
        for stage in &p.stages {
            // (Spans trimmed only for what they are needed for: most stages need none.)
            if let (Some((sink, sink_name)), false) = (&ended, reported) {
                reported = true;
                let kind = K::StageAfterSink {
                    sink: *sink,
                    sink_name: sink_name.clone(),
                };
                self.error(trim(stage.span, self.src), kind);
            }
            self.stage(stage);
            ended = ended.or_else(|| ending(stage, self.src));
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
                self.scopes.declare("attempt", Var::Value(None));
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
                self.scopes.declare("attempt", Var::Value(None));
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
        if o.backoff.is_some() && o.retries.is_none() {
            self.error(o.backoff_span.unwrap_or(span), K::BackoffWithoutRetries);
        }
        self.slurm
            .pool(o, span, &mut self.programs, &mut self.errors);
    }

    fn command(&mut self, c: &'s Command) {
        for (_, v) in &c.env {
            self.word(v);
        }
        // `Word::literal` without its copy when the word is one piece, as most programs are.
        let literal = match &c.program.parts[..] {
            [WordPart::Bare(s) | WordPart::Quoted(s)] => Some(Cow::Borrowed(s.as_str())),
            _ => c.program.literal().map(Cow::Owned),
        };
        // The host's sandbox: a program it does not allow, named as written.
        if let Some(allowed) = self.allowed {
            let name = if c.shell {
                Some("sh")
            } else {
                literal.as_deref()
            };
            let name = if name == Some("/bin/sh") {
                Some("sh")
            } else {
                name
            };
            if let Some(name) = name.filter(|n| !allowed.iter().any(|a| a == n)) {
                let kind = K::NotAllowed {
                    name: name.to_string(),
                    allowed: allowed.to_vec(),
                };
                self.error(c.program.span, kind);
            }
        }
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

    fn word(&mut self, w: &'s Word) {
        self.parts(&w.parts);
    }

    fn parts(&mut self, parts: &'s [WordPart]) {
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

    /// Rhai code of the script, where it stands: the names it reads must be variables there
    /// (see [`Checker::rhai_names`]); inside an `on slurm` job block, the names it reads from
    /// outside the block (found as the `fn` body trap finds them) and the script's `fn`s it
    /// calls are reported.
    fn node_rhai(&mut self, r: &'s Rhai) {
        self.rhai_names(r, &[]);
        self.slurm_rhai(r);
    }

    fn slurm_rhai(&mut self, r: &Rhai) {
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

    fn callable(&mut self, f: &'s Callable, stage: &str, expected: usize) {
        let name = match f {
            Callable::Fn(name) => name,
            Callable::Block(r) => {
                // What the stage binds for its block (`runtime/eval.rs`, `pool/worker.rs`).
                let bound: &[&str] = match stage {
                    "reduce" => &["acc", "it"],
                    "pool map" => &["it", "seq", "slot", "attempt"],
                    _ => &["it"],
                };
                self.rhai_names(r, bound);
                self.slurm_rhai(r);
                return;
            }
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

    /// The names `r` reads that are no variable in scope nor `bound` by its stage (`it`,
    /// `acc`, …), and its calls of Python names (`rhai_names.rs` finds them in Rhai's syntax
    /// tree; most texts need no compile, for they name only variables in scope).
    fn rhai_names(&mut self, r: &'s Rhai, bound: &[&str]) {
        if self.open_names {
            return;
        }
        let (scopes, fns) = (&self.scopes, &self.fns);
        let known = |w: &str| bound.contains(&w) || scopes.get(w).is_some() || fns.get(w).is_some();
        if super::rhai_names::nothing_to_find(&r.code, known) {
            return;
        }
        let Some(reads) = self.reads_of(&r.code) else {
            return;
        };
        for read in &reads.names {
            let name = read.name.as_str();
            if bound.contains(&name)
                || self.scopes.get(name).is_some()
                || self.fns.get(name).is_some()
            {
                continue;
            }
            let locals = reads.locals.iter().map(String::as_str);
            let suggestion = self
                .scopes
                .suggest_among(name, locals.chain(bound.iter().copied()));
            self.unknown_name(r.span.start, read, suggestion, None);
        }
        self.python_calls(r.span.start, &reads);
    }

    /// A `fn` statement's body: it sees its parameters, the script's `fn`s and what it
    /// declares; a script variable it names is the `fn_script_variable` trap's.
    fn fn_names(&mut self, fname: &Ident, params: &'s [Ident], code: &'s Rhai) {
        if self.open_names {
            return;
        }
        let Some(body_at) = code.code.find('{') else {
            return;
        };
        let body = &code.code[body_at..];
        if self.script_vars.is_none() {
            self.script_vars = Some(script_vars(&self.ast.stmts));
        }
        if super::rhai_names::nothing_to_find(body, |w| self.fn_knows(params, w)) {
            return;
        }
        let Some(reads) = self.reads_of(body) else {
            return;
        };
        let start = code.span.start + body_at;
        for read in &reads.names {
            if self.fn_knows(params, &read.name) {
                continue;
            }
            let candidates = params
                .iter()
                .map(|p| p.name.as_str())
                .chain(reads.locals.iter().map(String::as_str));
            let suggestion = super::suggest::closest(&read.name, candidates);
            self.unknown_name(start, read, suggestion, Some(&fname.name));
        }
        self.python_calls(start, &reads);
    }

    /// Whether a `fn` body with these parameters may name `w` (a script variable is the
    /// trap's to report).
    fn fn_knows(&self, params: &[Ident], w: &str) -> bool {
        params.iter().any(|p| p.name == w)
            || self.fns.get(w).is_some()
            || self.script_vars.as_ref().is_some_and(|v| v.contains(w))
    }

    fn unknown_name(
        &mut self,
        start: usize,
        read: &super::rhai_names::Read,
        suggestion: Option<String>,
        in_fn: Option<&str>,
    ) {
        let at = start + read.at;
        let python = crate::script::python::variable(&read.name).map(str::to_string);
        let kind = K::UnknownName {
            name: read.name.clone(),
            suggestion: suggestion.filter(|_| python.is_none()),
            in_fn: in_fn.map(str::to_string),
            python,
        };
        self.error(Span::new(at, at + read.name.len()), kind);
    }

    /// Calls of Python names that flow's engine certainly lacks, unless the script or the
    /// host defines a function of that name.
    fn python_calls(&mut self, start: usize, reads: &Reads) {
        for c in &reads.calls {
            if self.fns.get(&c.name).is_some() {
                continue;
            }
            let Some(fix) =
                crate::script::python::call(&c.name, c.method, c.args, c.first.as_deref())
            else {
                continue;
            };
            if fix.certain {
                let at = start + c.at;
                let kind = K::PythonCall {
                    name: c.name.clone(),
                    method: c.method,
                    help: fix.help,
                };
                self.error(Span::new(at, at + c.name.len()), kind);
            }
        }
    }

    /// What `code` reads, compiled once per distinct text.
    fn reads_of(&mut self, code: &'s str) -> Option<Rc<Reads>> {
        if let Some(r) = self.reads.get(code) {
            return r.clone();
        }
        let engine = self.rhai.get_or_insert_with(|| {
            let mut e = rhai::Engine::new_raw();
            e.set_optimization_level(rhai::OptimizationLevel::None);
            e
        });
        let r = super::rhai_names::reads(engine, code).map(Rc::new);
        self.reads.insert(code, r.clone());
        r
    }

    fn amount(&mut self, a: &'s Amount, what: &str, min: i64) {
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

/// Every name the script's statements declare as a variable, in blocks too: `let`, `for`,
/// `catch`.
fn script_vars(stmts: &[Stmt]) -> HashSet<&str, QuickHash> {
    let mut out = HashSet::default();
    let mut todo: Vec<&[Stmt]> = vec![stmts];
    while let Some(stmts) = todo.pop() {
        for s in stmts {
            match &s.kind {
                StmtKind::Let { name, value } => {
                    out.insert(name.name.as_str());
                    if let LetValue::Spawn(Spawn {
                        body: SpawnBody::Block(b),
                        ..
                    }) = value
                    {
                        todo.push(b);
                    }
                }
                StmtKind::Spawn(Spawn {
                    body: SpawnBody::Block(b),
                    ..
                })
                | StmtKind::OnInterrupt { body: b, .. } => todo.push(b),
                StmtKind::For { var, body, .. } => {
                    out.insert(var.name.as_str());
                    todo.push(body);
                }
                StmtKind::If {
                    then, otherwise, ..
                } => {
                    todo.push(then);
                    todo.extend(otherwise.as_deref());
                }
                StmtKind::Try { var, .. } => {
                    out.extend(var.iter().map(|v| v.name.as_str()));
                    todo.extend(s.kind.nested());
                }
                k => todo.extend(k.nested()),
            }
        }
    }
    out
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
/// What ends a pipeline at `stage`, as written: a sink, `into`, or a pool whose jobs
/// write a constant `> f` (the stage's output file: nothing flows on).
fn ending(stage: &Stage, src: &str) -> Option<(Span, String)> {
    if let StageKind::Pool(p) = &stage.kind {
        if let PoolWork::Exec(c) = &p.work {
            let file = crate::syntax::stage_redirect::stage_file(c)?;
            let at = trim(file.span, src);
            return Some((at, at.text(src).to_string()));
        }
    }
    let name = match &stage.kind {
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
    };
    Some((trim(stage.span, src), name.to_string()))
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

/// What a Rhai expression is when it is written as a literal value (which no channel is):
/// `[1, 2]` an array, `1..=3` a range, `"x"` a string, `5` a number, `#{…}` a map.
fn literal_kind(code: &str) -> Option<&'static str> {
    let c = code.trim();
    let number = |t: &str| !t.is_empty() && t.parse::<f64>().is_ok();
    if c.starts_with('[') && c.ends_with(']') {
        Some("an array")
    } else if c.starts_with("#{") {
        Some("a map")
    } else if c.starts_with(['"', '\'', '`']) {
        Some("a string")
    } else if c == "true" || c == "false" {
        Some("true or false")
    } else if number(c) {
        Some("a number")
    } else if let Some((a, b)) = c.split_once("..") {
        let b = b.strip_prefix('=').unwrap_or(b);
        (number(a.trim()) && number(b.trim())).then_some("a range")
    } else {
        None
    }
}
