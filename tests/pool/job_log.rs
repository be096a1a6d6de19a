//! The job log under failing writes and torn rows (issue 23.3): a row the log cannot take
//! fails the run with the log's path and the cause, and leaves no torn row behind; `resume`
//! reads every intact row of a torn log and says how many lines it skipped.

use crate::harness::TempDir;
use crate::signals::{start, start_cmd};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Every line of a log is a whole row: the file ends in a newline and each row after the
/// header has 9 fields, the last one a 16-digit key. Returns the number of rows.
#[track_caller]
fn whole_rows(log: &[u8]) -> usize {
    assert!(log.ends_with(b"\n"), "the log ends in a torn row");
    let text = std::str::from_utf8(log).expect("the log is UTF-8");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("seq\titem\tstart\tseconds\tattempts\texit\tsignal\terror\tkey")
    );
    let mut rows = 0;
    for l in lines {
        let f: Vec<&str> = l.split('\t').collect();
        assert_eq!(f.len(), 9, "a torn row: {l:?}");
        assert!(
            f[8].len() == 16 && f[8].bytes().all(|b| b.is_ascii_hexdigit()),
            "a torn key: {l:?}"
        );
        rows += 1;
    }
    rows
}

/// A 64 KiB tmpfs on `dir`, unmounted on drop (the tests that use it need root: they are
/// ignored unless built with `FLOW_REQUIRE_ROOT=1`).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path) -> Tmpfs {
        // SAFETY: a plain syscall without arguments.
        assert!(
            unsafe { libc::geteuid() } == 0,
            "mounting a tmpfs needs root"
        );
        std::fs::create_dir_all(dir).expect("create the mount point");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "cannot mount a tmpfs here");
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

// A full disk: the run stops with exit 1 naming the log and ENOSPC, and the rows that
// were written are whole (before: exit 0, 1,209 of 20,001 rows, the last cut mid-key).
#[test]
#[cfg_attr(
    not(flow_root),
    ignore = "needs root: build the tests with FLOW_REQUIRE_ROOT=1 (CI does)"
)]
fn a_full_disk_fails_the_run_and_leaves_only_whole_rows() {
    let dir = TempDir::new("log-full-disk");
    let _fs = Tmpfs::mount(&dir.path().join("full"));
    let script = "from 1..=20000 | pool 2 exec { print(it) } log \"full/j.tsv\"\n";
    let done = start(dir.path(), script, &[]).wait(Duration::from_secs(60));
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    assert!(
        done.stderr.contains("flow::run::io")
            && done
                .stderr
                .contains("cannot write log full/j.tsv: No space left on device"),
        "{}",
        done.stderr
    );
    let log = std::fs::read(dir.path().join("full/j.tsv")).expect("the log");
    let rows = whole_rows(&log);
    assert!(rows > 100 && rows < 20000, "{rows} rows");
}

// The same without root: a file size limit (`ulimit -f`, SIGXFSZ ignored so that the write
// fails with EFBIG) cuts the log short in mid-row, for `exec` and for `map`, and whatever
// `on_error` says.
#[test]
fn a_file_size_limit_fails_the_run_and_leaves_only_whole_rows() {
    let dir = TempDir::new("log-fsize");
    let flow = env!("CARGO_BIN_EXE_flow");
    for (n, work) in [
        "exec { print(it) }",
        "exec { print(it) } on_error skip",
        "map { it } on_error continue",
    ]
    .iter()
    .enumerate()
    {
        let log = format!("j{n}.tsv");
        let script = format!("from 1..=20000 | pool 2 {work} log \"{log}\" | count\n");
        std::fs::write(dir.path().join("script.flow"), script).expect("write the script");
        // 64 blocks of 512 bytes.
        let sh = "trap '' XFSZ; ulimit -f 64 && exec \"$0\" script.flow";
        let done = start_cmd(dir.path(), "sh", &["-c", sh, flow]).wait(Duration::from_secs(60));
        assert_eq!(done.code, Some(1), "{work}: {}", done.stderr);
        assert_eq!(done.stdout, "", "{work}: no count after a failed stage");
        assert!(
            done.stderr
                .contains(&format!("cannot write log {log}: File too large")),
            "{work}: {}",
            done.stderr
        );
        let bytes = std::fs::read(dir.path().join(&log)).expect("the log");
        assert!(bytes.len() <= 64 * 512, "{work}: {} bytes", bytes.len());
        let rows = whole_rows(&bytes);
        assert!(rows > 100 && rows < 20000, "{work}: {rows} rows");
    }
}

/// Items the `resume` run printed, sorted.
fn printed(stdout: &str) -> Vec<u32> {
    let mut v: Vec<u32> = stdout.lines().filter_map(|l| l.parse().ok()).collect();
    v.sort_unstable();
    v
}

// A torn row in the middle (cut short, not UTF-8) and a last row without its newline: the
// rows around them still count, and only the items they recorded run again.
#[test]
fn resume_reads_every_intact_row_of_a_torn_log() {
    let dir = TempDir::new("log-torn");
    let d = dir.path();
    let script = "from 1..=8 | pool 2 exec { print(it) } log \"jobs.tsv\" resume\n";
    let done = start(d, script, &[]).wait(Duration::from_secs(30));
    assert_eq!(done.code, Some(0), "{done:?}");
    assert_eq!(printed(&done.stdout), (1..=8).collect::<Vec<_>>());
    // Rows by item; tear 3 (in the middle) and 8 (the last line).
    let log = std::fs::read_to_string(d.join("jobs.tsv")).expect("the log");
    let mut rows: Vec<&str> = log.lines().skip(1).collect();
    rows.sort_by_key(|r| r.split('\t').nth(1).and_then(|i| i.parse::<u32>().ok()));
    let mut torn = b"seq\titem\tstart\tseconds\tattempts\texit\tsignal\terror\tkey\n".to_vec();
    for (k, r) in rows.iter().enumerate() {
        match k + 1 {
            3 => {
                torn.extend_from_slice(&r.as_bytes()[..r.len() / 2]);
                torn.extend_from_slice(b"\xc3\xff\n");
            }
            8 => torn.extend_from_slice(&r.as_bytes()[..r.len() - 3]),
            _ => {
                torn.extend_from_slice(r.as_bytes());
                torn.push(b'\n');
            }
        }
    }
    std::fs::write(d.join("jobs.tsv"), &torn).expect("write the torn log");

    let done = start(d, script, &[]).wait(Duration::from_secs(30));
    assert_eq!(done.code, Some(0), "{done:?}");
    assert_eq!(printed(&done.stdout), [3, 8], "{}", done.stderr);
    assert!(
        done.stderr
            .contains("flow: warning: resume: skipped 2 unreadable rows of jobs.tsv"),
        "{}",
        done.stderr
    );
    // The new rows are not glued to the torn last line; a third run has nothing to do but
    // still reports the two torn lines it skips.
    let log = std::fs::read(d.join("jobs.tsv")).expect("the log");
    let text = String::from_utf8_lossy(&log);
    for item in ["3", "8"] {
        assert!(
            text.lines()
                .any(|l| l.split('\t').nth(1) == Some(item) && l.split('\t').count() == 9),
            "no whole row for {item}:\n{text}"
        );
    }
    let done = start(d, script, &[]).wait(Duration::from_secs(30));
    assert_eq!(done.code, Some(0), "{done:?}");
    assert_eq!(done.stdout, "");
    assert!(
        done.stderr.contains("skipped 2 unreadable rows"),
        "{}",
        done.stderr
    );
}
