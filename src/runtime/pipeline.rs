//! Running one pipeline: commands joined by OS pipes (no byte passes through flow), item
//! stages on threads joined by bounded channels of batches, and the sink on the calling
//! thread. Invariants: every channel is `bounded(CHANNEL_CAPACITY)`; every process started
//! here is reaped before `run` returns; the first real error cancels the pipeline's token.

use super::cancel::{CancelReason, CancelToken};
use super::eval::{Env, WordEnv};
use super::output::Target;
use super::process::{self, ErrTo, Proc, Spec};
use super::run_error::{RunError, RunErrorKind};
use super::value::{self, Batch};
use super::{pool, stages, words};
use crate::ast::{Command, Pipeline, Redirect, RedirectKind, Sink, Stage, StageKind, WordPart};
use crate::script::channel::FlowChannel;
use crate::script::display::display;
use crossbeam_channel::{bounded, Receiver, Sender};
use rhai::Dynamic;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

pub(crate) use crate::limits::{BATCH_SIZE, CHANNEL_CAPACITY};
use crate::plan::{Out, Segment};

/// Where the pipeline's output goes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dest {
    /// Printed (items one per line; a final command writes to flow's stdout directly).
    Stdout,
    /// Collected into a value (`let x = …`, a task's result).
    Collect,
    /// The run's last statement: streams as `Stdout`, but a reducing sink's value is the
    /// run's value, printed only when `print` (the CLI) — a host gets it returned.
    Last { print: bool },
}

impl Dest {
    /// Whether the output streams to flow's stdout (or a file) rather than being collected.
    fn streams(self) -> bool {
        self != Dest::Collect
    }
}

/// Batches made on the calling thread, as the sink asks for them.
type Here<'a> = Box<dyn Iterator<Item = Batch> + 'a>;

/// What flows out of the part of the pipeline built so far.
enum Flow<'a> {
    /// Nothing yet: the first command reads flow's stdin.
    Start,
    /// Items from a channel.
    Items(Receiver<Batch>),
    /// Items made in the sink's own loop (the plan's `here` segments).
    Here(Here<'a>),
    /// A final command wrote to flow's stdout (or a file) itself.
    Done,
    /// Bytes for the next command's stdin (a `pool exec` stage's job output).
    Bytes(std::io::PipeReader),
}

/// The shared failure slot: the first real error wins and cancels everything.
#[derive(Clone)]
pub(crate) struct Failure {
    first: Arc<Mutex<Option<RunError>>>,
    token: CancelToken,
}

impl Failure {
    pub(crate) fn new(token: CancelToken) -> Self {
        Failure {
            first: Arc::new(Mutex::new(None)),
            token,
        }
    }

    pub(crate) fn fail(&self, e: RunError) {
        if matches!(e.kind, RunErrorKind::Cancelled) {
            return;
        }
        let mut g = self.first.lock().unwrap_or_else(|e| e.into_inner());
        if g.is_none() {
            *g = Some(e);
        }
        drop(g);
        self.token.cancel(CancelReason::Internal);
    }

    /// The token the first failure cancels.
    pub(crate) fn token(&self) -> &CancelToken {
        &self.token
    }

    pub(crate) fn take(&self) -> Option<RunError> {
        self.first.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

struct Run {
    env: Env,
    token: CancelToken,
    failure: Failure,
    /// Each process, whether it ends the chain, and whether its stdout is flow's own.
    procs: Vec<(Proc, bool, bool)>,
    threads: Vec<JoinHandle<()>>,
    groups: super::groups::Groups,
    /// The pipeline, for errors that belong to no one stage.
    span: crate::Span,
    /// Pool stages: each is done when its jobs were reaped and its output written.
    pools: Vec<pool::Running>,
}

impl Run {
    /// [`Run::thread`] for a stage that sends on `tx`: its failure is recorded (and the run
    /// cancelled) before `tx` is dropped. Downstream then never takes the end of its input
    /// for a clean end: `yes | map { throw … } | count` prints no count.
    fn thread_sending<T: Send + 'static>(
        &mut self,
        tx: Sender<T>,
        f: impl FnOnce(&Sender<T>) -> Result<(), RunError> + Send + 'static,
    ) {
        let failure = self.failure.clone();
        self.thread(move || {
            let r = super::eval::guard_panics(crate::Span::default(), || f(&tx)).and_then(|r| r);
            if let Err(e) = &r {
                failure.fail(e.clone());
            }
            drop(tx);
            r
        });
    }

    fn thread(&mut self, f: impl FnOnce() -> Result<(), RunError> + Send + 'static) {
        let failure = self.failure.clone();
        let ctx = crate::runtime::context::ThreadCtx {
            token: Some(self.token.clone()),
            deadline: None,
            runtime: Some(self.env.shared.rt.clone()),
        };
        let failed = failure.clone();
        let party = super::deadlock::current_party();
        // A task that waits for stage threads blocks its worker.
        super::green::hold_worker();
        let spawned = std::thread::Builder::new()
            .name("flow-stage".into())
            .spawn(move || {
                super::deadlock::set_party(party);
                crate::runtime::context::with_ctx(ctx, || {
                    let r = super::eval::guard_panics(crate::Span::default(), f);
                    if let Err(e) | Ok(Err(e)) = r {
                        failed.fail(e);
                    }
                });
            });
        match spawned {
            Ok(h) => self.threads.push(h),
            Err(e) => failure.fail(RunError::new(
                self.span,
                RunErrorKind::Resources {
                    message: format!(
                        "cannot start a thread for this pipeline ({} running): {e}",
                        self.threads.len()
                    ),
                },
            )),
        }
    }
}

/// Run a pipeline to completion. Returns the collected value for `Dest::Collect`
/// (an array, or the reducing sink's value), `()` otherwise.
pub(crate) fn run(
    env: &Env,
    pl: &Pipeline,
    dest: Dest,
    parent: &CancelToken,
) -> Result<Dynamic, RunError> {
    let token = parent.child();
    let groups: super::groups::Groups = Arc::default();
    // Only the pipeline's own commands join its groups (pools and `run` guard theirs): a
    // pipeline of items alone needs no thread watching for processes to stop.
    let has_commands = pl
        .stages
        .iter()
        .any(|s| matches!(s.kind, StageKind::Command(_)));
    let guard = if has_commands {
        Some(
            env.shared
                .rt
                .guard_groups(&token, groups.clone(), pl.span)?,
        )
    } else {
        None
    };
    let mut run = Run {
        env: env.clone(),
        token: token.clone(),
        failure: Failure::new(token.clone()),
        procs: vec![],
        threads: vec![],
        groups,
        span: pl.span,
        pools: vec![],
    };
    let result = build_and_consume(&mut run, pl, dest);
    if let Err(e) = &result {
        run.failure.fail(e.clone());
    }
    // Reap every process (the guard signals them if the pipeline was cancelled).
    let mut proc_err = None;
    for (p, last_of_chain, writes_stdout) in std::mem::take(&mut run.procs) {
        let (pid, started) = (p.pid, p.started);
        let r = p.wait(|| drain_for(&token));
        if let Some(rec) = run.env.shared.rt.recorder() {
            record_process(&rec, &run.env.shared.src, &r, started);
        }
        run.groups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|g| *g != pid);
        // The last command wrote to flow's own stdout and its reader went away: the rule
        // for a closed stdout (stop everything, quietly), not a failed command.
        if writes_stdout && process::died_of_sigpipe(&r) && !r.unchecked {
            run.env.shared.rt.stdout.reader_gone();
            continue;
        }
        if let Some(status) = process::judge(&r, last_of_chain) {
            if proc_err.is_none() && !token.is_cancelled() {
                proc_err = Some(process::exit_error(r, status));
            }
        }
    }
    // Pool jobs get the same shutdown as commands: signal, grace period, reaped.
    for p in std::mem::take(&mut run.pools) {
        p.wait();
    }
    join_threads(std::mem::take(&mut run.threads), token.is_cancelled());
    drop(guard);
    if let Some(e) = proc_err {
        run.failure.fail(e);
    }
    if let Some(e) = run.failure.take() {
        return Err(e);
    }
    if let Some(r) = parent.reason() {
        return Err(super::exec::cancel_error(r, pl.span));
    }
    result.map(|v| v.unwrap_or_default())
}

