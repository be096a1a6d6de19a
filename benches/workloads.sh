# The one definition of every benchmark workload: its inputs, the flow command and the peers'
# commands, and the target the issue names for it. Sourced after lib.sh (needs FLOW, PY, TMPD)
# by items.sh, pools.sh, pipelines.sh, interrupt.sh, channels.sh and compare.
#
#   wl ID   sets WL_TITLE, WL_SHORT (for the chart), WL_SCRIPT (the script the workload comes from), WL_MODE (sh: timed as
#           `bash -c CMD`; argv: exec'd directly, for start-up; int: the Ctrl-C procedure of
#           measure.py), WL_LABELS/WL_NEEDS/WL_CMDS (index 0 is flow; NEED is the program a peer
#           needs, empty for none; a CMD `=X` is a constant X seconds, e.g. an ideal time),
#           WL_TARGETS ("LABEL<=RATIO ; text", ratio = flow/peer time) and WL_NOTE.
#
# Sizes come from the WL_* variables below; compare sets smaller ones for QUICK=1.

WL_LOG_TINY=${WL_LOG_TINY:-20000}         # IP histogram, small
WL_LOG_SMALL=${WL_LOG_SMALL:-200000}      # filter, histograms, to_upper
WL_LOG_LARGE=${WL_LOG_LARGE:-1000000}     # filter, lines | count
WL_HEAVY_N=${WL_HEAVY_N:-20000}           # pool 2 map, CPU-heavy Rhai body
WL_SPAWN_N=${WL_SPAWN_N:-2000}            # pool 2 exec true
WL_FANOUT_N=${WL_FANOUT_N:-200}           # pool 8 exec sleep 0.01
WL_MAP_N=${WL_MAP_N:-1000000}             # pool 2 map, native body
WL_RHAI_N=${WL_RHAI_N:-300000}            # pool 2 map, `let` body
WL_RSS_N=${WL_RSS_N:-10000000}            # pool 2 map, peak RSS
WL_BYTES=${WL_BYTES:-2G}                  # byte pipeline (head -c)
WL_ITEMS_N=${WL_ITEMS_N:-10000000}        # map | filter | count
WL_SPSC_N=${WL_SPSC_N:-1000000}           # channel(1000), one producer, one consumer
WL_WQ_N=${WL_WQ_N:-40}                    # work queue items of 50 ms over 4 readers
WL_TASKS_N=${WL_TASKS_N:-10000}           # tasks that each sleep 1 s
WL_TASKS_MANY=${WL_TASKS_MANY:-100000}    # live tasks at once (the ceiling was 32k)
WL_CHECK_N=${WL_CHECK_N:-10000}           # lines of the script `flow check` parses
WL_SPELL_N=${WL_SPELL_N:-1000000}         # the log jobs, each in the spellings the docs suggest

# Every workload, in report order.
WL_ALL="filter_small filter_large hist_reduce hist_count_by ip_tiny ip_small count_lines upper
spell_5xx spell_status spell_ip spell_bytes
pool_heavy spawn spawn_noarg fanout map_native map_rhai pool_rss bytes items startup check interrupt spsc workqueue tasks tasks_many report_items report_jobs"

# `sleep MARK` children of the Ctrl-C workload: one number per run, so only our own are counted.
WL_MARK=${WL_MARK:-$((100 + RANDOM % 900))}

# k: 20000 -> 20k, 1000000 -> 1M (for titles)
k() { awk -v n="$1" 'BEGIN{ if (n % 1000000 == 0) printf "%dM", n/1e6; else if (n % 1000 == 0) printf "%dk", n/1e3; else printf "%d", n }'; }

