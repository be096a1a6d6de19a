//! The host's view of a script: its name in diagnostics, declared functions checked at
//! their calls, and a cancel reported as a cancel.

use flow::{CancelReason, CancelToken, Engine, RenderOptions, RunErrorKind};
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

#[test]
fn a_host_cancel_is_reported_as_a_cancel_not_a_failure() {
    let e = Engine::new();
    for src in [
        "sleep 30",
        "from 1..=2 | pool 2 exec sleep 30 ${it}",
        "sleep 30 | cat",
        "sleep(30)",
    ] {
        let s = e.compile(src).unwrap();
        let token = CancelToken::new();
        let t2 = token.clone();
        let start = Instant::now();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(150));
            t2.cancel(CancelReason::Requested);
        });
        let err = e.run_with_cancel(&s, &token, vec![]).unwrap_err();
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
