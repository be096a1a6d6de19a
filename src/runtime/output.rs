//! Where a run's output goes: flow's own stdout/stderr, or the host's output hook
//! (`Engine::on_output`). Without a hook nothing changes: commands inherit flow's stdout and
//! printing writes to it directly. With one, every byte the run would have written to
//! stdout or stderr — `print`, `eprint`, printed items and values, command stdout and
//! stderr, pool job output, warnings — reaches the hook instead, one call at a time.

use super::cancel::{CancelReason, CancelToken};
use super::run_error::{RunError, RunErrorKind};
use crate::Span;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Which of the script's output streams bytes were written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// Standard output: `print`, printed items and sink values, commands' stdout.
    Stdout,
    /// Standard error: `eprint`, commands' stderr, warnings.
    Stderr,
}

/// A host's output hook (see `Engine::on_output`). Calls are serialized by the mutex: one
/// write at a time, each a whole line for line-wise output (`print`, items, stderr lines; a
/// stderr line longer than 64 KiB comes in pieces of at most that), a chunk as read for a
/// command's stdout.
pub type OutputHook = Arc<Mutex<dyn FnMut(Stream, &[u8]) + Send>>;
type Hook = OutputHook;

/// Hand `bytes` to the hook.
pub(crate) fn call(hook: &Hook, stream: Stream, bytes: &[u8]) {
    let mut f = hook.lock().unwrap_or_else(|e| e.into_inner());
    // A panicking hook must not take the run down with it (nor poison later output).
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(stream, bytes)));
}

/// Write `bytes` to `stream`: the hook when there is one, else flow's own stdout/stderr
/// (one locked write, so concurrent lines never mix).
pub(crate) fn write(hook: Option<&Hook>, stream: Stream, bytes: &[u8]) -> io::Result<()> {
    match (hook, stream) {
        (Some(h), s) => {
            call(h, s, bytes);
            Ok(())
        }
        (None, Stream::Stdout) => {
            let mut o = io::stdout().lock();
            o.write_all(bytes)?;
            o.flush()
        }
        (None, Stream::Stderr) => io::stderr().lock().write_all(bytes),
    }
}

/// A `Write` into one stream of the hook.
pub(crate) struct HookWriter {
    pub(crate) hook: Hook,
    pub(crate) stream: Stream,
}

