//! Rust-level tests of the Rhai glue: where errors point after a rewritten single-quoted
//! string, and that every example of `docs/rhai-for-python-users.md` is a test case.

use flow::{run_script, CompileOptions, RunErrorKind, RunOptions, Script, SourceFile};

fn run_error_at(src: &str) -> (usize, usize) {
    let script = Script::compile(SourceFile::new("t.flow", src), &CompileOptions::default())
        .unwrap_or_else(|_| panic!("compiles: {src}"));
    let err = run_script(&script, RunOptions::default()).expect_err("fails");
    match err.kind {
        RunErrorKind::Rhai { at: Some(at), .. } => (at.start, at.end),
        other => panic!("not a placed Rhai error: {other:?}"),
    }
}

/// `'a "b" `c`'` becomes the longer `#"a "b" `c`"#` for Rhai; an error after it on the same
/// line is still placed on the right token, in statements and in stage blocks.
#[test]
fn errors_after_a_grown_string_point_at_their_token() {
    for src in [
        "let n = 'a \"b\" `c`' + 'x \"y\" `z`' + undefined_fn(1)\n",
        "let xs = [1]\nfrom xs | map { 'a \"b\" `c`' + undefined_fn(it) }\n",
    ] {
        let (start, end) = run_error_at(src);
        assert_eq!(&src[start..end], "undefined_fn", "{src}");
    }
}

/// A line break that ends a statement becomes a `;` before the next line's first token,
/// which moves that line one column: errors on it still point at their token, alone and
/// together with a grown string on the same line.
#[test]
fn errors_after_a_line_break_statement_point_at_their_token() {
    for src in [
        "fn f(v) {\n  let a = v\n  let b = undefined_fn(a)\n  b\n}\nprint(f(1))\n",
        "from [1] | map {\n  let a = it\n  'a \"b\" `c`' + undefined_fn(a)\n} | each { print(it) }\n",
        "from [\" x \"] | map {\n  let a = it\n  a.trim()\n  undefined_fn(a)\n} | each { print(it) }\n",
    ] {
        let (start, end) = run_error_at(src);
        assert_eq!(&src[start..end], "undefined_fn", "{src}");
    }
}

#[test]
fn every_example_of_the_python_page_is_a_case() {
    page_examples_are_cases(
        "docs/rhai-for-python-users.md",
        "tests/cases/rhai",
        10,
        false,
    );
}

/// Every `flow` example of a page is a case of `dir` (its first line `// case: NAME`), and a
/// `text` block right after it, or after "Both print:" / "It prints:", is that case's
/// `.stdout` (on a "coming from" page: what the original program printed). `shown`: every
/// example must be followed by its output.
fn page_examples_are_cases(page: &str, dir: &str, at_least: usize, shown: bool) {
    let root = crate::harness::repo_root();
    let text = std::fs::read_to_string(root.join(page)).unwrap();
    let cases = root.join(dir);
    let parts: Vec<&str> = text.split("```").collect();
    let mut seen = 0;
    for i in (1..parts.len()).step_by(2) {
        let Some(code) = parts[i].strip_prefix("flow\n") else {
            continue;
        };
        let name = code
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("// case: "))
            .unwrap_or_else(|| panic!("{page}: an example without a `// case: NAME` line"));
        let file = cases.join(format!("{name}.flow"));
        let want = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
        assert_eq!(code, want, "{page}: the example differs from {file:?}");
        let before = parts.get(i + 1).map_or("", |s| s.trim());
        let output = parts.get(i + 2).and_then(|b| b.strip_prefix("text\n"));
        match output.filter(|_| matches!(before, "" | "Both print:" | "It prints:")) {
            Some(out) => {
                let stdout = std::fs::read_to_string(cases.join(format!("{name}.stdout")))
                    .unwrap_or_else(|e| panic!("{name}.stdout: {e}"));
                assert_eq!(
                    out, stdout,
                    "{page}: the output shown differs from {name}.stdout"
                );
            }
            None => assert!(!shown, "{page}: {name}: the output must follow the example"),
        }
        seen += 1;
    }
    assert!(seen >= at_least, "{page}: only {seen} examples found");
}

#[test]
fn every_example_of_the_asyncio_page_is_a_case() {
    page_examples_are_cases(
        "docs/coming-from-asyncio.md",
        "tests/cases/asyncio",
        21,
        true,
    );
}

#[test]
fn every_example_of_the_nextflow_page_is_a_case() {
    page_examples_are_cases(
        "docs/coming-from-nextflow.md",
        "tests/cases/nextflow",
        1,
        true,
    );
}

#[test]
fn every_example_of_the_go_page_is_a_case() {
    page_examples_are_cases("docs/coming-from-go.md", "tests/cases/go", 6, true);
}
