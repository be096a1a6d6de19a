//! One `exec` job: the command (or `{ statements }`, see `job_block`) with `it` bound, its stdout streamed into
//! the job's spool. Invariant: the job's process is reaped here, on every path; its group is
//! in the stage's `groups` (signalled on cancellation) while it runs, and a job with a
//! `timeout` has a guard of its own on the job's token, which the worker's alarm cancels.
//! An `on slurm` job (either kind) runs through `slurm_job.rs` instead.

use super::super::cancel::{CancelReason, CancelToken};
use super::super::eval::{Env, WordEnv};
use super::super::groups::Groups;
use super::super::pipeline::{self, command_spec};
use super::super::process::{self, ErrTo, Proc};
use super::super::run_error::{JobInfo, RunError, RunErrorKind};
use super::job_block::JobBlock;
use super::spool::Spool;
use crate::ast::{Command, PoolWork, RedirectKind};
use crate::Span;
use rhai::Dynamic;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What every `exec` job of a pool shares.
pub(super) struct JobCfg {
    /// `chunk` was given: `it` is the array of the job's items.
    pub(super) chunked: bool,
    pub(super) span: Span,
    pub(super) timeout: Option<Duration>,
    /// `on slurm …`: each job runs through `srun` (see `slurm_job.rs`).
    pub(super) slurm: Option<Arc<super::slurm::Slurm>>,
    /// The job command, without a constant `> f` (that one is the stage's output).
    pub(super) cmd: Option<Command>,
    pub(super) groups: Groups,
    /// Where the job's programs were found on `PATH`, looked up once per stage.
    pub(super) programs: Programs,
}

/// The stage's `PATH` look-ups: a job's program is found once, not by `execvp` trying each
/// `PATH` directory again for every job. A job that sets `PATH` itself is not looked up here.
#[derive(Default)]
pub(super) struct Programs {
    found: Mutex<Vec<(String, std::path::PathBuf)>>,
}

/// Distinct programs remembered per stage (a program named by `it` could be many).
const PROGRAMS_KEPT: usize = 16;

impl Programs {
    fn find(&self, spec: &process::Spec) -> Option<std::path::PathBuf> {
        if spec.env.iter().any(|(k, _)| k == "PATH") {
            return None;
        }
        let mut found = self.found.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, p)) = found.iter().find(|(name, _)| *name == spec.program) {
            return Some(p.clone());
        }
        let path = std::env::var_os("PATH")?;
        let exe = process::find_program(&spec.program, &path)?;
        if found.len() < PROGRAMS_KEPT {
            found.push((spec.program.clone(), exe.clone()));
        }
        Some(exe)
    }
}

/// How a job ended, for the log.
#[derive(Clone, Copy)]
pub(super) struct Outcome {
    pub(super) exit: i32,
    pub(super) signal: i32,
    /// The job process's peak memory and CPU time (the kernel's count), when it ran one.
    pub(super) usage: Option<crate::os::process::Usage>,
    /// How long a Slurm job waited in the queue before it started running.
    pub(super) queued: Option<std::time::Duration>,
}

impl Outcome {
    pub(super) const NONE: Outcome = Outcome {
        exit: -1,
        signal: 0,
        usage: None,
        queued: None,
    };
    pub(super) fn of(ok: bool) -> Outcome {
        Outcome {
            exit: i32::from(!ok),
            signal: 0,
            usage: None,
            queued: None,
        }
    }
}

/// Run one job; its stdout goes to `spool`. `job_token` is the job's own token (a child of
/// the stage's); the worker's alarm cancels it with `Timeout`.
pub(super) fn run(
    env: &Env,
    work: &PoolWork,
    items: &[Dynamic],
    cfg: &JobCfg,
    job_token: &CancelToken,
    spool: &Arc<Spool>,
    block: Option<&JobBlock>,
) -> (Result<(), RunError>, Outcome) {
    let it = if cfg.chunked {
        Dynamic::from_array(items.to_vec())
    } else {
        items[0].clone()
    };
    let timed_out = || {
        RunError::new(
            cfg.span,
            RunErrorKind::Timeout {
                what: "the job".into(),
            },
        )
    };
    let (r, outcome) = match (work, &cfg.cmd, &cfg.slurm) {
        (_, _, Some(_)) => super::slurm_job::run(env, work, &it, items, cfg, job_token, spool),
        (PoolWork::Exec(_), Some(cmd), None) => command(env, cmd, &it, cfg, job_token, spool),
        (PoolWork::ExecBlock { stmts, .. }, _, None) => match block {
            Some(b) => {
                let (r, usage) = b.run(env, it, stmts, job_token, spool);
                let outcome = |ok| Outcome {
                    usage,
                    ..Outcome::of(ok)
                };
                match r {
                    Ok(()) => (Ok(()), outcome(true)),
                    Err(_) if job_token.reason() == Some(CancelReason::Timeout) => {
                        (Err(timed_out()), outcome(false))
                    }
                    Err(e) => (Err(e), outcome(false)),
                }
            }
            None => (Ok(()), Outcome::NONE),
        },
        _ => (Ok(()), Outcome::NONE),
    };
    // A job that outlived its timeout failed, whatever its exit status afterwards.
    let r = match r {
        Ok(()) if job_token.reason() == Some(CancelReason::Timeout) => Err(timed_out()),
        r => r,
    };
    let r = r.map_err(|mut e| {
        if e.item.is_none() {
            e = e.with_item(&super::items_text(items));
        }
        e.job = Some(Arc::new(JobInfo {
            attempts: 1,
            output_tail: spool.tail_lines(),
        }));
        e
    });
    (r, outcome)
}

