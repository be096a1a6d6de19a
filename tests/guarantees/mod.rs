//! Nothing lost, nothing left behind: every failed write is an error naming the path and
//! the cause; a closed stdout stops all the work at once, quietly, exit 0; refused
//! resources are `flow::run::resources`, never a panic or an abort; no job outlives
//! `pkill -9 flow`, nor the watchdog's death followed by flow's. Each test runs the `flow`
//! binary as a user would (stdout on `/dev/full`, a reader that goes away, a limit set with
//! `prlimit`, signals from outside). Tests that need root (tmpfs, `setpriv`) say so and are
//! are reported as ignored unless the tests were built with `FLOW_REQUIRE_ROOT=1` (CI runs as
//! root and sets it).

use crate::harness::{poll_until, wait_for_exit, wait_until, Flow, TempDir};
use crate::signals::{processes_with, timing_sensitive, wait_until_gone, wait_until_present};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

fn flow() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_flow"));
    c.env("NO_COLOR", "1")
        .env("COLUMNS", "400")
        .stdin(Stdio::null());
    c
}

/// `flow script.flow` in `dir`, the script written there: unlike `-c`, flow's command line
/// does not hold the script's text, so looking for a job's tag in `/proc` finds the job.
fn flow_script(dir: &std::path::Path, script: &str) -> Command {
    std::fs::write(dir.join("script.flow"), script).expect("write the script");
    let mut c = flow();
    c.arg("script.flow").current_dir(dir);
    c
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Run `flow -c src` with stdout on `/dev/full`: (exit code, stderr).
fn to_dev_full(src: &str) -> (Option<i32>, String) {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let out = flow()
        .args(["-c", src])
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .expect("run flow");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn every_form_of_output_into_a_full_stdout_is_an_error_naming_the_cause() {
    for src in [
        "from 1..=3 | map { it }",
        "print(1)",
        "for i in 1..=3 { print(i) }",
        "from 1..=3 | count",
        "from 1..=3 | pool 2 exec echo ${it}",
        "from 1..=3 | pool 2 map { it }",
        "from 1..=3 | pool 2 exec { print(it) }",
        "let x = 1\nprint(x)\nlet y = 2",
    ] {
        let (code, err) = to_dev_full(src);
        assert_eq!(code, Some(1), "{src}: {err}");
        assert!(
            err.contains("flow::run::io") && err.contains("No space left on device"),
            "{src}: {err}"
        );
    }
}

#[test]
fn a_full_file_of_any_stage_is_an_error_naming_the_path() {
    for src in [
        "from 1..=100000 | map { it } > \"/dev/full\"",
        "from 1..=3 | count > \"/dev/full\"",
        "from 1..=3 | pool 2 exec seq ${it} 20000 > \"/dev/full\"",
        "from 1..=3 | pool 2 map { it } > \"/dev/full\"",
    ] {
        let (code, err) = to_dev_full(src);
        assert_eq!(code, Some(1), "{src}: {err}");
        assert!(
            err.contains("cannot write /dev/full: No space left on device"),
            "{src}: {err}"
        );
        // The jobs were stopped because the output failed: that is not their failure.
        assert!(!err.contains("SIGPIPE"), "{src}: {err}");
    }
}

/// A file on a 64 KiB tmpfs: the run fails naming the file, it does not end 0 with a
/// truncated file.
#[test]
#[cfg_attr(
    not(flow_root),
    ignore = "needs root: build the tests with FLOW_REQUIRE_ROOT=1 (CI does)"
)]
fn a_file_on_a_full_disk_fails_the_run() {
    assert!(is_root(), "mounting a tmpfs needs root");
    let dir = TempDir::new("full-disk");
    let mnt = dir.path().join("small");
    std::fs::create_dir(&mnt).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "mount -t tmpfs failed");
    let target = mnt.join("out.txt");
    let src = format!("from 1..=100000 | map {{ it }} > \"{}\"", target.display());
    let out = flow().args(["-c", &src]).output().expect("run flow");
    let _ = Command::new("umount").arg(&mnt).status();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    // (The report wraps long lines: the path and the cause are checked apart.)
    assert!(
        err.contains("cannot write /") && err.contains("small/out.txt"),
        "{err}"
    );
    assert!(err.contains("No space left on"), "{err}");
}

