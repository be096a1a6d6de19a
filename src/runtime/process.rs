//! Starting, signalling and reaping OS processes. Invariant: every child is owned by a
//! [`Proc`], and a `Proc` is reaped on every path — by `wait`, or by its `Drop`, which kills
//! its process group first. Each child leads its own process group, registered (through
//! `children.rs`) with the watchdog so that it dies with flow even on SIGKILL, and forgotten
//! once the group is empty.

mod collect;
mod stderr;

use super::run_error::{RunError, RunErrorKind};
use super::Runtime;
use crate::os::process::Usage;
use crate::Span;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stderr::{forward_stderr, StderrTail};

/// Where a child's stderr goes.
pub(crate) enum ErrTo {
    /// Forwarded to flow's stderr line by line; the tail kept for reports.
    Forward,
    /// Somewhere the script chose (a file, or stdout for `2>&1`).
    Stdio(Stdio),
    /// Piped, and read by the thread that waits for the child ([`Proc::collect`]) instead
    /// of a thread of its own; forwarded and its tail kept all the same.
    Collect,
}

/// What to start.
pub(crate) struct Spec {
    pub(crate) program: String,
    pub(crate) args: Vec<std::ffi::OsString>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) stdin: Stdio,
    pub(crate) stdout: Stdio,
    pub(crate) stderr: ErrTo,
    pub(crate) span: Span,
    pub(crate) unchecked: bool,
}

/// A running child process that flow owns.
pub(crate) struct Proc {
    child: Option<Child>,
    pub(crate) pid: i32,
    pub(crate) program: String,
    pub(crate) span: Span,
    pub(crate) unchecked: bool,
    tail: Option<StderrTail>,
    /// Reaped already (seen to have exited): its status and what it used.
    exited: Option<(ExitStatus, Usage)>,
    /// When it was started.
    pub(crate) started: std::time::Instant,
    /// Where its usage is added when it is reaped (its runtime's, if any).
    tally: Option<crate::os::process::UsageTally>,
}

/// The outcome of a reaped process.
pub(crate) struct Reaped {
    pub(crate) status: ExitStatus,
    pub(crate) program: String,
    pub(crate) span: Span,
    pub(crate) unchecked: bool,
    pub(crate) stderr: Vec<String>,
    /// Its peak memory and CPU time, from the kernel (none if it could not be reaped here).
    pub(crate) usage: Option<Usage>,
}

impl Proc {
    /// Start `spec` in a new process group.
    pub(crate) fn spawn(rt: &Runtime, spec: Spec) -> Result<Proc, RunError> {
        Proc::spawn_at(rt, spec, None)
    }

