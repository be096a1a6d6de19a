//! One `exec` job on Slurm: `srun -v --job-name=<stage> … -- cmd args…` (or, for a
//! `{ pipeline }` job, `srun … -- <flow> -c '<pipeline>' <items…>` on the node). srun's own
//! messages are read from its stderr for the job id and the moment the job was allocated:
//! `timeout` and `time` count from there, not from submission (queue wait is free). A
//! timed-out or cancelled job is `scancel`led (srun would take one SIGINT as "print
//! status"); an `srun` that outlives the grace period after that is killed. A failed job is
//! an item failure naming its Slurm state and id, with the last lines of its stderr.

use super::super::cancel::{CancelReason, CancelToken};
use super::super::eval::{Env, WordEnv};
use super::super::lines::{Head, Pieces};
use super::super::pipeline::{self, command_spec};
use super::super::process::{self, ErrTo, Proc, Spec};
use super::super::run_error::{RunError, RunErrorKind};
use super::super::threads;
use super::exec_job::{pump, JobCfg, Outcome};
use super::slurm::Slurm;
use super::spool::Spool;
use crate::ast::{PoolWork, RedirectKind};
use rhai::Dynamic;
use std::collections::VecDeque;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TAIL: usize = 10;

/// What srun's stderr told so far.
#[derive(Default)]
struct Seen {
    id: Option<u64>,
    started: Option<Instant>,
    tail: VecDeque<String>,
}

/// Which limit ended the job.
#[derive(Clone, Copy, PartialEq)]
enum Limit {
    Timeout,
    Time,
}

pub(super) fn run(
    env: &Env,
    work: &PoolWork,
    it: &Dynamic,
    items: &[Dynamic],
    cfg: &JobCfg,
    job_token: &CancelToken,
    spool: &Arc<Spool>,
) -> (Result<(), RunError>, Outcome) {
    let span = cfg.span;
    let Some(slurm) = &cfg.slurm else {
        return (Ok(()), Outcome::NONE);
    };
    let (spec, out_r, err_r, what) = match start_spec(env, work, it, items, cfg, slurm) {
        Ok(s) => s,
        Err(e) => return (Err(e), Outcome::NONE),
    };
    let rt = &env.shared.rt;
    let p = match Proc::spawn(rt, spec).map(Proc::uncounted) {
        Ok(p) => p,
        Err(e) => return (Err(e), Outcome::NONE),
    };
    let (pid, submitted) = (p.pid, p.started);
    let seen: Arc<Mutex<Seen>> = Arc::default();
    // A refused reader thread: `p` is dropped (stopped and reaped), the job fails.
    let refused = |e: std::io::Error| {
        (
            Err(threads::refused(span, "a thread for a Slurm job", &e)),
            Outcome::NONE,
        )
    };
    let err_done = match read_stderr(err_r, seen.clone(), rt) {
        Ok(d) => d,
        Err(e) => return refused(e),
    };
    let out_done = match pump(out_r, spool.clone()) {
        Ok(d) => d,
        Err(e) => return refused(e),
    };
    // The job's limits, from the moment it started running.
    let limits: Vec<(Duration, Limit)> = cfg
        .timeout
        .map(|d| (d, Limit::Timeout))
        .into_iter()
        .chain(slurm.time.as_ref().map(|(d, _)| (*d, Limit::Time)))
        .collect();
    let hit: Arc<Mutex<Option<Limit>>> = Arc::default();
    let finished = Arc::new(AtomicBool::new(false));
    let killer = {
        let (seen, hit, finished) = (seen.clone(), hit.clone(), finished.clone());
        let (token, slurm, grace) = (job_token.clone(), slurm.clone(), rt.grace());
        let started = std::thread::Builder::new()
            .name("flow-slurm-job".into())
            .spawn(move || {
                police(&seen, &hit, &finished, &token, &slurm, &limits, grace, pid);
            });
        match started {
            Ok(t) => t,
            Err(e) => return refused(e),
        }
    };
    let r = p.wait(|| Duration::ZERO);
    finished.store(true, Ordering::SeqCst);
    let _ = killer.join();
    let wait = if job_token.is_cancelled() {
        Duration::from_millis(100)
    } else {
        Duration::from_secs(1)
    };
    let _ = out_done.recv_timeout(wait);
    let _ = err_done.recv_timeout(wait);
    let (id, tail, started) = {
        let s = seen.lock().unwrap_or_else(|e| e.into_inner());
        (s.id, s.tail.iter().cloned().collect::<Vec<_>>(), s.started)
    };
    // The local process is `srun`: its usage is not the job's, which ran on a node. A run
    // report asks the cluster's accounting instead, where it keeps one.
    let usage = match (id, rt.recorder()) {
        (Some(id), Some(_)) if !job_token.is_cancelled() => slurm.usage(id, job_token),
        _ => None,
    };
    let outcome = Outcome {
        exit: r.status.code().unwrap_or(-1),
        signal: r.status.signal().unwrap_or(0),
        usage,
        // From `srun`'s start to the job's allocation (srun says so on stderr).
        queued: started.map(|t| t.saturating_duration_since(submitted)),
    };
    let job = id.map_or_else(|| "Slurm job".to_string(), |id| format!("Slurm job {id}"));
    let limit = *hit.lock().unwrap_or_else(|e| e.into_inner());
    let result = match limit {
        Some(Limit::Timeout) => Err(RunError::new(
            span,
            RunErrorKind::Timeout {
                what: format!("{what} ({job}, counted from when it started running)"),
            },
        )),
        Some(Limit::Time) => Err(failed(
            span,
            &what,
            format!(
                "{job} TIMEOUT (time {})",
                slurm.time.as_ref().map_or("", |t| t.1.as_str())
            ),
            tail,
        )),
        None if job_token.is_cancelled() => Err(RunError::new(span, RunErrorKind::Cancelled)),
        None if r.status.success() => Ok(()),
        None => {
            // Without cgroups Slurm marks a job killed for its memory FAILED: its message tells.
            let oom = tail.iter().any(|l| {
                l.contains("exceeded memory limit")
                    || l.contains("oom_kill")
                    || l.contains("oom-kill")
            });
            let state = id
                .and_then(super::slurm::final_state)
                .map(|s| match s.as_str() {
                    "FAILED" | "CANCELLED" if oom => "OUT_OF_MEMORY".to_string(),
                    _ => s,
                });
            let status = process::judge(&r, true).unwrap_or_default();
            let status = match state {
                Some(s) if s == "FAILED" || s == "COMPLETED" => format!("{job} FAILED ({status})"),
                Some(s) => format!("{job} {s}"),
                None => format!("{job} failed (srun: {status})"),
            };
            Err(failed(span, &what, status, tail))
        }
    };
    (result, outcome)
}

