//! Reading a byte stream line by line: the one loop behind process stdout → items,
//! `exec` job output and stderr forwarding.

use std::io::{BufRead, BufReader, Read};

/// Call `f(line, more_buffered)` for each line of `r` (the raw bytes, with their `\n` if
/// any) until the end, a read error, or `f` returns false. `more_buffered` tells whether
/// more input is already in memory (so a batching caller can flush when it is not).
pub(crate) fn each_line(r: impl Read, mut f: impl FnMut(&[u8], bool) -> bool) {
    let mut r = BufReader::with_capacity(64 * 1024, r);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match r.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                if !f(&buf, !r.buffer().is_empty()) {
                    return;
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
}
