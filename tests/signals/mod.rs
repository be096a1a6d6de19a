//! Tasks and interrupts, tested from outside: `flow` is started in a process
//! group of its own (so a signal sent to its pid reaches flow only, like a terminal's Ctrl-C
//! after flow moved its children into their own groups), signalled, timed, and afterwards
//! `/proc` is searched for processes it should have stopped.
//!
//! Every test uses its own distinctive `sleep` duration (`61.7`, `62.3`, …) as a tag, so tests
//! running in parallel never see each other's processes. The helpers here are also used by the
//! pool tests (`tests/pool`).

use crate::harness::{poll_until, wait_for_exit, wait_for_file, wait_until, TempDir};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

/// Timing-sensitive tests take this shared; CPU-heavy tests take it exclusively, so that a
/// 20,000-job run does not make a "< 300 ms" assertion flaky on a small machine.
static LOAD: RwLock<()> = RwLock::new(());

pub(crate) fn timing_sensitive() -> RwLockReadGuard<'static, ()> {
    LOAD.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(crate) fn heavy() -> RwLockWriteGuard<'static, ()> {
    LOAD.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running `flow script.flow ARGS…` in `dir`; stdout/stderr go to files in `dir`.
pub(crate) struct Running {
    child: Option<Child>,
    pub(crate) pid: i32,
    dir: std::path::PathBuf,
    pub(crate) started: Instant,
}

/// How a run ended.
#[derive(Debug)]
pub(crate) struct Done {
    pub(crate) code: Option<i32>,
    pub(crate) signal: Option<i32>,
    /// When `wait` saw the exit.
    pub(crate) ended: Instant,
    pub(crate) elapsed: Duration,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Start flow on `script` (written to `dir/script.flow`) with extra arguments.
pub(crate) fn start(dir: &Path, script: &str, args: &[&str]) -> Running {
    std::fs::write(dir.join("script.flow"), script).expect("write the script");
    start_cmd(dir, env!("CARGO_BIN_EXE_flow"), &{
        let mut a = vec!["script.flow"];
        a.extend_from_slice(args);
        a
    })
}

/// Start an arbitrary program (e.g. `bash -c '… flow …'`) the same way.
pub(crate) fn start_cmd(dir: &Path, program: &str, args: &[&str]) -> Running {
    let out = std::fs::File::create(dir.join("stdout.txt")).expect("create stdout file");
    let err = std::fs::File::create(dir.join("stderr.txt")).expect("create stderr file");
    let child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .expect("start the program");
    Running {
        pid: i32::try_from(child.id()).expect("pid fits in i32"),
        child: Some(child),
        dir: dir.to_path_buf(),
        started: Instant::now(),
    }
}

impl Running {
    /// Send `sig` to flow's pid only; returns when it was sent.
    pub(crate) fn signal(&self, sig: i32) -> Instant {
        // SAFETY: plain syscall on the pid of our own, not yet reaped, child.
        unsafe {
            libc::kill(self.pid, sig);
        }
        Instant::now()
    }

    /// Wait for the exit; past `limit` (from the start) kill it and panic.
    #[track_caller]
    pub(crate) fn wait(mut self, limit: Duration) -> Done {
        let mut child = self.child.take().expect("wait once");
        let Some(status) = wait_for_exit(&mut child, limit.saturating_sub(self.started.elapsed()))
        else {
            kill_group(self.pid);
            let _ = child.wait();
            let err = std::fs::read_to_string(self.dir.join("stderr.txt")).unwrap_or_default();
            panic!("flow still running after {limit:?}; killed. stderr:\n{err}");
        };
        let ended = Instant::now();
        Done {
            code: status.code(),
            signal: status.signal(),
            ended,
            elapsed: ended - self.started,
            stdout: std::fs::read_to_string(self.dir.join("stdout.txt")).unwrap_or_default(),
            stderr: std::fs::read_to_string(self.dir.join("stderr.txt")).unwrap_or_default(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_group(self.pid);
            let _ = child.wait();
        }
    }
}

fn kill_group(pgid: i32) {
    // SAFETY: plain syscall; the group is the one we created for the child.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

/// Live processes (not zombies: their cmdline is empty) whose command line contains `tag`,
/// as `pid: cmdline` (arguments joined by spaces).
pub(crate) fn processes_with(tag: &str) -> Vec<String> {
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) || name == me {
            continue;
        }
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&raw).replace('\0', " ");
        if cmd.contains(tag) {
            found.push(format!("{name}: {}", cmd.trim_end()));
        }
    }
    found
}