# wl_log N: path of a deterministic access log of N lines, generated on first use.
# Line: IP - - [date] "GET /path HTTP/1.1" status size
wl_log() {
  local f="$TMPD/log_$1.log"
  [ -s "$f" ] || awk -v n="$1" 'BEGIN{ srand(42); split("200 200 200 200 200 200 304 301 404 500 502 503", st, " ")
    for (i = 0; i < n; i++) printf "10.%d.%d.%d - - [10/Oct/2024:13:%02d:%02d +0000] \"GET /p/%d HTTP/1.1\" %s %d\n",
      int(rand()*256), int(rand()*256), int(rand()*256), int(rand()*60), int(rand()*60),
      int(rand()*1000), st[1 + int(rand()*12)], int(rand()*50000) }' > "$f"
  echo "$f"
}

# The peers' helper programs (written once into $TMPD).
wl_files() {
  # spawn.py arg: every job runs `true N` (N the item, as xargs -n1 and GNU parallel give it);
  # spawn.py: `true` alone. The two differ in the child, not the runner: coreutils `true`
  # with an argument sets up the locale (to answer --help), a third of a ms per job here.
  cat > "$TMPD/spawn.py" <<PY
import subprocess, sys
from concurrent.futures import ThreadPoolExecutor
arg = sys.argv[1:] == ["arg"]
with ThreadPoolExecutor(2) as ex:
    list(ex.map(lambda i: subprocess.run(["true", str(i)] if arg else ["true"]), range(1, $WL_SPAWN_N + 1)))
PY
  cat > "$TMPD/mp.py" <<PY
import sys
from multiprocessing import Pool
from multiprocessing.pool import ThreadPool
def f(x): return x * x + 1
if __name__ == "__main__":
    P = Pool if sys.argv[1] == "proc" else ThreadPool
    with P(2) as p:
        print(len(p.map(f, range($WL_MAP_N), chunksize=1000)))
PY
  cat > "$TMPD/int.py" <<PY
import subprocess, sys
from multiprocessing import Pool
from multiprocessing.pool import ThreadPool
def job(_): subprocess.run(["sleep", "$WL_MARK"])
if __name__ == "__main__":
    P = Pool if sys.argv[1] == "proc" else ThreadPool
    with P(2) as p:
        p.map(job, range(2))
PY
  cat > "$TMPD/spsc.flow" <<FLOW
let ch = channel(1000)
let p = spawn { from 1..=$WL_SPSC_N | into ch }
from ch | count
FLOW
  cat > "$TMPD/spsc.py" <<PY
import queue, threading
q = queue.Queue(1000)
def prod():
    for i in range(1, $WL_SPSC_N + 1): q.put(i)
    q.put(None)
threading.Thread(target=prod).start()
n = 0
while q.get() is not None: n += 1
print(n)
PY
  local r='from ch | map { sleep(0.05); it } | count'
  cat > "$TMPD/wq.flow" <<FLOW
let ch = channel(100)
let p = spawn { from 1..=$WL_WQ_N | into ch }
let a = spawn $r
let b = spawn $r
let c = spawn $r
let d = spawn $r
let r = join a, b, c, d
FLOW
  cat > "$TMPD/tasks.flow" <<FLOW
let hs = []
for i in 0..$WL_TASKS_N {
  let h = spawn { sleep(1) }
  hs.push(h)
}
join hs
FLOW
  cat > "$TMPD/tasks_asyncio.py" <<PY
import asyncio
async def main():
    await asyncio.gather(*(asyncio.sleep(1) for _ in range($WL_TASKS_N)))
asyncio.run(main())
PY
  sed "s/$WL_TASKS_N/$WL_TASKS_MANY/" "$TMPD/tasks.flow" > "$TMPD/tasks_many.flow"
  sed "s/$WL_TASKS_N/$WL_TASKS_MANY/" "$TMPD/tasks_asyncio.py" > "$TMPD/tasks_many.py"
  cat > "$TMPD/tasks.py" <<PY
import threading, time
ts = [threading.Thread(target=time.sleep, args=(1,)) for _ in range($WL_TASKS_N)]
for t in ts: t.start()
for t in ts: t.join()
PY
}

