//! Tests of the names Rhai code reads (`rhai_names.rs`, `Checker::rhai_names`): a name that
//! is no variable where it is read is `flow::check::unknown_variable`, and every name that
//! is one, however it came to be, passes.

use super::{check_only as check, CheckError, CheckErrorKind as K, CheckOptions};
use miette::Diagnostic;

fn errors_with(src: &str, opts: &CheckOptions) -> Vec<CheckError> {
    let ast = crate::parse(src).unwrap_or_else(|e| panic!("parse failed for {src:?}: {e:?}"));
    check(&ast, src, opts).err().unwrap_or_default()
}

/// `(code, text of the span, help)` of every error.
fn found(src: &str) -> Vec<(String, String, String)> {
    errors_with(src, &CheckOptions::default())
        .iter()
        .map(|e| {
            let code = e.code().map(|c| c.to_string()).unwrap_or_default();
            let help = e.help().map(|h| h.to_string()).unwrap_or_default();
            (code, e.span.text(src).to_string(), help)
        })
        .collect()
}

/// The names reported as unknown variables.
fn unknown(src: &str) -> Vec<String> {
    found(src)
        .into_iter()
        .filter(|(c, ..)| c == "flow::check::unknown_variable")
        .map(|(_, t, _)| t)
        .collect()
}

fn ok(src: &str) {
    let es = errors_with(src, &CheckOptions::default());
    assert!(es.is_empty(), "{src:?}: {es:?}");
}

#[test]
fn the_issues_examples_are_check_errors_with_a_did_you_mean() {
    let src = "let v25 = 1\nfrom y | count\nfrom lines(nope_var)\nprint(v250 + undefined_0)\n";
    let got = found(src);
    let names: Vec<&str> = got.iter().map(|(_, t, _)| t.as_str()).collect();
    assert_eq!(names, ["y", "nope_var", "v250", "undefined_0"], "{got:?}");
    assert!(got
        .iter()
        .all(|(c, ..)| c == "flow::check::unknown_variable"));
    assert_eq!(got[2].2, "did you mean `v25`?");
    assert_eq!(got[3].2, "declare it first: `let undefined_0 = …`");
    let e = &errors_with(src, &CheckOptions::default())[1];
    assert_eq!(e.to_string(), "unknown variable `nope_var`");
}

#[test]
fn what_a_stage_binds_is_a_variable_of_its_block_only() {
    ok("from [1] | map { it * 2 } | reduce 0 { acc + it }");
    ok("from [1] | pool 2 map { [it, seq, slot] } | count");
    ok("from [1] | sort by { -it } | count_by { it }");
    ok("from [1] | pool exec echo ${it} ${seq} ${slot}");
    ok("from [1] | pool exec { let x = it; echo ${x} ${seq} }");
    assert_eq!(unknown("from [1] | map { acc + it } | count"), ["acc"]);
    assert_eq!(unknown("from [1] | map { it + seq } | count"), ["seq"]);
    assert_eq!(unknown("let n = it + 1"), ["it"]);
    assert_eq!(unknown("from [1] | take { it }"), ["it"]);
}

#[test]
fn names_declared_in_the_rhai_code_itself_pass() {
    ok("from [[1, 2]] | map { let t = 0; for (v, i) in it { t += v * i; } t } | count");
    ok("from [1] | map { const K = 2; it * K } | count");
    ok("from [1] | map { try { it / 0 } catch (err) { err.len() } } | count");
    ok("let xs = [1]\nprint(xs.map(|x| x + xs.len()).filter(|a| a > 0))");
    ok("fn double(x) { x * 2 }\nfrom [1] | map { let f = double; it } | count");
    ok("from [1] | map { if is_def_var(\"q\") { q } else { it } } | count");
    ok("let m = #{ a: 1, \"b\": 2 }\nprint(m.a + m[\"b\"] + #{ c: 3 }.c)");
    ok("let n = 3\nprint(global::n ?? 0)");
    ok("let s = \"x\"\nprint(`${s} ${s.len()} ${`${s}`}`)");
}

