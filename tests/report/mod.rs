//! `--report`, `--trace` and `--stats` as a user looks at them: the stage a script makes
//! slow is the one marked; the trace is Chrome's trace-event format; the HTML page is
//! self-contained and escaped; a failed or interrupted run still writes its report.

use crate::harness::{run_flow, Invocation, TempDir, TIMEOUT};
use crate::signals::start_cmd;
use serde_json::Value;
use std::time::Duration;

/// Run `flow ARGS…` in `dir` with `script` as `script.flow`.
fn flow_in(dir: &TempDir, script: &str, args: &[&str]) -> crate::harness::Output {
    std::fs::write(dir.path().join("script.flow"), script).expect("write the script");
    let args: Vec<String> = args.iter().map(|a| (*a).to_string()).collect();
    run_flow(&Invocation {
        args: &args,
        cwd: dir.path(),
        stdin: None,
        timeout: TIMEOUT,
        path_first: &[],
        env: &[],
    })
}

/// A heavy `map` between two cheap ones (each stage on a thread of its own).
const BOTTLENECK: &str = "fn slow(x) { let s = 0; for i in 0..3000 { s += i % 7 } x + s }\n\
                          from 1..=1500\n  | map { it + 1 }\n  | map { slow(it) }\n  | map { it * 2 }\n  | count\n";

/// The trace's events of category `cat` (`stage`, `job`, `task`, `process`).
fn events<'a>(v: &'a Value, cat: &str) -> Vec<&'a Value> {
    v["traceEvents"]
        .as_array()
        .expect("traceEvents is an array")
        .iter()
        .filter(|e| e["cat"] == cat)
        .collect()
}

fn read_json(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).expect("the trace was written");
    serde_json::from_str(&text).expect("the trace is JSON")
}

#[test]
fn the_heavy_stage_is_the_bottleneck_in_stats_trace_and_report() {
    let dir = TempDir::new("report-bottleneck");
    let out = flow_in(
        &dir,
        BOTTLENECK,
        &[
            "--stats",
            "--trace",
            "t.json",
            "--report=r.html",
            "script.flow",
        ],
    );
    assert_eq!(out.status, Some(0), "stderr:\n{}", out.stderr);
    assert_eq!(out.stdout, "1500\n");
    // --stats: one row per stage; the marked one is `map { slow(it) }` on line 4.
    let marked: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("<- bottleneck"))
        .collect();
    assert_eq!(marked.len(), 1, "stderr:\n{}", out.stderr);
    assert!(
        marked[0].contains("map { slow(it) }") && marked[0].trim_start().starts_with('4'),
        "marked: {marked:?}"
    );
    // --trace: complete events with names, a thread name per stage.
    let v = read_json(&dir.path().join("t.json"));
    let events = v["traceEvents"]
        .as_array()
        .expect("traceEvents is an array");
    let stages: Vec<&Value> = events
        .iter()
        .filter(|e| e["ph"] == "X" && e["cat"] == "stage")
        .collect();
    assert_eq!(stages.len(), 4, "three maps and count: {stages:?}");
    for e in events {
        let ph = e["ph"].as_str().expect("every event has a phase");
        assert!(matches!(ph, "X" | "M" | "C"), "phase {ph}");
        assert!(e["pid"].is_u64() && e["name"].is_string(), "{e}");
        if ph == "X" {
            assert!(
                e["tid"].is_u64() && e["ts"].is_u64() && e["dur"].is_u64(),
                "{e}"
            );
        }
        if ph == "M" {
            assert!(e["args"]["name"].is_string(), "{e}");
        }
    }
    let bottleneck: Vec<&str> = stages
        .iter()
        .filter(|e| e["args"]["bottleneck"] == true)
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(bottleneck, vec!["map { slow(it) }"]);
    // The stage after the heavy one waited for its input most of its life.
    let after = stages
        .iter()
        .find(|e| e["name"] == "map { it * 2 }")
        .expect("the stage after it");
    let wait_in = after["args"]["wait in us"].as_u64().unwrap_or(0);
    let busy = after["args"]["busy us"].as_u64().unwrap_or(u64::MAX);
    assert!(wait_in > busy, "wait in {wait_in} µs, busy {busy} µs");
    // --report: one HTML file, no script, no network, the bottleneck marked.
    let html = std::fs::read_to_string(dir.path().join("r.html")).expect("the report");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.to_lowercase().contains("<script"));
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("src="));
    assert!(html.contains("← bottleneck") && html.contains("<svg"));
    assert!(html.contains("map { slow(it) }"));
}

