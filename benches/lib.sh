# Shared helpers for the flow benchmarks (sourced, not run).
# FLOW: the flow binary (default: ../target/release/flow relative to the script).
FLOW=${FLOW:-$(cd "$(dirname "$0")" && pwd)/../target/release/flow}
FLOW=$(readlink -f "$FLOW")
[ -x "$FLOW" ] || { echo "flow binary not found: $FLOW (set FLOW=...)" >&2; exit 1; }
export FLOW
TMPD=$(mktemp -d "${TMPDIR:-/tmp}/flowbench.XXXXXX")
trap 'rm -rf "$TMPD"' EXIT
T=${T:-120}   # timeout (s) put around every command we time
HAVE_HF=0; command -v hyperfine >/dev/null 2>&1 && HAVE_HF=1

# med RUNS CMD  -> prints the median wall time in seconds of `bash -c CMD`, or "FAIL".
# One validation run first (under timeout $T); its error text is kept in $TMPD/last_err.
med() {
  local runs=$1 cmd=$2
  if ! timeout "$T" bash -c "$cmd" >/dev/null 2>"$TMPD/last_err"; then
    echo FAIL; return 1
  fi
  if [ "$HAVE_HF" = 1 ]; then
    hyperfine -N --style none --runs "$runs" --export-json "$TMPD/hf.json" \
      "timeout $T bash -c $(printf %q "$cmd")" >/dev/null 2>"$TMPD/last_err" || { echo FAIL; return 1; }
    python3 -c 'import json,sys; print("%.6f" % json.load(open(sys.argv[1]))["results"][0]["median"])' "$TMPD/hf.json"
  else
    local i t0 t1 ts=()
    for ((i = 0; i < runs; i++)); do
      t0=$(date +%s%N); timeout "$T" bash -c "$cmd" >/dev/null 2>&1; t1=$(date +%s%N)
      ts+=($(( t1 - t0 )))
    done
    printf '%s\n' "${ts[@]}" | sort -n | awk '{a[NR]=$1} END{m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.6f\n", m/1e9}'
  fi
}

# medN RUNS CMD -> like med but runs CMD directly (no bash -c, no timeout) for start-up figures
medN() {
  local runs=$1 cmd=$2
  if ! timeout "$T" bash -c "$cmd" >/dev/null 2>"$TMPD/last_err"; then echo FAIL; return 1; fi
  if [ "$HAVE_HF" = 1 ]; then
    hyperfine -N --style none --warmup 5 --runs "$runs" --export-json "$TMPD/hf.json" "$cmd" >/dev/null 2>"$TMPD/last_err" || { echo FAIL; return 1; }
    python3 -c 'import json,sys; print("%.6f" % json.load(open(sys.argv[1]))["results"][0]["median"])' "$TMPD/hf.json"
  else
    med "$runs" "$cmd"
  fi
}

# ratio A B -> A/B with 2 decimals ("-" if either is not a number)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a+0>0 && b+0>0) printf "%.2f", a/b; else printf "-" }'; }

# peak RSS in KiB of `bash -c CMD` (the maximum over the whole process tree's largest member)
rss() {
  rm -f "$TMPD/rss"
  /usr/bin/time -o "$TMPD/rss" -f '%M' timeout "$T" bash -c "$1" >/dev/null 2>"$TMPD/last_err" \
    || { echo "FAIL($(tail -1 "$TMPD/rss" 2>/dev/null))"; return 1; }
  tail -1 "$TMPD/rss"
}

row() { printf '%-34s %-44s %12s %10s\n' "$@"; }
hdr() { echo; echo "== $1"; row workload peer "median_s" "flow/peer"; }
fail_note() { echo "   flow failed ($1): $(head -c 400 "$TMPD/last_err" | tr '\n' ' ')"; }

# The real python3 (a pyenv shim is a shell script that adds ~100 ms to every start).
PY=$(pyenv which python3 2>/dev/null || command -v python3)
