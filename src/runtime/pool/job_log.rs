//! The job log (`log "jobs.tsv"`) and the key `resume` goes by. One TSV row per finished
//! item under a header row; tabs, newlines and backslashes in a field are escaped (`\t`,
//! `\n`, `\\`) and an empty field is written `-`, so that `column -t -s $'\t'` and pandas'
//! `read_csv(sep="\t")` read it as a table.

use super::super::run_error::{RunError, RunErrorKind};
use crate::Span;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::sync::Mutex;
use std::time::SystemTime;

pub(super) const HEADER: &str = "seq\titem\tstart\tseconds\tattempts\texit\tsignal\terror\tkey\n";

/// An open job log; rows from every worker are appended whole.
pub(super) struct JobLog {
    file: Mutex<File>,
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

impl JobLog {
    pub(super) fn open(path: &str, span: Span) -> Result<JobLog, RunError> {
        let io = |e: std::io::Error| {
            RunError::new(
                span,
                RunErrorKind::Io {
                    message: format!("cannot open log {path}: {e}"),
                },
            )
        };
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        if f.metadata().map_err(io)?.len() == 0 {
            f.write_all(HEADER.as_bytes()).map_err(io)?;
        }
        Ok(JobLog {
            file: Mutex::new(f),
        })
    }

    pub(super) fn write(&self, r: &Row<'_>) {
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
        let _ = self
            .file
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .write_all(row.as_bytes());
    }
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

/// Keys of the items a log records as succeeded (exit 0, no signal, no error).
pub(super) fn succeeded(path: &str) -> HashSet<u64> {
    let Ok(f) = File::open(path) else {
        return HashSet::new();
    };
    BufReader::new(f)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            let ok = c.len() == 9 && c[5] == "0" && c[6] == "0" && c[7] == "-";
            ok.then(|| u64::from_str_radix(c[8], 16).ok()).flatten()
        })
        .collect()
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

    #[test]
    fn fields_are_escaped() {
        assert_eq!(escape("a\tb\nc\\"), "a\\tb\\nc\\\\");
        assert_eq!(escape(""), "-");
    }
}
