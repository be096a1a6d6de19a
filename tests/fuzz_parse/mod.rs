//! Property tests of `flow::parse`: it never panics, never overflows, and stays fast and
//! linear on any input.
//!
//! Inputs: random bytes (lossy UTF-8), soups of flow tokens, deep and unclosed brackets of
//! every kind in every context (alone or spliced into a script), and mutations of every
//! `.flow` file under `tests/cases` and `examples`. Each case is generated from its own seed
//! (`base seed ^ index`), so a failure names one reproducible case.
//! `FLOW_FUZZ_CASES=n` changes the number of cases, `FLOW_FUZZ_SEED=n` the base seed.

mod generate;

use crate::harness::repo_root;
use std::io::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const DEFAULT_CASES: usize = 10_000;
const DEFAULT_SEED: u64 = 0x000f_10f0_5eed;
/// Unoptimised builds (`cargo test` without `--release`) parse about 10x slower.
const SLOWDOWN: u32 = if cfg!(debug_assertions) { 10 } else { 1 };
/// Slowest acceptable parse of one fuzz input (in a release build). Inputs are a few KB,
/// which a linear parser reads in well under a millisecond; an exponential one (as with 22
/// unclosed `(` once) takes seconds.
const CASE_LIMIT: Duration = Duration::from_millis(250 * SLOWDOWN as u64);
/// A parse this slow is treated as a hang: report the input and abort the test binary.
const HANG_LIMIT: Duration = Duration::from_secs(30);
const THREADS: usize = 4;

fn env_number(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

/// Every `.flow` file under `tests/cases` and `examples/`, as bytes.
fn corpus() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let root = repo_root();
    let mut dirs = vec![root.join("tests").join("cases"), root.join("examples")];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|e| e == "flow") {
                out.push(std::fs::read(&p).expect("read a corpus file"));
            }
        }
    }
    out
}

/// What went wrong with one input.
enum Problem {
    Panic(String),
    Slow(Duration),
}

/// Parse `src`, catching panics and timing it.
fn probe(src: &str) -> Result<Duration, Problem> {
    let start = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(|| {
        let _ = flow::parse(src);
    }));
    let took = start.elapsed();
    match result {
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".into());
            Err(Problem::Panic(msg))
        }
        Ok(()) if took > CASE_LIMIT => Err(Problem::Slow(took)),
        Ok(()) => Ok(took),
    }
}

/// An input shortened and escaped for a report.
fn show(src: &str) -> String {
    const MAX: usize = 400;
    let mut s: String = src.chars().take(MAX).collect();
    if src.chars().count() > MAX {
        s.push('…');
    }
    format!("{s:?} ({} bytes)", src.len())
}