fn failed(span: crate::Span, program: &str, status: String, stderr: Vec<String>) -> RunError {
    RunError::new(
        span,
        RunErrorKind::Exit {
            program: program.trim_matches('`').to_string(),
            status,
            stderr,
        },
    )
}

type Started = (Spec, std::io::PipeReader, std::io::PipeReader, String);

/// The `srun` command line for the job, its stdout and stderr pipes, and what it runs.
fn start_spec(
    env: &Env,
    work: &PoolWork,
    it: &Dynamic,
    items: &[Dynamic],
    cfg: &JobCfg,
    slurm: &Slurm,
) -> Result<Started, RunError> {
    let span = cfg.span;
    let lookup = WordEnv { env, it: Some(it) };
    let mut args: Vec<std::ffi::OsString> = slurm.args.iter().map(Into::into).collect();
    let (mut spec, what) = match (work, &cfg.cmd) {
        (PoolWork::Exec(_), Some(cmd)) => {
            let mut spec = command_spec(cmd, &lookup, span)?;
            let what = format!("`{}`", spec.program);
            // The job's own stderr redirect takes srun's messages too: no `-v` then.
            if cmd.redirects.iter().any(|r| {
                matches!(
                    r.kind,
                    RedirectKind::Err | RedirectKind::ErrAppend | RedirectKind::ErrToOut
                )
            }) {
                args[0] = "--quiet".into();
            }
            args.push(std::mem::take(&mut spec.program).into());
            args.append(&mut spec.args);
            (spec, what)
        }
        (PoolWork::ExecBlock { span: block, .. }, _) => {
            let exe = std::env::current_exe().map_err(|e| pipeline::io_err(span, &e))?;
            let seq = env.vars.get_value::<i64>("seq").unwrap_or(0);
            let slot = env.vars.get_value::<i64>("slot").unwrap_or(0);
            let bind = if cfg.chunked { "args" } else { "args[0]" };
            // The block's statements, inside its braces.
            let text = block.text(&env.shared.src).trim();
            let text = text.strip_prefix('{').unwrap_or(text);
            let text = text.strip_suffix('}').unwrap_or(text);
            let script = format!("let it = {bind}; let seq = {seq}; let slot = {slot};\n{text}\n");
            args.push(exe.into());
            args.push("-c".into());
            args.push(script.into());
            for i in items {
                args.push(super::super::value::to_line(i).into());
            }
            let spec = Spec {
                program: String::new(),
                args: vec![],
                env: vec![],
                stdin: Stdio::null(),
                stdout: Stdio::null(),
                stderr: ErrTo::Forward,
                span,
                unchecked: false,
            };
            (spec, "the `{ … }` job".to_string())
        }
        _ => {
            return Err(RunError::new(
                span,
                RunErrorKind::Value {
                    message: "`on slurm` runs `exec` jobs only".into(),
                },
            ))
        }
    };
    spec.program = "srun".into();
    spec.args = args;
    let (out_r, out_w) = std::io::pipe().map_err(|e| pipeline::io_err(span, &e))?;
    let (err_r, err_w) = std::io::pipe().map_err(|e| pipeline::io_err(span, &e))?;
    let out_dup = out_w.try_clone().map_err(|e| pipeline::io_err(span, &e))?;
    spec.stdout = Stdio::from(out_w);
    spec.stderr = ErrTo::Stdio(Stdio::from(err_w));
    if let (PoolWork::Exec(_), Some(cmd)) = (work, &cfg.cmd) {
        let out_file = std::fs::File::from(std::os::fd::OwnedFd::from(out_dup));
        pipeline::apply_redirects(&mut spec, cmd, &lookup, Some(out_file))?;
    }
    Ok((spec, out_r, err_r, what))
}