/// Start `flow -c src`, read `lines` lines of its stdout, then close the pipe: flow must
/// stop everything at once, quietly, and exit 0.
fn reader_goes_away(src: &str, lines: usize) {
    let mut child = flow()
        .args(["-c", src])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start flow");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    for _ in 0..lines {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "{src}: stdout ended early");
    }
    drop(out);
    let Some(status) = wait_for_exit(&mut child, Duration::from_secs(10)) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{src}: still running 10 s after its reader went away");
    };
    let mut err = String::new();
    let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err);
    assert_eq!(status.code(), Some(0), "{src}: {err}");
    assert_eq!(err, "", "{src}");
}

#[test]
fn a_closed_stdout_stops_every_form_quietly_with_exit_0() {
    let _g = timing_sensitive();
    for src in [
        "for i in 1..1000000000 { print(i) }",
        "yes",
        "yes | cat",
        "sh \"yes\"",
        "from 1..=100000000 | map { it }",
        "from 1..=100000000 | map { it } | filter { true }",
        "from 1..=1000000 | pool 2 exec echo ${it}",
        "from 1..=100000000 | pool 2 map { it }",
        // Other work stops too: a task, another stage.
        "let t = spawn { sleep(100) }\nfor i in 1..1000000000 { print(i) }",
        "let t = spawn { sleep 100 }\nyes",
    ] {
        reader_goes_away(src, 1);
    }
}

#[test]
fn the_system_allocator_runs_a_pool_under_an_address_space_limit() {
    // `ulimit -v 600000`: KiB.
    let out = Command::new("prlimit")
        .arg(format!("--as={}", 600_000 * 1024))
        .arg(env!("CARGO_BIN_EXE_flow"))
        .args(["-c", "from 1..=100 | pool 4 map { it * 2 } | count"])
        .output()
        .expect("prlimit");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "100\n");
}

#[test]
fn refused_memory_is_a_resources_error_not_an_abort() {
    let out = Command::new("prlimit")
        .arg(format!("--as={}", 600_000 * 1024))
        .arg(env!("CARGO_BIN_EXE_flow"))
        .args([
            "-c",
            "let s = \"x\"\nfor i in 1..40 { s += s }\nprint(s.len())",
        ])
        .output()
        .expect("prlimit");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("flow::run::resources"), "{err}");
    assert!(!err.contains("memory allocation of"), "{err}");
}

/// As an unprivileged user limited to 20 processes and threads, a pool of 30 cannot start
/// all its workers: a resources error naming what was refused, exit 1, no panic (101).
#[test]
#[cfg_attr(
    not(flow_root),
    ignore = "needs root: build the tests with FLOW_REQUIRE_ROOT=1 (CI does)"
)]
fn a_refused_thread_or_process_is_a_resources_error() {
    assert!(is_root(), "dropping to another user needs root");
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .args(["prlimit", "--nproc=20"])
        .arg(env!("CARGO_BIN_EXE_flow"))
        .args(["-c", "from 1..=40 | pool 30 exec sleep 0.5 ${it}"])
        .current_dir("/")
        .output()
        .expect("setpriv");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("flow::run::resources"), "{err}");
    assert!(err.contains("the system refused"), "{err}");
}

/// A file named `-rf` beside a directory: `rm *` must not take the name for an option.
#[test]
fn a_glob_match_that_begins_with_a_dash_is_passed_as_a_path() {
    let out = Flow::new()
        .write("-rf", "")
        .write("important/keep.txt", "precious")
        .script("unchecked rm *\nls important\n")
        .run();
    assert!(out.stderr.contains("Is a directory"), "{}", out.stderr);
    // `rm ./-rf important …`: the file is gone, the directory (not recursive) is kept.
    assert!(out.stdout.contains("keep.txt"), "{}", out.stdout);
    Flow::new()
        .write("-n", "")
        .write("b", "")
        .script("from glob(\"*\") | map { it }\necho *\n")
        .stdout("./-n\nb\nscript.flow\n./-n b script.flow\n")
        .run();
}

