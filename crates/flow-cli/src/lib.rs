//! The `flow` command's parts that are more than argument parsing: the REPL. A library so
//! that its unit tests run (the binary's own harness is off: `tests/` runs the binary).

#![forbid(unsafe_code)]

pub mod repl;
