//! The REPL driven through a pipe, as a terminal-less client: entries persist, `:vars` lists
//! variables and `fn`s, and a Ctrl-C (SIGINT to flow) cancels the running entry, runs the
//! `on_interrupt` blocks entered so far — with their own entry's text — and returns to the
//! prompt for the next entry.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The REPL started by `cmd` with `home` as its HOME, its three streams piped.
fn repl(cmd: &mut Command, home: &std::path::Path) -> std::process::Child {
    cmd.env("HOME", home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start flow repl")
}

#[test]
fn entries_persist_and_ctrl_c_runs_the_handlers_then_goes_on() {
    let mut child = repl(
        Command::new(env!("CARGO_BIN_EXE_flow")).arg("repl"),
        &std::env::temp_dir(),
    );
    let mut stdin = child.stdin.take().expect("stdin");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    // The handler's entry is longer than the entries after it: its statements must be read
    // from its own text, not from the entry that is running when Ctrl-C comes. `ready` is
    // printed by that running entry (one line, two statements): a Ctrl-C between entries
    // cancels nothing, so the test waits for it rather than for a guessed time.
    writeln!(
        stdin,
        "let total = 42\nfn twice(x, y) {{ x * 2 }}\non_interrupt {{ print(\"cleanup saw \" + total); eprint(\"to stderr\") }}\n:vars\nprint(\"ready\"); sleep(30)"
    )
    .expect("write entries");
    stdin.flush().expect("flush");
    let mut seen = String::new();
    let t0 = Instant::now();
    while !seen.contains("ready") {
        let mut line = String::new();
        if out.read_line(&mut line).expect("read") == 0 || t0.elapsed() > Duration::from_secs(20) {
            panic!("no `ready` from the REPL: {seen}");
        }
        seen.push_str(&line);
    }
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid, libc::SIGINT) };
    writeln!(stdin, "print(\"after: \" + twice(total, 0))").expect("write");
    drop(stdin);
    let t1 = Instant::now();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).expect("read the rest");
    let done = child.wait_with_output().expect("wait");
    assert!(
        t1.elapsed() < Duration::from_secs(10),
        "Ctrl-C did not cancel the entry"
    );
    let all = format!("{seen}{rest}");
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(all.contains("total = 42"), "{all}");
    assert!(all.contains("fn twice(x, y)"), ":vars lists fns: {all}");
    assert!(
        all.contains("cleanup saw 42"),
        "handler ran: {all}\nstderr: {err}"
    );
    assert!(err.contains("to stderr"), "{err}");
    assert!(err.contains("cancelled"), "{err}");
    assert!(all.contains("after: 84"), "the REPL went on: {all}");
    assert_eq!(done.status.code(), Some(0), "{err}");
}

/// A REPL user types a variable's name first: `x`, `x + 1` and `xs.push(4)` after `let`s in
/// earlier entries are values, not commands.
#[test]
fn a_variable_of_an_earlier_entry_starts_a_statement() {
    let mut child = repl(
        Command::new(env!("CARGO_BIN_EXE_flow")).arg("repl"),
        &std::env::temp_dir(),
    );
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "let x = 3\nx\nx + 1\nlet xs = [1]\nxs.push(4)\nxs").expect("write");
    drop(stdin);
    let out = child
        .wait_with_output()
        .expect("the REPL ends at end of input");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines,
        ["3", "4", "[1, 4]"],
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `:report FILE` writes the last entry's report: the stage of that entry, not an earlier
/// one's; before any entry it says so.
#[test]
fn report_writes_the_last_entrys_report() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (html, json) = (dir.path().join("r.html"), dir.path().join("r.json"));
    let mut child = repl(
        Command::new(env!("CARGO_BIN_EXE_flow")).arg("repl"),
        dir.path(),
    );
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(
        stdin,
        ":report {}\nfrom 1..=10 | map {{ it + 1 }} | count\nfrom 1..=20 | filter {{ it > 3 }} | count\n:report {}\n:report {}",
        html.display(),
        html.display(),
        json.display()
    )
    .expect("write");
    drop(stdin);
    let out = child.wait_with_output().expect("the REPL ends");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(":report: no entry has run yet"), "{err}");
    let page = std::fs::read_to_string(&html).expect("the HTML report");
    assert!(page.contains("filter { it &gt; 3 }") && !page.contains("map { it + 1 }"));
    let trace: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("the trace")).expect("JSON");
    assert!(trace["traceEvents"].is_array());
}

/// History is written entry by entry: a REPL killed without a clean exit (a closed
/// terminal) keeps what was typed.
#[test]
fn history_survives_a_kill() {
    let home = tempfile::tempdir().expect("a home");
    // On a terminal, as a user types (`script` gives the REPL one): entries piped in are
    // not the user's history.
    let flow = format!("{} repl", env!("CARGO_BIN_EXE_flow"));
    let mut child = repl(
        Command::new("script").args(["-q", "-c", &flow, "/dev/null"]),
        home.path(),
    );
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "let kept = 1").expect("write");
    stdin.flush().expect("flush");
    let file = home.path().join(".flow_history");
    let t0 = Instant::now();
    while !std::fs::read_to_string(&file).is_ok_and(|t| t.contains("let kept = 1")) {
        assert!(t0.elapsed() < Duration::from_secs(20), "no history written");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("kill");
    let _ = child.wait();
    drop(stdin);
    assert!(std::fs::read_to_string(&file)
        .expect("history")
        .contains("let kept = 1"));
}
