//! The embedding API, split by verb: what a host can do with an [`crate::Engine`] is found by
//! file name (as in Rhai's `src/api/`).

pub(crate) mod compile;
pub(crate) mod engine;
pub(crate) mod error;
pub(crate) mod io;
pub(crate) mod register;
pub(crate) mod run;
pub(crate) mod sandbox;
pub(crate) mod vars;