/// How long to drain a finished child's stderr: briefly once the run is cancelled.
pub(crate) fn drain_for(token: &CancelToken) -> std::time::Duration {
    std::time::Duration::from_millis(if token.is_cancelled() { 100 } else { 1000 })
}

/// Join the stage threads. Once the pipeline is cancelled, a thread still blocked reading a
/// pipe that an escaped descendant (`setsid …&`) holds open must not keep flow waiting:
/// after a short drain it is left to finish on its own.
fn join_threads(threads: Vec<JoinHandle<()>>, cancelled: bool) {
    if cancelled {
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(200);
        while std::time::Instant::now() < deadline && !threads.iter().all(JoinHandle::is_finished) {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        for t in threads.into_iter().filter(JoinHandle::is_finished) {
            let _ = t.join();
        }
    } else {
        for t in threads {
            let _ = t.join();
        }
    }
}

fn build_and_consume(
    run: &mut Run,
    pl: &Pipeline,
    dest: Dest,
) -> Result<Option<Dynamic>, RunError> {
    // The plan decides how the pipeline runs; this executes what it says.
    let segments = crate::plan::segments(pl, dest.streams());
    run.env.shared.rt.stages_started(pl.span, &segments);
    let stages = &pl.stages;
    let mut flow = Flow::Start;
    // How many items flow at this point, when known (for a pool's progress total).
    let mut known: Option<u64> = None;
    for seg in &segments {
        // Only these stages keep the number of items.
        if stages[seg.stages()].iter().any(|st| {
            !matches!(
                st.kind,
                StageKind::Map(_) | StageKind::ToJson | StageKind::Sort(_) | StageKind::Pool(_)
            )
        }) {
            known = None;
        }
        match seg {
            Segment::Source { counted, here } => {
                let src = pl.source.as_ref().ok_or_else(|| no_items(pl.span))?;
                if *here {
                    let v = run.env.eval(&src.expr)?;
                    known = value::len(&v);
                    flow = here_source(run, v, src.expr.span);
                } else {
                    let (rx, len) = source(run, &src.expr, *counted)?;
                    flow = Flow::Items(rx);
                    known = len;
                }
            }
            Segment::Stdin { sep } => flow = Flow::Items(stdin_records(run, sep.clone())),
            Segment::Commands { stages: r, out } => {
                let (to_stdout, sep) = match out {
                    Out::Stdout => (true, None),
                    Out::Records(sep) => (false, Some(sep.as_str())),
                    _ => (false, None),
                };
                flow = commands(run, &stages[r.clone()], flow, to_stdout, sep)?;
            }
            Segment::Sink { stage } => {
                let sink = stage.and_then(|i| match &stages[i].kind {
                    StageKind::Sink(s) => Some((s, stages[i].span)),
                    _ => None,
                });
                let Some(input) = here(flow, &run.token) else {
                    return Ok(None);
                };
                let input = match (run.env.shared.rt.recorder(), stage) {
                    (Some(rec), Some(i)) => {
                        match stage_meter(run, &stages[*i..=*i], "the calling thread") {
                            Some(m) => Box::new(super::record::Metered::new(input, m, rec)),
                            None => input,
                        }
                    }
                    _ => input,
                };
                return consume(run, input, sink, dest, pl);
            }
            Segment::Into { stage } => {
                let st = &stages[*stage];
                let StageKind::Into(name) = &st.kind else {
                    continue;
                };
                let rx = items(flow, st)?;
                into(run, name, st, rx)?;
                flow = Flow::Done;
            }
            Segment::Pool { stage, out } => {
                let st = &stages[*stage];
                let StageKind::Pool(p) = &st.kind else {
                    continue;
                };
                let rx = items(flow, st)?;
                let mut pipe_r = None;
                let output = match out {
                    Out::Records(sep) => pool::Output::Records(sep.as_bytes().to_vec()),
                    Out::Pipe => {
                        let (r, w) = std::io::pipe().map_err(|e| io_err(st.span, &e))?;
                        pipe_r = Some(r);
                        pool::Output::Bytes(Box::new(w), Target::Pipe)
                    }
                    Out::File | Out::Stdout => match (
                        file_redirect(&run.env, &pl.redirects)?,
                        &run.env.shared.rt.output,
                    ) {
                        (Some((f, path)), _) => {
                            pool::Output::Bytes(Box::new(f), Target::File(path))
                        }
                        (None, None) => pool::Output::Bytes(Box::new(pool::Stdout), Target::Stdout),
                        (None, Some(h)) => pool::Output::Bytes(
                            super::output::stdout_writer(Some(h)),
                            Target::Stdout,
                        ),
                    },
                    Out::Items | Out::Lines => pool::Output::Items,
                };
                let plan = crate::plan::PoolPlan::new(p, st.span);
                let (out, running) = pool::start(&run.env, &plan, rx, &run.failure, known, output)?;
                run.pools.push(running);
                flow = match (out, pipe_r) {
                    (Some(rx), _) => Flow::Items(rx),
                    (None, Some(r)) => Flow::Bytes(r),
                    (None, None) => Flow::Done,
                };
            }
            Segment::Fused {
                stages: r,
                here: true,
            } => {
                let input = here(flow, &run.token).ok_or_else(|| no_items(stages[r.start].span))?;
                let fused = stages::Fused::new(&stages[r.clone()], &run.env)?;
                let meter = run.env.shared.rt.recorder().and_then(|rec| {
                    stage_meter(run, &stages[r.clone()], "the calling thread").map(|m| (rec, m))
                });
                let input: Here<'_> = match &meter {
                    Some((rec, m)) => {
                        Box::new(super::record::Metered::new(input, m.clone(), rec.clone()))
                    }
                    None => input,
                };
                let (failure, token) = (run.failure.clone(), run.token.clone());
                let mut ev = run.env.evaluator();
                // A stage's error ends the items here and fails the run, as a stage
                // thread's does.
                let out = input.map_while(move |b| {
                    if token.is_cancelled() {
                        return None;
                    }
                    fused.apply(&mut ev, b).map_err(|e| failure.fail(e)).ok()
                });
                let out = out.filter(|b| !b.is_empty());
                flow = Flow::Here(match meter {
                    Some((rec, m)) => Box::new(super::record::Pulled::new(out, m, rec)),
                    None => Box::new(out),
                });
            }
            Segment::Fused { stages: r, .. } => {
                let rx = items(flow, &stages[r.start])?;
                let (tx, out) = bounded(CHANNEL_CAPACITY);
                let group: Vec<Stage> = stages[r.clone()].to_vec();
                let (env, token) = (run.env.clone(), run.token.clone());
                let meter = stage_meter(run, &group, "flow-stage");
                run.thread_sending(tx, move |tx| {
                    let r = stages::run_fused(&group, &env, &rx, tx, &token, meter.as_deref());
                    meter_end(&env, meter.as_deref());
                    r
                });
                flow = Flow::Items(out);
            }
            Segment::Thread { stage } => {
                let st = &stages[*stage];
                let rx = items(flow, st)?;
                let (tx, out) = bounded(CHANNEL_CAPACITY);
                let (env, token, kind, span) =
                    (run.env.clone(), run.token.clone(), st.kind.clone(), st.span);
                let meter = stage_meter(run, std::slice::from_ref(st), "flow-stage");
                run.thread_sending(tx, move |tx| {
                    let r = stages::run(&kind, span, &env, &rx, tx, &token, meter.as_deref());
                    meter_end(&env, meter.as_deref());
                    r
                });
                flow = Flow::Items(out);
            }
        }
    }
    Ok(None)
}

