//! flow: a small language for concurrent pipelines.
//!
//! A script is parsed ([`parse`]) into an [`ast::Ast`], checked into a [`Plan`], and run.
//! See `docs/language.md` for the language and `src/README.md` for a map of the code.

mod check;
mod diagnostics;
mod engine;
pub mod repl;
mod runtime;
mod script;
mod script_file;
mod syntax;

pub use check::{CheckError, CheckErrorKind, CheckOptions, Plan};
pub use diagnostics::{render, RenderOptions, SourceFile};
pub use engine::{Engine, SourceSender};
pub use script_file::{CompileOptions, Diagnostics, Script};
pub use syntax::ast;
pub use syntax::parse_error::{ParseError, ParseErrorKind};
pub use syntax::parser::parse;
pub use syntax::span::Span;

pub use runtime::{
    become_subreaper, catch_signals_early, run_script, CancelReason, CancelToken, EngineHook,
    RunError, RunErrorKind, RunOptions, TaskHandle,
};

/// Run a compiled script as the CLI does (signal handlers installed, errors rendered on
/// stderr); returns the process exit code.
#[must_use]
pub fn cli_run(script: &Script, args: Vec<String>) -> u8 {
    become_subreaper();
    let opts = RunOptions {
        args,
        handle_signals: true,
        ..RunOptions::default()
    };
    match run_script(script, opts) {
        Ok(_) => 0,
        Err(e) => {
            let code = e.exit_code();
            if !matches!(
                e.kind,
                RunErrorKind::Interrupted { .. } | RunErrorKind::ExitRequested { .. }
            ) {
                eprint!(
                    "{}",
                    render(&[&e], &script.source, RenderOptions::for_stderr())
                );
            }
            code
        }
    }
}
