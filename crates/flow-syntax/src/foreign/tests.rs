//! The table of foreign spellings where the parser stops or builds words: each spelling gets
//! `flow::parse::foreign_syntax` with flow's spelling in the help, and valid flow that looks
//! like one is left alone.

use super::{assignment, dollar, env_variable, in_rhai, interprets_dollar, let_value};
use crate::parse_error::ParseErrorKind;

/// The foreign-syntax error of `src`: `(text of its span, help)`.
fn foreign(src: &str) -> (String, String) {
    let errors = crate::parse(src).expect_err(src);
    let e = errors.first().expect(src);
    match &e.kind {
        ParseErrorKind::Foreign { help, .. } => (e.span.text(src).to_string(), help.clone()),
        other => panic!("{src:?}: not foreign syntax: {other:?}"),
    }
}

/// `src` is foreign syntax at `at`, and the help contains `fix`.
fn fixes(src: &str, at: &str, fix: &str) {
    let (text, help) = foreign(src);
    assert_eq!(text, at, "{src:?}");
    assert!(help.contains(fix), "{src:?}: {help:?} lacks {fix:?}");
}

#[test]
fn bash_statements() {
    fixes("# it's a comment\necho hi\n", "#", "// it's a comment");
    fixes("echo hi # it's mine\n", "#", "`//`");
    let if_line = "if [ -f a.txt ]; then echo yes; fi";
    fixes(if_line, if_line, "if ^test -f a.txt { echo yes }");
    fixes(
        "if [[ -d x ]]; then\n  ls\nfi\n",
        "if [[ -d x ]]; then",
        "if ^test -d x { … }",
    );
    fixes(
        "if ! grep -q a f; then echo no; fi",
        "if ! grep -q a f; then echo no; fi",
        "if !^grep -q a f { echo no }",
    );
    fixes(
        "n=1; if [ -f a ]; then echo y; fi",
        "if [ -f a ]; then echo y; fi",
        "if ^test -f a { echo y }",
    );
    fixes(
        "for f in data/*.txt; do wc -l $f; done",
        "for f in data/*.txt; do wc -l $f; done",
        "for f in glob(\"data/*.txt\") { wc -l $f }",
    );
    fixes(
        "for f in data/*.txt { wc -l $f }",
        "for f in data/*.txt { wc -l $f }",
        "for f in glob(\"data/*.txt\") { wc -l $f }",
    );
    fixes(
        "for i in 1 2 3; do echo $i; done",
        "for i in 1 2 3; do echo $i; done",
        "for i in [1, 2, 3] { echo $i }",
    );
    fixes(
        "for i in {1..3}; do echo $i; done",
        "for i in {1..3}; do echo $i; done",
        "for i in 1..=3 { echo $i }",
    );
    fixes(
        "for a in \"$@\"; do echo $a; done",
        "for a in \"$@\"; do echo $a; done",
        "for a in args { echo $a }",
    );
    fixes(
        "while (( i < 3 )); do echo $i; done",
        "while (( i < 3 )); do echo $i; done",
        "no `while` statement",
    );
}

#[test]
fn bash_substitutions() {
    fixes("let n = 4\necho $((n * 2))\n", "$((n * 2))", "`${n * 2}`");
    fixes("echo $(date +%s)", "$(date +%s)", "`let out = ^date +%s`");
    fixes("echo `date`", "`date`", "`let out = ^date`");
    fixes(
        "echo \"lines: $(wc -l < f)\"",
        "$(wc -l < f)",
        "`let out = ^wc -l < f`",
    );
    fixes(
        "let n = 4\necho \"$(($n + 1))\"",
        "$(($n + 1))",
        "`${n + 1}`",
    );
    fixes("echo \"hi $1\"", "$1", "`${args[0]}`");
    fixes("echo $2", "$2", "`${args[1]}`");
    fixes("echo $@", "$@", "`${args}`");
    fixes("echo \"$#\"", "$#", "`${args.len()}`");
    fixes("cat f > out-$1.txt", "$1", "`${args[0]}`");
    fixes("FOO=$1 env", "$1", "`${args[0]}`");
    fixes("count=0", "count=0", "`let count = 0`");
}

