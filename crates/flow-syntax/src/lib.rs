//! flow's syntax: the pest grammar (`grammar/flow.pest`), the AST with spans, parse
//! diagnostics, and flow's words written once ([`vocabulary`]). The bottom of the
//! workspace: it depends on no other flow crate, and the checker, the language server, the
//! REPL's completions and the editor-grammar tests all read it.

// Safe Rust only.
#![forbid(unsafe_code)]

pub mod ast;
mod build;
pub mod foreign;
pub mod parse_error;
pub mod parser;
pub use parser::{is_keyword, parse, parse_with};
pub use span::Span;
mod prescan;
pub mod span;
pub mod stage_redirect;
mod steps;
#[cfg(test)]
mod test_scripts;
pub mod vocabulary;
