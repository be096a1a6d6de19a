#!/usr/bin/env bash
# Byte pipelines, item pipelines, start-up and peak RSS: flow vs bash / Python / awk, same run.
# Usage: FLOW=path/to/flow benches/pipelines.sh     (RUNS=3 SRUNS=50 to change)
# The workloads (commands and sizes) are defined once in workloads.sh: bytes, items, startup.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workloads.sh"
RUNS=${RUNS:-3}; SRUNS=${SRUNS:-50}
echo "flow: $FLOW; $(nproc) cores; hyperfine: $HAVE_HF; runs: $RUNS (start-up: $SRUNS)"

# --- (a) byte pipeline, 2 GiB
wl bytes; hdr "(a) $WL_TITLE"
fa=$(med "$RUNS" "${WL_CMDS[0]}") || fail_note "byte pipeline"
ba=$(med "$RUNS" "$(wl_cmd bash)")
row "bytes $WL_BYTES" "flow -c" "$fa" "1.00"
row "bytes $WL_BYTES" "bash -c" "$ba" "$(ratio "$fa" "$ba")"
mb=$(numfmt --from=iec "$WL_BYTES" | awk '{ print $1 / 1e6 }')
awk -v m="$mb" -v f="$fa" -v b="$ba" 'BEGIN{ if (f+0>0) printf "   flow %.0f MB/s, ", m/f; if (b+0>0) printf "bash %.0f MB/s\n", m/b }'

# --- (b) item pipeline, 5M items
wl items; hdr "(b) $WL_TITLE"
fb=$(med "$RUNS" "${WL_CMDS[0]}") || fail_note "item pipeline"
pb=$(med "$RUNS" "$(wl_cmd "python generator")")
ab=$(med "$RUNS" "$(wl_cmd "seq | awk")")
n=$(k "$WL_ITEMS_N")
row "items $n" "flow map|filter|count" "$fb" "1.00"
row "items $n" "python3 generator" "$pb" "$(ratio "$fb" "$pb")"
row "items $n" "seq | awk" "$ab" "$(ratio "$fb" "$ab")"
awk -v f="$fb" -v p="$pb" -v a="$ab" -v n="$WL_ITEMS_N" 'BEGIN{ printf "   items/s: flow %.2f M, python %.2f M, awk %.2f M\n", (f>0?n/f/1e6:0), (p>0?n/p/1e6:0), (a>0?n/a/1e6:0) }'
# correctness: all three must agree
echo "   results: flow=$(timeout "$T" bash -c "${WL_CMDS[0]}" 2>&1 | tail -1) python=$(bash -c "$(wl_cmd "python generator")") awk=$(bash -c "$(wl_cmd "seq | awk")")"

# --- (c) start-up (no shell, no timeout wrapper: hyperfine -N; each checked once under timeout first)
wl startup; hdr "(c) start-up (hyperfine -N, $SRUNS runs)"
fc=$(medN "$SRUNS" "${WL_CMDS[0]}") || fail_note "start-up"
pc=$(medN "$SRUNS" "$(wl_cmd python)")
bc=$(medN "$SRUNS" "$(wl_cmd bash)")
row "start-up" "flow -c 'print(1)'" "$fc" "1.00"
row "start-up" "python3 -c 'print(1)'" "$pc" "$(ratio "$fc" "$pc")"
row "start-up" "bash -c 'echo 1'" "$bc" "$(ratio "$fc" "$bc")"

# --- (d) peak RSS
echo; echo "== (d) peak RSS (KiB, /usr/bin/time -f %M; largest process of the tree)"
printf '%-44s %12s\n' "what" "maxRSS_KiB"
wl items
printf '%-44s %12s\n' "flow item pipeline $n" "$(rss "${WL_CMDS[0]}")"
printf '%-44s %12s\n' "python generator $n" "$(rss "$(wl_cmd "python generator")")"
WL_BYTES=10G wl bytes
t0=$(date +%s%N)
printf '%-44s %12s\n' "flow byte pipeline 10GiB" "$(rss "${WL_CMDS[0]}")"
t1=$(date +%s%N)
printf '%-44s %12s\n' "bash byte pipeline 10GiB" "$(rss "$(wl_cmd bash)")"
t2=$(date +%s%N)
awk -v a=$t0 -v b=$t1 -v c=$t2 'BEGIN{ printf "   10GiB wall: flow %.2f s, bash %.2f s (ratio %.2f)\n", (b-a)/1e9, (c-b)/1e9, (b-a)/(c-b) }'
wl startup
printf '%-44s %12s\n' "flow -c 'print(1)' (baseline)" "$(rss "${WL_CMDS[0]}")"
