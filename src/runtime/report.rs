//! A run's report: what each stage did and waited for, each task's span, CPU and memory over
//! time — as a value a host can show ([`RunReport`]), a table (`--stats`), Chrome's
//! trace-event JSON (`--trace`, for Perfetto and `chrome://tracing`) and one self-contained
//! HTML page (`--report`, in `report_html`).

use serde_json::{json, Value};
use std::fmt::Write as _;

/// What a run recorded (see [`RunOptions::report`](crate::RunOptions)). Times are in
/// microseconds from the start of the run.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RunReport {
    /// The script's name, as given to `SourceFile`.
    pub script: String,
    /// How long the run took.
    pub duration_us: u64,
    /// Every item stage that ran, in the order they started.
    pub stages: Vec<StageReport>,
    /// Every task, in the order they started.
    pub tasks: Vec<TaskReport>,
    /// Every pool stage (`pool N map …`, `pool N exec …`).
    pub pools: Vec<PoolReport>,
    /// Every pool job, in the order they finished.
    pub jobs: Vec<JobReport>,
    /// Every command of a pipeline (`ls | grep x | wc -l`), in the order they were reaped.
    pub processes: Vec<ProcessReport>,
    /// The process's CPU time and memory, sampled every 50 ms.
    pub samples: Vec<Sample>,
    /// The run was stopped by Ctrl-C, SIGTERM or the host.
    pub interrupted: bool,
    /// The error the run ended with, if any (its one-line message).
    pub error: Option<String>,
    /// The exit status the run ends with.
    pub exit_code: u8,
}

/// One item stage (or a group of stages fused on one thread, or a source or sink).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct StageReport {
    /// The stage's index in this report.
    pub id: usize,
    /// The stage as written (`map { it * 2 }`), shortened.
    pub label: String,
    /// Its line in the script (1-based).
    pub line: usize,
    /// Where it ran: its thread's name.
    pub thread: String,
    /// When it started and ended.
    pub start_us: u64,
    /// When it ended.
    pub end_us: u64,
    /// Items received.
    pub items_in: u64,
    /// Items sent on.
    pub items_out: u64,
    /// Time working (its lifetime less its waits).
    pub busy_us: u64,
    /// Time waiting for its input (the stage before it is slower).
    pub wait_in_us: u64,
    /// Time waiting to send (the stage after it is slower).
    pub wait_out_us: u64,
    /// The most batches its input channel held at once.
    pub peak_fill: usize,
    /// How many batches its input channel holds.
    pub capacity: usize,
    /// The stage that held the pipeline back: the one busiest for the longest.
    pub bottleneck: bool,
}

/// One pool stage.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct PoolReport {
    /// The pool's index in this report (a job's `pool`).
    pub id: usize,
    /// The stage as written, shortened.
    pub label: String,
    /// Its line in the script.
    pub line: usize,
    /// How many jobs run at once.
    pub slots: usize,
}

/// One pool job: an item of `pool N map`, an item or chunk of `pool N exec`.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct JobReport {
    /// The pool it ran in ([`PoolReport::id`]).
    pub pool: usize,
    /// Its 1-based position in the pool's input (the first item's, for a chunk).
    pub seq: usize,
    /// The worker slot that ran it, 1..N.
    pub slot: usize,
    /// The item (shortened).
    pub item: String,
    /// When it started (its first attempt).
    pub start_us: u64,
    /// When its last attempt ended.
    pub end_us: u64,
    /// Attempts made (more than 1 when it was retried).
    pub attempts: u32,
    /// Exit status; -1 when it did not exit (a signal, or it never started).
    pub exit: i32,
    /// The signal that ended it, 0 for none.
    pub signal: i32,
    /// Whether it succeeded.
    pub ok: bool,
    /// The job process's peak resident memory (its last attempt's; 0: no process, as in
    /// `pool N map`).
    pub max_rss_kb: u64,
    /// The job process's CPU time, user and system (its last attempt's).
    pub cpu_us: u64,
    /// How long it waited in Slurm's queue before it ran (its last attempt's; part of
    /// `start_us..end_us`, at its start). 0 for a local job.
    pub queue_us: u64,
}

