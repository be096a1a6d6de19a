//! Pool stages: `pool N map F` on N threads and `pool N exec …` as N concurrent processes.
//! Invariants: intake is bounded by a window of `WINDOW_PER_WORKER × N` items in flight
//! (ordered output holds at most that many); every job's process is reaped by its worker;
//! the first failure (with `on_error fail`) cancels the stage's token.

use super::cancel::{CancelReason, CancelToken};
use super::eval::{Env, WordEnv};
use super::pipeline::{command_spec, Failure, BATCH_SIZE, CHANNEL_CAPACITY};
use super::process::{self, ErrTo, Proc};
use super::run_error::{RunError, RunErrorKind};
use super::value::Batch;
use crate::ast::{Pool, PoolSize, PoolWork};
use crate::script::engine::{cpus, display, err_line};
use crate::Span;
use crossbeam_channel::{bounded, Receiver};
use rhai::Dynamic;
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

const WINDOW_PER_WORKER: usize = 16;

/// A unit of dispatch: `items` are input items `first`, `first + 1`, … (0-based).
struct Job {
    seq: usize,
    first: usize,
    items: Vec<Dynamic>,
}

/// A finished job: its output, the failures (one per failed item for `map`, one for a
/// failed `exec` job) and how many input items failed.
struct Done {
    seq: usize,
    out: Vec<Dynamic>,
    errors: Vec<RunError>,
    items: usize,
    failed_items: usize,
}

/// Largest job `pool map` forms by itself.
const MAX_JOB: usize = 1024;

/// Adapt the job size of `pool map` without `chunk` to the measured cost of a job: jobs
/// double while they finish in under 1 ms (channel hand-offs would dominate trivial items)
/// and halve above 10 ms (slow items keep every worker busy and the tail short).
fn adapt_job_size(size: &AtomicUsize, elapsed: Duration) {
    let cur = size.load(Ordering::Relaxed);
    if elapsed < Duration::from_millis(1) && cur < MAX_JOB {
        size.store((cur * 2).min(MAX_JOB), Ordering::Relaxed);
    } else if elapsed > Duration::from_millis(10) && cur > 1 {
        size.store(cur / 2, Ordering::Relaxed);
    }
}

