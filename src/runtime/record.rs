//! What a run records when a report is asked for (`--report`, `--trace`, `--stats`, or a
//! host's [`RunOptions::report`](super::RunOptions)): per item stage, the items in and out
//! and the time spent waiting for input, waiting to send output, and working; per task,
//! when it started and ended; the process's CPU time and memory over time.
//!
//! A stage thread reads through an [`Inbox`] and sends through an [`Outbox`]: with no
//! recorder they are the channel itself (one branch per batch of up to 1024 items); with
//! one, each receive and send is timed (two clock reads per batch) and the input channel's
//! fill is sampled at each receive, which gives its peak. Nothing here allocates per item.

use super::report::{
    JobReport, PoolReport, ProcessReport, RunReport, Sample, StageReport, TaskReport,
};
use super::value::Batch;
use crossbeam_channel::{Receiver, SendError, Sender};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Every record of one run.
pub(crate) struct Recorder {
    start: Instant,
    stages: Mutex<Vec<Arc<StageMeter>>>,
    tasks: Mutex<Vec<TaskReport>>,
    pools: Mutex<Vec<PoolReport>>,
    jobs: Mutex<Vec<JobReport>>,
    processes: Mutex<Vec<ProcessReport>>,
    samples: Arc<Mutex<Vec<Sample>>>,
    stop: Arc<AtomicBool>,
    sampler: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Recorder {
    /// Start recording; a thread samples the process's CPU time and memory every 50 ms.
    pub(crate) fn start() -> Arc<Recorder> {
        let start = Instant::now();
        let samples: Arc<Mutex<Vec<Sample>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (samples, stop) = (samples.clone(), stop.clone());
            std::thread::Builder::new()
                .name("flow-report".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        if let Some(s) = sample(start) {
                            samples.lock().unwrap_or_else(|e| e.into_inner()).push(s);
                        }
                        std::thread::park_timeout(Duration::from_millis(50));
                    }
                })
                .ok()
        };
        Arc::new(Recorder {
            start,
            stages: Mutex::default(),
            tasks: Mutex::default(),
            pools: Mutex::default(),
            jobs: Mutex::default(),
            processes: Mutex::default(),
            samples,
            stop,
            sampler: Mutex::new(sampler),
        })
    }

    /// Microseconds since the run started.
    pub(crate) fn now_us(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// A meter for a stage about to start on `thread` (its label and line from the script).
    pub(crate) fn stage(&self, label: String, line: usize, thread: &str) -> Arc<StageMeter> {
        let mut stages = self.stages.lock().unwrap_or_else(|e| e.into_inner());
        let m = Arc::new(StageMeter {
            id: stages.len(),
            label,
            line,
            thread: thread.to_string(),
            start_us: self.now_us(),
            end_us: AtomicU64::new(0),
            items_in: AtomicU64::new(0),
            items_out: AtomicU64::new(0),
            wait_in_ns: AtomicU64::new(0),
            wait_out_ns: AtomicU64::new(0),
            peak_fill: AtomicUsize::new(0),
        });
        stages.push(m.clone());
        m
    }

    /// A task `name` (spawned at `line`) ran from `start_us` until now.
    pub(crate) fn task(&self, name: &str, line: usize, start_us: u64, ok: bool) {
        let end_us = self.now_us();
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(TaskReport {
                name: name.to_string(),
                line,
                start_us,
                end_us,
                ok,
            });
    }

    /// A pool stage about to start; its id for [`Recorder::job`].
    pub(crate) fn pool(&self, label: String, line: usize, slots: usize) -> usize {
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        let id = pools.len();
        pools.push(PoolReport {
            id,
            label,
            line,
            slots,
        });
        id
    }

    /// A pool job ended.
    pub(crate) fn job(&self, j: JobReport) {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).push(j);
    }

    /// Microseconds from the run's start to `t` (0 for a moment before it).
    pub(crate) fn us_at(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.start).as_micros()).unwrap_or(u64::MAX)
    }

    /// A pipeline's command was reaped.
    pub(crate) fn process(&self, p: ProcessReport) {
        self.processes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(p);
    }

    /// Stop sampling and gather what was recorded.
    pub(crate) fn finish(&self) -> RunReport {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self
            .sampler
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            h.thread().unpark();
            let _ = h.join();
        }
        let duration_us = self.now_us();
        let mut samples = take(&self.samples);
        if let Some(s) = sample(self.start) {
            samples.push(s);
        }
        let stages = self
            .stages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|m| m.report(duration_us))
            .collect();
        let mut tasks = take(&self.tasks);
        tasks.sort_by_key(|t| t.start_us);
        let (pools, jobs, processes) = (take(&self.pools), take(&self.jobs), take(&self.processes));
        RunReport {
            processes,
            duration_us,
            stages,
            tasks,
            pools,
            jobs,
            samples,
            ..RunReport::default()
        }
    }
}

