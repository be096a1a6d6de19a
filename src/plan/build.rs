//! Building the plan graph from a checked AST: nodes per stage, edges by how stages meet.

use super::segments::{segments, Out, Segment};
use super::{Edge, Node, NodeKind, PlanPipeline, PoolInfo, PoolPlan, Via, CHANNEL_CAPACITY};
use crate::ast::{
    Command, LetValue, Pipeline, Pool, PoolSize, PoolWork, Redirect, RedirectKind, SpawnBody,
    StageKind, Stmt, StmtKind, Word,
};
use crate::Span;

/// Labels longer than this many chars are shortened with `…`.
const LABEL_MAX: usize = 60;

/// Where a pipeline's output goes when it has no file redirect.
#[derive(Debug, Clone)]
enum Target {
    Stdout,
    Variable(String),
    Task,
    JobOutput,
}

impl Target {
    /// Printed (or written to a file) as it comes, rather than collected into a value.
    fn streams(&self) -> bool {
        matches!(self, Target::Stdout | Target::JobOutput)
    }
}

pub(crate) struct Builder<'s> {
    src: &'s str,
    line_starts: Vec<usize>,
    pub(crate) pipelines: Vec<PlanPipeline>,
}

impl<'s> Builder<'s> {
    pub(crate) fn new(src: &'s str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(src.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Builder {
            src,
            line_starts,
            pipelines: vec![],
        }
    }

    /// 1-based line and column (in chars) of a byte offset.
    fn position(&self, at: usize) -> (usize, usize) {
        let line = self.line_starts.partition_point(|&s| s <= at).max(1);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let col = self
            .src
            .get(start..at)
            .map_or(at.saturating_sub(start), |s| s.chars().count());
        (line, col + 1)
    }

    /// The text of a span, whitespace collapsed and shortened.
    fn label(&self, span: Span) -> String {
        // One pass, no list of words; past the limit only the first chars matter.
        let src = span.text(self.src);
        let mut text = String::with_capacity(src.len().min(4 * LABEL_MAX));
        let mut chars = 0;
        for w in src.split_whitespace() {
            if !text.is_empty() {
                text.push(' ');
                chars += 1;
            }
            text.push_str(w);
            chars += w.chars().count();
            if chars > LABEL_MAX {
                break;
            }
        }
        if chars <= LABEL_MAX {
            text
        } else {
            let mut t: String = text.chars().take(LABEL_MAX - 1).collect();
            t.push('…');
            t
        }
    }

    /// The label of Rhai text, with the braces around it when it was a `{ … }` block.
    fn rhai_label(&self, span: Span) -> String {
        let before = self.src.get(..span.start).unwrap_or("").trim_end();
        let after = self.src.get(span.end..).unwrap_or("").trim_start();
        if before.ends_with('{') && after.starts_with('}') {
            let start = before.len() - 1;
            let end = self.src.len() - after.len() + 1;
            self.label(Span::new(start, end))
        } else {
            self.label(span)
        }
    }

    /// The pipelines of `stmts`; the last statement's output goes to `tail` (the others
    /// print), as the runtime runs them.
    pub(crate) fn stmts(&mut self, stmts: &[Stmt]) {
        self.block(stmts, &Target::Stdout);
    }

    fn block(&mut self, stmts: &[Stmt], tail: &Target) {
        for (i, s) in stmts.iter().enumerate() {
            let dest = if i + 1 == stmts.len() {
                tail
            } else {
                &Target::Stdout
            };
            match &s.kind {
                StmtKind::Let { name, value } => match value {
                    LetValue::Pipeline(p) => {
                        self.pipeline(p, &Target::Variable(name.name.clone()), None);
                    }
                    LetValue::Spawn(sp) => self.spawn(&sp.body, sp.daemon),
                    LetValue::Expr(_) | LetValue::Join(_) => {}
                },
                StmtKind::Spawn(sp) => self.spawn(&sp.body, sp.daemon),
                StmtKind::OnInterrupt { body, .. } | StmtKind::For { body, .. } => {
                    self.block(body, &Target::Stdout);
                }
                StmtKind::If {
                    then, otherwise, ..
                } => {
                    self.block(then, dest);
                    self.block(otherwise.as_deref().unwrap_or(&[]), dest);
                }
                StmtKind::Pipeline(p) => self.pipeline(p, dest, None),
                StmtKind::Select { .. } => s
                    .kind
                    .nested()
                    .into_iter()
                    .for_each(|b| self.block(b, dest)),
                StmtKind::IfCommand { command, .. } => {
                    self.pipeline(command, &Target::Stdout, None);
                    s.kind
                        .nested()
                        .into_iter()
                        .for_each(|b| self.block(b, dest));
                }
                StmtKind::Try {
                    body,
                    handler,
                    finally,
                    ..
                } => {
                    self.block(body, dest);
                    self.block(handler, dest);
                    // A `finally` block's value is thrown away: its output is printed.
                    self.block(finally.as_deref().unwrap_or(&[]), &Target::Stdout);
                }
                StmtKind::Fn { .. }
                | StmtKind::Throw(_)
                | StmtKind::Assign { .. }
                | StmtKind::Rhai(_)
                | StmtKind::Join(_)
                | StmtKind::Cancel(_) => {}
            }
        }
    }

    fn spawn(&mut self, body: &SpawnBody, daemon: bool) {
        match body {
            // The block's last statement is the task's value.
            SpawnBody::Block(b) => self.block(b, &Target::Task),
            SpawnBody::Pipeline(p) => {
                let ctx = if daemon {
                    "daemon task"
                } else {
                    "spawned task"
                };
                self.pipeline(p, &Target::Task, Some(ctx.into()));
            }
        }
    }

    fn node(&self, kind: NodeKind, label: String, span: Span) -> Node {
        let span = crate::check::trim(span, self.src);
        let (line, col) = self.position(span.start);
        Node {
            id: 0,
            kind,
            label,
            argv: vec![],
            pool: None,
            runs_on: None,
            span,
            line,
            col,
        }
    }

    fn pipeline(&mut self, p: &Pipeline, target: &Target, context: Option<String>) {
        let index = self.pipelines.len();
        let (line, _) = self.position(p.span.start);
        let segments = segments(p, target.streams());
        let mut nodes = vec![];
        let mut nested = vec![];
        // The whole pipeline is one loop on the calling thread (items made in memory, cheap
        // stages, the sink).
        let one_loop = matches!(segments.first(), Some(Segment::Source { here: true, .. }));
        if let Some(s) = &p.source {
            let mut node = self.node(NodeKind::Source, self.label(s.span), s.span);
            if one_loop {
                node.runs_on = Some("the calling thread".into());
            }
            nodes.push(node);
        } else if let Some(Segment::Stdin { sep }) = segments.first() {
            // Nothing before the first item stage: it reads flow's stdin.
            let label = match sep {
                Some(sep) => format!("stdin (records ending {sep:?})"),
                None => "stdin".to_string(),
            };
            let at = Span::new(p.span.start, p.span.start);
            nodes.push(self.node(NodeKind::Source, label, at));
        }
        // Which stage a reader thread cuts (`lines SEP` after a command or a pool), and
        // which stages share a thread.
        let mut cut_by_reader = vec![];
        let mut shared = vec![];
        for seg in &segments {
            match seg {
                Segment::Commands {
                    stages,
                    out: Out::Records(_),
                } => cut_by_reader.push(stages.end),
                Segment::Pool {
                    stage,
                    out: Out::Records(_),
                } => cut_by_reader.push(stage + 1),
                Segment::Stdin { sep: Some(_) } => cut_by_reader.push(0),
                Segment::Fused { stages, here } => shared.push((stages.clone(), *here)),
                _ => {}
            }
        }
        let mut sink = None;
        let mut thread_of = vec![];
        for (k, stage) in p.stages.iter().enumerate() {
            let mut node = match &stage.kind {
                StageKind::Command(c) => self.process(c, stage.span),
                StageKind::Pool(pool) => {
                    if let PoolWork::ExecBlock { stmts, .. } = &pool.work {
                        for s in stmts {
                            if let StmtKind::Pipeline(inner) = &s.kind {
                                nested.push((inner, nodes.len() + 1));
                            }
                        }
                    }
                    self.pool(pool, stage.span)
                }
                StageKind::Into(ch) => {
                    let label = format!("channel {}", ch.name);
                    sink = Some(self.node(NodeKind::Sink, label, stage.span));
                    break;
                }
                _ => self.node(NodeKind::Thread, self.label(stage.span), stage.span),
            };
            if matches!(stage.kind, StageKind::Sink(_)) {
                node.runs_on = Some("the calling thread".into());
            }
            if cut_by_reader.contains(&k) {
                node.runs_on = Some("the reader's thread".into());
            }
            let group = shared.iter().position(|(r, _)| r.contains(&k));
            if let Some(g) = group {
                let (r, here) = &shared[g];
                let mut on = if *here {
                    "the calling thread".to_string()
                } else if r.len() == 1 {
                    "thread".to_string()
                } else {
                    format!("thread shared by stages {}", range_text(r))
                };
                if matches!(stage.kind, StageKind::Pool(_)) {
                    on.push_str(", as a map: no workers (the block costs less than a hand-off)");
                }
                node.runs_on = Some(on);
            }
            thread_of.push(group);
            nodes.push(node);
        }
        // A process or pool at the end writes straight to stdout or the file: no thread
        // copies (what the segments decided).
        let file = file_redirect(p);
        let fd_sink = sink.is_none()
            && match segments.last() {
                Some(Segment::Commands { out, .. } | Segment::Pool { out, .. }) => {
                    matches!(out, Out::Stdout | Out::File)
                }
                _ => false,
            };
        let fd_sink = fd_sink
            || (sink.is_none()
                && file.is_some()
                && matches!(
                    p.stages.last().map(|s| &s.kind),
                    Some(StageKind::Command(_))
                ));
        let sink = sink.unwrap_or_else(|| self.sink(p, file, nodes.last(), target));
        nodes.push(sink);
        for (i, n) in nodes.iter_mut().enumerate() {
            n.id = i + 1;
        }
        // Stage k's node index: after the source node, if any.
        let first_stage = usize::from(
            p.source.is_some() || matches!(segments.first(), Some(Segment::Stdin { .. })),
        );
        let edges = nodes
            .windows(2)
            .enumerate()
            .map(|(w_i, w)| {
                let (a, b) = (
                    w_i.checked_sub(first_stage),
                    (w_i + 1).checked_sub(first_stage),
                );
                let same_thread = matches!(
                    (a.and_then(|a| thread_of.get(a)), b.and_then(|b| thread_of.get(b))),
                    (Some(Some(x)), Some(Some(y))) if x == y
                );
                // A reducing sink runs on the calling thread, which prints its value.
                let reduced = a.and_then(|a| p.stages.get(a)).is_some_and(|st| {
                    matches!(st.kind, StageKind::Sink(_)) && w[1].kind == NodeKind::Sink
                });
                let same_thread = same_thread || reduced || one_loop;
                Edge {
                    from: w[0].id,
                    to: w[1].id,
                    via: if same_thread {
                        Via::Call
                    } else {
                        via(w[0].kind, w[1].kind, fd_sink)
                    },
                }
            })
            .collect();
        self.pipelines.push(PlanPipeline {
            span: p.span,
            line,
            context,
            nodes,
            edges,
            segments,
        });
        for (inner, node) in nested {
            let ctx = format!("each job of pipeline {} node [{node}]", index + 1);
            self.pipeline(inner, &Target::JobOutput, Some(ctx));
        }
    }

    fn process(&self, c: &Command, span: Span) -> Node {
        let mut n = self.node(NodeKind::Process, self.label(span), span);
        n.argv = if c.shell {
            let script = c.args.iter().map(|a| a.span.text(self.src).to_string());
            ["/bin/sh".to_string(), "-c".to_string()]
                .into_iter()
                .chain(script)
                .collect()
        } else {
            std::iter::once(&c.program)
                .chain(&c.args)
                .map(|w| w.span.text(self.src).to_string())
                .collect()
        };
        n
    }

    fn pool(&self, pool: &Pool, span: Span) -> Node {
        let plan = PoolPlan::new(pool, span);
        let size = match &plan.size {
            PoolSize::Cpus => "cpus".to_string(),
            PoolSize::Fixed(n, _) => n.to_string(),
            PoolSize::Expr(r) => self.rhai_label(r.span),
        };
        let work = match &plan.work {
            PoolWork::Map(f) => format!("map {}", self.rhai_label(f.span())),
            PoolWork::Exec(c) => format!("exec {}", self.label(c.text_span())),
            PoolWork::ExecBlock { span, .. } => format!("exec {}", self.label(*span)),
        };
        let mut n = self.node(NodeKind::Pool, format!("pool {size} {work}"), span);
        n.pool = Some(PoolInfo {
            size,
            workers: plan.workers(),
            options: plan.options(|s| self.rhai_label(s)),
        });
        n
    }

    /// The final node: a file redirect, else where the statement sends the output.
    fn sink(
        &self,
        p: &Pipeline,
        file: Option<&Redirect>,
        last: Option<&Node>,
        target: &Target,
    ) -> Node {
        if let Some(r) = file {
            let name = r
                .target
                .as_ref()
                .map_or(String::new(), |w: &Word| self.label(w.span));
            let append = if r.kind == RedirectKind::Append {
                " (append)"
            } else {
                ""
            };
            return self.node(NodeKind::Sink, format!("file {name}{append}"), r.span);
        }
        let label = match target {
            Target::Stdout => "stdout".to_string(),
            Target::Variable(v) => format!("variable {v}"),
            Target::Task => "task value".to_string(),
            Target::JobOutput => "job output".to_string(),
        };
        let at = last.map_or(p.span, |n| Span::new(n.span.end, n.span.end));
        self.node(NodeKind::Sink, label, at)
    }
}

