//! Tests of the checker: one or more per error kind, and what must pass.

use super::{check, CheckError, CheckErrorKind as K, CheckOptions};
use miette::Diagnostic;
use std::path::PathBuf;

/// A fresh directory with the given files; `true` makes a file executable.
fn temp_dir(files: &[(&str, bool)]) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let n = fastrand::u64(..);
    let dir = std::env::temp_dir().join(format!("flow-check-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, exec) in files {
        let p = dir.join(name);
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        let mode = if *exec { 0o755 } else { 0o644 };
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    dir
}

fn run(src: &str, opts: &CheckOptions) -> Vec<CheckError> {
    let ast = crate::parse(src).unwrap_or_else(|e| panic!("parse failed for {src:?}: {e:?}"));
    match check(&ast, src, opts) {
        Ok(_) => vec![],
        Err(es) => es,
    }
}

fn errors(src: &str) -> Vec<CheckError> {
    run(src, &CheckOptions::default())
}

/// `(code, text of the primary span)` of every error.
fn codes(src: &str) -> Vec<(String, String)> {
    errors(src)
        .iter()
        .map(|e| (code(e), e.span.text(src).to_string()))
        .collect()
}

fn code(e: &CheckError) -> String {
    e.code().map(|c| c.to_string()).unwrap_or_default()
}

fn help(e: &CheckError) -> String {
    e.help().map(|h| h.to_string()).unwrap_or_default()
}

fn ok(src: &str) {
    let es = errors(src);
    assert!(es.is_empty(), "{src:?}: {es:?}");
}

fn one(src: &str, want_code: &str, want_text: &str) -> CheckError {
    let es = errors(src);
    assert_eq!(es.len(), 1, "{src:?}: {es:?}");
    assert_eq!(code(&es[0]), format!("flow::check::{want_code}"));
    assert_eq!(es[0].span.text(src), want_text, "{src:?}");
    es.into_iter().next().unwrap()
}

#[test]
fn commands_on_path_pass() {
    ok("ls -l | wc -l");
    ok("cat /etc/hosts | grep x > out.txt");
    ok("sh \"echo hi\"");
}

#[test]
fn unknown_command_suggests_a_path_program() {
    let dir = temp_dir(&[("frobnicate", true)]);
    let opts = CheckOptions {
        path: Some(dir.clone().into_os_string()),
        ..CheckOptions::default()
    };
    let es = run("frobnicat -x", &opts);
    assert_eq!(es.len(), 1);
    assert_eq!(code(&es[0]), "flow::check::unknown_command");
    assert_eq!(help(&es[0]), "did you mean `frobnicate`?");
    assert!(run("frobnicate -x", &opts).is_empty());
    let es = run("frobni", &opts);
    assert_eq!(help(&es[0]), "did you mean `frobnicate`?", "prefix match");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn unknown_command_suggests_nothing_far_away() {
    let dir = temp_dir(&[]);
    let opts = CheckOptions {
        path: Some(dir.clone().into_os_string()),
        ..CheckOptions::default()
    };
    let es = run("qqqqqqq", &opts);
    assert_eq!(
        es[0].kind,
        K::UnknownCommand {
            name: "qqqqqqq".into(),
            suggestion: None
        }
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn program_paths_must_exist_and_be_executable() {
    let dir = temp_dir(&[("tool", true), ("data", false)]);
    let d = dir.display();
    ok(&format!("{d}/tool -v"));
    let src = format!("{d}/data -v");
    let e = one(&src, "unknown_command", &format!("{d}/data"));
    assert!(matches!(e.kind, K::BadProgramPath { exists: true, .. }));
    let src = format!("{d}/missing -v");
    let e = one(&src, "unknown_command", &format!("{d}/missing"));
    assert!(matches!(e.kind, K::BadProgramPath { exists: false, .. }));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn interpolated_programs_are_not_looked_up() {
    ok("let tool = \"ls\"\n$tool -l");
}

#[test]
fn unknown_function() {
    let e = one(
        "fn parse(x) { x }\nfrom [1] | map parze",
        "unknown_function",
        "parze",
    );
    assert_eq!(help(&e), "did you mean `parse`?");
    one("from [1] | filter nope", "unknown_function", "nope");
}

#[test]
fn fns_are_visible_everywhere() {
    ok("from [1] | map later\nfn later(x) { x }");
    ok("if true { fn inner(x) { x } }\nfrom [1] | map inner");
    ok("from [1] | each print");
    let opts = CheckOptions {
        known_fns: vec![("host".into(), 1)],
        ..CheckOptions::default()
    };
    assert!(run("from [1] | map host", &opts).is_empty());
}

#[test]
fn arity_of_one_parameter_stages() {
    let src = "fn two(a, b) { a + b }\nfrom [1] | map two";
    let e = one(src, "arity", "two");
    let K::Arity {
        expected,
        found,
        defined,
        ..
    } = &e.kind
    else {
        panic!("{e:?}")
    };
    assert_eq!((*expected, *found), (1, 2));
    assert_eq!(defined.map(|d| d.text(src)), Some("two"));
    assert_eq!(e.labels().unwrap().count(), 2);
    for stage in ["filter", "flat_map", "each", "sort by", "pool 2 map"] {
        let src = format!("fn two(a, b) {{ a + b }}\nfrom [1] | {stage} two");
        one(&src, "arity", "two");
    }
}

#[test]
fn arity_of_reduce_is_two() {
    ok("fn add(acc, x) { acc + x }\nfrom [1] | reduce 0 add");
    let e = one("fn one(x) { x }\nfrom [1] | reduce 0 one", "arity", "one");
    assert!(help(&e).contains("acc, it"), "{}", help(&e));
}

#[test]
fn unknown_variables_in_words() {
    one("echo $nope", "unknown_variable", "nope");
    one("echo \"a $nope b\"", "unknown_variable", "nope");
    one("ls > $nope", "unknown_variable", "nope");
    one("FOO=$nope ls", "unknown_variable", "nope");
    let e = one(
        "let count_me = 1\necho $count_mee",
        "unknown_variable",
        "count_mee",
    );
    assert_eq!(help(&e), "did you mean `$count_me`?");
    ok("let x = 1\necho $x \"$x\" > $x");
    ok("echo $args");
}

#[test]
fn variables_follow_scopes() {
    ok("for f in [1] { echo $f }");
    one("for f in [1] { echo $f }\necho $f", "unknown_variable", "f");
    one("if true { let y = 1 }\necho $y", "unknown_variable", "y");
    one(
        "let h = spawn { let inner = 1 }\necho $inner",
        "unknown_variable",
        "inner",
    );
    one("echo $late\nlet late = 1", "unknown_variable", "late");
    let opts = CheckOptions {
        known_vars: vec!["host_var".into()],
        ..CheckOptions::default()
    };
    assert!(run("echo $host_var", &opts).is_empty());
}

#[test]
fn it_exists_only_in_pool_exec() {
    ok("from [1] | pool 2 exec echo $it");
    ok("from [1] | pool 2 exec { echo $it | wc -c }");
    one("from [1] | echo $it", "unknown_variable", "it");
}

#[test]
fn assignment_needs_a_let() {
    ok("let n = 1\nn = 2");
    one("y = 3", "unknown_variable", "y");
    one("if true { let z = 1 }\nz += 2", "unknown_variable", "z");
}

#[test]
fn pool_size_zero() {
    one("from [1] | pool 0 map { it }", "pool_size", "0");
    ok("from [1] | pool 1 map { it }");
    ok("from [1] | pool cpus map { it }");
}

#[test]
fn meaningless_amounts() {
    one("from [1] | batch 0", "bad_amount", "0");
    one("from [1] | pool 2 map { it } chunk 0", "bad_amount", "0");
    ok("from [1] | take 0");
    ok("from [1] | batch 2 | skip 0");
}

#[test]
fn stage_after_a_sink() {
    let src = "from [1] | count | map { it }";
    let e = one(src, "stage_after_sink", "map { it }");
    let K::StageAfterSink { sink, .. } = &e.kind else {
        panic!()
    };
    assert_eq!(sink.text(src), "count");
    one(
        "let ch = channel(1)\nfrom [1] | into ch | take 1",
        "stage_after_sink",
        "take 1",
    );
    ok("from [1] | map { it } | count");
}

#[test]
fn into_needs_a_variable() {
    one("from [1] | into nowhere", "unknown_variable", "nowhere");
}

#[test]
fn join_and_cancel_need_tasks() {
    ok("let h = spawn { ls }\njoin h\ncancel h");
    ok("let a = spawn ls | wc -l\nlet b = spawn { ls }\nlet both = join a, b");
    let src = "let n = 5\njoin n";
    let e = one(src, "not_a_task", "n");
    let K::NotATask { declared, .. } = &e.kind else {
        panic!()
    };
    assert_eq!(declared.map(|d| d.text(src)), Some("n"));
    assert_eq!(help(&e), "only `let h = spawn …` makes a task handle");
    one("cancel ghost", "not_a_task", "ghost");
    let opts = CheckOptions {
        known_vars: vec!["h".into()],
        ..CheckOptions::default()
    };
    assert!(run("join h", &opts).is_empty());
}

#[test]
fn resume_needs_a_log() {
    one(
        "from [1] | pool 2 exec echo $it resume",
        "resume_without_log",
        "resume",
    );
    ok("from [1] | pool 2 exec echo $it log \"jobs.tsv\" resume");
}

#[test]
fn all_errors_in_source_order() {
    let src = "fn two(a, b) { a }\necho $a\nfrom [1] | map two | count | take 1\njoin zz\n\
               from [1] | pool 0 map nope";
    let got = codes(src);
    let want = [
        ("unknown_variable", "a"),
        ("arity", "two"),
        ("stage_after_sink", "take 1"),
        ("not_a_task", "zz"),
        ("pool_size", "0"),
        ("unknown_function", "nope"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(c, t)| (format!("flow::check::{c}"), (*t).to_string()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn every_error_has_a_code_a_label_and_help() {
    let src = "grpe x\necho $nope\nfrom [1] | map nope | count | uniq\nlet n = 1\njoin n\n\
               from [1] | pool 0 exec echo resume | batch 0";
    let es = errors(src);
    assert!(es.len() >= 7, "{es:?}");
    for e in &es {
        assert!(code(e).starts_with("flow::check::"));
        assert!(!help(e).is_empty(), "{e:?}");
        assert!(e.labels().is_some_and(|mut l| l.next().is_some()));
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn never_panics_on_odd_scripts() {
    let pieces = [
        "ls",
        "|",
        "map",
        "{ it }",
        "$x",
        "\"$y\"",
        "from [1]",
        "count",
        "pool 0",
        "exec",
        "let x = 1",
        "\n",
        "join",
        "é",
        "ß",
        "> out",
        "spawn {",
        "}",
        "for i in [1] {",
        "cancel",
    ];
    for _ in 0..500 {
        let n = fastrand::usize(1..8);
        let src: Vec<&str> = (0..n)
            .map(|_| pieces[fastrand::usize(..pieces.len())])
            .collect();
        let src = src.join(" ");
        if let Ok(ast) = crate::parse(&src) {
            if let Ok(plan) = check(&ast, &src, &CheckOptions::default()) {
                let _ = (plan.render_text(), plan.render_dot(), plan.render_json());
            }
        }
    }
}
