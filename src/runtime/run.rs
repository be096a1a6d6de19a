//! Running a whole script: compile its `fn`s, bind `args`, execute, join tasks, and — when
//! asked (the CLI and REPL) — handle SIGINT/SIGTERM with the shutdown sequence of docs/language.md §7.

use super::cancel::{CancelReason, CancelToken};
use super::eval::Shared;
use super::exec::{cancel_error, Executor, Interrupts};
use super::pipeline::Dest;
use super::run_error::{RunError, RunErrorKind};
use super::{Rt, Runtime};
use crate::ast::{Stmt, StmtKind};
use crate::script::position::{padded, span_at};
use crate::Script;
use rhai::{Dynamic, Scope, AST};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How to run a script.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// The script's `args`.
    pub args: Vec<String>,
    /// Cancel this token to stop the run (the shutdown sequence runs as for SIGINT).
    pub cancel: CancelToken,
    /// Install SIGINT/SIGTERM handlers for the run (the CLI does; a library host need not).
    pub handle_signals: bool,
    /// Variables to start with.
    pub vars: Vec<(String, Dynamic)>,
    /// Host set-up for every Rhai engine of the run.
    pub hooks: Vec<super::EngineHook>,
    /// Where the run's output goes instead of flow's stdout and stderr (none: flow's own).
    pub output: Option<super::OutputHook>,
    /// Print the value of a last statement ending in a reducing sink (`… | sum`), as every
    /// other statement-level sink is printed (the CLI does). Either way it is returned.
    pub print_result: bool,
    /// Append one JSON line per pipeline run to this file, naming the segments it started
    /// (the CLI sets it from `FLOW_STAGES_STARTED`): how the tests hold the runtime to the
    /// plan that `flow plan --format json` shows.
    #[doc(hidden)]
    pub stages_started: Option<std::path::PathBuf>,
    /// Rhai engines kept between runs (the host engine's own: built for its registrations).
    #[doc(hidden)]
    pub engines: Option<Arc<super::eval::EngineCache>>,
    /// Filled with the script's variables when the run ends (a host's `Vars`).
    #[doc(hidden)]
    pub vars_out: Option<VarsOut>,
    /// Whether commands and item stages may read flow's stdin (the CLI's scripts do; a
    /// host's do not unless it says so): without it they read nothing.
    pub inherit_stdin: bool,
    /// The only programs the run may start, as scripts name them (`sh` for shell
    /// commands); `None`: any program.
    pub programs: Option<Vec<String>>,
    /// Record what the run's stages and tasks did (busy, waiting for input or output,
    /// items), its CPU and memory over time, and leave the [`RunReport`] here when the run
    /// ends, whether it succeeded, failed or was interrupted. `None`: nothing is recorded.
    pub report: Option<ReportOut>,
}

/// Where a run leaves its variables for the host.
pub type VarsOut = Arc<Mutex<Vec<(String, Dynamic)>>>;

/// Where a run leaves its report ([`RunOptions::report`]).
pub type ReportOut = Arc<Mutex<Option<super::RunReport>>>;

fn all_fns<'a>(stmts: &'a [Stmt], out: &mut Vec<&'a Stmt>) {
    for s in stmts {
        match &s.kind {
            StmtKind::Fn { .. } => out.push(s),
            StmtKind::If {
                then, otherwise, ..
            } => {
                all_fns(then, out);
                if let Some(o) = otherwise {
                    all_fns(o, out);
                }
            }
            StmtKind::For { body, .. } | StmtKind::OnInterrupt { body, .. } => all_fns(body, out),
            k => k.nested().into_iter().for_each(|b| all_fns(b, out)),
        }
    }
}

/// Compile every `fn` of the script into one AST (positions are the script's).
pub(crate) fn compile_fns(
    engine: &super::eval::LazyEngine,
    script: &Script,
) -> Result<(AST, Vec<String>), RunError> {
    let mut fns = vec![];
    all_fns(&script.ast.stmts, &mut fns);
    let mut ast = AST::empty();
    let mut texts = vec![];
    for s in fns {
        if let StmtKind::Fn { code, .. } = &s.kind {
            let text = padded(&script.source.text, code.span, &code.code);
            match engine.compile(&text) {
                Ok(a) => {
                    ast = ast.merge(&a);
                    texts.push(text);
                }
                Err(e) => {
                    let at = span_at(&script.source.text, e.position());
                    let message = e.err_type().to_string();
                    return Err(RunError::new(
                        code.span,
                        RunErrorKind::Rhai {
                            message,
                            at,
                            value: None,
                        },
                    ));
                }
            }
        }
    }
    Ok((ast, texts))
}