impl Write for HookWriter {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        call(&self.hook, self.stream, b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The run's stdout as a writer: the hook's, or flow's own (not `stdout().lock()`: stages
/// that `print` must be able to take the lock between writes).
pub(crate) fn stdout_writer(hook: Option<&Hook>) -> Box<dyn Write + Send> {
    match hook {
        Some(h) => Box::new(HookWriter {
            hook: h.clone(),
            stream: Stream::Stdout,
        }),
        None => Box::new(io::stdout()),
    }
}

/// Copy a command's stdout (the read end of its pipe) to the hook until it closes.
pub(crate) fn pump(mut r: impl io::Read, hook: &Hook, stream: Stream) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => call(hook, stream, &buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// What became of the run's stdout. One rule for every form of output (`print`, printed
/// items and values, a command writing to flow's stdout, pool output): a closed reader
/// (`flow … | head -1`) stops all the run's work at once and the run ends quietly with
/// exit 0; any other failed write (`No space left on device`) stops all the work too and
/// fails the run with `flow::run::io`.
#[derive(Default)]
pub(crate) struct StdoutState {
    /// The token of the whole run (or of the REPL's entry): what a closed stdout cancels.
    root: Mutex<Option<CancelToken>>,
    failed: AtomicBool,
    /// The first failed write's message.
    failure: Mutex<Option<String>>,
}

impl StdoutState {
    /// Cancel `root` when stdout closes or fails.
    pub(crate) fn set_root(&self, root: CancelToken) {
        *self.root.lock().unwrap_or_else(|e| e.into_inner()) = Some(root);
    }

    fn cancel_root(&self, reason: CancelReason) {
        if let Some(t) = self.root.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            t.cancel(reason);
        }
    }

    /// A write to stdout failed with `e`: a closed reader stops the run quietly (`None`);
    /// anything else stops it with the error returned (also kept for [`Self::failure`]).
    pub(crate) fn write_failed(&self, e: &io::Error) -> Option<String> {
        if e.kind() == io::ErrorKind::BrokenPipe {
            self.cancel_root(CancelReason::StdoutClosed);
            return None;
        }
        let message = format!("cannot write to stdout: {e}");
        {
            let mut f = self.failure.lock().unwrap_or_else(|e| e.into_inner());
            if f.is_none() {
                *f = Some(message.clone());
            }
        }
        self.failed.store(true, Ordering::SeqCst);
        self.cancel_root(CancelReason::Internal);
        Some(message)
    }

    /// A command whose stdout was flow's died of SIGPIPE: its reader went away.
    pub(crate) fn reader_gone(&self) {
        let _ = self.write_failed(&io::Error::from(io::ErrorKind::BrokenPipe));
    }

    /// The first failed write's message, if a write to stdout failed (one atomic load
    /// when none did: the executor asks after every statement).
    pub(crate) fn failure(&self) -> Option<String> {
        if !self.failed.load(Ordering::Relaxed) {
            return None;
        }
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// What a statement at `span` that ended with `r` ends with once stdout failed: the
    /// failure at that statement, in place of its value or of being cancelled by it.
    pub(crate) fn statement_result<T>(
        &self,
        span: Span,
        r: Result<T, RunError>,
    ) -> Result<T, RunError> {
        match (self.failure(), r) {
            (Some(message), Ok(_)) => Err(RunError::new(span, RunErrorKind::Io { message })),
            (Some(message), Err(e)) if matches!(e.kind, RunErrorKind::Cancelled) => {
                Err(RunError::new(span, RunErrorKind::Io { message }))
            }
            (_, r) => r,
        }
    }
}

/// Where a stage writes bytes, named for the report when a write fails.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    /// flow's own stdout (or the host's output hook, which never fails).
    Stdout,
    /// A file the script named (`> path`, `>> path`).
    File(String),
    /// A pipe into the next command: a closed reader means that command stopped reading.
    Pipe,
}

impl Target {
    /// What a failed write of the stage at `span` means: `None` when the reader went away
    /// (stop quietly: `yes | head -1`), else the run error naming where and why.
    pub(crate) fn failure(
        &self,
        rt: &super::Runtime,
        e: &io::Error,
        span: Span,
    ) -> Option<RunError> {
        let message = match self {
            Target::Stdout => rt.stdout.write_failed(e)?,
            Target::Pipe if e.kind() == io::ErrorKind::BrokenPipe => return None,
            Target::Pipe => format!("cannot write to the next command: {e}"),
            Target::File(path) => format!("cannot write {path}: {e}"),
        };
        Some(RunError::new(span, RunErrorKind::Io { message }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_hook_does_not_poison_later_output() {
        let seen: Arc<Mutex<Vec<u8>>> = Arc::default();
        let s = seen.clone();
        let hook: Hook = Arc::new(Mutex::new(move |_: Stream, b: &[u8]| {
            assert!(b != b"boom", "host bug");
            s.lock().unwrap().extend_from_slice(b);
        }));
        call(&hook, Stream::Stdout, b"boom");
        call(&hook, Stream::Stdout, b"ok");
        assert_eq!(&*seen.lock().unwrap(), b"ok");
    }

    #[test]
    fn a_closed_stdout_cancels_the_run_quietly_and_a_full_one_fails_it() {
        let (closed, full) = (StdoutState::default(), StdoutState::default());
        let (t1, t2) = (CancelToken::new(), CancelToken::new());
        closed.set_root(t1.clone());
        full.set_root(t2.clone());
        assert_eq!(
            closed.write_failed(&io::Error::from(io::ErrorKind::BrokenPipe)),
            None
        );
        assert_eq!(t1.reason(), Some(CancelReason::StdoutClosed));
        assert!(closed.failure().is_none());
        let enospc = io::Error::from_raw_os_error(libc::ENOSPC);
        let m = full.write_failed(&enospc).expect("an error");
        assert!(m.contains("No space left on device"), "{m}");
        assert_eq!(t2.reason(), Some(CancelReason::Internal));
        let r: Result<(), RunError> = full.statement_result(Span::default(), Ok(()));
        assert!(matches!(
            r,
            Err(RunError {
                kind: RunErrorKind::Io { .. },
                ..
            })
        ));
    }
}
