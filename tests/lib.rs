//! flow's one integration-test binary: the data-driven cases, the Rust-level builder tests
//! and the parser fuzz test link once, here.
//!
//! Modules live in `tests/<name>/mod.rs`, not `tests/<name>.rs`: Cargo builds every
//! `tests/*.rs` as a test binary of its own, and this file must be the only one.

mod api;
mod cases;
mod channels;
mod cli;
mod fuzz_parse;
mod guarantees;
mod harness;
mod layout;
mod lsp;
mod pool;
mod repl;
mod report;
mod rhai;
mod signals;
mod slurm;
mod tasks;
mod trust;
