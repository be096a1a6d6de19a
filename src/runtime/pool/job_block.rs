//! `exec { statements }`: a job that is a small script (`zcat ${it} | bzip2 > ${it}.bz2;
//! rm ${it}`). Its statements run on the worker's thread through the statement executor,
//! with `it`, `seq` and `slot` bound, and fail at the first failing statement. Everything
//! they write to stdout — a command's bytes, printed items, `print` — goes to the job's
//! spool unchanged; their stderr goes to the run's stderr. Each worker builds its block
//! runtime (an engine and the script's `fn`s) once, not per job.

use super::super::around_progress;
use super::super::cancel::CancelToken;
use super::super::eval::{Env, Shared};
use super::super::exec::Executor;
use super::super::output::{self, OutputHook, Stream};
use super::super::pipeline::Dest;
use super::super::run_error::{RunError, RunErrorKind};
use super::spool::Spool;
use crate::ast::Stmt;
use crate::os::process::{Usage, UsageTally};
use rhai::Dynamic;
use std::sync::{Arc, Mutex};

/// Where the job running on this worker writes its stdout.
type CurrentSpool = Arc<Mutex<Option<Arc<Spool>>>>;

/// One worker's means to run job blocks.
pub(super) struct JobBlock {
    shared: Arc<Shared>,
    spool: CurrentSpool,
    /// What the current job's processes used (their kernel counts, added up).
    usage: UsageTally,
}

impl JobBlock {
    /// The block runtime of one worker of the stage whose environment is `env`: the run's
    /// settings, but its output hook is the current job's spool.
    pub(super) fn new(env: &Env) -> JobBlock {
        let parent = env.shared.rt.clone();
        let spool: CurrentSpool = Arc::default();
        let current = spool.clone();
        let hook: OutputHook = Arc::new(Mutex::new(
            move |stream: Stream, bytes: &[u8]| match stream {
                Stream::Stdout => {
                    let sp = current.lock().unwrap_or_else(|e| e.into_inner()).clone();
                    if let Some(sp) = sp {
                        sp.write(bytes);
                    }
                }
                Stream::Stderr => around_progress(&parent.progress, || {
                    let _ = output::write(parent.output.as_ref(), Stream::Stderr, bytes);
                }),
            },
        ));
        // A job's waits are bounded by its own timeout and the stage's token; the run's
        // deadlock detector watches the run's parties only.
        let usage = UsageTally::default();
        let mut rt = env.shared.rt.with_output(hook);
        rt.usage_tally = Some(usage.clone());
        let shared = Arc::new(env.shared.private(Arc::new(rt)));
        JobBlock {
            shared,
            spool,
            usage,
        }
    }

    /// Run `stmts` as one job: `env` holds the script's variables with `seq` and `slot`.
    /// Also what the processes the job started used, added up (`None` if it started none).
    pub(super) fn run(
        &self,
        env: &Env,
        it: Dynamic,
        stmts: &[Stmt],
        token: &CancelToken,
        spool: &Arc<Spool>,
    ) -> (Result<(), RunError>, Option<Usage>) {
        self.set(Some(spool.clone()));
        *self.usage.lock().unwrap_or_else(|e| e.into_inner()) = Usage::default();
        let mut scope = (*env.vars).clone();
        scope.push("it", it);
        let mut ex = Executor::new(self.shared.clone(), scope, token.clone());
        let r = ex.top(stmts, Dest::Stdout);
        drop(ex);
        self.set(None);
        let used = *self.usage.lock().unwrap_or_else(|e| e.into_inner());
        let used = (used.cpu_us > 0 || used.max_rss_kb > 0).then_some(used);
        // Output the spool could not keep fails the job, whatever the block did after.
        if let Some(message) = spool.take_error() {
            let span = stmts.first().map(|s| s.span).unwrap_or_default();
            return (Err(RunError::new(span, RunErrorKind::Io { message })), used);
        }
        (r.map(|_| ()), used)
    }

    fn set(&self, spool: Option<Arc<Spool>>) {
        *self.spool.lock().unwrap_or_else(|e| e.into_inner()) = spool;
    }
}
