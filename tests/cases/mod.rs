//! The data-driven end-to-end cases: every `tests/cases/<area>/<name>.flow` is run by the
//! `flow` binary and compared with the expectation files beside it.
//!
//! | file | meaning |
//! |---|---|
//! | `<name>.stdout` | exact expected stdout |
//! | `<name>.stderr` | exact expected stderr |
//! | `<name>.stderr_contains` | each non-empty line must appear in stderr (instead of `.stderr`) |
//! | `<name>.status` | expected exit code (default 0) |
//! | `<name>.args` | argv after `flow`, one per line, `{}` = the script (default: the script) |
//! | `<name>.stdin` | fed to stdin (default `/dev/null`) |
//! | `<name>.path` | directories (from the case's directory), one per line, put before `PATH` |
//!
//! Runs use cwd = the case's directory, `NO_COLOR=1`, `COLUMNS=100`, and a 60 s timeout.
//! Every case also holds the runtime to the plan: each pipeline of the script that the run
//! starts (recorded through `FLOW_STAGES_STARTED`) must start exactly the segments that
//! `flow plan --format json` shows for it.
//! Each case is a test of its own, `cases::<area>::<name>` (build.rs generates them), so
//! `cargo test --release cases::pool::` runs one area and a failure names its case.
//! `FLOW_BLESS=1 cargo test` rewrites `.stdout`/`.stderr`/`.status` from actual output: the
//! ones that exist, plus `.status` when non-zero; a case with no expectation files gets
//! `.stdout` and `.stderr` (and `.status` if non-zero). Review the diff before committing.

use crate::harness::{diff, expand_args, repo_root, run_flow, Invocation, Output, TIMEOUT};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One `.flow` file and the expectations beside it.
struct Case {
    /// `area/name`, for reports.
    id: String,
    dir: PathBuf,
    name: String,
}

impl Case {
    fn file(&self, ext: &str) -> PathBuf {
        self.dir.join(format!("{}.{ext}", self.name))
    }

    fn read(&self, ext: &str) -> Option<String> {
        let p = self.file(ext);
        p.exists().then(|| {
            std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
        })
    }

    fn script_file_name(&self) -> String {
        format!("{}.flow", self.name)
    }

    /// The `.path` directories, put before `PATH` for the run.
    fn path_first(&self) -> Vec<PathBuf> {
        self.read("path").map_or_else(Vec::new, |text| {
            text.lines()
                .filter(|l| !l.is_empty())
                .map(|l| self.dir.join(l))
                .collect()
        })
    }

    /// Run the case; each pipeline the run starts is recorded in `stages_log`.
    fn run(&self, stages_log: &Path) -> Output {
        let args: Option<Vec<String>> = self.read("args").map(|text| {
            text.lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        });
        let argv = expand_args(args.as_deref(), &self.script_file_name());
        let stdin = self.file("stdin");
        let stdin = stdin
            .exists()
            .then(|| std::fs::read(&stdin).expect("read .stdin"));
        let path_first = self.path_first();
        run_flow(&Invocation {
            args: &argv,
            cwd: &self.dir,
            stdin: stdin.as_deref(),
            timeout: TIMEOUT,
            path_first: &path_first,
            env: &[("FLOW_STAGES_STARTED", stages_log.as_os_str())],
        })
    }

    /// `flow plan --format json` of the case's script, run as the case is (same directory
    /// and `PATH`).
    fn plan(&self) -> Output {
        let path_first = self.path_first();
        let args = [
            "plan".to_string(),
            "--format".to_string(),
            "json".to_string(),
            self.script_file_name(),
        ];
        run_flow(&Invocation {
            args: &args,
            cwd: &self.dir,
            stdin: None,
            timeout: TIMEOUT,
            path_first: &path_first,
            env: &[],
        })
    }

