//! The run's value: the last statement's, a final sink's value returned (not printed unless
//! asked), typed with `run_as`/`eval`.

use flow::rhai::{Array, Dynamic};
use flow::{Engine, Error, RunErrorKind, Stream};
use std::sync::{Arc, Mutex};

/// An engine whose stdout is captured.
fn captured() -> (Engine, Arc<Mutex<String>>) {
    let out = Arc::new(Mutex::new(String::new()));
    let mut e = Engine::new();
    let o = out.clone();
    e.on_output(move |s, b| {
        if s == Stream::Stdout {
            o.lock().unwrap().push_str(&String::from_utf8_lossy(b));
        }
    });
    (e, out)
}

#[test]
fn a_final_sink_is_returned_and_not_printed() {
    let (e, out) = captured();
    let s = e.compile("from [7, 8] | count\nfrom 1..=4 | sum").unwrap();
    assert_eq!(e.run(&s).unwrap().as_int().unwrap(), 10);
    // The earlier statement-level sink still prints; the last one is the value.
    assert_eq!(*out.lock().unwrap(), "2\n");
}

#[test]
fn print_result_prints_the_final_sink_as_the_cli_does_and_still_returns_it() {
    let (mut e, out) = captured();
    e.print_result(true);
    let s = e.compile("from 1..=4 | sum").unwrap();
    assert_eq!(e.run(&s).unwrap().as_int().unwrap(), 10);
    assert_eq!(*out.lock().unwrap(), "10\n");
}

#[test]
fn the_value_of_an_if_is_its_branch_and_a_stream_is_printed_not_collected() {
    let (e, out) = captured();
    let s = e
        .compile("let n = 3\nif n > 2 { from 1..=n | collect } else { from [0] | collect }")
        .unwrap();
    let v = e.run(&s).unwrap().cast::<Array>();
    assert_eq!(v.len(), 3);
    let s = e.compile("from [1, 2] | map { it * 5 }").unwrap();
    assert!(e.run(&s).unwrap().is_unit());
    assert_eq!(*out.lock().unwrap(), "5\n10\n");
}

#[test]
fn a_final_sink_with_a_redirect_writes_its_file_and_returns_its_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.txt");
    let mut e = Engine::new();
    e.set_var("path", path.display().to_string());
    let s = e.compile("from [1, 2, 3] | count > ${path}").unwrap();
    assert_eq!(e.run(&s).unwrap().as_int().unwrap(), 3);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "3\n");
}

#[test]
fn run_as_and_eval_give_typed_values() {
    let e = Engine::new();
    assert_eq!(e.eval::<i64>("from 1..=10 | sum").unwrap(), 55);
    assert_eq!(
        e.eval::<String>("from [\"a\", \"b\"] | text").unwrap(),
        "a\nb"
    );
    assert!(e.eval::<bool>("let b = 1 < 2\nb").unwrap());
    assert!((e.eval::<f64>("from [0.5, 1.0] | sum").unwrap() - 1.5).abs() < 1e-9);
    assert_eq!(e.eval::<Array>("from 1..=3 | collect").unwrap().len(), 3);
    assert_eq!(
        e.eval::<Dynamic>("let v = 40 + 2\nv")
            .unwrap()
            .as_int()
            .unwrap(),
        42
    );
    let s = e.compile("from [1] | count").unwrap();
    assert_eq!(e.run_as::<i64>(&s).unwrap(), 1);
}

/// A host's variable starts a statement as a `let` of it would: `x`, `x + 1`, `xs.push(4)`
/// are Rhai, not commands named `x` or `xs`.
#[test]
fn a_host_variable_starts_a_statement() {
    let mut e = Engine::new();
    e.set_var("x", 41_i64);
    e.set_var("xs", vec![Dynamic::from(1_i64)]);
    assert_eq!(e.eval::<i64>("x + 1").unwrap(), 42);
    assert_eq!(e.eval::<i64>("x").unwrap(), 41);
    assert_eq!(e.eval::<i64>("xs.push(4)\nxs.len()").unwrap(), 2);
    assert_eq!(e.eval::<i64>("x * 2 - 1").unwrap(), 81);
    // A name that is no variable is still a command, and `^x` forces one.
    let err = e.eval::<Dynamic>("y + 1").unwrap_err().to_string();
    assert!(err.contains("y"), "{err}");
}

