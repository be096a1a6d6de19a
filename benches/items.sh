#!/usr/bin/env bash
# Per-item work on a synthetic Apache access log: flow vs mawk and Python, same run, interleaved.
# Usage: FLOW=path/to/flow benches/items.sh   (RUNS=5 ONLY=filter,hist,... to change)
# Workloads: filter, hist, count_by, iphist, count, upper, pool, check. A missing peer is skipped.
set -u
. "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-5}; ONLY=${ONLY:-filter,hist,count_by,iphist,count,upper,pool,check}
HAVE_MAWK=0; command -v mawk >/dev/null 2>&1 && HAVE_MAWK=1
want() { case ",$ONLY," in *",$1,"*) return 0 ;; esac; return 1; }
echo "flow: $FLOW; $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg); runs: $RUNS (interleaved, median)"
[ "$HAVE_MAWK" = 1 ] || echo "mawk missing: its columns are '-' (apt-get install -y mawk)"

# log N FILE: a deterministic access log (IP - - [date] "GET /path HTTP/1.1" status size).
log() {
  awk -v n="$1" 'BEGIN{ srand(42); split("200 200 200 200 200 200 304 301 404 500 502 503", st, " ")
    for (i = 0; i < n; i++) printf "10.%d.%d.%d - - [10/Oct/2024:13:%02d:%02d +0000] \"GET /p/%d HTTP/1.1\" %s %d\n",
      int(rand()*256), int(rand()*256), int(rand()*256), int(rand()*60), int(rand()*60),
      int(rand()*1000), st[1 + int(rand()*12)], int(rand()*50000) }' > "$2"
}
log 200000 "$TMPD/200k.log"; log 1000000 "$TMPD/1m.log"; log 20000 "$TMPD/20k.log"

# time1 CMD -> seconds of one run (stdout discarded), or FAIL
time1() {
  local t0 t1
  t0=$(date +%s%N)
  timeout "$T" bash -c "$1" >/dev/null 2>"$TMPD/last_err" || { echo FAIL; return; }
  t1=$(date +%s%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN{ printf "%.4f", (b-a)/1e9 }'
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END{ if (NR==0 || a[1]=="FAIL") print "FAIL"; else print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2 }'; }

# bench NAME FLOW_CMD MAWK_CMD PY_CMD: runs the three interleaved, prints one table row.
bench() {
  local name=$1 f=$2 m=$3 p=$4 r tf="" tm="" tp=""
  for ((r = 0; r < RUNS; r++)); do
    tf+=" $(time1 "$f")"
    [ "$HAVE_MAWK" = 1 ] && [ -n "$m" ] && tm+=" $(time1 "$m")"
    [ -n "$p" ] && tp+=" $(time1 "$p")"
  done
  tf=$(echo "$tf" | median); tm=$(echo "$tm" | median); tp=$(echo "$tp" | median)
  [ "$tf" = FAIL ] && fail_note "$name"
  printf '%-28s %9s %9s %9s %10s %10s\n' "$name" "$tf" "${tm:--}" "${tp:--}" "$(ratio "$tf" "$tm")" "$(ratio "$tf" "$tp")"
}
printf '\n%-28s %9s %9s %9s %10s %10s\n' workload flow_s mawk_s python_s flow/mawk flow/python

for n in 200k 1m; do
  L="$TMPD/$n.log"
  want filter && bench "filter status>=500 $n" \
    "$FLOW -c 'from lines(\"$L\") | filter { it.split(\" \")[8].parse_int() >= 500 } | count'" \
    "mawk '\$9 >= 500 { c++ } END { print c+0 }' $L" \
    "$PY -c 'import sys; print(sum(1 for l in open(sys.argv[1]) if int(l.split(\" \")[8]) >= 500))' $L"
done
L="$TMPD/200k.log"
PYC='import sys, collections; print(collections.Counter(l.split(" ")[K] for l in open(sys.argv[1])))'
want hist && bench "status histogram reduce" \
  "$FLOW -c 'from lines(\"$L\") | reduce #{} { let s = it.split(\" \")[8]; acc[s] = (acc[s] ?? 0) + 1; acc }'" \
  "mawk '{ c[\$9]++ } END { for (k in c) print k, c[k] }' $L" \
  "$PY -c '${PYC/K/8}' $L"
want count_by && bench "status histogram count_by" \
  "$FLOW -c 'from lines(\"$L\") | count_by { it.field(9) }'" \
  "mawk '{ c[\$9]++ } END { for (k in c) print k, c[k] }' $L" \
  "$PY -c '${PYC/K/8}' $L"
L20="$TMPD/20k.log"
want iphist && bench "IP histogram reduce 20k" \
  "$FLOW -c 'from lines(\"$L20\") | reduce #{} { let s = it.split(\" \")[0]; acc[s] = (acc[s] ?? 0) + 1; acc }'" \
  "mawk '{ c[\$1]++ } END { for (k in c) print k, c[k] }' $L20" \
  "$PY -c '${PYC/K/0}' $L20"
want iphist && bench "IP histogram reduce 200k" \
  "$FLOW -c 'from lines(\"$L\") | reduce #{} { let s = it.split(\" \")[0]; acc[s] = (acc[s] ?? 0) + 1; acc }'" \
  "mawk '{ c[\$1]++ } END { for (k in c) print k, c[k] }' $L" \
  "$PY -c '${PYC/K/0}' $L"
L="$TMPD/1m.log"
want count && bench "count lines 1m" \
  "$FLOW -c 'from lines(\"$L\") | count'" \
  "mawk 'END { print NR }' $L" \
  "$PY -c 'import sys; print(sum(1 for _ in open(sys.argv[1])))' $L"
L="$TMPD/200k.log"
want upper && bench "map to_upper 200k" \
  "$FLOW -c 'from lines(\"$L\") | map { it.to_upper() }'" \
  "mawk '{ print toupper(\$0) }' $L" \
  "$PY -c 'import sys; w = sys.stdout.write
for l in open(sys.argv[1]): w(l.upper())' $L"

if want pool; then
  # A CPU-heavy Rhai body (no fast path): the speed-up of two workers over one thread.
  BODY='{ let s = 0; for i in 0..200 { s += i * it % 7 } s }'
  tm=""; tp=""
  for ((r = 0; r < RUNS; r++)); do
    tm+=" $(time1 "$FLOW -c 'from 1..=20000 | map $BODY | count'")"
    tp+=" $(time1 "$FLOW -c 'from 1..=20000 | pool 2 map $BODY | count'")"
  done
  tm=$(echo "$tm" | median); tp=$(echo "$tp" | median)
  printf '\n%-28s map %ss, pool 2 map %ss: speed-up %s (aim >= 1.8 on an idle machine; load %s)\n' \
    "pool 2 map, Rhai body 20k" "$tm" "$tp" "$(ratio "$tm" "$tp")" "$(cut -d' ' -f1 /proc/loadavg)"
fi

if want check; then
  # flow check of the generated 10,000-line script of check_throughput.sh, minus an empty check.
  LINES=10000 RUNS=$((RUNS * 3)) bash "$(dirname "$0")/check_throughput.sh" 2>&1 | grep -E "^(script|ms per check|empty)" \
    | sed 's/^/check: /'
fi
