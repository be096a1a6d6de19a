//! A pool worker: takes jobs from intake, runs them (`map` calls on this thread with its
//! own engine; `exec` jobs as processes), retries, logs, and tells the window. Invariant:
//! with `on_error fail` the first real failure, and with any `on_error` a row the job log
//! could not take, cancels the stage's token at once (intake stops, running siblings are
//! signalled); the window reports it when its turn comes.

use super::super::cancel::{CancelReason, CancelToken};
use super::super::eval::{Compiled, Env, Evaluator};
use super::super::run_error::{RunError, RunErrorKind};
use super::alarm::Alarm;
use super::exec_job::{self, JobCfg, Outcome};
use super::intake::{adapt_job_size, Job};
use super::job_block::JobBlock;
use super::job_log::{JobLog, Row};
use super::spool::Spool;
use super::stage_out::SharedOut;
use super::window::{Event, Finished};
use super::OnError;
use crate::ast::PoolWork;
use crate::runtime::context;
use crate::script::display::display;
use crate::Span;
use crossbeam_channel::{Receiver, Sender};
use rhai::Dynamic;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// What the workers of one stage share.
pub(super) struct Shared {
    pub(super) env: Env,
    pub(super) work: PoolWork,
    pub(super) span: Span,
    pub(super) token: CancelToken,
    pub(super) retries: u32,
    /// `backoff D`: wait D, 2D, 4D… before each retry.
    pub(super) backoff: Option<Duration>,
    pub(super) timeout: Option<Duration>,
    pub(super) on_error: OnError,
    /// `on_error fail N [soon]`: the threshold and its counts.
    pub(super) halt: Option<Arc<super::halt::HaltState>>,
    pub(super) log: Option<JobLog>,
    pub(super) job_size: Arc<AtomicUsize>,
    pub(super) cfg: JobCfg,
    pub(super) out: SharedOut,
    /// Bytes of a job's output held in memory before it spills to a file.
    pub(super) spool_cap: usize,
    /// A recorded run's recorder and this pool's id in it.
    pub(super) record: Option<(Arc<crate::runtime::record::Recorder>, usize)>,
}

impl Shared {
    /// A recorded run: job `seq` (on `slot`, item `it`) ran from `t0` for its attempts.
    /// `done`: the attempts made, how the last ended, whether the job succeeded.
    fn record_job(
        &self,
        seq: usize,
        slot: Slot,
        it: &Dynamic,
        t0: Instant,
        done: (u32, &Outcome, bool),
    ) {
        let Some((rec, pool)) = &self.record else {
            return;
        };
        let (attempts, o, ok) = done;
        let end_us = rec.now_us();
        let took = u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX);
        let text = display(it);
        let item = if text.chars().count() > 80 {
            format!("{}…", text.chars().take(79).collect::<String>())
        } else {
            text
        };
        rec.job(crate::runtime::report::JobReport {
            pool: *pool,
            seq,
            slot,
            item,
            start_us: end_us.saturating_sub(took),
            end_us,
            attempts,
            exit: o.exit,
            signal: o.signal,
            ok,
            max_rss_kb: o.usage.map_or(0, |u| u.max_rss_kb),
            cpu_us: o.usage.map_or(0, |u| u.cpu_us),
            queue_us: o
                .queued
                .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
        });
    }
}

/// A worker's number, 1..N: `slot` in job words and map blocks (GNU parallel's `{%}`).
type Slot = usize;

pub(super) fn run(
    sh: &Shared,
    slot: Slot,
    compiled: Option<&Arc<Compiled>>,
    jobs: &Receiver<Job>,
    events: &Sender<Event>,
    alarm: Option<Alarm>,
) {
    // Each map worker: its own engine, compiled callable and scope, built once.
    let (wenv, compiled) = match (&sh.work, compiled) {
        (PoolWork::Map(c), Some(f)) => {
            let w = sh.env.for_worker();
            let own = w.compile_callable(c).ok().map(Arc::new);
            (w, own.or_else(|| Some(f.clone())))
        }
        _ => (sh.env.clone(), None),
    };
    let mut ev = wenv.evaluator();
    // A job block's statements run here, through an executor of this worker's own.
    let block = matches!(sh.work, PoolWork::ExecBlock { .. }).then(|| JobBlock::new(&sh.env));
    // `seq` and `slot` are bound only for a block that names them: the others keep the
    // native fast path, which binds `it` alone.
    let job_vars = match &sh.work {
        PoolWork::Map(crate::ast::Callable::Block(b)) => names_job_vars(&b.code),
        _ => false,
    };
    for job in jobs {
        if sh.token.is_cancelled() || sh.halt.as_ref().is_some_and(|h| h.halted()) {
            break;
        }
        let done = match &compiled {
            Some(f) => map_job(
                sh,
                &mut ev,
                f,
                &job,
                alarm.as_ref(),
                job_vars.then_some(slot),
                slot,
            ),
            None => match exec(sh, slot, &job, alarm.as_ref(), events, block.as_ref()) {
                Some(d) => d,
                None => break,
            },
        };
        // A row the log could not take fails the stage whatever `on_error` says.
        if (!done.errors.is_empty() && sh.on_error == OnError::Fail) || done.log_error.is_some() {
            sh.token.cancel(CancelReason::Internal);
        }
        if let Some(h) = &sh.halt {
            if h.record(done.items, done.errors.len()) && !h.policy.soon {
                sh.token.cancel(CancelReason::Internal);
            }
        }
        if events.send(Event::Finished(done)).is_err() {
            break;
        }
    }
}