/// What the run of `script` under `rt` shares: its `fn`s compiled (the engine is built
/// only if there are any, or when a statement first needs Rhai).
fn shared(rt: &Rt, script: &Script) -> Result<Arc<Shared>, RunError> {
    let engine = super::eval::LazyEngine::new(rt.clone());
    let (fns, fn_texts) = compile_fns(&engine, script)?;
    Ok(Arc::new(Shared {
        engine,
        fns,
        fn_texts,
        src: Arc::from(script.source.text.as_str()),
        rt: rt.clone(),
        snippets: super::snippets::Snippets::default(),
    }))
}

/// Run a compiled script to the end. Returns the last statement's value.
///
/// # Errors
/// The first run error (its exit code via [`RunError::exit_code`]).
pub fn run_script(script: &Script, opts: RunOptions) -> Result<Dynamic, RunError> {
    let Some(out) = opts.report.clone() else {
        return run_recorded(script, opts, None);
    };
    let rec = super::record::Recorder::start();
    let result = run_recorded(script, opts, Some(rec.clone()));
    let mut report = rec.finish();
    report.script.clone_from(&script.source.name);
    report.mark_bottleneck();
    if let Err(e) = &result {
        report.interrupted = matches!(
            e.kind,
            RunErrorKind::Interrupted { .. } | RunErrorKind::CancelledByHost
        );
        if !matches!(e.kind, RunErrorKind::ScriptExit { .. }) {
            report.error = Some(e.to_string());
        }
        report.exit_code = e.exit_code();
    }
    *out.lock().unwrap_or_else(|e| e.into_inner()) = Some(report);
    result
}

