//! A service that runs one compiled script per request, on many threads at once: each
//! request brings its own typed inputs (`flow::Vars`), gets its own kept sink and reads the
//! script's variables back, and no request sees another's. The script is compiled once.
//! `cargo run --example service_host`; `tests/api` calls `demo`.

use flow::{Engine, Script, Vars};
use std::sync::Arc;

/// The per-request script: the words of `text` longer than `min`, counted and listed.
const SCRIPT: &str = r#"
let words = from text.split(" ") | filter { it.len() > min } | collect
from words | map { it.to_upper() } | into shouted
let n = words.len()
"#;

/// One request's answer.
#[derive(Debug, PartialEq)]
pub struct Answer {
    pub n: i64,
    pub shouted: Vec<String>,
}

/// Serve one request with the shared engine and script.
///
/// # Errors
/// The run error, as text.
pub fn serve(engine: &Engine, script: &Script, text: &str, min: i64) -> Result<Answer, String> {
    let mut vars = Vars::new();
    vars.set("text", text).set("min", min).keep("shouted");
    // (The run's value is the last statement's, `()` here: the answer is in `vars`.)
    let _ = script
        .run_with(engine, &mut vars)
        .map_err(|e| e.to_string())?;
    Ok(Answer {
        n: vars.get("n").unwrap_or(0),
        shouted: vars.items_as("shouted").unwrap_or_default(),
    })
}

/// Eight requests at once on eight threads; the answers in request order.
///
/// # Errors
/// The script's diagnostics, or a request's error.
pub fn demo() -> Result<Vec<Answer>, String> {
    let mut engine = Engine::new();
    engine
        .declare_var("text")
        .declare_var("min")
        .declare_var("shouted");
    let script = engine
        .compile_named("service.flow", SCRIPT)
        .map_err(|d| d.to_string())?;
    let (engine, script) = (Arc::new(engine), Arc::new(script));
    let threads: Vec<_> = (0..8_i64)
        .map(|i| {
            let (engine, script) = (engine.clone(), script.clone());
            std::thread::spawn(move || {
                let text = format!("request {i} asks for words longer than {i} letters");
                serve(&engine, &script, &text, i)
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().map_err(|_| "a request panicked".to_string())?)
        .collect()
}

fn main() {
    match demo() {
        Ok(answers) => {
            for (i, a) in answers.iter().enumerate() {
                println!("request {i}: {} words: {}", a.n, a.shouted.join(" "));
            }
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
