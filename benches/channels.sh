#!/usr/bin/env bash
# Channels and tasks: single producer -> single consumer throughput (flow vs a previous flow
# binary, FLOW_BEFORE, and Python queue.Queue + a thread), a 4-reader work queue, and many
# waiting tasks (flow vs Python threads).
# Usage: FLOW=path/to/flow [FLOW_BEFORE=path/to/old/flow] benches/channels.sh   (RUNS=3)
set -u
. "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-3}
echo "flow: $FLOW; $(nproc) cores; hyperfine: $HAVE_HF; runs: $RUNS"

# --- (a) SPSC: 1,000,000 items through channel(1000)
hdr "(a) one producer -> one consumer, 1,000,000 items, channel(1000)"
cat > "$TMPD/spsc.flow" <<'FLOW'
let ch = channel(1000)
let p = spawn { from 1..=1000000 | into ch }
from ch | count
FLOW
cat > "$TMPD/spsc.py" <<'PY'
import queue, threading
q = queue.Queue(1000)
def prod():
    for i in range(1, 1000001): q.put(i)
    q.put(None)
threading.Thread(target=prod).start()
n = 0
while q.get() is not None: n += 1
print(n)
PY
fa=$(med "$RUNS" "$FLOW $TMPD/spsc.flow") || fail_note "spsc"
ya=$(med "$RUNS" "$PY $TMPD/spsc.py")
row "spsc 1M" "flow" "$fa" "1.00"
if [ -n "${FLOW_BEFORE:-}" ]; then
  ba=$(med "$RUNS" "$FLOW_BEFORE $TMPD/spsc.flow")
  row "spsc 1M" "flow before (FLOW_BEFORE)" "$ba" "$(ratio "$fa" "$ba")"
fi
row "spsc 1M" "python Queue + thread" "$ya" "$(ratio "$fa" "$ya")"

# --- (b) work queue: 40 items x 50 ms over 4 readers (ideal 0.5 s)
hdr "(b) work queue: 40 x 50 ms, 4 readers (ideal 0.5 s)"
cat > "$TMPD/wq.flow" <<'FLOW'
let ch = channel(100)
let p = spawn { from 1..=40 | into ch }
let a = spawn from ch | map { sleep(0.05); it } | count
let b = spawn from ch | map { sleep(0.05); it } | count
let c = spawn from ch | map { sleep(0.05); it } | count
let d = spawn from ch | map { sleep(0.05); it } | count
let r = join a, b, c, d
FLOW
fb=$(med "$RUNS" "$FLOW $TMPD/wq.flow") || fail_note "work queue"
row "work queue" "flow" "$fb" "$(ratio "$fb" 0.5) x ideal"

# --- (c) 10,000 tasks that each wait 1 s
hdr "(c) 10,000 tasks each sleeping 1 s"
cat > "$TMPD/tasks.flow" <<'FLOW'
let hs = []
for i in 0..10000 {
  let h = spawn { sleep(1) }
  hs.push(h)
}
join hs
FLOW
cat > "$TMPD/tasks.py" <<'PY'
import threading, time
ts = [threading.Thread(target=time.sleep, args=(1,)) for _ in range(10000)]
for t in ts: t.start()
for t in ts: t.join()
PY
fc=$(med 1 "$FLOW $TMPD/tasks.flow") || fail_note "tasks"
yc=$(med 1 "$PY $TMPD/tasks.py")
row "10k tasks" "flow" "$fc" "$(ratio "$fc" 1.0) x wait"
row "10k tasks" "python threads" "$yc" "$(ratio "$fc" "$yc")"