#[test]
fn pool_jobs_are_recorded_by_slot_with_failures_and_retries() {
    let dir = TempDir::new("report-pool");
    let script = "let r = from [1, 2, 3, 4] | pool 2 map { if it == 3 && attempt < 2 { throw \"flaky\" } it * 10 } retries 1 | collect\n\
                  print(r)\n\
                  from [\"ok\", \"bad\"] | pool 2 exec { test $it = ok } on_error skip\n";
    let out = flow_in(
        &dir,
        script,
        &["--stats", "--trace", "t.json", "script.flow"],
    );
    assert_eq!(out.status, Some(0), "stderr:\n{}", out.stderr);
    assert!(out.stdout.starts_with("[10, 20, 30, 40]\n"));
    assert!(
        out.stderr
            .contains("pool line 1 (2 slots): 4 jobs, 0 failed, 1 retries"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("pool line 3 (2 slots): 2 jobs, 1 failed, 0 retries"),
        "{}",
        out.stderr
    );
    let v = read_json(&dir.path().join("t.json"));
    let jobs: Vec<&Value> = events(&v, "job");
    assert_eq!(jobs.len(), 6);
    for j in &jobs {
        let slot = j["tid"].as_u64().unwrap();
        assert!((1..=2).contains(&slot), "slot {slot}");
    }
    let bad = jobs
        .iter()
        .find(|j| j["name"] == "bad")
        .expect("the bad job");
    assert_eq!(bad["args"]["ok"], false);
    assert_eq!(bad["args"]["exit"], 1);
}

/// Each job process's peak memory and CPU time come from the kernel (`wait4`): a job that
/// holds a 40 MB string shows at least that much.
#[test]
fn a_jobs_peak_memory_and_cpu_come_from_its_rusage() {
    let dir = TempDir::new("report-rusage");
    // (perl is in every Debian: perl-base is essential. awk is not one program: mawk caps
    // sprintf at 8 KB.)
    let script =
        "from [40000000, 1] | pool 2 exec perl -e \"print length('x' x \\$ARGV[0])\" ${it}\n";
    let out = flow_in(&dir, script, &["--trace", "t.json", "script.flow"]);
    assert_eq!(out.status, Some(0), "stderr:\n{}", out.stderr);
    let v = read_json(&dir.path().join("t.json"));
    let jobs: Vec<&Value> = events(&v, "job");
    let rss = |seq: u64| {
        jobs.iter()
            .find(|j| j["args"]["seq"] == seq)
            .and_then(|j| j["args"]["max RSS KB"].as_u64())
            .unwrap_or(0)
    };
    assert!(rss(1) >= 40_000, "the big job's peak: {} KB", rss(1));
    assert!(
        rss(2) > 0 && rss(2) < rss(1),
        "the small job's peak: {} KB",
        rss(2)
    );
}

/// An `exec { … }` job's usage is that of the commands it ran: the larger peak of two
/// commands run one after the other (not their sum), and a block that started none shows
/// none.
#[test]
fn a_job_blocks_usage_is_its_commands() {
    let dir = TempDir::new("report-block-rusage");
    let big = "perl -e \"print length('x' x \\$ARGV[0])\" ${it}";
    let script = format!(
        "from [30000000, 1] | pool 2 exec {{\n  {big}\n  {big}\n}}\nfrom [\"a\"] | pool 1 exec {{ print(it) }}\n"
    );
    let out = flow_in(&dir, &script, &["--trace", "t.json", "script.flow"]);
    assert_eq!(out.status, Some(0), "stderr:\n{}", out.stderr);
    let v = read_json(&dir.path().join("t.json"));
    let jobs: Vec<&Value> = events(&v, "job");
    let field = |name: &str, seq: u64, key: &str| {
        jobs.iter()
            .find(|j| j["args"]["seq"] == seq && j["name"] == name)
            .and_then(|j| j["args"][key].as_u64())
            .unwrap_or_else(|| panic!("job {name} ({seq}) has {key}: {jobs:?}"))
    };
    let (rss_big, rss_small) = (
        field("30000000", 1, "max RSS KB"),
        field("1", 2, "max RSS KB"),
    );
    assert!(rss_big >= 30_000, "the big job's peak: {rss_big} KB");
    assert!(
        rss_big < 55_000,
        "two 30 MB commands one after the other peak at 30 MB, not 60: {rss_big} KB"
    );
    assert!(
        rss_small > 0 && rss_small < rss_big,
        "the small job's peak: {rss_small} KB"
    );
    assert!(field("30000000", 1, "CPU us") > 0);
    assert_eq!(field("a", 1, "max RSS KB"), 0, "a job that ran no command");
}

/// Tasks joined by a channel: `into ch` is a stage of its own, and a producer held back by
/// a slow reader shows it there, as time waiting to send; the reader's slow `map` is marked.
#[test]
fn a_producer_held_back_by_its_channel_shows_it_in_into() {
    let dir = TempDir::new("report-channel");
    let script = "let ch = channel(4)\n\
                  let p = spawn { from 1..=100 | map { it * 2 } | into ch }\n\
                  let c = spawn { from ch | map { sleep(0.003); it } | count }\n\
                  join p\n\
                  let n = join c\n\
                  print(n)\n";
    let out = flow_in(
        &dir,
        script,
        &["--trace", "t.json", "--stats", "script.flow"],
    );
    assert_eq!(out.status, Some(0), "stderr:\n{}", out.stderr);
    assert_eq!(out.stdout, "100\n");
    let v = read_json(&dir.path().join("t.json"));
    let stages = events(&v, "stage");
    let stage = |name: &str| {
        *stages
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("a stage `{name}` in {stages:?}"))
    };
    let into = stage("into ch");
    assert_eq!(into["args"]["items in"], 100);
    assert_eq!(into["args"]["items out"], 100);
    let waited = into["args"]["wait out us"].as_u64().unwrap_or(0);
    // The reader takes 3 ms an item, 100 items: the producer waited for most of that.
    assert!(waited >= 150_000, "into waited {waited} us to send: {into}");
    assert_eq!(
        stage("map { sleep(0.003); it }")["args"]["bottleneck"],
        true
    );
    assert!(out.stderr.contains("into ch"), "{}", out.stderr);
}

