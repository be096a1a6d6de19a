//! The embedding API: a host compiles, runs, registers functions, feeds sources,
//! reads sinks and cancels — without signal handlers and without global state.

mod example;
mod host;
mod output;
mod per_run;
mod sandbox;
mod sinks;
mod values;

use crate::harness::wait_until;
use flow::{CancelReason, CancelToken, Engine, RunErrorKind};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// From another thread, cancel `token` for `reason` once `ready` holds: what the run is to be
/// cancelled in has started. Past 20 s it cancels anyway, so that the run ends; the thread's
/// result says whether `ready` held.
fn cancel_when(
    token: CancelToken,
    reason: CancelReason,
    ready: impl FnMut() -> bool + Send + 'static,
) -> JoinHandle<bool> {
    std::thread::spawn(move || {
        let held = wait_until(Duration::from_secs(20), ready);
        token.cancel(reason);
        held
    })
}

#[test]
fn compile_run_and_read_a_value() {
    let mut e = Engine::new();
    e.set_var("n", 5_i64);
    let s = e.compile("from 1..=n | map { it * it } | sum").unwrap();
    let s2 = e.compile("let total = from 1..=n | sum\ntotal").unwrap();
    assert_eq!(e.run(&s).unwrap().as_int().unwrap(), 55);
    assert_eq!(e.run(&s2).unwrap().as_int().unwrap(), 15);
}

#[test]
fn diagnostics_come_back_rendered_with_codes() {
    let e = Engine::new();
    let d = e.compile("ls | map").unwrap_err();
    let text = d.render(flow::RenderOptions {
        color: false,
        width: 80,
    });
    assert!(text.contains("flow::parse::unexpected"), "{text}");
    let d = e.compile("from [1] | map nope").unwrap_err();
    let text = d.render(flow::RenderOptions {
        color: false,
        width: 80,
    });
    assert!(text.contains("flow::check::unknown_function"), "{text}");
}

#[test]
fn host_functions_work_as_callables_in_stages_and_pools() {
    let mut e = Engine::new();
    e.register(|r| {
        r.register_fn("triple", |x: i64| x * 3);
    });
    e.declare_fn("triple", 1);
    let out = e.sink("out", 4);
    let s = e
        .compile("from 1..=4 | pool 2 map triple | into out")
        .unwrap();
    let h = std::thread::spawn(move || out.iter().map(|v| v.as_int().unwrap()).collect::<Vec<_>>());
    let _ = e.run(&s).unwrap();
    assert_eq!(h.join().unwrap(), vec![3, 6, 9, 12]);
}

#[test]
fn a_panicking_host_function_is_an_ordinary_error() {
    let mut e = Engine::new();
    e.register(|r| {
        r.register_fn("boom", |_x: i64| -> i64 { panic!("host bug") });
    });
    e.declare_fn("boom", 1);
    let s = e.compile("from [1, 2] | map boom | count").unwrap();
    let err = e.run(&s).unwrap_err();
    assert!(matches!(err.kind, RunErrorKind::Panic { .. }), "{err:?}");
    assert!(err.to_string().contains("host bug"), "{err}");
}

#[test]
fn a_host_function_panicking_in_a_task_fails_that_task_only() {
    // A task runs on a worker shared with other tasks: the panic ends its task with an
    // error at `join`, and the tasks parked beside it still finish.
    let mut e = Engine::new();
    e.register(|r| {
        r.register_fn("boom", |_x: i64| -> i64 { panic!("host bug in a task") });
    });
    e.declare_fn("boom", 1);
    let s = e
        .compile(
            "let ok = []\n\
             for i in 0..50 { let h = spawn { sleep(0.05); i }; ok.push(h) }\n\
             let bad = spawn { sleep(0.01); let x = boom(1) }\n\
             let vs = join ok\n\
             join bad",
        )
        .unwrap();
    let err = e.run(&s).unwrap_err();
    assert!(matches!(err.kind, RunErrorKind::Panic { .. }), "{err:?}");
    assert!(err.to_string().contains("host bug in a task"), "{err}");
}

#[test]
fn a_named_source_feeds_a_script() {
    let mut e = Engine::new();
    let tx = e.source("input", 2);
    let s = e
        .compile("let n = from input | map { it + 1 } | sum\nn")
        .unwrap();
    let feeder = std::thread::spawn(move || {
        for i in 0..100_i64 {
            tx.send(i).unwrap();
        }
        tx.close();
    });
    let v = e.run(&s).unwrap();
    feeder.join().unwrap();
    assert_eq!(v.as_int().unwrap(), (1..=100).sum::<i64>());
}

#[test]
fn a_host_cancels_a_run_from_another_thread() {
    let e = Engine::new();
    let s = e
        .compile("from 1..=2 | pool 2 exec sleep 30.64 ${it}")
        .unwrap();
    let token = CancelToken::new();
    let start = Instant::now();
    // Cancelled once both jobs run.
    let canceller = cancel_when(token.clone(), CancelReason::Interrupt, || {
        crate::signals::processes_running("sleep 30.64").len() >= 2
    });
    let err = e.run_with_cancel(&s, &token, vec![]).unwrap_err();
    assert!(
        canceller.join().expect("the cancelling thread"),
        "the jobs did not start within 20 s"
    );
    assert_eq!(err.exit_code(), 130, "{err:?}");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn two_engines_do_not_interfere() {
    let mut a = Engine::new();
    let mut b = Engine::new();
    a.set_var("x", 1_i64);
    b.set_var("x", 2_i64);
    let sa = a.compile("from 1..=1000 | map { it * x } | sum").unwrap();
    let sb = b
        .compile("let y = from 1..=1000 | map { it * x } | sum\ny")
        .unwrap();
    let ta = std::thread::spawn(move || a.run(&sa).map(|_| ()));
    let vb = b.run(&sb).unwrap();
    ta.join().unwrap().unwrap();
    assert_eq!(vb.as_int().unwrap(), 2 * 500_500);
}

/// A host function's panic that flow catches is the run's error and prints nothing on the
/// host's stderr. (The test harness captures what threads print, so the run happens in a
/// child: this same test, run again with `--nocapture` and `FLOW_PANIC_CHILD` set.)
#[test]
fn a_caught_host_panic_prints_nothing() {
    if std::env::var_os("FLOW_PANIC_CHILD").is_some() {
        let mut e = Engine::new();
        e.register(|r| {
            r.register_fn("boom", |_x: i64| -> i64 { panic!("host bug 7f3a") });
        });
        e.declare_fn("boom", 1);
        let s = e.compile("from [1, 2] | map boom | count").unwrap();
        let err = e.run(&s).unwrap_err();
        assert!(matches!(err.kind, RunErrorKind::Panic { .. }), "{err:?}");
        println!("child ran: {err}");
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "api::a_caught_host_panic_prints_nothing",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("FLOW_PANIC_CHILD", "1")
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("child ran: ") && stdout.contains("host bug 7f3a"),
        "{stdout}"
    );
    assert!(
        !stderr.contains("7f3a"),
        "the caught panic printed: {stderr}"
    );
}