fn command(
    env: &Env,
    cmd: &Command,
    it: &Dynamic,
    cfg: &JobCfg,
    job_token: &CancelToken,
    spool: &Arc<Spool>,
) -> (Result<(), RunError>, Outcome) {
    match start_command(env, cmd, it, cfg) {
        Ok((p, out_r)) => wait_command(&env.shared.rt, p, out_r, cfg, job_token, spool),
        Err(e) => (Err(e), Outcome::NONE),
    }
}

fn start_command(
    env: &Env,
    cmd: &Command,
    it: &Dynamic,
    cfg: &JobCfg,
) -> Result<(Proc, std::io::PipeReader), RunError> {
    let span = cfg.span;
    let lookup = WordEnv { env, it: Some(it) };
    let mut spec = command_spec(cmd, &lookup, span)?;
    // An explicit pipe, so that `2>&1` can share it and `> file` can replace it.
    let (out_r, out_w) = std::io::pipe().map_err(|e| pipeline::io_err(span, &e))?;
    let err_to_out = cmd
        .redirects
        .iter()
        .any(|r| r.kind == RedirectKind::ErrToOut);
    let out_dup = if err_to_out {
        let d = out_w.try_clone().map_err(|e| pipeline::io_err(span, &e))?;
        Some(std::fs::File::from(std::os::fd::OwnedFd::from(d)))
    } else {
        None
    };
    spec.stdout = Stdio::from(out_w);
    // Read by the worker itself, with stdout (`wait_command`): no thread per job.
    spec.stderr = ErrTo::Collect;
    pipeline::apply_redirects(&mut spec, cmd, &lookup, out_dup)?;
    let exe = cfg.programs.find(&spec);
    let p = Proc::spawn_at(&env.shared.rt, spec, exe.as_deref())?;
    Ok((p, out_r))
}

fn wait_command(
    rt: &super::super::Runtime,
    p: Proc,
    out_r: std::io::PipeReader,
    cfg: &JobCfg,
    job_token: &CancelToken,
    spool: &Arc<Spool>,
) -> (Result<(), RunError>, Outcome) {
    let pid = p.pid;
    cfg.groups
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(pid);
    // The stage's guard stops jobs on cancellation; a per-job one is only needed to enforce
    // this job's timeout.
    let guard = cfg
        .timeout
        .map(|_| rt.guard_groups(job_token, Arc::new(Mutex::new(vec![pid])), cfg.span))
        .transpose();
    let guard = match guard {
        Ok(g) => g,
        Err(e) => {
            // Its timeout could not be enforced: the job is stopped and reaped (`Proc`'s
            // drop), and the refusal is the job's error.
            drop(p);
            cfg.groups
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|g| *g != pid);
            return (Err(e), Outcome::NONE);
        }
    };
    // Stdout and stderr are read here while the job runs. After a timeout or cancel, a
    // descendant that escaped the job's group and still holds stdout does not keep the job
    // (or flow) waiting: `collect` gives it a short drain, then closes the pipe.
    let r = p.collect(
        rt,
        Some(std::os::fd::OwnedFd::from(out_r)),
        &mut |b| spool.write(b),
        &|| job_token.is_cancelled(),
        || pipeline::drain_for(job_token),
    );
    drop(guard);
    cfg.groups
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|g| *g != pid);
    let outcome = Outcome {
        exit: r.status.code().unwrap_or(-1),
        signal: r.status.signal().unwrap_or(0),
        usage: r.usage,
        queued: None,
    };
    let spool_error = spool.take_error();
    let result = match process::judge(&r, true) {
        // Its output could not be kept: that, not the SIGPIPE it then got, is why it failed.
        _ if spool_error.is_some() => Err(RunError::new(
            cfg.span,
            RunErrorKind::Io {
                message: spool_error.unwrap_or_default(),
            },
        )),
        _ if job_token.reason() == Some(CancelReason::Timeout) => Err(RunError::new(
            cfg.span,
            RunErrorKind::Timeout {
                what: format!("`{}`", r.program),
            },
        )),
        None => Ok(()),
        Some(_) if job_token.is_cancelled() => {
            Err(RunError::new(cfg.span, RunErrorKind::Cancelled))
        }
        Some(status) => Err(process::exit_error(r, status)),
    };
    (result, outcome)
}

/// Stream a job's stdout into its spool on a thread; the receiver disconnects at EOF.
pub(super) fn pump(
    out_r: std::io::PipeReader,
    sp: Arc<Spool>,
) -> std::io::Result<crossbeam_channel::Receiver<()>> {
    let (eof_tx, eof_rx) = crossbeam_channel::bounded::<()>(1);
    std::thread::Builder::new()
        .name("flow-job".into())
        .spawn(move || {
            let mut r = out_r;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match r.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if !sp.write(&buf[..n]) {
                            break;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            drop(eof_tx);
        })?;
    Ok(eof_rx)
}
