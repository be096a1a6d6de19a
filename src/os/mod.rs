//! Everything the library asks of the operating system through `libc`, as small safe
//! functions: what each guarantees is in its doc comment, and every `unsafe` block says why
//! it is sound. With the task stacks (`runtime/green/stacks.rs`), this is the only place
//! `unsafe` is allowed (`#![deny(unsafe_code)]` in `lib.rs`); the rest of the library calls
//! these functions and names no `libc` function itself.
//!
//! The forked watchdog lives here whole: after the fork its child may only make
//! async-signal-safe calls and touch memory allocated before the fork, so everything it
//! runs, down to the `/proc` parser, is kept where that rule is stated.

pub(crate) mod children;
pub(crate) mod process;
pub(crate) mod proctable;
pub(crate) mod rusage;
pub(crate) mod signals;
pub(crate) mod watchdog;
