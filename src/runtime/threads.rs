//! Starting the runtime's own threads. A thread the system refuses (`ulimit -u`,
//! `threads-max`, `vm.max_map_count`) is `flow::run::resources` naming what it was for —
//! never a panic, and never a stage left half started.

use super::run_error::{RunError, RunErrorKind};
use crate::Span;
use std::thread::JoinHandle;

/// Start `f` on a thread of its own; `what` says what it is for ("pool worker 3 of 8").
pub(crate) fn start<T: Send + 'static>(
    what: &str,
    span: Span,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<JoinHandle<T>, RunError> {
    // `flow-` and the first word of what it is for (`flow-pool's`…): what `top -H`, a
    // debugger and a panic message show.
    let word: String = what
        .split_whitespace()
        .find(|w| !matches!(*w, "the" | "a" | "an"))
        .unwrap_or("thread")
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-')
        .take(10)
        .collect();
    std::thread::Builder::new()
        .name(format!("flow-{word}"))
        .spawn(f)
        .map_err(|e| refused(span, &format!("a thread for {what}"), &e))
}

/// The error for a resource the system refused: `what` ("a thread for the pool's intake",
/// "a process for `sleep`") and the system's reason.
pub(crate) fn refused(span: Span, what: &str, e: &std::io::Error) -> RunError {
    RunError::new(
        span,
        RunErrorKind::Resources {
            message: format!("the system refused {what}: {e}"),
        },
    )
}
