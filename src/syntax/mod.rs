//! Syntax: the pest grammar, the AST with spans, and parse diagnostics.

pub mod ast;
mod build;
pub(crate) mod foreign;
pub(crate) mod parse_error;
pub(crate) mod parser;
#[cfg(test)]
pub(crate) use parser::is_keyword;
mod prescan;
pub(crate) mod span;
pub(crate) mod stage_redirect;
mod steps;
#[cfg(test)]
mod test_scripts;
