//! The job log (`log "jobs.tsv"`) and the key `resume` goes by. One TSV row per finished
//! item under a header row; tabs, newlines and backslashes in a field are escaped (`\t`,
//! `\n`, `\\`) and an empty field is written `-`, so that `column -t -s $'\t'` and pandas'
//! `read_csv(sep="\t")` read it as a table.

use super::super::run_error::{RunError, RunErrorKind};
use super::super::{around_progress, output, Runtime, Stream};
use crate::Span;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::sync::Mutex;
use std::time::SystemTime;

pub(super) const HEADER: &str = "seq\titem\tstart\tseconds\tattempts\texit\tsignal\terror\tkey\n";

/// Fields of a row.
const FIELDS: usize = 9;

/// An open job log; rows from every worker are appended whole, one `write` each.
pub(super) struct JobLog {
    file: Mutex<File>,
    /// As written in the script, for messages.
    path: String,
    /// The pool stage's, for errors.
    span: Span,
}

/// One finished item.
pub(super) struct Row<'a> {
    /// 1-based position of the item in the stage's input.
    pub(super) seq: usize,
    pub(super) item: &'a str,
    pub(super) start: SystemTime,
    pub(super) secs: f64,
    pub(super) attempts: u32,
    /// Exit status; -1 when the job did not exit (a signal, or it never started).
    pub(super) exit: i32,
    /// The signal that ended the job, 0 for none.
    pub(super) signal: i32,
    pub(super) error: Option<&'a RunError>,
    pub(super) key: u64,
}

fn io_error(span: Span, message: String) -> RunError {
    RunError::new(span, RunErrorKind::Io { message })
}

impl JobLog {
    /// Open (create) the log for appending: a header row if it is empty; a newline if it
    /// ends in a row torn by a crash, so that the next row is not glued to it.
    pub(super) fn open(path: &str, span: Span) -> Result<JobLog, RunError> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| io_error(span, format!("cannot open log {path}: {e}")))?;
        let meta = f
            .metadata()
            .map_err(|e| io_error(span, format!("cannot open log {path}: {e}")))?;
        let log = JobLog {
            file: Mutex::new(f),
            path: path.to_string(),
            span,
        };
        if meta.len() == 0 {
            log.append(HEADER.as_bytes())?;
        } else if meta.is_file() && !ends_in_newline(path, meta.len()) {
            log.append(b"\n")?;
        }
        Ok(log)
    }

    /// Append a row for `r`. An error (a full disk, an I/O error) names the log and the
    /// cause; the log then holds no part of the row, if it could be taken back.
    pub(super) fn write(&self, r: &Row<'_>) -> Result<(), RunError> {
        let start = r
            .start
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let error = r.error.map(ToString::to_string).unwrap_or_default();
        let row = format!(
            "{}\t{}\t{start:.3}\t{:.3}\t{}\t{}\t{}\t{}\t{:016x}\n",
            r.seq,
            escape(r.item),
            r.secs,
            r.attempts,
            r.exit,
            r.signal,
            escape(&error),
            r.key
        );
        self.append(row.as_bytes())
    }

    fn append(&self, row: &[u8]) -> Result<(), RunError> {
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        append_whole(&mut f, row)
            .map_err(|e| io_error(self.span, format!("cannot write log {}: {e}", self.path)))
    }
}

/// Write `row` at the end of `f` (opened `O_APPEND`) with one `write`. If that wrote only a
/// part (a full disk takes what fits), the rest is written after it; if that fails too, the
/// part is cut off again so that no torn row stays, and the error is the write's.
fn append_whole(f: &mut File, row: &[u8]) -> io::Result<()> {
    let mut written = 0;
    while written < row.len() {
        match f.write(&row[written..]) {
            Ok(0) => {
                let e = io::Error::new(io::ErrorKind::WriteZero, "nothing was written");
                return Err(untear(f, written, e));
            }
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(untear(f, written, e)),
        }
    }
    Ok(())
}

