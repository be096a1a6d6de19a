//! What one run of a compiled script costs a host, beside the same work in plain Rhai:
//! `cargo run --release --example run_cost` (`benches/run_cost.sh` runs it). A service that
//! runs one script per request pays this per request.

use std::time::Instant;

fn per_run(n: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..n / 10 {
        f();
    }
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_secs_f64() / f64::from(n) * 1e6
}

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let engine = flow::Engine::new();
    let script = engine
        .compile("from [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] | map { it * 2 } | map { it + 1 } | sum")
        .expect("compiles");
    let flow_us = per_run(n, || {
        let v: i64 = engine.run_as(&script).expect("runs");
        assert_eq!(v, 120);
    });
    // The same items from a host variable: also made in the sink's loop (a channel in it
    // would be read there too).
    let mut from_var = flow::Engine::new();
    from_var.set_var(
        "xs",
        (1..=10_i64)
            .map(flow::rhai::Dynamic::from)
            .collect::<Vec<_>>(),
    );
    let var_script = from_var
        .compile("from xs | map { it * 2 } | map { it + 1 } | sum")
        .expect("compiles");
    let var_us = per_run(n, || {
        let v: i64 = from_var.run_as(&var_script).expect("runs");
        assert_eq!(v, 120);
    });
    let rhai = flow::rhai::Engine::new();
    let ast = rhai
        .compile("let s = 0; for x in [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] { s += x * 2 + 1 } s")
        .expect("compiles");
    let rhai_us = per_run(n, || {
        let v: i64 = rhai.eval_ast(&ast).expect("runs");
        assert_eq!(v, 120);
    });
    println!(
        "a 10-item map | map | sum, {n} runs: flow {flow_us:.1} µs/run, plain Rhai {rhai_us:.1} µs/run, flow/Rhai {:.1}",
        flow_us / rhai_us
    );
    println!(
        "the same from a host variable: flow {var_us:.1} µs/run, flow/Rhai {:.1}",
        var_us / rhai_us
    );
}
