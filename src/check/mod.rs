//! Checking: name resolution, PATH lookup, Rhai syntax and traps, before anything runs.

mod channels;
mod check_error;
mod checker;
mod fns;
mod foreign;
mod host_calls;
pub(crate) mod programs;
mod quick_hash;
mod rhai_key;
mod rhai_names;
mod rhai_syntax;
mod scope;
mod shell;
mod slurm;
mod suggest;
mod traps;

pub use check_error::{CheckError, CheckErrorKind};
pub use checker::check_only;
pub(crate) use checker::trim;
pub use checker::CheckOptions;

#[cfg(test)]
mod checker_tests;
#[cfg(test)]
mod foreign_tests;
#[cfg(test)]
mod names_tests;
