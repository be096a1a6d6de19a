//! Trust: processes that leave flow's groups are still flow's; a recycled
//! process-group number is never killed; a signal reaches a process once; a Ctrl-C in flow's
//! first milliseconds is handled. Tested from outside, like `tests/signals`, whose helpers
//! (and tag convention: a distinctive `sleep` duration per test) this module shares.

use crate::harness::{wait_for_file, wait_until, TempDir};
use crate::signals::{
    processes_running, processes_with, start, start_cmd, timing_sensitive, wait_until_gone,
    wait_until_running,
};
use std::time::{Duration, Instant};

/// Start `script`, wait until `n` processes run `argv` (see `processes_running`) and flow
/// has them, send `sig` to flow; returns how flow ended and what carries `argv` a little
/// later.
fn signal_and_look(
    script: &str,
    argv: &str,
    n: usize,
    sig: i32,
) -> (crate::signals::Done, Vec<String>) {
    let dir = TempDir::new("escape");
    let flow = start(dir.path(), script, &[]);
    // The command itself, not only the `sh -c` whose text carries it.
    assert!(
        wait_until_running(argv, n, Duration::from_secs(10)),
        "did not start: {:?}",
        processes_with(argv)
    );
    // Every one hangs below flow (an orphan is handed to flow when its parent `sh` exits),
    // and flow has reaped every child that ended (it adopts the orphans of a child as it
    // reaps it): no zombie among its children.
    assert!(
        wait_until(Duration::from_secs(10), || {
            processes_running(argv)
                .iter()
                .all(|p| descends_from(p, flow.pid))
                && zombie_children(flow.pid).is_empty()
        }),
        "not all below flow, or a child not reaped: {:?}; zombie children of flow: {:?}",
        processes_running(argv),
        zombie_children(flow.pid)
    );
    flow.signal(sig);
    let done = flow.wait(Duration::from_secs(15));
    let left = wait_until_gone(argv, Duration::from_secs(1));
    (done, left)
}

/// The children of `pid` (whichever of its threads started them) that are zombies.
fn zombie_children(pid: i32) -> Vec<i32> {
    crate::harness::children_of(pid.unsigned_abs())
        .into_iter()
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|st| {
                st.rsplit_once(')')
                    .is_some_and(|(_, rest)| rest.split_whitespace().next() == Some("Z"))
            })
        })
        .collect()
}

