#!/usr/bin/env bash
# Ctrl-C: time from SIGINT (to the process group, like a terminal ^C) until the runner has exited,
# then count leftover `sleep MARK` processes. 2-way pool of `sleep MARK`, SIGINT after 1 s.
# flow vs GNU parallel vs Python Pool(2) and ThreadPool(2) (subprocess.run), runs alternating.
# Usage: FLOW=path/to/flow benches/interrupt.sh     (RUNS=20 to change; each run costs ~1.1 s)
#
# Each runner starts in its own session with SIGINT at its default disposition (measure.py's int
# mode). That matters: a background job of a non-interactive shell (`cmd &`) starts with SIGINT
# ignored, an ignored signal stays ignored across exec, and Python then installs no
# KeyboardInterrupt handler at all, so an earlier version of this script saw Python "hang" on
# every run. The workload is defined in workloads.sh (id `interrupt`).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workloads.sh"
RUNS=${RUNS:-20}
wl interrupt
echo "flow: $FLOW; runs per peer: $RUNS (alternating); children: 'sleep $WL_MARK'"
args=(--id interrupt --title "$WL_TITLE" --mode int --runs "$RUNS" --marker "sleep $WL_MARK")
command -v parallel >/dev/null 2>&1 && parallel --version 2>/dev/null | grep -q GNU \
  || args+=(--skip "GNU parallel -j2=not installed")
pairs=()
for i in "${!WL_LABELS[@]}"; do pairs+=("${WL_LABELS[$i]}" "${WL_CMDS[$i]}"); done
"$PY" "$(dirname "$0")/measure.py" "${args[@]}" -- "${pairs[@]}"
echo "(median ms from SIGINT to exit; 'hung' = not exited 3 s after SIGINT, then killed; leftovers summed over $RUNS runs)"
