#!/usr/bin/env python3
"""Time flow and its peers on one workload, runs interleaved: each round runs every command
once, in an order shuffled anew each round (seeded, so repeatable). A fixed order is biased: a
command that always follows a heavy one (Python's start-up) always starts with cold caches; it
made flow's start-up read 1.24-1.29 x bash where hyperfine, and a shuffled order, read 1.07.

Usage: measure.py --id ID --title T [--short S] --mode sh|argv|int --runs N [--timeout S] [--out FILE]
                  [--target 'LABEL<=RATIO ; text'] [--note TEXT] [--script NAME]
                  [--skip 'LABEL=reason'] [--marker 'sleep 123'] -- LABEL CMD [LABEL CMD ...]

The first LABEL CMD is flow. Before the timed runs every command runs once untimed under
`/usr/bin/time -f %M` (peak RSS in KiB of the largest process of its tree; also the check that it
succeeds and the warm-up of the page cache). A CMD `=X` is a constant of X seconds (an ideal time).
Modes: sh runs `bash -c CMD`; argv execs the shell-split CMD directly (start-up figures); int
starts `bash -c 'exec CMD'` (no untimed first run) in a new session with SIGINT at its default disposition, sends SIGINT
to the session's process group after 1 s and times until the runner exits (3 s watchdog; `sleep
MARKER` processes still alive afterwards are counted and killed).
Appends one JSON line per workload to --out and prints a table.
"""
import argparse, json, os, random, shlex, signal, statistics, subprocess, sys, tempfile, threading, time


def parse():
    ap = argparse.ArgumentParser()
    ap.add_argument("--id", required=True)
    ap.add_argument("--title", default="")
    ap.add_argument("--short", default="")
    ap.add_argument("--script", default="")
    ap.add_argument("--mode", choices=["sh", "argv", "int"], default="sh")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--out")
    ap.add_argument("--target", action="append", default=[])
    ap.add_argument("--skip", action="append", default=[])
    ap.add_argument("--note", default="")
    ap.add_argument("--marker", default="")
    ap.add_argument("rest", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    rest = a.rest[1:] if a.rest[:1] == ["--"] else a.rest
    if not rest or len(rest) % 2:
        ap.error("expected LABEL CMD pairs after --")
    a.cmds = list(zip(rest[0::2], rest[1::2]))
    return a


def argv_of(mode, cmd):
    if mode == "argv":
        return shlex.split(cmd)
    if mode == "int":
        return ["bash", "-c", "exec " + cmd]
    return ["bash", "-c", cmd]


# Signals reset to their default in every child: SIGINT (a background job of a non-interactive
# shell starts with it ignored, an ignored signal stays ignored across exec, and the runner under
# test would never see ^C), and SIGPIPE/SIGXFSZ, which Python itself ignores.
SIGDEF = (signal.SIGINT, signal.SIGPIPE, signal.SIGXFSZ)


def spawn(argv, out, err):
    """Start argv in a new session (its pid is its process group), stdin /dev/null."""
    w = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fa = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
          (os.POSIX_SPAWN_OPEN, 1, out, w, 0o644),
          (os.POSIX_SPAWN_OPEN, 2, err, w, 0o644)]
    return os.posix_spawnp(argv[0], argv, os.environ, file_actions=fa, setsid=True, setsigdef=SIGDEF)


def kill_group(pid, sig=signal.SIGKILL):
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def wait(pid, timeout):
    """Block until pid exits (no polling: Popen.wait(timeout) polls with growing sleeps, which
    rounds every time up to a step of its back-off). After `timeout` s its group is killed.
    Returns (exit status as Popen gives it, True if the watchdog fired)."""
    fired = threading.Event()
    def dog():
        fired.set()
        kill_group(pid)
    timer = threading.Timer(timeout, dog)
    timer.start()
    _, st, _ = os.wait4(pid, 0)
    timer.cancel()
    return os.waitstatus_to_exitcode(st), fired.is_set()