/// The last `>`/`>>` of the pipeline, else of its last command: where its output goes.
fn file_redirect(p: &Pipeline) -> Option<&Redirect> {
    let out = |rs: &'_ [Redirect]| -> Option<usize> {
        rs.iter()
            .rposition(|r| matches!(r.kind, RedirectKind::Out | RedirectKind::Append))
    };
    if let Some(i) = out(&p.redirects) {
        return p.redirects.get(i);
    }
    match p.stages.last().map(|s| &s.kind) {
        Some(StageKind::Command(c)) => out(&c.redirects).and_then(|i| c.redirects.get(i)),
        _ => None,
    }
}

/// How a node of kind `a` feeds one of kind `b`; `fd_sink`: the sink is stdout or a file.
fn via(a: NodeKind, b: NodeKind, fd_sink: bool) -> Via {
    match (a, b) {
        (NodeKind::Process, NodeKind::Process) => Via::Pipe,
        (NodeKind::Process | NodeKind::Pool, NodeKind::Sink) if fd_sink => Via::Fd,
        (NodeKind::Process, _) => Via::Lines,
        (_, NodeKind::Process) => Via::Write,
        _ => Via::Channel(CHANNEL_CAPACITY),
    }
}

/// `3-5` for stages 3 to 5 (1-based, as the nodes are numbered after a source).
fn range_text(r: &std::ops::Range<usize>) -> String {
    format!("{}-{}", r.start + 1, r.end)
}