# wl_check_script N: a realistic N-line script (12 statement kinds in rotation) for `flow check`;
# every program it uses exists on PATH (`flow check` looks).
wl_check_script() { awk -v n="$1" 'BEGIN{
  print "#!/usr/bin/env flow"; print "// generated benchmark script"; l = 2; i = 0
  while (l < n) {
    k = i % 12
    if (k == 0)       printf "let x%d = %d\n", i, i
    else if (k == 1)  printf "fn f%d(x) { x * 2 }\n", i
    else if (k == 2)  printf "let c%d = from 1..=10 | map { it * 2 } | filter { it > 3 } | count\n", i
    else if (k == 3)  printf "ls -l | grep foo | wc -l\n"
    else if (k == 4)  printf "from [\"a%d.csv\", \"b%d.csv\"] | pool 4 exec gzip -k ${it}\n", i, i
    else if (k == 5)  printf "let s%d = from 1..=100 | map { f%d(it) } | sum\n", i, i-4
    else if (k == 6)  printf "// comment line %d: nothing to see here\n", i
    else if (k == 7)  printf "let name%d = \"file-${x%d}.txt\"\n", i, i-7
    else if (k == 8)  printf "cat /etc/hostname | ^sort | ^uniq -c | head -n 3\n"
    else if (k == 9)  printf "let t%d = from 1..=1000 | filter { it %% 7 == 0 } | map { it + %d } | take 5 | collect\n", i, i
    else if (k == 10) printf "print(`${x%d} and ${c%d}`);\n", i-10, i-8
    else              printf "from 1..=3 | pool 2 map { it * it + 1 } | each { print(it) }\n"
    l++; i++
  }
}'; }
wl_add() { WL_LABELS+=("$1"); WL_NEEDS+=("$2"); WL_CMDS+=("$3"); }

