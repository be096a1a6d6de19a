//! The sandbox, as a host that runs its users' scripts sets it: an allow-list of programs
//! (or none), the host's stdin kept from scripts by default, Rhai's limits passed through.

use flow::{Engine, RunErrorKind};
use std::io::Write;

fn render(d: &flow::Diagnostics) -> String {
    d.render(flow::RenderOptions {
        color: false,
        width: 100,
    })
}

#[test]
fn a_literal_program_outside_the_allow_list_is_a_compile_error() {
    let mut engine = Engine::new();
    engine.allow_programs(["echo", "sort"]);
    assert!(engine.compile("echo b a | sort").is_ok());
    for (src, name) in [
        ("echo hi | wc -c", "wc"),
        ("sh \"echo hi\"", "sh"),
        ("/bin/echo hi", "/bin/echo"),
        ("from [1] | pool 2 exec rm -f ${it}", "rm"),
        ("let t = spawn { curl -s example.com }\njoin t", "curl"),
    ] {
        let d = engine.compile(src).unwrap_err();
        let text = render(&d);
        assert!(
            text.contains(&format!("`{name}` is not allowed by this host")),
            "{src}: {text}"
        );
        assert!(text.contains("flow::check::not_allowed"), "{text}");
        assert!(
            text.contains("the programs allowed here: echo, sort"),
            "{text}"
        );
    }
}

/// A program chosen at run time is refused where it would start: nothing runs.
#[test]
fn a_program_chosen_at_run_time_is_refused_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("made");
    let mut engine = Engine::new();
    engine
        .allow_programs(["echo"])
        .set_var("path", marker.display().to_string());
    for src in [
        "let p = \"touch\"\n${p} ${path}",
        "run(\"touch\", [path])",
        "from [path] | pool 2 exec ${\"touch\"} ${it}",
    ] {
        let s = engine.compile(src).unwrap();
        let e = engine.run(&s).unwrap_err();
        assert!(
            matches!(&e.kind, RunErrorKind::NotAllowed { program, .. } if program == "touch")
                || e.to_string()
                    .contains("does not allow this script to run `touch`"),
            "{src}: {e:?}"
        );
        assert!(!marker.exists(), "{src}: the program ran");
    }
}

#[test]
fn an_empty_allow_list_starts_nothing_and_runs_item_code() {
    let mut engine = Engine::new();
    engine.allow_programs(Vec::<String>::new());
    let d = engine.compile("ls").unwrap_err();
    assert!(
        render(&d).contains("this host runs scripts without starting any program"),
        "{}",
        render(&d)
    );
    let total: i64 = engine.eval("from 1..=10 | map { it * it } | sum").unwrap();
    assert_eq!(total, 385);
}

#[test]
fn rhai_limits_stop_a_runaway_loop() {
    let mut engine = Engine::new();
    engine.max_operations(10_000);
    let s = engine
        .compile("fn spin() { let n = 0; while true { n += 1 } n }\nspin()")
        .unwrap();
    let e = engine.run(&s).unwrap_err();
    assert!(e.to_string().contains("Too many operations"), "{e}");
    // In a stage and in a pool worker too.
    let s = engine
        .compile("from [1] | map { let n = 0; while true { n += 1 } n } | count")
        .unwrap();
    assert!(engine
        .run(&s)
        .unwrap_err()
        .to_string()
        .contains("Too many operations"));
    let s = engine
        .compile("from [1, 2] | pool 2 map { let n = 0; while true { n += 1 } n } | count")
        .unwrap();
    assert!(engine
        .run(&s)
        .unwrap_err()
        .to_string()
        .contains("Too many operations"));
    // Limits leave the checker strict: an unknown name is still a compile error.
    assert!(engine.compile("print(nope)").is_err());
    let mut engine = Engine::new();
    engine.max_sizes(100, 10, 10);
    let e = engine
        .eval::<i64>("let a = []\nfor i in 0..100 { a.push(i) }\na.len()")
        .unwrap_err();
    assert!(e.to_string().contains("Size of array"), "{e}");
}

/// A host's stdin is its own unless it says otherwise: a script's first command and an item
/// stage with nothing before them read nothing. (Run in a child of this test, whose stdin
/// is a pipe with lines in it.)
#[test]
fn the_hosts_stdin_is_kept_from_scripts_unless_allowed() {
    if std::env::var_os("FLOW_STDIN_CHILD").is_some() {
        let engine = Engine::new();
        let lines: i64 = engine.eval("map { it } | count").unwrap();
        let bytes: i64 = engine
            .eval("wc -c | map { it.trim().parse_int() } | sum")
            .unwrap();
        let mut allowed = Engine::new();
        allowed.inherit_stdin(true);
        let read: i64 = allowed.eval("map { it } | count").unwrap();
        println!("child: lines={lines} bytes={bytes} read={read}");
        return;
    }
    let mut child = std::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "api::sandbox::the_hosts_stdin_is_kept_from_scripts_unless_allowed",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("FLOW_STDIN_CHILD", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run the child");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"secret 1\nsecret 2\nsecret 3\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("child: lines=0 bytes=0 read=3"), "{stdout}");
}
