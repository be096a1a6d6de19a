//! A child's stderr as it comes: forwarded to flow's stderr (around the progress bar) and its
//! last lines kept for the error report — both bounded in bytes, however long a line is. A
//! line of up to [`MAX_PIECE`](crate::runtime::lines::MAX_PIECE) bytes is forwarded whole, so that the lines of concurrent
//! children never mix; a longer one is forwarded in pieces as it comes (a 300 MB line
//! without a newline is never held whole). The tail keeps [`STDERR_TAIL`] lines, each cut
//! to [`HEAD_CHARS`](crate::runtime::lines::HEAD_CHARS) characters from the start of the line.

use crate::runtime::lines::{Head, Pieces};
use crate::runtime::{OutputHook, Progress, Stream};
use std::collections::VecDeque;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Lines of stderr kept for the error report.
const STDERR_TAIL: usize = 20;

/// The forwarder of a child's stderr on a thread of its own, and the last lines it saw.
pub(super) struct StderrTail {
    tail: Arc<Mutex<Tail>>,
    done: crossbeam_channel::Receiver<()>,
}

impl StderrTail {
    /// The last lines, once the stream ended or `drain` passed.
    pub(super) fn finish(self, drain: Duration) -> Vec<String> {
        let _ = self.done.recv_timeout(drain);
        lock(&self.tail).lines()
    }
}

/// Read a child's stderr as it comes on a thread of its own, forward it, keep the last lines.
pub(super) fn forward_stderr(
    err: impl Read + Send + 'static,
    progress: Progress,
    hook: Option<OutputHook>,
) -> std::io::Result<StderrTail> {
    StderrLines::new(progress, hook).forward_rest(err)
}

/// A child's stderr fed as it is read: forwarded piece by piece, its tail kept.
pub(super) struct StderrLines {
    pieces: Pieces,
    tail: Arc<Mutex<Tail>>,
    progress: Progress,
    hook: Option<OutputHook>,
}

impl StderrLines {
    pub(super) fn new(progress: Progress, hook: Option<OutputHook>) -> StderrLines {
        StderrLines {
            pieces: Pieces::default(),
            tail: Arc::default(),
            progress,
            hook,
        }
    }

    /// Forward the lines `bytes` ends or completes; hold at most
    /// [`MAX_PIECE`](crate::runtime::lines::MAX_PIECE) bytes of the
    /// line it leaves unfinished.
    pub(super) fn feed(&mut self, bytes: &[u8]) {
        let StderrLines {
            pieces,
            tail,
            progress,
            hook,
        } = self;
        pieces.feed(bytes, |piece, starts, ends| {
            forward(progress, hook.as_ref(), tail, piece, starts, ends);
        });
    }

    /// The end of the stream: a last line without its newline is forwarded and kept.
    pub(super) fn finish(&mut self) {
        let StderrLines {
            pieces,
            tail,
            progress,
            hook,
        } = self;
        pieces.finish(|piece, starts, ends| {
            forward(progress, hook.as_ref(), tail, piece, starts, ends);
        });
    }

    /// The last lines so far.
    pub(super) fn lines(&self) -> Vec<String> {
        lock(&self.tail).lines()
    }

    /// Go on reading `r` — the rest of the same stream — on a thread of its own. Err: the
    /// system refused the thread.
    pub(super) fn forward_rest(
        mut self,
        r: impl Read + Send + 'static,
    ) -> std::io::Result<StderrTail> {
        let tail = self.tail.clone();
        let (done_tx, done) = crossbeam_channel::bounded::<()>(1);
        std::thread::Builder::new()
            .name("flow-stderr".into())
            .spawn(move || {
                let StderrLines {
                    pieces,
                    tail,
                    progress,
                    hook,
                } = &mut self;
                pieces.read_all(r, |piece, starts, ends| {
                    forward(progress, hook.as_ref(), tail, piece, starts, ends);
                });
                drop(done_tx);
            })?;
        Ok(StderrTail { tail, done })
    }
}

