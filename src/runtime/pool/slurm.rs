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
    /// Whether asking `sacct` for a job's usage is still worth it: cleared when it fails
    /// (a cluster that keeps no accounting) or has no figures for a finished job (one that
    /// gathers none), so a stage pays for asking once, not per job.
    pub(super) accounting: AtomicBool,
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
        Ok(Slurm {
            name,
            args,
            time,
            accounting: AtomicBool::new(true),
        })
    }

    /// What job `id` used, from the cluster's accounting (`sacct`), for a run report: the
    /// largest peak memory of its steps and the job's CPU time. Asked up to three times,
    /// 300 ms apart (the record reaches the database after the job; a cancel of `token`
    /// ends the wait). `None` where the cluster keeps no accounting or gave no figures:
    /// then this stage stops asking.
    pub(super) fn usage(&self, id: u64, token: &CancelToken) -> Option<crate::os::process::Usage> {
        let args: Vec<String> = [
            "-n",
            "-P",
            "-j",
            &id.to_string(),
            "-o",
            "JobID,MaxRSS,TotalCPU",
        ]
        .iter()
        .map(|s| (*s).to_string())
        .collect();
        for attempt in 0..3 {
            if !self.accounting.load(Ordering::Relaxed) {
                return None;
            }
            if attempt > 0 && !token.sleep(Duration::from_millis(300)) {
                return None;
            }
            let Some(out) = helper("sacct", &args) else {
                self.accounting.store(false, Ordering::Relaxed);
                return None;
            };
            if let Some(u) = sacct_usage(&out, id) {
                return Some(u);
            }
        }
        self.accounting.store(false, Ordering::Relaxed);
        None
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

/// `sacct -n -P -o JobID,MaxRSS,TotalCPU` of job `id` as a usage: the largest `MaxRSS` of
/// its steps (`10452K`, `1.5G`; `0` or empty for none) and the job line's `TotalCPU`
/// (`MM:SS.mmm`, `HH:MM:SS`, `D-HH:MM:SS`), else its steps' summed. `None` until a step has
/// its figures (a record still being written).
fn sacct_usage(text: &str, id: u64) -> Option<crate::os::process::Usage> {
    let job = id.to_string();
    let (mut rss, mut job_cpu, mut steps_cpu, mut steps) = (0u64, None, 0u64, 0);
    for line in text.lines() {
        let f: Vec<&str> = line.trim().split('|').collect();
        let [jid, max_rss, cpu, ..] = f[..] else {
            continue;
        };
        let cpu = cpu_us(cpu);
        if jid == job {
            job_cpu = cpu;
        } else if jid
            .strip_prefix(job.as_str())
            .is_some_and(|s| s.starts_with('.'))
        {
            if let Some(kb) = rss_kb(max_rss) {
                steps += 1;
                rss = rss.max(kb);
                steps_cpu += cpu.unwrap_or(0);
            }
        }
    }
    (steps > 0).then(|| crate::os::process::Usage {
        max_rss_kb: rss,
        cpu_us: job_cpu.filter(|c| *c > 0).unwrap_or(steps_cpu),
    })
}

/// A Slurm memory figure in KiB: `84K`, `12M`, `1.5G`, `2T`; a bare number is bytes.
fn rss_kb(v: &str) -> Option<u64> {
    let v = v.trim();
    let (num, scale) = match v.chars().last()? {
        'K' | 'k' => (&v[..v.len() - 1], 1.0),
        'M' | 'm' => (&v[..v.len() - 1], 1024.0),
        'G' | 'g' => (&v[..v.len() - 1], 1024.0 * 1024.0),
        'T' | 't' => (&v[..v.len() - 1], 1024.0 * 1024.0 * 1024.0),
        _ => (v, 1.0 / 1024.0),
    };
    let n: f64 = num
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n >= 0.0)?;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some((n * scale).round() as u64)
}

/// Slurm's CPU time (`MM:SS.mmm`, `HH:MM:SS`, `D-HH:MM:SS`) in microseconds.
fn cpu_us(v: &str) -> Option<u64> {
    let v = v.trim();
    let (days, rest) = match v.split_once('-') {
        Some((d, r)) => (d.parse::<u64>().ok()?, r),
        None => (0, v),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (h, m, s) = match parts[..] {
        [m, s] => ("0", m, s),
        [h, m, s] => (h, m, s),
        _ => return None,
    };
    let secs: f64 = s
        .parse()
        .ok()
        .filter(|s: &f64| s.is_finite() && *s >= 0.0)?;
    let whole = days * 86_400 + h.parse::<u64>().ok()? * 3600 + m.parse::<u64>().ok()? * 60;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some(whole * 1_000_000 + (secs * 1e6).round() as u64)
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

#[cfg(test)]
mod tests {
    use super::{cpu_us, rss_kb, sacct_usage};

    #[test]
    fn figures_as_sacct_prints_them() {
        assert_eq!(rss_kb("10452K"), Some(10452));
        assert_eq!(rss_kb("0"), Some(0));
        assert_eq!(rss_kb("1.5G"), Some(1_572_864));
        assert_eq!(rss_kb(""), None);
        assert_eq!(rss_kb("lots"), None);
        assert_eq!(cpu_us("00:00.012"), Some(12_000));
        assert_eq!(cpu_us("01:02:03"), Some(3_723_000_000));
        assert_eq!(cpu_us("1-00:00:01"), Some(86_401_000_000));
        assert_eq!(cpu_us(""), None);
    }

    /// The job line has the CPU time, its steps the peaks (the largest counts); a job with
    /// no step figures yet has no usage; another job's lines (`123` vs `1234`) are not its.
    #[test]
    fn a_jobs_usage_from_its_record() {
        let text =
            "123||00:01.500\n123.extern|84K|00:00:00\n123.0|5266672K|00:01.490\n1234.0|9G|10:00\n";
        let u = sacct_usage(text, 123).expect("a usage");
        assert_eq!((u.max_rss_kb, u.cpu_us), (5_266_672, 1_500_000));
        assert!(sacct_usage("123||\n", 123).is_none());
        let no_job_cpu =
            sacct_usage("123||00:00.000\n123.0|10M|00:02.000\n", 123).expect("a usage");
        assert_eq!(
            (no_job_cpu.max_rss_kb, no_job_cpu.cpu_us),
            (10_240, 2_000_000)
        );
    }
}