/// A meter for stages about to run on one thread, when the run is recorded: labelled
/// with their text (one line, shortened) and the line of the first.
fn stage_meter(run: &Run, group: &[Stage], thread: &str) -> Option<Arc<super::record::StageMeter>> {
    let rec = run.env.shared.rt.recorder()?;
    let first = group.first()?;
    let end = group.last().map_or(first.span.end, |l| l.span.end);
    let (label, line) =
        super::record::label_line(&run.env.shared.src, crate::Span::new(first.span.start, end));
    Some(rec.stage(label, line, thread))
}

/// A recorded run: a pipeline's command `r`, started at `started`, was reaped now.
fn record_process(
    rec: &super::record::Recorder,
    src: &str,
    r: &process::Reaped,
    started: std::time::Instant,
) {
    use std::os::unix::process::ExitStatusExt;
    let (label, line) = super::record::label_line(src, r.span);
    rec.process(super::report::ProcessReport {
        label,
        line,
        start_us: rec.us_at(started),
        end_us: rec.now_us(),
        exit: r.status.code().unwrap_or(-1),
        signal: r.status.signal().unwrap_or(0),
        max_rss_kb: r.usage.map_or(0, |u| u.max_rss_kb),
        cpu_us: r.usage.map_or(0, |u| u.cpu_us),
    });
}

/// The stage on this thread ended.
fn meter_end(env: &Env, meter: Option<&super::record::StageMeter>) {
    if let (Some(m), Some(rec)) = (meter, env.shared.rt.recorder()) {
        m.end(rec.now_us());
    }
}

/// A segment that needs items found none: the plan and the pipeline disagree.
fn no_items(span: crate::Span) -> RunError {
    RunError::new(
        span,
        RunErrorKind::Value {
            message: "nothing flows into this stage".into(),
        },
    )
}

