//! `flow lsp`: a language server over stdio with the checker's diagnostics, completion,
//! hover and go to definition.

mod completion;
mod definition;
mod diagnostics;
mod document;
mod frame;
mod hover;
mod position;
mod reference;
mod server;
mod symbols;
mod transport;

pub use server::run;
