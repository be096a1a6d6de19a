//! Deadlocks the checker can see before anything runs: a channel that is read but that no
//! statement ever sends into, and a channel that the main thread fills with more items than
//! it holds (both literal) before any task reads it. Both are warnings (the run fails with
//! `flow::run::deadlock` when it hangs).

use super::check_error::{CheckError, CheckErrorKind};
use crate::ast::{LetValue, Pipeline, SpawnBody, StageKind, Stmt, StmtKind};
use crate::Span;

/// How a script uses one of its channels.
#[derive(Default)]
struct Uses {
    /// `from ch` readers: where, and whether in a task.
    reads: Vec<(Span, bool)>,
    /// `into ch` writers: where, whether in a task, and how many items, when literal.
    writes: Vec<(Span, bool, Option<usize>)>,
}

/// The warnings for the channels the script makes with `let ch = channel(…)`.
pub(crate) fn check(stmts: &[Stmt]) -> Vec<CheckError> {
    let mut made: Vec<(String, Option<usize>)> = vec![];
    find_channels(stmts, &mut made);
    let mut out = vec![];
    for (ch, capacity) in &made {
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
        // The main thread sends more than `ch` holds with no reader running yet.
        let main_write = u
            .writes
            .iter()
            .find(|w| !w.1 && matches!((w.2, capacity), (Some(n), Some(c)) if n > *c))
            .map(|w| w.0);
        let reader_before = |at: Span| u.reads.iter().any(|r| r.1 && r.0.start < at.start);
        if let Some(w) = main_write {
            if !reader_before(w) {
                out.push(CheckError::new(
                    w,
                    CheckErrorKind::ChannelWait {
                        message: format!(
                            "`into {ch}` sends more items than the channel holds, and nothing \
                             reads it yet: it waits forever"
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

fn find_channels(stmts: &[Stmt], out: &mut Vec<(String, Option<usize>)>) {
    for s in stmts {
        if let StmtKind::Let {
            name,
            value: LetValue::Expr(e),
        } = &s.kind
        {
            if let Some(arg) = e.code.trim().strip_prefix("channel(") {
                let capacity = arg.strip_suffix(')').and_then(|n| n.trim().parse().ok());
                out.push((name.name.clone(), capacity));
            }
        }
    }
}

/// How many items a literal source yields: `[a, b, c]` (no nested brackets) or `a..b` /
/// `a..=b` of integers.
fn literal_len(code: &str) -> Option<usize> {
    let c = code.trim();
    if let Some(inner) = c.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
        if inner.contains(['[', '(', '{', '"', '\'']) {
            return None;
        }
        return Some(inner.split(',').filter(|x| !x.trim().is_empty()).count());
    }
    let (a, b, inclusive) = match c.split_once("..=") {
        Some((a, b)) => (a, b, true),
        None => {
            let (a, b) = c.split_once("..")?;
            (a, b, false)
        }
    };
    let (a, b): (i64, i64) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    let n = b - a + i64::from(inclusive);
    usize::try_from(n.max(0)).ok()
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
    // Items reach `into` unchanged only when it follows the source directly.
    let literal = match (&p.source, p.stages.len()) {
        (Some(src), 1) => literal_len(&src.expr.code),
        _ => None,
    };
    for st in &p.stages {
        if matches!(&st.kind, StageKind::Into(n) if n.name == ch) {
            u.writes.push((st.span, in_task, literal));
        }
    }
}