#[test]
fn parallel_spellings() {
    fixes(
        "cat l | pool exec echo {.}",
        "{.}",
        "`pool exec echo ${no_ext(it)}`",
    );
    fixes(
        "cat l | pool 2 exec echo {#} {/}",
        "{#}",
        "`pool 2 exec echo ${seq} ${basename(it)}`",
    );
    // `{//}` reads as a `{` and a comment, never closed: it is the one the error names.
    fixes(
        "cat l | pool exec echo {%} {//} {/.}",
        "{//}",
        "${slot} ${dirname(it)} ${stem(it)}",
    );
    fixes("cat l | pool -j", "-j", "`pool N`");
    fixes("cat l | pool --joblog", "--joblog", "log \"N\"");
    fixes(
        "cat l | pool exec echo {1}",
        "{1}",
        "`pool exec echo ${it[0]}`",
    );
    fixes(
        "cat l | pool -j2 exec echo ${it}",
        "-j2",
        "`pool 2 exec echo ${it}`",
    );
    fixes(
        "cat l | pool -P 4 exec echo ${it}",
        "-P 4",
        "`pool 4 exec echo ${it}`",
    );
    fixes("cat l | pool --jobs=3 map f", "--jobs=3", "`pool 3 map f`");
    fixes(
        "cat l | pool 2 --joblog j.tsv --retries 3 exec echo ${it}",
        "--joblog j.tsv --retries 3",
        "`pool 2 exec echo ${it} log \"j.tsv\" retries 3`",
    );
    fixes(
        "cat l | pool --timeout 10 --halt soon,fail=3 exec echo ${it}",
        "--timeout 10 --halt soon,fail=3",
        "`pool exec echo ${it} timeout 10s on_error fail 3 soon`",
    );
    fixes(
        "cat l | pool -k --bar exec echo ${it}",
        "-k --bar",
        "`pool exec echo ${it} progress`",
    );
}

#[test]
fn python_go_nextflow() {
    fixes(
        "def f(x): return x*x",
        "def f(x): return x*x",
        "`fn f(x) { x*x }`",
    );
    fixes(
        "def f(x: int) -> int:\n    return x + 1\n",
        "def f(x: int) -> int:",
        "`fn f(x) { x + 1 }`",
    );
    fixes(
        "def f(x) { x * 2 }",
        "def f(x) { x * 2 }",
        "`fn f(x) { x * 2 }`",
    );
    fixes(
        "from [1] | map lambda x: x * 2",
        "lambda x: x * 2",
        "`map { it * 2 }`",
    );
    fixes(
        "from [1] | filter lambda n: n > 1 | count",
        "lambda n: n > 1",
        "`filter { it > 1 }`",
    );
    fixes(
        "if true { ls } elif false { ls }",
        "elif",
        "`else if false { ls }`",
    );
    fixes(
        "if true {\n  ls\n}\nelif false {\n  ls\n}\n",
        "elif",
        "`else if",
    );
    fixes("if true { ls } else: { ls }", ":", "`else { … }`");
    fixes("try { ls } except e { ls }", "except", "`catch e { … }`");
    fixes(
        "try { ls } except ValueError as err { ls }",
        "except",
        "`catch err { … }`",
    );
    fixes("finally { ls }", "finally", "`try { … } finally { … }`");
    fixes("go { ls }", "go { ls }", "`spawn { ls }`");
    fixes("go func() { ls }()", "go func() { ls }()", "`spawn { ls }`");
    fixes("fn w(x) { x }\ngo w(1)", "go w(1)", "`spawn { w(1) }`");
    fixes(
        "func sq(x int) int { return x * x }",
        "func sq(x int) int { return x * x }",
        "`fn sq(x) { x * x }`",
    );
    fixes(
        "ch := make(chan int, 4)",
        "ch := make(chan int, 4)",
        "`let ch = channel(4)`",
    );
    fixes(
        "ch := make(chan string)",
        "ch := make(chan string)",
        "`let ch = channel(1)`",
    );
    fixes(
        "Channel.of('a', \"b\") | map { it }",
        "Channel.of('a', \"b\") | map { it }",
        "`from [\"a\", \"b\"] | map { it }`",
    );
    fixes(
        "channel.fromPath('d/*.txt')",
        "channel.fromPath('d/*.txt')",
        "`from glob(\"d/*.txt\")`",
    );
    fixes(
        "Channel.of(1, 2, 3).view()",
        "Channel.of(1, 2, 3).view()",
        "`from [1, 2, 3]`",
    );
}

/// Valid flow that looks like a foreign spelling parses as it always did.
#[test]
fn valid_flow_is_left_alone() {
    for src in [
        "#!/usr/bin/env flow\necho hi",
        "echo \"cost \\$5\" 'raw $1' cost$ \"a$\" \"$\"",
        "bash -c \"echo $1\" bash x",
        "sudo sh -c \"echo $(date)\"",
        "awk \"{ print $1 }\" f.txt",
        "find . -exec sh -c 'echo \"$1\"' sh {} \\;",
        "sh \"echo $(( 1 + 2 )) $1 $@\"",
        "let s = \"$1 $(x)\"",
        "print(\"$1\")",
        "echo {} ::: -j2",
        "find . -name x -exec rm {} +",
        "go build ./...",
        "go test -run X",
        "from [1] | pool 2 exec echo ${it} retries 3 log \"j.tsv\"",
        "try { ls } catch e { print(e.message) }",
        "try { ls } catch (e) { print(e.message) }",
        "try { ls } catch { ls }",
        "let m = #{ a: 1 }",
        "if ^test -f x { echo y } else if true { ls }",
        "for f in glob(\"*.txt\") { wc -l $f }",
        "let xs = [1, 2]\nfor x in xs { echo $x }",
        "LC_ALL=C sort -n f",
        "fn def_(x) { x }\nfrom [1] | map def_",
        "let go = 1\nprint(go)",
        "echo '#' \\# a#b",
    ] {
        if let Err(e) = crate::parse(src) {
            panic!("{src:?} no longer parses: {e:?}");
        }
    }
}