# wl_spell LABEL SCRIPT: a flow spelling of the current job, as a peer named "flow: LABEL";
# SCRIPT reads the log as LOG (written to a file: spellings with `fn`s take several lines).
wl_spell() {
  local f="$TMPD/spell_${WL_ID}_${#WL_LABELS[@]}.flow"
  printf '%s\n' "${2//LOG/$L}" > "$f"
  if [ ${#WL_LABELS[@]} = 0 ]; then wl_add flow "" "$FLOW $f"; else wl_add "flow: $1" "" "$FLOW $f"; fi
}
# wl_cmd LABEL: the command of the peer LABEL of the current workload (empty if none)
wl_cmd() { local i; for i in "${!WL_LABELS[@]}"; do [ "${WL_LABELS[$i]}" = "$1" ] && { echo "${WL_CMDS[$i]}"; return; }; done; }

# the awk and Python peers of the access-log workloads: wl_awk_py AWK_PROGRAM PYTHON_PROGRAM LOG
wl_awk_py() {
  wl_add mawk mawk "mawk '$1' $3"
  wl_add gawk gawk "gawk '$1' $3"
  wl_add python "" "$PY -c '$2' $3"
}

wl() {
  WL_ID=$1; WL_TITLE=""; WL_SHORT=""; WL_SCRIPT=""; WL_MODE=sh; WL_NOTE=""
  WL_LABELS=(); WL_NEEDS=(); WL_CMDS=(); WL_TARGETS=()
  local L n
  local pyc='import sys, collections; print(collections.Counter(l.split(" ")[K] for l in open(sys.argv[1])))'
  local hist='from lines("L") | reduce #{} { let s = it.split(" ")[K]; acc[s] = (acc[s] ?? 0) + 1; acc }'
  case $1 in
  filter_small | filter_large)
    n=$WL_LOG_SMALL; [ "$1" = filter_large ] && n=$WL_LOG_LARGE
    L=$(wl_log "$n"); WL_SCRIPT=items.sh; WL_TITLE="log filter status >= 500, $(k "$n") lines"; WL_SHORT="filter $(k "$n")"
    wl_add flow "" "$FLOW -c 'from lines(\"$L\") | filter { it.split(\" \")[8].parse_int() >= 500 } | count'"
    wl_awk_py '$9 >= 500 { c++ } END { print c+0 }' \
      'import sys; print(sum(1 for l in open(sys.argv[1]) if int(l.split(" ")[8]) >= 500))' "$L"
    WL_TARGETS=("mawk<=1.5 ; <= 1.5x mawk" "python<=0.5 ; <= 0.5x Python") ;;
  hist_reduce | hist_count_by)
    L=$(wl_log "$WL_LOG_SMALL"); WL_SCRIPT=items.sh
    if [ "$1" = hist_reduce ]; then
      WL_TITLE="status histogram, reduce #{}, $(k "$WL_LOG_SMALL") lines"; WL_SHORT="status hist, reduce"
      hist=${hist//K/8}; wl_add flow "" "$FLOW -c '${hist/L/$L}'"
    else
      WL_TITLE="status histogram, count_by, $(k "$WL_LOG_SMALL") lines"; WL_SHORT="status hist, count_by"
      wl_add flow "" "$FLOW -c 'from lines(\"$L\") | count_by { it.field(9) }'"
    fi
    wl_awk_py '{ c[$9]++ } END { for (k in c) print k, c[k] }' "${pyc/K/8}" "$L"
    WL_TARGETS=("python<=1.0 ; <= 1.0x Python Counter") ;;
  ip_tiny | ip_small)
    n=$WL_LOG_TINY; [ "$1" = ip_small ] && n=$WL_LOG_SMALL
    L=$(wl_log "$n"); WL_SCRIPT=items.sh; WL_TITLE="IP histogram (distinct keys), reduce #{}, $(k "$n") lines"; WL_SHORT="IP hist $(k "$n")"
    hist=${hist//K/0}; wl_add flow "" "$FLOW -c '${hist/L/$L}'"
    wl_awk_py '{ c[$1]++ } END { for (k in c) print k, c[k] }' "${pyc/K/0}" "$L"
    WL_TARGETS=("python<=1.0 ; <= 1.0x Python Counter") ;;
  count_lines)
    L=$(wl_log "$WL_LOG_LARGE"); WL_SCRIPT=items.sh; WL_TITLE="from lines(f) | count, $(k "$WL_LOG_LARGE") lines"; WL_SHORT="lines | count $(k "$WL_LOG_LARGE")"
    wl_add flow "" "$FLOW -c 'from lines(\"$L\") | count'"
    wl_awk_py 'END { print NR }' 'import sys; print(sum(1 for _ in open(sys.argv[1])))' "$L"
    WL_TARGETS=("mawk<=2.0 ; <= 2x mawk") ;;
  upper)
    L=$(wl_log "$WL_LOG_SMALL"); WL_SCRIPT=items.sh; WL_TITLE="map { it.to_upper() }, $(k "$WL_LOG_SMALL") lines"; WL_SHORT="to_upper $(k "$WL_LOG_SMALL")"
    wl_add flow "" "$FLOW -c 'from lines(\"$L\") | map { it.to_upper() }'"
    wl_awk_py '{ print toupper($0) }' 'import sys; w = sys.stdout.write
