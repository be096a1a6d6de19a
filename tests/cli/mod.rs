//! Rust-level tests of the `flow` command line, written with the `Flow` builder: inputs that
//! are generated rather than committed (huge, deep or not UTF-8).

mod stderr_tail;

use crate::harness::Flow;

#[test]
fn check_accepts_a_simple_script_silently() {
    Flow::new()
        .script("ls -l | wc -l\n")
        .args(&["check", "{}"])
        .stdout("")
        .stderr("")
        .run();
}

#[test]
fn ten_thousand_nested_braces_are_a_parse_error_not_a_crash() {
    let script = format!("spawn {}\n", "{".repeat(10_000));
    Flow::new()
        .script(&script)
        .args(&["check", "{}"])
        .status(2)
        .stderr_contains("flow::parse::too_deep")
        .run();
}

#[test]
fn ten_thousand_nested_parens_are_a_parse_error_not_a_crash() {
    let script = format!("print{}\n", "(".repeat(10_000));
    Flow::new()
        .script(&script)
        .args(&["check", "{}"])
        .status(2)
        .stderr_contains("flow::parse::too_deep")
        .run();
}

#[test]
fn long_else_if_chain_does_not_overflow() {
    let mut script = String::from("let n = 1\nif n == 0 { echo 0 }");
    for i in 1..500 {
        script.push_str(&format!(" else if n == {i} {{ echo {i} }}"));
    }
    script.push_str(" else { echo other }\n");
    Flow::new().script(&script).args(&["check", "{}"]).run();
}

#[test]
fn long_pipeline_is_accepted() {
    let script = format!("ls{}\n", " | cat".repeat(5_000));
    Flow::new().script(&script).args(&["check", "{}"]).run();
}

#[test]
fn non_utf8_script_is_rejected_with_its_position() {
    Flow::new()
        .script_bytes(b"echo ok\necho \xff\xfe bad\n")
        .args(&["check", "{}"])
        .status(2)
        .stderr_contains("flow::parse::not_utf8")
        .stderr_contains("script.flow:2:6")
        .run();
}

#[test]
fn check_reads_the_script_from_stdin() {
    Flow::new()
        .args(&["check", "-"])
        .stdin("ls | wc -l\n")
        .stdout("")
        .stderr("")
        .run();
}

#[test]
fn check_of_a_missing_file_exits_2() {
    Flow::new()
        .args(&["check", "no-such-file.flow"])
        .status(2)
        .stderr_contains("no-such-file.flow")
        .run();
}

#[test]
fn env_assignment_before_a_keyword_named_program() {
    Flow::new()
        .script("LC_ALL=C sort notes.txt\nLC_ALL=C uniq -c notes.txt\n")
        .args(&["check", "{}"])
        .stdout("")
        .stderr("")
        .run();
}

/// Scripts the parser accepts today but should reject (exit 2). Each is a known bug, kept here
/// so that whoever fixes it only has to delete the `ignore`.
fn rejected(script: &str) {
    Flow::new()
        .script(script)
        .args(&["check", "{}"])
        .status(2)
        .stderr_contains("flow::parse")
        .run();
}

#[test]
fn let_spawn_with_nothing_is_rejected() {
    rejected("let h = spawn\n");
}

#[test]
fn let_spawn_daemon_with_nothing_is_rejected() {
    rejected("let h = spawn daemon\n");
}

#[test]
fn let_join_with_no_names_is_rejected() {
    rejected("let x = join\n");
}

#[test]
fn let_unclosed_spawn_block_is_rejected() {
    rejected("let h = spawn {\n    ls -l | wc -l\n");
}

#[test]
fn unclosed_paren_in_call_is_rejected() {
    rejected("print(\"hi\"\nls\n");
}

#[test]
fn extra_close_paren_in_call_is_rejected() {
    rejected("print(1))\n");
}

#[test]
fn pool_exec_bad_timeout_is_rejected() {
    rejected("from [1] | pool 2 exec wc -c ${it} timeout 10sec\n");
}

#[test]
fn unclosed_block_comment_is_rejected() {
    rejected("ls\n/* never closed\necho hi\n");
}

#[test]
fn unclosed_interpolation_is_rejected() {
    rejected("echo \"${name\"\n");
}

