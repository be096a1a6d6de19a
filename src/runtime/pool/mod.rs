//! Pool stages: `pool N map F` on N threads and `pool N exec …` as N concurrent processes.
//! `start` wires the parts: intake (numbering, resume, window slots) → workers (map calls,
//! exec jobs, retries, timeouts, the job log) → the window (turns, ordering, `on_error`) →
//! the stage's output (bytes or line items).
//! Invariants: at most `window` jobs are dispatched and not yet emitted; every job's process
//! is reaped by its worker, and the stage's `Running` is done only when every worker is gone
//! and the window has written everything; the stage's own guard signals its jobs when its
//! token is cancelled (SIGINT for an interrupt, SIGTERM otherwise, SIGKILL after the grace).

mod alarm;
mod exec_job;
mod halt;
mod intake;
mod job_block;
mod job_log;
mod progress;
mod slurm;
mod slurm_job;
mod spool;
mod stage_out;
mod window;
mod worker;

pub(crate) use stage_out::{Output, Stdout};

use super::eval::{Env, WordEnv};
use super::output::Target;
use super::pipeline::{Failure, CHANNEL_CAPACITY};
use super::run_error::{RunError, RunErrorKind};
use super::threads;
use super::value::Batch;
use crate::ast::{PoolSize, PoolWork};
pub(crate) use crate::plan::{OnError, Placement, PoolPlan};
use crate::runtime::builtins::{cpus, display};
use crate::Span;
use crossbeam_channel::{bounded, Receiver};
use rhai::Dynamic;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

/// Memory for the output of jobs waiting for their turn, over the whole window; each job
/// holds between 64 KiB and 1 MiB of it before spilling to a temporary file.
const SPOOL_BUDGET: usize = 32 << 20;

/// A started pool stage: done when every job was reaped and all output written.
pub(crate) struct Running {
    done: Receiver<()>,
}

impl Running {
    pub(crate) fn wait(self) {
        let _ = self.done.recv();
    }
}

