//! Pool stages where the check needs more than a fixed output: timing, memory,
//! side-effect files, leftover processes, resource limits. Fixed-output pool behaviour is in
//! `tests/cases/pool/`.

use crate::harness::{poll_until, wait_until, Flow, TempDir};
use crate::signals::{heavy, processes_with, start, start_cmd, timing_sensitive, wait_until_gone};
use std::time::Duration;

mod job_log;
mod jobs;
mod memory;

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Resident set size of `pid` in kB, while it is alive (a zombie has no `VmRSS` line).
fn rss_kb(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

// 2. An ordered pool's reorder window is bounded: one slow first item must stall intake,
// not buffer two million results.
#[test]
fn ordered_pool_memory_stays_bounded_behind_a_slow_item() {
    let _g = heavy();
    let dir = TempDir::new("reorder-window");
    let flow = start(
        dir.path(),
        "from 1..=2000000 | pool 4 map { if it == 1 { sleep(3) } it } | count\n",
        &[],
    );
    // A sample every 20 ms until flow exits (a zombie has no RSS); `wait` fails a hang.
    let (mut max_kb, mut samples) = (0, 0);
    poll_until(Duration::from_secs(60), Duration::from_millis(20), || {
        let Some(kb) = rss_kb(flow.pid) else {
            return true;
        };
        max_kb = max_kb.max(kb);
        samples += 1;
        false
    });
    let done = flow.wait(Duration::from_secs(60));
    assert_eq!(done.code, Some(0), "{done:?}");
    assert_eq!(done.stdout, "2000000\n");
    assert!(samples > 20, "only {samples} RSS samples");
    assert!(
        max_kb < 150 * 1024,
        "peak RSS {} MB; the reorder window is not bounded",
        max_kb / 1024
    );
}

// 4. on_error fail: the report names the stage, the item and the attempts; the siblings
// (`sleep 31.5`) are cancelled at once.
#[test]
fn first_failure_fails_the_run_and_cancels_running_siblings() {
    let _g = timing_sensitive();
    let dir = TempDir::new("fail-cancels");
    let script = "from 1..=4 | pool 4 exec sh \"if [ $it = 2 ]; then sleep 0.2; echo boom >&2; exit 3; fi; sleep 31.5\"\n";
    let done = start(dir.path(), script, &[]).wait(Duration::from_secs(40));
    assert_eq!(done.code, Some(1), "{done:?}");
    for want in [
        "flow::run::exit_status",
        "exit status 3",
        "item: 2",
        "after 1 attempt",
        "script.flow:1:14", // the span of the pool stage
        "pool 4 exec sh",
        "boom", // the job's stderr
    ] {
        assert!(
            done.stderr.contains(want),
            "stderr lacks {want:?}:\n{}",
            done.stderr
        );
    }
    assert!(
        done.elapsed < Duration::from_secs(3),
        "took {:.2}s: siblings were not cancelled",
        secs(done.elapsed)
    );
    let left = wait_until_gone("sleep 31.5", Duration::from_millis(300));
    assert!(left.is_empty(), "left alive: {left:?}");
}

// 6. retries: a job that fails on its first attempt (it leaves a marker) and succeeds on the
// second.
const FLAKY: &str =
    "from 1..=3 | pool 2 exec sh \"if [ ! -e m$it ]; then touch m$it; exit 1; fi; echo ok$it\"";

#[test]
fn retries_let_a_flaky_job_succeed() {
    Flow::new()
        .script(&format!("{FLAKY} retries 1\n"))
        .stdout("ok1\nok2\nok3\n")
        .stderr("")
        .run();
}

#[test]
fn without_retries_the_flaky_job_fails() {
    Flow::new()
        .script(&format!("{FLAKY}\n"))
        .status(1)
        .stdout("")
        .stderr_contains("exit status 1")
        .stderr_contains("after 1 attempt")
        .run();
}

// 7. timeouts.
fn assert_times_out(script: &str, tag: Option<&str>, min: Duration, max: Duration) {
    let _g = timing_sensitive();
    let dir = TempDir::new("pool-timeout");
    let done = start(dir.path(), script, &[]).wait(Duration::from_secs(30));
    assert_eq!(done.code, Some(1), "{script}: {done:?}");
    assert!(
        done.stderr.contains("flow::run::timeout") && done.stderr.contains("timed out"),
        "{script}: {}",
        done.stderr
    );
    assert!(
        done.elapsed >= min && done.elapsed < max,
        "{script}: took {:.2}s, want {:.1}..{:.1}s",
        secs(done.elapsed),
        secs(min),
        secs(max)
    );
    if let Some(tag) = tag {
        let left = wait_until_gone(tag, Duration::from_millis(300));
        assert!(left.is_empty(), "{script}: left alive: {left:?}");
    }
}

#[test]
fn timeout_aborts_an_endless_rhai_item() {
    assert_times_out(
        "from [1] | pool 1 map { loop { } } timeout 200ms\n",
        None,
        Duration::from_millis(200),
        Duration::from_secs(1),
    );
}

#[test]
fn timeout_stops_a_sleeping_job() {
    assert_times_out(
        "from [1] | pool 1 exec sleep 32.5 ${it} timeout 200ms\n",
        Some("32.5"),
        Duration::from_millis(200),
        Duration::from_secs(1),
    );
}

#[test]
fn timeout_kills_a_job_that_ignores_sigterm_after_two_seconds() {
    assert_times_out(
        "from [1] | pool 1 exec { sh 'trap \"\" TERM; sleep 33.5' } timeout 200ms\n",
        Some("33.5"),
        Duration::from_millis(2000),
        Duration::from_millis(3500),
    );
}

// 9. log and resume.
fn log_resume_script() -> &'static str {
    "from 1..=10 | pool 3 exec sh \"echo $it >> ran.txt; if grep -qx $it fail.txt 2>/dev/null; then exit 1; fi; echo ok$it\" on_error skip log \"jobs.tsv\" resume\n"
}