/// Forward one piece of a line of a child's stderr (around the progress bar) and keep it in
/// `tail`.
fn forward(
    progress: &Progress,
    hook: Option<&OutputHook>,
    tail: &Mutex<Tail>,
    piece: &[u8],
    starts: bool,
    ends: bool,
) {
    if !piece.is_empty() {
        crate::runtime::around_progress(progress, || {
            let _ = crate::runtime::output::write(hook, Stream::Stderr, piece);
        });
    }
    lock(tail).piece(piece, starts, ends);
}

fn lock(tail: &Mutex<Tail>) -> std::sync::MutexGuard<'_, Tail> {
    tail.lock().unwrap_or_else(|e| e.into_inner())
}

/// The last lines of a child's stderr, each cut by [`Head`].
#[derive(Default)]
struct Tail {
    lines: VecDeque<String>,
    /// The start of the line under way.
    head: Head,
}

impl Tail {
    /// A piece of a line; the line is kept once it ends.
    fn piece(&mut self, piece: &[u8], starts: bool, ends: bool) {
        if let Some(line) = self.head.piece(piece, starts, ends) {
            if self.lines.len() == STDERR_TAIL {
                self.lines.pop_front();
            }
            self.lines.push_back(line);
        }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::lines::{HEAD_CHARS, MAX_PIECE};

    fn tail_of(chunks: &[&[u8]]) -> Vec<String> {
        let mut lines = StderrLines::new(Arc::default(), Some(sink()));
        for c in chunks {
            lines.feed(c);
        }
        lines.finish();
        lines.lines()
    }

    /// An output hook that drops what it is given.
    fn sink() -> OutputHook {
        Arc::new(Mutex::new(|_: Stream, _: &[u8]| {}))
    }

    #[test]
    fn the_tail_keeps_the_last_lines_each_cut() {
        let many: Vec<u8> = (0..30)
            .flat_map(|i| format!("l{i}\n").into_bytes())
            .collect();
        let t = tail_of(&[&many]);
        assert_eq!(t.len(), STDERR_TAIL);
        assert_eq!(t[0], "l10");
        assert_eq!(t[19], "l29");
        let long = vec![b'e'; 3 * MAX_PIECE + 7];
        for chunks in [
            vec![&long[..], b"\nlast"],
            vec![&long[..5], &long[5..], b"\nlast"],
        ] {
            let t = tail_of(&chunks);
            assert_eq!(t.len(), 2);
            assert_eq!(t[0].chars().count(), HEAD_CHARS);
            assert!(t[0].ends_with("e…"), "{}", t[0]);
            assert_eq!(t[1], "last");
        }
        // A long line of spaces and a short word: still marked as cut.
        let mut spaced = b"x".to_vec();
        spaced.extend(vec![b' '; 8 * HEAD_CHARS]);
        assert_eq!(tail_of(&[&spaced, b"\n"]), vec!["x…"]);
        // Cut inside a character: the tail is still text.
        let wide = "é".repeat(MAX_PIECE);
        let t = tail_of(&[wide.as_bytes()]);
        assert_eq!(t[0].chars().count(), HEAD_CHARS);
        assert!(t[0].starts_with("éé"));
    }

    #[test]
    fn long_lines_are_forwarded_in_pieces_short_ones_whole() {
        let got: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let g = got.clone();
        let hook: OutputHook = Arc::new(Mutex::new(move |_: Stream, b: &[u8]| {
            g.lock().unwrap().push(b.to_vec());
        }));
        let mut lines = StderrLines::new(Arc::default(), Some(hook));
        let mut all = Vec::new();
        let long = vec![b'e'; 5 * MAX_PIECE + 3];
        for chunk in [&b"sh"[..], b"ort\n", &long, &long, b"\nab", b"c\n"] {
            all.extend_from_slice(chunk);
            lines.feed(chunk);
        }
        lines.finish();
        let got = got.lock().unwrap();
        assert_eq!(got.concat(), all);
        assert_eq!(got[0], b"short\n");
        assert_eq!(got.last().unwrap(), b"abc\n");
    }
}