/// Start a pool stage as its plan says. Returns the channel of its output items when
/// `output` is `Output::Items` and the job command has no constant `> f` (which is the
/// stage's output).
pub(crate) fn start(
    env: &Env,
    plan: &PoolPlan,
    input: Receiver<Batch>,
    failure: &Failure,
    total_hint: Option<u64>,
    output: Output,
) -> Result<(Option<Receiver<Batch>>, Running), RunError> {
    let span = plan.span;
    let parent = failure.token();
    let n = size(env, &plan.size)?;
    let rt = &env.shared.rt;
    let chunk = match &plan.chunk {
        Some(a) => Some(
            usize::try_from(super::stages::amount(env, a)?)
                .unwrap_or(1)
                .max(1),
        ),
        None => None,
    };
    let retries = match &plan.retries {
        Some(a) => u32::try_from(super::stages::amount(env, a)?).unwrap_or(0),
        None => 0,
    };
    let log_path = match &plan.log {
        Some(w) => Some(super::words::expand(w, &WordEnv { env, it: None })?.join(" ")),
        None => None,
    };
    let on_error = plan.on_error;
    let halt = match on_error {
        OnError::Halt(h) => Some(Arc::new(halt::HaltState::new(h))),
        _ => None,
    };
    // A constant `> f` of the job command is the stage's output file, opened (truncated
    // once) like any redirect.
    let stage_file = match &plan.stage_file {
        Some(r) => super::pipeline::open_redirect_named(r, &WordEnv { env, it: None })?,
        None => None,
    };
    let job_cmd = plan.job_command.clone();
    let (out, items_rx) = match (stage_file, output) {
        (Some((f, path)), _) => (
            stage_out::StageOut::bytes(Box::new(f), Target::File(path), rt.clone(), span),
            None,
        ),
        (None, Output::Bytes(w, target)) => (
            stage_out::StageOut::bytes(w, target, rt.clone(), span),
            None,
        ),
        (None, Output::Items) => {
            let (tx, rx) = bounded::<Batch>(CHANNEL_CAPACITY);
            (stage_out::StageOut::items(tx, None), Some(rx))
        }
        (None, Output::Records(sep)) => {
            let (tx, rx) = bounded::<Batch>(CHANNEL_CAPACITY);
            (stage_out::StageOut::items(tx, Some(sep)), Some(rx))
        }
    };
    let out = Arc::new(Mutex::new(out));
    let compiled = match &plan.work {
        PoolWork::Map(c) => Some(Arc::new(env.compile_callable(c)?)),
        _ => None,
    };
    // Read before the log is opened: a last row torn by a crash is not taken as done.
    let done_before = match (&log_path, plan.resume) {
        (Some(p), true) => job_log::resume(p, span, &env.shared.rt)?,
        _ => std::collections::HashSet::new(),
    };
    let log = match &log_path {
        Some(p) => Some(job_log::JobLog::open(p, span)?),
        None => None,
    };
    let slurm = match &plan.placement {
        Placement::Slurm(settings) => Some(Arc::new(slurm::Slurm::new(env, settings)?)),
        Placement::Local => None,
    };

    let token = parent.child();
    let groups: super::groups::Groups = Arc::default();
    let guard = Arc::new(env.shared.rt.guard_groups(&token, groups.clone(), span)?);
    // A cancelled stage cancels its Slurm jobs through Slurm at once.
    let slurm_watch = slurm.as_ref().map(|s| slurm::watch(&token, s.clone()));
    let window = n * plan.window_per_worker;
    let (job_tx, job_rx) = bounded::<intake::Job>(n);
    let (event_tx, event_rx) = bounded::<window::Event>(2 * window + 2 * n);
    let (slot_tx, slot_rx) = bounded::<()>(window);
    let (done_tx, done_rx) = bounded::<()>(1);
    let total = Arc::new(AtomicUsize::new(0));
    let job_size = Arc::new(AtomicUsize::new(1));
    // A host that captures output owns the terminal: no bar drawn behind its back.
    let wanted = plan.progress && env.shared.rt.output.is_none();
    let progress = progress::make(wanted, total_hint, &env.shared.rt.progress);

    let keyer = log
        .is_some()
        .then(|| job_log::Keyer::new(work_text(env, &plan.work)));
    let intake = intake::Intake {
        input,
        jobs: job_tx,
        slots: slot_tx,
        token: token.clone(),
        workers: n,
        chunk,
        adaptive: plan.adaptive_chunks,
        job_size: job_size.clone(),
        total: total.clone(),
        keyer,
        done_before,
    };
    // Refused threads: the stage's failure (resources), its token cancelled, so what was
    // started winds down; dropping the channels' ends ends what could not start.
    if let Err(e) = threads::start("the pool's intake", span, move || intake.run()) {
        failure.fail(e);
    }

    let shared = Arc::new(worker::Shared {
        env: env.clone(),
        work: plan.work.clone(),
        span,
        token: token.clone(),
        retries,
        backoff: plan.backoff,
        timeout: plan.timeout,
        on_error,
        halt: halt.clone(),
        log,
        job_size,
        cfg: exec_job::JobCfg {
            chunked: chunk.is_some(),
            span,
            timeout: plan.timeout,
            slurm: slurm.clone(),
            cmd: job_cmd,
            groups,
            programs: exec_job::Programs::default(),
        },
        out: out.clone(),
        spool_cap: (SPOOL_BUDGET / window).clamp(64 << 10, 1 << 20),
        record: env.shared.rt.recorder().map(|rec| {
            let (label, line) = crate::runtime::record::label_line(&env.shared.src, span);
            let id = rec.pool(label, line, n);
            (rec, id)
        }),
    });
    for slot in 1..=n {
        let (sh, compiled, jobs, events) = (
            shared.clone(),
            compiled.clone(),
            job_rx.clone(),
            event_tx.clone(),
        );
        let (done_tx, guard) = (done_tx.clone(), guard.clone());
        // A worker's alarm clock enforces `timeout`: made here, so a refusal is the stage's.
        let alarm = match plan.timeout.map(|_| alarm::Alarm::new()).transpose() {
            Ok(a) => a,
            Err(e) => {
                let what = format!("a thread for pool worker {slot}'s timeout");
                failure.fail(threads::refused(span, &what, &e));
                break;
            }
        };
        let ctx = crate::runtime::context::ThreadCtx {
            token: Some(token.clone()),
            deadline: None,
            runtime: Some(env.shared.rt.clone()),
        };
        let started = threads::start(&format!("pool worker {slot} of {n}"), span, move || {
            crate::runtime::context::with_ctx(ctx, || {
                worker::run(&sh, slot, compiled.as_ref(), &jobs, &events, alarm);
            });
            // The last worker out ends the guard (every job was reaped by then).
            drop(guard);
            drop(done_tx);
        });
        if let Err(e) = started {
            failure.fail(e);
            break;
        }
    }
    drop((event_tx, job_rx, guard));

    let mut w = window::Window::new(
        out,
        plan.ordered,
        retries > 0,
        on_error,
        span,
        token.clone(),
        failure.clone(),
        slot_rx,
        progress,
        total,
        halt,
    );
    w.src = env.shared.src.clone();
    let progress_slot = env.shared.rt.progress.clone();
    let rt = env.shared.rt.clone();
    // The window's warnings and summary go where the run's output goes.
    let ctx = crate::runtime::context::ThreadCtx {
        token: None,
        deadline: None,
        runtime: Some(env.shared.rt.clone()),
    };
    let window_failure = failure.clone();
    let started = threads::start("the pool's output", span, move || {
        crate::runtime::context::with_ctx(ctx, || w.run(&event_rx));
        progress_slot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        // Every srun is reaped by now: nothing of the stage may stay on the cluster.
        drop(slurm_watch);
        if let Some(s) = slurm.filter(|_| token.is_cancelled()) {
            s.sweep(&rt);
        }
        drop(done_tx);
    });
    if let Err(e) = started {
        // Without the window nobody reads the workers' events: they fail to send and stop.
        window_failure.fail(e);
    }
    Ok((items_rx, Running { done: done_rx }))
}