/// An array comes back as a typed `Vec`; an element of another type is the error naming
/// both types.
#[test]
fn arrays_come_back_as_typed_vecs() {
    let e = Engine::new();
    let words = e
        .eval::<Vec<String>>("from [\"a\", \"b\"] | collect")
        .unwrap();
    assert_eq!(words, ["a", "b"]);
    assert_eq!(
        e.eval::<Vec<i64>>("from 1..=3 | collect").unwrap(),
        [1, 2, 3]
    );
    assert_eq!(
        e.eval::<Vec<bool>>("let b = [true, false]\nb").unwrap(),
        [true, false]
    );
    let err = e
        .eval::<Vec<i64>>("let v = [1, \"x\"]\nv")
        .unwrap_err()
        .to_string();
    assert!(err.contains("array"), "{err}");
    // miette is re-exported: a host reads codes without adding it.
    let d = e.compile("from [1] |").unwrap_err();
    let code = flow::miette::Diagnostic::code(&*d.errors[0]).map(|c| c.to_string());
    assert!(code.is_some_and(|c| c.starts_with("flow::parse")));
}

/// The first line of nearly every host: `compile(src)?` in a function returning
/// `Box<dyn Error>`; the error's text is the rendered diagnostics.
#[test]
fn compile_errors_are_std_errors() {
    fn host(src: &str) -> Result<i64, Box<dyn std::error::Error + Send + Sync>> {
        let e = Engine::new();
        let script = e.compile(src)?;
        Ok(e.run_as::<i64>(&script)?)
    }
    assert_eq!(host("from 1..=3 | sum").unwrap(), 6);
    let err = host("from 1..=3 | sum |").unwrap_err().to_string();
    assert!(err.contains("flow::parse"), "{err}");
    assert!(!err.contains('\u{1b}'), "no colour in Display: {err}");
}

#[test]
fn a_value_of_the_wrong_type_is_an_error_naming_both_types() {
    let e = Engine::new();
    let s = e
        .compile_named("n.flow", "let x = 1\nfrom [\"a\"] | first")
        .unwrap();
    let err = e.run_as::<i64>(&s).unwrap_err();
    assert!(
        matches!(err.kind, RunErrorKind::ResultType { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the script's value is `a` (string), but the host asked for i64"
    );
    let text = s.render_error(
        &err,
        flow::RenderOptions {
            color: false,
            width: 100,
        },
    );
    assert!(text.contains("flow::run::result_type"), "{text}");
    assert!(text.contains("n.flow:2:1"), "{text}");
    let err = e.eval::<String>("let y = 2").unwrap_err();
    let Error::Run { error, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        error.to_string(),
        "the script's value is nothing (`()`), but the host asked for string"
    );
}

#[test]
fn eval_reports_compile_errors_as_such() {
    let e = Engine::new();
    let err = e.eval::<i64>("from [1] | map nope").unwrap_err();
    assert!(matches!(err, Error::Compile(_)), "{err:?}");
    assert_eq!(err.exit_code(), 2);
    let text = err.render(flow::RenderOptions {
        color: false,
        width: 100,
    });
    assert!(text.contains("<eval>"), "{text}");
    assert!(text.contains("flow::check::unknown_function"), "{text}");
}

/// A host shows where a run error is as line and column, from the error's span.
#[test]
fn a_run_error_has_a_line_and_column() {
    let e = Engine::new();
    let s = e
        .compile("let a = 1\nfrom [\"x\"] | map { it.parse_int() } | sum")
        .unwrap();
    let err = e.run(&s).unwrap_err();
    // The failing stage, `map { … }`, starts at line 2, column 14.
    assert_eq!(s.source.line_col(err.span.start), (2, 14));
}