/// The receiving end of the items flowing so far (the plan put flow's stdin before the
/// first stage that takes items, and made only a sink follow items made here).
fn items(flow: Flow, st: &Stage) -> Result<Receiver<Batch>, RunError> {
    match flow {
        Flow::Items(rx) => Ok(rx),
        Flow::Start | Flow::Done | Flow::Bytes(_) | Flow::Here(_) => Err(no_items(st.span)),
    }
}

/// The items flowing so far as batches taken on the calling thread (read from their
/// channel, or made here); `None` when no items flow.
fn here<'a>(flow: Flow<'a>, token: &CancelToken) -> Option<Here<'a>> {
    match flow {
        Flow::Items(rx) => Some(Box::new(batches(rx, token.clone()))),
        Flow::Here(it) => Some(it),
        Flow::Start | Flow::Done | Flow::Bytes(_) => None,
    }
}

/// A `here` source: the value's items in batches, made as the sink asks for them.
fn here_source<'a>(run: &mut Run, v: Dynamic, span: crate::Span) -> Flow<'a> {
    let token = run.token.clone();
    // A range: its integers made straight into each batch.
    // (In i128, so that `..=i64::MAX` ends where it says.)
    let range = if let Some(r) = v.read_lock::<std::ops::Range<i64>>() {
        Some((i128::from(r.start), i128::from(r.end)))
    } else {
        v.read_lock::<std::ops::RangeInclusive<i64>>()
            .map(|r| (i128::from(*r.start()), i128::from(*r.end()) + 1))
    };
    if let Some((mut next, end)) = range {
        return Flow::Here(Box::new(std::iter::from_fn(move || {
            if next >= end || token.is_cancelled() {
                return None;
            }
            let n = (end - next).min(BATCH_SIZE as i128);
            let batch: Batch = (next..next + n)
                .map(|i| Dynamic::from_int(i64::try_from(i).unwrap_or_default()))
                .collect();
            next += n;
            Some(batch)
        })));
    }
    match value::elements(v) {
        Ok(items) => {
            let mut items = items;
            Flow::Here(Box::new(std::iter::from_fn(move || {
                if token.is_cancelled() {
                    return None;
                }
                let batch: Batch = items.by_ref().take(BATCH_SIZE).collect();
                (!batch.is_empty()).then_some(batch)
            })))
        }
        Err(v) => match v.try_cast_result::<FlowChannel>() {
            // A channel: read here, a batch as the loop asks for one.
            Ok(ch) => Flow::Here(Box::new(ChannelHere {
                items: super::exec::ChannelItems {
                    rx: ch.receiver(),
                    external: ch.is_external(),
                    token,
                    watch: run.env.shared.rt.deadlock.clone().map(|d| (d, span)),
                    what: "`from` waits for an item of this channel, and nothing sends to it",
                },
                size: 1,
                handed: None,
            })),
            // `()`: no items; any other value: one.
            Err(v) if v.is_unit() => Flow::Here(Box::new(std::iter::empty())),
            Err(v) => Flow::Here(Box::new(std::iter::once(vec![v]))),
        },
    }
}

/// `from ch` read on the calling thread, in the sink's loop: what [`read_channel`] does on
/// a reader thread. It takes one item at a time while the loop is slow to come back (a
/// work queue's other readers are not starved), batches that double while it keeps up.
struct ChannelHere {
    /// The first item of a batch, waited for as `for x in ch` waits.
    items: super::exec::ChannelItems,
    size: usize,
    /// When the last batch was handed to the loop.
    handed: Option<std::time::Instant>,
}

impl Iterator for ChannelHere {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        const SLOW: std::time::Duration = std::time::Duration::from_millis(2);
        if let Some(t) = self.handed.take() {
            self.size = if t.elapsed() > SLOW {
                1
            } else {
                (self.size * 2).min(BATCH_SIZE)
            };
        }
        let mut batch = vec![self.items.next()?];
        while batch.len() < self.size {
            match self.items.rx.try_recv() {
                Ok(y) => batch.push(y),
                Err(_) => break,
            }
        }
        self.handed = Some(std::time::Instant::now());
        Some(batch)
    }
}

/// Flow's stdin as items: lines, or records cut at `sep` only.
fn stdin_records(run: &mut Run, sep: Option<String>) -> Receiver<Batch> {
    let (tx, rx) = bounded(CHANNEL_CAPACITY);
    // A host that keeps its stdin from its scripts: no items (the channel closes now).
    if !run.env.shared.rt.sandbox.stdin {
        return rx;
    }
    let token = run.token.clone();
    run.thread(move || {
        let _ = read_records(std::io::stdin().lock(), sep.as_deref(), &tx, &token);
        Ok(())
    });
    rx
}

/// Line items, or with `sep`, records cut at `sep` only (a newline stays in a record).
fn read_records(
    r: impl Read,
    sep: Option<&str>,
    tx: &Sender<Batch>,
    token: &CancelToken,
) -> std::io::Result<()> {
    match sep {
        Some(sep) => read_items(r, Cut::Records(sep.as_bytes()), tx, token),
        None => read_items(r, Cut::Lines, tx, token),
    }
}

/// Line items (`\n` or `\r\n` stripped, invalid UTF-8 replaced); with `texts` false, each line is sent as `()`: for a consumer that only
/// counts, which then pays neither for a string per line nor for freeing it.
fn read_lines_as(
    r: impl Read,
    tx: &Sender<Batch>,
    token: &CancelToken,
    texts: bool,
) -> std::io::Result<()> {
    let cut = if texts { Cut::Lines } else { Cut::Counted };
    read_items(r, cut, tx, token)
}

/// How a byte stream is cut into items.
enum Cut<'a> {
    /// Line items.
    Lines,
    /// One `()` per line (only counted).
    Counted,
    /// Records ending at this separator.
    Records(&'a [u8]),
}

