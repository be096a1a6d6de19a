//! A failing command's stderr is forwarded whole and its last lines kept for the report, in
//! bounded memory however long a line is (issue 23, item 11: one 300 MB line without a
//! newline made flow peak at 891 MB). Each way a command's stderr is read is covered: a
//! statement's command (a thread per child), a pool `exec` job (the worker's poll loop) and
//! an `on slurm` job (srun's stderr, through a stand-in `srun`).

use crate::harness::{poll_until, TempDir};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Bytes of the one line, written without a newline.
const LINE: usize = 200_000_000;
/// Peak RSS allowed, in MB: the old code needed about three times the line.
const PEAK_MB: libc::c_long = 100;

/// What a run of flow gave.
struct Run {
    code: i32,
    /// Bytes of `e` that stderr starts with.
    leading_e: usize,
    /// The last bytes of stderr: the report.
    end: String,
    /// Peak RSS of flow (and of the children it reaped), in MB.
    peak_mb: libc::c_long,
}

/// Run `flow -c script` with `path` as `PATH`; stderr counted as it comes.
fn run(dir: &std::path::Path, path: &str, script: &str) -> Run {
    // Reaped below by wait4, which also gives the peak RSS.
    #[allow(clippy::zombie_processes)]
    let mut child = Command::new(env!("CARGO_BIN_EXE_flow"))
        .args(["-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("start flow");
    let pid = i32::try_from(child.id()).expect("pid fits in i32");
    let mut err = child.stderr.take().expect("piped stderr");
    let reader = std::thread::spawn(move || {
        let (mut leading_e, mut in_e, mut end) = (0, true, Vec::new());
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let k = match err.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(k) => k,
            };
            let got = &buf[..k];
            if in_e {
                let e = got.iter().take_while(|b| **b == b'e').count();
                leading_e += e;
                in_e = e == k;
            }
            end.extend_from_slice(got);
            let cut = end.len().saturating_sub(4096);
            end.drain(..cut);
        }
        (leading_e, String::from_utf8_lossy(&end).into_owned())
    });
    let mut status = 0;
    // SAFETY: a zeroed rusage is valid; wait4 fills it for our own child, which nothing
    // else waits for.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let exited = poll_until(Duration::from_secs(120), Duration::from_millis(10), || {
        // SAFETY: as above.
        let waited = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        assert!(waited == pid || waited == 0, "wait4: {waited}");
        waited == pid
    });
    if !exited {
        // SAFETY: plain syscall on the process group of our own, not yet reaped, child.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
        panic!("flow -c {script}: timed out");
    }
    // SAFETY: as above; what flow left in its group must not outlive the test.
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    let (leading_e, end) = reader.join().expect("stderr reader");
    Run {
        code: if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -1
        },
        leading_e,
        end,
        // Linux gives ru_maxrss in kB.
        peak_mb: usage.ru_maxrss / 1024,
    }
}

/// A command that writes one long line of `e` to stderr and fails.
fn long_line() -> String {
    format!("sh \"head -c {LINE} /dev/zero | tr '\\\\0' e >&2; exit 3\"")
}

/// [`long_line`] as a pool job of the item `3`, which is its exit status.
fn long_line_job() -> String {
    format!("sh \"head -c {LINE} /dev/zero | tr '\\\\0' e >&2; exit ${{it}}\"")
}

fn check(run: &Run, what: &str) {
    assert_eq!(run.code, 1, "{what}: {}", run.end);
    assert_eq!(run.leading_e, LINE, "{what}: every byte forwarded");
    assert!(
        run.peak_mb < PEAK_MB,
        "{what}: peak RSS {} MB for a {} MB line",
        run.peak_mb,
        LINE / 1_000_000
    );
    assert!(
        run.end.contains("last lines of its stderr"),
        "{what}: {}",
        run.end
    );
    // The line's start is kept, cut, in the report.
    assert!(run.end.contains("eeeeeeeeee…"), "{what}: {}", run.end);
}

#[test]
fn a_long_stderr_line_of_a_command_is_forwarded_in_bounded_memory() {
    let _g = crate::signals::heavy();
    let dir = TempDir::new("stderr-long-line");
    let path = std::env::var("PATH").unwrap_or_default();
    check(&run(dir.path(), &path, &long_line()), "statement");
}

#[test]
fn a_long_stderr_line_of_a_pool_job_is_forwarded_in_bounded_memory() {
    let _g = crate::signals::heavy();
    let dir = TempDir::new("stderr-long-line-pool");
    let path = std::env::var("PATH").unwrap_or_default();
    let pool = format!("from [3] | pool 1 exec {}", long_line_job());
    check(&run(dir.path(), &path, &pool), "pool exec");
}

#[test]
fn a_long_stderr_line_of_a_slurm_job_is_forwarded_in_bounded_memory() {
    let _g = crate::signals::heavy();
    let dir = TempDir::new("stderr-long-line-slurm");
    let path = crate::slurm::stand_ins(dir.path());
    let script = format!("from [3] | pool 1 exec {} on slurm", long_line_job());
    check(&run(dir.path(), &path, &script), "on slurm");
}
