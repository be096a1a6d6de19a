//! `flow completions SHELL` and `flow man`: generated from the command line's definition.

use std::process::Command;

fn flow(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_flow"))
        .args(args)
        .output()
        .expect("run flow");
    assert!(out.status.success(), "flow {args:?}: {out:?}");
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

#[test]
fn completion_scripts_name_every_subcommand() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef flow"),
        ("fish", "complete -c flow"),
    ] {
        let script = flow(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: {script}");
        for sub in ["run", "check", "plan", "repl", "lsp", "completions", "man"] {
            assert!(script.contains(sub), "{shell} completion lacks `{sub}`");
        }
    }
}

#[test]
fn man_page_is_roff_with_every_subcommand() {
    let page = flow(&["man"]);
    assert!(page.contains(".TH flow 1"), "{page}");
    for sub in ["check", "plan", "repl", "lsp", "completions"] {
        assert!(page.contains(sub), "man page lacks `{sub}`");
    }
}

#[test]
fn completions_for_an_unknown_shell_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_flow"))
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_closed_stdout_is_no_panic() {
    for args in [&["completions", "bash"][..], &["man"][..]] {
        // A pipe whose reader is gone: every write fails with EPIPE.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_flow"))
            .args(args)
            .stdout(writer)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "flow {args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "flow {args:?}: {stderr}");
    }
}
