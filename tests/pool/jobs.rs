//! `exec` jobs: timeouts that fail whatever the exit status, `timeout` reaching `run()` and
//! `sleep` inside a `map` item, Ctrl-C giving jobs SIGINT and the grace period, resume keys
//! that ignore the pool's options and count equal items apart.

use crate::harness::{wait_until, TempDir};
use crate::signals::{start, timing_sensitive};
use std::time::Duration;

// Issue 10.3: a job that outlives its timeout fails even if it then exits 0 on SIGTERM; its
// output is still written in its place.
#[test]
fn a_timed_out_job_fails_even_if_it_exits_0() {
    let _g = timing_sensitive();
    let dir = TempDir::new("timeout-exit-0");
    let script =
        "from [1] | pool 1 exec sh \": ${it}; trap : TERM; sleep 5 & wait; echo done\" timeout 500ms\n";
    let done = start(dir.path(), script, &[]).wait(Duration::from_secs(20));
    assert_eq!(done.code, Some(1), "{done:?}");
    assert!(
        done.stderr.contains("flow::run::timeout"),
        "{}",
        done.stderr
    );
    assert_eq!(done.stdout, "done\n");
    assert!(done.elapsed < Duration::from_secs(3), "{:?}", done.elapsed);
}

// Issue 10.3: the deadline reaches `run()` and `sleep` inside the item.
#[test]
fn a_map_timeout_stops_run_and_sleep_inside_the_item() {
    let _g = timing_sensitive();
    let dir = TempDir::new("timeout-map");
    for script in [
        "from [1] | pool 1 map { run(\"sleep\", [\"5\"]) } timeout 300ms\n",
        "from [1] | pool 1 map { sleep(5); it } timeout 300ms\n",
    ] {
        let done = start(dir.path(), script, &[]).wait(Duration::from_secs(20));
        assert_eq!(done.code, Some(1), "{script}: {done:?}");
        assert!(
            done.stderr.contains("flow::run::timeout"),
            "{script}: {}",
            done.stderr
        );
        assert!(
            done.elapsed >= Duration::from_millis(300) && done.elapsed < Duration::from_secs(2),
            "{script}: took {:?}",
            done.elapsed
        );
    }
}

// Issue 9.5: on Ctrl-C a job gets SIGINT and the grace period, like a statement's command,
// not SIGKILL moments later.
#[test]
fn ctrl_c_gives_jobs_sigint_and_the_grace_period() {
    let _g = timing_sensitive();
    let dir = TempDir::new("pool-ctrl-c");
    let script = "from 1..=2 | pool 2 exec sh \"trap 'echo int$it >> sig.log; stop=1' INT; echo up >> sig.log; while [ -z \\\"\\$stop\\\" ]; do sleep 0.05; done; sleep 0.4; echo bye$it >> sig.log\"\n";
    let flow = start(dir.path(), script, &[]);
    let log = dir.path().join("sig.log");
    assert!(
        wait_until(Duration::from_secs(10), || {
            std::fs::read_to_string(&log).is_ok_and(|l| l.lines().count() >= 2)
        }),
        "the jobs did not start"
    );
    flow.signal(libc::SIGINT);
    let done = flow.wait(Duration::from_secs(20));
    assert_eq!(done.code, Some(130), "{done:?}");
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    for want in ["int1", "int2", "bye1", "bye2"] {
        assert!(
            log.lines().any(|l| l == want),
            "{want} missing from:\n{log}"
        );
    }
}

fn ran(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_to_string(dir.join("ran.txt"))
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect();
    v.sort_unstable();
    let _ = std::fs::remove_file(dir.join("ran.txt"));
    v
}

// Issue 10.1: the key is the item, its occurrence and the command: not the pool's size or
// options; a duplicate item is a job of its own.
#[test]
fn resume_keys_ignore_options_and_count_duplicates() {
    let dir = TempDir::new("resume-keys");
    let d = dir.path();
    let cmd = "exec sh \"echo $it >> ran.txt\" log \"jobs.tsv\"";
    let first = format!("from [\"a\", \"a\", \"b\"] | pool 2 {cmd}\n");
    let done = start(d, &first, &[]).wait(Duration::from_secs(30));
    assert_eq!(done.code, Some(0), "{done:?}");
    assert_eq!(ran(d), ["a", "a", "b"]);
    // Other size and options, one more `a`: only the third `a` is new.
    let second =
        format!("from [\"a\", \"a\", \"b\", \"a\"] | pool 3 {cmd} resume progress unordered\n");
    let done = start(d, &second, &[]).wait(Duration::from_secs(30));
    assert_eq!(done.code, Some(0), "{done:?}");
    assert_eq!(ran(d), ["a"]);
    let log = std::fs::read_to_string(d.join("jobs.tsv")).expect("the log");
    let last = log.lines().last().unwrap_or_default();
    assert!(last.starts_with("4\ta\t"), "seq of the new item: {log}");
}

// Issue 13.6: a job's stdout and stderr are read by its worker, not by two threads of its
// own. A background child that keeps the job's stderr open does not hold the job (nor the
// run) beyond the drain after the job exits, and what it writes later is still forwarded.
#[test]
fn a_child_holding_a_jobs_stderr_does_not_hold_the_job() {
    let _g = timing_sensitive();
    let dir = TempDir::new("held-stderr");
    let script = "from [1] | pool 1 exec sh \": ${it}; (sleep 1.5; echo late >&2; sleep 30) >/dev/null & echo job-done\"\nprint(\"after\")\nsleep(2)\n";
    let done = start(dir.path(), script, &[]).wait(Duration::from_secs(40));
    assert_eq!(done.code, Some(0), "{done:?}");
    assert_eq!(done.stdout, "job-done\nafter\n");
    // The job ended after the stderr drain (1 s), not with the child (31.5 s); the line the
    // child wrote at 1.5 s was still forwarded, and the run's end stopped the child.
    assert!(done.stderr.contains("late"), "{}", done.stderr);
    assert!(done.elapsed < Duration::from_secs(10), "{:?}", done.elapsed);
}

// Issue 13.6: thousands of short jobs; every job's output in order, every child reaped.
#[test]
fn many_short_jobs_keep_their_output_and_order() {
    let dir = TempDir::new("many-jobs");
    let script = "from 1..=600 | pool 3 exec sh \"echo o$it; echo e$it >&2\"\n";
    let done = start(dir.path(), script, &[]).wait(Duration::from_secs(60));
    assert_eq!(done.code, Some(0), "{done:?}");
    let want: String = (1..=600).map(|i| format!("o{i}\n")).collect();
    assert_eq!(done.stdout, want);
    assert_eq!(
        done.stderr.lines().filter(|l| l.starts_with('e')).count(),
        600
    );
}