def first_run(mode, cmd, timeout, tmp):
    """Untimed run under /usr/bin/time -f %M: (ok, rss_kib, last output line, stderr)."""
    rssf, outf, errf = (os.path.join(tmp, n) for n in ("rss", "out", "err"))
    pid = spawn(["/usr/bin/time", "-o", rssf, "-f", "%M"] + argv_of(mode, cmd), outf, errf)
    rc, hung = wait(pid, timeout)
    err = open(errf, "rb").read().decode(errors="replace").strip()
    last = ""
    with open(outf, "rb") as f:
        f.seek(max(0, os.path.getsize(outf) - 4096))
        lines = f.read().decode(errors="replace").strip().splitlines()
        last = lines[-1][:60] if lines else ""
    rss = None
    try:
        rss = int(open(rssf).read().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        pass
    if hung or rc != 0:
        return False, rss, last, (f"timed out after {timeout:.0f} s; " if hung else f"exit {rc}; ") + err[-400:]
    return True, rss, last, err[-200:]


def timed_run(mode, cmd, timeout, errf):
    argv = argv_of(mode, cmd)
    t0 = time.perf_counter_ns()
    pid = spawn(argv, os.devnull, errf)
    rc, hung = wait(pid, timeout)
    t1 = time.perf_counter_ns()
    if hung:
        return None, f"timed out after {timeout:.0f} s"
    if rc != 0:
        return None, f"exit {rc}: " + open(errf, "rb").read().decode(errors="replace")[-300:]
    return (t1 - t0) / 1e9, ""


def marker_pids(marker):
    if not marker:
        return []
    r = subprocess.run(["pgrep", "-fx", marker], capture_output=True, text=True)
    return [int(x) for x in r.stdout.split()]


def int_run(cmd, marker, errf):
    """SIGINT after 1 s: (seconds until exit or None if hung, leftovers, exit status)."""
    pid = spawn(argv_of("int", cmd), os.devnull, errf)
    time.sleep(1.0)
    t0 = time.perf_counter_ns()
    kill_group(pid, signal.SIGINT)  # the whole group, as a terminal's ^C does
    rc, hung = wait(pid, 3.0)
    secs = None if hung else (time.perf_counter_ns() - t0) / 1e9
    time.sleep(0.05)
    left = marker_pids(marker)
    for p in left:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return secs, len(left), rc


def loadavg():
    """The 1-minute load average (the machine may be shared: it tells how busy it was)."""
    try:
        return float(open("/proc/loadavg").read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def main():
    a = parse()
    skips = dict(s.split("=", 1) for s in a.skip)
    load_before = loadavg()
    tmp = tempfile.mkdtemp(prefix="flowmeasure.")
    res = []
    for label, cmd in a.cmds:
        r = {"label": label, "cmd": cmd, "times": [], "rss_kib": None, "out": "", "status": "ok",
             "hung": 0, "leftovers": 0, "exit_codes": []}
        if label in skips:
            r["status"] = "skipped: " + skips[label]
        elif cmd.startswith("="):
            r["const"] = float(cmd[1:])
        elif a.mode != "int":  # the Ctrl-C runner cannot finish by itself: its runs are the check
            ok, r["rss_kib"], r["out"], err = first_run(a.mode, cmd, a.timeout, tmp)
            if not ok:
                r["status"] = "FAIL: " + err
        res.append(r)
    errf = os.path.join(tmp, "err_timed")
    rng = random.Random(a.id)
    for _ in range(a.runs):
        for r in rng.sample(res, len(res)):
            if r["status"] != "ok":
                continue
            if "const" in r:
                r["times"].append(r["const"])
            elif a.mode == "int":
                secs, left, rc = int_run(r["cmd"], a.marker, errf)
                r["leftovers"] += left
                r["exit_codes"].append(rc)
                if secs is None:
                    r["hung"] += 1
                else:
                    r["times"].append(secs)
            else:
                secs, err = timed_run(a.mode, r["cmd"], a.timeout, errf)
                if secs is None:
                    r["status"] = "FAIL: " + err
                else:
                    r["times"].append(secs)
    for r in res:
        t = r["times"]
        if r["status"] == "ok" and not t:
            r["status"] = "FAIL: no run finished (hung %d of %d)" % (r["hung"], a.runs)
        r["median"] = statistics.median(t) if t else None
        r["min"] = min(t) if t else None
        r["max"] = max(t) if t else None
        r["exit_codes"] = sorted(set(r["exit_codes"]))
    flow = res[0]["median"]
    for r in res:
        r["ratio"] = flow / r["median"] if flow and r["median"] else None
    rec = {"id": a.id, "title": a.title, "short": a.short or a.id, "script": a.script, "mode": a.mode, "runs": a.runs,
           "note": a.note, "cmds": res, "targets": [], "load": [load_before, loadavg()]}
    for t in a.target:
        spec, _, text = t.partition(";")
        label, _, lim = spec.strip().partition("<=")
        # `LABEL rss<=R`: a target on the ratio of peak RSS, not of time.
        label, rss = (label[:-4], True) if label.strip().endswith(" rss") else (label, False)
        rec["targets"].append({"label": label.strip(), "max_ratio": float(lim), "text": text.strip(),
                               "of": "rss" if rss else "time"})
    if a.out:
        with open(a.out, "a") as f:
            f.write(json.dumps(rec) + "\n")
    print_table(rec)
    for n in os.listdir(tmp):
        os.unlink(os.path.join(tmp, n))
    os.rmdir(tmp)


def target_ratio(rec, c, t):
    """The ratio a target is about: of median times, or (`"of": "rss"`) of peak RSS."""
    if t.get("of") != "rss":
        return c["ratio"]
    flow, peer = rec["cmds"][0]["rss_kib"], c["rss_kib"]
    return flow / peer if flow and peer else None


def fmt(x, unit):
    if x is None:
        return "-"
    return "%.1f" % (x * 1000) if unit == "ms" else "%.4f" % x


def print_table(rec):
    unit = "ms" if rec["mode"] in ("int", "argv") else "s"
    print("\n== %s (%s runs, interleaved)" % (rec["title"] or rec["id"], rec["runs"]))
    print("%-30s %10s %10s %10s %9s %9s  %s" % ("", "median_" + unit, "min", "max", "rss_KiB", "flow/peer", "output / status"))
    for r in rec["cmds"]:
        extra = r["out"] if r["status"] == "ok" else r["status"]
        if rec["mode"] == "int" and r["status"] == "ok":
            extra = "hung %d, leftovers %d, exit %s" % (r["hung"], r["leftovers"], r["exit_codes"])
        ratio = "%.2f" % r["ratio"] if r["ratio"] else "-"
        print("%-30s %10s %10s %10s %9s %9s  %s" % (r["label"][:30], fmt(r["median"], unit), fmt(r["min"], unit),
              fmt(r["max"], unit), r["rss_kib"] or "-", ratio, extra.replace("\n", " ")[:100]))
    for t in rec["targets"]:
        r = next((c for c in rec["cmds"] if c["label"] == t["label"]), None)
        ratio = target_ratio(rec, r, t) if r else None
        if ratio:
            print("   target %s: %.2f -> %s" % (t["text"], ratio, "met" if ratio <= t["max_ratio"] else "NOT met"))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