fn run_recorded(
    script: &Script,
    opts: RunOptions,
    recorder: Option<Arc<super::record::Recorder>>,
) -> Result<Dynamic, RunError> {
    let mut runtime = Runtime::new();
    runtime.recorder = Mutex::new(recorder);
    runtime.hooks = opts.hooks.clone();
    if let Some(e) = &opts.engines {
        runtime.engines = e.clone();
    }
    runtime.deadlock = Some(super::deadlock::Deadlock::new(opts.cancel.clone()));
    runtime.output = opts.output.clone();
    runtime.stdout.set_root(opts.cancel.clone());
    runtime.sandbox = super::Sandbox {
        programs: opts.programs.clone().map(Into::into),
        stdin: opts.inherit_stdin,
    };
    if let Some(path) = &opts.stages_started {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| {
                RunError::new(
                    crate::Span::default(),
                    RunErrorKind::Io {
                        message: format!("cannot open {}: {e}", path.display()),
                    },
                )
            })?;
        runtime.stages_log = Some(Arc::new(Mutex::new((f, script.source.name.clone()))));
    }
    let rt: Rt = Arc::new(runtime);
    let shared = shared(&rt, script)?;
    let mut scope = Scope::new();
    let args: rhai::Array = opts.args.iter().cloned().map(Dynamic::from).collect();
    scope.push("args", args);
    for (k, v) in opts.vars {
        scope.push_dynamic(k, v);
    }
    let token = opts.cancel.clone();
    let mut ex = Executor::new(shared.clone(), scope, token.clone());
    let interrupts = ex.interrupts.clone();
    let handlers_done = Arc::new(Mutex::new(None::<Instant>));
    let _signals = if opts.handle_signals {
        Some(install_signals(
            &token,
            shared.clone(),
            interrupts.clone(),
            handlers_done.clone(),
        ))
    } else {
        None
    };
    // A host's cancel (no signal) runs the same sequence: on_interrupt blocks, then exit.
    let mut result = ex.top(
        &script.ast.stmts,
        Dest::Last {
            print: opts.print_result,
        },
    );
    if let Some(out) = &opts.vars_out {
        let vars = ex
            .scope
            .iter_raw()
            .map(|(name, _, v)| (name.to_string(), v.clone()))
            .collect();
        *out.lock().unwrap_or_else(|e| e.into_inner()) = vars;
    }
    if let Some(e) = rt.deadlock.as_ref().and_then(|d| d.found()) {
        // (The end-of-script join reports it with its own help.)
        if !matches!(&result, Err(r) if matches!(r.kind, RunErrorKind::Deadlock { .. })) {
            result = Err(e);
        }
    }
    if opts.handle_signals {
        stop_escapees(&rt);
    }
    // The reader of flow's stdout went away (`flow … | head -1`): everything was stopped
    // at once, and that is a quiet, successful end, whatever the stages said while stopped.
    if token.reason() == Some(CancelReason::StdoutClosed) {
        return Ok(Dynamic::UNIT);
    }
    // (A deadlock cancels with `Internal`: that is a failure, not an interrupt.)
    if let Some(reason) = token.reason().filter(|r| *r != CancelReason::Internal) {
        if !opts.handle_signals {
            run_handlers(&shared, &interrupts);
        } else {
            // Give the on_interrupt blocks their grace period to finish.
            let deadline = Instant::now() + rt.grace() + Duration::from_millis(200);
            while Instant::now() < deadline && !rt.force.is_cancelled() {
                if handlers_done
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .is_some()
                {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        // The run's own token is cancelled only from outside (a signal, or the host): that
        // is the outcome, whatever the statements reported while being stopped.
        return Err(match reason {
            CancelReason::Interrupt | CancelReason::Terminate | CancelReason::Hangup => {
                cancel_error(reason, crate::Span::default())
            }
            _ => RunError::new(crate::Span::default(), RunErrorKind::CancelledByHost),
        });
    }
    result
}

/// What left flow's process groups and still runs is stopped before flow exits: at once
/// after an interrupt's grace period, or with SIGTERM and a grace period at a normal end.
fn stop_escapees(rt: &Runtime) {
    let at = *rt.interrupted_at.lock().unwrap_or_else(|e| e.into_inner());
    let grace = if rt.force.is_cancelled() {
        Duration::ZERO
    } else {
        match at {
            Some(t) => (t + rt.grace()).saturating_duration_since(Instant::now()),
            None => rt.grace(),
        }
    };
    crate::os::children::finish(grace, at.is_some());
}

fn run_handlers(shared: &Arc<Shared>, interrupts: &Interrupts) {
    let blocks = interrupts.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for h in blocks {
        // The handler's own script text: in the REPL it may come from an earlier entry.
        let mut ex = Executor::new(h.shared.clone(), h.scope, CancelToken::new());
        if let Err(e) = ex.block(&h.body, Dest::Stdout) {
            let line = format!("flow: on_interrupt: {e}\n");
            let hook = shared.rt.output.as_ref();
            let _ = super::output::write(hook, super::Stream::Stderr, line.as_bytes());
        }
    }
}

struct SignalThread {
    handle: signal_hook::iterator::Handle,
}

impl Drop for SignalThread {
    fn drop(&mut self) {
        self.handle.close();
    }
}

/// Handlers installed before the script is read, so that a SIGINT in flow's first
/// milliseconds is queued for the run instead of killing flow.
static EARLY: Mutex<Option<signal_hook::iterator::Signals>> = Mutex::new(None);

/// The signals a run handles with the shutdown sequence: SIGINT, SIGTERM, and SIGHUP unless
/// flow was started with it ignored (`nohup flow …` must keep running when the terminal
/// goes away).
fn shutdown_signals() -> Vec<i32> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    static HUP_IGNORED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ignored = *HUP_IGNORED.get_or_init(|| crate::os::signals::is_ignored(SIGHUP));
    if ignored {
        vec![SIGINT, SIGTERM]
    } else {
        vec![SIGINT, SIGTERM, SIGHUP]
    }
}

/// Catch SIGINT, SIGTERM and SIGHUP from now on; the next run that handles signals receives
/// those that arrived in the meantime. The CLI calls this first thing.
pub fn catch_signals_early() {
    if let Ok(s) = signal_hook::iterator::Signals::new(shutdown_signals()) {
        *EARLY.lock().unwrap_or_else(|e| e.into_inner()) = Some(s);
    }
}

fn install_signals(
    token: &CancelToken,
    shared: Arc<Shared>,
    interrupts: Interrupts,
    done: Arc<Mutex<Option<Instant>>>,
) -> Option<SignalThread> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let early = EARLY.lock().unwrap_or_else(|e| e.into_inner()).take();
    let mut signals = match early {
        Some(s) => s,
        None => signal_hook::iterator::Signals::new(shutdown_signals()).ok()?,
    };
    let handle = signals.handle();
    let token = token.clone();
    // Refused (a thread limit already reached), the handlers are removed again: a Ctrl-C
    // then ends flow at once, and the watchdog stops its children. Never a signal held and
    // never handled.
    let started = std::thread::Builder::new()
        .name("flow-run".into())
        .spawn(move || {
            let mut first = true;
            for sig in signals.forever() {
                if first {
                    first = false;
                    // When, before the cancel: a `finally` that the cancel starts counts its
                    // grace period from here.
                    *shared
                        .rt
                        .interrupted_at
                        .lock()
                        .unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
                    token.cancel(match sig {
                        SIGTERM => CancelReason::Terminate,
                        SIGHUP => CancelReason::Hangup,
                        _ => CancelReason::Interrupt,
                    });
                    // Processes that left flow's groups get the signal too (groups get it from
                    // their guards), and SIGKILL with everything else after the grace period.
                    crate::os::children::signal_escapees(if sig == SIGINT { SIGINT } else { sig });
                    let (s, i, d) = (shared.clone(), interrupts.clone(), done.clone());
                    let handlers =
                        std::thread::Builder::new()
                            .name("flow-run".into())
                            .spawn(move || {
                                run_handlers(&s, &i);
                                *d.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
                            });
                    if handlers.is_err() {
                        // No thread for them: they run here (a second signal waits for them).
                        run_handlers(&shared, &interrupts);
                        *done.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
                    }
                } else {
                    // A second signal: no more grace (what it cuts ends as that signal).
                    shared.rt.force.cancel(match sig {
                        SIGTERM => CancelReason::Terminate,
                        SIGHUP => CancelReason::Hangup,
                        _ => CancelReason::Interrupt,
                    });
                }
            }
        });
    if started.is_err() {
        handle.close();
        return None;
    }
    Some(SignalThread { handle })
}

