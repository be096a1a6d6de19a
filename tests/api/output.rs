//! `Engine::on_output`: everything a run would write to flow's stdout/stderr reaches the
//! host's hook instead.

use flow::{Engine, Stream};
use std::sync::{Arc, Mutex};

type Captured = Arc<Mutex<Vec<(Stream, Vec<u8>)>>>;

fn capture(src: &str) -> (String, String) {
    let got: Captured = Arc::default();
    let mut e = Engine::new();
    let g = got.clone();
    e.on_output(move |s, b| g.lock().unwrap().push((s, b.to_vec())));
    let s = e.compile(src).unwrap();
    e.run_as::<()>(&s).unwrap();
    let mut out = String::new();
    let mut err = String::new();
    for (s, b) in got.lock().unwrap().iter() {
        let text = String::from_utf8_lossy(b);
        match s {
            Stream::Stdout => out.push_str(&text),
            Stream::Stderr => err.push_str(&text),
        }
    }
    (out, err)
}

#[test]
fn print_eprint_items_and_values_reach_the_hook() {
    let (out, err) = capture(
        "print(\"p\")\neprint(\"e\")\nfrom [1, 2] | map { it * 2 }\nfrom [1] | each { print(`each ${it}`) }\nfrom [3, 4] | sum\nlet z = 0",
    );
    assert_eq!(out, "p\n2\n4\neach 1\n7\n");
    assert_eq!(err, "e\n");
}

#[test]
fn command_output_is_piped_through_flow_to_the_hook() {
    let (out, err) = capture(
        "echo one\nsh \"echo two; echo oops >&2\"\nprintf 'a\\nb\\n' | ^sort -r\nsh \"echo both >&2\" 2>&1\nlet x = ^echo hidden",
    );
    assert_eq!(out, "one\ntwo\nb\na\nboth\n");
    assert_eq!(err, "oops\n");
}

#[test]
fn pool_output_and_warnings_reach_the_hook() {
    let (out, err) = capture(
        "from [1, 2, 3] | pool 2 exec sh \"echo job $it; test $it != 2\" on_error skip progress",
    );
    assert_eq!(out, "job 1\njob 2\njob 3\n");
    assert!(err.contains("warning"), "{err}");
    assert!(err.contains("1 of 3 items failed"), "{err}");
    let (out, _) = capture("from [1, 2] | pool 2 map { it * 3 }");
    assert_eq!(out, "3\n6\n");
}

#[test]
fn the_resume_warning_about_a_torn_log_reaches_the_hook() {
    let dir = crate::harness::TempDir::new("api-torn-log");
    let log = dir.path().join("jobs.tsv");
    std::fs::write(
        &log,
        "seq\titem\tstart\tseconds\tattempts\texit\tsignal\terror\tkey\n2\tcut",
    )
    .unwrap();
    let log = log.display();
    let (out, err) = capture(&format!(
        "from [1] | pool 1 map {{ it }} log \"{log}\" resume"
    ));
    assert_eq!(out, "1\n");
    assert_eq!(
        err,
        format!("flow: warning: resume: skipped 1 unreadable row of {log}\n")
    );
}

#[test]
fn a_failed_command_stderr_reaches_the_hook_and_the_error_report() {
    let got: Captured = Arc::default();
    let mut e = Engine::new();
    let g = got.clone();
    e.on_output(move |s, b| g.lock().unwrap().push((s, b.to_vec())));
    let s = e.compile("sh \"echo bad >&2; exit 3\"").unwrap();
    let err = e.run(&s).unwrap_err();
    assert!(err.to_string().contains("exit"), "{err}");
    let seen = got.lock().unwrap();
    assert_eq!(seen.as_slice(), &[(Stream::Stderr, b"bad\n".to_vec())]);
}
