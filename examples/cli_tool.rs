//! A command-line tool built on flow: it runs a script file with the user's arguments,
//! adds a host function (`lookup`) backed by the tool's own data, lets the script read the
//! tool's stdin, prints the script's output as it comes, renders errors as the `flow` CLI
//! does and exits with the script's status.
//! `cargo run --example cli_tool -- script.flow [ARGS…]`; `tests/api` runs it.

use flow::{Engine, RenderOptions};
use std::collections::HashMap;
use std::sync::Arc;

/// Run the script at `path` with `args` and the tool's host function: the exit status.
#[must_use]
pub fn run_file(path: &str, args: Vec<String>) -> u8 {
    let src = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cli_tool: cannot read {path}: {e}");
            return 2;
        }
    };
    // The tool's data, shared by every Rhai engine of the run (pool workers included).
    let owners: Arc<HashMap<String, String>> = Arc::new(HashMap::from([
        ("db".to_string(), "ada".to_string()),
        ("web".to_string(), "grace".to_string()),
    ]));
    let mut engine = Engine::new();
    engine
        .register_fn("lookup", move |k: &str| {
            owners.get(k).cloned().unwrap_or_else(|| "nobody".into())
        })
        .inherit_stdin(true);
    let script = match engine.compile_named(path, &src) {
        Ok(s) => s,
        Err(d) => {
            eprint!("{}", d.render(RenderOptions::for_stderr()));
            return 2;
        }
    };
    match engine.run_with_cancel(&script, &flow::CancelToken::new(), args) {
        Ok(_) => 0,
        Err(e) => {
            eprint!("{}", script.render_error(&e, RenderOptions::for_stderr()));
            e.exit_code()
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: cli_tool SCRIPT.flow [ARGS…]");
        std::process::exit(2);
    };
    std::process::exit(i32::from(run_file(&path, args.collect())));
}
