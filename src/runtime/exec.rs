//! The statement executor: `let`, assignments, Rhai statements, `if`, `for`, pipelines,
//! and tasks (`spawn`, `join`, `cancel`). Tasks are threads running their own executor on a
//! child token; the executor that spawned them joins them at the end (daemons are cancelled).

use super::cancel::{CancelReason, CancelToken};
use super::eval::{Env, Shared};
use super::pipeline::{self, Dest};
use super::run_error::{RunError, RunErrorKind};
use crate::ast::{Join, LetValue, Rhai, Spawn, SpawnBody, StageKind, Stmt, StmtKind};
use crate::script::channel::FlowChannel;
use crate::Span;
use rhai::{Dynamic, Scope};
use std::cell::RefCell;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

mod task_steps;

/// A handle to a spawned task (a Rhai value, so `let h = spawn …` stores it).
#[derive(Clone)]
pub struct TaskHandle {
    inner: Arc<TaskInner>,
}

struct TaskInner {
    name: Mutex<String>,
    /// The `spawn`, for the end-of-script join's report.
    span: Span,
    daemon: bool,
    token: CancelToken,
    result: Mutex<Option<Result<Dynamic, RunError>>>,
    done: Condvar,
    /// Tasks waiting in `join` (threads wait on `done`).
    wakers: super::green::Wakers,
    joined: std::sync::atomic::AtomicBool,
}