/// One command of a pipeline, run as an OS process.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ProcessReport {
    /// The command as written, shortened.
    pub label: String,
    /// Its line in the script.
    pub line: usize,
    /// When it started.
    pub start_us: u64,
    /// When it was reaped.
    pub end_us: u64,
    /// Exit status; -1 when a signal ended it.
    pub exit: i32,
    /// The signal that ended it, 0 for none.
    pub signal: i32,
    /// Its peak resident memory, as the kernel counted it (0: unknown).
    pub max_rss_kb: u64,
    /// Its CPU time, user and system.
    pub cpu_us: u64,
}

/// One task: `spawn { … }`.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct TaskReport {
    /// The task's name (its variable).
    pub name: String,
    /// The line of its `spawn`.
    pub line: usize,
    /// When it started.
    pub start_us: u64,
    /// When it ended.
    pub end_us: u64,
    /// Whether it ended without an error.
    pub ok: bool,
}

/// The process at one moment.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct Sample {
    /// When.
    pub t_us: u64,
    /// CPU time used so far (user and system, with the children already reaped).
    pub cpu_us: u64,
    /// Resident memory.
    pub rss_kb: u64,
}

/// A duration for people: µs, ms, or s.
pub(super) fn ms(us: u64) -> String {
    if us >= 10_000_000 {
        format!("{:.1} s", us as f64 / 1e6)
    } else if us >= 1000 {
        format!("{:.1} ms", us as f64 / 1e3)
    } else {
        format!("{us} µs")
    }
}

impl StageReport {
    /// How long the stage lived.
    #[must_use]
    pub fn wall_us(&self) -> u64 {
        self.end_us.saturating_sub(self.start_us)
    }
}

impl RunReport {
    /// Mark the bottleneck: of the stages that worked at all, the one with the most busy
    /// time (the others then wait for it, on their input or their output).
    pub(crate) fn mark_bottleneck(&mut self) {
        for s in &mut self.stages {
            s.bottleneck = false;
        }
        if self.stages.len() < 2 {
            return;
        }
        if let Some(b) = self
            .stages
            .iter_mut()
            .filter(|s| s.busy_us > 0)
            .max_by_key(|s| s.busy_us)
        {
            b.bottleneck = true;
        }
    }

    /// The peak resident memory sampled.
    #[must_use]
    pub fn peak_rss_kb(&self) -> u64 {
        self.samples.iter().map(|s| s.rss_kb).max().unwrap_or(0)
    }

    /// The CPU time used, as last sampled.
    #[must_use]
    pub fn cpu_us(&self) -> u64 {
        self.samples.last().map_or(0, |s| s.cpu_us)
    }