#[test]
fn parse_never_panics_and_is_fast_on_any_input() {
    // Timing assertions: not while a CPU-heavy test (tests/pool) runs.
    let _g = crate::signals::timing_sensitive();
    let cases = env_number("FLOW_FUZZ_CASES").map_or(DEFAULT_CASES, |n| n as usize);
    let seed = env_number("FLOW_FUZZ_SEED").unwrap_or(DEFAULT_SEED);
    let corpus = corpus();
    assert!(!corpus.is_empty(), "no .flow files to mutate");
    println!(
        "fuzz_parse: {cases} cases, seed {seed:#x}, {} corpus files",
        corpus.len()
    );

    let next = AtomicUsize::new(0);
    // Per worker: the case it is parsing and since when (for the hang watchdog).
    let current: Vec<Mutex<Option<(usize, Instant, String)>>> =
        (0..THREADS).map(|_| Mutex::new(None)).collect();
    let failures = Mutex::new(Vec::<String>::new());
    let slowest = Mutex::new(Duration::ZERO);
    std::thread::scope(|s| {
        let workers: Vec<_> = current
            .iter()
            .map(|slot| {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= cases {
                        break;
                    }
                    let src = generate::case(seed, i, &corpus);
                    *slot.lock().expect("lock") = Some((i, Instant::now(), src.clone()));
                    let res = probe(&src);
                    *slot.lock().expect("lock") = None;
                    match res {
                        Ok(t) => {
                            let mut m = slowest.lock().expect("lock");
                            *m = (*m).max(t);
                        }
                        Err(p) => {
                            let what = match p {
                                Problem::Panic(m) => format!("panicked: {m}"),
                                Problem::Slow(t) => format!("took {:.2}s", t.as_secs_f64()),
                            };
                            failures.lock().expect("lock").push(format!(
                                "case {i} (FLOW_FUZZ_SEED={seed:#x}) {what}\n  input: {}",
                                show(&src)
                            ));
                        }
                    }
                })
            })
            .collect();
        // Watchdog: a parse that never ends cannot be interrupted, so name it and abort.
        while !workers
            .iter()
            .all(std::thread::ScopedJoinHandle::is_finished)
        {
            std::thread::sleep(Duration::from_millis(50));
            for slot in &current {
                if let Some((i, since, src)) = &*slot.lock().expect("lock") {
                    if since.elapsed() > HANG_LIMIT {
                        let _ = writeln!(
                            std::io::stderr(),
                            "fuzz_parse: case {i} (seed {seed:#x}) still parsing after {}s: {}",
                            HANG_LIMIT.as_secs(),
                            show(src)
                        );
                        std::process::abort();
                    }
                }
            }
        }
    });
    println!(
        "fuzz_parse: slowest parse {:.1}ms",
        slowest.lock().expect("lock").as_secs_f64() * 1000.0
    );
    let failures = failures.into_inner().expect("lock");
    assert!(
        failures.is_empty(),
        "{} of {cases} fuzz cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Inputs that would overflow a naively recursive parser must come back as errors.
#[test]
fn pathological_nesting_is_an_error_not_an_overflow() {
    let mut inputs: Vec<(&str, String)> = vec![
        ("{ x 10_000", "{".repeat(10_000)),
        ("( x 10_000", "(".repeat(10_000)),
        ("[ x 10_000", "[".repeat(10_000)),
        ("#{ x 5_000", "#{".repeat(5_000)),
        ("\" x 10_001", "\"".repeat(10_001)),
        ("\"${ x 5_000", "\"${".repeat(5_000)),
        ("`${ x 5_000", "`${".repeat(5_000)),
        ("spawn { x 10_000", "spawn { ".repeat(10_000)),
        ("if x { x 10_000", "if x { ".repeat(10_000)),
        (
            "map { x 10_000",
            format!("from [1] | map {}", "{ ".repeat(10_000)),
        ),
    ];
    // Brackets hidden from a bracket pre-scan inside strings and interpolations.
    for (open, close) in [("(", ")"), ("[", "]"), ("{", "}")] {
        inputs.push((
            "echo \"${ + deep unbalanced",
            format!("echo \"${{{}\"\n", open.repeat(10_000)),
        ));
        inputs.push((
            "print(`${ + deep unbalanced",
            format!("print(`${{{}`)\n", open.repeat(10_000)),
        ));
        inputs.push((
            "map { `${ + deep unbalanced",
            format!("from [1] | map {{ `${{{}` }}\n", open.repeat(10_000)),
        ));
        let _ = close;
    }
    let mut problems = Vec::new();
    for (label, src) in &inputs {
        // A thread with Rust's default 2 MiB stack: what an embedding host's worker has.
        let src2 = src.clone();
        let res = std::thread::Builder::new()
            .name(format!("parse {label}"))
            .spawn(move || probe(&src2).map(|t| (t, flow::parse(&src2).is_err())))
            .expect("spawn a parser thread")
            .join()
            .expect("probe catches panics");
        match res {
            Ok((_, true)) => {}
            Ok((_, false)) => problems.push(format!("{label}: parsed without error")),
            Err(Problem::Panic(m)) => problems.push(format!("{label}: panicked: {m}")),
            Err(Problem::Slow(t)) => {
                problems.push(format!("{label}: took {:.2}s", t.as_secs_f64()));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Long but shallow valid scripts must parse, and not overflow either.
#[test]
fn long_shallow_scripts_parse() {
    // Timing assertions: not while a CPU-heavy test (tests/pool) runs.
    let _g = crate::signals::timing_sensitive();
    let mut else_ifs = String::from("if n == 0 { echo 0 }");
    // Realistic lengths only: pest's recursion guard rejects a chain of ~900 in a debug build.
    for i in 1..500 {
        else_ifs.push_str(&format!(" else if n == {i} {{ echo {i} }}"));
    }
    let inputs = [
        ("else-if chain", format!("let n = 1\n{else_ifs}\n")),
        ("long pipeline", format!("ls{}\n", " | cat".repeat(10_000))),
        (
            "long item pipeline",
            format!("from 1..10{}\n", " | map { it }".repeat(5_000)),
        ),
        ("many statements", "echo hi\n".repeat(20_000)),
        ("many args", format!("echo{}\n", " a".repeat(50_000))),
    ];
    let mut problems = Vec::new();
    for (label, src) in inputs {
        let res = std::thread::Builder::new()
            .spawn(move || {
                let start = Instant::now();
                let ok = flow::parse(&src).map(|_| ()).map_err(|e| format!("{e:?}"));
                (ok, start.elapsed())
            })
            .expect("spawn a parser thread")
            .join();
        match res {
            Ok((Ok(()), t)) if t < Duration::from_secs(2) * SLOWDOWN => {}
            Ok((Ok(()), t)) => problems.push(format!("{label}: took {:.2}s", t.as_secs_f64())),
            Ok((Err(e), _)) => problems.push(format!("{label}: rejected: {e:.300}")),
            Err(_) => problems.push(format!("{label}: panicked")),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Parse time per byte must not grow with the script's length (no quadratic backtracking).
#[test]
fn parse_time_is_linear_in_script_length() {
    // Timing assertions: not while a CPU-heavy test (tests/pool) runs.
    let _g = crate::signals::timing_sensitive();
    let unit = std::fs::read_to_string(repo_root().join("tests/cases/syntax/tour.flow"))
        .expect("read the tour case");
    let unit = unit.trim_start_matches(|c| c != '\n').to_string() + "\n"; // drop the shebang
    assert!(flow::parse(&unit).is_ok(), "the unit script must be valid");
    let mut per_byte = Vec::new();
    for times in [1usize, 10, 100] {
        let src = unit.repeat(times);
        assert!(flow::parse(&src).is_ok(), "{times}x must stay valid");
        // About the same number of bytes per measurement at every size.
        let reps = 300 / times;
        let mut best = Duration::MAX;
        for _ in 0..7 {
            let start = Instant::now();
            for _ in 0..reps {
                let _ = std::hint::black_box(flow::parse(std::hint::black_box(&src)));
            }
            best = best.min(start.elapsed());
        }
        let ns = best.as_secs_f64() * 1e9 / (src.len() * reps) as f64;
        per_byte.push((times, ns));
    }
    println!("parse ns/byte by repetition: {per_byte:?}");
    for w in 0..per_byte.len() {
        for v in w + 1..per_byte.len() {
            let (small, big) = (per_byte[w], per_byte[v]);
            assert!(
                big.1 <= small.1 * 5.0,
                "parsing {}x the script costs {:.1} ns/byte vs {:.1} ns/byte at {}x: superlinear",
                big.0,
                big.1,
                small.1,
                small.0
            );
        }
    }
}

/// The best of `n` timed parses of `src`: the least disturbed by other load.
fn best_parse_time(src: &str, n: usize) -> Duration {
    (0..n)
        .map(|_| {
            let start = Instant::now();
            let _ = std::hint::black_box(flow::parse(std::hint::black_box(src)));
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// n, 2n, 4n unclosed brackets of every kind in every context: parse time grows about
/// linearly (it once doubled with every bracket: 22 `(` after `let a =` took 3 s).
#[test]
fn parse_time_is_linear_in_bracket_depth() {
    // Timing assertions: not while a CPU-heavy test (tests/pool) runs.
    let _g = crate::signals::timing_sensitive();
    let mut problems = Vec::new();
    for ctx in generate::BRACKET_CONTEXTS {
        for open in generate::OPENERS {
            let mut times: Vec<(usize, Duration)> = Vec::new();
            for n in [8, 16, 32] {
                let src = format!("{ctx}{}\n", open.repeat(n));
                let t = best_parse_time(&src, 30);
                if let Some(&(m, before)) = times.last() {
                    // Plus a microsecond of slack for timer noise on tiny parses.
                    if t > before * 3 + Duration::from_micros(1) {
                        problems.push(format!(
                            "{:?}: {m} brackets {before:?}, {n} brackets {t:?}",
                            format!("{ctx}{open}…")
                        ));
                        // An exponential parse of the next size would not end.
                        break;
                    }
                }
                times.push((n, t));
            }
        }
    }
    assert!(problems.is_empty(), "superlinear:\n{}", problems.join("\n"));
}

/// A megabyte of brackets: nested, balanced and not, of every kind.
#[test]
fn a_megabyte_of_brackets_parses_quickly() {
    // Timing assertions: not while a CPU-heavy test (tests/pool) runs.
    let _g = crate::signals::timing_sensitive();
    let line = |open: &str, close: &str, depth: usize| {
        format!("let a = {}1{}\n", open.repeat(depth), close.repeat(depth))
    };
    let mut balanced = String::new();
    while balanced.len() < 1 << 20 {
        balanced.push_str(&line("(", ")", 100));
        balanced.push_str(&line("[", "]", 100));
        balanced.push_str(&line("#{a: ", "}", 100));
        balanced.push_str("from [1] | map { ");
        balanced.push_str(&"{ ".repeat(100));
        balanced.push_str(&" }".repeat(100));
        balanced.push_str(" }\n");
    }
    let unclosed_last = format!("{balanced}let b = {}\n", "(".repeat(100));
    // (20 deep: with the 100 of a line after it, still under the prescan's depth limit)
    let unclosed_first = format!("let b = {}\n{balanced}", "[".repeat(20));
    let mut problems = Vec::new();
    for (label, src, ok) in [
        ("balanced", &balanced, true),
        ("unclosed at the end", &unclosed_last, false),
        ("unclosed at the start", &unclosed_first, false),
    ] {
        let start = Instant::now();
        let res = flow::parse(src);
        let t = start.elapsed();
        if res.is_ok() != ok {
            problems.push(format!("{label}: parsed is {}, want {ok}", res.is_ok()));
        }
        if t > Duration::from_secs(2) * SLOWDOWN {
            problems.push(format!("{label}: took {:.2}s", t.as_secs_f64()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
