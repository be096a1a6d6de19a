//! A host program that embeds flow: it registers a Rust function, feeds a named source,
//! reads a named sink on another thread while the script runs, captures the script's
//! output, takes typed results, and cancels a run. `cargo run --example embed_host`;
//! `tests/api` calls `demo` and checks its report.

use flow::rhai::Dynamic;
use flow::{CancelReason, CancelToken, Engine, RenderOptions, Stream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the script wrote, by stream, in order.
type Captured = Arc<Mutex<Vec<(Stream, Vec<u8>)>>>;

/// Run the demo; its report is what a host would show.
///
/// # Errors
/// A script that did not compile or failed.
pub fn demo() -> Result<String, flow::Error> {
    let mut report = String::new();
    let mut engine = Engine::new();

    // Host functions, declared so that the checker knows their arity.
    engine.register(|rhai| {
        rhai.register_fn("score", |word: &str| word.len() as i64 * 10);
    });
    engine.declare_fn("score", 1);

    // Everything the script would print goes to the host instead.
    let captured: Captured = Arc::default();
    let sink_of = captured.clone();
    engine.on_output(move |stream, bytes| {
        sink_of.lock().unwrap().push((stream, bytes.to_vec()));
    });

    // Typed results: the last statement's value.
    engine.set_var("words", vec![Dynamic::from("flow"), Dynamic::from("rhai")]);
    let total = engine.eval::<i64>("from words | map score | sum")?;
    report.push_str(&format!("total score: {total}\n"));

    // A named source fed by the host, a named sink read while the script runs.
    let input = engine.source("input", 8);
    let results = engine.sink("results", 4);
    let script = engine.compile_named(
        "scores.flow",
        "print(\"scoring\")\nfrom input | map { #{ word: it, score: score(it) } } | into results",
    )?;
    let feeder = std::thread::spawn(move || {
        for w in ["a", "bb", "ccc", "dddd", "eeeee", "ffffff"] {
            input.send(w).expect("the script reads its input");
        }
    });
    let reader = {
        let results = results.clone();
        std::thread::spawn(move || {
            results
                .iter()
                .map(|m| m.cast::<flow::rhai::Map>()["score"].as_int().unwrap_or(0))
                .sum::<i64>()
        })
    };
    engine.run_as::<()>(&script).map_err(|e| script.error(e))?;
    feeder.join().expect("feeder");
    let sum = reader.join().expect("reader");
    report.push_str(&format!("sink total: {sum}\n"));
    for (stream, bytes) in captured.lock().unwrap().iter() {
        report.push_str(&format!("{stream:?}: {}", String::from_utf8_lossy(bytes)));
    }

    // A cancel from the host is reported as such, not as a failure.
    let slow = engine.compile("sleep 30")?;
    let token = CancelToken::new();
    let canceller = token.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        canceller.cancel(CancelReason::Requested);
    });
    match engine.run_with_cancel(&slow, &token, vec![]) {
        Err(e) if e.is_cancelled() => report.push_str(&format!("cancelled: {e}\n")),
        other => report.push_str(&format!("unexpected: {other:?}\n")),
    }
    Ok(report)
}

#[allow(dead_code)] // The test that includes this file calls `demo` only.
fn main() {
    match demo() {
        Ok(report) => print!("{report}"),
        Err(e) => {
            eprint!("{}", e.render(RenderOptions::for_stderr()));
            std::process::exit(e.exit_code().into());
        }
    }
}
