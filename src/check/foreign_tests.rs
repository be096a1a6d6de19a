//! Tests of the checker's side of the foreign-spelling table: each spelling gets flow's in
//! its help, under the code the user gets anyway (or `foreign_syntax` for what would run),
//! and valid flow that looks like one passes.

use super::{check_only, CheckError, CheckOptions};
use miette::Diagnostic;

/// Errors and warnings of `src`, in source order.
fn findings(src: &str) -> Vec<CheckError> {
    let ast = crate::parse(src).unwrap_or_else(|e| panic!("parse failed for {src:?}: {e:?}"));
    match check_only(&ast, src, &CheckOptions::default()) {
        Ok(warnings) => warnings,
        Err(errors) => errors,
    }
}

/// The first finding of `src` has `code`, stands on `at` and its help contains `fix`.
fn fixes(src: &str, code: &str, at: &str, fix: &str) {
    let all = findings(src);
    let e = all
        .first()
        .unwrap_or_else(|| panic!("{src:?}: nothing found"));
    let got = e.code().map(|c| c.to_string()).unwrap_or_default();
    assert_eq!(got, format!("flow::check::{code}"), "{src:?}: {e:?}");
    assert_eq!(e.span.text(src), at, "{src:?}");
    let help = e.help().map(|h| h.to_string()).unwrap_or_default();
    assert!(help.contains(fix), "{src:?}: {help:?} lacks {fix:?}");
}

#[test]
fn shell_words_as_programs() {
    fixes(
        "cd data\nwc -l a.txt",
        "unknown_command",
        "cd",
        "`sh \"cd data && …\"`",
    );
    fixes("export A=1", "unknown_command", "export", "`A=1 cmd`");
    fixes(
        "source ./env.sh",
        "unknown_command",
        "source",
        "`sh \". ./env.sh && cmd\"`",
    );
    fixes(
        "set -e",
        "unknown_command",
        "set",
        "a failing command stops the script",
    );
    fixes("exit 3", "unknown_command", "exit", "`exit(3)`");
    fixes("# a note", "unknown_command", "#", "`//`");
    fixes(
        "name=world",
        "unknown_command",
        "name=world",
        "`let name = \"world\"`",
    );
    fixes(
        "cat f | while read n; do echo $n; done",
        "unknown_command",
        "while",
        "`for n in lines(\"f\") { echo $n }`",
    );
    fixes(
        "while true; do ls; done",
        "unknown_command",
        "while",
        "no `while` statement",
    );
    fixes(
        "ls; done",
        "unknown_command",
        "done",
        "a flow block is `{ … }`",
    );
    fixes("[[ -f x ]]", "unknown_command", "[[", "`^test -f x`");
    fixes("echo hi # a note", "foreign_syntax", "#", "`//`");
}

#[test]
fn other_languages_as_programs() {
    fixes(
        "let h = spawn { 1 }\nawait h",
        "unknown_command",
        "await",
        "`join h`",
    );
    fixes("ch := 5", "unknown_command", "ch", "`let ch = 5`");
    fixes(
        "v := <-ch",
        "unknown_command",
        "v",
        "`let v = from ch | first`",
    );
    fixes(
        "let ch = channel(2)\nch <- 1",
        "unknown_command",
        "ch",
        "`from 1 | into ch`",
    );
    fixes(
        "from [1] | pool exec -j2 echo ${it}",
        "unknown_command",
        "-j2",
        "`pool 2 exec echo ${it}`",
    );
}

#[test]
fn environment_variables() {
    fixes(
        "echo \"home: $HOME\"",
        "unknown_variable",
        "HOME",
        "`${env(\"HOME\")}`",
    );
    fixes(
        "echo ${HOME}/x",
        "unknown_variable",
        "HOME",
        "`${env(\"HOME\")}`",
    );
    fixes(
        "echo $MY_UNSET_VAR",
        "unknown_variable",
        "MY_UNSET_VAR",
        "env(\"MY_UNSET_VAR\")",
    );
    // A misspelt script variable keeps its did-you-mean.
    fixes(
        "let n_FILES = 1\necho $N_FILES",
        "unknown_variable",
        "N_FILES",
        "`$n_FILES`",
    );
}

