//! Where a pool stage's output goes: bytes (a pipe to the next command, a file, flow's
//! stdout) written unchanged, or line items for the item stage or sink that follows.
//! Invariant: only the job whose turn it is writes here (the window hands out turns), so a
//! job's output is never interleaved with another's.

use super::super::output::Target;
use super::super::pipeline::BATCH_SIZE;
use super::super::run_error::RunError;
use super::super::value::{self, Batch};
use super::super::Rt;
use crate::Span;
use crossbeam_channel::Sender;
use rhai::Dynamic;
use std::io::{self, Write};
use std::sync::{Arc, Mutex};

/// What the pipeline asks of a pool stage.
pub(crate) enum Output {
    /// Line items on a channel (an item stage or sink follows, or the result is collected).
    Items,
    /// Records cut at this separator only (`| lines "\0"` follows), as items.
    Records(Vec<u8>),
    /// Job output passes through unchanged, grouped per job, to the target named.
    Bytes(Box<dyn Write + Send>, Target),
}

/// Bytes going to a named target; the first failed write is kept for the stage's report.
pub(super) struct ByteOut {
    w: Box<dyn Write + Send>,
    target: Target,
    rt: Rt,
    span: Span,
    /// Why writing stopped: `Some(None)` when the reader went away (a quiet stop).
    failed: Option<Option<RunError>>,
}

impl ByteOut {
    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        if self.failed.is_some() {
            return Err(closed());
        }
        let r = self.w.write_all(b);
        self.check(r)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.failed.is_some() {
            return Err(closed());
        }
        let r = self.w.flush();
        self.check(r)
    }

    /// A failed write is judged at once: a closed stdout stops the whole run now.
    fn check(&mut self, r: io::Result<()>) -> io::Result<()> {
        if let Err(e) = &r {
            self.failed = Some(self.target.failure(&self.rt, e, self.span));
        }
        r
    }
}

/// The stage's output sink.
pub(super) enum StageOut {
    Bytes(ByteOut),
    Items {
        tx: Sender<Batch>,
        /// The current job's unfinished last line.
        partial: Vec<u8>,
        batch: Batch,
        /// What ends a record: `None` for a line (`\n`, with a `\r` before it stripped).
        sep: Option<Vec<u8>>,
    },
}

pub(super) type SharedOut = Arc<Mutex<StageOut>>;

fn closed() -> io::Error {
    io::Error::from(io::ErrorKind::BrokenPipe)
}

impl StageOut {
    /// Bytes to `target` for the stage at `span`.
    pub(super) fn bytes(w: Box<dyn Write + Send>, target: Target, rt: Rt, span: Span) -> Self {
        StageOut::Bytes(ByteOut {
            w,
            target,
            rt,
            span,
            failed: None,
        })
    }

    /// The error a failed write of the stage's output calls for (`None`: none failed, or
    /// the reader went away and the stage stops quietly).
    pub(super) fn take_failure(&mut self) -> Option<RunError> {
        match self {
            StageOut::Bytes(b) => b.failed.as_mut().and_then(Option::take),
            StageOut::Items { .. } => None,
        }
    }

    pub(super) fn items(tx: Sender<Batch>, sep: Option<Vec<u8>>) -> Self {
        StageOut::Items {
            tx,
            partial: vec![],
            batch: Vec::with_capacity(BATCH_SIZE),
            sep,
        }
    }

