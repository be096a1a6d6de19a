//! A pool stage, decided before it runs: every option of `pool N map F` / `pool N exec …`
//! in one typed value. The runtime's pool takes a `PoolPlan` and reads nothing else of the
//! script's pool; `flow plan` lists its options from the same value. Adding an option
//! touches the vocabulary, the grammar, the AST, this file and the pool that consumes it.

use crate::ast::{Amount, Command, Halt, Pool, PoolSize, PoolWork, Redirect, Word};
use crate::syntax::stage_redirect::split;
use crate::Span;
use std::time::Duration;

/// Jobs dispatched and not yet emitted, per worker: how far ahead of the oldest unfinished
/// job a pool may run (GNU parallel keeps output in order the same way).
pub(crate) const WINDOW_PER_WORKER: usize = 16;

/// What a failed job does to the pool (`on_error`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum OnError {
    /// The first failure stops the pool at once and is the stage's error.
    Fail,
    /// Failed items are dropped with a warning.
    Skip,
    /// Every item runs; the stage fails at the end if any did.
    Continue,
    /// Every item runs; a failed item's output is `#{error: e}` in its place, and the stage
    /// succeeds (asyncio's `gather(return_exceptions=True)`).
    Keep,
    /// `on_error fail N [%] [soon]`: like `Continue` until the threshold stops the pool
    /// (GNU parallel's `--halt`).
    Halt(Halt),
}

/// Where the jobs run.
#[derive(Clone, Debug)]
pub(crate) enum Placement {
    /// On this machine.
    Local,
    /// `on slurm …`: each job through `srun`, with these settings (`partition`, `time`, …).
    Slurm(Vec<(String, Word)>),
}

/// Every decision about one pool stage.
#[derive(Clone, Debug)]
pub(crate) struct PoolPlan {
    /// The stage, for errors.
    pub(crate) span: Span,
    /// How many workers: `cpus`, a number, or an expression evaluated when the stage starts.
    pub(crate) size: PoolSize,
    /// What each job does.
    pub(crate) work: PoolWork,
    /// Results in input order (the default) or as they finish (`unordered`).
    pub(crate) ordered: bool,
    /// Items per job (`chunk N`), evaluated when the stage starts.
    pub(crate) chunk: Option<Amount>,
    /// No `chunk` on a `map` pool: items are handed out in batches sized as it goes, so a
    /// cheap function is not paid for one channel message per item.
    pub(crate) adaptive_chunks: bool,
    /// Extra attempts per failed job (`retries N`).
    pub(crate) retries: Option<Amount>,
    /// `backoff D`: wait D, 2D, 4D… before each retry.
    pub(crate) backoff: Option<Duration>,
    /// Per-job time limit.
    pub(crate) timeout: Option<Duration>,
    pub(crate) on_error: OnError,
    /// The job log (`log FILE`) and whether finished jobs in it are skipped (`resume`).
    pub(crate) log: Option<Word>,
    pub(crate) resume: bool,
    /// A progress bar on the terminal.
    pub(crate) progress: bool,
    pub(crate) placement: Placement,
    /// Jobs that may be dispatched and not yet emitted, per worker.
    pub(crate) window_per_worker: usize,
    /// For `exec cmd`: the command each job runs, without the stage's file.
    pub(crate) job_command: Option<Command>,
    /// A `> f` / `>> f` of the job command that names no job variable: the stage's output,
    /// opened once, not a file every job overwrites.
    pub(crate) stage_file: Option<Redirect>,
}

impl PoolPlan {
    /// The plan of the pool stage `pool` at `span` (where its output goes is the
    /// pipeline's segment: `Segment::Pool`).
    pub(crate) fn new(pool: &Pool, span: Span) -> Self {
        let o = &pool.opts;
        let (job_command, stage_file) = match &pool.work {
            PoolWork::Exec(c) => {
                let (cmd, file) = split(c);
                (Some(cmd), file)
            }
            PoolWork::Map(_) | PoolWork::ExecBlock { .. } => (None, None),
        };
        let on_error = if o.keep_errors {
            OnError::Keep
        } else if o.skip_errors {
            OnError::Skip
        } else if o.continue_errors {
            OnError::Continue
        } else if let Some(h) = o.halt {
            OnError::Halt(h)
        } else {
            OnError::Fail
        };
        PoolPlan {
            span,
            size: pool.size.clone(),
            work: pool.work.clone(),
            ordered: !o.unordered,
            chunk: o.chunk.clone(),
            adaptive_chunks: matches!(pool.work, PoolWork::Map(_)) && o.chunk.is_none(),
            retries: o.retries.clone(),
            backoff: o.backoff,
            timeout: o.timeout,
            on_error,
            log: o.log.clone(),
            resume: o.resume,
            progress: o.progress,
            placement: match &o.slurm {
                Some(settings) => Placement::Slurm(settings.clone()),
                None => Placement::Local,
            },
            window_per_worker: WINDOW_PER_WORKER,
            job_command,
            stage_file,
        }
    }

    /// `threads` for `map`, `processes` for `exec cmd`, `jobs` for `exec { … }`.
    pub(crate) fn workers(&self) -> &'static str {
        match self.work {
            PoolWork::Map(_) => "threads",
            PoolWork::Exec(_) => "processes",
            PoolWork::ExecBlock { .. } => "jobs",
        }
    }

    /// The options as `flow plan` lists them, each as written (`text` gives the source
    /// text of a span): `ordered`, `chunk 4`, `on_error fail 2 soon`, `on slurm …`.
    pub(crate) fn options(&self, text: impl Fn(Span) -> String) -> Vec<String> {
        let mut options = vec![if self.ordered { "ordered" } else { "unordered" }.to_string()];
        if let Some(a) = &self.chunk {
            options.push(format!("chunk {}", text(a.span())));
        }
        if let Some(a) = &self.retries {
            options.push(format!("retries {}", text(a.span())));
            if let Some(d) = self.backoff {
                options.push(format!("backoff {d:?}"));
            }
        }
        if let Some(d) = self.timeout {
            options.push(format!("timeout {d:?}"));
        }
        match self.on_error {
            OnError::Fail => {}
            OnError::Skip => options.push("on_error skip".into()),
            OnError::Keep => options.push("on_error keep".into()),
            OnError::Continue => options.push("on_error continue".into()),
            OnError::Halt(h) => {
                let pct = if h.percent { "%" } else { "" };
                let soon = if h.soon { " soon" } else { "" };
                options.push(format!("on_error fail {}{pct}{soon}", h.count));
            }
        }
        if let Some(w) = &self.log {
            options.push(format!("log {}", text(w.span)));
        }
        if let Placement::Slurm(settings) = &self.placement {
            let kv: Vec<String> = settings
                .iter()
                .map(|(k, w)| format!("{k} {}", text(w.span)))
                .collect();
            options.push(format!("on slurm {}", kv.join(" ")).trim_end().to_string());
        }
        if self.progress {
            options.push("progress".into());
        }
        if self.resume {
            options.push("resume".into());
        }
        options
    }
}
