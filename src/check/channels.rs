//! Deadlocks the checker can see before anything runs: a channel that is read but that no
//! statement ever sends into, and a channel filled on the main thread before any task reads
//! it. Both are warnings (the run would fail with `flow::run::deadlock` when it hangs).

use super::check_error::{CheckError, CheckErrorKind};
use crate::ast::{LetValue, Pipeline, SpawnBody, StageKind, Stmt, StmtKind};
use crate::Span;

/// How a script uses one of its channels.
#[derive(Default)]
struct Uses {
    /// `from ch` readers: where, and whether in a task.
    reads: Vec<(Span, bool)>,
    /// `into ch` writers: where, and whether in a task.
    writes: Vec<(Span, bool)>,
}

/// The warnings for the channels the script makes with `let ch = channel(…)`.
pub(crate) fn check(stmts: &[Stmt]) -> Vec<CheckError> {
    let mut made: Vec<String> = vec![];
    find_channels(stmts, &mut made);
    let mut out = vec![];
    for ch in &made {
        let mut u = Uses::default();
        uses(stmts, ch, false, &mut u);
        if u.writes.is_empty() {
            for (span, _) in &u.reads {
                out.push(CheckError::new(
                    *span,
                    CheckErrorKind::ChannelWait {
                        message: format!("`from {ch}` waits forever: nothing sends into `{ch}`"),
                        help: format!(
                            "send into it from a task running at the same time: \
                             `let p = spawn {{ … | into {ch} }}`"
                        ),
                    },
                ));
            }
        }
        // The main thread fills `ch` with no reader running yet: a read comes only later.
        let main_write = u.writes.iter().find(|w| !w.1).map(|w| w.0);
        let reader_before = |at: Span| u.reads.iter().any(|r| r.1 && r.0.start < at.start);
        if let Some(w) = main_write {
            if !reader_before(w) && u.reads.iter().any(|r| r.0.start > w.start) {
                out.push(CheckError::new(
                    w,
                    CheckErrorKind::ChannelWait {
                        message: format!(
                            "`into {ch}` fills the channel before anything reads it: past its \
                             capacity it waits forever"
                        ),
                        help: format!(
                            "run one side as a task: `let p = spawn {{ … | into {ch} }}`, then \
                             `from {ch} | …`"
                        ),
                    },
                ));
            }
        }
    }
    out
}

fn find_channels(stmts: &[Stmt], out: &mut Vec<String>) {
    for s in stmts {
        if let StmtKind::Let {
            name,
            value: LetValue::Expr(e),
        } = &s.kind
        {
            if e.code.trim_start().starts_with("channel(") {
                out.push(name.name.clone());
            }
        }
    }
}

fn uses(stmts: &[Stmt], ch: &str, in_task: bool, u: &mut Uses) {
    for s in stmts {
        match &s.kind {
            StmtKind::Pipeline(p)
            | StmtKind::Let {
                value: LetValue::Pipeline(p),
                ..
            } => pipeline(p, ch, in_task, u),
            StmtKind::Let {
                value: LetValue::Spawn(sp),
                ..
            }
            | StmtKind::Spawn(sp) => match &sp.body {
                SpawnBody::Block(b) => uses(b, ch, true, u),
                SpawnBody::Pipeline(p) => pipeline(p, ch, true, u),
            },
            StmtKind::If {
                then, otherwise, ..
            } => {
                uses(then, ch, in_task, u);
                if let Some(o) = otherwise {
                    uses(o, ch, in_task, u);
                }
            }
            StmtKind::For { body, .. } | StmtKind::OnInterrupt { body, .. } => {
                uses(body, ch, in_task, u);
            }
            k => k.nested().into_iter().for_each(|b| uses(b, ch, in_task, u)),
        }
    }
}

fn pipeline(p: &Pipeline, ch: &str, in_task: bool, u: &mut Uses) {
    if let Some(src) = &p.source {
        if src.expr.code.trim() == ch {
            u.reads.push((src.span, in_task));
        }
    }
    for st in &p.stages {
        if matches!(&st.kind, StageKind::Into(n) if n.name == ch) {
            u.writes.push((st.span, in_task));
        }
    }
}
