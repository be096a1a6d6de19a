#!/usr/bin/env bash
# Byte pipelines, item pipelines, start-up and peak RSS: flow vs bash / Python / awk, same run.
# Usage: FLOW=path/to/flow benches/pipelines.sh     (RUNS=3 SRUNS=50 to change)
set -u
. "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-3}; SRUNS=${SRUNS:-50}
N=5000000
echo "flow: $FLOW; $(nproc) cores; hyperfine: $HAVE_HF; runs: $RUNS (start-up: $SRUNS)"

# --- (a) byte pipeline, 2 GiB
hdr "(a) byte pipeline: head -c 2G /dev/zero | cat | wc -c"
BP='head -c 2G /dev/zero | cat | wc -c'
fa=$(med "$RUNS" "$FLOW -c '$BP'") || fail_note "byte pipeline"
ba=$(med "$RUNS" "bash -c '$BP'")
row "bytes 2GiB" "flow -c" "$fa" "1.00"
row "bytes 2GiB" "bash -c" "$ba" "$(ratio "$fa" "$ba")"
awk -v f="$fa" -v b="$ba" 'BEGIN{ if (f+0>0) printf "   flow %.0f MB/s, ", 2147.483648/f; if (b+0>0) printf "bash %.0f MB/s\n", 2147.483648/b }'

# --- (b) item pipeline, 5M items
hdr "(b) item pipeline: 1..=5e6 | map x*2 | filter %3==0 | count"
fb=$(med "$RUNS" "$FLOW -c 'from 1..=$N | map { it * 2 } | filter { it % 3 == 0 } | count'") || fail_note "item pipeline"
pb=$(med "$RUNS" "$PY -c 'print(sum(1 for x in (i*2 for i in range(1,$((N+1)))) if x % 3 == 0))'")
ab=$(med "$RUNS" "seq 1 $N | awk '{x=\$1*2; if (x%3==0) c++} END{print c}'")
row "items 5M" "flow map|filter|count" "$fb" "1.00"
row "items 5M" "python3 generator" "$pb" "$(ratio "$fb" "$pb")"
row "items 5M" "seq | awk" "$ab" "$(ratio "$fb" "$ab")"
awk -v f="$fb" -v p="$pb" -v a="$ab" -v n=$N 'BEGIN{ printf "   items/s: flow %.2f M, python %.2f M, awk %.2f M\n", (f>0?n/f/1e6:0), (p>0?n/p/1e6:0), (a>0?n/a/1e6:0) }'
# correctness: all three must agree
echo "   results: flow=$(timeout "$T" "$FLOW" -c "from 1..=$N | map { it * 2 } | filter { it % 3 == 0 } | count" 2>&1 | tail -1) python=$($PY -c "print(sum(1 for x in (i*2 for i in range(1,$((N+1)))) if x % 3 == 0))")"

# --- (c) start-up (no shell, no timeout wrapper: hyperfine -N; each checked once under timeout first)
hdr "(c) start-up (hyperfine -N, $SRUNS runs)"
fc=$(medN "$SRUNS" "$FLOW -c 'print(1)'") || fail_note "start-up"
pc=$(medN "$SRUNS" "$PY -c 'print(1)'")
bc=$(medN "$SRUNS" "bash -c 'echo 1'")
row "start-up" "flow -c 'print(1)'" "$fc" "1.00"
row "start-up" "python3 -c 'print(1)'" "$pc" "$(ratio "$fc" "$pc")"
row "start-up" "bash -c 'echo 1'" "$bc" "$(ratio "$fc" "$bc")"

# --- (d) peak RSS
echo; echo "== (d) peak RSS (KiB, /usr/bin/time -f %M; largest process of the tree)"
printf '%-44s %12s\n' "what" "maxRSS_KiB"
printf '%-44s %12s\n' "flow item pipeline 5M" "$(rss "$FLOW -c 'from 1..=$N | map { it * 2 } | filter { it % 3 == 0 } | count'")"
printf '%-44s %12s\n' "python generator 5M" "$(rss "$PY -c 'print(sum(1 for x in (i*2 for i in range(1,$((N+1)))) if x % 3 == 0))'")"
t0=$(date +%s%N)
printf '%-44s %12s\n' "flow byte pipeline 10GiB" "$(rss "$FLOW -c 'head -c 10G /dev/zero | cat | wc -c'")"
t1=$(date +%s%N)
printf '%-44s %12s\n' "bash byte pipeline 10GiB" "$(rss "bash -c 'head -c 10G /dev/zero | cat | wc -c'")"
t2=$(date +%s%N)
awk -v a=$t0 -v b=$t1 -v c=$t2 'BEGIN{ printf "   10GiB wall: flow %.2f s, bash %.2f s (ratio %.2f)\n", (b-a)/1e9, (c-b)/1e9, (b-a)/(c-b) }'
printf '%-44s %12s\n' "flow -c 'print(1)' (baseline)" "$(rss "$FLOW -c 'print(1)'")"
