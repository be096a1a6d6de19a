//! flow: a small language for concurrent pipelines — external commands joined by OS pipes,
//! in-process item stages on threads, worker pools, tasks, and Ctrl-C done right — with
//! per-item logic in [Rhai](https://rhai.rs). The crate is a library first: the `flow`
//! binary is a thin client of it.
//!
//! # Quick start: embedding
//!
//! ```
//! use flow::{Engine, Stream};
//! use std::sync::{Arc, Mutex};
//!
//! let mut engine = Engine::new();
//! // Rust functions through Rhai's API; declared so that the checker knows their arity.
//! engine.register(|rhai| {
//!     rhai.register_fn("weight", |s: &str| s.len() as i64);
//! });
//! engine.declare_fn("weight", 1);
//! engine.set_var("words", vec![flow::rhai::Dynamic::from("ab"), "cde".into()]);
//!
//! // Capture what the script prints instead of writing to this process's stdout.
//! let printed = Arc::new(Mutex::new(String::new()));
//! let p = printed.clone();
//! engine.on_output(move |stream, bytes| {
//!     if stream == Stream::Stdout {
//!         p.lock().unwrap().push_str(&String::from_utf8_lossy(bytes));
//!     }
//! });
//!
//! // Compile once (parse + check: errors before anything runs), run any number of times.
//! let script = engine
//!     .compile_named("weights.flow", "echo start\nfrom words | map weight | sum")
//!     .unwrap();
//! // The last statement's value is the run's value (a final sink is returned, not printed).
//! let total: i64 = engine.run_as(&script).unwrap();
//! assert_eq!(total, 5);
//! assert_eq!(*printed.lock().unwrap(), "start\n");
//! ```
//!
//! Named sources and sinks ([`Engine::source`], [`Engine::sink`]) move items between the
//! host and a running script; a [`CancelToken`] stops a run from another thread
//! ([`Engine::run_with_cancel`]). No signal handler is installed unless the host asks, and
//! nothing is global. `docs/embedding.md` states every rule; `examples/embed_host.rs` is a
//! complete host.
//!
//! # Inside
//!
//! A script is parsed ([`parse`]) into an [`ast::Ast`], checked into a [`Plan`], and run.
//! See `docs/language.md` for the language and `src/README.md` for a map of the code.

// `unsafe` lives in `os/` (the libc calls) and in the task stacks (`runtime/green`), each
// allowed where it is declared; everything else is safe Rust.
#![deny(unsafe_code)]

mod api;
mod check;
mod diagnostics;
mod limits;
// The one place besides the task stacks where `unsafe` is allowed: the libc calls.
#[allow(unsafe_code)]
mod os;
mod plan;
mod runtime;
mod script;
mod shell;
// The syntax crate, under the names the modules here use for it.
use flow_syntax as syntax;
use flow_syntax::vocabulary;

/// What the language server and the REPL (the `flow-lsp` and `flow-cli` crates) use beyond
/// the embedding API: the checker without a plan, the programs on `PATH`, the REPL's
/// session and how it shows a value. Not a stable API for hosts.
#[doc(hidden)]
pub mod tooling {
    pub use crate::check::check_only;
    pub use crate::check::programs::on_path as programs_on_path;
    pub use crate::runtime::EngineCache;
    pub use crate::runtime::Session;
    pub use crate::script::display::display;
}

pub use api::engine::Engine;
pub use api::error::Error;
pub use api::io::{Sink, SinkIter, SourceSender};
pub use api::vars::Vars;
pub use check::{CheckError, CheckErrorKind, CheckOptions};
pub use diagnostics::{render, RenderOptions, SourceFile};
/// The miette crate flow's diagnostics implement (`code()`, `labels()`, `help()`), so a
/// host reads them without adding it.
pub use miette;
pub use plan::Plan;
pub use plan::{CompileOptions, Diagnostics, Script};
/// The Rhai crate flow embeds, for registering functions and types and for `Dynamic`.
pub use rhai;
#[doc(hidden)]
pub use runtime::VarsOut;
pub use syntax::ast;
pub use syntax::parse_error::{ParseError, ParseErrorKind};
pub use syntax::parser::parse;
pub use syntax::span::Span;

pub use runtime::{
    become_subreaper, catch_signals_early, run_script, CancelReason, CancelToken, EngineHook,
    JobInfo, JobReport, OutputHook, PoolReport, ProcessReport, ReportOut, RunError, RunErrorKind,
    RunOptions, RunReport, Sample, StageReport, Stream, TaskHandle, TaskReport,
};
