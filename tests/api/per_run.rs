//! Per-run inputs and outputs (`flow::Vars`, `Script::run_with`), written as a host writes
//! them: typed variables for one run, a sink that keeps everything, variables read back,
//! and many runs of one script at once that never see each other's values.

use flow::{Engine, Vars};

#[test]
fn typed_variables_go_in_and_come_back_out() {
    let mut engine = Engine::new();
    engine.declare_var("n").declare_var("name");
    let script = engine
        .compile(
            "let total = from 1..=n | sum\nlet greeting = `hello, ${name}`\nlet words = [name, name]\n",
        )
        .unwrap();
    let mut vars = Vars::new();
    vars.set("n", 10_i64).set("name", "ada");
    let _ = script.run_with(&engine, &mut vars).unwrap();
    assert_eq!(vars.get::<i64>("total"), Some(55));
    assert_eq!(
        vars.get::<String>("greeting").as_deref(),
        Some("hello, ada")
    );
    assert_eq!(
        vars.get::<Vec<String>>("words"),
        Some(vec!["ada".to_string(), "ada".to_string()])
    );
    // The inputs are variables of the run too, and a missing or mistyped one is `None`.
    assert_eq!(vars.get::<i64>("n"), Some(10));
    assert_eq!(vars.get::<String>("total"), None);
    assert_eq!(vars.get::<i64>("nope"), None);
    assert!(vars.names().contains(&"total".to_string()));
}

#[test]
fn a_kept_sink_holds_every_item_after_the_run() {
    let mut engine = Engine::new();
    engine.declare_var("out");
    let script = engine
        .compile("from 1..=5000 | map { it * 2 } | into out")
        .unwrap();
    let mut vars = Vars::new();
    vars.keep("out");
    // 5,000 items, far past any channel's capacity: the run neither hangs nor loses any.
    let _ = script.run_with(&engine, &mut vars).unwrap();
    let got = vars.items_as::<i64>("out").unwrap();
    assert_eq!(got, (1..=5000).map(|i| i * 2).collect::<Vec<_>>());
    // A second run starts the sink afresh.
    let _ = script.run_with(&engine, &mut vars).unwrap();
    assert_eq!(vars.items("out").len(), 5000);
}

#[test]
fn per_run_variables_override_the_engines_and_leave_it_unchanged() {
    let mut engine = Engine::new();
    engine.set_var("n", 3_i64);
    let script = engine.compile("from 1..=n | count").unwrap();
    let mut vars = Vars::new();
    vars.set("n", 7_i64);
    assert_eq!(script.run_with(&engine, &mut vars).unwrap().as_int(), Ok(7));
    assert_eq!(engine.run_as::<i64>(&script).unwrap(), 3);
}

#[test]
fn concurrent_runs_of_one_script_never_see_each_others_values() {
    let mut engine = Engine::new();
    engine.declare_var("k").declare_var("out");
    let script = std::sync::Arc::new(
        engine
            .compile("let mine = k * 1000\nfrom 1..=50 | map { it + k * 1000 } | into out")
            .unwrap(),
    );
    let engine = std::sync::Arc::new(engine);
    let threads: Vec<_> = (0..16_i64)
        .map(|k| {
            let (engine, script) = (engine.clone(), script.clone());
            std::thread::spawn(move || {
                let mut vars = Vars::new();
                vars.set("k", k).keep("out");
                let _ = script.run_with(&engine, &mut vars).unwrap();
                (k, vars.get::<i64>("mine"), vars.items_as::<i64>("out"))
            })
        })
        .collect();
    for t in threads {
        let (k, mine, out) = t.join().unwrap();
        assert_eq!(mine, Some(k * 1000));
        assert_eq!(
            out,
            Some((1..=50).map(|i| i + k * 1000).collect::<Vec<_>>()),
            "run {k}"
        );
    }
}

#[test]
fn variables_are_readable_after_a_failed_run() {
    let mut engine = Engine::new();
    engine.declare_var("n");
    let script = engine
        .compile("let before = n + 1\nfrom [1] | map { it / 0 } | count\nlet after = 1\n")
        .unwrap();
    let mut vars = Vars::new();
    vars.set("n", 1_i64);
    let err = script.run_with(&engine, &mut vars).unwrap_err();
    assert!(err.to_string().contains("Division by zero"), "{err}");
    assert_eq!(vars.get::<i64>("before"), Some(2));
    assert_eq!(vars.get::<i64>("after"), None);
}

#[test]
fn an_undeclared_per_run_name_is_a_compile_error_naming_it() {
    let engine = Engine::new();
    let d = engine.compile("from 1..=n | sum").unwrap_err();
    let text = d.render(flow::RenderOptions {
        color: false,
        width: 100,
    });
    assert!(text.contains("unknown variable `n`"), "{text}");
}
