//! The Rhai glue: engine set-up, built-ins, channels, and mapping Rhai positions to the script.

pub(crate) mod channel;
pub(crate) mod display;
pub(crate) mod fastpath;
pub(crate) mod format_spec;
pub(crate) mod in_place;
pub(crate) mod keyed;
pub(crate) mod newlines;
pub(crate) mod paths;
pub(crate) mod position;
pub(crate) mod python;
pub(crate) mod quotes;
pub(crate) mod strings;
pub(crate) mod unit_help;
