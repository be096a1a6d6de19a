//! How one pipeline runs, decided once: which stages are OS processes joined by pipes, which
//! get a thread, which share one, where a pool's or a command's output goes, and what the
//! calling thread consumes. `flow plan` draws these segments and the runtime executes them
//! (`runtime/pipeline.rs` asks for them and does what they say, nothing of its own).

use crate::ast::{Callable, Pipeline, Pool, PoolSize, PoolWork, Rhai, Sink, Stage, StageKind};
use serde_json::{json, Value};
use std::ops::Range;

/// Element-wise stages of one pipeline that get a thread each; beyond that they are fused,
/// so that a pipeline of 40,000 stages needs a few dozen threads, not 40,000 (two cores
/// beat one at ~50 ns an item, so short pipelines keep a thread per stage).
pub(crate) const STAGE_THREADS: usize = 64;

/// Where the output of a chain of commands, or of a pool's `exec` jobs, goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Out {
    /// Read on a thread and cut into line items for what follows.
    Lines,
    /// Read on a thread and cut at this separator only (the `lines SEP` stage after it is
    /// done by that reader), so a record may hold a newline.
    Records(String),
    /// An OS pipe into the next command: flow copies nothing.
    Pipe,
    /// Straight to flow's stdout (a host's capture, when it has one): nothing is copied.
    Stdout,
    /// Straight into the file of the pipeline's `> f` / `>> f`.
    File,
    /// A pool's `map` results: items.
    Items,
}

impl Out {
    fn name(&self) -> String {
        match self {
            Out::Lines => "lines".into(),
            Out::Records(sep) => format!("records {sep:?}"),
            Out::Pipe => "pipe".into(),
            Out::Stdout => "stdout".into(),
            Out::File => "file".into(),
            Out::Items => "items".into(),
        }
    }
}

/// One part of a running pipeline. Stage numbers index `Pipeline::stages`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    /// `from …`, produced on a thread; `counted`: only counted (`from lines(f) | count`
    /// makes no string of a line). `here`: an in-memory value (a range or array literal)
    /// whose only stages are cheap ones before the sink: the calling thread makes the
    /// items in the sink's own loop, with no thread and no channel at all.
    Source { counted: bool, here: bool },
    /// flow's stdin read on a thread, as lines or (`lines SEP` first, which it does) records.
    Stdin { sep: Option<String> },
    /// Consecutive commands, each an OS process, joined by OS pipes.
    Commands { stages: Range<usize>, out: Out },
    /// One item stage on a thread of its own.
    Thread { stage: usize },
    /// Consecutive element-wise stages sharing one thread and one loop, no channel between;
    /// `here`: that loop is the calling thread's, between a `here` source and the sink.
    Fused { stages: Range<usize>, here: bool },
    /// A pool of workers, and where its jobs' output goes.
    Pool { stage: usize, out: Out },
    /// `into CH`: the items go to a channel.
    Into { stage: usize },
    /// The calling thread consumes the items: a reducing sink (`stage`), or, with none,
    /// printing, the pipeline's `> f`, or collecting into a value.
    Sink { stage: Option<usize> },
}

impl Segment {
    /// The stages it covers (none for a source or a sink with no stage).
    pub(crate) fn stages(&self) -> Range<usize> {
        match self {
            Segment::Source { .. } | Segment::Stdin { .. } | Segment::Sink { stage: None } => 0..0,
            Segment::Commands { stages, .. } | Segment::Fused { stages, .. } => stages.clone(),
            Segment::Thread { stage }
            | Segment::Pool { stage, .. }
            | Segment::Into { stage }
            | Segment::Sink { stage: Some(stage) } => *stage..*stage + 1,
        }
    }

    /// The segment as JSON: what `flow plan --format json` shows and what a run records
    /// (`FLOW_STAGES_STARTED`), so that the two can be compared.
    pub(crate) fn to_json(&self) -> Value {
        let range = |r: &Range<usize>| json!([r.start, r.end]);
        match self {
            Segment::Source { counted, here } => {
                json!({"kind": "source", "counted": counted, "here": here})
            }
            Segment::Stdin { sep } => json!({"kind": "stdin", "sep": sep}),
            Segment::Commands { stages, out } => {
                json!({"kind": "processes", "stages": range(stages), "out": out.name()})
            }
            Segment::Thread { stage } => json!({"kind": "thread", "stages": [stage, stage + 1]}),
            Segment::Fused { stages, here } => {
                json!({"kind": "fused", "stages": range(stages), "here": here})
            }
            Segment::Pool { stage, out } => {
                json!({"kind": "pool", "stages": [stage, stage + 1], "out": out.name()})
            }
            Segment::Into { stage } => json!({"kind": "into", "stages": [stage, stage + 1]}),
            Segment::Sink { stage } => json!({"kind": "sink", "stage": stage}),
        }
    }
}

