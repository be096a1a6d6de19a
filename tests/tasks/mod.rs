//! Tasks on the coroutine scheduler (`src/runtime/green.rs`), tested from outside where
//! what matters is what the process costs, not what it prints.

use crate::harness::TempDir;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Run `flow script.flow` in `dir`; its exit code and the CPU time (user + system) it used.
fn run_with_cpu(dir: &std::path::Path, script: &str) -> (i32, Duration, String) {
    std::fs::write(dir.join("script.flow"), script).expect("write the script");
    // Reaped below by wait4, which also gives the child's CPU time.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(env!("CARGO_BIN_EXE_flow"))
        .arg("script.flow")
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start flow");
    let pid = i32::try_from(child.id()).expect("pid fits in i32");
    let mut status = 0;
    // SAFETY: a zeroed rusage is valid; wait4 fills it for our own child, which nothing
    // else waits for (the Child handle is only used for its stderr afterwards).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4");
    let mut err = String::new();
    if let Some(mut e) = child.stderr {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (code, tv(usage.ru_utime) + tv(usage.ru_stime), err)
}

#[test]
fn idle_workers_do_not_all_wake_for_every_sleeping_task() {
    // 200 tasks that each run a command take 200 workers (a command keeps its worker); when
    // they end, those workers idle. 2,000 tasks then sleep, ending one per millisecond: one
    // idle worker waits for the next deadline, not all 200 (which cost seconds of CPU).
    let _g = crate::signals::heavy();
    let dir = TempDir::new("idle-workers");
    let script = "let cs = []\n\
        for i in 0..200 { let h = spawn { sleep 0.3 }; cs.push(h) }\n\
        join cs\n\
        let hs = []\n\
        for i in 0..2000 { let d = i.to_float() / 1000.0; let h = spawn { sleep(d) }; hs.push(h) }\n\
        join hs\n";
    let (code, cpu, err) = run_with_cpu(dir.path(), script);
    assert_eq!(code, 0, "{err}");
    assert!(
        cpu < Duration::from_millis(1500),
        "the run used {cpu:?} of CPU for 2 s of sleeping tasks"
    );
}

/// A task resumes on whichever worker is free, so what the runtime keeps per thread for it
/// (its Rhai context) must move with it. Each access once kept the first thread's address
/// for the whole function, and two tasks then used one thread's context at once ("RefCell
/// already borrowed", or a hang, in about one run of 15 of this).
#[test]
fn tasks_that_resume_on_other_workers_keep_their_own_context() {
    let script = "let hs = []\n\
                  for i in 0..2000 {\n\
                    let h = spawn { let s = 0; for j in 0..4 { sleep(0.005); s += j }; s + i }\n\
                    hs.push(h)\n\
                  }\n\
                  let vs = join hs\n\
                  print(`${vs.len()} ${vs[1999]}`)\n";
    for _ in 0..5 {
        crate::harness::Flow::new()
            .script(script)
            .timeout(Duration::from_secs(30))
            .stdout("2000 2005\n")
            .stderr("")
            .run();
    }
}
