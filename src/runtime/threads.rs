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
    std::thread::Builder::new()
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
