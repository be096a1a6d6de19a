//! A host that runs scripts its users wrote: only `sort`, `uniq` and `wc` may be started,
//! the host's stdin stays its own, Rhai code gets an operation budget, output is captured
//! (and cut at 64 KiB), and a run that takes too long is cancelled.
//! `cargo run --example sandboxed_host -- script.flow`; `tests/api` calls `run_untrusted`.

use flow::{CancelReason, CancelToken, Engine, RenderOptions, Stream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Most output a run may leave.
const MAX_OUTPUT: usize = 64 << 10;

/// The engine every untrusted script runs on.
#[must_use]
pub fn sandbox() -> Engine {
    let mut engine = Engine::new();
    engine
        .allow_programs(["sort", "uniq", "wc"])
        .inherit_stdin(false)
        .max_operations(5_000_000)
        .max_call_levels(32)
        .max_sizes(1 << 20, 100_000, 100_000);
    engine
}

/// Compile and run `src` in the sandbox for at most `limit`: its stdout, or the error a
/// user is shown (rendered as the CLI renders it).
///
/// # Errors
/// The rendered diagnostics or run error.
pub fn run_untrusted(src: &str, limit: Duration) -> Result<String, String> {
    let mut engine = sandbox();
    let out = Arc::new(Mutex::new(Vec::new()));
    let o = out.clone();
    engine.on_output(move |stream, bytes| {
        let mut o = o.lock().unwrap_or_else(|e| e.into_inner());
        if stream == Stream::Stdout && o.len() < MAX_OUTPUT {
            let room = MAX_OUTPUT - o.len();
            o.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
    });
    let opts = RenderOptions {
        color: false,
        width: 100,
    };
    let script = engine
        .compile_named("user.flow", src)
        .map_err(|d| d.render(opts))?;
    // A watchdog thread cancels the run past its time; the run stops its processes and
    // reaps them before returning.
    let token = CancelToken::new();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let t = token.clone();
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(limit).is_err() {
            t.cancel(CancelReason::Requested);
        }
    });
    let r = engine.run_with_cancel(&script, &token, vec![]);
    drop(done_tx);
    let _ = watchdog.join();
    match r {
        Ok(_) => Ok(String::from_utf8_lossy(&out.lock().unwrap_or_else(|e| e.into_inner())).into()),
        Err(e) if e.is_cancelled() => Err(format!("stopped after {limit:?}")),
        Err(e) => Err(script.render_error(&e, opts)),
    }
}

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: sandboxed_host SCRIPT.flow");
        std::process::exit(2);
    };
    let src = match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            std::process::exit(2);
        }
    };
    match run_untrusted(&src, Duration::from_secs(10)) {
        Ok(out) => print!("{out}"),
        Err(e) => {
            eprint!("{e}");
            std::process::exit(1);
        }
    }
}
