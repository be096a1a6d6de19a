//! The shell's text, below both the checker and the runtime: how `sh "…"` scripts are
//! read for quoting contexts, so that the checker rejects what the runtime could not pass
//! safely and the runtime writes each value for its context.

pub(crate) mod sh_script;