/// Start a pool stage; returns the channel of its output items.
#[allow(clippy::too_many_arguments)]
pub(crate) fn start(
    env: &Env,
    pool: &Pool,
    span: Span,
    input: Receiver<Batch>,
    parent: &CancelToken,
    failure: &Failure,
    groups: &super::groups::Groups,
    total_hint: Option<u64>,
) -> Result<Receiver<Batch>, RunError> {
    let bad = |m: String, s: Span| RunError::new(s, RunErrorKind::Value { message: m });
    let n = match &pool.size {
        PoolSize::Cpus => cpus(),
        PoolSize::Fixed(n, s) => usize::try_from(*n)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| bad("a pool needs at least 1 worker".into(), *s))?,
        PoolSize::Expr(r) => {
            let v = env
                .eval(r)?
                .as_int()
                .map_err(|t| bad(format!("pool size must be a number, got {t}"), r.span))?;
            usize::try_from(v)
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| bad("a pool needs at least 1 worker".into(), r.span))?
        }
    };
    let o = &pool.opts;
    let is_map = matches!(pool.work, PoolWork::Map(_));
    let explicit_chunk = o.chunk.is_some();
    let skip = o.skip_errors;
    let chunk = match &o.chunk {
        Some(a) => usize::try_from(super::stages::amount(env, a)?)
            .unwrap_or(1)
            .max(1),
        None => 1,
    };
    let retries = match &o.retries {
        Some(a) => u32::try_from(super::stages::amount(env, a)?).unwrap_or(0),
        None => 0,
    };
    let log = match &o.log {
        Some(w) => Some(super::words::expand(w, &WordEnv { env, it: None })?.join(" ")),
        None => None,
    };
    let work_text = match &pool.work {
        PoolWork::Map(c) => format!("map {}", c.span().text(&env.shared.src)),
        PoolWork::Exec(c) => format!("exec {}", c.program.span.text(&env.shared.src)),
        PoolWork::ExecPipeline(p) => format!("exec {}", p.span.text(&env.shared.src)),
    };
    let work_text = format!("{work_text} {}", span.text(&env.shared.src));
    let done_before: HashSet<String> = match (&log, o.resume) {
        (Some(path), true) => read_log(path),
        _ => HashSet::new(),
    };
    let log_file = match &log {
        Some(path) => Some(Arc::new(Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| {
                    RunError::new(
                        span,
                        RunErrorKind::Io {
                            message: format!("cannot open log {path}: {e}"),
                        },
                    )
                })?,
        ))),
        None => None,
    };
    let compiled = match &pool.work {
        PoolWork::Map(c) => Some(Arc::new(env.compile_callable(c)?)),
        _ => None,
    };
    let token = parent.child();
    let window = n * WINDOW_PER_WORKER;
    let (job_tx, job_rx) = bounded::<Job>(n);
    let (done_tx, done_rx) = bounded::<Done>(window);
    let (slot_tx, slot_rx) = bounded::<()>(window);
    let (out_tx, out_rx) = bounded::<Batch>(CHANNEL_CAPACITY);
    let total = Arc::new(AtomicUsize::new(0));
    let job_size = Arc::new(AtomicUsize::new(1));
    let failed = Arc::new(AtomicUsize::new(0));
    let progress = make_progress(o.progress, total_hint, &env.shared.rt.progress);
    let progress_slot = env.shared.rt.progress.clone();

    // Intake: number items, skip what the log says is done, hold a window slot per job.
    {
        let token = token.clone();
        let total = total.clone();
        let wt = work_text.clone();
        let job_size = job_size.clone();
        std::thread::spawn(move || {
            let mut seq = 0;
            let mut first = 0;
            let mut pending = Vec::with_capacity(chunk);
            let adaptive = is_map && !explicit_chunk;
            let dispatch = |items: Vec<Dynamic>, seq: &mut usize, first: &mut usize| -> bool {
                if slot_tx.send(()).is_err() || token.is_cancelled() {
                    return false;
                }
                let n_items = items.len();
                let ok = job_tx
                    .send(Job {
                        seq: *seq,
                        first: *first,
                        items,
                    })
                    .is_ok();
                *seq += 1;
                *first += n_items;
                ok
            };
            'intake: for batch in input {
                let size = if adaptive {
                    // Never fewer jobs than workers for a batch.
                    job_size
                        .load(Ordering::Relaxed)
                        .min(batch.len().div_ceil(n))
                        .max(1)
                } else {
                    chunk
                };
                for it in batch {
                    if !done_before.is_empty()
                        && done_before.contains(&item_hash(&display(&it), &wt))
                    {
                        continue;
                    }
                    total.fetch_add(1, Ordering::Relaxed);
                    pending.push(it);
                    if pending.len() >= size
                        && !dispatch(std::mem::take(&mut pending), &mut seq, &mut first)
                    {
                        break 'intake;
                    }
                }
                if adaptive
                    && !pending.is_empty()
                    && !dispatch(std::mem::take(&mut pending), &mut seq, &mut first)
                {
                    break 'intake;
                }
            }
            if !pending.is_empty() {
                dispatch(pending, &mut seq, &mut first);
            }
        });
    }
    let cfg = Arc::new(JobCfg {
        chunked: explicit_chunk,
        span,
        timeout: o.timeout,
        srun: match &o.slurm {
            Some(settings) => Some(srun_args(env, settings)?),
            None => None,
        },
    });
    let slurm = cfg.srun.is_some();
    // Workers.
    for _ in 0..n {
        let cfg = cfg.clone();
        let job_rx = job_rx.clone();
        let done_tx = done_tx.clone();
        let env = env.clone();
        let token = token.clone();
        let work = pool.work.clone();
        let compiled = compiled.clone();
        let timeout = o.timeout;
        let groups = groups.clone();
        let log_file = log_file.clone();
        let wt = work_text.clone();
        let job_size = job_size.clone();
        let rt = env.shared.rt.clone();
        std::thread::spawn(move || {
            let ctx = crate::script::context::ThreadCtx {
                token: Some(token.clone()),
                deadline: None,
                runtime: Some(rt),
            };
            crate::script::context::with_ctx(ctx, || {
                // Each map worker: its own engine, compiled callable and scope, built once.
                let (wenv, compiled) = match (&work, &compiled) {
                    (PoolWork::Map(c), Some(_)) => {
                        let w = env.for_worker();
                        let f = w.compile_callable(c).ok().map(Arc::new);
                        (w, f.or(compiled))
                    }
                    _ => (env.clone(), compiled),
                };
                let mut ev = wenv.evaluator();
                let log = |seq: usize,
                           item: &str,
                           started: SystemTime,
                           secs: f64,
                           attempts: u32,
                           r: Result<(), &RunError>| {
                    if let Some(f) = &log_file {
                        let status = match r {
                            Ok(()) => "0".to_string(),
                            Err(e) => e.to_string().replace(['\t', '\n'], " "),
                        };
                        let row = format!(
                            "{}\t{}\t{:.3}\t{:.3}\t{}\t{}\t{}\n",
                            seq + 1,
                            item.replace(['\t', '\n'], " "),
                            started
                                .duration_since(SystemTime::UNIX_EPOCH)
                                .map_or(0.0, |d| d.as_secs_f64()),
                            secs,
                            attempts,
                            status,
                            item_hash(item, &wt)
                        );
                        let _ = f
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .write_all(row.as_bytes());
                    }
                };
                for job in job_rx {
                    if token.is_cancelled() {
                        break;
                    }
                    let mut done = Done {
                        seq: job.seq,
                        out: vec![],
                        errors: vec![],
                        items: job.items.len(),
                        failed_items: 0,
                    };
                    if let (PoolWork::Map(_), Some(f)) = (&work, &compiled) {
                        let job_start = Instant::now();
                        for (k, it) in job.items.iter().enumerate() {
                            let (started, t0) = (SystemTime::now(), Instant::now());
                            let (r, attempts) = with_retries(retries, &token, || {
                                map_one(&mut ev, f, it, span, timeout, &token)
                            });
                            if log_file.is_some() {
                                log(
                                    job.first + k,
                                    &display(it),
                                    started,
                                    t0.elapsed().as_secs_f64(),
                                    attempts,
                                    r.as_ref().map(|_| ()),
                                );
                            }
                            match r {
                                Ok(v) => done.out.push(v),
                                Err(e) => {
                                    done.errors.push(e);
                                    done.failed_items += 1;
                                    if !skip {
                                        break;
                                    }
                                }
                            }
                        }
                        adapt_job_size(&job_size, job_start.elapsed());
                    } else {
                        let (started, t0) = (SystemTime::now(), Instant::now());
                        let (r, attempts) = with_retries(retries, &token, || {
                            exec_job(&env, &work, &job.items, &cfg, &token, &groups)
                        });
                        let item = items_text(&job.items);
                        log(
                            job.first,
                            &item,
                            started,
                            t0.elapsed().as_secs_f64(),
                            attempts,
                            r.as_ref().map(|_| ()),
                        );
                        match r {
                            Ok(v) => done.out = v,
                            Err(e) => {
                                done.errors.push(e);
                                done.failed_items = job.items.len();
                            }
                        }
                    }
                    if done_tx.send(done).is_err() {
                        break;
                    }
                }
            });
        });
    }
    drop(done_tx);
    // Collector: order (or not), count failures, release window slots.
    {
        let failure = failure.clone();
        let skip = o.skip_errors;
        let unordered = o.unordered;
        let token2 = token.clone();
        std::thread::spawn(move || {
            let mut next = 0;
            let mut held: BTreeMap<usize, Vec<Dynamic>> = BTreeMap::new();
            let emit = |v: Vec<Dynamic>| -> bool {
                for c in v.chunks(BATCH_SIZE) {
                    if out_tx.send(c.to_vec()).is_err() {
                        return false;
                    }
                }
                true
            };
            for d in done_rx {
                let _ = slot_rx.recv();
                if let Some(pb) = &progress {
                    pb.inc(d.items as u64);
                }
                let real: Vec<RunError> = d
                    .errors
                    .into_iter()
                    .filter(|e| !matches!(e.kind, RunErrorKind::Cancelled))
                    .collect();
                if !skip {
                    if let Some(e) = real.into_iter().next() {
                        failure.fail(e);
                        token2.cancel(CancelReason::Internal);
                        break;
                    }
                } else if !real.is_empty() {
                    failed.fetch_add(d.failed_items, Ordering::Relaxed);
                    for e in &real {
                        let msg = format!("flow: warning: {e}");
                        match &progress {
                            Some(pb) => pb.suspend(|| err_line(&msg)),
                            None => err_line(&msg),
                        }
                    }
                    if let Some(pb) = &progress {
                        pb.set_message(format!("{} failed", failed.load(Ordering::Relaxed)));
                    }
                }
                let v = d.out;
                if unordered {
                    if !emit(v) {
                        token2.cancel(CancelReason::Internal);
                        break;
                    }
                } else {
                    held.insert(d.seq, v);
                    while let Some(v) = held.remove(&next) {
                        next += 1;
                        if !emit(v) {
                            token2.cancel(CancelReason::Internal);
                            return;
                        }
                    }
                }
            }
            if slurm && token2.is_cancelled() {
                // Cancelled: make sure no job of this run stays queued or running on the cluster.
                let _ = std::process::Command::new("scancel")
                    .arg(format!("--name={}", slurm_job_name()))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
            if let Some(pb) = &progress {
                pb.finish_and_clear();
                progress_slot
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take();
            }
            let f = failed.load(Ordering::Relaxed);
            if f > 0 {
                err_line(&format!(
                    "flow: {f} of {} items failed",
                    total.load(Ordering::Relaxed)
                ));
            }
        });
    }
    Ok(out_rx)
}