/// Send the items of `r`, cut as `cut` says, in batches (one whenever the reader has nothing
/// more buffered, or it is full). A read error is returned after the items before it.
fn read_items(
    r: impl Read,
    cut: Cut<'_>,
    tx: &Sender<Batch>,
    token: &CancelToken,
) -> std::io::Result<()> {
    let mut batch = Vec::with_capacity(BATCH_SIZE);
    let mut open = true;
    let mut push = |it: Dynamic, more: bool| {
        batch.push(it);
        if batch.len() >= BATCH_SIZE || !more {
            if token.is_cancelled() || tx.send(std::mem::take(&mut batch)).is_err() {
                open = false;
                return false;
            }
            batch.reserve(BATCH_SIZE);
        }
        true
    };
    let read = match cut {
        Cut::Lines => super::lines::try_each_item(r, &mut push),
        Cut::Counted => super::lines::try_each_line(r, |_, more| push(Dynamic::UNIT, more)),
        Cut::Records(sep) => super::lines::try_each_record(r, sep, &mut push),
    };
    if open && !batch.is_empty() {
        let _ = tx.send(batch);
    }
    read
}

/// `from value`: arrays, ranges, strings, channels, `lines(path)` (read lazily).
fn source(
    run: &mut Run,
    expr: &crate::ast::Rhai,
    only_counted: bool,
) -> Result<(Receiver<Batch>, Option<u64>), RunError> {
    let (tx, rx) = bounded(CHANNEL_CAPACITY);
    let token = run.token.clone();
    let code = expr.code.trim();
    if let Some(arg) = code
        .strip_prefix("lines(")
        .and_then(|s| s.strip_suffix(')'))
    {
        let path_expr = crate::ast::Rhai {
            code: arg.to_string(),
            span: expr.span,
        };
        let path = display(&run.env.eval(&path_expr)?);
        let call = expr.span;
        let f = File::open(&path).map_err(|e| read_error(call, &path, &e))?;
        run.thread_sending(tx, move |tx| {
            read_lines_as(f, tx, &token, !only_counted).map_err(|e| read_error(call, &path, &e))
        });
        return Ok((rx, None));
    }
    let v = run.env.eval(expr)?;
    if let Some(ch) = v.clone().try_cast::<FlowChannel>() {
        // A rendezvous: the reader takes an item from the channel only when the next stage
        // is ready for it, so that other readers of the channel are not starved.
        let (tx, rx) = bounded(0);
        let watch = run.env.shared.rt.deadlock.clone().map(|d| (d, expr.span));
        run.thread(move || {
            read_channel(&ch, &tx, &token, watch.as_ref());
            Ok(())
        });
        return Ok((rx, None));
    }
    let len = value::len(&v);
    run.thread(move || {
        send_value(v, &tx, &token);
        Ok(())
    });
    Ok((rx, len))
}

/// `from lines(path)` could not read `path`: at the call, with the OS error.
fn read_error(call: crate::Span, path: &str, e: &std::io::Error) -> RunError {
    let message = format!("cannot read {path}: {e}");
    RunError::new(call, RunErrorKind::Io { message })
}

