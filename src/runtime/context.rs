//! What Rhai code running on the current thread belongs to: its cancellation token and
//! deadline. Each runtime thread sets it; `on_progress`, `sleep` and `run` read it.

use super::cancel::CancelToken;
use std::cell::RefCell;
use std::time::Instant;

#[derive(Clone, Default)]
pub(crate) struct ThreadCtx {
    pub(crate) token: Option<CancelToken>,
    pub(crate) deadline: Option<Instant>,
    pub(crate) runtime: Option<std::sync::Arc<super::Runtime>>,
}

thread_local! {
    static CTX: RefCell<ThreadCtx> = RefCell::new(ThreadCtx::default());
}

// Every access to `CTX` is in a function of its own that is never inlined: a task can
// suspend inside `f` of `with_ctx` and resume on another thread, and the compiler takes a
// thread-local's address to be the same for a whole function body. Values are dropped
// after the borrow ends (a drop may run code that reads the context).

/// Run `f` with `ctx` as this thread's context, restoring the previous one after.
pub(crate) fn with_ctx<R>(ctx: ThreadCtx, f: impl FnOnce() -> R) -> R {
    let prev = swap(ctx);
    let r = f();
    drop(swap(prev));
    r
}

#[inline(never)]
fn swap(ctx: ThreadCtx) -> ThreadCtx {
    CTX.with(|c| c.replace(ctx))
}

/// Move this thread's context out (a task suspends), leaving the default.
#[inline(never)]
pub(crate) fn take() -> ThreadCtx {
    CTX.with(RefCell::take)
}

/// Put a context moved out by [`take`] back (a task resumes).
pub(crate) fn put(ctx: ThreadCtx) {
    drop(swap(ctx));
}

/// Whether this thread's context is already `token`'s, with no deadline, in `rt`.
#[inline(never)]
pub(crate) fn is(token: &CancelToken, rt: &std::sync::Arc<super::Runtime>) -> bool {
    CTX.with(|c| {
        let c = c.borrow();
        c.deadline.is_none()
            && c.token.as_ref().is_some_and(|t| t.same(token))
            && c.runtime
                .as_ref()
                .is_some_and(|r| std::sync::Arc::ptr_eq(r, rt))
    })
}

#[inline(never)]
pub(crate) fn current() -> ThreadCtx {
    CTX.with(|c| c.borrow().clone())
}

/// True when the code on this thread must stop now.
#[inline(never)]
pub(crate) fn should_stop() -> bool {
    CTX.with(|c| {
        let c = c.borrow();
        c.token.as_ref().is_some_and(CancelToken::is_cancelled)
            || c.deadline.is_some_and(|d| Instant::now() >= d)
    })
}
