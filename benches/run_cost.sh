#!/usr/bin/env bash
# What one run of a compiled script costs an embedding host, beside plain Rhai doing the same
# work: examples/run_cost.rs (N runs each, after N/10 warm-up runs). Usage: benches/run_cost.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release --quiet --example run_cost -- "${1:-2000}"
