//! Reading a byte stream line by line: the one loop behind process stdout → items,
//! `exec` job output and stderr forwarding.

use std::io::{BufRead, BufReader, Read};

/// Call `f(line, more_buffered)` for each line of `r` (the raw bytes, with their `\n` if
/// any) until the end, a read error, or `f` returns false. `more_buffered` tells whether
/// more input is already in memory (so a batching caller can flush when it is not).
/// For pipes from processes, whose failures are their exit status.
pub(crate) fn each_line(r: impl Read, f: impl FnMut(&[u8], bool) -> bool) {
    let _ = try_each_line(r, f);
}

/// [`each_line`], returning the read error (for files: a short read must not pass as the end).
/// Lines read before the error have been given to `f`. A line that lies whole in the read
/// buffer is given from there, without a copy; only one split by a refill is assembled.
pub(crate) fn try_each_line(
    r: impl Read,
    mut f: impl FnMut(&[u8], bool) -> bool,
) -> std::io::Result<()> {
    scan(r, |line, more, _| f(line, more))
}

/// [`try_each_line`], each line made an item ([`item`]).
pub(crate) fn try_each_item(
    r: impl Read,
    mut f: impl FnMut(rhai::Dynamic, bool) -> bool,
) -> std::io::Result<()> {
    scan(r, |line, more, ascii| {
        let it = if ascii {
            let line = strip(line);
            // SAFETY: the whole buffer the line is in was checked to be ASCII, which is
            // valid UTF-8.
            crate::script::fastpath::new_string(unsafe { std::str::from_utf8_unchecked(line) })
                .into()
        } else {
            item(line)
        };
        f(it, more)
    })
}

/// The loop of [`try_each_line`]; `f` also learns whether the line is known to be ASCII
/// (checked once per buffer refill: much cheaper than line by line).
fn scan(r: impl Read, mut f: impl FnMut(&[u8], bool, bool) -> bool) -> std::io::Result<()> {
    let mut r = BufReader::with_capacity(64 * 1024, r);
    // The start of a line that the buffer's end cut.
    let mut part = Vec::new();
    loop {
        let avail = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // Any partial line before the error is still given.
                if !part.is_empty() {
                    f(&part, false, part.is_ascii());
                }
                return Err(e);
            }
        };
        if avail.is_empty() {
            if !part.is_empty() {
                f(&part, false, part.is_ascii());
            }
            return Ok(());
        }
        let ascii = avail.is_ascii();
        let mut used = 0;
        let mut go_on = true;
        for i in memchr::memchr_iter(b'\n', avail) {
            let end = i + 1;
            let more = end < avail.len();
            go_on = if part.is_empty() {
                f(&avail[used..end], more, ascii)
            } else {
                part.extend_from_slice(&avail[used..end]);
                let ok = f(&part, more, part.is_ascii());
                part.clear();
                ok
            };
            used = end;
            if !go_on {
                break;
            }
        }
        if go_on {
            part.extend_from_slice(&avail[used..]);
            used = avail.len();
        }
        r.consume(used);
        if !go_on {
            return Ok(());
        }
    }
}

/// A line as text: `\n` or `\r\n` stripped, invalid UTF-8 replaced.
pub(crate) fn text(line: &[u8]) -> String {
    str_of(strip(line)).into_owned()
}

/// A line as an item: [`text`], made straight into Rhai's string (one copy, not three).
pub(crate) fn item(line: &[u8]) -> rhai::Dynamic {
    let s: rhai::ImmutableString = match str_of(strip(line)) {
        std::borrow::Cow::Borrowed(s) => crate::script::fastpath::new_string(s),
        std::borrow::Cow::Owned(s) => s.into(),
    };
    rhai::Dynamic::from(s)
}

/// `from_utf8_lossy`, with the common cases (ASCII, valid) checked by much faster means.
fn str_of(line: &[u8]) -> std::borrow::Cow<'_, str> {
    if line.is_ascii() {
        // SAFETY: ASCII is valid UTF-8; `is_ascii` is several times faster than `from_utf8`
        // and most lines are ASCII.
        return std::borrow::Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(line) });
    }
    match std::str::from_utf8(line) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(line),
    }
}

fn strip(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_strips() {
        let mut got = vec![];
        each_line(&b"a\r\nb\n\xffc"[..], |l, _| {
            got.push(text(l));
            true
        });
        assert_eq!(got, vec!["a", "b", "\u{fffd}c"]);
    }

    /// A reader that gives `data`, then fails like a disk with EIO.
    struct Failing(&'static [u8]);

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                return Err(std::io::Error::from_raw_os_error(5));
            }
            let n = self.0.len().min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_read_error_is_returned_not_taken_for_the_end() {
        let mut got = vec![];
        let r = try_each_line(Failing(b"a\nb"), |l, _| {
            got.push(text(l));
            true
        });
        assert_eq!(r.map_err(|e| e.raw_os_error()), Err(Some(5)));
        assert_eq!(got, vec!["a", "b"]);
        let dir = std::fs::File::open("/").unwrap();
        assert!(try_each_line(dir, |_, _| true).is_err());
    }

    /// A reader that gives at most `n` bytes per read: lines cut by every refill.
    struct Trickle(&'static [u8], usize);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(buf.len()).min(self.1);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn lines_cut_by_a_refill_are_whole_and_stopping_stops() {
        for n in 1..6 {
            let mut got = vec![];
            each_line(Trickle(b"ab\ncde\n\nf", n), |l, _| {
                got.push(String::from_utf8(l.to_vec()).unwrap());
                true
            });
            assert_eq!(got, vec!["ab\n", "cde\n", "\n", "f"], "{n}");
        }
        let mut got = vec![];
        each_line(&b"a\nb\nc\n"[..], |l, _| {
            got.push(l.to_vec());
            got.len() < 2
        });
        assert_eq!(got.len(), 2);
        assert_eq!(item(b"x\r\n").to_string(), "x");
        for n in 1..6 {
            let mut got = vec![];
            let _ = try_each_item(Trickle(b"ab\r\n\xc3\xa9\xff\nc", n), |it, _| {
                got.push(it.to_string());
                true
            });
            assert_eq!(got, vec!["ab", "\u{e9}\u{fffd}", "c"], "{n}");
        }
        assert_eq!(item(b"\xff\n").to_string(), "\u{fffd}");
    }
}
