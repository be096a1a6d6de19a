//! A pool's memory stays bounded: job output is streamed or spilled to a
//! temporary file, never held whole; the ordered window frees a slot when a result is
//! emitted. Peak RSS is flow's own `VmHWM`, sampled until it exits; the bounds are generous
//! (the old behaviour exceeded each by an order of magnitude).

use crate::harness::{poll_until, TempDir};
use crate::signals::{heavy, start};
use std::time::Duration;

/// Peak resident set of `pid` in kB so far (`VmHWM`), while it is alive.
fn peak_kb(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Run `script`; its stdout and flow's peak RSS in MB.
fn run_peak(name: &str, script: &str) -> (String, u64) {
    let dir = TempDir::new(name);
    let flow = start(dir.path(), script, &[]);
    // A sample every 10 ms until flow exits (a zombie has no `VmHWM`); `wait` fails a hang.
    let mut peak = 0;
    poll_until(Duration::from_secs(120), Duration::from_millis(10), || {
        let Some(kb) = peak_kb(flow.pid) else {
            return true;
        };
        peak = peak.max(kb);
        false
    });
    let done = flow.wait(Duration::from_secs(120));
    assert_eq!(done.code, Some(0), "{script}: {done:?}");
    (done.stdout, peak / 1024)
}

// Issue 9.4: one job writing 1 GB peaked at 1.73 GB.
#[test]
fn one_big_job_streams_through() {
    let _g = heavy();
    let (out, mb) = run_peak(
        "big-job",
        "from [1] | pool 1 exec { head -c 400000000 /dev/zero } | wc -c\n",
    );
    assert_eq!(out.trim(), "400000000");
    assert!(mb < 64, "peak RSS {mb} MB for one 400 MB job");
}

// Issue 9.4: jobs that finish before their turn spill to disk instead of memory.
#[test]
fn jobs_waiting_for_their_turn_spill_to_disk() {
    let _g = heavy();
    // The first job is slow: every later job's 8 MB waits for its turn.
    let (out, mb) = run_peak(
        "waiting-jobs",
        "from 1..=24 | pool 4 exec sh \"if [ ${it} = 1 ]; then sleep 1; fi; head -c 8000000 /dev/zero\" | wc -c\n",
    );
    assert_eq!(out.trim(), "192000000");
    assert!(mb < 80, "peak RSS {mb} MB for 24 × 8 MB of job output");
}

// The ordered window frees a slot when a result is emitted, not when its job finishes: a
// slow first item stalls intake instead of buffering every later result.
#[test]
fn a_slow_first_item_stalls_intake() {
    let _g = heavy();
    let (out, mb) = run_peak(
        "slow-first",
        "from 1..=4000000 | pool 2 map { if it == 1 { sleep(3) } it } | count\n",
    );
    assert_eq!(out, "4000000\n");
    assert!(
        mb < 40,
        "peak RSS {mb} MB: results were held behind the slow item"
    );
}