/// Whether the process of a `processes_with` line has `ancestor` among its ancestors.
fn descends_from(line: &str, ancestor: i32) -> bool {
    let mut pid: i32 = line
        .split(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    for _ in 0..64 {
        if pid == ancestor {
            return true;
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return false;
        };
        // The parent is the second field after the command's closing parenthesis.
        let Some(after) = stat.rsplit_once(')').map(|(_, a)| a) else {
            return false;
        };
        pid = after
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        if pid <= 1 {
            return false;
        }
    }
    false
}

#[test]
fn a_setsid_descendant_of_a_running_command_dies_on_ctrl_c() {
    let _g = timing_sensitive();
    let (done, left) = signal_and_look(
        "sh \"setsid sleep 64.1 & wait\"\n",
        "sleep 64.1",
        1,
        libc::SIGINT,
    );
    assert_eq!(done.code, Some(130), "{done:?}");
    assert!(left.is_empty(), "escaped the Ctrl-C: {left:?}");
}

#[test]
fn an_orphaned_setsid_descendant_dies_on_ctrl_c() {
    let _g = timing_sensitive();
    let script = "sh \"setsid sleep 64.2 >/dev/null 2>&1 &\"\nsleep(30)\n";
    let (done, left) = signal_and_look(script, "sleep 64.2", 1, libc::SIGINT);
    assert_eq!(done.code, Some(130), "{done:?}");
    assert!(left.is_empty(), "escaped the Ctrl-C: {left:?}");
}

#[test]
fn a_setsid_descendant_of_a_pool_job_dies_on_ctrl_c() {
    let _g = timing_sensitive();
    let script = "from [1, 2] | pool 2 exec sh \": ${it}; setsid sleep 64.3 & wait\"\n";
    let (done, left) = signal_and_look(script, "sleep 64.3", 2, libc::SIGINT);
    assert_eq!(done.code, Some(130), "{done:?}");
    assert!(left.is_empty(), "escaped the Ctrl-C: {left:?}");
}

#[test]
fn setsid_descendants_die_when_flow_is_sigkilled() {
    let _g = timing_sensitive();
    // One whose parent still runs, one orphaned (its parent exited at once).
    let script = "spawn { sh \"setsid sleep 64.4 & wait\" }\n\
                  sh \"setsid sleep 64.4 >/dev/null 2>&1 &\"\nsleep(30)\n";
    let (done, left) = signal_and_look(script, "sleep 64.4", 2, libc::SIGKILL);
    assert_eq!(done.signal, Some(libc::SIGKILL), "{done:?}");
    assert!(left.is_empty(), "outlived flow's SIGKILL: {left:?}");
}

/// An orphan is adopted as flow reaps its parent, not at the next look: SIGKILLed the moment
/// the next statement runs, flow still takes it along (with a look every 100 ms, it escaped
/// most of the time).
#[test]
fn an_orphan_is_flows_as_soon_as_its_parent_is_reaped() {
    let _g = timing_sensitive();
    let dir = TempDir::new("escape-at-once");
    let flow = start(
        dir.path(),
        "sh \"setsid sleep 63.41 >/dev/null 2>&1 &\"\ntouch ready\nsleep(30)\n",
        &[],
    );
    wait_for_file(&dir.path().join("ready"), Duration::from_secs(10));
    flow.signal(libc::SIGKILL);
    let done = flow.wait(Duration::from_secs(15));
    assert_eq!(done.signal, Some(libc::SIGKILL), "{done:?}");
    let left = wait_until_gone("sleep 63.41", Duration::from_secs(1));
    assert!(left.is_empty(), "outlived flow's SIGKILL: {left:?}");
}

#[test]
fn a_setsid_descendant_dies_with_its_jobs_timeout() {
    let _g = timing_sensitive();
    let dir = TempDir::new("escape-timeout");
    let flow = start(
        dir.path(),
        "from [1] | pool 1 exec sh \": ${it}; setsid sleep 64.5 & wait\" timeout 500ms\n",
        &[],
    );
    let done = flow.wait(Duration::from_secs(15));
    assert_eq!(done.code, Some(1), "{done:?}");
    assert!(done.stderr.contains("timed out"), "{}", done.stderr);
    let left = wait_until_gone("sleep 64.5", Duration::from_secs(1));
    assert!(left.is_empty(), "outlived its job's timeout: {left:?}");
}

#[test]
fn what_escaped_is_stopped_when_the_script_ends() {
    let _g = timing_sensitive();
    let dir = TempDir::new("escape-end");
    let flow = start(
        dir.path(),
        "sh \"setsid sleep 64.6 >/dev/null 2>&1 &\"\nprint(\"done\")\n",
        &[],
    );
    let done = flow.wait(Duration::from_secs(15));
    assert_eq!(done.code, Some(0), "{done:?}");
    assert_eq!(done.stdout, "done\n");
    assert!(done.elapsed < Duration::from_secs(2), "{done:?}");
    let left = wait_until_gone("sleep 64.6", Duration::from_secs(1));
    assert!(
        left.is_empty(),
        "left running after the script ended: {left:?}"
    );
}

/// In a private PID namespace, a finished job's number is given to an unrelated process
/// (through `ns_last_pid`); flow, SIGKILLed afterwards, must not take it with it.
#[test]
#[cfg_attr(
    not(flow_root),
    ignore = "needs root and unshare: build the tests with FLOW_REQUIRE_ROOT=1 (CI does)"
)]
fn a_recycled_group_number_is_never_killed() {
    let _g = timing_sensitive();
    let dir = TempDir::new("pid-reuse");
    let probe = std::process::Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .status();
    assert!(
        matches!(probe, Ok(s) if s.success()),
        "cannot make a PID namespace here (needs root and unshare)"
    );
    std::fs::write(
        dir.path().join("script.flow"),
        "sh 'echo $$ > job.pid'\nsleep(30)\n",
    )
    .expect("write the script");
    let flow_bin = env!("CARGO_BIN_EXE_flow");
    // Each step waits for a sign that the one before is done (`until_true`, 20 s at most),
    // never for a guessed time.
    let inner = format!(
        r#"
        until_true() {{
            i=0
            while ! eval "$1"; do
                i=$((i + 1))
                if [ $i -gt 2000 ]; then echo "timed out waiting for: $1"; exit 1; fi
                sleep 0.01
            done
        }}
        "{flow_bin}" script.flow & F=$!
        until_true '[ -s job.pid ]'
        P=$(cat job.pid)
        # flow reaped the job (not even a zombie is left), and with it forgot its group.
        until_true '[ ! -e /proc/$P ]'
        echo $((P - 1)) > /proc/sys/kernel/ns_last_pid
        setsid sleep 64.7 & S=$!
        if [ "$S" != "$P" ]; then echo "not recycled: job $P, stranger $S"; fi
        # The stranger leads the group numbered like the job's (field 5 of stat: pgrp).
        until_true '[ "$(cut -d" " -f5 /proc/$S/stat)" = "$S" ]'
        kill -KILL $F; wait $F
        # The watchdog has done its work once it exited (a zombie, or gone).
        until_true '! grep -qs "(fl-watchdog) [^Z]" /proc/[0-9]*/stat'
        if kill -0 $S 2>/dev/null; then echo "stranger alive"; else echo "stranger killed"; fi
        kill -KILL $S 2>/dev/null
        "#
    );
    let run = start_cmd(
        dir.path(),
        "unshare",
        &["--pid", "--fork", "--mount-proc", "bash", "-c", &inner],
    );
    let done = run.wait(Duration::from_secs(30));
    assert!(
        !done.stdout.contains("not recycled"),
        "the test could not recycle the number: {}",
        done.stdout
    );
    assert!(
        done.stdout.contains("stranger alive"),
        "flow's watchdog killed a process it never started: {}{}",
        done.stdout,
        done.stderr
    );
}

