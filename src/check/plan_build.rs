//! Building the plan graph from a checked AST: nodes per stage, edges by how stages meet.

use super::plan::{Edge, Node, NodeKind, PlanPipeline, PoolInfo, Via, CHANNEL_CAPACITY};
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

    pub(crate) fn stmts(&mut self, stmts: &[Stmt]) {
        for s in stmts {
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
                    self.stmts(body);
                }
                StmtKind::If {
                    then, otherwise, ..
                } => {
                    self.stmts(then);
                    self.stmts(otherwise.as_deref().unwrap_or(&[]));
                }
                StmtKind::Pipeline(p) => self.pipeline(p, &Target::Stdout, None),
                StmtKind::IfCommand { command, .. } => {
                    self.pipeline(command, &Target::Stdout, None);
                    s.kind.nested().into_iter().for_each(|b| self.stmts(b));
                }
                StmtKind::Try { .. } => s.kind.nested().into_iter().for_each(|b| self.stmts(b)),
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
            SpawnBody::Block(b) => self.stmts(b),
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
        let span = super::checker::trim(span, self.src);
        let (line, col) = self.position(span.start);
        Node {
            id: 0,
            kind,
            label,
            argv: vec![],
            pool: None,
            span,
            line,
            col,
        }
    }

    fn pipeline(&mut self, p: &Pipeline, target: &Target, context: Option<String>) {
        let index = self.pipelines.len();
        let (line, _) = self.position(p.span.start);
        let mut nodes = vec![];
        let mut nested = vec![];
        if let Some(s) = &p.source {
            nodes.push(self.node(NodeKind::Source, self.label(s.span), s.span));
        }
        let mut sink = None;
        for stage in &p.stages {
            let node = match &stage.kind {
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
            nodes.push(node);
        }
        // A process at the end writes straight to stdout or the file: no thread copies.
        let file = file_redirect(p);
        let fd_sink = sink.is_none() && (file.is_some() || matches!(target, Target::Stdout));
        let sink = sink.unwrap_or_else(|| self.sink(p, file, nodes.last(), target));
        nodes.push(sink);
        for (i, n) in nodes.iter_mut().enumerate() {
            n.id = i + 1;
        }
        let edges = nodes
            .windows(2)
            .map(|w| Edge {
                from: w[0].id,
                to: w[1].id,
                via: via(w[0].kind, w[1].kind, fd_sink),
            })
            .collect();
        self.pipelines.push(PlanPipeline {
            span: p.span,
            line,
            context,
            nodes,
            edges,
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
        let size = match &pool.size {
            PoolSize::Cpus => "cpus".to_string(),
            PoolSize::Fixed(n, _) => n.to_string(),
            PoolSize::Expr(r) => self.rhai_label(r.span),
        };
        let (work, workers) = match &pool.work {
            PoolWork::Map(f) => (format!("map {}", self.rhai_label(f.span())), "threads"),
            PoolWork::Exec(c) => (format!("exec {}", self.label(command_span(c))), "processes"),
            PoolWork::ExecBlock { span, .. } => (format!("exec {}", self.label(*span)), "jobs"),
        };
        let o = &pool.opts;
        let mut options = vec![if o.unordered { "unordered" } else { "ordered" }.to_string()];
        let mut add = |name: &str, text: Option<String>| {
            if let Some(t) = text {
                options.push(format!("{name} {t}"));
            }
        };
        add("chunk", o.chunk.as_ref().map(|a| self.rhai_label(a.span())));
        add(
            "retries",
            o.retries.as_ref().map(|a| self.rhai_label(a.span())),
        );
        add("timeout", o.timeout.map(|d| format!("{d:?}")));
        add(
            "on_error",
            (o.skip_errors || o.continue_errors)
                .then(|| if o.skip_errors { "skip" } else { "continue" }.to_string()),
        );
        add("log", o.log.as_ref().map(|w| self.label(w.span)));
        let slurm = o.slurm.as_ref().map(|s| {
            let kv: Vec<String> = s
                .iter()
                .map(|(k, w)| format!("{k} {}", self.label(w.span)))
                .collect();
            format!("slurm {}", kv.join(" ")).trim_end().to_string()
        });
        add("on", slurm);
        if o.progress {
            options.push("progress".into());
        }
        if o.resume {
            options.push("resume".into());
        }
        let mut n = self.node(NodeKind::Pool, format!("pool {size} {work}"), span);
        n.pool = Some(PoolInfo {
            size,
            workers,
            options,
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

/// The text of a command: from its first env assignment or program to its last word.
fn command_span(c: &Command) -> Span {
    let start = c
        .env
        .first()
        .map_or(c.program.span.start, |(k, _)| k.span.start);
    let end = c
        .args
        .iter()
        .map(|a| a.span.end)
        .chain(c.redirects.iter().map(|r| r.span.end))
        .fold(c.program.span.end, usize::max);
    Span::new(start, end)
}

/// How a node of kind `a` feeds one of kind `b`; `fd_sink`: the sink is stdout or a file.
fn via(a: NodeKind, b: NodeKind, fd_sink: bool) -> Via {
    match (a, b) {
        (NodeKind::Process, NodeKind::Process) => Via::Pipe,
        (NodeKind::Process, NodeKind::Sink) if fd_sink => Via::Fd,
        (NodeKind::Process, _) => Via::Lines,
        (_, NodeKind::Process) => Via::Write,
        _ => Via::Channel(CHANNEL_CAPACITY),
    }
}