#[test]
fn parse_error_far_along_a_long_line_is_rendered() {
    let script = format!("echo{} }}\n", " a".repeat(40_000));
    Flow::new()
        .script(&script)
        .args(&["check", "{}"])
        .status(2)
        .stderr_contains("flow::parse")
        .run();
}

/// The start-up budget counts on a position-dependent binary (build.rs): a PIE one has the
/// loader relocate and copy ~60 pages at every start. `FLOW_PIE=1` builds keep PIE.
#[test]
#[cfg(target_os = "linux")]
fn the_binary_is_position_dependent_unless_asked() {
    if option_env!("FLOW_PIE").is_some_and(|v| v != "0" && !v.is_empty()) {
        return;
    }
    let elf = std::fs::read(env!("CARGO_BIN_EXE_flow")).expect("the binary");
    // e_type, little-endian at offset 16: 2 is ET_EXEC, 3 is ET_DYN (PIE).
    assert_eq!(
        elf.get(16..18),
        Some(&[2u8, 0][..]),
        "flow was linked as PIE"
    );
}

/// flow starts at its own `main`, not Rust's start-up (src/main.rs): what that start-up did
/// for standard streams is still done. One that flow was started without (`>&-`) is opened on
/// `/dev/null`, so that nothing flow opens later (a pipe, a socket) becomes it by accident.
#[test]
fn a_standard_stream_started_closed_is_dev_null() {
    for fd in 0..3 {
        // A job's shell says what flow's own fd is.
        let probe = format!(
            "sh 'readlink /proc/$PPID/fd/{fd} >&{}'",
            if fd == 2 { 1 } else { 2 }
        );
        let out = std::process::Command::new("sh")
            .args([
                "-c",
                &format!("exec \"$0\" -c \"$1\" {fd}>&-"),
                env!("CARGO_BIN_EXE_flow"),
                &probe,
            ])
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(if fd == 2 { &out.stdout } else { &out.stderr });
        assert_eq!(out.status.code(), Some(0), "fd {fd}: {said}");
        assert_eq!(said.trim(), "/dev/null", "fd {fd}");
    }
}

/// A stage that fails records its failure before its output channel closes: the sink after
/// it never takes that close for a clean end and prints a count. (It did in about one run in
/// thirty: `count` printed 0 beside the error.) Many runs, to meet the race.
#[test]
fn a_failing_stage_leaves_no_sink_value() {
    for script in [
        "yes | map { if it == \"y\" { throw \"stop here\" } it } | count",
        "from 1..=1000 | map { if it == 3 { throw \"x\" } it } | map { it + 1 } | count",
    ] {
        for _ in 0..150 {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_flow"))
                .args(["-c", script])
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(1), "{script}");
            assert_eq!(String::from_utf8_lossy(&out.stdout), "", "{script}");
        }
    }
}

/// Every thread flow starts is named `flow…` (what `top -H`, a debugger, a panic message and
/// a host's thread list show), watched from outside while stages, a pool and a task run.
#[test]
fn every_thread_is_named_flow() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let ready = dir.path().join("ready");
    let script = format!(
        "let h = spawn {{ sleep 5 }}\nfrom 1..=4 | map {{ let x = it; x }} | pool 2 exec {{ sh \"touch {} && sleep 5\" }} | count\n",
        ready.display()
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_flow"))
        .args(["-c", &script])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start flow");
    crate::harness::wait_for_file(&ready, std::time::Duration::from_secs(20));
    let tasks = std::path::PathBuf::from(format!("/proc/{}/task", child.id()));
    // The main thread is the process (`flow`); an unnamed thread would show that name too,
    // so every other one must say `flow-…`.
    let main = child.id().to_string();
    let names: Vec<String> = std::fs::read_dir(&tasks)
        .expect("the threads")
        .flatten()
        .filter(|t| t.file_name().to_string_lossy() != main.as_str())
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    assert!(names.len() > 3, "{names:?}");
    let unnamed: Vec<&String> = names.iter().filter(|n| !n.starts_with("flow-")).collect();
    assert!(
        unnamed.is_empty(),
        "threads not named flow…: {unnamed:?} of {names:?}"
    );
}