/// A job's own SIGINT handler that takes its time is not interrupted again and again.
#[test]
fn a_command_gets_one_sigint_during_the_grace_period() {
    let _g = timing_sensitive();
    let dir = TempDir::new("once");
    // `ready` once the trap is set.
    let script = "sh 'trap \"echo INT >> got.txt\" INT; touch ready; i=0; \
                  while [ $i -lt 30 ]; do sleep 0.05; i=$((i+1)); done; echo tag 64.8'\n";
    let flow = start(dir.path(), script, &[]);
    wait_for_file(&dir.path().join("ready"), Duration::from_secs(10));
    flow.signal(libc::SIGINT);
    let done = flow.wait(Duration::from_secs(15));
    assert_eq!(done.code, Some(130), "{done:?}");
    let got = std::fs::read_to_string(dir.path().join("got.txt")).unwrap_or_default();
    assert_eq!(got.lines().count(), 1, "SIGINTs received: {got:?}");
}

/// A Ctrl-C that arrives while flow is still starting (reading, checking, compiling the
/// script) is an interrupt (exit 130), not death by signal. Only the dynamic loader's first
/// millisecond or so, before any of flow's code runs, is out of reach.
#[test]
fn a_sigint_in_the_first_milliseconds_is_handled() {
    let _g = timing_sensitive();
    let dir = TempDir::new("early");
    // A script that takes a while to read and check, so that the signals below land in that
    // phase (not in the dynamic loader's, whatever the machine's load).
    let mut script: String = (0..3000).map(|i| format!("let v{i} = {i} * 2\n")).collect();
    script.push_str("sleep(5)\n");
    // The loader's time grows with the machine's load: start later on a loaded machine, by
    // what starting a tiny dynamically linked program takes right now.
    let mut exec_us: Vec<u64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let _ = std::process::Command::new("true").status();
            u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX)
        })
        .collect();
    exec_us.sort_unstable();
    let base = 8000 + 4 * exec_us[2];
    let mut deaths = vec![];
    for delay_us in [base, base + 4000, base + 12000, base + 22000] {
        let flow = start(dir.path(), &script, &[]);
        let until = flow.started + Duration::from_micros(delay_us);
        while Instant::now() < until {
            std::hint::spin_loop();
        }
        flow.signal(libc::SIGINT);
        let done = flow.wait(Duration::from_secs(15));
        if done.code != Some(130) {
            deaths.push((delay_us, done.code, done.signal));
        }
    }
    assert!(deaths.is_empty(), "(delay µs, code, signal): {deaths:?}");
}

/// 40,000 item stages in one pipeline: a few dozen threads, a right answer, no crash.
#[test]
fn forty_thousand_stages_run() {
    let _g = crate::signals::heavy();
    let dir = TempDir::new("many-stages");
    let mut script = String::from("from 1..=3");
    for _ in 0..40_000 {
        script.push_str(" | map { it + 1 }");
    }
    script.push_str(" | sum\n");
    let done = start(dir.path(), &script, &[]).wait(Duration::from_secs(60));
    assert_eq!(done.code, Some(0), "{done:?}");
    assert_eq!(done.stdout.trim(), "120006");
}

// Issue 13.6 (start-up): a script that starts no process has nothing to watch or adopt — no
// watchdog process and no adopter thread — and they are in place once one does.
#[test]
fn no_watchdog_or_adopter_until_the_first_process() {
    let _g = timing_sensitive();
    let dir = TempDir::new("lazy-watchdog");
    // `ready`: the script runs (written without starting a process), and has 1.5 s to go
    // before its first process.
    let flow = start(
        dir.path(),
        "write_file(\"ready\", \"\")\nsleep(1.5)\nsh \"sleep 63.9\"\n",
        &[],
    );
    wait_for_file(&dir.path().join("ready"), Duration::from_secs(10));
    let threads = || -> Vec<String> {
        std::fs::read_dir(format!("/proc/{}/task", flow.pid))
            .map(|d| {
                d.flatten()
                    .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
                    .map(|c| c.trim().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let children = || -> Vec<i32> {
        std::fs::read_to_string(format!("/proc/{}/task/{}/children", flow.pid, flow.pid))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    };
    assert!(
        children().is_empty(),
        "a child before any process: {:?}",
        children()
    );
    assert!(
        !threads().iter().any(|t| t == "flow-children"),
        "{:?}",
        threads()
    );
    assert!(
        crate::signals::wait_until_present("sleep 63.9", 1, Duration::from_secs(5)),
        "did not start"
    );
    // The command and the watchdog.
    assert_eq!(children().len(), 2, "{:?}", children());
    assert!(
        threads().iter().any(|t| t == "flow-children"),
        "{:?}",
        threads()
    );
    flow.signal(libc::SIGINT);
    let done = flow.wait(Duration::from_secs(15));
    assert_eq!(done.code, Some(130), "{done:?}");
    assert!(wait_until_gone_tag("sleep 63.9"));
}

fn wait_until_gone_tag(tag: &str) -> bool {
    crate::signals::wait_until_gone(tag, Duration::from_secs(5)).is_empty()
}
