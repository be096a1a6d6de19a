//! The runtime: executes a checked script — statements on the calling thread, pipeline
//! stages on threads joined by bounded channels, commands as OS processes joined by pipes.

pub(crate) mod builtins;
pub(crate) mod cancel;
pub(crate) mod context;
mod control;
mod deadlock;
mod eval;
mod exec;
pub(crate) mod globbing;
pub(crate) mod green;
pub(crate) mod groups;
mod lines;
pub(crate) mod output;
pub(crate) mod pipeline;
mod pool;
pub(crate) mod process;
mod record;
mod report;
mod report_html;
mod run;
pub(crate) mod run_error;
mod snippets;
mod stages;
pub(crate) mod threads;
mod value;
mod words;

pub use crate::os::children::become_subreaper;
pub use cancel::{CancelReason, CancelToken};
pub use eval::EngineCache;
pub use exec::TaskHandle;
pub use output::{OutputHook, Stream};
pub use report::{
    JobReport, PoolReport, ProcessReport, RunReport, Sample, StageReport, TaskReport,
};
pub use run::Session;
pub use run::{catch_signals_early, run_script, ReportOut, RunOptions, VarsOut};
pub use run_error::{JobInfo, RunError, RunErrorKind};

use std::sync::Arc;
use std::time::Duration;

/// Per-run shared state: the grace period, host hooks, the progress bar.
pub(crate) struct Runtime {
    pub(crate) grace: std::sync::Mutex<Duration>,
    /// Cancelled by a second SIGINT, SIGTERM or SIGHUP: skip the grace period. A `finally` that runs
    /// while its task is cancelled runs under a child of this token, so that the second
    /// signal cuts it at once.
    pub(crate) force: cancel::CancelToken,
    /// Host set-up applied to every Rhai engine of the run (registered functions and types).
    pub(crate) hooks: Vec<EngineHook>,
    /// The progress bar being drawn, if any: output lines are written around it.
    pub(crate) progress: Progress,
    /// Deadlock detection for a whole run (not for REPL entries).
    pub(crate) deadlock: Option<Arc<deadlock::Deadlock>>,
    /// When the first SIGINT/SIGTERM arrived.
    pub(crate) interrupted_at: std::sync::Mutex<Option<std::time::Instant>>,
    /// The host's output hook: when set, the run writes nothing to flow's stdout/stderr.
    pub(crate) output: Option<OutputHook>,
    /// Whether flow's stdout was closed or failed, and the run's token it then cancels.
    pub(crate) stdout: output::StdoutState,
    /// Where each pipeline's segments are recorded as it starts them (`FLOW_STAGES_STARTED`):
    /// what a test compares with `flow plan`.
    pub(crate) stages_log: Option<Arc<std::sync::Mutex<(std::fs::File, String)>>>,
    /// Rhai engines kept between runs of the same host engine.
    pub(crate) engines: Arc<eval::EngineCache>,
    /// What the host lets the run do (programs, stdin).
    pub(crate) sandbox: Sandbox,
    /// Where the run records what its stages and tasks did, when a report was asked for
    /// (each REPL entry gets a recorder of its own).
    pub(crate) recorder: std::sync::Mutex<Option<Arc<record::Recorder>>>,
    /// Where the processes started under this runtime add their usage, when something
    /// counts it (an `exec { … }` job, for the run report).
    pub(crate) usage_tally: Option<crate::os::process::UsageTally>,
}

/// What a host lets its scripts do: which programs they may start, whether they read the
/// host's stdin.
#[derive(Clone, Debug)]
pub(crate) struct Sandbox {
    /// The programs that may be started, as the script names them (`None`: any).
    pub(crate) programs: Option<Arc<[String]>>,
    /// Whether commands and item stages may read flow's stdin (else they read nothing).
    pub(crate) stdin: bool,
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox {
            programs: None,
            stdin: true,
        }
    }
}

impl Sandbox {
    /// `program` (as the script names it; `sh` for shell commands) may be started at `span`.
    pub(crate) fn allow(&self, program: &str, span: crate::Span) -> Result<(), RunError> {
        // A shell command runs `/bin/sh`: the shell, by the name a host allows it by.
        let program = if program == "/bin/sh" { "sh" } else { program };
        match &self.programs {
            Some(list) if !list.iter().any(|p| p == program) => Err(RunError::new(
                span,
                run_error::RunErrorKind::NotAllowed {
                    program: program.to_string(),
                    allowed: list.to_vec(),
                },
            )),
            _ => Ok(()),
        }
    }
}

