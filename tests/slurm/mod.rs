//! `on slurm`. The check-phase tests use stand-in `srun`/`sinfo` and always run. The others
//! run against a real cluster (`.ci/slurm-up` makes one on this host) when the tests are
//! built with `FLOW_REQUIRE_SLURM=1` (CI sets it), and a cluster that does not answer is then
//! a failure; built without it, they are reported as ignored (`cargo test -- --ignored`
//! runs them anyway). They run one at a time (one small node) and each
//! checks that `squeue` lists no job of its run after flow exited.

use crate::harness::{poll_until, TempDir};
use crate::signals::start;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

static CLUSTER: Mutex<()> = Mutex::new(());

/// A test that needs the cluster: it must answer `sinfo`.
fn cluster() {
    let up = Command::new("sinfo")
        .args(["-h", "-o", "%T"])
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty());
    assert!(
        up,
        "`sinfo` does not answer: is the cluster up (.ci/slurm-up)?"
    );
}

/// Jobs of flow process `pid` that `squeue` still lists (names `flow-<pid>-<stage>`).
fn jobs_of(pid: i32) -> Vec<String> {
    let out = Command::new("squeue")
        .args(["-h", "-o", "%i %j %T"])
        .output()
        .expect("squeue");
    let prefix = format!("flow-{pid}-");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|n| n.starts_with(&prefix))
        })
        .map(str::to_string)
        .collect()
}

/// Run `script` in `dir` to its end (at most `limit`); its code, stdout, stderr. Nothing of
/// the run may be left in `squeue`.
fn run_in(dir: &Path, script: &str, limit: Duration) -> (Option<i32>, String, String) {
    let r = start(dir, script, &[]);
    let pid = r.pid;
    let done = r.wait(limit);
    assert_eq!(
        jobs_of(pid),
        Vec::<String>::new(),
        "jobs left; stderr:\n{}",
        done.stderr
    );
    (done.code, done.stdout, done.stderr)
}

#[test]
#[cfg_attr(
    not(flow_slurm),
    ignore = "needs a Slurm cluster: build the tests with FLOW_REQUIRE_SLURM=1"
)]
fn jobs_run_on_slurm_in_order() {
    let _one = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    cluster();
    let dir = TempDir::new("slurm-order");
    let (code, out, err) = run_in(
        dir.path(),
        "from [3, 1, 2] | pool 3 exec sh \"sleep 0.$it; echo job $it\" on slurm partition debug\n",
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "job 3\njob 1\njob 2\n");
}

#[test]
#[cfg_attr(
    not(flow_slurm),
    ignore = "needs a Slurm cluster: build the tests with FLOW_REQUIRE_SLURM=1"
)]
fn pipeline_jobs_and_chunks_run_on_slurm() {
    let _one = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    cluster();
    let dir = TempDir::new("slurm-pipeline");
    let (code, out, err) = run_in(
        dir.path(),
        "from [\"a b\", \"c\"] | pool 2 exec { echo \"${seq}:${it}\" | tr a-z A-Z } on slurm\n\
         from 1..=5 | pool 2 exec echo ${it} chunk 2 on slurm\n",
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "1:A B\n2:C\n1 2\n3 4\n5\n");
}

#[test]
#[cfg_attr(
    not(flow_slurm),
    ignore = "needs a Slurm cluster: build the tests with FLOW_REQUIRE_SLURM=1"
)]
fn a_failed_job_names_its_slurm_state_and_id() {
    let _one = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    cluster();
    let dir = TempDir::new("slurm-fail");
    let (code, _, err) = run_in(
        dir.path(),
        "from [1] | pool 1 exec sh \": ${it}; echo oops >&2; exit 3\" on slurm\n",
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(1), "{err}");
    for want in ["Slurm job ", "FAILED", "exit status 3", "oops"] {
        assert!(err.contains(want), "{want:?} missing in:\n{err}");
    }
}

/// `timeout` and `time` both count from the job's start and end it promptly (Slurm alone
/// would take a minute or more: it keeps limits in minutes and checks them every 30 s).
#[test]
#[cfg_attr(
    not(flow_slurm),
    ignore = "needs a Slurm cluster: build the tests with FLOW_REQUIRE_SLURM=1"
)]
fn timeout_and_time_limit_end_the_job_promptly() {
    let _one = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    cluster();
    let dir = TempDir::new("slurm-timeout");
    for (script, want) in [
        (
            "from [1] | pool 1 exec sleep 100 ${it} timeout 2s on slurm\n",
            "Slurm job ",
        ),
        (
            "from [1] | pool 1 exec sleep 100 ${it} on slurm time 2s\n",
            "TIMEOUT",
        ),
    ] {
        let t0 = Instant::now();
        let (code, _, err) = run_in(dir.path(), script, Duration::from_secs(60));
        assert_eq!(code, Some(1), "{err}");
        assert!(err.contains(want), "{want:?} missing in:\n{err}");
        assert!(t0.elapsed() < Duration::from_secs(20), "{:?}", t0.elapsed());
    }
}

