//! `on slurm …`: each `exec` job runs through `srun`; a cancelled stage `scancel`s them.

use super::super::eval::{Env, WordEnv};
use super::super::run_error::RunError;
use std::process::Stdio;

/// `srun` options for `on slurm partition P cpus C mem M time T`, all jobs of this run
/// named `flow-<pid>` so that a cancel can `scancel` them by name.
pub(super) fn srun_args(
    env: &Env,
    settings: &[(String, crate::ast::Word)],
) -> Result<Vec<String>, RunError> {
    let mut args = vec!["--quiet".to_string(), format!("--job-name={}", job_name())];
    for (key, w) in settings {
        let v = super::super::words::expand(w, &WordEnv { env, it: None })?.join(" ");
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

/// Make sure no job of this run stays queued or running on the cluster.
pub(super) fn scancel() {
    let _ = super::super::children::run_helper(
        std::process::Command::new("scancel")
            .arg(format!("--name={}", job_name()))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
}

fn job_name() -> String {
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
