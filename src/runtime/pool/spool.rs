//! One `exec` job's stdout until its turn: up to `cap` bytes in memory, the rest spilled to
//! an anonymous temporary file (unlinked at once). Once the job's turn comes (`go_live`)
//! what was held is copied out and the rest of its output passes straight through, so a
//! job's output is never held whole in memory. The last few KiB are kept for error reports.

use super::stage_out::SharedOut;
use std::fs::File;
use std::io::{self, Seek, Write};
use std::sync::Mutex;

/// Bytes of a job's most recent output kept for its error report.
const TAIL_BYTES: usize = 4096;
/// Lines of a failed job's stdout shown in its report.
const TAIL_LINES: usize = 10;

pub(super) struct Spool {
    state: Mutex<State>,
    out: SharedOut,
    cap: usize,
}

#[derive(Default)]
struct State {
    mem: Vec<u8>,
    file: Option<File>,
    /// The job's turn: writes go to the stage's output.
    live: bool,
    /// The job was emitted or abandoned: later writes (an escaped descendant) are dropped.
    closed: bool,
    tail: Vec<u8>,
    /// Why the spool could not keep or give back the job's output (a full temporary disk).
    error: Option<String>,
}

impl Spool {
    pub(super) fn new(out: SharedOut, cap: usize) -> Self {
        Spool {
            state: Mutex::default(),
            out,
            cap,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take a chunk of the job's stdout. False: the stage's output is closed, stop reading.
    pub(super) fn write(&self, b: &[u8]) -> bool {
        let mut s = self.lock();
        keep_tail(&mut s.tail, b);
        if s.closed {
            return true;
        }
        if s.live {
            let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
            return out.write(b).is_ok();
        }
        if s.file.is_none() && s.mem.len() + b.len() > self.cap {
            // Past the memory budget: spill to a temporary file (never unbounded memory).
            let spilled = tempfile::tempfile().and_then(|mut f| {
                f.write_all(&s.mem)?;
                Ok(f)
            });
            match spilled {
                Ok(f) => {
                    s.mem = Vec::new();
                    s.file = Some(f);
                }
                Err(e) => return spool_failed(&mut s, &e),
            }
        }
        let written = match &mut s.file {
            Some(f) => f.write_all(b),
            None => {
                s.mem.extend_from_slice(b);
                Ok(())
            }
        };
        match written {
            Ok(()) => true,
            Err(e) => spool_failed(&mut s, &e),
        }
    }

    /// Why the job's output could not be kept or given back, once.
    pub(super) fn take_error(&self) -> Option<String> {
        self.lock().error.take()
    }

    /// The job's turn: write out what it held; from now on it writes straight through.
    pub(super) fn go_live(&self) -> io::Result<()> {
        let mut s = self.lock();
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let mem = std::mem::take(&mut s.mem);
        out.write(&mem)?;
        if let Some(mut f) = s.file.take() {
            let mut buf = vec![0u8; 64 * 1024];
            if let Err(e) = f.rewind() {
                s.error = Some(format!("cannot read back a job's spooled output: {e}"));
                return Err(e);
            }
            loop {
                let n = match io::Read::read(&mut f, &mut buf) {
                    Ok(n) => n,
                    Err(e) => {
                        s.error = Some(format!("cannot read back a job's spooled output: {e}"));
                        return Err(e);
                    }
                };
                if n == 0 {
                    break;
                }
                out.write(&buf[..n])?;
            }
        }
        s.live = true;
        Ok(())
    }

    /// Forget what a failed attempt wrote (before a retry).
    pub(super) fn reset(&self) {
        let mut s = self.lock();
        s.mem.clear();
        s.file = None;
        s.tail.clear();
    }

    /// No more output is taken from this job.
    pub(super) fn close(&self) {
        let mut s = self.lock();
        s.closed = true;
        s.mem = Vec::new();
        s.file = None;
    }

    /// The last lines of the job's stdout, for its error report.
    pub(super) fn tail_lines(&self) -> Vec<String> {
        let s = self.lock();
        let text = String::from_utf8_lossy(&s.tail);
        let lines: Vec<&str> = text.lines().collect();
        let from = lines.len().saturating_sub(TAIL_LINES);
        lines[from..]
            .iter()
            .map(|l| super::super::run_error::shorten(l, 300))
            .collect()
    }

    /// The job's output outgrew its memory buffer.
    pub(super) fn spilled(&self) -> bool {
        self.lock().file.is_some()
    }

    #[cfg(test)]
    fn held_in_memory(&self) -> usize {
        self.lock().mem.len()
    }
}

/// The spill file could not be made or written: the job's output would be lost (or held
/// in unbounded memory), so the job fails with the reason. False: stop reading the job.
fn spool_failed(s: &mut State, e: &io::Error) -> bool {
    s.error.get_or_insert_with(|| {
        format!(
            "cannot spool a job's output (a temporary file in {}): {e}",
            std::env::temp_dir().display()
        )
    });
    false
}

fn keep_tail(tail: &mut Vec<u8>, b: &[u8]) {
    if b.len() >= TAIL_BYTES {
        tail.clear();
        tail.extend_from_slice(&b[b.len() - TAIL_BYTES..]);
    } else {
        let excess = (tail.len() + b.len()).saturating_sub(TAIL_BYTES);
        tail.drain(..excess);
        tail.extend_from_slice(b);
    }
}

#[cfg(test)]
mod tests {
    use super::super::stage_out::StageOut;
    use super::*;
    use std::sync::{Arc, Mutex};

    use crate::runtime::output::Target;
    use crate::Span;

    fn rt() -> crate::runtime::Rt {
        Arc::new(crate::runtime::Runtime::new())
    }

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn spills_past_the_cap_and_replays_in_order() {
        let sink = Sink::default();
        let out = Arc::new(Mutex::new(StageOut::bytes(
            Box::new(sink.clone()),
            Target::Pipe,
            rt(),
            Span::default(),
        )));
        let sp = Spool::new(out, 1000);
        let chunk: Vec<u8> = (0..=255u8).collect();
        for _ in 0..100 {
            assert!(sp.write(&chunk));
        }
        assert!(sp.spilled());
        assert_eq!(sp.held_in_memory(), 0);
        assert!(sink.0.lock().unwrap().is_empty(), "written before its turn");
        sp.go_live().unwrap();
        assert!(sp.write(b"end"));
        let got = sink.0.lock().unwrap().clone();
        assert_eq!(got.len(), 25_603);
        assert_eq!(&got[..256], &chunk[..]);
        assert_eq!(&got[got.len() - 3..], b"end");
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let out = Arc::new(Mutex::new(StageOut::bytes(
            Box::new(Sink::default()),
            Target::Pipe,
            rt(),
            Span::default(),
        )));
        let sp = Spool::new(out, 10);
        for i in 0..50 {
            sp.write(format!("line {i}\n").as_bytes());
        }
        let t = sp.tail_lines();
        assert_eq!(t.len(), TAIL_LINES);
        assert_eq!(t.last().unwrap(), "line 49");
    }
}