/// Run `f` up to `1 + retries` times; the result and the attempts made.
fn with_retries<T>(
    retries: u32,
    token: &CancelToken,
    mut f: impl FnMut() -> Result<T, RunError>,
) -> (Result<T, RunError>, u32) {
    let mut attempts = 0;
    loop {
        attempts += 1;
        match f() {
            Err(e)
                if attempts <= retries
                    && !token.is_cancelled()
                    && !matches!(e.kind, RunErrorKind::Cancelled) => {}
            r => {
                return (
                    r.map_err(|mut e| {
                        e.attempts = Some(attempts);
                        e
                    }),
                    attempts,
                )
            }
        }
    }
}

/// `F(it)` for one item, within the item's timeout.
fn map_one(
    ev: &mut super::eval::Evaluator,
    f: &super::eval::Compiled,
    it: &Dynamic,
    span: Span,
    timeout: Option<Duration>,
    token: &CancelToken,
) -> Result<Dynamic, RunError> {
    use crate::script::context::{set_deadline, should_stop};
    if timeout.is_some() {
        set_deadline(timeout.map(|d| Instant::now() + d));
    }
    let r = ev.call(f, it.clone(), span);
    let timed_out = r.is_err() && timeout.is_some() && should_stop() && !token.is_cancelled();
    if timeout.is_some() {
        set_deadline(None);
    }
    match r {
        Err(_) if timed_out => Err(RunError::new(
            span,
            RunErrorKind::Timeout {
                what: "the item".into(),
            },
        )
        .with_item(&display(it))),
        Err(e) => Err(if e.item.is_none() {
            e.with_item(&display(it))
        } else {
            e
        }),
        ok => ok,
    }
}