/// After `written` bytes of a row went to the end of `f` and the rest failed with `e`: cut
/// them off. Returns the error to report (saying so if the row could not be cut off).
fn untear(f: &File, written: usize, e: io::Error) -> io::Error {
    if written == 0 {
        return e;
    }
    let cut = f.metadata().and_then(|m| {
        let len = m.len().checked_sub(written as u64).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "the file is shorter than written",
            )
        })?;
        f.set_len(len)
    });
    match cut {
        Ok(()) => e,
        Err(c) => io::Error::new(
            e.kind(),
            format!("{e}; its last row is torn (cannot cut it off: {c})"),
        ),
    }
}

/// Whether the last of the `len` bytes of the file at `path` is a newline (true when it
/// cannot be read: nothing is added then).
fn ends_in_newline(path: &str, len: u64) -> bool {
    let mut last = [b'\n'];
    let read = File::open(path).and_then(|mut f| {
        f.seek(SeekFrom::Start(len.saturating_sub(1)))?;
        f.read_exact(&mut last)
    });
    read.is_err() || last[0] == b'\n'
}

/// A field with tabs, newlines and backslashes escaped; `-` when empty.
pub(super) fn escape(s: &str) -> String {
    if s.is_empty() {
        return "-".into();
    }
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\t' => o.push_str("\\t"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\\' => o.push_str("\\\\"),
            c => o.push(c),
        }
    }
    o
}

/// FNV-1a, 64 bits: stable across platforms and flow versions, so a log keeps its keys.
fn fnv(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0xff;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for &b in *p {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The keys of a stage's items: a hash of the item, its occurrence number among equal items
/// and the job's command text — never the pool's options or size.
pub(super) struct Keyer {
    work: String,
    /// Occurrences so far, by the hash of the item alone (8 bytes per distinct item).
    seen: HashMap<u64, u32>,
}

impl Keyer {
    pub(super) fn new(work: String) -> Self {
        Keyer {
            work,
            seen: HashMap::new(),
        }
    }

    pub(super) fn key(&mut self, item: &str) -> u64 {
        let n = self.seen.entry(fnv(&[item.as_bytes()])).or_insert(0);
        *n += 1;
        fnv(&[
            item.as_bytes(),
            n.to_string().as_bytes(),
            self.work.as_bytes(),
        ])
    }
}

/// What `resume` reads from a log.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Recorded {
    /// Keys of the items recorded as succeeded (exit 0, no signal, no error).
    pub(super) done: HashSet<u64>,
    /// Lines that are no row: torn by a crash or a full disk, not UTF-8, the wrong number
    /// of fields, a field that does not parse; a last line without its newline.
    pub(super) unreadable: usize,
}

/// The keys `resume` skips: every intact row of the log at `path` is read, whatever lines
/// around it are torn. The count of unreadable lines is a warning (`path` as written).
/// A log that does not exist records nothing; one that cannot be read is an error.
pub(super) fn resume(path: &str, span: Span, rt: &Runtime) -> Result<HashSet<u64>, RunError> {
    let read = |e: io::Error| io_error(span, format!("cannot read log {path}: {e}"));
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(HashSet::new()),
        Err(e) => return Err(read(e)),
    };
    let rec = recorded(BufReader::new(f)).map_err(read)?;
    if rec.unreadable > 0 {
        let n = rec.unreadable;
        let line = format!(
            "flow: warning: resume: skipped {n} unreadable row{} of {path}\n",
            if n == 1 { "" } else { "s" }
        );
        around_progress(&rt.progress, || {
            let _ = output::write(rt.output.as_ref(), Stream::Stderr, line.as_bytes());
        });
    }
    Ok(rec.done)
}

/// Read a log line by line as bytes: one bad line is skipped, never the lines after it.
fn recorded(mut r: impl BufRead) -> io::Result<Recorded> {
    let mut rec = Recorded::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line)? == 0 {
            return Ok(rec);
        }
        // A last line without its newline was cut short while being written.
        let Some(whole) = line.strip_suffix(b"\n") else {
            rec.unreadable += 1;
            return Ok(rec);
        };
        let whole = whole.strip_suffix(b"\r").unwrap_or(whole);
        if whole.is_empty() || whole == HEADER.trim_end().as_bytes() {
            continue;
        }
        match parse_row(whole) {
            Some(Some(key)) => {
                rec.done.insert(key);
            }
            Some(None) => {}
            None => rec.unreadable += 1,
        }
    }
}

