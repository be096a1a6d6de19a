//! `on slurm …`: the boundary between a pool and a batch scheduler.
//!
//! A pool knows a scheduler only through this module and `slurm_job.rs`; another engine
//! (Kubernetes Jobs, Ray) would provide the same four things:
//! * **a stage's identity** ([`Slurm::new`]): one name per pool stage that every job of the
//!   stage carries (`--job-name=flow-<pid>-<n>`), so the whole stage can be cancelled at once;
//! * **running one job** (`slurm_job::run`): argv in, stdout streamed into the job's spool,
//!   the scheduler's job id and the moment the job *started running* learnt on the way
//!   (queue wait is not the job's time), the job's own limits enforced from that moment;
//! * **the outcome** ([`final_state`]): the scheduler's word for how a failed job ended
//!   (FAILED, CANCELLED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL), named in the item's error;
//! * **cancellation** ([`Slurm::cancel_all`], [`Slurm::cancel_job`], [`Slurm::sweep`]):
//!   on cancel every job of the stage is cancelled *through the scheduler* (signalling the
//!   local client is not enough: a killed `srun` leaves its job queued or running), and at
//!   the stage's end flow waits (bounded) until the scheduler lists none of them.

use super::super::cancel::{CancelReason, CancelToken};
use super::super::eval::{Env, WordEnv};
use super::super::run_error::RunError;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the end-of-stage sweep waits for cancelled jobs to leave `squeue`.
const SWEEP_WAIT: Duration = Duration::from_secs(15);

/// One pool stage's Slurm settings.
pub(super) struct Slurm {
    /// The stage's job name: unique per run and stage.
    pub(super) name: String,
    /// `srun` options, ending in `--`.
    pub(super) args: Vec<String>,
    /// `time T`: Slurm gets it (rounded up to whole minutes, its granularity) for
    /// scheduling, and flow enforces it exactly, from the moment the job starts running.
    pub(super) time: Option<(Duration, String)>,
}

static STAGES: AtomicU64 = AtomicU64::new(0);

impl Slurm {
    /// `on slurm partition P cpus C mem M time T`.
    pub(super) fn new(
        env: &Env,
        settings: &[(String, crate::ast::Word)],
    ) -> Result<Self, RunError> {
        let n = STAGES.fetch_add(1, Ordering::Relaxed) + 1;
        let name = format!("flow-{}-{n}", std::process::id());
        // If flow is killed, its watchdog cancels the stage's jobs through Slurm.
        crate::os::children::slurm_stage(i32::try_from(n).unwrap_or(i32::MAX));
        // `-v`: srun reports the job id and the moment the job is allocated (it starts).
        let mut args = vec!["-v".to_string(), format!("--job-name={name}")];
        let mut time = None;
        for (key, w) in settings {
            let v = super::super::words::expand(w, &WordEnv { env, it: None })?.join(" ");
            args.push(match key.as_str() {
                "partition" => format!("--partition={v}"),
                "cpus" => format!("--cpus-per-task={v}"),
                "mem" => format!("--mem={v}"),
                _ => {
                    let secs = duration_secs(&v);
                    time = secs.map(|s| (Duration::from_secs_f64(s), v.clone()));
                    format!("--time={}", secs.map_or(v.clone(), slurm_time))
                }
            });
        }
        args.push("--".into());
        Ok(Slurm { name, args, time })
    }

    /// Cancel every job of the stage, queued or running.
    pub(super) fn cancel_all(&self) {
        let _ = helper("scancel", &[format!("--name={}", self.name)]);
    }

    /// Cancel one job (a timeout).
    pub(super) fn cancel_job(id: u64) {
        let _ = helper("scancel", &[id.to_string()]);
    }

