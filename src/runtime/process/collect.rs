//! Waiting for a child on the calling thread while reading its stdout and stderr: one
//! `poll(2)` loop over both pipes and a pidfd of the child, instead of a reader thread per
//! pipe. What pool `exec` jobs use: thousands of short jobs must not cost two thread starts
//! and three cross-thread wake-ups each.
//!
//! The outcome is the same as [`Proc::wait`] with a stdout reader thread: stdout is read to its
//! end (after the child exits, for up to [`CANCELLED_DRAIN`] once cancelled); stderr is
//! forwarded line by line (a long line in pieces), its last lines kept, and drained for up to `drain` after the child
//! exits — a background descendant that keeps it open is then left forwarding on a thread of
//! its own, as bash would not wait for it either.

use super::stderr::StderrLines;
use super::{Proc, Reaped};
use crate::runtime::Runtime;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// How long stdout is still read after the child exited once the job is cancelled.
const CANCELLED_DRAIN: Duration = Duration::from_millis(100);
/// How often the loop looks at cancellation while stdout outlives the child (a descendant
/// holds it), and at the child when no pidfd can be had (kernels before 5.3).
const LOOK: Duration = Duration::from_millis(50);

thread_local! {
    static BUF: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// The child's end, as this loop learns it.
struct Exited {
    at: Instant,
    /// How long stderr is drained from `at`.
    drain: Duration,
}

impl Proc {
    /// Wait for the child on this thread, giving its stdout (`out`, the read end of its pipe)
    /// to `on_out` chunk by chunk until the end or until `on_out` returns false (the pipe is
    /// then closed), and forwarding its stderr (when spawned with `ErrTo::Collect`) as
    /// [`Proc::wait`] does. `cancelled` is asked while stdout outlives the child; `drain`
    /// when the child exits.
    pub(crate) fn collect(
        mut self,
        rt: &Runtime,
        out: Option<OwnedFd>,
        on_out: &mut dyn FnMut(&[u8]) -> bool,
        cancelled: &dyn Fn() -> bool,
        drain: impl Fn() -> Duration,
    ) -> Reaped {
        let mut out = out.map(std::fs::File::from);
        let mut err = self.child.as_mut().and_then(|c| c.stderr.take());
        let mut lines = StderrLines::new(rt.progress.clone(), rt.output.clone());
        let pidfd = crate::os::process::pidfd_open(self.pid);
        let mut exited: Option<Exited> = None;
        let mut cancelled_at: Option<Instant> = None;
        // The worker's read buffer, kept from job to job (zeroing 64 KiB per job shows).
        let mut buf = BUF.with(std::cell::Cell::take);
        if buf.is_empty() {
            buf = vec![0u8; 64 * 1024];
        }
        loop {
            let now = Instant::now();
            if let Some(x) = &exited {
                if out.is_some() && cancelled_at.is_none() && cancelled() {
                    cancelled_at = Some(now);
                }
                if cancelled_at.is_some_and(|c| now >= c + CANCELLED_DRAIN) {
                    out = None;
                }
                if out.is_none() && now >= x.at + x.drain {
                    break;
                }
            }
            if out.is_none() && err.is_none() {
                break;
            }
            let watch_child = exited.is_none();
            let mut fds: Vec<libc::pollfd> = [
                out.as_ref().map(AsRawFd::as_raw_fd),
                err.as_ref().map(AsRawFd::as_raw_fd),
                pidfd
                    .as_ref()
                    .filter(|_| watch_child)
                    .map(AsRawFd::as_raw_fd),
            ]
            .into_iter()
            .flatten()
            .map(|fd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
            let timeout = match &exited {
                None if pidfd.is_some() => None,
                None => Some(LOOK),
                Some(x) => {
                    let mut t = match (out.is_some(), cancelled_at) {
                        (false, _) => Duration::MAX,
                        (true, None) => LOOK,
                        (true, Some(c)) => (c + CANCELLED_DRAIN).saturating_duration_since(now),
                    };
                    if err.is_some() {
                        t = t.min((x.at + x.drain).saturating_duration_since(now));
                    }
                    Some(t)
                }
            };
            // Round up: a 0.4 ms wait must not become a busy 0 ms one.
            let ms = timeout.map_or(-1, |t| {
                i32::try_from(t.as_micros().div_ceil(1000)).unwrap_or(i32::MAX)
            });
            match crate::os::process::poll(&mut fds, ms) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // poll itself failed (it cannot short of a bug): wait for the child below.
                Err(_) => break,
            }
            let ready = |fd: Option<i32>| {
                fd.is_some_and(|fd| {
                    fds.iter().any(|p| {
                        p.fd == fd
                            && p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0
                    })
                })
            };
            if ready(out.as_ref().map(AsRawFd::as_raw_fd)) {
                let keep = match out.as_mut().and_then(|o| read_some(o, &mut buf)) {
                    Some(0) | None => false,
                    Some(k) => on_out(&buf[..k]),
                };
                if !keep {
                    out = None;
                }
            }
            if ready(err.as_ref().map(AsRawFd::as_raw_fd)) {
                match err.as_mut().and_then(|e| read_some(e, &mut buf)) {
                    Some(0) | None => {
                        lines.finish();
                        err = None;
                    }
                    Some(k) => lines.feed(&buf[..k]),
                }
            }
            let ended = watch_child
                && match &pidfd {
                    Some(p) => ready(Some(p.as_raw_fd())),
                    None => self.has_exited(),
                };
            if ended {
                exited = Some(Exited {
                    at: Instant::now(),
                    drain: drain(),
                });
            }
        }
        drop(out);
        BUF.with(|b| b.set(buf));
        let (status, usage) = self.reap();
        let stderr = lines.lines();
        // A descendant still holds stderr: what it writes is forwarded on a thread of its own
        // (with no thread to be had, the pipe is closed and the descendant's writes fail).
        if let Some(e) = err {
            drop(lines.forward_rest(e));
        }
        Reaped {
            status,
            program: std::mem::take(&mut self.program),
            span: self.span,
            unchecked: self.unchecked,
            stderr,
            usage,
        }
    }
}

/// One read, retried on EINTR: `None` on an error (the pipe is done).
fn read_some(r: &mut impl Read, buf: &mut [u8]) -> Option<usize> {
    loop {
        match r.read(buf) {
            Ok(k) => return Some(k),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}