fn ran(dir: &std::path::Path) -> Vec<u32> {
    let mut v: Vec<u32> = std::fs::read_to_string(dir.join("ran.txt"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.parse().expect("a number in ran.txt"))
        .collect();
    v.sort_unstable();
    let _ = std::fs::remove_file(dir.join("ran.txt"));
    v
}

#[test]
fn log_has_a_row_per_item_and_resume_reruns_only_the_failures() {
    let dir = TempDir::new("log-resume");
    let d = dir.path();
    std::fs::write(d.join("fail.txt"), "3\n7\n").expect("write fail.txt");

    let first = start(d, log_resume_script(), &[]).wait(Duration::from_secs(30));
    assert_eq!(first.code, Some(0), "{first:?}");
    assert!(first.stderr.contains("2 of 10 items failed"), "{first:?}");
    assert_eq!(ran(d), (1..=10).collect::<Vec<_>>());
    let log = std::fs::read_to_string(d.join("jobs.tsv")).expect("the log was written");
    let mut lines = log.lines();
    assert_eq!(
        lines.next(),
        Some("seq\titem\tstart\tseconds\tattempts\texit\tsignal\terror\tkey"),
        "{log}"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 10, "{log}");
    let mut seqs: Vec<&str> = Vec::new();
    for row in &rows {
        assert_eq!(row.len(), 9, "not 9 columns: {row:?}");
        assert_eq!(row[0], row[1], "seq and item differ: {row:?}");
        assert!(
            row[2].parse::<f64>().is_ok() && row[3].parse::<f64>().is_ok(),
            "{row:?}"
        );
        assert_eq!(row[4], "1", "attempts: {row:?}");
        let failed = row[1] == "3" || row[1] == "7";
        assert_eq!(
            row[5],
            if failed { "1" } else { "0" },
            "exit column: {row:?}"
        );
        assert_eq!(row[6], "0", "signal column: {row:?}");
        assert_eq!(row[7] != "-", failed, "error column: {row:?}");
        assert!(
            row[8].len() == 16 && row[8].bytes().all(|b| b.is_ascii_hexdigit()),
            "key: {row:?}"
        );
        seqs.push(row[0]);
    }
    seqs.sort_by_key(|s| s.parse::<u32>().unwrap_or(0));
    assert_eq!(seqs, ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]);

    std::fs::remove_file(d.join("fail.txt")).expect("remove fail.txt");
    let second = start(d, log_resume_script(), &[]).wait(Duration::from_secs(30));
    assert_eq!(second.code, Some(0), "{second:?}");
    assert_eq!(second.stdout, "ok3\nok7\n");
    assert_eq!(
        ran(d),
        [3, 7],
        "resume must re-run exactly the failed items"
    );
    // `seq` stays the item's position in the input after a resume.
    let log = std::fs::read_to_string(d.join("jobs.tsv")).expect("the log");
    let mut last: Vec<&str> = log
        .lines()
        .skip(11)
        .map(|l| l.split('\t').next().unwrap_or(""))
        .collect();
    last.sort_unstable();
    assert_eq!(last, ["3", "7"], "{log}");

    let third = start(d, log_resume_script(), &[]).wait(Duration::from_secs(30));
    assert_eq!(third.code, Some(0), "{third:?}");
    assert_eq!(third.stdout, "");
    assert_eq!(ran(d), Vec::<u32>::new(), "nothing is left to run");
}