/// What a list holds, leaving it empty.
fn take<T>(m: &Mutex<Vec<T>>) -> Vec<T> {
    std::mem::take(&mut *m.lock().unwrap_or_else(|e| e.into_inner()))
}

/// One stage's counters, shared by the thread that runs it and the recorder.
pub(crate) struct StageMeter {
    id: usize,
    label: String,
    line: usize,
    thread: String,
    start_us: u64,
    end_us: AtomicU64,
    items_in: AtomicU64,
    items_out: AtomicU64,
    wait_in_ns: AtomicU64,
    wait_out_ns: AtomicU64,
    peak_fill: AtomicUsize,
}

/// A stage's text as a label (on one line, at most 60 characters) and its 1-based line.
pub(crate) fn label_line(src: &str, span: crate::Span) -> (String, usize) {
    let text = span
        .text(src)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let label = if text.chars().count() > 60 {
        format!("{}…", text.chars().take(59).collect::<String>())
    } else {
        text
    };
    let line = src
        .get(..span.start)
        .map_or(1, |b| b.matches('\n').count() + 1);
    (label, line)
}

fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl StageMeter {
    /// `n` items were handed on after a wait of `waited` for room (`into ch`, whose
    /// channel is the script's: sent item by item).
    pub(crate) fn sent(&self, n: u64, waited: Duration) {
        self.wait_out_ns.fetch_add(ns(waited), Ordering::Relaxed);
        self.items_out.fetch_add(n, Ordering::Relaxed);
    }

    /// The stage ended (`at_us` since the run started).
    pub(crate) fn end(&self, at_us: u64) {
        self.end_us.store(at_us, Ordering::Relaxed);
    }

    fn report(&self, run_end_us: u64) -> StageReport {
        let end = match self.end_us.load(Ordering::Relaxed) {
            0 => run_end_us,
            e => e,
        };
        let wall_us = end.saturating_sub(self.start_us);
        let wait_in_us = self.wait_in_ns.load(Ordering::Relaxed) / 1000;
        let wait_out_us = self.wait_out_ns.load(Ordering::Relaxed) / 1000;
        StageReport {
            id: self.id,
            label: self.label.clone(),
            line: self.line,
            thread: self.thread.clone(),
            start_us: self.start_us,
            end_us: end,
            items_in: self.items_in.load(Ordering::Relaxed),
            items_out: self.items_out.load(Ordering::Relaxed),
            busy_us: wall_us.saturating_sub(wait_in_us + wait_out_us),
            wait_in_us,
            wait_out_us,
            peak_fill: self.peak_fill.load(Ordering::Relaxed),
            capacity: crate::limits::CHANNEL_CAPACITY,
            bottleneck: false,
        }
    }
}

/// A stage's input: its channel, timed when recording.
pub(crate) struct Inbox<'a> {
    rx: &'a Receiver<Batch>,
    meter: Option<&'a StageMeter>,
}

impl<'a> Inbox<'a> {
    pub(crate) fn new(rx: &'a Receiver<Batch>, meter: Option<&'a StageMeter>) -> Self {
        Inbox { rx, meter }
    }
}