/// The pids of `pid`'s children named `name` (comm), whichever of its threads started them.
fn children_named(pid: u32, name: &str) -> Vec<i32> {
    crate::harness::children_of(pid)
        .into_iter()
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == name)
        })
        .collect()
}

fn kill(pid: i32, sig: i32) {
    // SAFETY: kill(2) of a process this test started (or its watchdog).
    unsafe { libc::kill(pid, sig) };
}

/// `pkill -9 flow` matches every process named like flow: the watchdog must not be one, so
/// that it survives to clean up.
#[test]
fn no_job_survives_pkill_9_flow() {
    let _g = timing_sensitive();
    let dir = TempDir::new("pkill");
    let tag = "sleep 65.1";
    let mut child = flow_script(dir.path(), "from 1..=6 | pool 3 exec sleep 65.1 ${it}")
        .spawn()
        .expect("start flow");
    assert!(
        wait_until_present(tag, 3, Duration::from_secs(5)),
        "jobs did not start"
    );
    let pid = child.id();
    // What `pkill -9 flow` would hit among flow's own: flow, and any child named `flow`.
    let named_flow = children_named(pid, "flow");
    assert!(
        named_flow.is_empty(),
        "a child is named flow: {named_flow:?}"
    );
    assert_eq!(children_named(pid, "fl-watchdog").len(), 1, "no watchdog");
    kill(i32::try_from(pid).unwrap(), libc::SIGKILL);
    let _ = child.wait();
    let left = wait_until_gone(tag, Duration::from_secs(3));
    assert!(left.is_empty(), "outlived pkill -9 flow: {left:?}");
}

/// The watchdog is SIGKILLed, then flow once another watchdog runs (flow looks every 100 ms,
/// so within half a second): the new one knows every job.
#[test]
fn a_killed_watchdog_is_replaced() {
    let _g = timing_sensitive();
    let dir = TempDir::new("dog-killed");
    let tag = "sleep 65.2";
    let mut child = flow_script(
        dir.path(),
        "spawn { sh \"sleep 65.2 & sleep 65.2\" }\nfrom 1..=6 | pool 3 exec sleep 65.2 ${it}",
    )
    .spawn()
    .expect("start flow");
    assert!(
        wait_until_present(tag, 5, Duration::from_secs(5)),
        "jobs did not start"
    );
    let pid = child.id();
    let dogs = children_named(pid, "fl-watchdog");
    assert_eq!(dogs.len(), 1, "one watchdog");
    kill(dogs[0], libc::SIGKILL);
    // Half a second is the bound the test claims, not a guess: it returns at the replacement.
    let replaced = wait_until(Duration::from_millis(500), || {
        let new = children_named(pid, "fl-watchdog");
        new.len() == 1 && new[0] != dogs[0]
    });
    let new = children_named(pid, "fl-watchdog");
    assert!(replaced, "not replaced within 500 ms: {new:?}");
    kill(i32::try_from(pid).unwrap(), libc::SIGKILL);
    let _ = child.wait();
    let left = wait_until_gone(tag, Duration::from_secs(3));
    assert!(left.is_empty(), "outlived the watchdog and flow: {left:?}");
}