for l in open(sys.argv[1]): w(l.upper())' "$L"
    WL_TARGETS=("mawk<=1.0 ; <= 1x mawk") ;;
  pool_heavy)
    local body='{ let s = 0; for i in 0..200 { s += i * it % 7 } s }'
    WL_SCRIPT=items.sh; WL_TITLE="pool 2 map, CPU-heavy Rhai body, $(k "$WL_HEAVY_N") items"; WL_SHORT="pool 2 map, heavy body"
    wl_add flow "" "$FLOW -c 'from 1..=$WL_HEAVY_N | pool 2 map $body | count'"
    wl_add "flow map (1 worker)" "" "$FLOW -c 'from 1..=$WL_HEAVY_N | map $body | count'"
    WL_TARGETS=("flow map (1 worker)<=0.556 ; speed-up >= 1.8x (ratio <= 0.556)")
    WL_NOTE="The speed-up needs a free second core: on a shared machine it measures the load as much as flow." ;;
  spawn | spawn_noarg)
    # spawn: every job runs `true N`; spawn_noarg: `true` alone (the same in every runner).
    local fa='true ${it}' x='-n1' p='' y=' arg' what='true N' why='Every runner runs the same command line per item, `true N`.'
    # (A job that ignores the item is written as a job block in flow, as -N0 / -I{} in the peers.)
    [ "$1" = spawn_noarg ] && { fa='{ true }' x='-I{}' p=' -N0' y='' what='true, no argument'
      why="Every runner runs \`true\` with no argument per item: the cheapest child, so the runner's own cost shows most. (coreutils \`true\` given an argument first sets up the locale, to answer --help: a third of a ms per job on this machine, which the previous workload pays in every runner.)"; }
    WL_SCRIPT=pools.sh; WL_TITLE="pool 2 exec true x $WL_SPAWN_N (every job: $what)"; WL_SHORT="pool 2 exec $what"
    wl_add flow "" "$FLOW -c 'from 1..=$WL_SPAWN_N | pool 2 exec $fa'"
    wl_add "xargs -P2" "" "seq $WL_SPAWN_N | xargs -P2 $x true"
    wl_add "GNU parallel -j2" parallel "seq $WL_SPAWN_N | parallel -j2$p true"
    wl_add "python ThreadPoolExecutor(2)" "" "$PY $TMPD/spawn.py$y"
    WL_TARGETS=("python ThreadPoolExecutor(2)<=1.0 ; <= 1.0x Python ThreadPool" "xargs -P2<=0.8 ; <= 0.8x xargs -P2")
    WL_NOTE=$why ;;
  fanout)
    WL_SCRIPT=pools.sh; WL_TITLE="fan-out: pool 8 exec sleep 0.01 x $WL_FANOUT_N"; WL_SHORT="pool 8 exec sleep 0.01"
    wl_add flow "" "$FLOW -c 'from 1..=$WL_FANOUT_N | pool 8 exec { sleep 0.01 }'"
    wl_add "xargs -P8" "" "seq $WL_FANOUT_N | xargs -P8 -I{} sleep 0.01"
    wl_add ideal "" "=$(awk -v n="$WL_FANOUT_N" 'BEGIN{ printf "%.3f", n / 8 * 0.01 }')" ;;
  map_native)
    WL_SCRIPT=pools.sh; WL_TITLE="pool 2 map { it * it + 1 } (native fast path), $(k "$WL_MAP_N") items"; WL_SHORT="pool 2 map, native body"
    wl_add flow "" "$FLOW -c 'from 1..=$WL_MAP_N | pool 2 map { it * it + 1 } | count'"
    wl_add "flow map (1 worker)" "" "$FLOW -c 'from 1..=$WL_MAP_N | map { it * it + 1 } | count'"
    wl_add "python Pool(2)" "" "$PY $TMPD/mp.py proc"
    wl_add "python ThreadPool(2)" "" "$PY $TMPD/mp.py thread"
    WL_TARGETS=("flow map (1 worker)<=1.0 ; never slower than map") ;;
  map_rhai)
    WL_SCRIPT=pools.sh; WL_TITLE="pool 2 map { a 20-step loop } (Rhai body), $(k "$WL_RHAI_N") items"; WL_SHORT="pool 2 map, Rhai loop body"
    wl_add flow "" "$FLOW -c 'from 1..=$WL_RHAI_N | pool 2 map { let s = 0; for k in 0..20 { s += k * it } s } | count'"
    wl_add "flow map (1 worker)" "" "$FLOW -c 'from 1..=$WL_RHAI_N | map { let s = 0; for k in 0..20 { s += k * it } s } | count'"
    WL_TARGETS=("flow map (1 worker)<=0.556 ; speed-up >= 1.8x (ratio <= 0.556)") ;;
  pool_rss)
    WL_SCRIPT=pools.sh; WL_TITLE="peak RSS: pool 2 map { it + 1 }, $(k "$WL_RSS_N") items"; WL_SHORT="pool 2 map $(k "$WL_RSS_N")"
    wl_add flow "" "$FLOW -c 'from 1..=$WL_RSS_N | pool 2 map { it + 1 } | count'"
    wl_add "python ThreadPool(2) imap" "" "$PY -c 'from multiprocessing.pool import ThreadPool
