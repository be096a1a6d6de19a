#!/usr/bin/env bash
# Worker pools: job spawn, fan-out latency, in-process map (native and Rhai body), peak RSS. flow vs xargs / GNU parallel / Python.
# Usage: FLOW=path/to/flow benches/pools.sh      (RUNS=3 to change)
set -u
. "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-3}
echo "flow: $FLOW; $(nproc) cores; hyperfine: $HAVE_HF; runs: $RUNS"
HAVE_PAR=0; command -v parallel >/dev/null 2>&1 && parallel --version 2>/dev/null | grep -q GNU && HAVE_PAR=1

# --- (a) job spawn: 2000 x true, 2-way
hdr "(a) job spawn: 2000 x true, 2-way"
cat > "$TMPD/spawn.py" <<'PY'
import subprocess
from concurrent.futures import ThreadPoolExecutor
with ThreadPoolExecutor(2) as ex:
    list(ex.map(lambda _: subprocess.run(["true"]), range(2000)))
PY
fa=$(med "$RUNS" "$FLOW -c 'from 1..=2000 | pool 2 exec true \${it}'") || fail_note "pool exec"
xa=$(med "$RUNS" "seq 2000 | xargs -P2 -n1 true")
if [ $HAVE_PAR = 1 ]; then pa=$(med "$RUNS" "seq 2000 | parallel -j2 true"); else pa="skipped(no GNU parallel)"; fi
ya=$(med "$RUNS" "$PY $TMPD/spawn.py")
row "spawn 2000" "flow pool 2 exec" "$fa" "1.00"
row "spawn 2000" "xargs -P2 -n1" "$xa" "$(ratio "$fa" "$xa")"
row "spawn 2000" "GNU parallel -j2" "$pa" "$(ratio "$fa" "$pa")"
row "spawn 2000" "python ThreadPoolExecutor(2)+run" "$ya" "$(ratio "$fa" "$ya")"
awk -v f="$fa" -v x="$xa" -v p="$pa" -v y="$ya" 'function r(t){return t+0>0?sprintf("%.0f",2000/t):"-"} BEGIN{ printf "   jobs/s: flow %s, xargs %s, parallel %s, python %s\n", r(f), r(x), r(p), r(y) }'

# --- (b) fan-out latency: 200 x sleep 0.01, 8-way (ideal 0.25 s)
hdr "(b) fan-out: 200 x sleep 0.01, 8-way (ideal 0.25 s)"
fb=$(med 5 "$FLOW -c 'from 1..=200 | pool 8 exec sleep 0.01'") || fail_note "fan-out"
xb=$(med 5 "seq 200 | xargs -P8 -I{} sleep 0.01")
row "fan-out 200x10ms" "flow pool 8 exec" "$fb" "1.00"
row "fan-out 200x10ms" "xargs -P8" "$xb" "$(ratio "$fb" "$xb")"
row "fan-out 200x10ms" "ideal" "0.250000" "$(ratio "$fb" 0.25)"

# --- (c) in-process map, 1,000,000 items (trivial body: flow runs it natively, no Rhai)
hdr "(c) map x*x+1 over 1e6 items"
cat > "$TMPD/mp.py" <<'PY'
import sys
from multiprocessing import Pool
from multiprocessing.pool import ThreadPool
def f(x): return x * x + 1
if __name__ == "__main__":
    P = Pool if sys.argv[1] == "proc" else ThreadPool
    with P(2) as p:
        print(len(p.map(f, range(1000000), chunksize=1000)))
PY
fc2=$(med "$RUNS" "$FLOW -c 'from 1..=1000000 | pool 2 map { it * it + 1 } | count'") || fail_note "pool 2 map"
fc1=$(med "$RUNS" "$FLOW -c 'from 1..=1000000 | map { it * it + 1 } | count'") || fail_note "map"
pc=$(med "$RUNS" "$PY $TMPD/mp.py proc")
tc=$(med "$RUNS" "$PY $TMPD/mp.py thread")
row "map 1e6" "flow pool 2 map" "$fc2" "1.00"
row "map 1e6" "flow map (1 thread)" "$fc1" "$(ratio "$fc2" "$fc1")"
row "map 1e6" "python Pool(2).map chunksize=1000" "$pc" "$(ratio "$fc2" "$pc")"
row "map 1e6" "python ThreadPool(2).map chunksize=1000" "$tc" "$(ratio "$fc2" "$tc")"
awk -v a="$fc2" -v b="$fc1" -v p="$pc" -v t="$tc" 'function r(x){return x+0>0?sprintf("%.2f M",1/x):"-"} BEGIN{ printf "   items/s: flow pool2 %s, flow map %s, Pool(2) %s, ThreadPool(2) %s; pool speed-up over map: %s\n", r(a), r(b), r(p), r(t), (a+0>0&&b+0>0?sprintf("%.2fx",b/a):"-") }'

# --- (c2) in-process map with a non-trivial Rhai body (a `let`: no native fast path), 300,000 items
# The trivial `{ it * it + 1 }` above runs on flow's native fast path; this body goes through the
# Rhai engine (one private engine per `pool map` worker), so it measures the real parallel speed-up.
hdr "(c2) map { let x = it * it; x + 1 } over 3e5 items (Rhai body, no fast path)"
fd2=$(med "$RUNS" "$FLOW -c 'from 1..=300000 | pool 2 map { let x = it * it; x + 1 } | count'") || fail_note "pool 2 map (rhai body)"
fd1=$(med "$RUNS" "$FLOW -c 'from 1..=300000 | map { let x = it * it; x + 1 } | count'") || fail_note "map (rhai body)"
row "map-rhai 3e5" "flow pool 2 map" "$fd2" "1.00"
row "map-rhai 3e5" "flow map (1 thread)" "$fd1" "$(ratio "$fd2" "$fd1")"
awk -v a="$fd2" -v b="$fd1" 'function r(x){return x+0>0?sprintf("%.2f M",0.3/x):"-"} BEGIN{ printf "   items/s: flow pool2 %s, flow map %s; pool speed-up over map: %s\n", r(a), r(b), (a+0>0&&b+0>0?sprintf("%.2fx",b/a):"-") }'

# --- (d) peak RSS of pool 2 map over 1e7 items
echo; echo "== (d) peak RSS (KiB), from 1..=10000000 | pool 2 map { it + 1 } | count"
t0=$(date +%s%N)
r=$(rss "$FLOW -c 'from 1..=10000000 | pool 2 map { it + 1 } | count'") || fail_note "pool map 1e7"
t1=$(date +%s%N)
printf '%-44s %12s   (wall %.2f s)\n' "flow pool 2 map 1e7" "$r" "$(awk -v a=$t0 -v b=$t1 'BEGIN{print (b-a)/1e9}')"