    /// The compact table `--stats` prints on stderr.
    #[must_use]
    pub fn stats_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "flow: {} in {}{}, CPU {}, peak RSS {} MB",
            self.script,
            ms(self.duration_us),
            if self.interrupted {
                " (interrupted)"
            } else if self.error.is_some() {
                " (failed)"
            } else {
                ""
            },
            ms(self.cpu_us()),
            self.peak_rss_kb() / 1024
        );
        if !self.stages.is_empty() {
            let w = self
                .stages
                .iter()
                .map(|s| s.label.chars().count())
                .max()
                .unwrap_or(5)
                .clamp(5, 40);
            let _ = writeln!(
                out,
                "  {:>4}  {:<w$}  {:>9}  {:>9}  {:>10}  {:>10}  {:>10}  {:>5}",
                "line", "stage", "in", "out", "busy", "wait in", "wait out", "queue"
            );
            for s in &self.stages {
                let label: String = s.label.chars().take(w).collect();
                let _ = writeln!(
                    out,
                    "  {:>4}  {:<w$}  {:>9}  {:>9}  {:>10}  {:>10}  {:>10}  {:>2}/{:<2}{}",
                    s.line,
                    label,
                    s.items_in,
                    s.items_out,
                    ms(s.busy_us),
                    ms(s.wait_in_us),
                    ms(s.wait_out_us),
                    s.peak_fill,
                    s.capacity,
                    if s.bottleneck { "  <- bottleneck" } else { "" }
                );
            }
        }
        for p in &self.pools {
            let jobs: Vec<&JobReport> = self.jobs.iter().filter(|j| j.pool == p.id).collect();
            let failed = jobs.iter().filter(|j| !j.ok).count();
            let retried: u32 = jobs.iter().map(|j| j.attempts.saturating_sub(1)).sum();
            let durs: Vec<u64> = jobs
                .iter()
                .map(|j| j.end_us.saturating_sub(j.start_us))
                .collect();
            let mean = if durs.is_empty() {
                0
            } else {
                durs.iter().sum::<u64>() / durs.len() as u64
            };
            let peak = jobs.iter().map(|j| j.max_rss_kb).max().unwrap_or(0);
            let cpu: u64 = jobs.iter().map(|j| j.cpu_us).sum();
            let _ = write!(
                out,
                "  pool line {} ({} slots): {} jobs, {} failed, {} retries, mean {}, max {}",
                p.line,
                p.slots,
                jobs.len(),
                failed,
                retried,
                ms(mean),
                ms(durs.iter().copied().max().unwrap_or(0))
            );
            if peak > 0 {
                let _ = write!(
                    out,
                    ", jobs' CPU {}, largest job {} MB",
                    ms(cpu),
                    peak / 1024
                );
            }
            let queued: Vec<u64> = jobs.iter().map(|j| j.queue_us).filter(|q| *q > 0).collect();
            if !queued.is_empty() {
                let _ = write!(
                    out,
                    ", queued mean {} (max {}) before running",
                    ms(queued.iter().sum::<u64>() / queued.len() as u64),
                    ms(queued.iter().copied().max().unwrap_or(0))
                );
            }
            out.push('\n');
        }
        if !self.processes.is_empty() {
            out.push_str("  commands (line, time, exit status, CPU, peak memory):\n");
        }
        for p in &self.processes {
            let _ = writeln!(
                out,
                "  {:>4}  {}: {}, exit {}{}, CPU {}, peak {} MB",
                p.line,
                p.label,
                ms(p.end_us.saturating_sub(p.start_us)),
                p.exit,
                if p.signal != 0 {
                    format!(" (signal {})", p.signal)
                } else {
                    String::new()
                },
                ms(p.cpu_us),
                p.max_rss_kb / 1024
            );
        }
        if !self.tasks.is_empty() {
            let failed = self.tasks.iter().filter(|t| !t.ok).count();
            let longest = self
                .tasks
                .iter()
                .map(|t| t.end_us.saturating_sub(t.start_us))
                .max()
                .unwrap_or(0);
            let _ = writeln!(
                out,
                "  tasks: {}, failed {}, longest {}",
                self.tasks.len(),
                failed,
                ms(longest)
            );
        }
        out
    }

    /// The report in Chrome's trace-event format (JSON object form): one complete event
    /// (`"ph": "X"`) per stage, on a thread named after it, and per task; CPU and memory as
    /// counters. Perfetto (ui.perfetto.dev) and `chrome://tracing` open it.
    #[must_use]
    pub fn to_trace_json(&self) -> String {
        let mut ev: Vec<Value> = vec![json!({
            "ph": "M", "pid": 1, "tid": 0, "name": "process_name",
            "args": {"name": format!("flow {}", self.script)}
        })];
        for s in &self.stages {
            let args = json!({
                "line": s.line, "items in": s.items_in, "items out": s.items_out,
                "busy us": s.busy_us, "wait in us": s.wait_in_us,
                "wait out us": s.wait_out_us, "peak fill": s.peak_fill,
                "bottleneck": s.bottleneck
            });
            let thread = format!("line {}: {}", s.line, s.label);
            let span = (s.start_us, s.end_us);
            lane(&mut ev, 100 + s.id, thread, (&s.label, "stage"), span, args);
        }
        for (i, t) in self.tasks.iter().enumerate() {
            let thread = format!("task {} (line {})", t.name, t.line);
            let args = json!({"line": t.line, "ok": t.ok});
            let span = (t.start_us, t.end_us);
            lane(&mut ev, 100_000 + i, thread, (&t.name, "task"), span, args);
        }
        for p in &self.pools {
            for slot in 1..=p.slots {
                ev.push(json!({
                    "ph": "M", "pid": 2 + p.id, "tid": slot, "name": "thread_name",
                    "args": {"name": format!("slot {slot}")}
                }));
            }
            ev.push(json!({
                "ph": "M", "pid": 2 + p.id, "tid": 0, "name": "process_name",
                "args": {"name": format!("pool line {}: {}", p.line, p.label)}
            }));
        }
        for j in &self.jobs {
            ev.push(json!({
                "ph": "X", "pid": 2 + j.pool, "tid": j.slot, "name": j.item, "cat": "job",
                "ts": j.start_us, "dur": j.end_us.saturating_sub(j.start_us).max(1),
                "args": {"seq": j.seq, "attempts": j.attempts, "exit": j.exit,
                         "signal": j.signal, "ok": j.ok, "max RSS KB": j.max_rss_kb,
                         "CPU us": j.cpu_us, "queued us": j.queue_us}
            }));
        }
        for (i, p) in self.processes.iter().enumerate() {
            let thread = format!("line {}: {}", p.line, p.label);
            let args = json!({"line": p.line, "exit": p.exit, "signal": p.signal,
                              "max RSS KB": p.max_rss_kb, "CPU us": p.cpu_us});
            let span = (p.start_us, p.end_us);
            lane(
                &mut ev,
                50_000 + i,
                thread,
                (&p.label, "process"),
                span,
                args,
            );
        }
        let mut prev: Option<Sample> = None;
        for s in &self.samples {
            ev.push(json!({
                "ph": "C", "pid": 1, "tid": 0, "name": "memory", "ts": s.t_us,
                "args": {"RSS MB": s.rss_kb as f64 / 1024.0}
            }));
            if let Some(p) = prev {
                let dt = s.t_us.saturating_sub(p.t_us);
                ev.push(json!({
                    "ph": "C", "pid": 1, "tid": 0, "name": "CPU", "ts": s.t_us,
                    "args": {"cores busy": if dt == 0 { 0.0 } else {
                        s.cpu_us.saturating_sub(p.cpu_us) as f64 / dt as f64 }}
                }));
            }
            prev = Some(*s);
        }
        json!({
            "traceEvents": ev,
            "displayTimeUnit": "ms",
            "otherData": {
                "script": self.script, "duration_us": self.duration_us,
                "interrupted": self.interrupted, "error": self.error,
                "exit_code": self.exit_code
            }
        })
        .to_string()
    }
}

