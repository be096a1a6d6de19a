#!/usr/bin/env bash
# Ctrl-C: time from SIGINT (to the process group, like a terminal ^C) until the runner has exited,
# then count leftover `sleep 100` processes. 2-way pool of `sleep 100`, SIGINT after 1 s.
# Usage: FLOW=path/to/flow benches/interrupt.sh     (RUNS=20 to change; each run costs ~1.1 s)
set -u
. "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-20}
# one marker per run of this script, so pgrep only sees our own sleeps
MARK=$(( 100 + RANDOM % 900 )); SLEEP="sleep $MARK"
echo "flow: $FLOW; runs per peer: $RUNS; children: '$SLEEP'"

cat > "$TMPD/int.py" <<PY
import subprocess
from multiprocessing import Pool
def job(_): subprocess.run(["sleep", "$MARK"])
if __name__ == "__main__":
    with Pool(2) as p:
        p.map(job, range(2))
PY

# one_run CMD -> prints "ms leftovers exitstatus" (ms = -1 if it had not exited 3 s after SIGINT)
one_run() {
  setsid bash -c "exec $1" >/dev/null 2>"$TMPD/int_err" &
  local pid=$! t0 t1 rc left wd p first hung=0
  sleep 1
  sleep 3 & wd=$!                      # watchdog: give up 3 s after SIGINT
  t0=$(date +%s%N)
  kill -INT -- "-$pid" 2>/dev/null     # the whole process group, as a terminal ^C does
  wait -n -p first "$pid" "$wd"; rc=$?
  t1=$(date +%s%N)
  if [ "$first" = "$wd" ]; then hung=1; kill -KILL -- "-$pid" 2>/dev/null; wait "$pid"; rc=$?
  else kill "$wd" 2>/dev/null; wait "$wd" 2>/dev/null; fi
  sleep 0.05
  left=$(pgrep -fc "^$SLEEP\$" || true)
  for p in $(pgrep -f "^$SLEEP\$"); do kill -KILL "$p" 2>/dev/null; done   # our uniquely-numbered sleeps
  if [ $hung = 1 ]; then echo "-1 $left $rc"; else echo "$(( (t1 - t0) / 1000000 )) $left $rc"; fi
}

peer() {  # peer NAME CMD
  local name=$1 cmd=$2 tag=$3 i out ms=() lefts=0 rcs="" hung=0
  for ((i = 0; i < RUNS; i++)); do
    out=$(one_run "$cmd"); set -- $out
    if [ "$1" = -1 ]; then hung=$((hung + 1)); else ms+=("$1"); fi; lefts=$((lefts + $2)); rcs="$rcs $3"
  done
  local med; med=$(printf '%s\n' "${ms[@]}" | sort -n | awk '{a[NR]=$1} END{print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}')
  local rcset; rcset=$(echo $rcs | tr ' ' '\n' | sort -u | tr '\n' ',' | sed 's/,$//')
  printf '%-30s %10s %14s %12s\n' "$name" "${med:-hung}" "$lefts" "$rcset"
  [ $hung -gt 0 ] && echo "   $name: $hung of $RUNS runs had not exited 3 s after SIGINT (killed); stderr: $(head -c 300 "$TMPD/int_err" | tr '\n' ' ')"
  echo "$med" > "$TMPD/med_$tag"
}
printf '%-30s %10s %14s %12s\n' peer median_ms leftovers_tot exit_codes
peer "flow pool 2 exec" "$FLOW -c 'from 1..=2 | pool 2 exec $SLEEP'" flow
if command -v parallel >/dev/null 2>&1; then
  peer "GNU parallel -j2" "parallel -j2 sleep ::: $MARK $MARK" par
else echo "GNU parallel: skipped (not installed)"; fi
peer "python Pool(2)+subprocess" "$PY $TMPD/int.py" py
f=$(cat "$TMPD/med_flow"); p=$(cat "$TMPD/med_par" 2>/dev/null || echo 0); y=$(cat "$TMPD/med_py")
echo "ratio flow/parallel: $(ratio "$f" "$p")   flow/python: $(ratio "$f" "$y")   (leftovers summed over $RUNS runs)"