fn send_all(it: impl Iterator<Item = Dynamic>, tx: &Sender<Batch>, token: &CancelToken) {
    let mut batch = Vec::with_capacity(BATCH_SIZE);
    for x in it {
        batch.push(x);
        if batch.len() == BATCH_SIZE {
            if token.is_cancelled() || tx.send(std::mem::take(&mut batch)).is_err() {
                return;
            }
            batch.reserve(BATCH_SIZE);
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(batch);
    }
}

fn send_value(v: Dynamic, tx: &Sender<Batch>, token: &CancelToken) {
    let v = match value::elements(v) {
        Ok(items) => return send_all(items, tx, token),
        Err(v) => v,
    };
    if let Some(ch) = v.clone().try_cast::<FlowChannel>() {
        read_channel(&ch, tx, token, None);
    } else if v.is_unit() {
    } else {
        let _ = tx.send(vec![v]);
    }
}

/// `from ch`: read until every producer has closed the channel. The channel is a work queue
/// shared by its readers, so a reader takes no more than its next stage soon handles: it
/// takes one item at a time while the stage is slow (the stage kept it waiting more than
/// `SLOW`), and batches that double while the stage keeps up (throughput).
fn read_channel(
    ch: &FlowChannel,
    tx: &Sender<Batch>,
    token: &CancelToken,
    watch: Option<&(Arc<super::deadlock::Deadlock>, crate::Span)>,
) {
    const SLOW: std::time::Duration = std::time::Duration::from_millis(2);
    let rx = ch.receiver();
    let mut size = 1;
    let mut waiting = None;
    loop {
        match rx.recv_timeout(std::time::Duration::from_millis(20)) {
            Ok(x) => {
                waiting = None;
                if let Some((d, _)) = watch {
                    d.progressed();
                }
                let mut batch = vec![x];
                while batch.len() < size {
                    match rx.try_recv() {
                        Ok(y) => batch.push(y),
                        Err(_) => break,
                    }
                }
                let t = std::time::Instant::now();
                if send_batch(tx, batch, token).is_err() {
                    return;
                }
                size = if t.elapsed() > SLOW {
                    1
                } else {
                    (size * 2).min(BATCH_SIZE)
                };
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                if token.is_cancelled() {
                    return;
                }
                if let (Some((d, span)), None, false) = (watch, &waiting, ch.is_external()) {
                    waiting = Some(d.wait(
                        *span,
                        "`from` waits for an item of this channel, and nothing sends to it".into(),
                    ));
                }
            }
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Send a batch, giving up when the pipeline is cancelled while waiting.
fn send_batch(tx: &Sender<Batch>, mut batch: Batch, token: &CancelToken) -> Result<(), ()> {
    loop {
        match tx.send_timeout(batch, std::time::Duration::from_millis(20)) {
            Ok(()) => return Ok(()),
            Err(crossbeam_channel::SendTimeoutError::Timeout(b)) => {
                if token.is_cancelled() {
                    return Err(());
                }
                batch = b;
            }
            Err(crossbeam_channel::SendTimeoutError::Disconnected(_)) => return Err(()),
        }
    }
}

/// `into ch`: send every item; the channel closes when its last producer is done.
fn into(
    run: &mut Run,
    name: &crate::ast::Ident,
    st: &Stage,
    rx: Receiver<Batch>,
) -> Result<(), RunError> {
    let ch = run
        .env
        .vars
        .get_value::<Dynamic>(&name.name)
        .and_then(|v| v.try_cast::<FlowChannel>())
        .ok_or_else(|| {
            RunError::new(
                name.span,
                RunErrorKind::Value {
                    message: format!("`{}` is not a channel", name.name),
                },
            )
        })?;
    let in_task = super::exec::in_task_for(&ch);
    let tx = if in_task { ch.sender() } else { ch.register() };
    let Some(tx) = tx else {
        return Err(RunError::new(
            st.span,
            RunErrorKind::Value {
                message: "the channel is closed".into(),
            },
        ));
    };
    let token = run.token.clone();
    // The host's end of a source or sink is outside the script's view: only a sink of the
    // host's with no reader at all is known to wait for nobody.
    let watch = run.env.shared.rt.deadlock.clone();
    let span = st.span;
    let what = if ch.is_external() {
        format!(
            "`into {}` waits for room in the host's sink, which nothing reads: the host reads \
             it with `Sink::iter` from another thread while the script runs, or gives it a \
             capacity that holds every item",
            name.name
        )
    } else {
        "`into` waits for room in this full channel, and nothing reads from it".to_string()
    };
    let env = run.env.clone();
    let meter = stage_meter(run, std::slice::from_ref(st), "flow-stage");
    run.thread(move || {
        let mut waiting = None;
        // Recorded: the wait for room in the script's channel is this stage's wait to send.
        let inbox = super::record::Inbox::new(&rx, meter.as_deref());
        'outer: for batch in inbox {
            for it in batch {
                // A cancelled producer stops at once: what it still holds is dropped, so a
                // reader sees at most what the channel's own buffer already held.
                if token.is_cancelled() {
                    break 'outer;
                }
                let t = meter.as_ref().map(|_| std::time::Instant::now());
                loop {
                    match tx.send_timeout(it.clone(), std::time::Duration::from_millis(20)) {
                        Ok(()) => {
                            if let (Some(m), Some(t)) = (&meter, t) {
                                m.sent(1, t.elapsed());
                            }
                            waiting = None;
                            if let Some(d) = watch.as_ref().filter(|_| !ch.is_external()) {
                                d.progressed();
                            }
                            break;
                        }
                        Err(crossbeam_channel::SendTimeoutError::Timeout(_)) => {
                            if token.is_cancelled() {
                                break 'outer;
                            }
                            let watched = !ch.is_external() || ch.is_unread_sink();
                            if let (Some(d), None, true) = (&watch, &waiting, watched) {
                                waiting = Some(d.wait(span, what.clone()));
                            }
                        }
                        Err(crossbeam_channel::SendTimeoutError::Disconnected(_)) => break 'outer,
                    }
                }
            }
        }
        drop(tx);
        if !in_task {
            ch.unregister();
        }
        meter_end(&env, meter.as_deref());
        Ok(())
    });
    Ok(())
}

/// The batches of `rx` until it closes or the pipeline is cancelled (a stage blocked on a
/// pipe held open by an escaped process must not keep the consumer, and so flow, waiting).
fn batches(rx: Receiver<Batch>, token: CancelToken) -> impl Iterator<Item = Batch> {
    std::iter::from_fn(move || loop {
        match rx.recv_timeout(std::time::Duration::from_millis(50)) {
            Ok(b) => return Some(b),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) if !token.is_cancelled() => {}
            Err(_) => return None,
        }
    })
}

/// Consume the final items on this thread: a reducing sink, printing, a file, or collecting.
fn consume(
    run: &mut Run,
    input: Here<'_>,
    sink: Option<(&Sink, crate::Span)>,
    dest: Dest,
    pl: &Pipeline,
) -> Result<Option<Dynamic>, RunError> {
    if let Some((s, span)) = sink {
        let v = reduce(run, input, s, span)?;
        // A cancelled run's partial value is not the answer: print nothing.
        if run.token.is_cancelled() {
            return Ok(None);
        }
        let print = match dest {
            Dest::Collect => return Ok(Some(v)),
            Dest::Stdout | Dest::Last { print: true } => true,
            Dest::Last { print: false } => false,
        };
        if let Some((mut w, path)) = file_redirect(&run.env, &pl.redirects)? {
            let line = value::to_line(&v);
            if let Err(e) = writeln!(w, "{line}") {
                let failed = Target::File(path).failure(&run.env.shared.rt, &e, pl.span);
                return failed.map_or(Ok(None), Err);
            }
        } else if print {
            crate::runtime::builtins::out_line(&value::to_line(&v));
        }
        return Ok(matches!(dest, Dest::Last { .. }).then_some(v));
    }
    if dest == Dest::Collect && pl.redirects.is_empty() {
        let mut all = vec![];
        for b in input {
            all.extend(b);
        }
        return Ok(Some(Dynamic::from_array(all)));
    }
    let (mut out, target): (Box<dyn Write>, Target) = match file_redirect(&run.env, &pl.redirects)?
    {
        Some((f, path)) => (Box::new(f), Target::File(path)),
        None => (
            super::output::stdout_writer(run.env.shared.rt.output.as_ref()),
            Target::Stdout,
        ),
    };
    let mut buf = Vec::with_capacity(64 * 1024);
    for b in input {
        for it in &b {
            value::write_line(&mut buf, it);
        }
        if let Err(e) = out.write_all(&buf).and_then(|()| out.flush()) {
            run.token.cancel(CancelReason::Internal);
            // A closed stdout ends the run quietly; a full disk fails it.
            return match target.failure(&run.env.shared.rt, &e, pl.span) {
                Some(err) => Err(err),
                None => Ok(None),
            };
        }
        buf.clear();
    }
    Ok(None)
}

fn reduce(
    run: &mut Run,
    input: Here<'_>,
    s: &Sink,
    span: crate::Span,
) -> Result<Dynamic, RunError> {
    let err = |m: String| RunError::new(span, RunErrorKind::Value { message: m });
    Ok(match s {
        Sink::Count => Dynamic::from(input.map(|b| b.len() as i64).sum::<i64>()),
        Sink::CountBy(f) => {
            let f = run.env.compile_callable(f)?;
            stages::count_by::run(&mut run.env.evaluator(), &f, input, span)?
        }
        Sink::Sum => {
            let mut sum = value::Sum::default();
            for b in input {
                for it in &b {
                    sum.add(it).map_err(|m| err(m).with_item(&display(it)))?;
                }
            }
            sum.value()
        }
        Sink::First => {
            let mut input = input;
            let v = input.find_map(|b| b.into_iter().next()).unwrap_or_default();
            // Upstream sees its reader gone and stops.
            drop(input);
            v
        }
        Sink::Last => input
            .filter_map(|b| b.into_iter().last())
            .last()
            .unwrap_or_default(),
        Sink::Collect => Dynamic::from_array(input.flatten().collect()),
        Sink::Text => {
            let lines: Vec<String> = input.flatten().map(|v| value::to_line(&v)).collect();
            Dynamic::from(lines.join("\n"))
        }
        Sink::Reduce { init, f } => {
            let acc = run.env.eval(init)?;
            let f = run.env.compile_callable(f)?;
            run.env.evaluator().fold(&f, acc, input, span)?
        }
    })
}

/// The file of a pipeline-level `> f` / `>> f`.
/// Whether a command's own redirects send its stdout elsewhere (`> f`, `>> f`).
fn redirects_stdout(cmd: &Command) -> bool {
    cmd.redirects
        .iter()
        .any(|r| matches!(r.kind, RedirectKind::Out | RedirectKind::Append))
}

/// The file a pipeline's items or value go to (`> path`), with its name for reports.
fn file_redirect(env: &Env, rs: &[Redirect]) -> Result<Option<(File, String)>, RunError> {
    let mut out = None;
    for r in rs {
        if let Some((f, path)) = open_redirect_named(r, &WordEnv { env, it: None })? {
            out = Some((f, path));
        }
    }
    Ok(out)
}

pub(crate) fn open_redirect(
    r: &Redirect,
    env: &dyn words::Lookup,
) -> Result<Option<File>, RunError> {
    Ok(open_redirect_named(r, env)?.map(|(f, _)| f))
}

/// [`open_redirect`], with the file's name as the script wrote it expanded.
pub(crate) fn open_redirect_named(
    r: &Redirect,
    env: &dyn words::Lookup,
) -> Result<Option<(File, String)>, RunError> {
    let Some(target) = &r.target else {
        return Ok(None);
    };
    let mut names = words::expand_os(target, env)?;
    if names.len() != 1 {
        return Err(RunError::new(
            r.span,
            RunErrorKind::Value {
                message: "a redirect needs exactly one file name".into(),
            },
        ));
    }
    let path = names.remove(0);
    let mut o = OpenOptions::new();
    match r.kind {
        RedirectKind::In => o.read(true),
        RedirectKind::Out | RedirectKind::Err => o.write(true).create(true).truncate(true),
        RedirectKind::Append | RedirectKind::ErrAppend => o.append(true).create(true),
        RedirectKind::ErrToOut => return Ok(None),
    };
    let name = path.to_string_lossy().into_owned();
    match o.open(&path) {
        Ok(f) => Ok(Some((f, name))),
        Err(e) => Err(RunError::new(
            r.span,
            RunErrorKind::Io {
                message: format!("cannot open {name}: {e}"),
            },
        )),
    }
}

/// Expand a command's words into what to run.
pub(crate) fn command_spec(
    cmd: &Command,
    lookup: &dyn words::Lookup,
    span: crate::Span,
) -> Result<Spec, RunError> {
    let (program, args) = if cmd.shell {
        let argv = match cmd.args.first().and_then(|w| w.parts.first()) {
            Some(WordPart::Interp(parts)) => words::sh_argv(parts, lookup, span)?,
            Some(WordPart::Quoted(s)) => vec!["-c".into(), s.clone()],
            _ => vec!["-c".into(), String::new()],
        };
        (
            "/bin/sh".to_string(),
            argv.into_iter().map(Into::into).collect(),
        )
    } else {
        let mut p = words::expand_os(&cmd.program, lookup)?;
        if p.is_empty() {
            return Err(RunError::new(
                span,
                RunErrorKind::Value {
                    message: "empty program name".into(),
                },
            ));
        }
        let program = p.remove(0).into_string().map_err(|p| {
            RunError::new(
                span,
                RunErrorKind::Value {
                    message: format!("program name {p:?} is not valid UTF-8"),
                },
            )
        })?;
        let mut args = p;
        for a in &cmd.args {
            args.extend(words::expand_os(a, lookup)?);
        }
        (program, args)
    };
    let mut env = vec![];
    for (name, w) in &cmd.env {
        env.push((name.name.clone(), words::expand(w, lookup)?.join(" ")));
    }
    Ok(Spec {
        program,
        args,
        env,
        stdin: Stdio::null(),
        stdout: Stdio::null(),
        stderr: ErrTo::Forward,
        span,
        unchecked: cmd.unchecked,
    })
}

/// Start a chain of commands joined by OS pipes.
fn commands<'a>(
    run: &mut Run,
    chain: &[Stage],
    flow: Flow<'_>,
    to_stdout: bool,
    sep: Option<&str>,
) -> Result<Flow<'a>, RunError> {
    let sep = sep.map(str::to_string);
    let env = run.env.clone();
    let lookup = WordEnv {
        env: &env,
        it: None,
    };
    let mut stdin: Stdio = match flow {
        // The host's stdin, unless the host keeps it from its scripts.
        Flow::Start if run.env.shared.rt.sandbox.stdin => Stdio::inherit(),
        Flow::Start => Stdio::null(),
        Flow::Done => Stdio::null(),
        // The plan makes only a sink follow items made here.
        Flow::Here(_) => return Err(no_items(chain[0].span)),
        Flow::Bytes(r) => Stdio::from(r),
        Flow::Items(rx) => {
            let (r, w) = std::io::pipe().map_err(|e| io_err(chain[0].span, &e))?;
            let token = run.token.clone();
            run.thread(move || {
                write_items(w, &rx, &token);
                Ok(())
            });
            Stdio::from(r)
        }
    };
    let mut out_rx = None;
    for (k, st) in chain.iter().enumerate() {
        let StageKind::Command(cmd) = &st.kind else {
            continue;
        };
        let mut spec = command_spec(cmd, &lookup, st.span)?;
        let last = k + 1 == chain.len();
        let mut next_stdin = None;
        // stdout: the next command, flow's stdout, or lines for the item stages after.
        let hook = run.env.shared.rt.output.clone();
        let (stdout, out_clone) = if last && to_stdout && hook.is_none() {
            let fd = std::io::stdout().lock();
            use std::os::fd::AsFd;
            let owned = fd
                .as_fd()
                .try_clone_to_owned()
                .map_err(|e| io_err(st.span, &e))?;
            (Stdio::inherit(), Some(File::from(owned)))
        } else {
            let (r, w) = std::io::pipe().map_err(|e| io_err(st.span, &e))?;
            let wc = w.try_clone().map_err(|e| io_err(st.span, &e))?;
            if let (true, Some(hook)) = (last && to_stdout, hook) {
                // The host captures output: what would go to flow's stdout goes to its hook.
                run.thread(move || {
                    super::output::pump(r, &hook, super::Stream::Stdout);
                    Ok(())
                });
            } else if last {
                let (tx, rx) = bounded(CHANNEL_CAPACITY);
                let (token, sep) = (run.token.clone(), sep.clone());
                run.thread(move || {
                    let _ = read_records(r, sep.as_deref(), &tx, &token);
                    Ok(())
                });
                out_rx = Some(rx);
            } else {
                next_stdin = Some(Stdio::from(r));
            }
            (
                Stdio::from(w),
                Some(File::from(std::os::fd::OwnedFd::from(wc))),
            )
        };
        spec.stdout = stdout;
        spec.stdin = std::mem::replace(&mut stdin, Stdio::null());
        apply_redirects(&mut spec, cmd, &lookup, out_clone)?;
        // Flush what flow printed so far, so output stays in order; a failure is stdout's
        // (a closed reader cancels the run, checked below; a full disk fails it).
        if let Err(e) = std::io::stdout().lock().flush() {
            if let Some(message) = run.env.shared.rt.stdout.write_failed(&e) {
                return Err(RunError::new(st.span, RunErrorKind::Io { message }));
            }
        }
        // Cancelled while setting up: start nothing more.
        if run.token.is_cancelled() {
            return Err(RunError::new(st.span, RunErrorKind::Cancelled));
        }
        let p = Proc::spawn(&run.env.shared.rt, spec)?;
        run.groups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(p.pid);
        // Whether its stdout is flow's own: a SIGPIPE then means flow's reader went away.
        let writes_stdout =
            last && to_stdout && run.env.shared.rt.output.is_none() && !redirects_stdout(cmd);
        run.procs.push((p, last && to_stdout, writes_stdout));
        if let Some(s) = next_stdin {
            stdin = s;
        }
    }
    Ok(match out_rx {
        Some(rx) => Flow::Items(rx),
        None => Flow::Done,
    })
}