#[test]
fn parallel_in_pools() {
    let src = "from [\"a\"] | pool exec echo {}";
    fixes(src, "foreign_syntax", "{}", "`pool exec echo ${it}`");
    let src = "from [\"a\"] | pool 2 exec cp {} {}.bak";
    fixes(
        src,
        "foreign_syntax",
        "{}",
        "`pool 2 exec cp ${it} ${it}.bak`",
    );
    let src = "from [\"a\"] | pool exec sh \"gzip {}\"";
    fixes(
        src,
        "foreign_syntax",
        "\"gzip {}\"",
        "`pool exec sh \"gzip ${it}\"`",
    );
    let src = "from [\"a\"] | pool exec { wc -l {} }";
    fixes(src, "foreign_syntax", "{}", "`wc -l ${it}`");
    let src = "pool exec echo ${it} ::: a b 3";
    fixes(
        src,
        "foreign_syntax",
        "::: a b 3",
        "`from [\"a\", \"b\", 3] | pool exec echo ${it}`",
    );
    let src = "pool 2 exec wc -l ${it} :::: list.txt";
    fixes(
        src,
        "foreign_syntax",
        ":::: list.txt",
        "`from lines(\"list.txt\") | pool 2 exec wc -l ${it}`",
    );
}

#[test]
fn rhai_and_let() {
    fixes(
        "let n = $(wc -l < f)",
        "let_command",
        "$(wc -l < f)",
        "`let n = ^wc -l < f`",
    );
    fixes(
        "let m = $((2 * 3))",
        "let_command",
        "$((2 * 3))",
        "`let m = 2 * 3`",
    );
    fixes(
        "let h = spawn { 1 }\nlet r = await h",
        "let_command",
        "await h",
        "`let r = join h`",
    );
    fixes(
        "let ch = make(chan int, 3)",
        "rhai_syntax",
        "make(chan int, 3)",
        "`channel(3)`",
    );
    fixes(
        "let c = channel(1)\nlet v = <-c",
        "rhai_syntax",
        "<-",
        "`from c | first`",
    );
    fixes(
        "if [ -f x ] { echo y }",
        "rhai_syntax",
        "[ -f x ]",
        "`if ^test -f x { … }`",
    );
    fixes(
        "for f in *.txt { echo $f }",
        "rhai_syntax",
        "*.txt",
        "`glob(\"*.txt\")`",
    );
    let src = "let d = `date +%s`";
    fixes(src, "let_command", "`date +%s`", "`let d = ^date +%s`");
    assert!(
        findings(src)[0].is_warning(),
        "a back-tick string may be meant as text"
    );
}

/// Valid flow that looks like a foreign spelling passes the checker.
#[test]
fn valid_flow_passes() {
    for src in [
        "from [\"a\"] | pool exec find ${it} -exec echo {} +",
        "from [\"a\"] | pool exec echo ${it} {}",
        "from [\"a\"] | pool exec xargs -I{} echo {}",
        "from [\"a\"] | pool exec echo \"${seq}: {}\"",
        "echo {} ::: a",
        "find . -name x -exec echo {} +",
        "let g = `hello there`\nprint(g)",
        "let s = `${1 + 2}`\nprint(s)",
        "echo '#' \"#\" \\# a#b",
        "let HOME = \"/h\"\necho $HOME",
        "let x = 1\necho ${x}",
        "try { ls } catch (e) { print(e.message) }",
        "let ls_ = [\"-l\"]\nls ${ls_}",
    ] {
        let found = findings(src);
        assert!(found.is_empty(), "{src:?}: {found:?}");
    }
}