/// A sequence of runs sharing variables and `fn`s: the REPL's state.
pub struct Session {
    rt: Rt,
    fn_texts: Vec<String>,
    ex: Executor,
    /// The newest entry's report (every entry is recorded: `:report FILE` writes it).
    last_report: Option<super::RunReport>,
}

impl Session {
    pub fn new(args: Vec<String>) -> Self {
        let rt: Rt = Arc::new(Runtime::new());
        let shared = Arc::new(Shared {
            engine: super::eval::LazyEngine::new(rt.clone()),
            fns: AST::empty(),
            fn_texts: vec![],
            src: Arc::from(""),
            rt: rt.clone(),
            snippets: super::snippets::Snippets::default(),
        });
        let mut scope = Scope::new();
        let args: rhai::Array = args.into_iter().map(Dynamic::from).collect();
        scope.push("args", args);
        Session {
            rt,
            fn_texts: vec![],
            ex: Executor::new(shared, scope, CancelToken::new()),
            last_report: None,
        }
    }

    /// The report of the newest entry that ran (what it did, stage by stage).
    #[must_use]
    pub fn last_report(&self) -> Option<&super::RunReport> {
        self.last_report.as_ref()
    }

    /// Names of the variables defined so far.
    pub fn vars(&self) -> Vec<(String, String)> {
        self.ex
            .scope
            .iter_raw()
            .map(|(name, _, v)| {
                (
                    name.to_string(),
                    crate::runtime::run_error::shorten(&v.to_string(), 60),
                )
            })
            .collect()
    }

    /// Run one entry; its variables and `fn`s stay for the next.
    pub fn run(&mut self, script: &Script, token: CancelToken) -> Result<Dynamic, RunError> {
        let engine = super::eval::LazyEngine::new(self.rt.clone());
        let (_, texts) = compile_fns(&engine, script)?;
        self.fn_texts.extend(texts);
        let fns = super::eval::compile_fn_texts(&engine, &self.fn_texts);
        self.ex.shared = Arc::new(Shared {
            engine,
            fns,
            fn_texts: self.fn_texts.clone(),
            src: Arc::from(script.source.text.as_str()),
            rt: self.rt.clone(),
            snippets: super::snippets::Snippets::default(),
        });
        self.ex.token = token.clone();
        self.rt.stdout.set_root(token.clone());
        let rec = super::record::Recorder::start();
        *self.rt.recorder.lock().unwrap_or_else(|e| e.into_inner()) = Some(rec.clone());
        let r = self.entry(script, &token);
        *self.rt.recorder.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let mut report = rec.finish();
        report.script.clone_from(&script.source.name);
        report.mark_bottleneck();
        if let Err(e) = &r {
            report.interrupted = matches!(e.kind, RunErrorKind::Interrupted { .. });
            report.error = Some(e.to_string());
            report.exit_code = e.exit_code();
        }
        self.last_report = Some(report);
        r
    }