fn items_text(items: &[Dynamic]) -> String {
    items.iter().map(display).collect::<Vec<_>>().join(" ")
}

/// FNV-1a of the item and the job's command text: the key of `resume`.
fn item_hash(item: &str, work: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in item.bytes().chain([0u8]).chain(work.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Hashes of the items a job log records as succeeded.
fn read_log(path: &str) -> HashSet<String> {
    let Ok(f) = std::fs::File::open(path) else {
        return HashSet::new();
    };
    BufReader::new(f)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (cols.len() >= 7 && cols[5] == "0").then(|| cols[6].to_string())
        })
        .collect()
}

/// A progress bar on stderr when it is a terminal: done/total (when the total is known),
/// rate, ETA and failures. Output lines are written around it (`around_progress`).
fn make_progress(
    wanted: bool,
    total: Option<u64>,
    slot: &super::Progress,
) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !wanted || !std::io::stderr().is_terminal() {
        return None;
    }
    let (pb, template) = match total {
        Some(n) => (
            indicatif::ProgressBar::new(n),
            "{bar:30} {pos}/{len}  {per_sec}  eta {eta}  {msg}",
        ),
        None => (
            indicatif::ProgressBar::new_spinner(),
            "{spinner} {pos} done  {per_sec}  {elapsed_precise}  {msg}",
        ),
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        pb.set_style(style);
    }
    pb.enable_steady_tick(Duration::from_millis(100));
    *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(pb.clone());
    Some(pb)
}