with ThreadPool(2) as p: print(sum(1 for _ in p.imap(lambda x: x + 1, range(1, $WL_RSS_N + 1), chunksize=1000)))'"
    WL_NOTE="Streams the items: RSS must stay flat whatever the count." ;;
  bytes)
    local bp="head -c $WL_BYTES /dev/zero | cat | wc -c"
    WL_SCRIPT=pipelines.sh; WL_TITLE="byte pipeline $bp"; WL_SHORT="bytes $WL_BYTES"
    wl_add flow "" "$FLOW -c '$bp'"
    wl_add bash "" "bash -c '$bp'" ;;
  # The same four log jobs as written the other ways the docs suggest (a named `fn`, a
  # helper that takes the accumulator, `let f = it.split(...)`, `in`): every spelling must
  # stay within 1.5x of the job's best and linear in the input. The first is "flow".
  spell_5xx)
    L=$(wl_log "$WL_SPELL_N"); WL_SCRIPT=items.sh; WL_TITLE="spellings: count status >= 500, $(k "$WL_SPELL_N") lines"; WL_SHORT="5xx spellings"
    wl_spell "inline filter" 'from lines("LOG") | filter { it.split(" ")[8].parse_int() >= 500 } | count'
    wl_spell "fn is_error" 'fn is_error(line) { line.split(" ")[8].parse_int() >= 500 }
from lines("LOG") | filter is_error | count'
    wl_spell "let f = split" 'from lines("LOG") | filter { let f = it.split(" "); f[8].parse_int() >= 500 } | count'
    wl_spell "field(9)" 'from lines("LOG") | filter { it.field(9).parse_int() >= 500 } | count'
    wl_awk_py '$9 >= 500 { c++ } END { print c+0 }' \
      'import sys; print(sum(1 for l in open(sys.argv[1]) if int(l.split(" ")[8]) >= 500))' "$L"
    WL_TARGETS=("mawk<=1.5 ; <= 1.5x mawk" "python<=0.7 ; <= 0.7x Python") ;;
  spell_status | spell_ip)
    local K=8 F=9 what="status"; [ "$1" = spell_ip ] && { K=0; F=1; what="IP (distinct keys)"; }
    L=$(wl_log "$WL_SPELL_N"); WL_SCRIPT=items.sh; WL_TITLE="spellings: $what histogram, $(k "$WL_SPELL_N") lines"; WL_SHORT="$what hist spellings"
    wl_spell "count_by" "from lines(\"LOG\") | count_by { it.field($F) }"
    wl_spell "reduce ??" "from lines(\"LOG\") | reduce #{} { let s = it.split(\" \")[$K]; acc[s] = (acc[s] ?? 0) + 1; acc }"
    wl_spell "reduce #{} tally" "fn tally(acc, line) { let s = line.split(\" \")[$K]; acc[s] = (acc[s] ?? 0) + 1; acc }