/// Live processes whose command line is `argv` (arguments joined by spaces), perhaps with
/// more arguments after it, as [`processes_with`] lists them. Unlike a tag, which the command
/// line of a `sh -c` that will run it also carries, this is the command itself, running:
/// `sleep 63.1` exists once `sh -c 'trap "" INT; sleep 63.1'` has run its trap.
pub(crate) fn processes_running(argv: &str) -> Vec<String> {
    processes_with(argv)
        .into_iter()
        .filter(|p| {
            p.split_once(": ").is_some_and(|(_, cmd)| {
                cmd.strip_prefix(argv)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
            })
        })
        .collect()
}

/// Poll until no process carries `tag`, for at most `limit`; returns what is still there.
pub(crate) fn wait_until_gone(tag: &str, limit: Duration) -> Vec<String> {
    let mut left = Vec::new();
    poll_until(limit, Duration::from_millis(10), || {
        left = processes_with(tag);
        left.is_empty()
    });
    left
}

/// Poll until at least `n` processes carry `tag`, for at most `limit`.
pub(crate) fn wait_until_present(tag: &str, n: usize, limit: Duration) -> bool {
    wait_until(limit, || processes_with(tag).len() >= n)
}

/// Poll until at least `n` processes run `argv` (see [`processes_running`]), for at most
/// `limit`.
pub(crate) fn wait_until_running(argv: &str, n: usize, limit: Duration) -> bool {
    wait_until(limit, || processes_running(argv).len() >= n)
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

// ---------------------------------------------------------------------------------------
// 12. SIGINT at a random moment, many times.

/// One stress run: SIGINT `delay` after the script installed its `on_interrupt` block;
/// returns a description of what went wrong, if anything.
fn sigint_run(run: usize, delay: Duration) -> Option<String> {
    let dir = TempDir::new("sigint-stress");
    let tag = format!("61.7{run:03}");
    let marker = dir.path().join("marker");
    let ready = dir.path().join("ready");
    let script = format!(
        "on_interrupt {{ write_file(args[0], \"ran\") }}\n\
         write_file(args[1], \"\")\n\
         let t = spawn sleep {tag}\n\
         seq 1 1000000 | map {{ it }} | pool 2 exec sleep {tag} ${{it}} | count\n"
    );
    let flow = start(
        dir.path(),
        &script,
        &[
            marker.to_str().expect("utf-8 temp path"),
            ready.to_str().expect("utf-8 temp path"),
        ],
    );
    // The handler must exist before the SIGINT (the marker is checked), however slowly
    // flow starts; from there on, the random delay is the moment under test.
    if !wait_until(Duration::from_secs(20), || ready.exists()) {
        return Some(format!(
            "run {run}: the script did not get past its on_interrupt within 20 s"
        ));
    }
    std::thread::sleep(delay);
    let sent = flow.signal(libc::SIGINT);
    let done = flow.wait(Duration::from_secs(20));
    let mut problems = Vec::new();
    let after = done.ended.saturating_duration_since(sent);
    if done.code != Some(130) {
        problems.push(format!("exit {:?}/{:?}, want 130", done.code, done.signal));
    }
    if after > Duration::from_millis(2500) {
        problems.push(format!("exited {:.2}s after SIGINT", secs(after)));
    }
    match std::fs::read_to_string(&marker) {
        Ok(t) if t == "ran" => {}
        other => problems.push(format!("on_interrupt marker: {other:?}")),
    }
    let left = wait_until_gone(&tag, Duration::from_millis(300));
    if !left.is_empty() {
        problems.push(format!("left alive: {left:?}"));
    }
    (!problems.is_empty()).then(|| {
        format!(
            "run {run} (SIGINT after {} ms): {}\nstderr:\n{}",
            delay.as_millis(),
            problems.join("; "),
            done.stderr
        )
    })
}

#[test]
fn sigint_at_a_random_moment_always_exits_130_runs_handlers_and_leaves_nothing() {
    let _g = timing_sensitive();
    let runs: usize = std::env::var("FLOW_STRESS_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50)
        .min(1000);
    let threads = 4;
    let seed = fastrand::u64(..);
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut rng = fastrand::Rng::with_seed(seed ^ t as u64);
                    (0..runs)
                        .filter(|r| r % threads == t)
                        .filter_map(|r| {
                            let delay = Duration::from_millis(rng.u64(0..=350));
                            sigint_run(r, delay)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("stress thread"))
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {runs} runs failed (seed {seed}):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// 13. SIGKILL of flow: the watchdog still stops every descendant.

#[test]
fn sigkill_of_flow_leaves_no_descendant_behind() {
    let _g = timing_sensitive();
    let dir = TempDir::new("sigkill");
    let flow = start(dir.path(), "sh \"sleep 62.3 & sleep 62.3\"\n", &[]);
    assert!(
        wait_until_present("sleep 62.3", 3, Duration::from_secs(3)),
        "the jobs did not start: {:?}",
        processes_with("62.3")
    );
    flow.signal(libc::SIGKILL);
    let done = flow.wait(Duration::from_secs(10));
    assert_eq!(done.signal, Some(libc::SIGKILL));
    let left = wait_until_gone("62.3", Duration::from_secs(1));
    assert!(left.is_empty(), "left alive 1 s after SIGKILL: {left:?}");
}

// ---------------------------------------------------------------------------------------
// 14, 16. Children that ignore SIGINT/SIGTERM: the grace period, and a second signal.

const STUBBORN: &str = "sh 'trap \"\" INT TERM; sleep 63.1'\n";

#[test]
fn child_ignoring_int_and_term_is_killed_after_the_grace_period() {
    let _g = timing_sensitive();
    let dir = TempDir::new("stubborn");
    let flow = start(dir.path(), STUBBORN, &[]);
    // The `sleep` itself runs (not only the `sh -c` that carries its text): sh ran its trap.
    assert!(
        wait_until_running("sleep 63.1", 1, Duration::from_secs(10)),
        "the job did not start: {:?}",
        processes_with("63.1")
    );
    let sent = flow.signal(libc::SIGINT);
    let done = flow.wait(Duration::from_secs(15));
    let after = done.ended - sent;
    assert_eq!(done.code, Some(130), "{done:?}");
    assert!(
        after > Duration::from_millis(1700) && after < Duration::from_millis(3000),
        "exited {:.2}s after SIGINT; want about the 2 s grace",
        secs(after)
    );
    let left = wait_until_gone("63.1", Duration::from_millis(500));
    assert!(left.is_empty(), "left alive: {left:?}");
}

#[test]
fn second_sigint_during_the_grace_period_ends_flow_at_once() {
    let _g = timing_sensitive();
    let dir = TempDir::new("second-sigint");
    // The `on_interrupt` block writes `first` once flow has taken the first SIGINT: the
    // grace period has begun.
    let script = format!(
        "on_interrupt {{ write_file(\"first\", \"\") }}\n{}",
        STUBBORN.replace("63.1", "63.4")
    );
    let flow = start(dir.path(), &script, &[]);
    assert!(
        wait_until_running("sleep 63.4", 1, Duration::from_secs(10)),
        "the job did not start: {:?}",
        processes_with("63.4")
    );
    flow.signal(libc::SIGINT);
    wait_for_file(&dir.path().join("first"), Duration::from_secs(10));
    let second = flow.signal(libc::SIGINT);
    let done = flow.wait(Duration::from_secs(15));
    assert_eq!(done.code, Some(130), "{done:?}");
    let after = done.ended - second;
    assert!(
        after < Duration::from_millis(500),
        "exited {:.2}s after the second SIGINT",
        secs(after)
    );
    let left = wait_until_gone("63.4", Duration::from_millis(500));
    assert!(left.is_empty(), "left alive: {left:?}");
}

#[test]
fn sigterm_exits_143_and_stops_the_children() {
    let _g = timing_sensitive();
    let dir = TempDir::new("sigterm");
    let flow = start(dir.path(), "sleep 63.7 | cat\n", &[]);
    assert!(wait_until_present("sleep 63.7", 1, Duration::from_secs(3)));
    let sent = flow.signal(libc::SIGTERM);
    let done = flow.wait(Duration::from_secs(15));
    assert_eq!(done.code, Some(143), "{done:?}");
    assert!(done.ended - sent < Duration::from_millis(1000), "{done:?}");
    let left = wait_until_gone("63.7", Duration::from_millis(500));
    assert!(left.is_empty(), "left alive: {left:?}");
}

// ---------------------------------------------------------------------------------------
// 15. Prompt cancellation. Each script sleeps 0.2 s, cancels, joins: the whole run must take
// well under 0.2 s + 0.3 s. Joining a cancelled task is an error (observed and documented in
// docs/language.md §5): exit 1 with `flow::run::cancelled`.

fn assert_prompt_cancel(label: &str, task: &str) {
    let _g = timing_sensitive();
    let dir = TempDir::new("cancel");
    let script = format!("{task}\nsleep 0.2\ncancel t\njoin t\n");
    let done = start(dir.path(), &script, &[]).wait(Duration::from_secs(20));
    assert_eq!(done.code, Some(1), "{label}: {done:?}");
    assert!(
        done.stderr.contains("flow::run::cancelled"),
        "{label}: {}",
        done.stderr
    );
    // 0.2 s of the script's own sleep, then cancel + join in < 300 ms (incl. startup).
    assert!(
        done.elapsed < Duration::from_millis(500),
        "{label}: took {:.3}s; cancel+join should take < 0.3 s",
        secs(done.elapsed)
    );
}

#[test]
fn cancel_of_a_task_blocked_on_a_full_channel_is_prompt() {
    assert_prompt_cancel(
        "full channel",
        "let ch = channel(1)\nlet t = spawn { from 1..=100 | into ch }",
    );
}

#[test]
fn cancel_of_a_task_in_rhai_sleep_is_prompt() {
    assert_prompt_cancel("sleep(30)", "let t = spawn { sleep(30) }");
}

#[test]
fn cancel_of_a_task_in_an_endless_rhai_loop_is_prompt() {
    // `spawn { let x = 0; loop { … } }` is not accepted as a statement block (the `let`
    // swallows the loop); the loop goes in a Rhai block instead.
    assert_prompt_cancel(
        "rhai loop",
        "let t = spawn { let x = { let n = 0; loop { n += 1; } } }",
    );
    assert_prompt_cancel(
        "rhai loop in a stage",
        "let t = spawn { from [0] | map { let n = 0; loop { n += 1; } } }",
    );
}

#[test]
fn cancel_of_a_task_running_a_process_is_prompt() {
    assert_prompt_cancel("process", "let t = spawn sleep 66.1");
    let left = wait_until_gone("66.1", Duration::from_millis(300));
    assert!(left.is_empty(), "left alive: {left:?}");
}

#[test]

fn cancel_right_after_spawn_of_a_process_is_prompt() {
    let _g = timing_sensitive();
    for i in 0..10 {
        let dir = TempDir::new("cancel-now");
        let script = format!("let t = spawn sleep 66.3{i}\ncancel t\njoin t\n");
        let done = start(dir.path(), &script, &[]).wait(Duration::from_secs(20));
        assert_eq!(done.code, Some(1), "{done:?}");
        assert!(
            done.elapsed < Duration::from_millis(300),
            "run {i}: took {:.3}s",
            secs(done.elapsed)
        );
    }
}

#[test]
fn sigint_while_main_is_blocked_in_join_is_prompt() {
    let _g = timing_sensitive();
    let dir = TempDir::new("join-sigint");
    // `ready` is written by the statement right before the `join`.
    let flow = start(
        dir.path(),
        "let t = spawn { sleep(30) }\nwrite_file(\"ready\", \"\")\njoin t\n",
        &[],
    );
    wait_for_file(&dir.path().join("ready"), Duration::from_secs(10));
    let sent = flow.signal(libc::SIGINT);
    let done = flow.wait(Duration::from_secs(20));
    assert_eq!(done.code, Some(130), "{done:?}");
    let after = done.ended - sent;
    assert!(
        after < Duration::from_millis(300),
        "exited {:.3}s after SIGINT",
        secs(after)
    );
}

/// A pipeline the calling thread runs as one loop (items made in memory, cheap stages, a
/// sink) stops at SIGINT as promptly as one of stage threads: the loop checks between
/// batches.
#[test]
fn sigint_stops_a_pipeline_run_as_one_loop_promptly() {
    let _g = timing_sensitive();
    let dir = TempDir::new("one-loop-sigint");
    let flow = start(
        dir.path(),
        "write_file(\"ready\", \"\")\nfrom 1..=1000000000000 | map { it * 2 } | filter { it % 3 == 0 } | count\n",
        &[],
    );
    wait_for_file(&dir.path().join("ready"), Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(100));
    let sent = flow.signal(libc::SIGINT);
    let done = flow.wait(Duration::from_secs(20));
    assert_eq!(done.code, Some(130), "{done:?}");
    assert_eq!(done.stdout, "", "a cancelled count prints nothing");
    let after = done.ended - sent;
    assert!(
        after < Duration::from_millis(500),
        "exited {:.3}s after SIGINT",
        secs(after)
    );
}

/// 20,000 tasks waiting in a statement `sleep` (no stack each) and one waiting deeper, in a
/// loop (with its stack): Ctrl-C wakes them all, their `on_interrupt` runs, and flow exits
/// 130 promptly.
#[test]
fn sigint_stops_many_tasks_waiting_without_a_stack_promptly() {
    let _g = timing_sensitive();
    let dir = TempDir::new("stackless-sigint");
    let script = "on_interrupt { print(\"cleaning up\") }\nlet hs = []\nfor i in 0..20000 {\n  let h = spawn { sleep(600); print(\"not reached\") }\n  hs.push(h)\n}\nlet deep = spawn { for i in 0..10 { sleep(600) } }\nwrite_file(\"ready\", \"\")\njoin hs\n";
    let flow = start(dir.path(), script, &[]);
    wait_for_file(&dir.path().join("ready"), Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(200));
    let sent = flow.signal(libc::SIGINT);
    let done = flow.wait(Duration::from_secs(20));
    assert_eq!(done.code, Some(130), "{done:?}");
    assert_eq!(done.stdout, "cleaning up\n", "{done:?}");
    let after = done.ended - sent;
    assert!(
        after < Duration::from_millis(1500),
        "exited {:.3}s after SIGINT",
        secs(after)
    );
}

/// Ctrl-C runs `finally` blocks, in the main statements and in tasks, as part of the
/// shutdown (with the `on_interrupt` blocks); one that outlasts the grace period is cut.
#[test]
fn sigint_runs_finally_blocks_within_the_grace_period() {
    let _g = timing_sensitive();
    let dir = TempDir::new("finally-sigint");
    let script = "on_interrupt grace 500ms { print(\"handler\") }\nlet t = spawn {\n  try { sleep(60) } finally { print(\"task finally\") }\n}\ntry {\n  write_file(\"ready\", \"\")\n  sleep(60)\n} finally {\n  print(\"main finally\")\n  sleep(30)\n  print(\"not reached\")\n}\n";
    let flow = start(dir.path(), script, &[]);
    wait_for_file(&dir.path().join("ready"), Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(100));
    let sent = flow.signal(libc::SIGINT);
    let done = flow.wait(Duration::from_secs(20));
    assert_eq!(done.code, Some(130), "{done:?}");
    let mut lines: Vec<&str> = done.stdout.lines().collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        ["handler", "main finally", "task finally"],
        "{done:?}"
    );
    let after = done.ended - sent;
    assert!(
        after < Duration::from_millis(1500),
        "exited {:.3}s after SIGINT",
        secs(after)
    );
}

/// A second Ctrl-C cuts a `finally` that is running at once, even one given a long grace
/// period, and stops the command it was waiting for: the second signal means "now".
#[test]
fn a_second_sigint_cuts_a_running_finally_at_once() {
    let _g = timing_sensitive();
    let dir = TempDir::new("finally-second-sigint");
    for (what, body) in [
        ("a sleep", "sleep(30)"),
        ("a command", "sh \"sleep 65.41\""),
    ] {
        let _ = std::fs::remove_file(dir.path().join("ready"));
        let _ = std::fs::remove_file(dir.path().join("cleaning"));
        let script = format!(
            "on_interrupt grace 20s {{ print(\"handler\") }}\ntry {{\n  write_file(\"ready\", \"\")\n  sleep(60)\n}} finally {{\n  print(\"main finally\")\n  write_file(\"cleaning\", \"\")\n  {body}\n  print(\"not reached\")\n}}\n"
        );
        let flow = start(dir.path(), &script, &[]);
        wait_for_file(&dir.path().join("ready"), Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(100));
        flow.signal(libc::SIGINT);
        wait_for_file(&dir.path().join("cleaning"), Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(100));
        let sent = flow.signal(libc::SIGINT);
        let done = flow.wait(Duration::from_secs(30));
        assert_eq!(done.code, Some(130), "{what}: {done:?}");
        assert!(done.stdout.contains("main finally"), "{what}: {done:?}");
        assert!(!done.stdout.contains("not reached"), "{what}: {done:?}");
        let after = done.ended - sent;
        assert!(
            after < Duration::from_millis(1000),
            "{what}: exited {:.3}s after the second SIGINT",
            secs(after)
        );
    }
    let left = wait_until_gone("65.41", Duration::from_millis(300));
    assert!(left.is_empty(), "left alive: {left:?}");
}

// ---------------------------------------------------------------------------------------
// 17. Daemons.

#[test]
fn daemon_does_not_delay_the_end_and_is_stopped() {
    let _g = timing_sensitive();
    let dir = TempDir::new("daemon");
    let script = "spawn daemon sh \"sleep 64.9\"\nsleep 0.3\nprint(\"end\")\n";
    let done = start(dir.path(), script, &[]).wait(Duration::from_secs(20));
    assert_eq!(done.code, Some(0), "{done:?}");
    assert_eq!(done.stdout, "end\n");
    assert!(
        done.elapsed < Duration::from_millis(1300),
        "took {:.2}s",
        secs(done.elapsed)
    );
    let left = wait_until_gone("64.9", Duration::from_millis(300));
    assert!(left.is_empty(), "left alive: {left:?}");
}

#[test]

fn daemon_spawned_just_before_the_end_does_not_delay_it() {
    let _g = timing_sensitive();
    for i in 0..10 {
        let dir = TempDir::new("daemon-now");
        let script = format!("spawn daemon sh \"sleep 64.7{i}\"\n");
        let done = start(dir.path(), &script, &[]).wait(Duration::from_secs(20));
        assert_eq!(done.code, Some(0), "{done:?}");
        assert!(
            done.elapsed < Duration::from_secs(1),
            "run {i}: took {:.2}s",
            secs(done.elapsed)
        );
        let left = wait_until_gone(&format!("64.7{i}"), Duration::from_millis(300));
        assert!(left.is_empty(), "left alive: {left:?}");
    }
}

// ---------------------------------------------------------------------------------------
// 18. join … timeout.

#[test]
fn join_timeout_exits_124_names_the_slow_task_and_stops_it() {
    let _g = timing_sensitive();
    let dir = TempDir::new("join-timeout");
    let script = "let a = spawn { sleep 0.05 }\n\
                  let b = spawn { sh \"sleep 65.3\" }\n\
                  join a, b timeout 200ms\n";
    let done = start(dir.path(), script, &[]).wait(Duration::from_secs(20));
    assert_eq!(done.code, Some(124), "{done:?}");
    assert!(
        done.stderr.contains("flow::run::join_timeout") && done.stderr.contains("still running: b"),
        "{}",
        done.stderr
    );
    assert!(
        done.elapsed < Duration::from_millis(1000),
        "took {:.2}s",
        secs(done.elapsed)
    );
    let left = wait_until_gone("65.3", Duration::from_millis(300));
    assert!(left.is_empty(), "left alive: {left:?}");
}

/// A descendant that escaped every process group (`setsid`) and holds the pipes open must not
/// keep flow waiting: not after a pool timeout, not after Ctrl-C.
#[test]
fn an_escaped_descendant_holding_the_pipes_does_not_block() {
    let _g = timing_sensitive();
    let dir = TempDir::new("escaped");
    let job =
        "from [1] | pool 1 exec sh \": ${it}; setsid sleep 65.31 & echo started; sleep 30\" timeout 300ms\n";
    let done = start(dir.path(), job, &[]).wait(Duration::from_secs(20));
    assert_eq!(done.code, Some(1), "{done:?}");
    assert!(
        done.elapsed < Duration::from_millis(1500),
        "pool timeout took {:.2}s",
        secs(done.elapsed)
    );
    let piped = "sh \"setsid sleep 65.32 & echo x; sleep 30\" | map { it }\n";
    let flow = start(dir.path(), piped, &[]);
    assert!(
        wait_until_running("sleep 65.32", 1, Duration::from_secs(10)),
        "the escaped sleep did not start: {:?}",
        processes_with("65.32")
    );
    let sent = flow.signal(libc::SIGINT);
    let done = flow.wait(Duration::from_secs(20));
    assert_eq!(done.code, Some(130), "{done:?}");
    // `sh` starts a background command with SIGINT ignored: the escaped sleep lives until
    // the grace period (2 s) ends, then it is SIGKILLed with the rest.
    assert!(
        done.ended - sent < Duration::from_millis(2800),
        "Ctrl-C took {:.2}s",
        secs(done.ended - sent)
    );
    let left = wait_until_gone("sleep 65.3", Duration::from_secs(1));
    assert!(left.is_empty(), "escaped: {left:?}");
}