/// Run `f` up to `1 + retries` times (`f` is told the attempt, 1, 2, …), waiting `backoff`,
/// then twice as long each time, before each retry; the result and the attempts made. A
/// cancel during the wait ends it with the last failure.
fn with_retries<T>(
    sh: &Shared,
    mut f: impl FnMut(u32) -> Result<T, RunError>,
) -> (Result<T, RunError>, u32) {
    let (retries, token) = (sh.retries, &sh.token);
    let mut attempts = 0;
    loop {
        attempts += 1;
        match f(attempts) {
            Err(e)
                if attempts <= retries
                    && !token.is_cancelled()
                    && !matches!(e.kind, RunErrorKind::Cancelled)
                    && sh.backoff.is_none_or(|d| {
                        token.sleep(d.saturating_mul(1 << (attempts - 1).min(20)))
                    }) => {}
            r => {
                return (
                    r.map_err(|mut e| {
                        let mut job = e.job.as_deref().cloned().unwrap_or_default();
                        job.attempts = attempts;
                        e.job = Some(Arc::new(job));
                        e
                    }),
                    attempts,
                )
            }
        }
    }
}

/// Whether Rhai text names `seq`, `slot` or `attempt` (as a whole word).
fn names_job_vars(code: &str) -> bool {
    code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|w| w == "seq" || w == "slot" || w == "attempt")
}

fn map_job(
    sh: &Shared,
    ev: &mut Evaluator,
    f: &Compiled,
    job: &Job,
    alarm: Option<&Alarm>,
    slot: Option<Slot>,
    worker: Slot,
) -> Finished {
    let mut done = Finished {
        seq: job.seq,
        values: vec![],
        errors: vec![],
        items: job.items.len(),
        log_error: None,
    };
    let job_start = Instant::now();
    for (k, it) in job.items.iter().enumerate() {
        let (started, t0) = (SystemTime::now(), Instant::now());
        let job_vars = slot.map(|s| (job.pos[k], s));
        let (r, attempts) = with_retries(sh, |attempt| {
            map_one(
                sh,
                ev,
                f,
                it,
                alarm,
                job_vars.map(|(s, sl)| (s, sl, attempt)),
            )
        });
        if sh.record.is_some() {
            let o = Outcome::of(r.is_ok());
            sh.record_job(job.pos[k], worker, it, t0, (attempts, &o, r.is_ok()));
        }
        if let Some(log) = &sh.log {
            let row = Row {
                seq: job.pos[k],
                item: &display(it),
                start: started,
                secs: t0.elapsed().as_secs_f64(),
                attempts,
                exit: i32::from(r.is_err()),
                signal: 0,
                error: r.as_ref().err(),
                key: job.keys.get(k).copied().unwrap_or(0),
            };
            if let Err(e) = log.write(&row) {
                done.log_error = Some(e);
                break;
            }
        }
        match r {
            Ok(v) => done.values.push(v),
            Err(e) if matches!(e.kind, RunErrorKind::Cancelled) => break,
            Err(e) if sh.on_error == OnError::Keep => {
                done.values
                    .push(e.kept(&sh.env.shared.src, Some(it.clone())));
            }
            Err(e) => {
                done.errors.push(e);
                if sh.on_error == OnError::Fail {
                    break;
                }
            }
        }
    }
    adapt_job_size(&sh.job_size, job_start.elapsed());
    done
}

