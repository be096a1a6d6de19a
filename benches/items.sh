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

. "$(dirname "$0")/workloads.sh"

# time1 CMD -> seconds of one run (stdout discarded), or FAIL
time1() {
  local t0 t1
  t0=$(date +%s%N)
  timeout "$T" bash -c "$1" >/dev/null 2>"$TMPD/last_err" || { echo FAIL; return; }
  t1=$(date +%s%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN{ printf "%.4f", (b-a)/1e9 }'
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END{ if (NR==0 || a[1]=="FAIL") print "FAIL"; else print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2 }'; }

# bench ID [NAME]: runs flow, mawk and Python of workload ID (workloads.sh) interleaved, prints one row.
bench() {
  wl "$1" || return
  local name=${2:-$WL_TITLE} f m p r tf="" tm="" tp=""
  f=${WL_CMDS[0]}; m=$(wl_cmd mawk); p=$(wl_cmd python)
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

want filter && bench filter_small "filter status>=500 $(k "$WL_LOG_SMALL")"
want filter && bench filter_large "filter status>=500 $(k "$WL_LOG_LARGE")"
want hist && bench hist_reduce "status histogram reduce"
want count_by && bench hist_count_by "status histogram count_by"
want iphist && bench ip_tiny "IP histogram reduce $(k "$WL_LOG_TINY")"
want iphist && bench ip_small "IP histogram reduce $(k "$WL_LOG_SMALL")"
want count && bench count_lines "count lines $(k "$WL_LOG_LARGE")"
want upper && bench upper "map to_upper $(k "$WL_LOG_SMALL")"

if want pool; then
  # A CPU-heavy Rhai body (no fast path): the speed-up of two workers over one thread.
  wl pool_heavy
  tm=""; tp=""
  for ((r = 0; r < RUNS; r++)); do
    tm+=" $(time1 "$(wl_cmd "flow map (1 worker)")")"
    tp+=" $(time1 "${WL_CMDS[0]}")"
  done
  tm=$(echo "$tm" | median); tp=$(echo "$tp" | median)
  printf '\n%-28s map %ss, pool 2 map %ss: speed-up %s (aim >= 1.8 on an idle machine; load %s)\n' \
    "pool 2 map, Rhai body $(k "$WL_HEAVY_N")" "$tm" "$tp" "$(ratio "$tm" "$tp")" "$(cut -d' ' -f1 /proc/loadavg)"
fi

if want check; then
  # flow check of the generated 10,000-line script of check_throughput.sh, minus an empty check.
  LINES=10000 RUNS=$((RUNS * 3)) bash "$(dirname "$0")/check_throughput.sh" 2>&1 | grep -E "^(script|ms per check|empty)" \
    | sed 's/^/check: /'
fi