    /// [`Proc::spawn`], executing `exe` (the program already found on `PATH`, see
    /// [`find_program`]) with the program's name as its `argv[0]`.
    pub(crate) fn spawn_at(
        rt: &Runtime,
        spec: Spec,
        exe: Option<&std::path::Path>,
    ) -> Result<Proc, RunError> {
        // The host's sandbox first: nothing it does not allow is started.
        rt.sandbox.allow(&spec.program, spec.span)?;
        // A task that runs a command blocks its worker until the command is reaped.
        super::green::hold_worker();
        let mut cmd = match exe {
            Some(path) => {
                let mut c = Command::new(path);
                c.arg0(&spec.program);
                c
            }
            None => Command::new(&spec.program),
        };
        cmd.args(&spec.args)
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(spec.stdin)
            .stdout(spec.stdout)
            .process_group(0);
        let forward = match spec.stderr {
            ErrTo::Forward => {
                cmd.stderr(Stdio::piped());
                true
            }
            ErrTo::Collect => {
                cmd.stderr(Stdio::piped());
                false
            }
            ErrTo::Stdio(s) => {
                cmd.stderr(s);
                false
            }
        };
        // Registered under the spawn lock, so the orphan adopter never mistakes it for one.
        let spawning = crate::os::children::spawn_lock();
        // Every process flow starts, and everything it starts, carries `FLOW_PID` (as GNU
        // parallel's jobs carry `PARALLEL_PID`): a job flow is SIGKILLed too early to have
        // registered (between its exec and `started` below) is still found by the watchdog.
        cmd.env(
            crate::os::watchdog::MARK,
            crate::os::children::flow_pid_text(),
        );
        let mut child = cmd.spawn().map_err(|e| {
            if is_refusal(&e) {
                let what = format!("a process for `{}`", spec.program);
                return super::threads::refused(spec.span, &what, &e);
            }
            let message = match e.kind() {
                std::io::ErrorKind::NotFound => "no such program".to_string(),
                // An argument (or the environment) holds a NUL byte: argv strings end at NUL.
                std::io::ErrorKind::InvalidInput if e.to_string().contains("nul byte") => {
                    "an argument holds a NUL byte (\\0), which no program can receive; \
                     to make NUL bytes, let the program write them (`printf 'a\\0b'`)"
                        .to_string()
                }
                _ => e.to_string(),
            };
            RunError::new(
                spec.span,
                RunErrorKind::Spawn {
                    program: spec.program.clone(),
                    message,
                },
            )
        })?;
        let pid = i32::try_from(child.id()).unwrap_or(0);
        crate::os::children::started(pid);
        drop(spawning);
        // Collected stderr stays with the child (`Proc::collect` reads it).
        let stderr = if forward { child.stderr.take() } else { None };
        let mut proc = Proc {
            child: Some(child),
            pid,
            program: spec.program,
            span: spec.span,
            unchecked: spec.unchecked,
            tail: None,
            exited: None,
            started: std::time::Instant::now(),
            tally: rt.usage_tally.clone(),
        };
        if let Some(e) = stderr {
            match forward_stderr(e, rt.progress.clone(), rt.output.clone()) {
                Ok(t) => proc.tail = Some(t),
                // No thread to forward its stderr: the child is stopped and reaped (`Proc`'s
                // drop) and the refusal reported.
                Err(e) => {
                    let what = format!("a thread for the stderr of `{}`", proc.program);
                    return Err(super::threads::refused(spec.span, &what, &e));
                }
            }
        }
        Ok(proc)
    }

    /// Not counted in its runtime's usage tally: `srun`, whose usage is not its job's.
    pub(crate) fn uncounted(mut self) -> Self {
        self.tally = None;
        self
    }

    /// Wait for the child (blocking) and collect its stderr tail. Its stderr is drained for
    /// up to `drain` after it exits: a background descendant that keeps the pipe open (bash
    /// would not wait for it either) is left forwarding on its own.
    /// `drain` is asked after the child exits (a cancelled run drains for less).
    pub(crate) fn wait(mut self, drain: impl Fn() -> Duration) -> Reaped {
        let (status, usage) = self.reap();
        let stderr = self
            .tail
            .take()
            .map(|t| t.finish(drain()))
            .unwrap_or_default();
        Reaped {
            status,
            program: std::mem::take(&mut self.program),
            span: self.span,
            unchecked: self.unchecked,
            stderr,
            usage,
        }
    }

    /// Reap the child (blocking), keeping what the kernel counted of its usage (and adding
    /// it to the runtime's tally).
    fn reap(&mut self) -> (ExitStatus, Option<Usage>) {
        let r = self.reap_once();
        if let (Some(tally), Some(u)) = (&self.tally, r.1) {
            tally.lock().unwrap_or_else(|e| e.into_inner()).add(u);
        }
        r
    }

    fn reap_once(&mut self) -> (ExitStatus, Option<Usage>) {
        if let Some((status, usage)) = self.exited.take() {
            self.child = None;
            crate::os::children::reaped(self.pid);
            return (status, Some(usage));
        }
        match self.child.take() {
            Some(mut c) => {
                let r = match crate::os::process::wait4(self.pid, false) {
                    Ok(Some((raw, usage))) => (ExitStatus::from_raw(raw), Some(usage)),
                    // Not ours to reap this way (already reaped): the standard library's
                    // record of it, as before.
                    _ => (c.wait().unwrap_or(ExitStatus::from_raw(0)), None),
                };
                crate::os::children::reaped(self.pid);
                r
            }
            None => (ExitStatus::from_raw(0), None),
        }
    }