/// A pipeline of commands alone has no item stage: each command is in the report with its
/// times, exit status and usage.
#[test]
fn a_command_pipeline_reports_each_process() {
    let dir = TempDir::new("report-commands");
    let out = flow_in(
        &dir,
        "seq 1 20000 | grep 7 | wc -l\n",
        &["--stats", "--trace", "t.json", "script.flow"],
    );
    assert_eq!(out.status, Some(0), "stderr:\n{}", out.stderr);
    assert!(out.stderr.contains("grep 7: "), "{}", out.stderr);
    let v = read_json(&dir.path().join("t.json"));
    let names: Vec<&str> = events(&v, "process")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(names, vec!["seq 1 20000", "grep 7", "wc -l"]);
}

#[test]
fn a_failed_run_still_writes_its_report_with_the_error() {
    let dir = TempDir::new("report-failed");
    let out = flow_in(
        &dir,
        "let t = spawn { sleep(0.05); 1 }\njoin t\nfrom [1, 0] | map { 10 / it } | count\n",
        &["--report", "r.html", "--trace", "t.json", "script.flow"],
    );
    assert_eq!(out.status, Some(1), "stderr:\n{}", out.stderr);
    let v = read_json(&dir.path().join("t.json"));
    assert_eq!(v["otherData"]["exit_code"], 1);
    assert!(v["otherData"]["error"].is_string());
    let tasks = events(&v, "task").len();
    assert_eq!(tasks, 1);
    let html = std::fs::read_to_string(dir.path().join("r.html")).expect("the report");
    assert!(html.contains("failed"));
}

#[test]
fn an_interrupted_run_writes_its_report_marked_interrupted() {
    let dir = TempDir::new("report-interrupted");
    std::fs::write(
        dir.path().join("script.flow"),
        "write_file(\"ready\", \"\")\nfrom 1..=4 | pool 2 exec { sleep 30 }\n",
    )
    .unwrap();
    let flow = start_cmd(
        dir.path(),
        env!("CARGO_BIN_EXE_flow"),
        &["--trace", "t.json", "--stats", "script.flow"],
    );
    assert!(crate::harness::wait_until(Duration::from_secs(20), || dir
        .path()
        .join("ready")
        .exists()));
    std::thread::sleep(Duration::from_millis(200));
    flow.signal(libc::SIGINT);
    let done = flow.wait(Duration::from_secs(20));
    assert_eq!(done.code, Some(130), "stderr:\n{}", done.stderr);
    assert!(done.stderr.contains("(interrupted)"), "{}", done.stderr);
    let v = read_json(&dir.path().join("t.json"));
    assert_eq!(v["otherData"]["interrupted"], true);
}