/// A thread of its own in the trace (named `thread`) holding one complete event: `what` is
/// the event's name and category, `span` its start and end.
fn lane(
    ev: &mut Vec<Value>,
    tid: usize,
    thread: String,
    what: (&str, &str),
    span: (u64, u64),
    args: Value,
) {
    ev.push(json!({
        "ph": "M", "pid": 1, "tid": tid, "name": "thread_name", "args": {"name": thread}
    }));
    ev.push(json!({
        "ph": "X", "pid": 1, "tid": tid, "name": what.0, "cat": what.1,
        "ts": span.0, "dur": span.1.saturating_sub(span.0).max(1), "args": args
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(id: usize, label: &str, busy: u64, wait_in: u64, wait_out: u64) -> StageReport {
        StageReport {
            id,
            label: label.into(),
            line: 1,
            start_us: 0,
            end_us: busy + wait_in + wait_out,
            busy_us: busy,
            wait_in_us: wait_in,
            wait_out_us: wait_out,
            ..StageReport::default()
        }
    }

    #[test]
    fn the_busiest_stage_is_the_bottleneck() {
        let mut r = RunReport {
            stages: vec![
                stage(0, "map { it }", 10, 0, 990),
                stage(1, "map { slow(it) }", 950, 20, 30),
                stage(2, "count", 5, 995, 0),
            ],
            ..RunReport::default()
        };
        r.mark_bottleneck();
        let marked: Vec<bool> = r.stages.iter().map(|s| s.bottleneck).collect();
        assert_eq!(marked, vec![false, true, false]);
        assert!(r.stats_table().contains("<- bottleneck"));
    }

    #[test]
    fn trace_events_are_complete_events_with_names() {
        let r = RunReport {
            script: "t.flow".into(),
            stages: vec![stage(0, "map { it }", 10, 0, 0)],
            tasks: vec![TaskReport {
                name: "t".into(),
                line: 2,
                start_us: 5,
                end_us: 9,
                ok: true,
            }],
            ..RunReport::default()
        };
        let v: Value = serde_json::from_str(&r.to_trace_json()).unwrap();
        let ev = v["traceEvents"].as_array().unwrap();
        assert!(ev
            .iter()
            .any(|e| e["ph"] == "X" && e["name"] == "map { it }"));
        assert!(ev.iter().any(|e| e["ph"] == "X" && e["cat"] == "task"));
        assert!(ev
            .iter()
            .any(|e| e["ph"] == "M" && e["name"] == "thread_name"));
        for e in ev.iter().filter(|e| e["ph"] == "X") {
            assert!(e["ts"].is_u64() && e["dur"].as_u64().unwrap() >= 1);
        }
    }
}
