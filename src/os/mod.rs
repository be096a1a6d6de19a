//! Everything the library asks of the operating system through `libc`, as small safe
//! functions: what each guarantees is in its doc comment, and every `unsafe` block says why
//! it is sound. With the task stacks (`runtime/green/stacks.rs`), this is the only place
//! `unsafe` is allowed (`#![deny(unsafe_code)]` in `lib.rs`); the rest of the library calls
//! these functions and names no `libc` function itself.

pub(crate) mod process;
pub(crate) mod rusage;
pub(crate) mod signals;