/// Apply a command's redirects, in order, to what it will be started with. `out` is a handle
/// on where its stdout goes (for `2>&1`); a `> f` before `2>&1` makes that `f`, as in sh.
pub(crate) fn apply_redirects(
    spec: &mut Spec,
    cmd: &Command,
    lookup: &dyn words::Lookup,
    mut out: Option<File>,
) -> Result<(), RunError> {
    for r in &cmd.redirects {
        let f = open_redirect(r, lookup)?;
        match (r.kind, f) {
            (RedirectKind::In, Some(f)) => spec.stdin = Stdio::from(f),
            (RedirectKind::Out | RedirectKind::Append, Some(f)) => {
                out = Some(f.try_clone().map_err(|e| io_err(r.span, &e))?);
                spec.stdout = Stdio::from(f);
            }
            (RedirectKind::Err | RedirectKind::ErrAppend, Some(f)) => {
                spec.stderr = ErrTo::Stdio(Stdio::from(f));
            }
            (RedirectKind::ErrToOut, _) => {
                if let Some(o) = &out {
                    let c = o.try_clone().map_err(|e| io_err(r.span, &e))?;
                    spec.stderr = ErrTo::Stdio(Stdio::from(c));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

pub(crate) fn io_err(span: crate::Span, e: &std::io::Error) -> RunError {
    // Out of file descriptors for a pipe: the system refused a resource.
    if process::is_refusal(e) {
        return super::threads::refused(span, "a pipe", e);
    }
    RunError::new(
        span,
        RunErrorKind::Io {
            message: e.to_string(),
        },
    )
}

/// Items → a process's stdin, one per line. A closed pipe means the process is done reading.
fn write_items(w: std::io::PipeWriter, rx: &Receiver<Batch>, token: &CancelToken) {
    let mut w = std::io::BufWriter::with_capacity(64 * 1024, w);
    for b in rx {
        if token.is_cancelled() {
            return;
        }
        for it in &b {
            if w.write_all(value::to_line(it).as_bytes())
                .and_then(|()| w.write_all(b"\n"))
                .is_err()
            {
                return;
            }
        }
        if w.flush().is_err() {
            return;
        }
    }
}