    fn entry(&mut self, script: &Script, token: &CancelToken) -> Result<Dynamic, RunError> {
        let r = self.ex.top(&script.ast.stmts, Dest::Stdout);
        match token.reason() {
            Some(CancelReason::StdoutClosed) => Ok(Dynamic::UNIT),
            Some(reason) => {
                // `on_interrupt` blocks registered by this or an earlier entry run on
                // every interrupted entry, and stay registered for the next.
                if reason == CancelReason::Interrupt {
                    run_handlers(&self.ex.shared, &self.ex.interrupts);
                }
                Err(cancel_error(reason, crate::Span::default()))
            }
            None => r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CompileOptions, SourceFile};

    fn compile(src: String) -> Script {
        Script::compile(SourceFile::new("t.flow", src), &CompileOptions::default()).unwrap_or_else(
            |d| {
                panic!(
                    "{}",
                    d.render(crate::RenderOptions {
                        color: false,
                        width: 100
                    })
                )
            },
        )
    }

    /// A host running a script many times builds its Rhai engine once: a finished run's
    /// engine waits in the cache and the next run takes it, instead of building another.
    #[test]
    fn runs_share_the_cached_rhai_engine() {
        let script = compile("let m = #{a: 1}\nm.keys().len()\n".into());
        let cache = Arc::new(crate::runtime::EngineCache::default());
        let opts = || RunOptions {
            engines: Some(cache.clone()),
            ..RunOptions::default()
        };
        assert_eq!(cache.waiting(), 0);
        let _ = run_script(&script, opts()).expect("runs");
        assert_eq!(cache.waiting(), 1, "the run's engine is kept");
        let _ = run_script(&script, opts()).expect("runs");
        assert_eq!(
            cache.waiting(),
            1,
            "the second run took it and gave it back"
        );
    }

    /// A stage naming a script `fn` runs it inline: natively when its body is one fast
    /// expression, and with the accumulator moved when a `reduce` body returns it.
    #[test]
    fn a_named_fn_runs_inline_and_moves_the_accumulator() {
        use crate::runtime::eval::{Compiled, Env};
        let script = compile(
            "fn is_error(line) { line.split(\" \")[8].parse_int() >= 500 }\n\
             fn twice(x) { let y = x * 2; y }\n\
             fn bump(m, k) { m[k] = (m[k] ?? 0) + 1; m }\n\
             fn plus(acc, x) { acc + x }\n\
             fn early(m, k) { if k == 0 { return m } m.push(k); m }\n\
             fn two(a) { a }\nfn two(a, b) { b }\n"
                .into(),
        );
        let rt: Rt = Arc::new(Runtime::new());
        let env = Env {
            shared: shared(&rt, &script).expect("compiles"),
            vars: Arc::default(),
        };
        let compiled = |name: &str| {
            let id = crate::ast::Ident {
                name: name.into(),
                span: crate::Span::new(0, 0),
            };
            env.compile_callable(&crate::ast::Callable::Fn(id))
                .expect("compiles")
        };
        let inline = |name: &str| match compiled(name) {
            Compiled::Inline(f) => Some((f.is_native(), f.moves_first())),
            _ => None,
        };
        assert_eq!(inline("is_error"), Some((true, false)));
        // What a stage asks for its native path (`filter is_error` took Rhai's call path,
        // cloning the item twice, while the same body inline was native).
        assert!(compiled("is_error").fast().is_some());
        assert!(compiled("twice").fast().is_some());
        assert!(compiled("bump").fast().is_none());
        assert_eq!(inline("twice"), Some((true, false)));
        assert_eq!(inline("bump"), Some((false, true)));
        assert_eq!(inline("plus"), Some((false, false)));
        // A `return` could give another value than the accumulator: it is not kept in place.
        assert_eq!(inline("early"), Some((false, false)));
        // Overloads are Rhai's to pick.
        assert_eq!(inline("two"), None);
        // The block `{ bump(acc, it) }` moves the accumulator through `bump`.
        let block = crate::ast::Callable::Block(crate::ast::Rhai {
            code: "bump(acc, it.trim())".into(),
            span: crate::Span::new(0, 0),
        });
        let ev = env.evaluator();
        let Compiled::Block(ast, ..) = env.compile_callable(&block).expect("compiles") else {
            panic!("a block");
        };
        assert!(ev.acc_call(&ast, "bump(acc, it.trim())").is_some());
        // An argument that reads `acc`: the block runs as written.
        assert!(ev.acc_call(&ast, "bump(acc, acc.len())").is_none());
        let plus = crate::ast::Callable::Block(crate::ast::Rhai {
            code: "plus(acc, it)".into(),
            span: crate::Span::new(0, 0),
        });
        let Compiled::Block(ast, ..) = env.compile_callable(&plus).expect("compiles") else {
            panic!("a block");
        };
        assert!(ev.acc_call(&ast, "plus(acc, it)").is_none());
    }

    #[test]
    fn statements_the_fast_path_runs_build_no_engine() {
        let script = compile(
            "let x = 5\nlet y = x * 2 + 1\nif y > 10 { let z = \"a\".to_upper() }\n".into(),
        );
        let rt: Rt = Arc::new(Runtime::new());
        let shared = shared(&rt, &script).expect("compiles");
        let mut ex = Executor::new(shared.clone(), Scope::new(), CancelToken::new());
        let _ = ex.top(&script.ast.stmts, Dest::Stdout).expect("runs");
        assert!(!shared.engine.is_built());
        assert_eq!(ex.scope.get_value::<i64>("y"), Some(11));
        // What the fast path does not take is Rhai's, as before.
        let more = compile("let w = [1, 2].len()\n".into());
        let _ = ex.top(&more.ast.stmts, Dest::Stdout).expect("runs");
        assert!(shared.engine.is_built());
        assert_eq!(ex.scope.get_value::<i64>("w"), Some(2));
    }

    /// A script of `n` `let`s, compiled.
    fn lets(n: usize) -> Script {
        let src: String = (0..n).map(|i| format!("let x_{i} = {i}\n")).collect();
        compile(src)
    }

    fn time(script: &Script) -> Duration {
        let start = Instant::now();
        let _ = run_script(script, RunOptions::default()).expect("runs");
        start.elapsed()
    }

    /// Running is linear in the number of statements: each once copied every variable and
    /// padded its Rhai to its line (20,000 `let`s took 25 s, 100 times 2,000's time). Not a
    /// benchmark: a quadratic cost shows as ~100x, a linear one as ~10x. The two sizes are
    /// timed in turn, best of five each, so that a busy machine slows both alike.
    #[test]
    fn run_time_is_linear_in_statements() {
        let (a, b) = (lets(2_000), lets(20_000));
        let (mut small, mut big) = (Duration::MAX, Duration::MAX);
        for _ in 0..5 {
            small = small.min(time(&a));
            big = big.min(time(&b));
        }
        let ratio = big.as_secs_f64() / small.as_secs_f64();
        assert!(
            ratio < 50.0,
            "2,000 lets {small:?}, 20,000 lets {big:?}: {ratio:.1}x for 10x the statements"
        );
    }

    /// Snippets are compiled as written: their errors still point into the script.
    #[test]
    fn errors_of_statements_point_into_the_script() {
        let src = "let a = 1\nlet b = 2\n\nlet c = [1,\n  2].foo()\nlet d = 3\n";
        let e = run_script(&compile(src.to_string()), RunOptions::default()).unwrap_err();
        let RunErrorKind::Rhai { at: Some(at), .. } = e.kind else {
            panic!("{e:?}")
        };
        assert_eq!(at.text(src), "foo", "{at:?}");
        // Inside a `fn`, the position is the fn's; inside a closure, the closure's.
        let src = "fn f(x) {\n  x.bar()\n}\nlet a = 1\nf(1)\n";
        let e = run_script(&compile(src.to_string()), RunOptions::default()).unwrap_err();
        let RunErrorKind::Rhai { at: Some(at), .. } = e.kind else {
            panic!("{e:?}")
        };
        assert_eq!(at.text(src), "bar", "{at:?}");
        let src = "let a = 1\nlet b = [1].map(|x|\n  x.baz())\n";
        let e = run_script(&compile(src.to_string()), RunOptions::default()).unwrap_err();
        let RunErrorKind::Rhai { at: Some(at), .. } = e.kind else {
            panic!("{e:?}")
        };
        assert_eq!(at.text(src), "baz", "{at:?}");
    }
}
