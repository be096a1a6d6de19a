//! The host's view of a script: its name in diagnostics, declared functions checked at
//! their calls, and a cancel reported as a cancel.

use flow::{CancelReason, CancelToken, Engine, RenderOptions, RunErrorKind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PLAIN: RenderOptions = RenderOptions {
    color: false,
    width: 100,
};

#[test]
fn the_script_name_is_in_its_diagnostics_and_run_errors() {
    let e = Engine::new();
    let d = e
        .compile_named("jobs.flow", "from [1] | map nope")
        .unwrap_err();
    assert!(
        d.render(PLAIN).contains("jobs.flow:1:"),
        "{}",
        d.render(PLAIN)
    );
    let s = e.compile_named("jobs.flow", "let x = 1\nfalse").unwrap();
    assert_eq!(s.name(), "jobs.flow");
    let s = e
        .compile_named("jobs.flow", "let x = 1\nsh \"exit 3\"")
        .unwrap();
    let err = e.run(&s).unwrap_err();
    let text = s.render_error(&err, PLAIN);
    assert!(text.contains("jobs.flow:2:1"), "{text}");
}

#[test]
fn calls_of_a_declared_host_function_are_checked_for_arity() {
    let mut e = Engine::new();
    e.register(|r| {
        r.register_fn("triple", |x: i64| x * 3);
    });
    e.declare_fn("triple", 1);
    let src = "let a = triple(2)\nlet b = triple(1, 2)";
    let d = e.compile(src).unwrap_err();
    let text = d.render(PLAIN);
    assert!(text.contains("flow::check::arity"), "{text}");
    assert!(
        text.contains("`triple` is called with 2 arguments, but it takes 1 argument"),
        "{text}"
    );
    assert!(text.contains("2:9"), "{text}");
    assert_eq!(e.eval::<i64>("triple(2) + 4.triple()").unwrap(), 18);
}

/// Whether what a run is cancelled in has started.
type Ready = Box<dyn FnMut() -> bool + Send>;

/// At least `n` processes run `argv` (see `processes_running`).
fn running(argv: &'static str, n: usize) -> Ready {
    Box::new(move || crate::signals::processes_running(argv).len() >= n)
}

#[test]
fn a_host_cancel_is_reported_as_a_cancel_not_a_failure() {
    let plain = Engine::new();
    // `sleep(30)` starts no process to look for: the run says `ready` right before it (to a
    // hook of another engine, so that the commands' output stays flow's own).
    let said_ready = Arc::new(AtomicBool::new(false));
    let mut hooked = Engine::new();
    let said = said_ready.clone();
    hooked.on_output(move |_, bytes| {
        if bytes.starts_with(b"ready") {
            said.store(true, Ordering::SeqCst);
        }
    });
    let cases: [(&Engine, &str, Ready); 4] = [
        (&plain, "sleep 30.61", running("sleep 30.61", 1)),
        (
            &plain,
            "from 1..=2 | pool 2 exec sleep 30.62 ${it}",
            running("sleep 30.62", 2),
        ),
        (&plain, "sleep 30.63 | cat", running("sleep 30.63", 1)),
        (
            &hooked,
            "print(\"ready\")\nsleep(30)",
            Box::new(move || said_ready.load(Ordering::SeqCst)),
        ),
    ];
    for (e, src, ready) in cases {
        let s = e.compile(src).unwrap();
        let token = CancelToken::new();
        let start = Instant::now();
        let canceller = super::cancel_when(token.clone(), CancelReason::Requested, ready);
        let err = e.run_with_cancel(&s, &token, vec![]).unwrap_err();
        assert!(
            canceller.join().expect("the cancelling thread"),
            "{src}: did not start within 20 s"
        );
        assert!(
            matches!(err.kind, RunErrorKind::CancelledByHost),
            "{src}: {err:?}"
        );
        assert!(err.is_cancelled());
        assert_eq!(err.to_string(), "the run was cancelled by the host");
        assert!(start.elapsed() < Duration::from_secs(5), "{src}");
    }
}

#[test]
fn rhai_is_re_exported_for_hosts() {
    let mut e = Engine::new();
    e.set_var("m", flow::rhai::Map::new());
    assert_eq!(e.eval::<i64>("let n = m.len()\nn").unwrap(), 0);
}

/// A misspelt name is a check error; a host that registers with Rhai's API may define names
/// the checker cannot see (here a global module's constant), so there the name is left to
/// the run, whose error still names the flow spelling of a Python name.
#[test]
fn names_a_host_may_define_are_left_to_the_run() {
    let e = Engine::new();
    let d = e.compile("let n = 2\nprint(nn + 1)").unwrap_err();
    let text = d.render(PLAIN);
    assert!(text.contains("flow::check::unknown_variable"), "{text}");
    assert!(text.contains("did you mean `n`?"), "{text}");

    let mut e = Engine::new();
    e.register(|r| {
        let mut m = flow::rhai::Module::new();
        m.set_var("ANSWER", 42_i64);
        r.register_global_module(m.into());
    });
    let s = e.compile("let v = ANSWER + 1\nv").unwrap();
    assert_eq!(e.run_as::<i64>(&s).unwrap(), 43);
    let s = e.compile("let done = True\ndone").unwrap();
    let err = e.run(&s).unwrap_err();
    let text = s.render_error(&err, PLAIN);
    assert!(text.contains("Variable not found: True"), "{text}");
    assert!(text.contains("`true`"), "{text}");
}

/// `register_fn` is one step: registered for every run and pool worker, and declared to the
/// checker with the closure's arity, so a call with the wrong number of arguments is a check
/// error before anything runs.
#[test]
fn register_fn_is_one_step_with_the_arity_inferred() {
    use std::collections::HashMap;
    let table = std::sync::Arc::new(HashMap::from([("a".to_string(), 1_i64), ("b".into(), 2)]));
    let mut e = Engine::new();
    e.register_fn("lookup", move |k: &str| table.get(k).copied().unwrap_or(-1));
    e.register_fn("scale", |x: i64, by: i64| x * by);
    let v: i64 = e
        .eval("from [\"a\", \"b\", \"z\"] | pool 2 map lookup | map { scale(it, 10) } | sum")
        .unwrap();
    assert_eq!(v, 20);
    let err = e.compile("from [1] | map { scale(it) }").unwrap_err();
    assert!(err.to_string().contains("flow::check::arity"), "{err}");
}