    /// Whether the child has ended; if so it is reaped now (`wait4`, which keeps its status
    /// and usage for [`Proc::reap`]).
    pub(crate) fn has_exited(&mut self) -> bool {
        if self.exited.is_some() {
            return true;
        }
        if self.child.is_none() {
            return false;
        }
        match crate::os::process::wait4(self.pid, true) {
            Ok(Some((raw, usage))) => {
                self.exited = Some((ExitStatus::from_raw(raw), usage));
                true
            }
            Ok(None) => false,
            // (ECHILD: reaped elsewhere; the standard library's try_wait has its status.)
            Err(_) => self
                .child
                .as_mut()
                .is_some_and(|c| matches!(c.try_wait(), Ok(Some(_)))),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.child.is_some() {
            signal_group(self.pid, libc::SIGKILL);
            self.reap();
        }
    }
}

/// Send `sig` to the process group `pgid` and to the processes that left it but descend from
/// it (`setsid`): a signal to a job reaches its whole process tree.
pub(crate) fn signal_group(pgid: i32, sig: i32) {
    crate::os::children::signal_tree(pgid, sig);
}

/// Where `execvp` would find `program` on `PATH` (`path`): the first regular file there
/// that this process may execute. `None` for a name with a `/` (used as it is) and for one
/// not found (then the spawn reports it as usual).
pub(crate) fn find_program(program: &str, path: &std::ffi::OsStr) -> Option<std::path::PathBuf> {
    if program.is_empty() || program.contains('/') {
        return None;
    }
    std::env::split_paths(path).find_map(|dir| {
        // An empty entry is the current directory, as for execvp.
        let dir = if dir.as_os_str().is_empty() {
            std::path::PathBuf::from(".")
        } else {
            dir
        };
        let exe = dir.join(program);
        (crate::os::process::is_executable(&exe) && exe.is_file()).then_some(exe)
    })
}

/// Name of a signal: `SIGSEGV`, not -11.
pub(crate) fn signal_name(sig: i32) -> String {
    let name = match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        _ => return format!("signal {sig}"),
    };
    name.to_string()
}

/// `None` if the status counts as success; else a description. A non-last process that
/// died of SIGPIPE (or exited 141) did so because a later stage stopped reading.
pub(crate) fn judge(r: &Reaped, is_last: bool) -> Option<String> {
    if r.unchecked || r.status.success() {
        return None;
    }
    if let Some(sig) = r.status.signal() {
        if sig == libc::SIGPIPE && !is_last {
            return None;
        }
        let core = if r.status.core_dumped() {
            " (core dumped)"
        } else {
            ""
        };
        return Some(format!("killed by {}{core}", signal_name(sig)));
    }
    let code = r.status.code().unwrap_or(-1);
    if code == 141 && !is_last {
        return None;
    }
    Some(format!("exit status {code}"))
}

/// Whether an error is the system refusing a resource (processes, memory, file
/// descriptors) rather than something about the program: `flow::run::resources`.
pub(crate) fn is_refusal(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EAGAIN | libc::ENOMEM | libc::EMFILE | libc::ENFILE)
    )
}

/// Whether the process died of SIGPIPE, or exited 141 as a shell does when its last command
/// did: it wrote to a pipe whose reader had gone away.
pub(crate) fn died_of_sigpipe(r: &Reaped) -> bool {
    r.status.signal() == Some(libc::SIGPIPE) || r.status.code() == Some(141)
}

/// The error for a failed reaped process.
pub(crate) fn exit_error(r: Reaped, status: String) -> RunError {
    RunError::new(
        r.span,
        RunErrorKind::Exit {
            program: r.program,
            status,
            stderr: r.stderr,
        },
    )
}