impl TaskHandle {
    /// What `print(h)` shows: `task NAME (running)`, `(done)` or `(failed)`.
    pub(crate) fn describe(&self) -> String {
        let name = self.name();
        let state = match self
            .inner
            .result
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            None => "running",
            Some(Ok(_)) => "done",
            Some(Err(_)) => "failed",
        };
        format!("task {name} ({state})")
    }

    /// The task's name (its variable's, or `task N`).
    fn name(&self) -> String {
        self.inner
            .name
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn finished(&self) -> bool {
        self.inner
            .result
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// Wait until done, the deadline, or cancellation of `by`. `None`: not done.
    fn wait(
        &self,
        deadline: Option<Instant>,
        by: &CancelToken,
    ) -> Option<Result<Dynamic, RunError>> {
        if let Some(me) = super::green::current() {
            return self.wait_in_task(&me, deadline, by);
        }
        let mut g = self.inner.result.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(r) = g.as_ref() {
                return Some(self.joined(r));
            }
            if gave_up(by, deadline) {
                return None;
            }
            g = self
                .inner
                .done
                .wait_timeout(g, Duration::from_millis(10))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// [`TaskHandle::wait`] from a task: it suspends instead of holding a thread.
    fn wait_in_task(
        &self,
        me: &Arc<super::green::Task>,
        deadline: Option<Instant>,
        by: &CancelToken,
    ) -> Option<Result<Dynamic, RunError>> {
        self.inner.wakers.add(me);
        by.add_waker(me);
        let r = loop {
            let g = self.inner.result.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(r) = g.as_ref() {
                break Some(self.joined(r));
            }
            drop(g);
            if gave_up(by, deadline) {
                break None;
            }
            super::green::park(deadline);
        };
        self.inner.wakers.remove(me);
        by.remove_waker(me);
        r
    }

    /// The task's failure, if it has ended with one (not yet taken by a join).
    fn failure(&self) -> Option<RunError> {
        match self
            .inner
            .result
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            Some(Err(e)) => Some(e.clone()),
            _ => None,
        }
    }

    /// The task's result, as a `join` takes it (it is joined from now on).
    fn joined(&self, r: &Result<Dynamic, RunError>) -> Result<Dynamic, RunError> {
        self.inner
            .joined
            .store(true, std::sync::atomic::Ordering::SeqCst);
        r.clone()
    }

    /// Record the task's result and wake whoever waits for it.
    fn finish(&self, r: Result<Dynamic, RunError>) {
        *self.inner.result.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
        self.inner.done.notify_all();
        self.inner.wakers.wake_all();
    }
}

/// Whether a wait for a task ends unfinished: its waiter was cancelled or its time is up.
fn gave_up(by: &CancelToken, deadline: Option<Instant>) -> bool {
    by.is_cancelled() || deadline.is_some_and(|d| Instant::now() >= d)
}

thread_local! {
    /// Channels this task registered as a producer of at spawn time.
    static TASK_CHANNELS: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// Move the current task's channels out of the thread (the task suspends). Like every
/// access to a thread-local that a task reads, never inlined (see `script/context.rs`).
#[inline(never)]
pub(crate) fn take_task_channels() -> Vec<usize> {
    TASK_CHANNELS.with(RefCell::take)
}

/// Put a task's channels back on the thread (the task resumes).
#[inline(never)]
pub(crate) fn set_task_channels(v: Vec<usize>) {
    TASK_CHANNELS.with(|t| *t.borrow_mut() = v);
}

/// Whether the current task already registered as a producer of `ch`.
#[inline(never)]
pub(crate) fn in_task_for(ch: &FlowChannel) -> bool {
    TASK_CHANNELS.with(|t| t.borrow().contains(&ch.id()))
}

/// A statement the fast path runs without Rhai (see `fastpath::statement`): its value, or
/// `()` after `print`. `None`: Rhai runs it, as it would anyway.
fn native(shared: &Shared, scope: &Scope<'static>, code: &str) -> Option<Dynamic> {
    use crate::script::fastpath::{self, Statement};
    match fastpath::statement(code, scope, &|n| shared.builtin(n))? {
        Statement::Value(e) => fastpath::eval_const(&e),
        Statement::Print(e) => {
            let v = fastpath::eval_const(&e)?;
            // Rhai prints a float its own way: left to it.
            if v.is_float() {
                return None;
            }
            crate::runtime::builtins::out_line(&crate::script::display::display(&v));
            Some(Dynamic::UNIT)
        }
    }
}

/// A run error of a snippet compiled as written: positions inside it (or inside a closure
/// it defines) are relative to it; those inside the script's `fn`s are the script's already
/// (they are compiled padded, once).
fn snippet_error(
    shared: &Arc<Shared>,
    e: &rhai::EvalAltResult,
    r: &Rhai,
    own: &rhai::AST,
) -> RunError {
    let env = Env {
        shared: shared.clone(),
        vars: Arc::default(),
    };
    env.snippet_error(e, r.span, Some(&super::eval::Snippet::new(r, own)))
}

/// `if xs { … }` as Python's truthiness: the test to write for a value of type `t`.
fn truthiness_help(cond: &str, t: &str) -> String {
    let c = cond.trim();
    let x = if c.len() <= 40
        && c.chars()
            .all(|ch| ch.is_alphanumeric() || "_.[]".contains(ch))
    {
        c
    } else {
        "x"
    };
    let test = match t {
        "array" | "string" | "map" | "blob" => format!("`if {x}.len() > 0`"),
        "()" => format!("`if {x} != ()`"),
        "i64" | "i32" | "f64" | "f32" | "decimal" => format!("`if {x} != 0`"),
        _ => format!("a comparison, e.g. `if {x} == …`"),
    };
    format!("flow has no truthiness (Python's `if xs:`): write the test, {test}")
}

/// The error for a cancellation, by reason.
pub(crate) fn cancel_error(r: CancelReason, span: Span) -> RunError {
    let kind = match r {
        CancelReason::Interrupt => RunErrorKind::Interrupted { signal: "SIGINT" },
        CancelReason::Terminate => RunErrorKind::Interrupted { signal: "SIGTERM" },
        CancelReason::Hangup => RunErrorKind::Interrupted { signal: "SIGHUP" },
        CancelReason::Timeout => RunErrorKind::Timeout {
            what: "the task".into(),
        },
        _ => RunErrorKind::Cancelled,
    };
    RunError::new(span, kind)
}

/// The registered `on_interrupt` blocks and their grace periods.
pub(crate) type Interrupts = Arc<Mutex<Vec<Handler>>>;

/// An `on_interrupt` block with the variables in scope where it was registered.
#[derive(Clone)]
pub(crate) struct Handler {
    pub(crate) body: Vec<Stmt>,
    pub(crate) scope: Scope<'static>,
    /// The script (text, `fn`s) it was registered in: its statements' spans point there.
    pub(crate) shared: Arc<Shared>,
}

/// Executes statements with a scope of script variables.
pub(crate) struct Executor {
    pub(crate) shared: Arc<Shared>,
    pub(crate) scope: Scope<'static>,
    pub(crate) token: CancelToken,
    tasks: Vec<TaskHandle>,
    /// `on_interrupt` blocks, shared with the signal handler.
    pub(crate) interrupts: Interrupts,
    /// A time its statements must end by (a `finally` block run during Ctrl-C's grace).
    pub(super) deadline: Option<Instant>,
    /// The snippets this executor ran, by the address of their text: a loop's statements
    /// are found here without taking the run's shared cache's lock, which tasks running
    /// loops at once would otherwise fight over on every statement.
    snippets: super::snippets::Local,
}

impl Executor {
    pub(crate) fn new(shared: Arc<Shared>, scope: Scope<'static>, token: CancelToken) -> Self {
        Executor {
            shared,
            scope,
            token,
            tasks: vec![],
            interrupts: Arc::default(),
            deadline: None,
            snippets: super::snippets::Local::default(),
        }
    }

    fn env(&self) -> Env {
        Env {
            shared: self.shared.clone(),
            vars: Arc::new(self.scope.clone()),
        }
    }

    pub(super) fn check_cancel(&self, span: Span) -> Result<(), RunError> {
        match self.token.reason() {
            Some(r) => Err(cancel_error(r, span)),
            None => Ok(()),
        }
    }

    /// Run statements; the value is the last statement's. `tail`: where a final pipeline's
    /// output goes (`Collect` for a task's value, `Last` for a run's).
    pub(crate) fn block(&mut self, stmts: &[Stmt], tail: Dest) -> Result<Dynamic, RunError> {
        let base = self.scope.len();
        let mut last = Dynamic::UNIT;
        for (i, s) in stmts.iter().enumerate() {
            match self.stmt(s, dest_at(i, stmts.len(), tail)) {
                Ok(v) => last = v,
                Err(e) => {
                    self.scope.rewind(base);
                    return Err(e);
                }
            }
        }
        self.scope.rewind(base);
        Ok(last)
    }

    /// Run top-level statements (their variables stay) and then join the tasks. `tail`:
    /// where the last statement's pipeline output goes (`Dest::Last`: its sink's value is
    /// the run's value).
    pub(crate) fn top(&mut self, stmts: &[Stmt], tail: Dest) -> Result<Dynamic, RunError> {
        let mut last = Dynamic::UNIT;
        let mut result = Ok(());
        for (i, s) in stmts.iter().enumerate() {
            match self.stmt(s, dest_at(i, stmts.len(), tail)) {
                Ok(v) => last = v,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        let end = self.finish_tasks(result.is_err());
        result.and(end).map(|()| last)
    }

    /// Join tasks never joined (reporting their errors); cancel daemons.
    pub(crate) fn finish_tasks(&mut self, failing: bool) -> Result<(), RunError> {
        let tasks = std::mem::take(&mut self.tasks);
        for t in &tasks {
            if t.inner.daemon || failing {
                t.inner.token.cancel(CancelReason::Requested);
            }
        }
        let mut first = Ok(());
        for t in &tasks {
            let joined_before = t.inner.joined.load(std::sync::atomic::Ordering::SeqCst);
            let r = match &self.shared.rt.deadlock {
                // The end-of-script join is a join like any other: a task that can never
                // finish (sending into a channel nobody reads any more) is a deadlock.
                Some(d) if !t.inner.daemon && !failing => {
                    let name = t.name();
                    // The `spawn` keyword: a label on the whole task would hold its own.
                    let at = Span::new(
                        t.inner.span.start,
                        (t.inner.span.start + "spawn".len()).min(t.inner.span.end),
                    );
                    let waiting = d.wait(
                        at,
                        format!("the end of the script waits for task `{name}`, never joined"),
                    );
                    let r = t.wait(None, &self.token);
                    drop(waiting);
                    // (Woken by the deadlock's cancel, the task may have ended first.)
                    match (r, d.found()) {
                        (Some(r), None) => Some(r),
                        (r, found) => {
                            if let (Some(e), true) = (found, first.is_ok()) {
                                first = Err(e.with_help(format!(
                                    "the script ended while task `{name}` still waits: stop it \
                                     when its work is no longer wanted (`cancel {name}` before \
                                     the end), or start it as `spawn daemon {{ … }}`, which the \
                                     end of the script cancels"
                                )));
                            }
                            for t in &tasks {
                                t.inner.token.cancel(CancelReason::Requested);
                            }
                            r.or_else(|| t.wait(None, &CancelToken::new()))
                        }
                    }
                }
                _ => t.wait(None, &CancelToken::new()),
            };
            if let Some(Err(e)) = r {
                if !t.inner.daemon
                    && !joined_before
                    && first.is_ok()
                    && !matches!(e.kind, RunErrorKind::Cancelled)
                {
                    first = Err(e);
                }
            }
        }
        first
    }

    /// Evaluate a statement's Rhai in the executor's own scope. Its cost must not grow with
    /// the script: no snapshot of the scope (`env()` copies every variable) and no padding
    /// of the snippet to its place in the script (Rhai would read one padding character per
    /// character before it). The snippet is compiled as written and its positions mapped
    /// back here. (Scope constants, which `compile_with_scope` would fold, are never made.)
    pub(super) fn eval(&mut self, r: &Rhai) -> Result<Dynamic, RunError> {
        // Fields borrowed apart, nothing shared cloned: tasks running statements at once
        // would bounce the shared reference counts between cores on every statement.
        let Executor {
            shared,
            scope,
            snippets,
            ..
        } = self;
        // A statement Rhai had to run before (in a loop) goes straight to it.
        if !snippets.has(&r.code) {
            if let Some(v) = native(shared, scope, &r.code) {
                return Ok(v);
            }
        }
        let engine = &shared.engine;
        let compiled = snippets.get(&shared.snippets, &r.code, || {
            let own = engine
                .compile(&*crate::script::quotes::for_snippet(&r.code))
                .map_err(|e| {
                    let at = snippet_span(r, e.position());
                    let message = e.err_type().to_string();
                    RunError::new(
                        r.span,
                        RunErrorKind::Rhai {
                            message,
                            at,
                            value: None,
                        },
                    )
                })?;
            let merged = shared.fns.merge(&own);
            Ok(super::snippets::Compiled { own, merged })
        })?;
        let res = super::eval::guard_panics(r.span, || {
            engine.eval_ast_with_scope::<Dynamic>(scope, &compiled.merged)
        })?;
        res.map_err(|e| snippet_error(shared, &e, r, &compiled.own))
    }

    fn stmt(&mut self, s: &Stmt, dest: Dest) -> Result<Dynamic, RunError> {
        self.check_cancel(s.span)?;
        let r = self.in_own_ctx(|ex| ex.stmt_inner(s, dest));
        // A failed write to stdout (`print` into a full disk) fails the statement it was in.
        self.shared.rt.stdout.statement_result(s.span, r)
    }

    /// Run `f` with this executor's context (its cancel token, its run) as the thread's.
    fn in_own_ctx<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        if self.deadline.is_none() && crate::runtime::context::is(&self.token, &self.shared.rt) {
            // A block's statements after the first: the context is already this one.
            f(self)
        } else {
            let ctx = crate::runtime::context::ThreadCtx {
                token: Some(self.token.clone()),
                deadline: self.deadline,
                runtime: Some(self.shared.rt.clone()),
            };
            crate::runtime::context::with_ctx(ctx, || f(self))
        }
    }

    /// `if`'s two ways: `then` when `c`, else `otherwise` (if any).
    fn branch(
        &mut self,
        c: bool,
        then: &[Stmt],
        otherwise: Option<&[Stmt]>,
        dest: Dest,
    ) -> Result<Dynamic, RunError> {
        match (c, otherwise) {
            (true, _) => self.block(then, dest),
            (false, Some(o)) => self.block(o, dest),
            (false, None) => Ok(Dynamic::UNIT),
        }
    }

    fn stmt_inner(&mut self, s: &Stmt, dest: Dest) -> Result<Dynamic, RunError> {
        match &s.kind {
            StmtKind::Fn { .. } => Ok(Dynamic::UNIT),
            StmtKind::Let { name, value } => {
                let v = match value {
                    LetValue::Expr(r) => self.eval(r)?,
                    LetValue::Pipeline(p) => self.pipeline(p, Dest::Collect)?,
                    LetValue::Spawn(sp) => Dynamic::from(self.spawn(sp, &name.name)?),
                    LetValue::Join(j) => self.join(j)?,
                };
                self.scope.push_dynamic(name.name.clone(), v);
                Ok(Dynamic::UNIT)
            }
            StmtKind::Assign { .. } | StmtKind::Rhai(_) => {
                let mut code = s.span.text(&self.shared.src).to_string();
                // A statement's value is thrown away, except the run's last one (a host
                // gets it, the REPL prints it): then `s.trim()` is a value and changes
                // nothing; elsewhere it is a statement of its own, which changes `s`.
                if !matches!(dest, Dest::Last { .. }) && !code.trim_end().ends_with(';') {
                    code.push(';');
                }
                let r = Rhai { code, span: s.span };
                self.eval(&r)
            }
            StmtKind::Pipeline(p) => self.pipeline(p, dest),
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                let c = self.eval(cond)?;
                let c = c.as_bool().map_err(|t| {
                    RunError::new(
                        cond.span,
                        RunErrorKind::Value {
                            message: format!("`if` needs true or false, got {t}"),
                        },
                    )
                    .with_help(truthiness_help(&cond.code, t))
                })?;
                self.branch(c, then, otherwise.as_deref(), dest)
            }
            StmtKind::For { var, iter, body } => {
                let v = self.eval(iter)?;
                // `for x in ch` reads the channel until it closes, as `from ch` does (Go's
                // `for v := range ch`).
                let v = match v.try_cast_result::<FlowChannel>() {
                    Ok(ch) => {
                        let watch = self.shared.rt.deadlock.clone().map(|d| (d, iter.span));
                        let items = ChannelItems {
                            rx: ch.receiver(),
                            external: ch.is_external(),
                            token: self.token.clone(),
                            watch,
                            what:
                                "`for` waits for an item of this channel, and nothing sends to it",
                        };
                        return self.for_items(s, var, body, Box::new(items));
                    }
                    Err(v) => v,
                };
                let items = match super::value::elements(v) {
                    Ok(it) => it,
                    Err(v) if v.is_unit() => Box::new(std::iter::empty()),
                    Err(v) => Box::new(std::iter::once(v)),
                };
                self.for_items(s, var, body, items)
            }
            StmtKind::IfCommand {
                negate,
                command,
                then,
                otherwise,
            } => {
                let c = self.command_succeeds(command)? != *negate;
                self.branch(c, then, otherwise.as_deref(), dest)
            }
            StmtKind::Try {
                body,
                var,
                catches,
                handler,
                finally,
            } => {
                let r = if *catches {
                    self.try_stmt(body, var.as_ref(), handler, dest)
                } else {
                    self.block(body, dest)
                };
                match finally {
                    Some(f) => self.finally(f, r),
                    None => r,
                }
            }
            StmtKind::Throw(r) => Err(self.thrown(r)),
            StmtKind::Select { arms, timeout } => self.select(s.span, arms, timeout.as_ref(), dest),
            StmtKind::Spawn(sp) => {
                let name = format!("task at {}", line_of(&self.shared.src, sp.span));
                let h = self.spawn(sp, &name)?;
                Ok(Dynamic::from(h))
            }
            StmtKind::Join(j) => self.join(j),
            StmtKind::Cancel(names) => {
                // Every name is looked up before any task is cancelled, as `join` does.
                let mut all = vec![];
                for name in names {
                    all.extend(self.handles(name)?.0);
                }
                for (_, h) in all {
                    h.inner.token.cancel(CancelReason::Requested);
                }
                Ok(Dynamic::UNIT)
            }
            StmtKind::OnInterrupt { grace, body } => {
                let handler = Handler {
                    body: body.clone(),
                    scope: self.scope.clone(),
                    shared: self.shared.clone(),
                };
                self.interrupts
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(handler);
                if let Some(g) = grace {
                    *self
                        .shared
                        .rt
                        .grace
                        .lock()
                        .unwrap_or_else(|e| e.into_inner()) = *g;
                }
                Ok(Dynamic::UNIT)
            }
        }
    }

    pub(super) fn pipeline(
        &mut self,
        p: &crate::ast::Pipeline,
        dest: Dest,
    ) -> Result<Dynamic, RunError> {
        let env = self.env();
        pipeline::run(&env, p, dest, &self.token)
    }

    /// The task handles a name holds: one handle, or every handle of an array (`join hs`).
    /// The flag says whether it was an array (whose `join` always yields an array).
    fn handles(
        &self,
        name: &crate::ast::Ident,
    ) -> Result<(Vec<(String, TaskHandle)>, bool), RunError> {
        let not_a_task = |what: &str| {
            RunError::new(
                name.span,
                RunErrorKind::Value {
                    message: format!("`{}` is {what}, not a task handle", name.name),
                },
            )
        };
        let Some(v) = self.scope.get_value::<Dynamic>(&name.name) else {
            return Err(not_a_task("not defined"));
        };
        if v.is::<TaskHandle>() {
            let h = v.cast::<TaskHandle>();
            return Ok((vec![(name.name.clone(), h)], false));
        }
        if let Some(items) = v.clone().try_cast::<rhai::Array>() {
            let mut out = Vec::with_capacity(items.len());
            for (i, x) in items.into_iter().enumerate() {
                let t = x.type_name();
                match x.try_cast::<TaskHandle>() {
                    Some(h) => out.push((format!("{}[{i}]", name.name), h)),
                    None => {
                        return Err(not_a_task(&format!(
                            "an array whose item {i} is {}",
                            type_words(t)
                        )))
                    }
                }
            }
            return Ok((out, true));
        }
        Err(not_a_task(&type_words(v.type_name())))
    }

    /// The variables a task's text names (a superset of what it uses): a spawn costs the
    /// same however many variables the script holds (an array of 10,000 handles included).
    fn captured(&self, span: Span) -> Scope<'static> {
        let text = self.shared.src.get(span.start..span.end).unwrap_or("");
        let mut names = std::collections::HashSet::new();
        let mut rest = text;
        while let Some(i) = rest.find(|c: char| c.is_ascii_alphabetic() || c == '_') {
            let word = &rest[i..];
            let n = word
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(word.len());
            names.insert(&word[..n]);
            rest = &word[n..];
        }
        let mut scope = Scope::new();
        for (name, constant, value) in self.scope.iter_raw() {
            if names.contains(name) {
                if constant {
                    scope.push_constant_dynamic(name.to_string(), value.clone());
                } else {
                    scope.push_dynamic(name.to_string(), value.clone());
                }
            }
        }
        scope
    }

    fn spawn(&mut self, sp: &Spawn, name: &str) -> Result<TaskHandle, RunError> {
        let token = self.token.child();
        let h = TaskHandle {
            inner: Arc::new(TaskInner {
                name: Mutex::new(name.to_string()),
                span: sp.span,
                daemon: sp.daemon,
                token: token.clone(),
                result: Mutex::new(None),
                done: Condvar::new(),
                wakers: super::green::Wakers::default(),
                joined: std::sync::atomic::AtomicBool::new(false),
            }),
        };
        // Register as a producer of every channel the task sends into, before it starts,
        // so that a consumer cannot see the channel close early.
        let mut chans = vec![];
        collect_intos(sp, &mut |name| {
            if let Some(ch) = self
                .scope
                .get_value::<Dynamic>(name)
                .and_then(|v| v.try_cast::<FlowChannel>())
            {
                if !chans.iter().any(|c: &FlowChannel| c.id() == ch.id()) && ch.register().is_some()
                {
                    chans.push(ch);
                }
            }
        });
        let scope = self.captured(sp.span);
        let mut ex = Executor::new(self.shared.clone(), scope, token);
        ex.interrupts = self.interrupts.clone();
        let body = sp.body.clone();
        let span = sp.span;
        let h2 = h.clone();
        let registered = chans.clone();
        let deadlock = self.shared.rt.deadlock.clone();
        let party = deadlock.as_ref().map_or(0, |d| d.party_started());
        let ended = deadlock.clone();
        let mut steps = match &body {
            SpawnBody::Block(stmts) => Some(task_steps::BlockSteps::new(stmts.clone())),
            SpawnBody::Pipeline(_) => None,
        };
        let mut started = false;
        // (A recorded run: the task's span, from its spawn to its end.)
        let record = self.shared.rt.recorder().map(|rec| {
            let line = super::record::label_line(&self.shared.src, span).1;
            let start = rec.now_us();
            (rec, line, start, name.to_string())
        });
        let spawned = super::green::spawn_steps(Box::new(move || {
            if !started {
                started = true;
                super::deadlock::set_party(party);
                set_task_channels(chans.iter().map(FlowChannel::id).collect());
            }
            let r = super::eval::guard_panics(span, || match (&body, &mut steps) {
                (SpawnBody::Pipeline(p), _) => Some(ex.pipeline(p, Dest::Collect)),
                (SpawnBody::Block(_), steps) => {
                    let r = steps
                        .as_mut()
                        .map_or(Ok(Some(Dynamic::UNIT)), |s| s.advance(&mut ex));
                    if matches!(r, Ok(None)) {
                        return None;
                    }
                    let r = r.map(Option::unwrap_or_default);
                    let end = ex.finish_tasks(r.is_err());
                    Some(r.and_then(|v| end.map(|()| v)))
                }
            });
            let r = match r {
                Ok(None) => {
                    return super::green::Step::Wait(steps.as_ref().and_then(|s| s.deadline()))
                }
                Ok(Some(r)) => r,
                Err(e) => Err(e),
            };
            for c in &chans {
                c.unregister();
            }
            if let Some((rec, line, start, name)) = &record {
                rec.task(name, *line, *start, r.is_ok());
            }
            h2.finish(r);
            if let Some(d) = &ended {
                d.party_ended(party);
            }
            super::green::Step::Done
        }));
        if let Err(e) = spawned {
            if let Some(d) = &deadlock {
                d.party_ended(party);
            }
            // The closure was dropped unrun: its channel registrations end here.
            for c in &registered {
                c.unregister();
            }
            return Err(RunError::new(
                span,
                RunErrorKind::Resources {
                    message: format!(
                        "cannot start this task ({} tasks running): {e}",
                        self.tasks.len()
                    ),
                },
            ));
        }
        self.tasks.push(h.clone());
        Ok(h)
    }

    /// The body of `for var in …` once per item.
    fn for_items(
        &mut self,
        s: &Stmt,
        var: &crate::ast::Ident,
        body: &[Stmt],
        items: Box<dyn Iterator<Item = Dynamic> + '_>,
    ) -> Result<Dynamic, RunError> {
        for x in items {
            self.check_cancel(s.span)?;
            let base = self.scope.len();
            self.scope.push_dynamic(var.name.clone(), x);
            let r = self.block(body, Dest::Stdout);
            self.scope.rewind(base);
            let _ = r?;
        }
        self.check_cancel(s.span)?;
        Ok(Dynamic::UNIT)
    }

    fn join(&mut self, j: &Join) -> Result<Dynamic, RunError> {
        let mut handles = vec![];
        let mut as_array = j.names.len() > 1;
        for n in &j.names {
            let (hs, array) = self.handles(n)?;
            as_array |= array;
            for (name, h) in hs {
                *h.inner.name.lock().unwrap_or_else(|e| e.into_inner()) = name;
                handles.push(h);
            }
        }
        let deadline = j.timeout.map(|d| Instant::now() + d);
        if j.settle {
            return self.settle(j, &handles, deadline, as_array);
        }
        // A join without a timeout waits only for its tasks; with one, time itself wakes it.
        let _waiting = match (&self.shared.rt.deadlock, deadline) {
            (Some(d), None) => {
                Some(d.wait(j.span, "`join` waits for tasks that are waiting".into()))
            }
            _ => None,
        };
        let mut values = vec![];
        for (i, h) in handles.iter().enumerate() {
            // Fail fast (asyncio's TaskGroup, Go's errgroup): while waiting for this task,
            // a later one that fails cancels the others, which are waited for (their
            // processes stopped), and its failure is the join's.
            let r = loop {
                let step = Instant::now() + Duration::from_millis(10);
                let until = deadline.map_or(step, |d| d.min(step));
                if let Some(r) = h.wait(Some(until), &self.token) {
                    break Some(r);
                }
                if let Some(e) = handles[i + 1..].iter().find_map(TaskHandle::failure) {
                    stop_all(&handles);
                    return Err(e);
                }
                if gave_up(&self.token, deadline) {
                    break None;
                }
            };
            match r {
                Some(Ok(v)) => values.push(v),
                Some(Err(e)) => {
                    // The first failure in the order waited: the others are stopped too.
                    stop_all(&handles);
                    return Err(e);
                }
                None => {
                    self.check_cancel(j.span)?;
                    return Err(join_timeout(j.span, &handles));
                }
            }
        }
        Ok(if values.len() == 1 && !as_array {
            values.remove(0)
        } else {
            Dynamic::from_array(values)
        })
    }
}

impl Executor {
    /// `join … settle`: every task's outcome, in order, as `#{ok: true, value: v}` or
    /// `#{ok: false, error: e}` (`e` as `catch` gives it); never raises for a task. With a
    /// timeout, the tasks still running then are cancelled (their `finally` blocks run) and
    /// their records are the join's timeout error. An interrupt of the joiner still raises.
    fn settle(
        &mut self,
        j: &Join,
        handles: &[TaskHandle],
        deadline: Option<Instant>,
        as_array: bool,
    ) -> Result<Dynamic, RunError> {
        let _waiting = match (&self.shared.rt.deadlock, deadline) {
            (Some(d), None) => {
                Some(d.wait(j.span, "`join` waits for tasks that are waiting".into()))
            }
            _ => None,
        };
        let mut outcomes = Vec::with_capacity(handles.len());
        for h in handles {
            let r = loop {
                if let Some(r) = h.wait(deadline, &self.token) {
                    break Some(r);
                }
                if gave_up(&self.token, deadline) {
                    break None;
                }
            };
            match r {
                Some(r) => outcomes.push(Some(r)),
                None => {
                    self.check_cancel(j.span)?;
                    outcomes.push(None);
                }
            }
        }
        let timed_out = outcomes
            .iter()
            .any(Option::is_none)
            .then(|| join_timeout(j.span, handles));
        let mut records: Vec<Dynamic> = outcomes
            .into_iter()
            .map(|o| {
                let mut m = rhai::Map::new();
                match o.unwrap_or_else(|| {
                    Err(timed_out
                        .clone()
                        .unwrap_or_else(|| cancel_error(CancelReason::Requested, j.span)))
                }) {
                    Ok(v) => {
                        m.insert("ok".into(), Dynamic::TRUE);
                        m.insert("value".into(), v);
                    }
                    Err(e) => {
                        m.insert("ok".into(), Dynamic::FALSE);
                        m.insert("error".into(), Dynamic::from_map(self.error_map(&e)));
                    }
                }
                Dynamic::from_map(m)
            })
            .collect();
        Ok(if records.len() == 1 && !as_array {
            records.remove(0)
        } else {
            Dynamic::from_array(records)
        })
    }
}

/// A join's timeout: the tasks not finished are named, and every task is stopped.
fn join_timeout(span: Span, handles: &[TaskHandle]) -> RunError {
    let running = handles
        .iter()
        .filter(|h| !h.finished())
        .map(TaskHandle::name)
        .collect();
    stop_all(handles);
    RunError::new(span, RunErrorKind::JoinTimeout { running })
}

/// Cancel every task of a join that ends early (a failure, a timeout) and wait until each
/// has stopped (its processes reaped); each is joined from then on.
fn stop_all(handles: &[TaskHandle]) {
    for h in handles {
        h.inner.token.cancel(CancelReason::Requested);
    }
    for h in handles {
        let _ = h.wait(None, &CancelToken::new());
    }
}

/// A channel's items read on this thread (`for x in ch`, a `from ch` in the sink's loop):
/// until every sender has closed it, or the run is cancelled. While it waits on an empty
/// channel, the deadlock detector knows, and names the wait by `what`.
pub(crate) struct ChannelItems {
    pub(crate) rx: crossbeam_channel::Receiver<Dynamic>,
    pub(crate) external: bool,
    pub(crate) token: CancelToken,
    pub(crate) watch: Option<(Arc<super::deadlock::Deadlock>, Span)>,
    pub(crate) what: &'static str,
}

impl Iterator for ChannelItems {
    type Item = Dynamic;
    fn next(&mut self) -> Option<Dynamic> {
        let mut waiting = None;
        loop {
            match self.rx.recv_timeout(std::time::Duration::from_millis(20)) {
                Ok(x) => {
                    if let Some((d, _)) = &self.watch {
                        d.progressed();
                    }
                    return Some(x);
                }
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    if self.token.is_cancelled() {
                        return None;
                    }
                    if let (Some((d, span)), None, false) = (&self.watch, &waiting, self.external) {
                        waiting = Some(d.wait(*span, self.what.into()));
                    }
                }
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return None,
            }
        }
    }
}