#[test]
fn catch_with_parentheses_binds_the_name() {
    let ast = crate::parse("try { ls } catch (err) { print(err.message) }").unwrap();
    let crate::ast::StmtKind::Try { var: Some(v), .. } = &ast.stmts[0].kind else {
        panic!("{:?}", ast.stmts[0].kind);
    };
    assert_eq!(v.name, "err");
}

#[test]
fn the_table_functions() {
    assert_eq!(dollar("1\"").map(|d| d.0), Some(1));
    assert_eq!(dollar("((n * 2))").map(|d| d.0), Some(9));
    assert_eq!(dollar("(date)x").map(|d| d.0), Some(6));
    for not in ["name", "{x}", " ", "", "$", "-", "."] {
        assert_eq!(dollar(not), None, "{not:?}");
    }
    assert!(assignment("name=world")
        .unwrap()
        .1
        .contains("`let name = \"world\"`"));
    assert!(assignment("n=42").unwrap().1.contains("`let n = 42`"));
    for not in ["=x", "a b=c", "a.b=c", "plain", "x=a b"] {
        assert!(assignment(not).is_none(), "{not:?}");
    }
    assert!(env_variable("HOME").unwrap().contains("`${env(\"HOME\")}`"));
    assert!(env_variable("MY_DIR").is_some());
    for not in ["x", "name", "A"] {
        if std::env::var_os(not).is_none() {
            assert!(env_variable(not).is_none(), "{not:?}");
        }
    }
    assert!(interprets_dollar(["sudo", "/bin/bash", "-c"].into_iter()));
    assert!(interprets_dollar(["awk"].into_iter()));
    assert!(!interprets_dollar(["echo", "hi"].into_iter()));
    assert!(let_value("n", "$(wc -l < f)")
        .unwrap()
        .1
        .contains("`let n = ^wc -l < f`"));
    assert!(let_value("m", "$((n * 2))")
        .unwrap()
        .1
        .contains("`let m = n * 2`"));
    assert!(let_value("r", "await task")
        .unwrap()
        .1
        .contains("`let r = join task`"));
    assert!(let_value("r", "await(t)")
        .unwrap()
        .1
        .contains("`let r = join t`"));
    for not in ["awaiting", "1 + 2", "\"$(x)\"", "$x", "f($(x))"] {
        assert!(let_value("v", not).is_none(), "{not:?}");
    }
}

#[test]
fn rhai_text() {
    let help = |code: &str| in_rhai(code, 0).map(|f| f.help);
    assert!(help("make(chan int, 8)").unwrap().contains("`channel(8)`"));
    assert!(help("<-ch").unwrap().contains("`from ch | first`"));
    assert!(help("xs.map(lambda x: x + 1)")
        .unwrap()
        .contains("`|x| x + 1`"));
    assert!(help("[ -f a.txt ]")
        .unwrap()
        .contains("`if ^test -f a.txt { … }`"));
    assert!(help("*.csv").unwrap().contains("`glob(\"*.csv\")`"));
    assert!(help("$(ls)").unwrap().contains("`let out = ^ls`"));
    for not in [
        "xs.map(|x| x * 2)",
        "[1, 2]",
        "a < -b",
        "n * 2",
        "lambda_",
        "x.awaited",
    ] {
        assert_eq!(help(not), None, "{not:?}");
    }
}

#[test]
fn parallel_where_it_is_not_installed() {
    let src = "parallel -j2 echo ::: a b";
    let span = crate::Span::new(0, src.len());
    let (message, help) = super::program(src, "parallel", span, false).unwrap();
    assert!(message.contains("not installed"), "{message}");
    assert!(
        help.contains("`from [\"a\", \"b\"] | pool 2 exec echo ${it}`"),
        "{help}"
    );
    assert_eq!(super::program(src, "parallel", span, true), None);
    // Options with their values missing: no panic, and no option is lost.
    for words in [&["-j"][..], &["--joblog"], &["-j", "2", "--retries"]] {
        let o = super::parallel::job_options(words);
        assert_eq!(o.used, words.len(), "{words:?}");
    }
}
