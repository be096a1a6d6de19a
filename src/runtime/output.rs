//! Where a run's output goes: flow's own stdout/stderr, or the host's output hook
//! (`Engine::on_output`). Without a hook nothing changes: commands inherit flow's stdout and
//! printing writes to it directly. With one, every byte the run would have written to
//! stdout or stderr — `print`, `eprint`, printed items and values, command stdout and
//! stderr, pool job output, warnings — reaches the hook instead, one call at a time.

use std::io::{self, Write};
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
/// write at a time, each a whole line for line-wise output (`print`, items, stderr lines), a
/// chunk as read for a command's stdout.
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
}
