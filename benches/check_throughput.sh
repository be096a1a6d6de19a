#!/usr/bin/env bash
# flow check throughput on a generated 10,000-line realistic script.
# Usage: FLOW=path/to/flow benches/check_throughput.sh   (LINES=10000 RUNS=30 to change)
# CALLGRIND=1: instead, instructions executed (valgrind's callgrind) by `flow check` of a
# 1-line, a LINES-line and a 2×LINES-line script: stable on a noisy machine, unlike times.
set -u
. "$(dirname "$0")/lib.sh"
LINES=${LINES:-10000}; RUNS=${RUNS:-30}
SRC="$TMPD/big.flow"; EMPTY="$TMPD/empty.flow"; : > "$EMPTY"

# gen N: ~10 statement kinds in rotation; every program used exists on PATH (checked at `flow check`).
gen() { awk -v n="$1" 'BEGIN{
  print "#!/usr/bin/env flow"; print "// generated benchmark script"; l = 2; i = 0
  while (l < n) {
    k = i % 12
    if (k == 0)       printf "let x%d = %d\n", i, i
    else if (k == 1)  printf "fn f%d(x) { x * 2 }\n", i
    else if (k == 2)  printf "let c%d = from 1..=10 | map { it * 2 } | filter { it > 3 } | count\n", i
    else if (k == 3)  printf "ls -l | grep foo | wc -l\n"
    else if (k == 4)  printf "from [\"a%d.csv\", \"b%d.csv\"] | pool 4 exec gzip -k ${it}\n", i, i
    else if (k == 5)  printf "let s%d = from 1..=100 | map { f%d(it) } | sum\n", i, i-4
    else if (k == 6)  printf "// comment line %d: nothing to see here\n", i
    else if (k == 7)  printf "let name%d = \"file-${x%d}.txt\"\n", i, i-7
    else if (k == 8)  printf "cat /etc/hostname | ^sort | ^uniq -c | head -n 3\n"
    else if (k == 9)  printf "let t%d = from 1..=1000 | filter { it %% 7 == 0 } | map { it + %d } | take 5 | collect\n", i, i
    else if (k == 10) printf "print(`${x%d} and ${c%d}`);\n", i-10, i-8
    else              printf "from 1..=3 | pool 2 map { it * it + 1 } | each { print(it) }\n"
    l++; i++
  }
}'; }
gen "$LINES" > "$SRC"

if [ "${CALLGRIND:-0}" = 1 ]; then
  command -v valgrind >/dev/null || { echo "valgrind not found (apt-get install -y valgrind)"; exit 1; }
  echo 'let x = 1' > "$TMPD/one.flow"; gen $((2 * LINES)) > "$TMPD/double.flow"
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