fn size(env: &Env, size: &PoolSize) -> Result<usize, RunError> {
    let bad = |m: String, s: Span| RunError::new(s, RunErrorKind::Value { message: m });
    match size {
        PoolSize::Cpus => Ok(cpus()),
        PoolSize::Fixed(n, s) => usize::try_from(*n)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| bad("a pool needs at least 1 worker".into(), *s)),
        PoolSize::Expr(r) => {
            let v = env
                .eval(r)?
                .as_int()
                .map_err(|t| bad(format!("pool size must be a number, got {t}"), r.span))?;
            usize::try_from(v)
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| bad("a pool needs at least 1 worker".into(), r.span))
        }
    }
}

/// The job's command text, as written: what a resume key depends on besides the item.
fn work_text(env: &Env, work: &PoolWork) -> String {
    let src = &env.shared.src;
    match work {
        PoolWork::Map(c) => {
            let text = c.span().text(src).to_string();
            // A named fn: its definition is the work, so editing it re-runs every item.
            let def = match c {
                crate::ast::Callable::Fn(name) => env
                    .shared
                    .fn_texts
                    .iter()
                    .find(|t| t.trim_start().starts_with(&format!("fn {}(", name.name)))
                    .cloned()
                    .unwrap_or_default(),
                crate::ast::Callable::Block(_) => String::new(),
            };
            format!("map {text}\n{def}")
        }
        PoolWork::Exec(c) => format!("exec {}", c.text_span().text(src)),
        // The block's text inside its braces: `exec { a | b }` keys as `exec a | b`.
        PoolWork::ExecBlock { span, .. } => {
            let inner = span.text(src).trim();
            let inner = inner.strip_prefix('{').unwrap_or(inner);
            let inner = inner.strip_suffix('}').unwrap_or(inner);
            format!("exec {}", inner.trim())
        }
    }
}

fn items_text(items: &[Dynamic]) -> String {
    items.iter().map(display).collect::<Vec<_>>().join(" ")
}