impl Iterator for Inbox<'_> {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        let Some(m) = self.meter else {
            return self.rx.recv().ok();
        };
        m.peak_fill.fetch_max(self.rx.len(), Ordering::Relaxed);
        let t = Instant::now();
        let b = self.rx.recv().ok();
        m.wait_in_ns.fetch_add(ns(t.elapsed()), Ordering::Relaxed);
        if let Some(b) = &b {
            m.items_in.fetch_add(b.len() as u64, Ordering::Relaxed);
        }
        b
    }
}

/// The items a stage reads on the calling thread (a sink), timed: waiting for the next
/// batch is waiting for input; the rest of the stage's life is work.
pub(crate) struct Metered<I> {
    inner: I,
    meter: Arc<StageMeter>,
    recorder: Arc<Recorder>,
}

impl<I> Metered<I> {
    pub(crate) fn new(inner: I, meter: Arc<StageMeter>, recorder: Arc<Recorder>) -> Self {
        Metered {
            inner,
            meter,
            recorder,
        }
    }
}

impl<I: Iterator<Item = Batch>> Iterator for Metered<I> {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        let t = Instant::now();
        let b = self.inner.next();
        let m = &self.meter;
        m.wait_in_ns.fetch_add(ns(t.elapsed()), Ordering::Relaxed);
        match &b {
            Some(b) => {
                m.items_in.fetch_add(b.len() as u64, Ordering::Relaxed);
            }
            None => m.end(self.recorder.now_us()),
        }
        b
    }
}

/// The output of stages run inside the calling thread's loop (fused into the sink's
/// thread): the time from handing a batch on until the next is asked for is the time the
/// stage after it worked, so this stage's time waiting to send.
pub(crate) struct Pulled<I> {
    inner: I,
    meter: Arc<StageMeter>,
    recorder: Arc<Recorder>,
    handed: Option<Instant>,
}

impl<I> Pulled<I> {
    pub(crate) fn new(inner: I, meter: Arc<StageMeter>, recorder: Arc<Recorder>) -> Self {
        Pulled {
            inner,
            meter,
            recorder,
            handed: None,
        }
    }
}

impl<I: Iterator<Item = Batch>> Iterator for Pulled<I> {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        let m = &self.meter;
        if let Some(t) = self.handed.take() {
            m.wait_out_ns.fetch_add(ns(t.elapsed()), Ordering::Relaxed);
        }
        let b = self.inner.next();
        match &b {
            Some(b) => {
                m.items_out.fetch_add(b.len() as u64, Ordering::Relaxed);
                self.handed = Some(Instant::now());
            }
            None => m.end(self.recorder.now_us()),
        }
        b
    }
}

/// A stage's output: its channel, timed when recording.
pub(crate) struct Outbox<'a> {
    tx: &'a Sender<Batch>,
    meter: Option<&'a StageMeter>,
}

impl<'a> Outbox<'a> {
    pub(crate) fn new(tx: &'a Sender<Batch>, meter: Option<&'a StageMeter>) -> Self {
        Outbox { tx, meter }
    }

    /// Send a batch; `Err` when no one reads any more.
    pub(crate) fn send(&self, b: Batch) -> Result<(), SendError<Batch>> {
        let Some(m) = self.meter else {
            return self.tx.send(b);
        };
        let n = b.len() as u64;
        let t = Instant::now();
        let r = self.tx.send(b);
        m.wait_out_ns.fetch_add(ns(t.elapsed()), Ordering::Relaxed);
        if r.is_ok() {
            m.items_out.fetch_add(n, Ordering::Relaxed);
        }
        r
    }
}

/// The process's CPU time (user + system, its reaped children's included) from
/// `/proc/self/stat`, in clock ticks of 1/100 s (Linux's fixed USER_HZ there), and its
/// resident memory from `/proc/self/status`.
fn sample(start: Instant) -> Option<Sample> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces): utime,
    // stime, cutime and cstime are the 12th to 15th.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let mut ticks = 0u64;
    for i in 11..15 {
        ticks += f.get(i)?.parse::<u64>().ok()?;
    }
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let rss_kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())?;
    Some(Sample {
        t_us: u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX),
        cpu_us: ticks * 10_000,
        rss_kb,
    })
}
