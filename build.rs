//! Link the `flow` binary as a position-dependent executable on Linux, as Go links its
//! binaries: a position-independent one makes the dynamic loader apply ~15,000 relocations
//! and copy the ~60 pages they touch at every start, a sixth of `flow -c 'print(1)'`.
//! Shared libraries, the heap, the stacks and mmaps stay randomized. Building with
//! `FLOW_PIE=1` keeps a PIE binary (docs/performance.md, "Jobs and start-up").
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=FLOW_PIE");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux");
    let pie = std::env::var_os("FLOW_PIE").is_some_and(|v| v != "0" && !v.is_empty());
    if linux && !pie {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
