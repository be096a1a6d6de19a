#!/usr/bin/env bash
# Worker pools: job spawn, fan-out latency, in-process map (native and Rhai body), peak RSS. flow vs xargs / GNU parallel / Python.
# Usage: FLOW=path/to/flow benches/pools.sh      (RUNS=3 to change)
# The workloads (commands and sizes) are defined once in workloads.sh: spawn, fanout, map_native,
# map_rhai, pool_rss.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workloads.sh"
RUNS=${RUNS:-3}
echo "flow: $FLOW; $(nproc) cores; hyperfine: $HAVE_HF; runs: $RUNS"
HAVE_PAR=0; command -v parallel >/dev/null 2>&1 && parallel --version 2>/dev/null | grep -q GNU && HAVE_PAR=1

# --- (a) job spawn: 2000 x true, 2-way
wl spawn; hdr "(a) job spawn: $WL_TITLE, 2-way"
fa=$(med "$RUNS" "${WL_CMDS[0]}") || fail_note "pool exec"
xa=$(med "$RUNS" "$(wl_cmd "xargs -P2")")
if [ $HAVE_PAR = 1 ]; then pa=$(med "$RUNS" "$(wl_cmd "GNU parallel -j2")"); else pa="skipped(no GNU parallel)"; fi
ya=$(med "$RUNS" "$(wl_cmd "python ThreadPoolExecutor(2)")")
row "spawn $WL_SPAWN_N" "flow pool 2 exec" "$fa" "1.00"
row "spawn $WL_SPAWN_N" "xargs -P2 -n1" "$xa" "$(ratio "$fa" "$xa")"
row "spawn $WL_SPAWN_N" "GNU parallel -j2" "$pa" "$(ratio "$fa" "$pa")"
row "spawn $WL_SPAWN_N" "python ThreadPoolExecutor(2)+run" "$ya" "$(ratio "$fa" "$ya")"
awk -v n="$WL_SPAWN_N" -v f="$fa" -v x="$xa" -v p="$pa" -v y="$ya" 'function r(t){return t+0>0?sprintf("%.0f",n/t):"-"} BEGIN{ printf "   jobs/s: flow %s, xargs %s, parallel %s, python %s\n", r(f), r(x), r(p), r(y) }'

# --- (b) fan-out latency: 200 x sleep 0.01, 8-way (ideal 0.25 s)
wl fanout; ideal=$(wl_cmd ideal); ideal=${ideal#=}
hdr "(b) $WL_TITLE (ideal $ideal s)"
fb=$(med 5 "${WL_CMDS[0]}") || fail_note "fan-out"
xb=$(med 5 "$(wl_cmd "xargs -P8")")
row "fan-out ${WL_FANOUT_N}x10ms" "flow pool 8 exec" "$fb" "1.00"
row "fan-out ${WL_FANOUT_N}x10ms" "xargs -P8" "$xb" "$(ratio "$fb" "$xb")"
row "fan-out ${WL_FANOUT_N}x10ms" "ideal" "$ideal" "$(ratio "$fb" "$ideal")"

# --- (c) in-process map, 1,000,000 items (trivial body: flow runs it natively, no Rhai)
wl map_native; hdr "(c) $WL_TITLE"
fc2=$(med "$RUNS" "${WL_CMDS[0]}") || fail_note "pool 2 map"
fc1=$(med "$RUNS" "$(wl_cmd "flow map (1 worker)")") || fail_note "map"
pc=$(med "$RUNS" "$(wl_cmd "python Pool(2)")")
tc=$(med "$RUNS" "$(wl_cmd "python ThreadPool(2)")")
n=$(k "$WL_MAP_N")
row "map $n" "flow pool 2 map" "$fc2" "1.00"
row "map $n" "flow map (1 thread)" "$fc1" "$(ratio "$fc2" "$fc1")"
row "map $n" "python Pool(2).map chunksize=1000" "$pc" "$(ratio "$fc2" "$pc")"
row "map $n" "python ThreadPool(2).map chunksize=1000" "$tc" "$(ratio "$fc2" "$tc")"
awk -v n="$WL_MAP_N" -v a="$fc2" -v b="$fc1" -v p="$pc" -v t="$tc" 'function r(x){return x+0>0?sprintf("%.2f M",n/1e6/x):"-"} BEGIN{ printf "   items/s: flow pool2 %s, flow map %s, Pool(2) %s, ThreadPool(2) %s; pool speed-up over map: %s\n", r(a), r(b), r(p), r(t), (a+0>0&&b+0>0?sprintf("%.2fx",b/a):"-") }'

# --- (c2) in-process map with a non-trivial Rhai body (a `let`: no native fast path), 300,000 items
# The trivial `{ it * it + 1 }` above runs on flow's native fast path; this body goes through the
# Rhai engine (one private engine per `pool map` worker), so it measures the real parallel speed-up.
wl map_rhai; hdr "(c2) $WL_TITLE (no fast path)"
fd2=$(med "$RUNS" "${WL_CMDS[0]}") || fail_note "pool 2 map (rhai body)"
fd1=$(med "$RUNS" "$(wl_cmd "flow map (1 worker)")") || fail_note "map (rhai body)"
n=$(k "$WL_RHAI_N")
row "map-rhai $n" "flow pool 2 map" "$fd2" "1.00"
row "map-rhai $n" "flow map (1 thread)" "$fd1" "$(ratio "$fd2" "$fd1")"
awk -v n="$WL_RHAI_N" -v a="$fd2" -v b="$fd1" 'function r(x){return x+0>0?sprintf("%.2f M",n/1e6/x):"-"} BEGIN{ printf "   items/s: flow pool2 %s, flow map %s; pool speed-up over map: %s\n", r(a), r(b), (a+0>0&&b+0>0?sprintf("%.2fx",b/a):"-") }'

# --- (d) peak RSS of pool 2 map over 1e7 items (and of a Python ThreadPool streaming the same)
wl pool_rss
echo; echo "== (d) peak RSS (KiB), $WL_TITLE"
for i in "${!WL_LABELS[@]}"; do
  t0=$(date +%s%N)
  r=$(rss "${WL_CMDS[$i]}") || fail_note "${WL_LABELS[$i]}"
  t1=$(date +%s%N)
  printf '%-44s %12s   (wall %.2f s)\n' "${WL_LABELS[$i]}" "$r" "$(awk -v a=$t0 -v b=$t1 'BEGIN{print (b-a)/1e9}')"
done
