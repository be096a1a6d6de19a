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
/// Lines read before the error have been given to `f`.
pub(crate) fn try_each_line(
    r: impl Read,
    mut f: impl FnMut(&[u8], bool) -> bool,
) -> std::io::Result<()> {
    let mut r = BufReader::with_capacity(64 * 1024, r);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match r.read_until(b'\n', &mut buf) {
            Ok(0) => return Ok(()),
            Err(e) => {
                // Any partial line before the error is still given.
                if !buf.is_empty() {
                    f(&buf, false);
                }
                return Err(e);
            }
            Ok(_) => {
                if !f(&buf, !r.buffer().is_empty()) {
                    return Ok(());
                }
            }
        }
    }
}

/// A line as text: `\n` or `\r\n` stripped, invalid UTF-8 replaced.
pub(crate) fn text(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line).into_owned()
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
}
