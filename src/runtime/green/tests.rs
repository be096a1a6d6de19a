//! Unit tests of the task scheduler: wakes, starvation, stack overflows.

use super::*;
use std::sync::atomic::AtomicUsize;

fn sleep_in_task(d: Duration) {
    let until = Instant::now() + d;
    while Instant::now() < until {
        park(Some(until));
    }
}

#[test]
fn many_waiting_tasks_share_few_threads() {
    let done = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    for _ in 0..500 {
        let done = done.clone();
        spawn(move || {
            sleep_in_task(Duration::from_millis(100));
            done.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    }
    while done.load(Ordering::SeqCst) < 500 {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "tasks did not finish"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let workers = sched().lock().workers.len();
    assert!(workers < 50, "{workers} workers for 500 sleeping tasks");
}

#[test]
fn a_task_that_blocks_its_worker_does_not_starve_the_others() {
    // More blocked tasks than cores: the others still run, on workers started for them.
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let rx = Arc::new(Mutex::new(rx));
    let n = sched().free + 2;
    for _ in 0..n {
        let rx = rx.clone();
        spawn(move || {
            let _ = rx.lock().unwrap().recv_timeout(Duration::from_secs(20));
        })
        .unwrap();
    }
    let (dtx, drx) = std::sync::mpsc::channel();
    spawn(move || {
        let _ = dtx.send(());
    })
    .unwrap();
    assert!(drx.recv_timeout(Duration::from_secs(10)).is_ok());
    drop(tx);
}

/// Recurse until the stack runs out (nothing here can be turned into a loop).
fn deep(n: u64) -> u64 {
    let frame = std::hint::black_box([n; 64]);
    if frame[0] == u64::MAX {
        0
    } else {
        deep(n + 1).wrapping_add(std::hint::black_box(frame[1]))
    }
}

/// In a test's child process: a task runs `first`, then overflows its stack (the report
/// aborts the process; the sleep only waits for it).
fn overflow_a_task(first: impl FnOnce() + Send + 'static) {
    spawn(move || {
        first();
        std::hint::black_box(deep(0));
    })
    .unwrap();
    std::thread::sleep(Duration::from_secs(30));
}

#[test]
fn a_stack_overflow_in_a_task_is_reported_not_a_bare_segfault() {
    const CHILD: &str = "FLOW_GREEN_TEST_OVERFLOW";
    if std::env::var_os(CHILD).is_some() {
        // The child process: overflow a task's stack; the report aborts the process.
        overflow_a_task(|| {});
        return;
    }
    let err = aborted_child(
        "runtime::green::tests::a_stack_overflow_in_a_task_is_reported_not_a_bare_segfault",
        CHILD,
    );
    assert!(err.contains("flow::run::stack_overflow"), "{err}");
    assert!(err.contains("a task overflowed its stack"), "{err}");
}

#[test]
fn a_worker_without_rusts_signal_stack_still_reports_an_overflow() {
    // The `flow` binary skips Rust's start-up, so its threads get no signal stack from Rust:
    // the worker must make its own, or the fault handler has no stack to run on.
    const CHILD: &str = "FLOW_GREEN_TEST_OVERFLOW_NO_ALTSTACK";
    if std::env::var_os(CHILD).is_some() {
        overflow_a_task(|| {
            super::stacks::disable_signal_stack();
            super::stacks::ensure_signal_stack();
        });
        return;
    }
    let err = aborted_child(
        "runtime::green::tests::a_worker_without_rusts_signal_stack_still_reports_an_overflow",
        CHILD,
    );
    assert!(err.contains("a task overflowed its stack"), "{err}");
}

#[test]
fn a_fault_outside_a_task_stack_is_left_to_rust() {
    // A thread's own overflow is still Rust's to report (the handler passes it on).
    const CHILD: &str = "FLOW_GREEN_TEST_THREAD_OVERFLOW";
    if std::env::var_os(CHILD).is_some() {
        // Start the scheduler (and its fault handler), then overflow a plain thread.
        spawn(|| {}).unwrap();
        let t = std::thread::Builder::new()
            .name("plain".into())
            .stack_size(256 << 10)
            .spawn(|| std::hint::black_box(deep(0)))
            .unwrap();
        let _ = t.join();
        return;
    }
    let err = aborted_child(
        "runtime::green::tests::a_fault_outside_a_task_stack_is_left_to_rust",
        CHILD,
    );
    assert!(err.contains("thread 'plain'"), "{err}");
    assert!(err.contains("has overflowed its stack"), "{err}");
    assert!(!err.contains("flow::run::stack_overflow"), "{err}");
}

#[test]
fn a_wake_before_the_park_is_not_lost() {
    let (tx, rx) = std::sync::mpsc::channel();
    let flag = Arc::new(AtomicBool::new(false));
    let f2 = flag.clone();
    spawn(move || {
        let me = current().unwrap();
        me.wake();
        // Woken while running: this park returns at once.
        park(None);
        f2.store(true, Ordering::SeqCst);
        let _ = tx.send(());
    })
    .unwrap();
    assert!(rx.recv_timeout(Duration::from_secs(10)).is_ok());
    assert!(flag.load(Ordering::SeqCst));
}

/// Run the test `name` again in a child process with `env` set; the child must die of
/// SIGABRT. Its stderr.
fn aborted_child(name: &str, env: &str) -> String {
    use std::os::unix::process::ExitStatusExt;
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(env, "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGABRT),
        "{:?}\n{err}",
        out.status
    );
    err
}