/// What every `exec` job of a pool shares.
struct JobCfg {
    /// `chunk` was given: `it` is the array of the job's items.
    chunked: bool,
    span: Span,
    timeout: Option<Duration>,
    /// `on slurm …`: the `srun` options that wrap each job.
    srun: Option<Vec<String>>,
}

/// `srun` options for `on slurm partition P cpus C mem M time T`, all jobs of this run
/// named `flow-<pid>` so that a cancel can `scancel` them by name.
fn srun_args(env: &Env, settings: &[(String, crate::ast::Word)]) -> Result<Vec<String>, RunError> {
    let mut args = vec![
        "--quiet".to_string(),
        format!("--job-name={}", slurm_job_name()),
    ];
    for (key, w) in settings {
        let v = super::words::expand(w, &WordEnv { env, it: None })?.join(" ");
        args.push(match key.as_str() {
            "partition" => format!("--partition={v}"),
            "cpus" => format!("--cpus-per-task={v}"),
            "mem" => format!("--mem={v}"),
            _ => format!("--time={}", slurm_time(&v)),
        });
    }
    args.push("--".into());
    Ok(args)
}

fn slurm_job_name() -> String {
    format!("flow-{}", std::process::id())
}

/// flow durations (`90s`, `30m`, `2h`) as Slurm's `H:MM:SS`; anything else as written.
fn slurm_time(v: &str) -> String {
    let split = v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let Ok(n) = num.parse::<f64>() else {
        return v.to_string();
    };
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return v.to_string(),
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let total = secs.ceil().max(1.0) as u64;
    format!("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60)
}

/// One `exec` job: run the command (or pipeline) with `it` bound; its stdout lines are the output.
fn exec_job(
    env: &Env,
    work: &PoolWork,
    items: &[Dynamic],
    cfg: &JobCfg,
    token: &CancelToken,
    groups: &super::groups::Groups,
) -> Result<Vec<Dynamic>, RunError> {
    let (span, timeout) = (cfg.span, cfg.timeout);
    let it = if cfg.chunked {
        Dynamic::from_array(items.to_vec())
    } else {
        items[0].clone()
    };
    let job_token = token.child();
    let timer = timeout.map(|d| {
        let t = job_token.clone();
        std::thread::spawn(move || {
            if t.sleep(d) {
                t.cancel(CancelReason::Timeout);
            }
        })
    });
    let result = match work {
        PoolWork::Exec(cmd) => {
            let mut spec = command_spec(cmd, &WordEnv { env, it: Some(&it) }, span)?;
            if let Some(srun) = &cfg.srun {
                let mut args: Vec<std::ffi::OsString> = srun.iter().map(Into::into).collect();
                args.push(std::mem::take(&mut spec.program).into());
                args.append(&mut spec.args);
                spec.program = "srun".into();
                spec.args = args;
            }
            // An explicit pipe, so that `2>&1` can share it and `> file` can replace it.
            let (out_r, out_w) = std::io::pipe().map_err(|e| super::pipeline::io_err(span, &e))?;
            let out_dup = out_w.try_clone().map_err(|e| super::pipeline::io_err(span, &e))?;
            spec.stdout = Stdio::from(out_w);
            spec.stderr = ErrTo::Forward;
            let out_file = std::fs::File::from(std::os::fd::OwnedFd::from(out_dup));
            super::pipeline::apply_redirects(&mut spec, cmd, &WordEnv { env, it: Some(&it) }, Some(out_file))?;
            let p = Proc::spawn(&env.shared.rt, spec)?;
            groups.lock().unwrap_or_else(|e| e.into_inner()).push(p.pid);
            let jg: super::groups::Groups = Arc::new(Mutex::new(vec![p.pid]));
            // The stage's own guard stops jobs on cancellation; a per-job one (a thread) is
            // only needed to enforce this job's timeout.
            let guard = timeout.map(|_| env.shared.rt.guard_groups(&job_token, jg));
            // Read on a thread: after a timeout or cancel, a descendant that escaped the job's
            // group and still holds its stdout must not keep the job (or flow) waiting.
            let out = Some(out_r);
            let (line_tx, line_rx) = crossbeam_channel::bounded::<Vec<Dynamic>>(1);
            if let Some(o) = out {
                std::thread::spawn(move || {
                    let mut lines = vec![];
                    super::lines::each_line(o, |l, _| {
                        lines.push(Dynamic::from(super::lines::text(l)));
                        true
                    });
                    let _ = line_tx.send(lines);
                });
            } else {
                drop(line_tx);
            }
            let pid = p.pid;
            let r = p.wait(|| super::pipeline::drain_for(&job_token));
            let lines = if job_token.is_cancelled() {
                line_rx.recv_timeout(Duration::from_millis(100)).unwrap_or_default()
            } else {
                line_rx.recv().unwrap_or_default()
            };
            drop(guard);
            groups
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|g| *g != pid);
            match process::judge(&r, true) {
                None => Ok(lines),
                Some(_) if job_token.reason() == Some(CancelReason::Timeout) => Err(RunError::new(
                    span,
                    RunErrorKind::Timeout {
                        what: format!("`{}`", r.program),
                    },
                )),
                Some(_) if token.is_cancelled() => {
                    Err(RunError::new(span, RunErrorKind::Cancelled))
                }
                Some(status) => Err(process::exit_error(r, status)),
            }
        }
        PoolWork::ExecPipeline(_) if cfg.srun.is_some() => Err(RunError::new(
            span,
            RunErrorKind::Value {
                message: "`on slurm` sends `exec cmd …` jobs to Slurm; a `{ pipeline }` job cannot be sent".into(),
            },
        )),
        PoolWork::ExecPipeline(pl) => {
            let mut vars = (*env.vars).clone();
            vars.push("it", it.clone());
            let sub = Env {
                shared: env.shared.clone(),
                vars: Arc::new(vars),
            };
            let r = super::pipeline::run(&sub, pl, super::pipeline::Dest::Collect, &job_token);
            match r {
                Ok(v) => Ok(v.try_cast::<rhai::Array>().unwrap_or_default()),
                Err(_) if job_token.reason() == Some(CancelReason::Timeout) => Err(RunError::new(
                    span,
                    RunErrorKind::Timeout {
                        what: "the job".into(),
                    },
                )),
                Err(e) => Err(e),
            }
        }
        PoolWork::Map(_) => Ok(vec![]),
    };
    job_token.cancel(CancelReason::Internal);
    if let Some(t) = timer {
        let _ = t.join();
    }
    result.map_err(|e| {
        if e.item.is_none() {
            e.with_item(&items_text(items))
        } else {
            e
        }
    })
}