    /// Bytes of the job whose turn it is. Items: complete lines become items at once.
    pub(super) fn write(&mut self, mut b: &[u8]) -> io::Result<()> {
        match self {
            StageOut::Bytes(w) => w.write_all(b),
            StageOut::Items {
                tx,
                partial,
                batch,
                sep: Some(sep),
            } => {
                // Records end at `sep` only; one may be split between two writes. What was
                // kept holds no whole separator: only its last `sep.len() - 1` bytes and the
                // new ones are searched (a long record written in pieces stays linear).
                let from = partial.len().saturating_sub(sep.len() - 1);
                partial.extend_from_slice(b);
                let mut used = 0;
                for at in memchr::memmem::find_iter(&partial[from..], &sep[..]).map(|i| from + i) {
                    batch.push(Dynamic::from(super::super::lines::record_text(
                        &partial[used..at],
                    )));
                    used = at + sep.len();
                    if batch.len() >= BATCH_SIZE {
                        tx.send(std::mem::take(batch)).map_err(|_| closed())?;
                    }
                }
                partial.drain(..used);
                if !batch.is_empty() {
                    tx.send(std::mem::take(batch)).map_err(|_| closed())?;
                }
                Ok(())
            }
            StageOut::Items {
                tx, partial, batch, ..
            } => {
                while let Some(nl) = b.iter().position(|&c| c == b'\n') {
                    let line = if partial.is_empty() {
                        super::super::lines::text(&b[..=nl])
                    } else {
                        partial.extend_from_slice(&b[..=nl]);
                        let t = super::super::lines::text(partial);
                        partial.clear();
                        t
                    };
                    batch.push(Dynamic::from(line));
                    if batch.len() >= BATCH_SIZE {
                        tx.send(std::mem::take(batch)).map_err(|_| closed())?;
                    }
                    b = &b[nl + 1..];
                }
                partial.extend_from_slice(b);
                if !batch.is_empty() {
                    tx.send(std::mem::take(batch)).map_err(|_| closed())?;
                }
                Ok(())
            }
        }
    }

    /// Results of a `map` job.
    pub(super) fn values(&mut self, v: Vec<Dynamic>) -> io::Result<()> {
        match self {
            StageOut::Bytes(w) => {
                for it in &v {
                    w.write_all(value::to_line(it).as_bytes())?;
                    w.write_all(b"\n")?;
                }
                Ok(())
            }
            StageOut::Items { tx, .. } => {
                let mut v = v;
                while !v.is_empty() {
                    let rest = v.split_off(v.len().min(BATCH_SIZE));
                    tx.send(v).map_err(|_| closed())?;
                    v = rest;
                }
                Ok(())
            }
        }
    }

    /// A job's output is complete: its last line without `\n` is an item too.
    pub(super) fn end_job(&mut self) -> io::Result<()> {
        match self {
            StageOut::Bytes(w) => w.flush(),
            StageOut::Items {
                tx, partial, sep, ..
            } => {
                if partial.is_empty() {
                    return Ok(());
                }
                let line = match sep {
                    Some(_) => super::super::lines::record_text(partial),
                    None => super::super::lines::text(partial),
                };
                partial.clear();
                tx.send(vec![Dynamic::from(line)]).map_err(|_| closed())
            }
        }
    }
}

/// Flow's stdout as a byte sink: locked per write, so that `print` from other stages
/// interleaves only between a job's chunks, never inside a line it wrote.
pub(crate) struct Stdout;

impl Write for Stdout {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        io::stdout().lock().write(b)
    }
    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        io::stdout().lock().write_all(b)
    }
    fn flush(&mut self) -> io::Result<()> {
        io::stdout().lock().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_cut_at_their_separator_across_writes() {
        let (tx, rx) = crossbeam_channel::bounded(16);
        let mut o = StageOut::items(tx, Some(b"--".to_vec()));
        for piece in [&b"a-"[..], b"-b\nc-", b"", b"--", b"-d"] {
            o.write(piece).unwrap();
        }
        o.end_job().unwrap();
        drop(o);
        let got: Vec<String> = rx.iter().flatten().map(|d| d.to_string()).collect();
        assert_eq!(got, vec!["a", "b\nc", "", "d"]);
    }

    #[test]
    fn bytes_become_lines_across_chunks_and_jobs() {
        let (tx, rx) = crossbeam_channel::bounded(16);
        let mut o = StageOut::items(tx, None);
        o.write(b"a\nb").unwrap();
        o.write(b"c\r\nd").unwrap();
        o.end_job().unwrap();
        o.write(b"e\n").unwrap();
        o.end_job().unwrap();
        drop(o);
        let got: Vec<String> = rx.iter().flatten().map(|d| d.to_string()).collect();
        assert_eq!(got, ["a", "bc", "d", "e"]);
    }
}