/// Ctrl-C: flow exits 130 and `squeue` lists nothing of the run (running or queued), three
/// times over (a leaked job would hold the node and the next run would queue).
/// Start `script` in `dir` and wait (up to 20 s) until `squeue` lists two of its jobs.
fn start_until_queued(dir: &Path, script: &str) -> crate::signals::Running {
    let r = start(dir, script, &[]);
    // `squeue` is a request to the controller: asked every 100 ms, not every 5.
    poll_until(Duration::from_secs(20), Duration::from_millis(100), || {
        jobs_of(r.pid).len() >= 2
    });
    assert!(!jobs_of(r.pid).is_empty(), "no job of the run started");
    r
}

#[test]
#[cfg_attr(
    not(flow_slurm),
    ignore = "needs a Slurm cluster: build the tests with FLOW_REQUIRE_SLURM=1"
)]
fn ctrl_c_leaves_no_job_in_squeue() {
    let _one = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    cluster();
    let dir = TempDir::new("slurm-int");
    for _ in 0..3 {
        let r = start_until_queued(
            dir.path(),
            "from 1..=4 | pool 2 exec sleep 100 ${it} on slurm\n",
        );
        let pid = r.pid;
        r.signal(libc::SIGINT);
        let done = r.wait(Duration::from_secs(60));
        assert_eq!(done.code, Some(130), "{}", done.stderr);
        assert_eq!(jobs_of(pid), Vec::<String>::new(), "{}", done.stderr);
    }
}

/// flow SIGKILLed (no shutdown of its own): its watchdog cancels the stage's jobs through
/// Slurm, so none stays queued or running (issue 23.7).
#[test]
#[cfg_attr(
    not(flow_slurm),
    ignore = "needs a Slurm cluster: build the tests with FLOW_REQUIRE_SLURM=1"
)]
fn sigkill_of_flow_cancels_its_slurm_jobs() {
    let _one = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    cluster();
    let dir = TempDir::new("slurm-sigkill");
    let script = "from 1..=4 | pool 2 exec sleep 300 ${it} on slurm partition debug\n";
    let r = start_until_queued(dir.path(), script);
    let pid = r.pid;
    r.signal(libc::SIGKILL);
    let done = r.wait(Duration::from_secs(10));
    assert_eq!(done.signal, Some(libc::SIGKILL));
    poll_until(Duration::from_secs(20), Duration::from_millis(200), || {
        jobs_of(pid).is_empty()
    });
    assert_eq!(
        jobs_of(pid),
        Vec::<String>::new(),
        "jobs outlived flow's SIGKILL"
    );
}

/// `resume` after Ctrl-C: the re-run does what did not finish; together every item ran.
#[test]
#[cfg_attr(
    not(flow_slurm),
    ignore = "needs a Slurm cluster: build the tests with FLOW_REQUIRE_SLURM=1"
)]
fn resume_after_an_interrupted_slurm_run() {
    let _one = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    cluster();
    let dir = TempDir::new("slurm-resume");
    let d = dir.path();
    let script = "from 1..=6 | pool 2 exec sh \"sleep 1; echo $it >> ran.txt\" log \"jobs.tsv\" resume on slurm\n";
    let first = start(d, script, &[]);
    let pid = first.pid;
    // Interrupted once the log holds a row (below its header): an item finished, and the
    // rest (3 s of jobs in all) is far from done.
    let log = d.join("jobs.tsv");
    assert!(
        poll_until(Duration::from_secs(60), Duration::from_millis(20), || {
            std::fs::read_to_string(&log).is_ok_and(|l| l.lines().count() >= 2)
        }),
        "no item was logged within 60 s"
    );
    first.signal(libc::SIGINT);
    let done = first.wait(Duration::from_secs(60));
    assert_eq!(done.code, Some(130), "{}", done.stderr);
    assert_eq!(jobs_of(pid), Vec::<String>::new());
    let before = std::fs::read_to_string(d.join("ran.txt")).unwrap_or_default();
    assert!(
        before.lines().count() < 6,
        "all ran before the interrupt:\n{before}"
    );
    let (code, _, err) = run_in(d, script, Duration::from_secs(60));
    assert_eq!(code, Some(0), "{err}");
    let ran = std::fs::read_to_string(d.join("ran.txt")).unwrap_or_default();
    let mut items: Vec<u32> = ran.lines().filter_map(|l| l.trim().parse().ok()).collect();
    items.sort_unstable();
    items.dedup();
    assert_eq!(items, vec![1, 2, 3, 4, 5, 6], "ran:\n{ran}");
}