#[test]
fn resume_reruns_an_item_whose_command_changed() {
    let dir = TempDir::new("resume-changed");
    let d = dir.path();
    let a = "from 1..=3 | pool 2 exec sh \"echo $it >> ran.txt\" log \"jobs.tsv\" resume\n";
    let b = "from 1..=4 | pool 2 exec sh \"echo $it >> ran.txt\" log \"jobs.tsv\" resume\n";
    let c = "from 1..=4 | pool 2 exec sh \"echo $it >>ran.txt\" log \"jobs.tsv\" resume\n";
    for (script, want) in [(a, vec![1, 2, 3]), (b, vec![4]), (c, vec![1, 2, 3, 4])] {
        let done = start(d, script, &[]).wait(Duration::from_secs(30));
        assert_eq!(done.code, Some(0), "{done:?}");
        assert_eq!(ran(d), want, "{script}");
    }
}

// 10. Many jobs under a low file-descriptor limit: no descriptor leaks.
#[test]
fn twenty_thousand_jobs_under_ulimit_n_256() {
    let _g = heavy();
    let dir = TempDir::new("ulimit");
    let cmd = format!(
        "ulimit -n 256 && exec '{}' -c 'from 1..=20000 | pool 4 exec echo ${{it}} | count'",
        env!("CARGO_BIN_EXE_flow")
    );
    let flow = start_cmd(dir.path(), "bash", &["-c", &cmd]);
    let pid = flow.pid;
    // Count zombie children of flow while it runs: reaping must keep up.
    let mut max_zombies = 0;
    poll_until(Duration::from_secs(60), Duration::from_millis(50), || {
        if rss_kb(pid).is_none() {
            return true;
        }
        max_zombies = max_zombies.max(zombie_children(pid));
        false
    });
    let done = flow.wait(Duration::from_secs(60));
    assert_eq!(done.code, Some(0), "{done:?}");
    assert_eq!(done.stdout, "20000\n");
    assert!(max_zombies <= 8, "up to {max_zombies} unreaped children");
}

/// How many processes whose parent is `ppid` are zombies.
fn zombie_children(ppid: i32) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| {
            // pid (comm) state ppid …; comm may contain spaces, so split after the last ')'.
            let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
                return false;
            };
            let mut f = rest.split_whitespace();
            f.next() == Some("Z") && f.next().and_then(|p| p.parse().ok()) == Some(ppid)
        })
        .count()
}

// 11. A program that cannot be started: exit 127 is reported, no hang.
#[test]
fn job_whose_program_cannot_start_reports_127() {
    let out = Flow::new()
        .script("from [1, 2] | pool 2 exec sh \": ${it}; exec /nonexistent/prog\"\n")
        .status(1)
        .stdout("")
        .stderr_contains("exit status 127")
        .stderr_contains("/nonexistent/prog")
        .timeout(Duration::from_secs(10))
        .run();
    assert!(out.elapsed < Duration::from_secs(3), "{:?}", out.elapsed);
    assert!(processes_with("/nonexistent/prog").is_empty());
}

/// `resume` after Ctrl-C: the interrupted run logged what finished; the re-run does only
/// the rest, and between them every item ran — the ones that finished exactly once.
#[test]
fn resume_after_ctrl_c_runs_only_what_did_not_succeed() {
    let dir = TempDir::new("resume-int");
    let d = dir.path();
    let script = "from 1..=12 | pool 2 exec sh \"sleep 0.15; echo $it >> ran.txt\" log \"jobs.tsv\" resume\n";
    let first = start(d, script, &[]);
    // Interrupted once the log holds a row (below its header): an item finished, and the
    // rest (0.9 s of jobs in all) is far from done.
    let log = d.join("jobs.tsv");
    assert!(
        wait_until(Duration::from_secs(20), || {
            std::fs::read_to_string(&log).is_ok_and(|l| l.lines().count() >= 2)
        }),
        "no item was logged within 20 s"
    );
    first.signal(libc::SIGINT);
    let done = first.wait(Duration::from_secs(10));
    assert_eq!(done.code, Some(130), "{done:?}");
    let before = ran(d);
    assert!(
        !before.is_empty() && before.len() < 12,
        "interrupted run did {before:?}"
    );
    let done = start(d, script, &[]).wait(Duration::from_secs(30));
    assert_eq!(done.code, Some(0), "{done:?}");
    let second = ran(d);
    // What finished before is not run again; between the two runs, everything ran.
    assert!(
        second.iter().all(|x| !before.contains(x)),
        "re-ran {second:?} after {before:?}"
    );
    let mut all: Vec<u32> = before.iter().chain(&second).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (1..=12).collect::<Vec<_>>());
}