/// `F(it)` for one item. With a timeout the item runs under a token of its own that the
/// alarm cancels at the deadline: Rhai code stops at its next operation, and `sleep` and
/// `run()` inside it (which watch the thread's token) stop too.
fn map_one(
    sh: &Shared,
    ev: &mut Evaluator,
    f: &Compiled,
    it: &Dynamic,
    alarm: Option<&Alarm>,
    job_vars: Option<(usize, Slot, u32)>,
) -> Result<Dynamic, RunError> {
    let span = sh.span;
    let call = |ev: &mut Evaluator| match job_vars {
        Some((seq, slot, attempt)) => ev.call_with(
            f,
            &[
                ("it", it.clone()),
                ("seq", Dynamic::from(i64::try_from(seq).unwrap_or(i64::MAX))),
                (
                    "slot",
                    Dynamic::from(i64::try_from(slot).unwrap_or(i64::MAX)),
                ),
                ("attempt", Dynamic::from(i64::from(attempt))),
            ],
            span,
        ),
        None => ev.call(f, it.clone(), span),
    };
    let (r, timed_out) = match (sh.timeout, alarm) {
        (Some(d), Some(alarm)) => {
            let item_token = sh.token.child();
            let deadline = Instant::now() + d;
            alarm.arm(deadline, item_token.clone());
            let mut ctx = context::current();
            ctx.token = Some(item_token.clone());
            ctx.deadline = Some(deadline);
            let r = context::with_ctx(ctx, || call(ev));
            alarm.disarm();
            let late = item_token.reason() == Some(CancelReason::Timeout)
                || (Instant::now() >= deadline && !sh.token.is_cancelled());
            (r, late)
        }
        _ => (call(ev), false),
    };
    match r {
        // An item that outlived its timeout failed, whatever it returned.
        _ if timed_out => Err(RunError::new(
            span,
            RunErrorKind::Timeout {
                what: "the item".into(),
            },
        )
        .with_item(&display(it))),
        Err(_) if sh.token.is_cancelled() => Err(RunError::new(span, RunErrorKind::Cancelled)),
        Err(e) if e.item.is_none() => Err(e.with_item(&display(it))),
        r => r,
    }
}

/// An `exec` job; `None` when the window is gone.
fn exec(
    sh: &Shared,
    slot: Slot,
    job: &Job,
    alarm: Option<&Alarm>,
    events: &Sender<Event>,
    block: Option<&JobBlock>,
) -> Option<Finished> {
    let spool = Arc::new(Spool::new(sh.out.clone(), sh.spool_cap));
    events
        .send(Event::Started {
            seq: job.seq,
            spool: spool.clone(),
        })
        .ok()?;
    let (started, t0) = (SystemTime::now(), Instant::now());
    let mut outcome = Outcome::NONE;
    let (r, attempts) = with_retries(sh, |attempt| {
        if attempt > 1 {
            spool.reset();
        }
        let job_token = sh.token.child();
        // A Slurm job's timeout counts from when it starts running (slurm_job.rs).
        if let (Some(d), Some(a), None) = (sh.timeout, alarm, &sh.cfg.slurm) {
            a.arm(Instant::now() + d, job_token.clone());
        }
        let env = sh.env.with_vars(&[
            (
                "seq",
                Dynamic::from(i64::try_from(job.pos[0]).unwrap_or(i64::MAX)),
            ),
            (
                "slot",
                Dynamic::from(i64::try_from(slot).unwrap_or(i64::MAX)),
            ),
            ("attempt", Dynamic::from(i64::from(attempt))),
        ]);
        let (r, o) = exec_job::run(
            &env, &sh.work, &job.items, &sh.cfg, &job_token, &spool, block,
        );
        if let Some(a) = alarm {
            a.disarm();
        }
        outcome = o;
        r
    });
    let secs = t0.elapsed().as_secs_f64();
    if let Some(first) = job.items.first() {
        let ok = r.is_ok();
        sh.record_job(job.pos[0], slot, first, t0, (attempts, &outcome, ok));
    }
    let log_error = sh.log.as_ref().and_then(|log| {
        job.items.iter().enumerate().find_map(|(k, it)| {
            log.write(&Row {
                seq: job.pos[k],
                item: &display(it),
                start: started,
                secs,
                attempts,
                exit: outcome.exit,
                signal: outcome.signal,
                error: r.as_ref().err(),
                key: job.keys.get(k).copied().unwrap_or(0),
            })
            .err()
        })
    });
    let errors = match r {
        Err(e) if !matches!(e.kind, RunErrorKind::Cancelled) => vec![e],
        _ => vec![],
    };
    Some(Finished {
        seq: job.seq,
        values: vec![],
        errors,
        items: job.items.len(),
        log_error,
    })
}