/// A row's key if it records a success; `Some(None)` for a row of a failure; `None` for a
/// line that is no row.
fn parse_row(line: &[u8]) -> Option<Option<u64>> {
    let c: Vec<&str> = std::str::from_utf8(line).ok()?.split('\t').collect();
    if c.len() != FIELDS {
        return None;
    }
    c[0].parse::<usize>().ok()?;
    c[2].parse::<f64>().ok()?;
    c[3].parse::<f64>().ok()?;
    c[4].parse::<u32>().ok()?;
    let exit: i32 = c[5].parse().ok()?;
    let signal: i32 = c[6].parse().ok()?;
    let key = c[8];
    if key.len() != 16 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let key = u64::from_str_radix(key, 16).ok()?;
    Some((exit == 0 && signal == 0 && c[7] == "-").then_some(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_items_get_keys_of_their_own() {
        let mut k = Keyer::new("exec gzip ${it}".into());
        let (a1, b, a2) = (k.key("a"), k.key("b"), k.key("a"));
        assert_ne!(a1, a2);
        assert_ne!(a1, b);
        let mut again = Keyer::new("exec gzip ${it}".into());
        assert_eq!(again.key("a"), a1);
        let mut other = Keyer::new("exec bzip2 ${it}".into());
        assert_ne!(other.key("a"), a1);
    }

    fn row(item: &str, exit: i32, key: u64) -> String {
        format!("1\t{item}\t1.000\t0.100\t1\t{exit}\t0\t-\t{key:016x}\n")
    }

    #[test]
    fn resume_reads_past_torn_lines() {
        let mut log = HEADER.as_bytes().to_vec();
        log.extend_from_slice(row("a", 0, 1).as_bytes());
        // Torn in the middle of a character, then the next row glued to it.
        log.extend_from_slice(b"2\tcaf\xc3");
        log.extend_from_slice(row("b", 0, 2).as_bytes());
        log.extend_from_slice(b"\xff\xfe\n\n");
        log.extend_from_slice(row("c", 1, 3).as_bytes());
        // A key cut short, a field that is no number, a row with a field too many.
        log.extend_from_slice(
            row("d", 0, 4)
                .replace("0000000000000004", "0004")
                .as_bytes(),
        );
        log.extend_from_slice(row("e", 0, 5).replace("\t1\t0", "\tx\t0").as_bytes());
        log.extend_from_slice(row("f\tg", 0, 6).as_bytes());
        log.extend_from_slice(row("h", 0, 7).as_bytes());
        // The last row without its newline: cut short by a crash.
        let last = row("i", 0, 8);
        log.extend_from_slice(last.trim_end().as_bytes());
        let rec = recorded(&log[..]).unwrap();
        assert_eq!(rec.done, HashSet::from([1, 7]));
        assert_eq!(rec.unreadable, 6);
    }

    #[test]
    fn a_whole_row_is_written_or_none_of_it() {
        let path = std::env::temp_dir().join(format!("flow-joblog-{}", std::process::id()));
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        append_whole(&mut f, b"whole\n").unwrap();
        // The rest of a row failed after 3 bytes of it were written: they are cut off.
        f.write_all(b"tor").unwrap();
        let e = untear(&f, 3, io::Error::from_raw_os_error(28));
        assert_eq!(e.raw_os_error(), Some(28));
        assert_eq!(std::fs::read(&path).unwrap(), b"whole\n");
        let _ = std::fs::remove_file(&path);
        let mut full = std::fs::OpenOptions::new()
            .append(true)
            .open("/dev/full")
            .unwrap();
        let e = append_whole(&mut full, b"row\n").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(28));
    }

    #[test]
    fn fields_are_escaped() {
        assert_eq!(escape("a\tb\nc\\"), "a\\tb\\nc\\\\");
        assert_eq!(escape(""), "-");
    }
}
