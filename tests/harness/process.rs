//! Run `flow` once: fixed environment, stdin from bytes or `/dev/null`, output captured,
//! and a hard timeout.
//!
//! Invariants: the child is started in a process group of its own and that whole group is
//! SIGKILLed on timeout; the child is always reaped (`wait`) before we return. Output is read
//! by two threads so that neither pipe can fill and block the child; if a descendant that
//! left the group keeps a pipe open after the child exited, we stop waiting for it after
//! `PIPE_GRACE` and say so instead of hanging the suite.

use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long to wait for the output pipes to close after the child has exited.
const PIPE_GRACE: Duration = Duration::from_secs(5);

/// One run of the `flow` binary.
pub(crate) struct Invocation<'a> {
    /// Arguments after `flow`.
    pub(crate) args: &'a [String],
    /// Working directory.
    pub(crate) cwd: &'a Path,
    /// Bytes for stdin; `None` means `/dev/null`.
    pub(crate) stdin: Option<&'a [u8]>,
    /// Kill the run after this long.
    pub(crate) timeout: Duration,
    /// Directories put before `PATH` for the run.
    pub(crate) path_first: &'a [std::path::PathBuf],
    /// More environment variables for the run.
    pub(crate) env: &'a [(&'a str, &'a std::ffi::OsStr)],
}

/// What a run produced.
#[derive(Debug)]
pub(crate) struct Output {
    /// The exit code; `None` if killed by a signal.
    pub(crate) status: Option<i32>,
    /// The signal that killed it, if any.
    pub(crate) signal: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    /// The run was killed because it exceeded its timeout.
    pub(crate) timed_out: bool,
    /// A pipe stayed open after the child exited (held by an escaped descendant).
    pub(crate) pipes_held_open: bool,
    pub(crate) elapsed: Duration,
}

impl Output {
    /// The status for reports: `2`, or `killed by signal 9`.
    pub(crate) fn status_text(&self) -> String {
        match (self.status, self.signal) {
            (Some(c), _) => c.to_string(),
            (None, Some(s)) => format!("killed by signal {s}"),
            (None, None) => "unknown".into(),
        }
    }

    /// A line explaining a timeout or held pipe, if either happened.
    pub(crate) fn timeout_message(&self) -> Option<String> {
        if self.timed_out {
            Some(format!(
                "timed out: killed after {:.1}s",
                self.elapsed.as_secs_f64()
            ))
        } else if self.pipes_held_open {
            Some("flow exited but a descendant kept its stdout/stderr open".into())
        } else {
            None
        }
    }
}

/// Path of the `flow` binary Cargo built for this test run.
pub(crate) fn flow_bin() -> &'static str {
    env!("CARGO_BIN_EXE_flow")
}

/// Run `flow` with `NO_COLOR=1` and `COLUMNS=100` so rendered diagnostics are stable.
pub(crate) fn run_flow(inv: &Invocation<'_>) -> Output {
    let start = Instant::now();
    let mut cmd = Command::new(flow_bin());
    if !inv.path_first.is_empty() {
        let rest = std::env::var_os("PATH").unwrap_or_default();
        let dirs = inv
            .path_first
            .iter()
            .cloned()
            .chain(std::env::split_paths(&rest));
        cmd.env(
            "PATH",
            std::env::join_paths(dirs).expect("PATH entries without ':'"),
        );
    }
    cmd.envs(inv.env.iter().copied());
    cmd.args(inv.args)
        .current_dir(inv.cwd)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("FORCE_COLOR")
        .stdin(if inv.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn().expect("start the flow binary");
    let pgid = i32::try_from(child.id()).expect("pid fits in i32");

    let (tx, rx) = mpsc::channel::<(bool, Vec<u8>)>();
    for (is_err, pipe) in [
        (
            false,
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ),
        (
            true,
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ),
    ] {
        let tx = tx.clone();
        let mut pipe = pipe.expect("piped output");
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            let _ = tx.send((is_err, buf));
        });
    }
    drop(tx);
    if let (Some(bytes), Some(mut pipe)) = (inv.stdin, child.stdin.take()) {
        let bytes = bytes.to_vec();
        // A writer thread: flow may not read all of stdin, and must not block us if it doesn't.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
    }

    let waited = super::wait_for_exit(&mut child, inv.timeout.saturating_sub(start.elapsed()));
    let timed_out = waited.is_none();
    let status = waited.unwrap_or_else(|| {
        // SAFETY: plain syscall; -pgid names the group we created for this child.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        child.wait().expect("reap the flow process")
    });
    // Anything flow left in its group must not outlive the test.
    // SAFETY: as above; the group may already be empty, which is fine.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }

    let (mut stdout, mut stderr, mut got) = (Vec::new(), Vec::new(), 0);
    let deadline = Instant::now() + PIPE_GRACE;
    while got < 2 {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((false, b)) => (stdout, got) = (b, got + 1),
            Ok((true, b)) => (stderr, got) = (b, got + 1),
            Err(_) => break,
        }
    }
    Output {
        status: status.code(),
        signal: status.signal(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        timed_out,
        pipes_held_open: got < 2,
        elapsed: start.elapsed(),
    }
}

/// The children of `pid`, whichever of its threads started them (`/proc/PID/task/*/children`).
pub(crate) fn children_of(pid: u32) -> Vec<i32> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten();
    tasks
        .flatten()
        .flat_map(|t| {
            std::fs::read_to_string(t.path().join("children"))
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok())
                .collect::<Vec<_>>()
        })
        .collect()
}