#[test]
fn script_variables_follow_flows_scopes() {
    ok("let n = 1\nif n > 0 { let m = n + 1\nprint(m) }");
    assert_eq!(unknown("if true { let m = 1 }\nprint(m)"), ["m"]);
    ok("for f in [1, 2] { print(f + 1) }");
    ok("try { ls } catch e { print(e.message) }");
    ok("let h = spawn { from [1] | sum }\nlet v = join h\nprint(v + 1)");
    ok("on_interrupt { print(args.len()) }");
    assert_eq!(unknown("print(late)\nlet late = 1"), ["late"]);
}

#[test]
fn a_closure_that_captures_an_unknown_name_is_reported_inside_it() {
    let src = "let xs = [1]\nprint(xs.map(|x| x + factr))";
    assert_eq!(unknown(src), ["factr"]);
}

#[test]
fn fn_bodies_see_their_parameters_and_the_scripts_fns() {
    ok("fn area(w, h) { let a = w * h; a + twice(h) }\nfn twice(v) { v * 2 }");
    let got = found("fn area(width, height) { widht * height }");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].1, "widht");
    assert_eq!(got[0].2, "did you mean `width`?");
    let got = found("fn f(a) { a + q }");
    assert!(
        got[0].2.contains("a `fn` sees only its parameters"),
        "{got:?}"
    );
    // A script variable in a `fn` body is the trap's to report, once.
    let got = found("let factor = 3\nfn scale(x) { x * factor }");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "flow::check::fn_script_variable");
}

#[test]
fn python_names_get_their_flow_spelling() {
    let got = found("let done = True\nlet name = sys.argv[1]\nprint(None)");
    let helps: Vec<&str> = got.iter().map(|(_, _, h)| h.as_str()).collect();
    assert!(helps[0].contains("`true`"), "{got:?}");
    assert!(helps[1].contains("`args[0]`"), "{got:?}");
    assert!(helps[2].contains("`()`"), "{got:?}");
    let got = found("print(\"a\".upper())\nfrom range(10) | count\nlet n = int(\"4\")");
    let calls: Vec<(&str, &str)> = got
        .iter()
        .map(|(c, t, _)| (c.as_str(), t.as_str()))
        .collect();
    assert_eq!(
        calls,
        [
            ("flow::check::unknown_function", "upper"),
            ("flow::check::unknown_function", "range"),
            ("flow::check::unknown_function", "int"),
        ]
    );
    assert!(got[1].2.contains("`0..10`"), "{got:?}");
    // Rhai's own `range(a, b)`, a method that may exist for some type, a script's own `fn`.
    ok("from range(0, 3) | count\nlet xs = [1]\nxs.append([2])");
    ok("fn int(s) { s.parse_int() }\nprint(int(\"4\"))");
}

#[test]
fn known_variables_and_a_hosts_registrations_are_respected() {
    let src = "print(from_host + 1)";
    let opts = CheckOptions {
        known_vars: vec!["from_host".into()],
        ..CheckOptions::default()
    };
    assert!(errors_with(src, &opts).is_empty());
    assert_eq!(unknown(src), ["from_host"]);
    // A host that registers with Rhai's API may define any name: left to the run.
    let opts = CheckOptions {
        open_names: true,
        ..CheckOptions::default()
    };
    assert!(errors_with("print(True + q + int(\"1\"))", &opts).is_empty());
}

#[test]
fn a_let_command_trap_explains_the_unknown_names() {
    let es = errors_with("let out = ls -l\n", &CheckOptions::default());
    assert_eq!(es.len(), 1, "{es:?}");
    assert!(
        matches!(
            &es[0].kind,
            K::Trap {
                code: "flow::check::let_command",
                warning: false,
                ..
            }
        ),
        "{es:?}"
    );
}

#[test]
fn each_name_is_reported_once_per_text() {
    assert_eq!(unknown("print(q + q * q)"), ["q"]);
    assert_eq!(unknown("print(q)\nprint(q)"), ["q", "q"]);
}