/// An orphan whose parent was a grandchild of flow, SIGKILLed before flow's next look
/// adopts it (within 100 ms): no group and no ancestry leads to it any more, but it carries
/// `FLOW_PID`, and the watchdog finds it by that.
#[test]
fn an_orphan_flow_has_not_yet_adopted_dies_with_flow() {
    let _g = timing_sensitive();
    let dir = TempDir::new("orphan-mark");
    let tag = "sleep 65.5";
    let mut child = flow_script(
        dir.path(),
        "sh \"sh -c 'setsid sleep 65.5 & exit 0'; sleep 100\"",
    )
    .spawn()
    .expect("start flow");
    // The moment the `sleep` is orphaned: its parent is flow (the subreaper) and flow has
    // not looked yet (it looks every 100 ms).
    // Looked for every 200 µs: the moment is short.
    let flow_pid = i32::try_from(child.id()).unwrap();
    let orphaned = poll_until(Duration::from_secs(10), Duration::from_micros(200), || {
        sleep_with_parent(flow_pid)
    });
    kill(flow_pid, libc::SIGKILL);
    let _ = child.wait();
    let left = wait_until_gone(tag, Duration::from_secs(3));
    if !left.is_empty() {
        let _ = Command::new("pkill").args(["-9", "-f", tag]).status();
    }
    assert!(orphaned, "the sleep was never orphaned to flow");
    assert!(left.is_empty(), "outlived flow: {left:?}");
}

/// Whether a process `sleep 65.5` (exactly that argv) has `parent` for its parent.
fn sleep_with_parent(parent: i32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|e| {
        std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c == b"sleep\x0065.5\x00")
            && std::fs::read_to_string(e.path().join("stat")).is_ok_and(|st| {
                st.rsplit_once(") ")
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<i32>().ok())
                    == Some(parent)
            })
    })
}

/// SIGKILL at random moments while jobs start all the time, on a busy machine: a job is
/// known to the watchdog before it runs, so none is left behind.
#[test]
fn sigkill_while_jobs_start_on_a_busy_machine_leaves_nothing() {
    let _g = crate::signals::heavy();
    let tag = "sleep 65.3";
    let mut busy: Vec<std::process::Child> = (0..2)
        .map(|_| {
            Command::new("sh")
                .args(["-c", "exec yes > /dev/null"])
                .spawn()
                .expect("yes")
        })
        .collect();
    let mut failures = vec![];
    for round in 0..10u64 {
        let dir = TempDir::new("busy-sigkill");
        let mut child = flow_script(
            dir.path(),
            "from 1..=100000 | pool 4 exec sh \": ${it}; sleep 65.3 & sleep 0.01\"",
        )
        .stdout(Stdio::null())
        .spawn()
        .expect("start flow");
        // Jobs start all the time once the first one has: from there, a moment that moves
        // 37 ms a round is the moment under test (not a guess at flow's progress).
        let started = wait_until_present(tag, 1, Duration::from_secs(20));
        if !started {
            failures.push(format!("round {round}: no job started within 20 s"));
        }
        std::thread::sleep(Duration::from_millis(37 * round));
        kill(i32::try_from(child.id()).unwrap(), libc::SIGKILL);
        let _ = child.wait();
        let left = wait_until_gone(tag, Duration::from_secs(3));
        if !left.is_empty() {
            failures.push(format!("round {round}: {} left", left.len()));
            let _ = Command::new("pkill").args(["-9", "-f", tag]).status();
        }
    }
    for b in &mut busy {
        let _ = b.kill();
        let _ = b.wait();
    }
    assert!(
        failures.is_empty(),
        "{failures:?} {:?}",
        processes_with(tag)
    );
}

/// SIGHUP (the terminal went away) runs the shutdown sequence: the jobs get SIGHUP, the
/// `on_interrupt` blocks run, flow exits 129.
#[test]
fn sighup_runs_the_shutdown_sequence() {
    let _g = timing_sensitive();
    let dir = TempDir::new("sighup");
    let tag = "sleep 65.4";
    let child = flow_script(
        dir.path(),
        "on_interrupt { print(\"cleaned up\") }\nfrom 1..=2 | pool 2 exec sleep 65.4 ${it}",
    )
    .stdout(Stdio::piped())
    .spawn()
    .expect("start flow");
    assert!(
        wait_until_present(tag, 2, Duration::from_secs(5)),
        "jobs did not start"
    );
    kill(i32::try_from(child.id()).unwrap(), libc::SIGHUP);
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(129));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "cleaned up\n");
    assert!(wait_until_gone(tag, Duration::from_secs(3)).is_empty());
}