/// Start `cmd args` (no shell, stdin empty, stdout piped) for `run(…)` and `status(…)`,
/// under the run (and the token) of the code calling it.
fn start_piped(
    cmd: &str,
    args: &[String],
    stderr: ErrTo,
) -> Result<(Proc, super::Rt, super::CancelToken), String> {
    let ctx = crate::runtime::context::current();
    let rt = ctx
        .runtime
        .clone()
        .unwrap_or_else(|| Arc::new(Runtime::new()));
    let token = ctx.token.clone().unwrap_or_default();
    let spec = Spec {
        program: cmd.to_string(),
        args: args.iter().map(Into::into).collect(),
        env: vec![],
        stdin: Stdio::null(),
        stdout: Stdio::piped(),
        stderr,
        span: Span::default(),
        unchecked: false,
    };
    let p = Proc::spawn(&rt, spec).map_err(|e| e.to_string())?;
    Ok((p, rt, token))
}

/// What `status(cmd, args)` gives: how the command ended, and all it wrote.
pub(crate) struct Status {
    pub(crate) code: Option<i32>,
    pub(crate) signal: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// `status(cmd, args)`: run without a shell, both outputs captured, whatever the status.
pub(crate) fn status_capture(cmd: &str, args: &[String]) -> Result<Status, String> {
    let (mut p, rt, token) = start_piped(cmd, args, ErrTo::Stdio(Stdio::piped()))?;
    let out = p.child.as_mut().and_then(|c| c.stdout.take());
    let err = p.child.as_mut().and_then(|c| c.stderr.take());
    let groups = Arc::new(Mutex::new(vec![p.pid]));
    let guard = rt
        .guard_groups(&token, groups, Span::default())
        .map_err(|e| e.to_string())?;
    // stderr on a thread of its own, so that neither pipe can fill while the other is read.
    let err_reader = err.and_then(|mut e| {
        std::thread::Builder::new()
            .name("flow-status".into())
            .spawn(move || {
                let mut v = Vec::new();
                let _ = e.read_to_end(&mut v);
                v
            })
            .ok()
    });
    let mut stdout = Vec::new();
    if let Some(mut o) = out {
        let _ = o.read_to_end(&mut stdout);
    }
    let stderr = err_reader.and_then(|t| t.join().ok()).unwrap_or_default();
    let r = p.wait(|| Duration::from_secs(1));
    drop(guard);
    if token.is_cancelled() {
        return Err("cancelled".into());
    }
    Ok(Status {
        code: r.status.code(),
        signal: r.status.signal(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

/// `run(cmd, args)`: run without a shell and return stdout minus the final newline.
pub(crate) fn run_capture(cmd: &str, args: &[String]) -> Result<String, String> {
    let (mut p, rt, token) = start_piped(cmd, args, ErrTo::Forward)?;
    let out = p.child.as_mut().and_then(|c| c.stdout.take());
    let groups = Arc::new(Mutex::new(vec![p.pid]));
    // Refused: `p` is dropped, which stops and reaps the child.
    let guard = rt
        .guard_groups(&token, groups, Span::default())
        .map_err(|e| e.to_string())?;
    let mut text = Vec::new();
    if let Some(mut o) = out {
        let _ = o.read_to_end(&mut text);
    }
    let r = p.wait(|| Duration::from_secs(1));
    drop(guard);
    if token.is_cancelled() {
        return Err("cancelled".into());
    }
    if let Some(status) = judge(&r, true) {
        let mut msg = format!("run(\"{cmd}\") failed: {status}");
        if let Some(last) = r.stderr.last() {
            msg.push_str(": ");
            msg.push_str(last);
        }
        return Err(msg);
    }
    let mut s = String::from_utf8_lossy(&text).into_owned();
    if s.ends_with('\n') {
        s.pop();
        if s.ends_with('\r') {
            s.pop();
        }
    }
    Ok(s)
}
