#!/usr/bin/env bash
# Channels and tasks: single producer -> single consumer throughput (flow vs a previous flow
# binary, FLOW_BEFORE, and Python queue.Queue + a thread), a 4-reader work queue, and many
# waiting tasks (flow vs Python threads).
# Usage: FLOW=path/to/flow [FLOW_BEFORE=path/to/old/flow] benches/channels.sh   (RUNS=3)
# The workloads (scripts and sizes) are defined once in workloads.sh: spsc, workqueue, tasks, tasks_many.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workloads.sh"
RUNS=${RUNS:-3}
echo "flow: $FLOW; $(nproc) cores; hyperfine: $HAVE_HF; runs: $RUNS"

# --- (a) SPSC: 1,000,000 items through channel(1000)
wl spsc; hdr "(a) $WL_TITLE"
n=$(k "$WL_SPSC_N")
fa=$(med "$RUNS" "${WL_CMDS[0]}") || fail_note "spsc"
ya=$(med "$RUNS" "$(wl_cmd "python Queue(1000) + thread")")
row "spsc $n" "flow" "$fa" "1.00"
if [ -n "${FLOW_BEFORE:-}" ]; then
  ba=$(med "$RUNS" "$FLOW_BEFORE $TMPD/spsc.flow")
  row "spsc $n" "flow before (FLOW_BEFORE)" "$ba" "$(ratio "$fa" "$ba")"
fi
row "spsc $n" "python Queue + thread" "$ya" "$(ratio "$fa" "$ya")"

# --- (b) work queue: 40 items x 50 ms over 4 readers (ideal 0.5 s)
wl workqueue; ideal=$(wl_cmd ideal); ideal=${ideal#=}
hdr "(b) $WL_TITLE (ideal $ideal s)"
fb=$(med "$RUNS" "${WL_CMDS[0]}") || fail_note "work queue"
row "work queue" "flow" "$fb" "$(ratio "$fb" "$ideal") x ideal"

# --- (c) 10,000 tasks that each wait 1 s
wl tasks; hdr "(c) $WL_TITLE"
n=$(k "$WL_TASKS_N")
fc=$(med 1 "${WL_CMDS[0]}") || fail_note "tasks"
yc=$(med 1 "$(wl_cmd "python threads")")
ac=$(med 1 "$(wl_cmd "python asyncio")")
row "$n tasks" "flow" "$fc" "$(ratio "$fc" 1.0) x wait"
row "$n tasks" "python asyncio" "$ac" "$(ratio "$fc" "$ac")"
row "$n tasks" "python threads" "$yc" "$(ratio "$fc" "$yc")"

# --- (d) 100,000 live tasks
wl tasks_many; hdr "(d) $WL_TITLE"
n=$(k "$WL_TASKS_MANY")
fc=$(med 1 "${WL_CMDS[0]}") || fail_note "tasks_many"
ac=$(med 1 "$(wl_cmd "python asyncio")")
row "$n tasks" "flow" "$fc" "$(ratio "$fc" "$ac") x asyncio"
