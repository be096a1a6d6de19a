//! Running the `flow` binary in tests: one process runner (fixed environment, timeout,
//! process-group kill), a line diff for reports, the `Flow` builder for Rust-level tests, and
//! waiting for readiness (a condition polled with a deadline, never a guessed sleep).

mod diff;
mod process;
mod temp_dir;
mod wait;

pub(crate) use diff::diff;
pub(crate) use process::{children_of, run_flow, Invocation, Output};
pub(crate) use temp_dir::TempDir;
pub(crate) use wait::{poll_until, wait_for_exit, wait_for_file, wait_until};

use std::path::PathBuf;
use std::time::Duration;

/// How long one `flow` invocation may take before it is killed and the test fails.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(60);

/// The marker in an argument list that stands for the script's path.
pub(crate) const SCRIPT_MARK: &str = "{}";

/// A Rust-level test of the `flow` binary, read like a spec:
///
/// ```ignore
/// Flow::new().script("ls | wc -l").args(&["check", "{}"]).status(0).run();
/// ```
///
/// The script is written to `script.flow` in a fresh temporary directory, which is the working
/// directory of the run. Without `.args`, the argv is `flow script.flow`; with it, `{}` in
/// each argument is replaced by the script's path. Unset expectations are not checked, except
/// the status, which defaults to 0.
#[derive(Debug, Default)]
#[must_use]
pub(crate) struct Flow {
    script: Vec<u8>,
    args: Option<Vec<String>>,
    stdin: Option<Vec<u8>>,
    files: Vec<(String, Vec<u8>)>,
    stdout: Option<String>,
    stderr: Option<String>,
    stderr_contains: Vec<String>,
    stdout_contains: Vec<String>,
    status: i32,
    timeout: Option<Duration>,
}

impl Flow {
    pub(crate) fn new() -> Self {
        Flow::default()
    }

    /// The script text.
    pub(crate) fn script(mut self, text: &str) -> Self {
        self.script = text.as_bytes().to_vec();
        self
    }

    /// The script as raw bytes (for scripts that are not UTF-8).
    pub(crate) fn script_bytes(mut self, bytes: &[u8]) -> Self {
        self.script = bytes.to_vec();
        self
    }

    /// The command-line arguments after `flow`; `{}` stands for the script's path.
    pub(crate) fn args(mut self, args: &[&str]) -> Self {
        self.args = Some(args.iter().map(|a| (*a).to_string()).collect());
        self
    }

    /// Text fed to flow's stdin (otherwise stdin is `/dev/null`).
    pub(crate) fn stdin(mut self, text: &str) -> Self {
        self.stdin = Some(text.as_bytes().to_vec());
        self
    }

    /// An extra file in the working directory, e.g. an input for the script.
    #[allow(dead_code)]
    pub(crate) fn write(mut self, path: &str, content: &str) -> Self {
        self.files
            .push((path.to_string(), content.as_bytes().to_vec()));
        self
    }

    /// The exact expected stdout.
    pub(crate) fn stdout(mut self, text: &str) -> Self {
        self.stdout = Some(text.to_string());
        self
    }

    /// Text that must appear in stdout (may be given several times).
    #[allow(dead_code)]
    pub(crate) fn stdout_contains(mut self, text: &str) -> Self {
        self.stdout_contains.push(text.to_string());
        self
    }

    /// The exact expected stderr.
    pub(crate) fn stderr(mut self, text: &str) -> Self {
        self.stderr = Some(text.to_string());
        self
    }

    /// Text that must appear in stderr (may be given several times).
    pub(crate) fn stderr_contains(mut self, text: &str) -> Self {
        self.stderr_contains.push(text.to_string());
        self
    }

    /// The expected exit status (default 0).
    pub(crate) fn status(mut self, code: i32) -> Self {
        self.status = code;
        self
    }

    /// A shorter or longer limit than [`TIMEOUT`].
    #[allow(dead_code)]
    pub(crate) fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// Run flow and check every expectation; panic with a report of all mismatches.
    /// Returns the output for further checks.
    #[track_caller]
    pub(crate) fn run(self) -> Output {
        let dir = TempDir::new("builder");
        let script = dir.path().join("script.flow");
        std::fs::write(&script, &self.script).expect("write the script");
        for (path, content) in &self.files {
            let p = dir.path().join(path);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).expect("create a directory for a file");
            }
            std::fs::write(p, content).expect("write a file");
        }
        let args = expand_args(self.args.as_deref(), "script.flow");
        let out = run_flow(&Invocation {
            args: &args,
            cwd: dir.path(),
            stdin: self.stdin.as_deref(),
            timeout: self.timeout.unwrap_or(TIMEOUT),
            path_first: &[],
            env: &[],
        });
        let mut problems = Vec::new();
        if let Some(msg) = out.timeout_message() {
            problems.push(msg);
        }
        if out.status != Some(self.status) {
            problems.push(format!(
                "exit status: expected {}, got {}",
                self.status,
                out.status_text()
            ));
        }
        if let Some(want) = &self.stdout {
            if *want != out.stdout {
                problems.push(format!("stdout differs:\n{}", diff(want, &out.stdout)));
            }
        }
        if let Some(want) = &self.stderr {
            if *want != out.stderr {
                problems.push(format!("stderr differs:\n{}", diff(want, &out.stderr)));
            }
        }
        for want in &self.stdout_contains {
            if !out.stdout.contains(want.as_str()) {
                problems.push(format!("stdout does not contain {want:?}"));
            }
        }
        for want in &self.stderr_contains {
            if !out.stderr.contains(want.as_str()) {
                problems.push(format!("stderr does not contain {want:?}"));
            }
        }
        if !problems.is_empty() {
            panic!(
                "flow {}\n{}\n--- stdout ---\n{}--- stderr ---\n{}",
                args.join(" "),
                problems.join("\n"),
                out.stdout,
                out.stderr
            );
        }
        out
    }
}

/// The argv after `flow`: the given lines with `{}` replaced by `script`, or `[script]`.
pub(crate) fn expand_args(args: Option<&[String]>, script: &str) -> Vec<String> {
    match args {
        None => vec![script.to_string()],
        Some(args) => args
            .iter()
            .map(|a| a.replace(SCRIPT_MARK, script))
            .collect(),
    }
}

/// The top of the repository (for finding `tests/cases`, `examples`, `docs` and `src`): these
/// tests are the test target of `crates/flow-cli`, two folders down.
pub(crate) fn repo_root() -> PathBuf {
    let cli = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = cli.join("../..");
    root.canonicalize().unwrap_or(root)
}