/// srun's stderr: its own `srun: …` lines tell the job id and the allocation (errors among
/// them are kept for the report); the job's lines are forwarded and kept as the tail.
fn read_stderr(
    err: std::io::PipeReader,
    seen: Arc<Mutex<Seen>>,
    rt: &super::super::Runtime,
) -> std::io::Result<crossbeam_channel::Receiver<()>> {
    let (done_tx, done) = crossbeam_channel::bounded::<()>(1);
    let (progress, hook) = (rt.progress.clone(), rt.output.clone());
    std::thread::Builder::new()
        .name("flow-slurm-job".into())
        .spawn(move || {
            let mut head = Head::default();
            // The line under way is one of srun's own: not forwarded.
            let mut own = false;
            Pieces::default().read_all(err, |piece, starts, ends| {
                if starts {
                    own = piece.starts_with(b"srun: ");
                }
                if !own && !piece.is_empty() {
                    super::super::around_progress(&progress, || {
                        let _ = super::super::output::write(
                            hook.as_ref(),
                            super::super::Stream::Stderr,
                            piece,
                        );
                    });
                }
                let Some(text) = head.piece(piece, starts, ends) else {
                    return;
                };
                let mut s = seen.lock().unwrap_or_else(|e| e.into_inner());
                let keep = match text.strip_prefix("srun: ") {
                    Some(msg) if own => {
                        if let Some(id) = parse_id(msg, "jobid ", ':') {
                            s.id = Some(id);
                            s.started.get_or_insert_with(Instant::now);
                        } else if let Some(id) = parse_id(msg, "job ", ' ') {
                            s.id.get_or_insert(id);
                        }
                        msg.starts_with("error:") && !msg.contains("Exited with exit code")
                    }
                    _ => true,
                };
                if keep {
                    if s.tail.len() == TAIL {
                        s.tail.pop_front();
                    }
                    s.tail.push_back(text);
                }
            });
            drop(done_tx);
        })?;
    Ok(done)
}

/// `jobid 12: nodes(1)…` / `job 12 queued and waiting for resources` → 12.
fn parse_id(msg: &str, prefix: &str, end: char) -> Option<u64> {
    let rest = msg.strip_prefix(prefix)?;
    rest.split(end).next()?.trim().parse().ok()
}

/// Watches a running job: at a limit (counted from the job's start) or a cancel, the job
/// is `scancel`led; an `srun` still there a grace period later is killed.
#[allow(clippy::too_many_arguments)]
fn police(
    seen: &Mutex<Seen>,
    hit: &Mutex<Option<Limit>>,
    finished: &AtomicBool,
    token: &CancelToken,
    slurm: &Slurm,
    limits: &[(Duration, Limit)],
    grace: Duration,
    pid: i32,
) {
    let mut cancelled_at: Option<Instant> = None;
    while !finished.load(Ordering::SeqCst) {
        let (id, started) = {
            let s = seen.lock().unwrap_or_else(|e| e.into_inner());
            (s.id, s.started)
        };
        if cancelled_at.is_none() {
            if let Some(t0) = started {
                if let Some((_, l)) = limits
                    .iter()
                    .filter(|(d, _)| t0.elapsed() >= *d)
                    .min_by_key(|(d, _)| *d)
                {
                    *hit.lock().unwrap_or_else(|e| e.into_inner()) = Some(*l);
                    token.cancel(CancelReason::Timeout);
                }
            }
            if token.is_cancelled() {
                match id {
                    Some(id) => Slurm::cancel_job(id),
                    None => slurm.cancel_all(),
                }
                cancelled_at = Some(Instant::now());
            }
        } else if cancelled_at.is_some_and(|t| t.elapsed() >= grace) {
            process::signal_group(pid, libc::SIGKILL);
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