/// The segments of `pl`. `streams`: the statement's output is printed (or goes to a file)
/// rather than collected into a value (`let x = …`, a task's result).
pub(crate) fn segments(pl: &Pipeline, streams: bool) -> Vec<Segment> {
    let stages = &pl.stages;
    let mut out = vec![];
    // Whether items flow at this point (else: nothing yet, or bytes, or all was written).
    let mut items = false;
    let mut started = false;
    let mut i = 0;
    if pl.source.is_some() {
        let counted =
            matches!(stages.as_slice(), [s] if matches!(s.kind, StageKind::Sink(Sink::Count)));
        out.push(Segment::Source {
            counted,
            here: false,
        });
        items = true;
        started = true;
    } else if let Some(sep) = record_sep(stages.first()) {
        out.push(Segment::Stdin {
            sep: Some(sep.into()),
        });
        items = true;
        started = true;
        i = 1;
    }
    let elementwise = stages.iter().filter(|s| is_elementwise(&s.kind)).count();
    let fuse = elementwise.div_ceil(STAGE_THREADS).max(1);
    let mut sink = None;
    // Before a stage that takes items: flow's stdin, when nothing came before.
    let need_items = |out: &mut Vec<Segment>, items: &mut bool, started: bool| {
        if !*items && !started {
            out.push(Segment::Stdin { sep: None });
            *items = true;
        }
    };
    while i < stages.len() {
        let st = &stages[i];
        let cheap_pair = is_cheap(&st.kind) && stages.get(i + 1).is_some_and(|s| is_cheap(&s.kind));
        let cheap_pool = matches!(&st.kind, StageKind::Pool(p) if cheap_pool_map(p).is_some());
        match &st.kind {
            StageKind::Command(_) => {
                let mut j = i;
                while j < stages.len() && matches!(stages[j].kind, StageKind::Command(_)) {
                    j += 1;
                }
                let sep = record_sep(stages.get(j));
                let o = if let Some(sep) = sep {
                    Out::Records(sep.into())
                } else if j == stages.len() && streams && pl.redirects.is_empty() {
                    Out::Stdout
                } else {
                    Out::Lines
                };
                items = o != Out::Stdout;
                out.push(Segment::Commands {
                    stages: i..j,
                    out: o,
                });
                started = true;
                i = j + usize::from(sep.is_some());
                continue;
            }
            StageKind::Sink(_) => {
                need_items(&mut out, &mut items, started);
                sink = Some(i);
            }
            StageKind::Into(_) => {
                need_items(&mut out, &mut items, started);
                out.push(Segment::Into { stage: i });
                items = false;
            }
            StageKind::Pool(p) if cheap_pool_map(p).is_none() => {
                need_items(&mut out, &mut items, started);
                let next = stages.get(i + 1).map(|s| &s.kind);
                let sep = record_sep(stages.get(i + 1));
                let stage_file = match &p.work {
                    PoolWork::Exec(c) => crate::syntax::stage_redirect::stage_file(c).is_some(),
                    PoolWork::Map(_) | PoolWork::ExecBlock { .. } => false,
                };
                let o = if matches!(p.work, PoolWork::Map(_)) {
                    Out::Items
                } else if stage_file {
                    // A job command's constant `> f` is where the stage's output goes.
                    Out::File
                } else if let Some(sep) = sep {
                    Out::Records(sep.into())
                } else if matches!(next, Some(StageKind::Command(_))) {
                    Out::Pipe
                } else if next.is_none() && (streams || !pl.redirects.is_empty()) {
                    if has_file(pl) {
                        Out::File
                    } else {
                        Out::Stdout
                    }
                } else {
                    Out::Lines
                };
                items = matches!(o, Out::Items | Out::Lines | Out::Records(_));
                out.push(Segment::Pool { stage: i, out: o });
                if sep.is_some() && !matches!(p.work, PoolWork::Map(_)) {
                    i += 1; // the `lines SEP` stage is done by the pool's output
                }
            }
            // Stages that share one thread and one loop: neighbouring cheap ones (handing
            // items between threads would cost more than the stages themselves), or the
            // element-wise stages of a pipeline longer than the thread budget. A pool whose
            // body is cheap runs here too, pool or not: its workers would cost more than
            // the work.
            kind if cheap_pair || cheap_pool || (is_elementwise(kind) && fuse > 1) => {
                let (joins, most): (fn(&StageKind) -> bool, usize) = if cheap_pair || cheap_pool {
                    (is_cheap, STAGE_THREADS)
                } else {
                    (is_elementwise, fuse)
                };
                need_items(&mut out, &mut items, started);
                let mut j = i;
                while j < stages.len() && j - i < most && joins(&stages[j].kind) {
                    j += 1;
                }
                out.push(Segment::Fused {
                    stages: i..j,
                    here: false,
                });
                i = j;
                continue;
            }
            _ => {
                need_items(&mut out, &mut items, started);
                out.push(Segment::Thread { stage: i });
            }
        }
        started = true;
        i += 1;
    }
    if items || (!started && (pl.source.is_some() || !stages.is_empty())) {
        need_items(&mut out, &mut items, started);
        out.push(Segment::Sink { stage: sink });
    }
    in_one_loop(pl, &mut out);
    out
}