#[test]
fn a_report_flag_without_a_file_or_an_unwritable_file_is_an_error() {
    let dir = TempDir::new("report-bad-flag");
    let out = flow_in(&dir, "print(1)\n", &["--report"]);
    assert_eq!(out.status, Some(2));
    assert!(
        out.stderr.contains("--report needs a file name"),
        "{}",
        out.stderr
    );
    // A report that cannot be written fails a run that succeeded, and says why.
    let out = flow_in(
        &dir,
        "print(1)\n",
        &["--trace", "no/such/dir/t.json", "script.flow"],
    );
    assert_eq!(out.stdout, "1\n");
    assert_eq!(out.status, Some(1));
    assert!(
        out.stderr
            .contains("cannot write the report no/such/dir/t.json"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_host_reads_the_report_of_each_run() {
    let mut engine = flow::Engine::new();
    engine.record_reports(true);
    let script = engine
        .compile("from 1..=100 | map { it * 2 } | filter { it % 3 == 0 } | count")
        .unwrap();
    assert_eq!(engine.run_as::<i64>(&script).unwrap(), 33);
    let r = engine.last_report().expect("a report");
    assert!(!r.stages.is_empty());
    let items_out: u64 = r.stages.iter().map(|s| s.items_out).max().unwrap_or(0);
    assert!(items_out >= 33, "{r:?}");
    assert!(r.error.is_none() && !r.interrupted);
    // Without asking, nothing is recorded.
    let plain = flow::Engine::new();
    let s = plain.compile("from 1..=3 | count").unwrap();
    assert_eq!(plain.run_as::<i64>(&s).unwrap(), 3);
    assert!(plain.last_report().is_none());
}

/// The report of the bottleneck script as headless Chromium shows it: it loads from a
/// `file://` URL with no console message (no script error, nothing fetched), its DOM holds
/// the marked stage, and the screenshot is a PNG of the page. `FLOW_REPORT_SCREENSHOT=PATH`
/// keeps the screenshot (docs/report.png is made so).
#[test]
#[cfg_attr(
    not(flow_chromium),
    ignore = "needs Chromium: build the tests with FLOW_REQUIRE_CHROMIUM=1"
)]
fn chromium_renders_the_report() {
    let dir = TempDir::new("report-chromium");
    let out = flow_in(&dir, BOTTLENECK, &["--report", "r.html", "script.flow"]);
    assert_eq!(out.status, Some(0), "stderr:\n{}", out.stderr);
    let page = dir.path().join("r.html");
    let url = format!("file://{}", page.display());
    let chromium = |extra: &[&str]| {
        std::process::Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
            ])
            .args(["--enable-logging=stderr", "--v=0"])
            .arg(format!(
                "--user-data-dir={}",
                dir.path().join("profile").display()
            ))
            .args(extra)
            .arg(&url)
            .current_dir(dir.path())
            .output()
            .expect("start chromium")
    };
    let dom = chromium(&["--dump-dom"]);
    let text = String::from_utf8_lossy(&dom.stdout);
    assert!(text.contains("← bottleneck"), "DOM:\n{text}");
    let log = String::from_utf8_lossy(&dom.stderr);
    for bad in ["Uncaught", "CONSOLE", "net::ERR_"] {
        assert!(!log.contains(bad), "chromium said {bad}:\n{log}");
    }
    let shot = std::env::var_os("FLOW_REPORT_SCREENSHOT")
        .map_or_else(|| dir.path().join("shot.png"), std::path::PathBuf::from);
    let r = chromium(&[
        &format!("--screenshot={}", shot.display()),
        "--window-size=1200,1000",
    ]);
    let png = std::fs::read(&shot).unwrap_or_else(|e| {
        panic!(
            "no screenshot ({e}):\n{}",
            String::from_utf8_lossy(&r.stderr)
        )
    });
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
}
