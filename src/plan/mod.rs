//! The plan: a graph of stages (OS process, thread, or pool) and their connections.

mod build;
mod pool;
mod render;
mod script;
mod segments;
#[cfg(test)]
mod tests;

use crate::ast::Ast;
use crate::check::CheckError;
use crate::Span;
use build::Builder;
pub(crate) use pool::{OnError, Placement, PoolPlan};
pub use script::{CompileOptions, Diagnostics, Script};
pub(crate) use segments::{cheap_pool_map, segments, Out, Segment};

/// The runtime's channel bounds, shown in the plan.
pub(crate) use crate::limits::{BATCH_SIZE, CHANNEL_CAPACITY};

/// The checked plan of a script: one graph per pipeline, in source order.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub(crate) pipelines: Vec<PlanPipeline>,
    /// What the checker warns about (the script still runs).
    pub(crate) warnings: Vec<CheckError>,
}

/// One pipeline: its nodes in data order and the edges joining them.
#[derive(Debug, Clone)]
pub(crate) struct PlanPipeline {
    pub(crate) span: Span,
    pub(crate) line: usize,
    /// Where it sits when it is not a plain statement (`spawned task`, `each job of …`).
    pub(crate) context: Option<String>,
    pub(crate) nodes: Vec<Node>,
    pub(crate) edges: Vec<Edge>,
    /// How it runs: what the runtime starts, in order.
    pub(crate) segments: Vec<Segment>,
}

/// What a node is, which also says how it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeKind {
    /// `from …`: a thread producing items.
    Source,
    /// An external command: an OS process.
    Process,
    /// An item stage on its own thread.
    Thread,
    /// A pool of worker threads or processes.
    Pool,
    /// Where the output ends up.
    Sink,
}

impl NodeKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            NodeKind::Source => "source",
            NodeKind::Process => "process",
            NodeKind::Thread => "thread",
            NodeKind::Pool => "pool",
            NodeKind::Sink => "sink",
        }
    }
}

/// The size and options of a pool node.
#[derive(Debug, Clone)]
pub(crate) struct PoolInfo {
    /// As written: a number, `cpus`, or the expression text.
    pub(crate) size: String,
    /// `threads` (map) or `processes` (exec).
    pub(crate) workers: &'static str,
    /// `ordered`, `chunk 4`, `progress`, …
    pub(crate) options: Vec<String>,
}

/// A node of a pipeline graph.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// 1-based within its pipeline.
    pub(crate) id: usize,
    pub(crate) kind: NodeKind,
    /// The stage as written (whitespace collapsed, long text shortened).
    pub(crate) label: String,
    /// For a process: the program and arguments as written.
    pub(crate) argv: Vec<String>,
    pub(crate) pool: Option<PoolInfo>,
    /// Where it runs when that is not its kind's own: a thread it shares with its
    /// neighbours, or the reader thread of the command or pool before it.
    pub(crate) runs_on: Option<String>,
    pub(crate) span: Span,
    pub(crate) line: usize,
    pub(crate) col: usize,
}

impl Node {
    /// How the node runs: `process`, `thread`, `4 processes`, `cpus threads`, `sink`.
    pub(crate) fn runs_on(&self) -> String {
        if let Some(r) = &self.runs_on {
            return r.clone();
        }
        match (&self.pool, self.kind) {
            (Some(p), _) => format!("{} {}", p.size, p.workers),
            (None, NodeKind::Source) => "thread".into(),
            (None, k) => k.name().into(),
        }
    }
}

/// How two neighbouring nodes are joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// One OS pipe between two processes; flow copies nothing.
    Pipe,
    /// A bounded channel of batches between threads.
    Channel(usize),
    /// A process's stdout read by a thread and split into line items.
    Lines,
    /// Items written one per line to a process's stdin.
    Write,
    /// The process writes straight to the sink's file descriptor (stdout or a file).
    Fd,
    /// Both stages run on one thread: a function call, no channel.
    Call,
}

impl Via {
    pub(crate) fn name(self) -> String {
        match self {
            Via::Pipe => "pipe".into(),
            Via::Channel(n) => format!("channel({n})"),
            Via::Lines => "lines".into(),
            Via::Write => "write".into(),
            Via::Fd => "fd".into(),
            Via::Call => "call".into(),
        }
    }
}

/// An edge between node ids of one pipeline.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Edge {
    pub(crate) from: usize,
    pub(crate) to: usize,
    pub(crate) via: Via,
}

impl Plan {
    /// The checker's warnings, in source order.
    #[must_use]
    pub fn warnings(&self) -> &[CheckError] {
        &self.warnings
    }

    /// The plan of every pipeline of a checked script (`src` is its text, for labels and
    /// lines), with the checker's warnings.
    pub(crate) fn build(ast: &Ast, src: &str, warnings: Vec<CheckError>) -> Self {
        let mut b = Builder::new(src);
        b.stmts(&ast.stmts);
        Plan {
            pipelines: b.pipelines,
            warnings,
        }
    }

    /// Human-readable text: one block per pipeline, one line per node, then its edges.
    #[must_use]
    pub fn render_text(&self) -> String {
        render::text(self)
    }

    /// Graphviz dot: one cluster per pipeline (`dot -Tsvg` draws it).
    #[must_use]
    pub fn render_dot(&self) -> String {
        render::dot(self)
    }

    /// Pretty JSON: `{"pipelines":[{"line":…,"nodes":[…],"edges":[…]}]}`.
    #[must_use]
    pub fn render_json(&self) -> String {
        render::json(self)
    }
}