    /// After a cancelled stage (every `srun` reaped): cancel what is left and wait, bounded,
    /// until `squeue` lists no job of the stage (a second Ctrl-C skips the wait).
    pub(super) fn sweep(&self, rt: &super::super::Runtime) {
        let deadline = Instant::now() + SWEEP_WAIT;
        loop {
            self.cancel_all();
            let left = helper(
                "squeue",
                &[
                    "-h".into(),
                    format!("--name={}", self.name),
                    "-o".into(),
                    "%i".into(),
                ],
            );
            match left {
                Some(ref s) if !s.trim().is_empty() => {}
                _ => return,
            }
            if Instant::now() >= deadline || rt.force.is_cancelled() {
                let line = format!(
                    "flow: Slurm jobs {} were cancelled but are still completing\n",
                    left.unwrap_or_default()
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                let _ = super::super::output::write(
                    rt.output.as_ref(),
                    super::super::Stream::Stderr,
                    line.as_bytes(),
                );
                return;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

/// While alive, a cancel of the stage's token cancels every job of the stage at once.
pub(super) struct Watch {
    finished: Arc<AtomicBool>,
    wake: CancelToken,
}

pub(super) fn watch(token: &CancelToken, slurm: Arc<Slurm>) -> Watch {
    let finished = Arc::new(AtomicBool::new(false));
    let wake = token.child();
    let (f, w) = (finished.clone(), wake.clone());
    // Refused, the stage's jobs are still cancelled through Slurm by the end-of-stage sweep.
    let _ = std::thread::Builder::new()
        .name("flow-slurm".into())
        .spawn(move || {
            w.sleep(Duration::MAX);
            if !f.load(Ordering::SeqCst) && w.reason() != Some(CancelReason::Internal) {
                slurm.cancel_all();
            }
        });
    Watch { finished, wake }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.finished.store(true, Ordering::SeqCst);
        self.wake.cancel(CancelReason::Internal);
    }
}

/// The final Slurm state of job `id` (`FAILED`, `CANCELLED`, `TIMEOUT`, `OUT_OF_MEMORY`,
/// `NODE_FAIL`, …): from `squeue` while the controller remembers the job (`MinJobAge`),
/// else from `sacct`. Waits briefly for a job that is still completing.
pub(super) fn final_state(id: u64) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let q = helper(
            "squeue",
            &[
                "-h".into(),
                "-t".into(),
                "all".into(),
                "-j".into(),
                id.to_string(),
                "-o".into(),
                "%T".into(),
            ],
        );
        let state = q
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        match state {
            Some(s)
                if !matches!(
                    s.as_str(),
                    "RUNNING"
                        | "COMPLETING"
                        | "PENDING"
                        | "CONFIGURING"
                        | "STAGE_OUT"
                        | "SIGNALING"
                ) =>
            {
                return Some(s)
            }
            Some(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            Some(s) => return Some(s),
            None => break,
        }
    }
    let acct = helper(
        "sacct",
        &[
            "-n".into(),
            "-X".into(),
            "-P".into(),
            "-j".into(),
            id.to_string(),
            "-o".into(),
            "State".into(),
        ],
    )?;
    acct.split_whitespace().next().map(str::to_string)
}

/// Run a Slurm client to its end; its stdout (`None` if it could not start or failed).
fn helper(program: &str, args: &[String]) -> Option<String> {
    let (mut r, w) = std::io::pipe().ok()?;
    let reader = std::thread::Builder::new()
        .name("flow-slurm".into())
        .spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
        .ok()?;
    let status = {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(w)
            .stderr(Stdio::null());
        crate::os::children::run_helper(&mut cmd)
    };
    let out = reader.join().unwrap_or_default();
    status
        .ok()
        .filter(std::process::ExitStatus::success)
        .map(|_| out)
}

/// flow durations (`90s`, `30m`, `2h`) in seconds.
fn duration_secs(v: &str) -> Option<f64> {
    let split = v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n = num
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 0.0)?;
    Some(match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    })
}

/// Seconds as Slurm's `H:MM:SS`, rounded up to whole minutes: Slurm keeps time limits in
/// minutes (and checks them only every half minute or so); flow enforces the exact limit.
fn slurm_time(secs: f64) -> String {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let mins = (secs / 60.0).ceil().max(1.0) as u64;
    format!("{}:{:02}:00", mins / 60, mins % 60)
}