    /// Every pipeline of the case's script that the run started, in `log` (one JSON line
    /// each, `FLOW_STAGES_STARTED`), must have started exactly the segments that
    /// `flow plan --format json` shows for it: the plan is what runs. Report text of the
    /// differences (empty: they agree).
    fn compare_plan(&self, log: &str) -> String {
        let script = self.script_file_name();
        let started: Vec<serde_json::Value> = log
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["script"] == script.as_str())
            .collect();
        if started.is_empty() {
            return String::new();
        }
        let out = self.plan();
        let plan: serde_json::Value = match serde_json::from_str(&out.stdout) {
            Ok(v) => v,
            Err(e) => {
                return format!(
                    "`flow plan --format json` gave no JSON ({e}):\n{}",
                    out.stderr
                )
            }
        };
        let empty = vec![];
        let pipelines = plan["pipelines"].as_array().unwrap_or(&empty);
        let mut report = String::new();
        for run in &started {
            let planned = pipelines.iter().find(|p| p["span"] == run["span"]);
            match planned {
                None => {
                    let _ = writeln!(
                        report,
                        "the run started a pipeline at {} that `flow plan` does not show",
                        run["span"]
                    );
                }
                Some(p) if p["segments"] != run["segments"] => {
                    let _ = writeln!(
                        report,
                        "pipeline at {}: the run started\n  {}\nbut `flow plan` shows\n  {}",
                        run["span"], run["segments"], p["segments"]
                    );
                }
                Some(_) => {}
            }
        }
        report
    }

    /// Every way `out` differs from the expectations, as report text (empty: it passed).
    fn compare(&self, out: &Output) -> String {
        let mut report = String::new();
        if let Some(msg) = out.timeout_message() {
            let _ = writeln!(report, "{msg}");
        }
        let want_status = match self.read("status") {
            Some(s) => s
                .trim()
                .parse::<i32>()
                .unwrap_or_else(|_| panic!("{}: .status is not a number: {s:?}", self.id)),
            None => 0,
        };
        if out.status != Some(want_status) {
            let _ = writeln!(
                report,
                "exit status: expected {want_status}, got {}",
                out.status_text()
            );
        }
        if let Some(want) = self.read("stdout") {
            if want != out.stdout {
                let _ = write!(report, "stdout differs:\n{}", diff(&want, &out.stdout));
            }
        }
        if let Some(want) = self.read("stderr") {
            if want != out.stderr {
                let _ = write!(report, "stderr differs:\n{}", diff(&want, &out.stderr));
            }
        }
        if let Some(wants) = self.read("stderr_contains") {
            for want in wants.lines().filter(|l| !l.trim().is_empty()) {
                if !out.stderr.contains(want) {
                    let _ = writeln!(report, "stderr does not contain {want:?}");
                }
            }
        }
        if !report.is_empty() && self.read("stderr").is_none() && !out.stderr.is_empty() {
            let _ = write!(report, "--- stderr ---\n{}", out.stderr);
        }
        report
    }

    /// Rewrite the expectation files from `out` (see the module docs for which).
    fn bless(&self, out: &Output) {
        let has = |ext: &str| self.file(ext).exists();
        let fresh = !["stdout", "stderr", "stderr_contains", "status"]
            .iter()
            .any(|e| has(e));
        let status = out.status.unwrap_or(-1);
        let write = |ext: &str, text: &str| {
            std::fs::write(self.file(ext), text).expect("write an expectation file");
        };
        if fresh || has("stdout") {
            write("stdout", &out.stdout);
        }
        if fresh || has("stderr") {
            write("stderr", &out.stderr);
        }
        if has("status") || status != 0 {
            write("status", &format!("{status}\n"));
        }
    }
}

/// Every `.flow` file under `root`, sorted, as cases.
fn discover(root: &Path) -> Vec<Case> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("read a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "flow") {
                let name = path
                    .file_stem()
                    .expect("a file name")
                    .to_string_lossy()
                    .into_owned();
                let rel = path.strip_prefix(root).expect("under the root");
                let id = rel.with_extension("").to_string_lossy().into_owned();
                found.push(Case {
                    id,
                    dir: dir.clone(),
                    name,
                });
            }
        }
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    found
}

include!(concat!(env!("OUT_DIR"), "/cases.rs"));

/// Run the case `area/name` (a test of its own, generated by build.rs): with `FLOW_BLESS=1`,
/// rewrite its expectations first.
fn run_case(area: &str, name: &str) {
    let root = repo_root().join("tests").join("cases");
    let case = Case {
        id: format!("{area}/{name}"),
        dir: root.join(area),
        name: name.to_string(),
    };
    assert!(
        case.file("flow").exists(),
        "{}: no such case (build.rs lists the cases; rebuild)",
        case.id
    );
    let bless = std::env::var_os("FLOW_BLESS").is_some_and(|v| !v.is_empty() && v != "0");
    let log = tempfile::NamedTempFile::new().expect("a temporary file");
    let out = case.run(log.path());
    if bless && !out.timed_out {
        case.bless(&out);
    }
    let mut report = case.compare(&out);
    let started = std::fs::read_to_string(log.path()).unwrap_or_default();
    report.push_str(&case.compare_plan(&started));
    assert!(
        report.is_empty(),
        "case {} failed (FLOW_BLESS=1 rewrites its expectations):\n{report}",
        case.id
    );
}

/// Every case file has its test: a case added without a rebuild would be skipped silently.
#[test]
fn every_case_file_has_a_test() {
    let root = repo_root().join("tests").join("cases");
    let generated = include_str!(concat!(env!("OUT_DIR"), "/cases.rs"));
    let cases = discover(&root);
    assert!(!cases.is_empty(), "no cases under {}", root.display());
    for c in cases {
        let (area, name) = c.id.split_once('/').expect("area/name");
        assert!(
            generated.contains(&format!("super::run_case({area:?}, {name:?})")),
            "{} has no generated test",
            c.id
        );
    }
}