/// The slot for a pool's progress bar, shared with threads that write output.
pub(crate) type Progress = Arc<std::sync::Mutex<Option<indicatif::ProgressBar>>>;

/// Run `f` (which writes to the terminal) so that it does not garble a progress bar.
pub(crate) fn around_progress<R>(p: &Progress, f: impl FnOnce() -> R) -> R {
    let bar = p.lock().unwrap_or_else(|e| e.into_inner()).clone();
    match bar {
        Some(b) => b.suspend(f),
        None => f(),
    }
}

/// A host's set-up of a Rhai engine.
pub type EngineHook = Arc<dyn Fn(&mut rhai::Engine) + Send + Sync>;

impl Runtime {
    pub(crate) fn new() -> Self {
        Runtime {
            grace: std::sync::Mutex::new(Duration::from_secs(2)),
            force: cancel::CancelToken::new(),
            hooks: vec![],
            progress: Arc::default(),
            interrupted_at: std::sync::Mutex::new(None),
            deadlock: None,
            output: None,
            stdout: output::StdoutState::default(),
            stages_log: None,
            engines: Arc::default(),
            sandbox: Sandbox::default(),
            recorder: std::sync::Mutex::new(None),
            usage_tally: None,
        }
    }

    /// A Rhai engine with flow's built-ins and the host's registrations.
    pub(crate) fn engine(&self) -> rhai::Engine {
        let mut e = crate::runtime::builtins::new_engine();
        for h in &self.hooks {
            h(&mut e);
        }
        e
    }

    /// The same settings (grace, host hooks, progress bar, the second Ctrl-C), with `output`
    /// as where output goes and no deadlock detector or interrupt record of its own: what a
    /// job block runs under (`pool::job_block`).
    pub(crate) fn with_output(&self, output: OutputHook) -> Runtime {
        Runtime {
            grace: std::sync::Mutex::new(self.grace()),
            force: self.force.clone(),
            hooks: self.hooks.clone(),
            progress: self.progress.clone(),
            deadlock: None,
            interrupted_at: std::sync::Mutex::new(None),
            output: Some(output),
            stdout: output::StdoutState::default(),
            stages_log: self.stages_log.clone(),
            engines: self.engines.clone(),
            sandbox: self.sandbox.clone(),
            recorder: std::sync::Mutex::new(self.recorder()),
            usage_tally: None,
        }
    }

    /// Record that a pipeline starts these segments (one JSON line), when asked to.
    pub(crate) fn stages_started(&self, pipeline: crate::Span, segments: &[crate::plan::Segment]) {
        let Some(log) = &self.stages_log else {
            return;
        };
        let segs: Vec<serde_json::Value> = segments.iter().map(|s| s.to_json()).collect();
        let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
        let (f, script) = &mut *log;
        let line = serde_json::json!({
            "script": script,
            "span": [pipeline.start, pipeline.end],
            "segments": segs,
        });
        // A record that cannot be written is said on stderr, which the tests compare: a
        // missing line must not pass for a pipeline that never ran.
        if let Err(e) = std::io::Write::write_all(f, format!("{line}\n").as_bytes()) {
            let said = format!("flow: cannot record the stages started: {e}\n");
            // (stderr itself failing has nowhere left to be reported.)
            let _ = output::write(self.output.as_ref(), Stream::Stderr, said.as_bytes());
        }
    }

    /// The run's recorder, when it is recorded.
    pub(crate) fn recorder(&self) -> Option<Arc<record::Recorder>> {
        self.recorder
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn grace(&self) -> Duration {
        *self.grace.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Signal `groups` when `token` is cancelled, until the guard is dropped. Err: the
    /// system refused the guard's thread (`flow::run::resources` at `span`).
    pub(crate) fn guard_groups(
        &self,
        token: &CancelToken,
        groups: groups::Groups,
        span: crate::Span,
    ) -> Result<groups::GroupGuard, run_error::RunError> {
        groups::guard(token, groups, self.grace(), self.force.clone())
            .map_err(|e| threads::refused(span, "a thread to stop processes on cancel", &e))
    }
}

/// Shared handle.
pub(crate) type Rt = Arc<Runtime>;
