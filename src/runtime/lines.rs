//! Reading a byte stream line by line: the one loop behind process stdout → items and
//! `from lines(path)` ([`try_each_line`], [`try_each_item`]: a line is an item, so it is
//! held whole); and, for forwarding stderr, [`Pieces`], which holds at most [`MAX_PIECE`]
//! bytes of a line however long it is, with [`Head`], the start of a line for a report.

use std::io::{BufRead, BufReader, Read};

/// Call `f(line, more_buffered)` for each line of `r` (the raw bytes, with their `\n` if
/// any) until the end, a read error, or `f` returns false. `more_buffered` tells whether
/// more input is already in memory (so a batching caller can flush when it is not).
/// The read error is returned (for files: a short read must not pass as the end).
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
    scan(r, |line, more, text| {
        let it = match text {
            Some(t) => crate::script::fastpath::new_string(strip_str(t)).into(),
            None => item(line),
        };
        f(it, more)
    })
}

/// `lines SEP` on a byte stream: call `f(record, more_buffered)` for each record of `r`
/// separated by `sep` (`"\0"` for `find -print0`), until the end, a read error, or `f`
/// returns false. Only `sep` separates: a `\n` inside a record is kept, as GNU parallel's
/// `-0` and `xargs -0` keep it. A separator at the very end closes the last record rather
/// than starting an empty one; bytes after the last separator are a record too.
pub(crate) fn try_each_record(
    r: impl Read,
    sep: &[u8],
    mut f: impl FnMut(rhai::Dynamic, bool) -> bool,
) -> std::io::Result<()> {
    if sep == b"\n" {
        return try_each_item(r, f);
    }
    let finder = memchr::memmem::Finder::new(sep);
    let mut r = BufReader::with_capacity(64 * 1024, r);
    // Bytes read but not yet cut into records: the unfinished record.
    let mut part: Vec<u8> = Vec::new();
    let record = |b: &[u8]| rhai::Dynamic::from(record_text(b));
    loop {
        let avail = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                if !part.is_empty() {
                    f(record(&part), false);
                }
                return Err(e);
            }
        };
        if avail.is_empty() {
            if !part.is_empty() {
                f(record(&part), false);
            }
            return Ok(());
        }
        let n = avail.len();
        // Search from where a separator split by the previous refill could start.
        let from = part.len().saturating_sub(sep.len() - 1);
        part.extend_from_slice(avail);
        r.consume(n);
        let mut used = 0;
        let ends: Vec<usize> = finder.find_iter(&part[from..]).map(|i| from + i).collect();
        let last = ends.len();
        for (k, at) in ends.into_iter().enumerate() {
            if at < used {
                continue; // overlapping match inside a separator already taken
            }
            let more = k + 1 < last || at + sep.len() < part.len();
            if !f(record(&part[used..at]), more) {
                return Ok(());
            }
            used = at + sep.len();
        }
        part.drain(..used);
    }
}