/// Stand-ins: `srun` records its arguments and runs the command after `--`; `sinfo` lists
/// the partitions `debug` (default) and `short`.
pub(crate) fn stand_ins(dir: &Path) -> String {
    let log = dir.join("srun.log");
    for (name, body) in [
        (
            "srun",
            format!(
                "#!/bin/sh\necho \"$@\" >> {}\nwhile [ \"$1\" != -- ]; do shift; done\nshift\nexec \"$@\"\n",
                log.display()
            ),
        ),
        ("sinfo", "#!/bin/sh\nprintf 'debug*\\nshort\\n'\n".to_string()),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn flow(dir: &Path, path: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_flow"))
        .args(args)
        .current_dir(dir)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// Each job runs through `srun` with the settings as options and the stage's job name.
#[test]
fn on_slurm_wraps_each_job_in_srun() {
    let dir = TempDir::new("slurm-stand-in");
    let path = stand_ins(dir.path());
    let out = flow(dir.path(), &path, &["-c", "from [1, 2] | pool 2 exec echo job ${it} on slurm partition short cpus 2 mem 4G time 90s"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "job 1\njob 2\n");
    let recorded = std::fs::read_to_string(dir.path().join("srun.log")).unwrap();
    let first = recorded.lines().next().unwrap_or("");
    for want in [
        "-v --job-name=flow-",
        "--partition=short",
        "--cpus-per-task=2",
        "--mem=4G",
        "--time=0:02:00",
        "-- echo job",
    ] {
        assert!(first.contains(want), "{want} missing in {first}");
    }
}

/// The check phase: every `on slurm` form passes with `srun` and the partition present; a
/// misspelt partition is an error with a did-you-mean, on the partition's word.
#[test]
fn check_knows_the_partitions() {
    let dir = TempDir::new("slurm-check");
    let path = stand_ins(dir.path());
    let ok = "from glob(\"*.flow\") | pool 10 exec gzip -k ${it} on slurm partition short cpus 2 mem 4G time 1h\n\
              from glob(\"*.flow\") | pool exec wc -l ${it} on slurm\n\
              from glob(\"*.flow\") | pool 4 exec wc -l ${it} retries 1 on slurm partition debug\n";
    std::fs::write(dir.path().join("ok.flow"), ok).unwrap();
    let out = flow(dir.path(), &path, &["check", "ok.flow"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(
        dir.path().join("bad.flow"),
        "from [1] | pool exec echo ${it} on slurm partition shrt\n",
    )
    .unwrap();
    let out = flow(dir.path(), &path, &["check", "bad.flow"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for want in [
        "flow::check::unknown_partition",
        "no partition `shrt`",
        "did you mean `short`?",
        "bad.flow:1:52",
    ] {
        assert!(err.contains(want), "{want:?} missing in:\n{err}");
    }
}

/// Without `srun` on PATH, `on slurm` is a check error: nothing runs.
#[test]
fn check_needs_srun_on_path() {
    let dir = TempDir::new("slurm-no-srun");
    std::fs::write(
        dir.path().join("s.flow"),
        "from [1] | pool exec /bin/echo ${it} on slurm\n",
    )
    .unwrap();
    let out = flow(dir.path(), dir.path().to_str().unwrap(), &["s.flow"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("flow::check::slurm") && err.contains("`srun`"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

/// `--trace` and `--stats` show a Slurm job's time in the queue apart from its run: three
/// jobs that each take the node's two CPUs run one after another, so the later ones wait.
#[test]
#[cfg_attr(
    not(flow_slurm),
    ignore = "needs a Slurm cluster: build the tests with FLOW_REQUIRE_SLURM=1"
)]
fn the_report_shows_queue_wait_apart_from_run_time() {
    let _one = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    cluster();
    let dir = TempDir::new("slurm-report");
    std::fs::write(
        dir.path().join("script.flow"),
        "from 1..=3 | pool 3 exec sh \"sleep 1; echo $it\" on slurm cpus 2\n",
    )
    .expect("write the script");
    let r = crate::signals::start_cmd(
        dir.path(),
        env!("CARGO_BIN_EXE_flow"),
        &["--stats", "--trace", "t.json", "script.flow"],
    );
    let pid = r.pid;
    let done = r.wait(Duration::from_secs(120));
    assert_eq!(jobs_of(pid), Vec::<String>::new(), "jobs left");
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert!(done.stderr.contains("queued mean"), "{}", done.stderr);
    let text = std::fs::read_to_string(dir.path().join("t.json")).expect("the trace");
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let jobs: Vec<&serde_json::Value> = v["traceEvents"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["cat"] == "job")
        .collect();
    assert_eq!(jobs.len(), 3);
    let waited = jobs
        .iter()
        .filter_map(|j| j["args"]["queued us"].as_u64())
        .max()
        .unwrap_or(0);
    assert!(waited >= 500_000, "the longest queue wait: {waited} µs");
    for j in &jobs {
        let (q, d) = (
            j["args"]["queued us"].as_u64().unwrap_or(0),
            j["dur"].as_u64().unwrap_or(0),
        );
        assert!(q <= d, "queued {q} µs within the job's {d} µs");
    }
}
