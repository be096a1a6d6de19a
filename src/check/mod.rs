//! Checking: name resolution, PATH lookup, and the plan graph, before anything runs.

mod channels;
mod check_error;
mod checker;
mod fns;
mod foreign;
mod host_calls;
mod plan;
mod plan_build;
mod plan_render;
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
#[cfg(test)]
pub(crate) use checker::check;
pub(crate) use checker::check_only;
pub use checker::CheckOptions;
pub use plan::Plan;

#[cfg(test)]
mod checker_tests;
#[cfg(test)]
mod foreign_tests;
#[cfg(test)]
mod names_tests;
#[cfg(test)]
mod plan_tests;
