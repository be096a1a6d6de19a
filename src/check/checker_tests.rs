//! Tests of the checker: one or more per error kind, and what must pass.

use super::{check_only as check, CheckError, CheckErrorKind as K, CheckOptions};
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

/// `(code, text of the primary span)` of every error of `src` checked with a stand-in `srun`
/// (and `echo`) on PATH, as on a Slurm login node.
fn on_slurm(src: &str) -> Vec<(String, String)> {
    let dir = temp_dir(&[("srun", true), ("echo", true)]);
    let opts = CheckOptions {
        path: Some(dir.clone().into_os_string()),
        ..CheckOptions::default()
    };
    let es = run(src, &opts);
    std::fs::remove_dir_all(dir).ok();
    es.iter()
        .map(|e| (code(e), e.span.text(src).to_string()))
        .collect()
}

fn captured(names: &[&str]) -> Vec<(String, String)> {
    names
        .iter()
        .map(|n| ("flow::check::slurm_captures_variable".into(), (*n).into()))
        .collect()
}

#[test]
fn an_on_slurm_job_block_cannot_use_script_variables() {
    // In a word, in Rhai code of the block, in an interpolated expression, in a stage's block.
    let got = on_slurm("let x = 5\nfrom 1..=3 | pool 2 exec { echo ${x} ${it} } on slurm");
    assert_eq!(got, captured(&["x"]));
    let src = "let x = 5\nlet ys = [1]\nfrom [1] | pool exec {\n  let y = x + 1\n  echo ${ys[0]} $y\n  from [1] | map { it + x } | count\n} on slurm";
    assert_eq!(on_slurm(src), captured(&["x", "ys"]));
    // Each name once per block; a loop variable outside is the script's too.
    let src = "for f in [\"a\"] {\n  from [1] | pool exec { echo ${f} ${f}\n echo $f } on slurm\n}";
    assert_eq!(on_slurm(src), captured(&["f"]));
    // An assignment, `join`, a nested pool's block, a job block inside a job block.
    let src = "let n = 0\nlet h = spawn { echo }\nfrom [1] | pool exec {\n  n = 2\n  join h\n  from [1] | pool exec { echo $n } on slurm\n} on slurm";
    assert_eq!(on_slurm(src), captured(&["n", "h", "n"]));
    // The script's `args`: on the node, `args` are the job's items.
    let got = on_slurm("from [1] | pool exec { echo ${args[0]} } on slurm");
    assert_eq!(got, captured(&["args"]));
}

#[test]
fn a_captured_variable_is_explained_with_its_declaration_and_the_fix() {
    let src = "let x = 5\nfrom 1..=3 | pool 2 exec { echo ${x} ${it} } on slurm";
    let dir = temp_dir(&[("srun", true), ("echo", true)]);
    let opts = CheckOptions {
        path: Some(dir.clone().into_os_string()),
        ..CheckOptions::default()
    };
    let es = run(src, &opts);
    std::fs::remove_dir_all(dir).ok();
    assert_eq!(es.len(), 1, "{es:?}");
    let e = &es[0];
    let K::SlurmCapturesVariable { name, declared } = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!(name, "x");
    assert_eq!(declared.map(|d| d.text(src)), Some("x"));
    assert_eq!(declared.map(|d| d.start), Some(4));
    let labels: Vec<String> = e
        .labels()
        .into_iter()
        .flatten()
        .filter_map(|l| l.label().map(str::to_string))
        .collect();
    assert_eq!(
        labels,
        ["declared here, outside the job block", "not on the node"]
    );
    assert!(e.to_string().contains("the script variable `x`"), "{e}");
    for fix in ["let x = …", "`it`", "exec cmd ${x} ${it} on slurm"] {
        assert!(help(e).contains(fix), "{fix}: {}", help(e));
    }
}

#[test]
fn an_on_slurm_job_block_cannot_call_the_scripts_fns() {
    let src = "fn d(n) { n * 2 }\nfrom [1] | pool exec {\n  echo ${d(1)}\n  from [1] | map d | each { print(d(it)) }\n} on slurm";
    let want = vec![("flow::check::slurm_calls_fn".to_string(), "d".to_string())];
    assert_eq!(on_slurm(src), want);
    // A method call or a field of the same name is not the `fn`.
    assert_eq!(
        on_slurm("fn d(n) { n }\nfrom [1] | pool exec { echo ${it.d()} } on slurm"),
        vec![]
    );
}

#[test]
fn an_on_slurm_job_block_may_use_its_own_names() {
    // `it`, `seq`, `slot`; what the block declares (`let`, `for`, a closure's parameter, a
    // `fn` defined inside it); a name of the script shadowed inside, or declared only after.
    let src = "let x = 1\nfrom 1..=3 | pool 2 exec {\n  let x = it\n  let n = seq + slot\n  \
               fn twice(v) { v * 2 }\n  for i in 0..2 { echo ${i} ${x} ${twice(n)} }\n  \
               from [n] | map { [it].map(|v| v + n) } | count\n} on slurm\nlet late = 2";
    assert_eq!(on_slurm(src), vec![]);
    // Without `on slurm` the block runs here and sees the script; a command job on Slurm has
    // its words filled in here.
    let src = "let x = 5\nfrom [1] | pool exec { echo ${x} }\nfrom [1] | pool exec echo ${x} ${it} on slurm";
    assert_eq!(on_slurm(src), vec![]);
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
