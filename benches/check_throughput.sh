#!/usr/bin/env bash
# flow check throughput on a generated 10,000-line realistic script.
# Usage: FLOW=path/to/flow benches/check_throughput.sh   (LINES=10000 RUNS=30 to change)
# CALLGRIND=1: instead, instructions executed (valgrind's callgrind) by `flow check` of a
# 1-line, a LINES-line and a 2×LINES-line script: stable on a noisy machine, unlike times.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workloads.sh"
LINES=${LINES:-10000}; RUNS=${RUNS:-30}
SRC="$TMPD/big.flow"; EMPTY="$TMPD/empty.flow"; : > "$EMPTY"

wl_check_script "$LINES" > "$SRC"

if [ "${CALLGRIND:-0}" = 1 ]; then
  command -v valgrind >/dev/null || { echo "valgrind not found (apt-get install -y valgrind)"; exit 1; }
  echo 'let x = 1' > "$TMPD/one.flow"; wl_check_script $((2 * LINES)) > "$TMPD/double.flow"
  for f in one.flow big.flow double.flow; do
    ir=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$FLOW" check "$TMPD/$f" 2>&1 \
      | awk '/Collected/{print $4}')
    printf "%-34s %8s lines %16s instructions\n" "flow check $f" "$(wc -l < "$TMPD/$f")" "$ir"
  done
  exit 0
fi
BYTES=$(wc -c < "$SRC"); NL=$(wc -l < "$SRC")
echo "script: $NL lines, $BYTES bytes; flow: $FLOW; runs: $RUNS"

if ! timeout "$T" "$FLOW" check "$SRC" >/dev/null 2>"$TMPD/check_err"; then
  echo "flow failed: flow check on the generated script exited non-zero:"; head -c 2000 "$TMPD/check_err"; echo
  echo "first lines of the script:"; head -15 "$SRC"; exit 1
fi
t_big=$(medN "$RUNS" "$FLOW check $SRC")
t_empty=$(medN "$RUNS" "$FLOW check $EMPTY")
awk -v tb="$t_big" -v te="$t_empty" -v by="$BYTES" -v nl="$NL" 'BEGIN{
  net = tb - te; if (net <= 0) net = 1e-9
  printf "\n%-38s %12s %12s %14s\n", "measure", "total", "net(-empty)", ""
  printf "%-38s %12.2f %12.2f\n", "ms per check (10k lines)", tb*1000, net*1000
  printf "%-38s %12.2f\n", "ms per check (empty file = start-up)", te*1000
  printf "%-38s %12.1f %12.1f\n", "MB/s", by/1e6/tb, by/1e6/net
  printf "%-38s %12.0f %12.0f\n", "lines/s", nl/tb, nl/net
  printf "%-38s %12s\n", "target <= 20 ms per check", (tb*1000 <= 20 ? "met" : "NOT met")
}'