/// `from 1..=n | map {cheap} | filter {cheap} | count`: items made in memory (or taken
/// from a variable's value), a few operations each, and consumed by the sink. Handing them
/// between threads would cost more than all the stages together, so the calling thread
/// runs the whole pipeline as one loop: the source and the cheap stages become `here`.
fn in_one_loop(pl: &Pipeline, out: &mut [Segment]) {
    let in_memory = pl.source.as_ref().is_some_and(|s| made_here(&s.expr.code));
    let [Segment::Source { here, .. }, middle @ .., Segment::Sink { .. }] = out else {
        return;
    };
    let cheap = |seg: &Segment| {
        matches!(seg, Segment::Fused { .. } | Segment::Thread { .. })
            && pl.stages[seg.stages()].iter().all(|s| is_cheap(&s.kind))
    };
    if !in_memory || middle.len() > 1 || !middle.iter().all(cheap) {
        return;
    }
    *here = true;
    for seg in middle {
        *seg = Segment::Fused {
            stages: seg.stages(),
            here: true,
        };
    }
}

/// Whether the calling thread can make a `from`'s items as the sink asks for them: a range
/// (`1..=n`, `0..len(xs)`), an array literal (`[1, 2, 3]`), or a variable (`from xs`: an
/// array, a range, or a channel read a batch at a time as the loop needs one, the way its
/// reader thread would). Not a file (`lines(f)`: reading beside the stages is worth a
/// core), nor another expression (a call may take any time).
pub(crate) fn made_here(code: &str) -> bool {
    let code = code.trim();
    let ident = code.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ident {
        return true;
    }
    // Brackets and strings, tracked to find what is at the top level.
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut range = false;
    let mut closes_first = None;
    let mut prev = '\0';
    for (i, c) in code.char_indices() {
        if let Some(q) = quote {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                _ if c == q => quote = None,
                _ => {}
            }
            prev = c;
            continue;
        }
        match c {
            '"' | '`' | '\'' => quote = Some(c),
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth -= 1;
                if depth == 0 && closes_first.is_none() {
                    closes_first = Some(i);
                }
            }
            '.' if prev == '.' && depth == 0 => range = true,
            _ => {}
        }
        prev = c;
    }
    let array = code.starts_with('[') && closes_first == Some(code.len() - 1);
    quote.is_none() && depth == 0 && (range || array)
}

/// Stages that take one item at a time and keep nothing between items: they can share a
/// thread and a loop.
pub(crate) fn is_elementwise(kind: &StageKind) -> bool {
    matches!(
        kind,
        StageKind::Map(_) | StageKind::Filter(_) | StageKind::FlatMap(_) | StageKind::Each(_)
    )
}

/// An element-wise stage whose block is a fast-path expression (`map { it * 2 }`,
/// `filter { it.field(9).parse_int() >= 500 }`): a few operations per item.
pub(crate) fn is_cheap(kind: &StageKind) -> bool {
    match kind {
        StageKind::Map(Callable::Block(r)) | StageKind::Filter(Callable::Block(r)) => {
            crate::script::fastpath::is_cheap(&r.code)
        }
        StageKind::Pool(p) => cheap_pool_map(p).is_some(),
        _ => false,
    }
}

/// The block of `pool N map { cheap }` when nothing but its workers makes it a pool: no
/// retries, time limit, error policy, progress bar, job log or Slurm, and a size known
/// before it runs. Handing each item to a worker and back costs more than such a block
/// (`it * it + 1`), so it runs as a `map` where it stands: the same values, in order.
pub(crate) fn cheap_pool_map(p: &Pool) -> Option<&Rhai> {
    let o = &p.opts;
    let plain = o.chunk.is_none()
        && o.retries.is_none()
        && o.timeout.is_none()
        && !o.skip_errors
        && !o.continue_errors
        && o.halt.is_none()
        && !o.progress
        && o.log.is_none()
        && !o.resume
        && o.slurm.is_none()
        && matches!(p.size, PoolSize::Cpus | PoolSize::Fixed(..));
    match &p.work {
        PoolWork::Map(Callable::Block(r))
            if plain && crate::script::fastpath::is_cheap(&r.code) =>
        {
            Some(r)
        }
        _ => None,
    }
}

/// The separator of a `lines SEP` stage (`None` for any other stage, or plain `lines`).
pub(crate) fn record_sep(st: Option<&Stage>) -> Option<&str> {
    match st.map(|s| &s.kind) {
        Some(StageKind::Lines(Some(sep))) if sep != "\n" => Some(sep),
        _ => None,
    }
}

/// Whether the pipeline has its own file (`> f`, `>> f`): where the output or the value goes.
fn has_file(pl: &Pipeline) -> bool {
    pl.redirects
        .iter()
        .any(|r| r.target.is_some() && r.kind != crate::ast::RedirectKind::ErrToOut)
}
