//! `on slurm …` before anything runs: `srun` must be on PATH, and a literal `partition P`
//! must name a partition the cluster has (`sinfo -h -o %P`), with a did-you-mean. The
//! cluster is asked once per check, and only when a script uses `on slurm`.

use super::check_error::CheckError;
use super::programs::{Lookup, Programs};
use crate::ast::PoolOpts;
use crate::Span;
use std::process::{Command, Stdio};

/// The partitions, once asked: `Err` with why they could not be listed.
#[derive(Default)]
pub(crate) struct SlurmCheck {
    partitions: Option<Result<Vec<String>, String>>,
}

impl SlurmCheck {
    /// Check one pool's `on slurm` settings (`span`: the pool stage).
    pub(crate) fn pool(
        &mut self,
        opts: &PoolOpts,
        span: Span,
        programs: &mut Programs,
        errors: &mut Vec<CheckError>,
    ) {
        let Some(settings) = &opts.slurm else { return };
        if programs.lookup("srun") != Lookup::Found {
            errors.push(CheckError::trap(
                span,
                "flow::check::slurm",
                "`on slurm` needs Slurm's `srun`, which is not on PATH".into(),
                "run flow on a machine that can submit Slurm jobs (a login node), or drop `on slurm` to run the jobs here".into(),
                false,
            ));
            return;
        }
        for (key, w) in settings {
            let (true, Some(name)) = (key == "partition", w.literal()) else {
                continue;
            };
            let known = match self.partitions.get_or_insert_with(partitions) {
                Ok(p) => p,
                Err(why) => {
                    errors.push(CheckError::trap(
                        w.span,
                        "flow::check::slurm",
                        format!("cannot list Slurm's partitions: {why}"),
                        "`sinfo` must reach the Slurm controller from this machine".into(),
                        false,
                    ));
                    return;
                }
            };
            if !known.contains(&name) {
                let help = match super::suggest::closest(&name, known.iter().map(String::as_str)) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("the partitions are: {}", known.join(", ")),
                };
                errors.push(CheckError::trap(
                    w.span,
                    "flow::check::unknown_partition",
                    format!("Slurm has no partition `{name}`"),
                    help,
                    false,
                ));
            }
        }
    }
}

/// `sinfo -h -o %P`: one partition a line, the default one marked with `*`.
fn partitions() -> Result<Vec<String>, String> {
    use std::io::Read;
    let (mut r, w) = std::io::pipe().map_err(|e| e.to_string())?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = r.read_to_string(&mut s);
        s
    });
    let status = {
        let mut cmd = Command::new("sinfo");
        cmd.args(["-h", "-o", "%P"])
            .stdin(Stdio::null())
            .stdout(w)
            .stderr(Stdio::null());
        crate::os::children::run_helper(&mut cmd)
    };
    let out = reader.join().unwrap_or_default();
    match status {
        Err(e) => Err(format!("sinfo: {e}")),
        Ok(s) if !s.success() => Err(format!("`sinfo` failed ({s})")),
        Ok(_) => Ok(out
            .lines()
            .map(|l| l.trim().trim_end_matches('*').to_string())
            .filter(|l| !l.is_empty())
            .collect()),
    }
}