/// The loop of [`try_each_line`]; `f` is also given the line as text when it is known to be
/// valid UTF-8 (checked once per buffer refill, up to its last newline: much cheaper than
/// line by line).
fn scan(r: impl Read, mut f: impl FnMut(&[u8], bool, Option<&str>) -> bool) -> std::io::Result<()> {
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
                    f(&part, false, std::str::from_utf8(&part).ok());
                }
                return Err(e);
            }
        };
        if avail.is_empty() {
            if !part.is_empty() {
                f(&part, false, std::str::from_utf8(&part).ok());
            }
            return Ok(());
        }
        // The lines that lie whole in the buffer: from its start (after its first newline
        // when it goes on with a line the last refill cut) to its last newline. No character
        // is cut at either end, so where the input is valid UTF-8 this is all of them.
        let from = if part.is_empty() {
            0
        } else {
            memchr::memchr(b'\n', avail).map_or(avail.len(), |nl| nl + 1)
        };
        let to = memchr::memrchr(b'\n', avail).map_or(0, |nl| nl + 1);
        let text = if from < to {
            valid_prefix(&avail[from..to])
        } else {
            ""
        };
        let mut used = 0usize;
        let mut go_on = true;
        for i in memchr::memchr_iter(b'\n', avail) {
            let end = i + 1;
            let more = end < avail.len();
            go_on = if part.is_empty() {
                // A newline is a character of its own: `used` and `end` are on boundaries.
                let t = used.checked_sub(from).and_then(|u| text.get(u..end - from));
                f(&avail[used..end], more, t)
            } else {
                part.extend_from_slice(&avail[used..end]);
                let ok = f(&part, more, std::str::from_utf8(&part).ok());
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

/// The most bytes of one line that [`Pieces`] holds.
pub(crate) const MAX_PIECE: usize = 64 * 1024;

/// A byte stream cut into lines as it comes, for forwarding: a line of up to [`MAX_PIECE`]
/// bytes is given whole (so that lines written by concurrent children never mix), a longer
/// one in pieces as it comes — at most [`MAX_PIECE`] bytes of it are ever held, however long
/// it is. A piece larger than that is only ever a slice of the bytes fed.
#[derive(Default)]
pub(crate) struct Pieces {
    /// The start of a line that the end of the bytes fed cut, not yet given.
    part: Vec<u8>,
    /// Pieces of the current line were given already.
    mid: bool,
}

impl Pieces {
    /// Give the pieces of `bytes` to `f(piece, starts_line, ends_line)`: `ends_line` when
    /// the piece ends with `\n`.
    pub(crate) fn feed(&mut self, bytes: &[u8], mut f: impl FnMut(&[u8], bool, bool)) {
        let mut used = 0;
        for i in memchr::memchr_iter(b'\n', bytes) {
            let seg = &bytes[used..=i];
            if self.part.is_empty() {
                f(seg, !self.mid, true);
            } else if self.part.len() + seg.len() <= MAX_PIECE {
                self.part.extend_from_slice(seg);
                f(&self.part, !self.mid, true);
            } else {
                f(&self.part, !self.mid, false);
                f(seg, false, true);
            }
            self.part.clear();
            self.mid = false;
            used = i + 1;
        }
        let rest = &bytes[used..];
        if self.part.len() + rest.len() <= MAX_PIECE {
            self.part.extend_from_slice(rest);
            return;
        }
        if !self.part.is_empty() {
            f(&self.part, !self.mid, false);
            self.part.clear();
            self.mid = true;
        }
        if rest.len() < MAX_PIECE {
            self.part.extend_from_slice(rest);
        } else {
            f(rest, !self.mid, false);
            self.mid = true;
        }
    }

    /// The end of the stream: a last line without its `\n` is ended (its last piece may
    /// then be empty).
    pub(crate) fn finish(&mut self, mut f: impl FnMut(&[u8], bool, bool)) {
        if !self.part.is_empty() || self.mid {
            f(&self.part, !self.mid, true);
        }
        self.part.clear();
        self.mid = false;
    }

    /// Feed what `r` gives until its end or a read error (a pipe from a process, whose
    /// failure is its exit status), then [`finish`](Pieces::finish).
    pub(crate) fn read_all(&mut self, mut r: impl Read, mut f: impl FnMut(&[u8], bool, bool)) {
        let mut buf = vec![0u8; MAX_PIECE];
        loop {
            match r.read(&mut buf) {
                Ok(0) => break,
                Ok(k) => self.feed(&buf[..k], &mut f),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        self.finish(f);
    }
}

/// Characters a report keeps of a line ([`Head`]).
pub(crate) const HEAD_CHARS: usize = 300;
/// Bytes [`Head`] keeps of the start of a line: enough for `HEAD_CHARS + 1` characters of up
/// to 4 bytes, so that a cut line is seen to be longer than `HEAD_CHARS`.
const HEAD_BYTES: usize = 4 * (HEAD_CHARS + 1);

/// The start of a line given by [`Pieces`], for a report: its first [`HEAD_CHARS`]
/// characters, however long the line is.
#[derive(Default)]
pub(crate) struct Head {
    /// The first [`HEAD_BYTES`] bytes of the line under way.
    bytes: Vec<u8>,
    /// The line under way is longer than `bytes`.
    cut: bool,
}

impl Head {
    /// Take a piece of a line (`starts`, `ends` as [`Pieces`] tells them). When it ends the
    /// line: the line as text, trimmed at its end and shortened to [`HEAD_CHARS`]
    /// characters (a cut line ends with `…`).
    pub(crate) fn piece(&mut self, piece: &[u8], starts: bool, ends: bool) -> Option<String> {
        if starts && ends && piece.len() <= HEAD_BYTES {
            // A whole line (the common case): read from where it is.
            return Some(report_text(piece, false));
        }
        if starts {
            self.bytes.clear();
            self.cut = false;
        }
        let room = HEAD_BYTES.saturating_sub(self.bytes.len());
        self.bytes
            .extend_from_slice(piece.get(..room).unwrap_or(piece));
        self.cut |= piece.len() > room;
        if !ends {
            return None;
        }
        let s = report_text(&self.bytes, self.cut);
        self.bytes.clear();
        self.cut = false;
        Some(s)
    }
}

/// A line (or its start, when `cut`) as a report shows it.
fn report_text(line: &[u8], cut: bool) -> String {
    let mut s = super::run_error::shorten(str_of(strip(line)).trim_end(), HEAD_CHARS);
    if cut && !s.ends_with('…') {
        s.push('…');
    }
    s
}

/// A line as text: `\n` or `\r\n` stripped, invalid UTF-8 replaced.
pub(crate) fn text(line: &[u8]) -> String {
    str_of(strip(line)).into_owned()
}

/// A record cut at a separator other than a newline, as text: nothing stripped, invalid
/// UTF-8 replaced.
pub(crate) fn record_text(record: &[u8]) -> String {
    str_of(record).into_owned()
}

/// A line as an item: [`text`], made straight into Rhai's string (one copy, not three).
pub(crate) fn item(line: &[u8]) -> rhai::Dynamic {
    let s: rhai::ImmutableString = match str_of(strip(line)) {
        std::borrow::Cow::Borrowed(s) => crate::script::fastpath::new_string(s),
        std::borrow::Cow::Owned(s) => s.into(),
    };
    rhai::Dynamic::from(s)
}

/// `from_utf8_lossy`, with the common case (valid) borrowed.
fn str_of(line: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(line) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(line),
    }
}

/// The longest start of `bytes` that is valid UTF-8.
fn valid_prefix(bytes: &[u8]) -> &str {
    match std::str::from_utf8(bytes) {
        Ok(s) => s,
        // Checked again, up to where it is valid: only for input that is not text.
        Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
    }
}

fn strip(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// [`strip`], on text.
fn strip_str(line: &str) -> &str {
    let line = line.strip_suffix('\n').unwrap_or(line);
    line.strip_suffix('\r').unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(input: &[u8], sep: &[u8], chunk: usize) -> Vec<String> {
        let mut got = vec![];
        try_each_record(Trickle(input.to_vec().leak(), chunk), sep, |it, _| {
            got.push(it.into_string().unwrap());
            true
        })
        .unwrap();
        got
    }

    #[test]
    fn records_keep_newlines_tabs_and_dashes() {
        let input = b"d/new\nline\0d/tab\there\0d/-n\0";
        for chunk in [1, 2, 3, 64 * 1024] {
            assert_eq!(
                records(input, b"\0", chunk),
                vec!["d/new\nline", "d/tab\there", "d/-n"],
                "chunk {chunk}"
            );
        }
        // No closing separator: the rest is a record; an empty record between two is kept.
        assert_eq!(records(b"a\0\0b", b"\0", 1), vec!["a", "", "b"]);
        assert_eq!(records(b"", b"\0", 1), Vec::<String>::new());
        // A separator of several bytes split across reads.
        assert_eq!(records(b"a--b--c", b"--", 1), vec!["a", "b", "c"]);
        assert_eq!(records(b"a---b", b"--", 1), vec!["a", "-b"]);
    }

    #[test]
    fn splits_and_strips() {
        let mut got = vec![];
        let _ = try_each_line(&b"a\r\nb\n\xffc"[..], |l, _| {
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
            let _ = try_each_line(Trickle(b"ab\ncde\n\nf", n), |l, _| {
                got.push(String::from_utf8(l.to_vec()).unwrap());
                true
            });
            assert_eq!(got, vec!["ab\n", "cde\n", "\n", "f"], "{n}");
        }
        let mut got = vec![];
        let _ = try_each_line(&b"a\nb\nc\n"[..], |l, _| {
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

    #[test]
    fn a_line_is_given_as_text_only_where_it_is_valid_utf8() {
        let valid: &'static [u8] = "ab\r\n\u{e9}t\n\n\u{20ac}\u{e9}\nlast \u{e9}".as_bytes();
        let invalid: &'static [u8] = b"ab\n\xc3\xa9\xff\n\xc3\xa9\nd\xe2\x82";
        for input in [valid, invalid] {
            for n in 1..=input.len() {
                let mut lines = vec![];
                scan(Trickle(input, n), |line, _, text| {
                    if let Some(t) = text {
                        assert_eq!(t.as_bytes(), line, "{n}");
                    }
                    lines.push((line.to_vec(), text.is_some()));
                    true
                })
                .unwrap();
                let whole: Vec<u8> = lines.iter().flat_map(|l| l.0.clone()).collect();
                assert_eq!(whole, input, "{n}");
                if input == valid {
                    assert!(lines.iter().all(|l| l.1), "{n}: every valid line is text");
                } else {
                    assert!(
                        !lines[1].1 && !lines[3].1,
                        "{n}: invalid lines are not text"
                    );
                }
            }
        }
    }

    /// Feeds `data` in chunks of `n` bytes; the pieces with their flags.
    fn pieces_of(data: &[u8], n: usize) -> Vec<(Vec<u8>, bool, bool)> {
        let mut p = Pieces::default();
        let mut got = vec![];
        for c in data.chunks(n) {
            p.feed(c, |b, s, e| got.push((b.to_vec(), s, e)));
            assert!(p.part.len() <= MAX_PIECE);
        }
        p.finish(|b, s, e| got.push((b.to_vec(), s, e)));
        got
    }

    #[test]
    fn pieces_hold_a_bounded_part_of_a_line_and_lose_nothing() {
        let mut data = b"short\n".to_vec();
        data.extend(vec![b'e'; 3 * MAX_PIECE + 5]);
        data.extend(b"\n");
        data.extend(vec![b'f'; MAX_PIECE - 1]);
        data.extend(b"\nend");
        for n in [1, 7, 1000, MAX_PIECE - 1, MAX_PIECE, 3 * MAX_PIECE] {
            let got = pieces_of(&data, n);
            let all: Vec<u8> = got.iter().flat_map(|(b, _, _)| b.clone()).collect();
            assert_eq!(all, data, "{n}");
            // Lines up to MAX_PIECE bytes come whole.
            assert!(got.contains(&(b"short\n".to_vec(), true, true)), "{n}");
            let mut f = vec![b'f'; MAX_PIECE - 1];
            f.push(b'\n');
            assert!(got.contains(&(f, true, true)), "{n}");
            assert_eq!(got.last(), Some(&(b"end".to_vec(), true, true)), "{n}");
            // Each line starts once and ends once; no piece beyond the chunk fed or MAX_PIECE.
            assert_eq!(got.iter().filter(|g| g.1).count(), 4, "{n}");
            assert_eq!(got.iter().filter(|g| g.2).count(), 4, "{n}");
            assert!(got.iter().all(|g| g.0.len() <= MAX_PIECE.max(n)), "{n}");
        }
        // A long last line without a newline is ended by `finish`.
        let got = pieces_of(&vec![b'e'; 2 * MAX_PIECE], MAX_PIECE);
        assert_eq!(got.last(), Some(&(vec![], false, true)));
        assert!(pieces_of(b"", 1).is_empty());
    }
}
