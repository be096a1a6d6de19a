//! The interactive REPL.

/// Start the REPL; returns the exit code.
#[must_use]
pub fn run() -> u8 {
    eprintln!("flow: the REPL is not built yet");
    1
}