from lines(\"LOG\") | reduce #{} tally"
    wl_spell "fn bump(m, k)" "fn bump(m, k) { m[k] = (m[k] ?? 0) + 1; m }
from lines(\"LOG\") | reduce #{} { bump(acc, it.field($F)) }"
    wl_spell "if k in m" "from lines(\"LOG\") | reduce #{} { let k = it.field($F); if k in acc { acc[k] += 1 } else { acc[k] = 1 } acc }"
    wl_awk_py "{ c[\$$F]++ } END { for (k in c) print k, c[k] }" "${pyc/K/$K}" "$L"
    WL_TARGETS=("mawk<=1.5 ; <= 1.5x mawk" "python<=0.7 ; <= 0.7x Python Counter") ;;
  spell_bytes)
    L=$(wl_log "$WL_SPELL_N"); WL_SCRIPT=items.sh; WL_TITLE="spellings: bytes per path (sum per key), $(k "$WL_SPELL_N") lines"; WL_SHORT="bytes/path spellings"
    wl_spell "if p in acc" 'from lines("LOG") | reduce #{} { let p = it.field(7); let n = it.field(10).parse_int(); if p in acc { acc[p] += n } else { acc[p] = n } acc }'
    wl_spell "reduce ??" 'from lines("LOG") | reduce #{} { let p = it.field(7); acc[p] = (acc[p] ?? 0) + it.field(10).parse_int(); acc }'
    wl_spell "reduce #{} add" 'fn add(acc, line) { let p = line.field(7); acc[p] = (acc[p] ?? 0) + line.field(10).parse_int(); acc }
from lines("LOG") | reduce #{} add'
    wl_awk_py '{ s[$7] += $10 } END { for (k in s) print k, s[k] }' \
      'import sys, collections
s = collections.Counter()
for l in open(sys.argv[1]):
    f = l.split(" "); s[f[6]] += int(f[9])
print(s)' "$L"
    WL_TARGETS=("mawk<=1.5 ; <= 1.5x mawk" "python<=0.7 ; <= 0.7x Python") ;;
  items)
    WL_SCRIPT=pipelines.sh; WL_TITLE="items: 1..=$(k "$WL_ITEMS_N") | map x*2 | filter %3==0 | count"; WL_SHORT="map | filter | count"
    wl_add flow "" "$FLOW -c 'from 1..=$WL_ITEMS_N | map { it * 2 } | filter { it % 3 == 0 } | count'"
    wl_add "python generator" "" "$PY -c 'print(sum(1 for x in (i*2 for i in range(1,$((WL_ITEMS_N + 1)))) if x % 3 == 0))'"
    wl_add "seq | awk" "" "seq 1 $WL_ITEMS_N | awk '{x=\$1*2; if (x%3==0) c++} END{print c}'"
    WL_TARGETS=("python generator<=0.5 ; <= 0.5x a Python generator") ;;
  report_items)
    # The cost of recording (--stats --trace): the same run with and without it.
    local n=$((WL_ITEMS_N / 10))
    WL_SCRIPT=pipelines.sh; WL_TITLE="recording cost: map | filter | count over $(k "$n") items, --stats --trace vs nothing"; WL_SHORT="recording, items"
    wl_add flow "" "$FLOW --stats --trace /dev/null -c 'from 1..=$n | map { it * 2 } | filter { it % 3 == 0 } | count'"
    wl_add "flow, not recorded" "" "$FLOW -c 'from 1..=$n | map { it * 2 } | filter { it % 3 == 0 } | count'"
    WL_TARGETS=("flow, not recorded<=1.05 ; recording costs <= 5%")
    WL_NOTE="Stages that share a thread are one stage to the recorder: two clock reads per batch of up to 1024 items." ;;
  report_jobs)
    WL_SCRIPT=pools.sh; WL_TITLE="recording cost: pool 2 exec true x $WL_SPAWN_N, --stats --trace vs nothing"; WL_SHORT="recording, jobs"
    wl_add flow "" "$FLOW --stats --trace /dev/null -c 'from 1..=$WL_SPAWN_N | pool 2 exec { true }'"
    wl_add "flow, not recorded" "" "$FLOW -c 'from 1..=$WL_SPAWN_N | pool 2 exec { true }'"
    WL_TARGETS=("flow, not recorded<=1.05 ; recording costs <= 5%") ;;
  startup)
    WL_SCRIPT=pipelines.sh; WL_MODE=argv; WL_TITLE="start-up: print 1"; WL_SHORT="start-up"
    wl_add flow "" "$FLOW -c 'print(1)'"
    wl_add bash "" "bash -c 'echo 1'"
    wl_add python "" "$PY -c 'print(1)'"
    WL_TARGETS=("bash<=1.2 ; <= 1.2x bash")
    WL_NOTE="Exec'd directly (no shell, no timeout wrapper), like hyperfine -N." ;;
  check)
    [ -s "$TMPD/check_$WL_CHECK_N.flow" ] || wl_check_script "$WL_CHECK_N" > "$TMPD/check_$WL_CHECK_N.flow"
    WL_SCRIPT=check_throughput.sh; WL_MODE=argv; WL_TITLE="flow check of a generated $(k "$WL_CHECK_N")-line script"; WL_SHORT="check $(k "$WL_CHECK_N") lines"
    wl_add flow "" "$FLOW check $TMPD/check_$WL_CHECK_N.flow"
    wl_add "20 ms" "" "=0.020"
    WL_TARGETS=("20 ms<=1.0 ; <= 20 ms")
    WL_NOTE="Parse and check only (nothing runs); includes start-up." ;;
  interrupt)
    WL_SCRIPT=interrupt.sh; WL_MODE=int; WL_TITLE="Ctrl-C: SIGINT to the process group 1 s into a 2-way pool of sleep $WL_MARK"; WL_SHORT="Ctrl-C"
    wl_add flow "" "$FLOW -c 'from 1..=2 | pool 2 exec { sleep $WL_MARK }'"
    wl_add "GNU parallel -j2" parallel "parallel -j2 sleep ::: $WL_MARK $WL_MARK"
    wl_add "python Pool(2)" "" "$PY $TMPD/int.py proc"
    wl_add "python ThreadPool(2)" "" "$PY $TMPD/int.py thread"
    WL_NOTE="Time from SIGINT until the runner exited; each run started with SIGINT at its default (a background job of a non-interactive shell starts with SIGINT ignored, which made Python look hung in earlier runs)." ;;
  spsc)
    WL_SCRIPT=channels.sh; WL_TITLE="channel(1000), one producer, one consumer, $(k "$WL_SPSC_N") items"; WL_SHORT="channel SPSC"
    wl_add flow "" "$FLOW $TMPD/spsc.flow"
    wl_add "python Queue(1000) + thread" "" "$PY $TMPD/spsc.py" ;;
  workqueue)
    WL_SCRIPT=channels.sh; WL_TITLE="work queue: $WL_WQ_N x 50 ms over 4 readers"; WL_SHORT="work queue"
    wl_add flow "" "$FLOW $TMPD/wq.flow"
    wl_add ideal "" "=$(awk -v n="$WL_WQ_N" 'BEGIN{ printf "%.3f", n / 4 * 0.05 }')" ;;
  tasks)
    WL_SCRIPT=channels.sh; WL_TITLE="$(k "$WL_TASKS_N") tasks that each sleep 1 s"; WL_SHORT="$(k "$WL_TASKS_N") tasks"
    wl_add flow "" "$FLOW $TMPD/tasks.flow"
    wl_add "1 s wait" "" "=1.0"
    wl_add "python asyncio" "" "$PY $TMPD/tasks_asyncio.py"
    wl_add "python threads" "" "$PY $TMPD/tasks.py"
    WL_TARGETS=("1 s wait<=1.5 ; <= 1.5x the 1 s wait" "python asyncio<=1.0 ; <= 1.0x asyncio" "python asyncio rss<=2.0 ; peak RSS <= 2x asyncio's")
    WL_NOTE="Starting thousands of threads at once raises the 1-minute load average by itself (every runnable thread counts), so load figures taken after this workload overstate the other work on the machine." ;;
  tasks_many)
    WL_SCRIPT=channels.sh; WL_TITLE="$(k "$WL_TASKS_MANY") live tasks that each sleep 1 s"; WL_SHORT="$(k "$WL_TASKS_MANY") tasks"
    wl_add flow "" "$FLOW $TMPD/tasks_many.flow"
    wl_add "python asyncio" "" "$PY $TMPD/tasks_many.py"
    WL_TARGETS=("python asyncio<=1.0 ; <= 1.0x asyncio" "python asyncio rss<=2.0 ; peak RSS <= 2x asyncio's")
    WL_NOTE="Before, flow failed here: every waiting task held a stack, two memory mappings each, and the kernel allows 65,530 per process." ;;
  *) echo "unknown workload: $1" >&2; return 1 ;;
  esac
}

wl_files
