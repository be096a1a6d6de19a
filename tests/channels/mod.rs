//! Channels: several readers share one channel as a work queue, and a cancelled
//! producer stops at once.

use crate::harness::TempDir;
use crate::signals::{start, timing_sensitive};
use std::time::Duration;

#[test]
fn four_readers_share_a_channel_as_a_work_queue() {
    let _g = timing_sensitive();
    let dir = TempDir::new("work-queue");
    let script = "let ch = channel(100)\n\
                  let p = spawn { from 1..=40 | into ch }\n\
                  let a = spawn from ch | map { sleep(0.05); it } | count\n\
                  let b = spawn from ch | map { sleep(0.05); it } | count\n\
                  let c = spawn from ch | map { sleep(0.05); it } | count\n\
                  let d = spawn from ch | map { sleep(0.05); it } | count\n\
                  let r = join a, b, c, d\n\
                  print(r)\n";
    let done = start(dir.path(), script, &[]).wait(Duration::from_secs(20));
    assert_eq!(done.code, Some(0), "{done:?}");
    let counts: Vec<i64> = done
        .stdout
        .trim()
        .trim_matches(['[', ']'])
        .split(", ")
        .map(|n| n.parse().expect("a count"))
        .collect();
    assert_eq!(counts.iter().sum::<i64>(), 40, "{counts:?}");
    assert!(
        counts.iter().all(|&n| n >= 4),
        "every reader must get work: {counts:?}"
    );
    // 40 × 50 ms over 4 readers is 0.5 s; one reader alone would take 2 s.
    assert!(done.elapsed < Duration::from_millis(1400), "{done:?}");
}

#[test]
fn a_cancelled_producer_stops_at_once() {
    let _g = timing_sensitive();
    let dir = TempDir::new("cancel-producer");
    let script = "let ch = channel(10)\n\
                  let p = spawn { from 1..100000000 | into ch }\n\
                  let c = spawn from ch | map { sleep(0.001); it } | count\n\
                  sleep(0.3)\n\
                  cancel p\n\
                  let n = join c\n\
                  print(n)\n";
    let done = start(dir.path(), script, &[]).wait(Duration::from_secs(20));
    assert_eq!(done.code, Some(0), "{done:?}");
    let n: i64 = done.stdout.trim().parse().expect("a count");
    // At 1 ms an item, 0.3 s is at most 300 items, plus the channel's 10 after the cancel;
    // a producer that drained its own buffers first would hand over tens of thousands.
    assert!(n > 0 && n < 1000, "read {n} items");
}