/// Where statement `i` of `n` sends a final pipeline's output: only the last one goes to
/// `tail`.
fn dest_at(i: usize, n: usize, tail: Dest) -> Dest {
    if i + 1 == n {
        tail
    } else {
        Dest::Stdout
    }
}

/// A Rhai type name in user words: `a number (i64)`.
pub(super) fn type_words(t: &str) -> String {
    let plain = match t {
        "i64" | "f64" => "a number",
        "string" | "ImmutableString" | "char" => "a string",
        "bool" => "a boolean",
        "()" => "nothing (`()`)",
        "array" => "an array",
        "map" => "a map",
        _ => return format!("a value of type {t}"),
    };
    format!("{plain} ({t})")
}

/// Names used by `into NAME` stages anywhere in a task body.
fn collect_intos(sp: &Spawn, f: &mut dyn FnMut(&str)) {
    fn pipeline(p: &crate::ast::Pipeline, f: &mut dyn FnMut(&str)) {
        for st in &p.stages {
            if let StageKind::Into(n) = &st.kind {
                f(&n.name);
            }
        }
    }
    fn stmts(ss: &[Stmt], f: &mut dyn FnMut(&str)) {
        for s in ss {
            match &s.kind {
                StmtKind::Pipeline(p)
                | StmtKind::Let {
                    value: LetValue::Pipeline(p),
                    ..
                } => pipeline(p, f),
                StmtKind::If {
                    then, otherwise, ..
                } => {
                    stmts(then, f);
                    if let Some(o) = otherwise {
                        stmts(o, f);
                    }
                }
                StmtKind::For { body, .. } => stmts(body, f),
                k => k.nested().into_iter().for_each(|b| stmts(b, f)),
            }
        }
    }
    match &sp.body {
        SpawnBody::Block(ss) => stmts(ss, f),
        SpawnBody::Pipeline(p) => pipeline(p, f),
    }
}

/// The script span of a Rhai position relative to snippet `r`.
fn snippet_span(r: &Rhai, pos: rhai::Position) -> Option<Span> {
    let at = crate::script::position::span_at(&r.code, pos)?;
    Some(Span::new(r.span.start + at.start, r.span.start + at.end))
}

fn line_of(src: &str, span: Span) -> String {
    let line = src.get(..span.start).map_or(0, |s| s.matches('\n').count()) + 1;
    format!("line {line}")
}
