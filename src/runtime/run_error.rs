//! Run errors: the stage that failed (its span), the item, and the cause.

use crate::Span;
use miette::{Diagnostic, LabeledSpan};
use std::fmt;

/// An error while running a script.
#[derive(Debug, Clone)]
pub struct RunError {
    /// The stage or statement that failed.
    pub span: Span,
    /// What went wrong.
    pub kind: RunErrorKind,
    /// The item being processed, shortened.
    pub item: Option<Box<String>>,
    /// For a failed pool job: attempts made and the last lines of its stdout (behind a
    /// pointer: errors are returned by value everywhere and must stay small).
    pub job: Option<std::sync::Arc<JobInfo>>,
    /// What usually causes this error, when the error's site tells (shown as help; boxed:
    /// `RunError` travels in every `Result` of the runtime and must stay small).
    pub help: Option<Box<String>>,
}

/// What a failed pool job adds to its error.
#[derive(Debug, Clone, Default)]
pub struct JobInfo {
    /// Attempts made (1 + retries used).
    pub attempts: u32,
    /// The last lines the job wrote to its stdout.
    pub output_tail: Vec<String>,
}

/// The kinds of run error.
#[derive(Debug, Clone)]
pub enum RunErrorKind {
    /// A process exited non-zero or died of a signal.
    Exit {
        program: String,
        status: String,
        stderr: Vec<String>,
    },
    /// A Rhai runtime error; `at` is where in the script; `value` what Rhai's own `throw`
    /// threw (in a `fn`, a block), as it was.
    Rhai {
        message: String,
        at: Option<Span>,
        value: Option<rhai::Dynamic>,
    },
    /// A process could not be started.
    Spawn { program: String, message: String },
    /// A file could not be opened or written.
    Io { message: String },
    /// A value cannot be used where it is.
    Value { message: String },
    /// A glob matched nothing.
    NoMatch { pattern: String },
    /// A pool item or task ran out of time.
    Timeout { what: String },
    /// `join … timeout` expired.
    JoinTimeout { running: Vec<String> },
    /// SIGINT, SIGTERM or SIGHUP.
    Interrupted { signal: &'static str },
    /// A host or built-in function panicked.
    Panic { message: String },
    /// A task was cancelled and then joined.
    Cancelled,
    /// The host cancelled the run (`CancelToken::cancel` on the run's token).
    CancelledByHost,
    /// The run's value is not of the type the host asked for (`Engine::run_as`).
    ResultType {
        /// The type the host asked for.
        expected: String,
        /// The type of the value the script produced.
        found: String,
    },
    /// The system refused a thread (or another resource) the script asked for.
    Resources { message: String },
    /// The host's sandbox does not allow this program (`Engine::allow_programs`).
    NotAllowed {
        program: String,
        allowed: Vec<String>,
    },
    /// Every part of the script waits on something nothing alive can complete.
    Deadlock { waits: Vec<(Span, String)> },
    /// `throw expr`: the expression's text.
    Thrown {
        message: String,
        /// The value thrown, as it was (`catch e` gives it as `e.value`).
        value: rhai::Dynamic,
    },
    /// `exit(n)`: the script ends with status n (no diagnostic; `try` does not catch it).
    ScriptExit { status: u8 },
}

impl RunError {
    pub(crate) fn new(span: Span, kind: RunErrorKind) -> Self {
        RunError {
            span,
            kind,
            item: None,
            job: None,
            help: None,
        }
    }

    /// With a help line saying what usually causes it.
    #[must_use]
    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(Box::new(help.into()));
        self
    }

    /// Whether the run was stopped from outside — by the host's cancel or by SIGINT/SIGTERM
    /// — rather than failing.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        matches!(
            self.kind,
            RunErrorKind::CancelledByHost | RunErrorKind::Interrupted { .. }
        )
    }

    /// With the item that was being processed (shortened to 80 characters).
    #[must_use]
    pub(crate) fn with_item(mut self, item: &str) -> Self {
        self.item = Some(Box::new(shorten(item, 80)));
        self
    }

    /// The process exit code this error calls for.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match &self.kind {
            RunErrorKind::Interrupted { signal: "SIGTERM" } => 143,
            RunErrorKind::Interrupted { signal: "SIGHUP" } => 129,
            RunErrorKind::Interrupted { .. } | RunErrorKind::CancelledByHost => 130,
            RunErrorKind::JoinTimeout { .. } => 124,
            RunErrorKind::ScriptExit { status } => *status,
            _ => 1,
        }
    }

    /// Whether `try` catches it: every run error but an interrupt and `exit(n)`.
    #[must_use]
    pub(crate) fn catchable(&self) -> bool {
        !matches!(
            self.kind,
            RunErrorKind::Interrupted { .. } | RunErrorKind::ScriptExit { .. }
        )
    }

    /// A failed command's own exit status (128 + signal number when a signal killed it);
    /// for any other error, the status the script would end with.
    #[must_use]
    pub(crate) fn status(&self) -> i64 {
        if let RunErrorKind::Exit { status, .. } = &self.kind {
            if let Some(n) = status.strip_prefix("exit status ") {
                if let Ok(n) = n.trim().parse() {
                    return n;
                }
            }
        }
        i64::from(self.exit_code())
    }
}

pub(crate) fn shorten(s: &str, max: usize) -> String {
    let one_line = s.replace('\n', "\\n");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// For programs whose exit status 1 is an answer, not a failure (`grep` found nothing,
/// `diff` found differences): the help that says so and names the two fixes.
fn exit_one_means(program: &str, status: &str) -> Option<String> {
    if status != "exit status 1" {
        return None;
    }
    let name = program.rsplit('/').next().unwrap_or(program);
    let (meaning, test) = match name {
        "grep" | "egrep" | "fgrep" | "zgrep" | "rg" | "ag" | "pgrep" => {
            ("when nothing matched", format!("if ^{name} -q … {{ … }}"))
        }
        "diff" => ("when the files differ", "if ^diff -q … { … }".to_string()),
        "cmp" => ("when the files differ", "if ^cmp -s … { … }".to_string()),
        "test" | "[" => ("when the test is false", "if ^test … { … }".to_string()),
        _ => return None,
    };
    Some(format!(
        "`{name}` exits 1 {meaning}: to accept that status write `unchecked {name} …`, or \
         branch on it with `{test}`"
    ))
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use RunErrorKind as K;
        match &self.kind {
            K::Exit {
                program, status, ..
            } => write!(f, "`{program}` failed: {status}")?,
            K::Rhai { message, .. } => write!(f, "{message}")?,
            K::Spawn { program, message } => write!(f, "cannot start `{program}`: {message}")?,
            K::Io { message } | K::Value { message } => write!(f, "{message}")?,
            K::NoMatch { pattern } => write!(f, "no file matches `{pattern}`")?,
            K::Timeout { what } => write!(f, "{what} timed out")?,
            K::JoinTimeout { running } => {
                write!(f, "join timed out; still running: {}", running.join(", "))?;
            }
            K::Interrupted { signal } => write!(f, "interrupted by {signal}")?,
            K::Panic { message } => write!(f, "a function panicked: {message}")?,
            K::Cancelled => write!(f, "the task was cancelled")?,
            K::Thrown { message, .. } => write!(f, "{message}")?,
            K::ScriptExit { status } => write!(f, "exit({status})")?,
            K::CancelledByHost => write!(f, "the run was cancelled by the host")?,
            K::ResultType { expected, found } => write!(
                f,
                "the script's value is {found}, but the host asked for {expected}"
            )?,
            K::Resources { message } => write!(f, "{message}")?,
            K::NotAllowed { program, .. } => {
                write!(f, "the host does not allow this script to run `{program}`")?;
            }
            K::Deadlock { waits } => write!(
                f,
                "deadlock: every part of the script is waiting, and nothing can wake it ({} wait{})",
                waits.len(),
                if waits.len() == 1 { "" } else { "s" }
            )?,
        }
        if let Some(item) = &self.item {
            write!(f, " (item: {item}")?;
            if let Some(n) = self.job.as_ref().map(|j| j.attempts) {
                write!(f, ", after {n} attempt{}", if n == 1 { "" } else { "s" })?;
            }
            write!(f, ")")?;
        }
        Ok(())
    }
}

impl std::error::Error for RunError {}

impl Diagnostic for RunError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        use RunErrorKind as K;
        Some(Box::new(match &self.kind {
            K::Exit { .. } => "flow::run::exit_status",
            K::Rhai { .. } => "flow::run::rhai",
            K::Spawn { .. } => "flow::run::spawn",
            K::Io { .. } => "flow::run::io",
            K::Value { .. } => "flow::run::value",
            K::NoMatch { .. } => "flow::run::no_match",
            K::Timeout { .. } => "flow::run::timeout",
            K::JoinTimeout { .. } => "flow::run::join_timeout",
            K::Interrupted { .. } => "flow::run::interrupted",
            K::Panic { .. } => "flow::run::panic",
            K::Cancelled => "flow::run::cancelled",
            K::CancelledByHost => "flow::run::cancelled_by_host",
            K::ResultType { .. } => "flow::run::result_type",
            K::Resources { .. } => "flow::run::resources",
            K::NotAllowed { .. } => "flow::run::not_allowed",
            K::Deadlock { .. } => "flow::run::deadlock",
            K::Thrown { .. } => "flow::run::thrown",
            K::ScriptExit { .. } => "flow::run::exit",
        }))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        if let Some(h) = &self.help {
            return Some(Box::new(h));
        }
        let stdout = self
            .job
            .as_ref()
            .filter(|j| !j.output_tail.is_empty())
            .map(|j| format!("last lines of its stdout:\n{}", j.output_tail.join("\n")));
        match &self.kind {
            RunErrorKind::Exit {
                program,
                status,
                stderr,
            } if !stderr.is_empty() || exit_one_means(program, status).is_some() => {
                let mut parts: Vec<String> = vec![];
                if let Some(why) = exit_one_means(program, status) {
                    parts.push(why);
                }
                if !stderr.is_empty() {
                    parts.push(format!("last lines of its stderr:\n{}", stderr.join("\n")));
                }
                parts.extend(stdout);
                Some(Box::new(parts.join("\n")))
            }
            _ if stdout.is_some() => stdout.map(|s| Box::new(s) as Box<dyn fmt::Display>),
            RunErrorKind::NoMatch { .. } => {
                Some(Box::new("quote the word to pass it literally: '…'"))
            }
            RunErrorKind::Deadlock { .. } => Some(Box::new(
                "a channel's reader and its writer must run at the same time: spawn one side \
                 (`let p = spawn { … | into ch }`, then `from ch | …`), and make sure some task \
                 sends to every channel that is read",
            )),
            RunErrorKind::NotAllowed { allowed, .. } => Some(Box::new(if allowed.is_empty() {
                "this host runs scripts without starting any program".to_string()
            } else {
                format!("the programs allowed here: {}", allowed.join(", "))
            })),
            RunErrorKind::ResultType { .. } => Some(Box::new(
                "end the script with a statement that yields that type, or ask for \
                 `rhai::Dynamic` and inspect the value",
            )),
            RunErrorKind::Resources { .. } => Some(Box::new(
                "the script runs more at once than the system allows: use a smaller pool, \
                 fewer stages or tasks at a time, or raise the limit (`ulimit -u` for \
                 threads and processes, `ulimit -n` for pipes and files, `ulimit -v` for \
                 memory; /proc/sys/kernel/threads-max, /proc/sys/vm/max_map_count)",
            )),
            _ => None,
        }
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let mut v = vec![];
        match &self.kind {
            RunErrorKind::Rhai { at: Some(at), .. } if *at != self.span => {
                // Labels must not overlap: miette draws a label inside another one's span
                // after that span's end. Inside the stage, the stage's label ends where the
                // error starts.
                let inside = at.start >= self.span.start && at.start < self.span.end;
                let stage = if inside {
                    Span::new(self.span.start, at.start)
                } else {
                    self.span
                };
                if stage.start < stage.end {
                    v.push(LabeledSpan::new_with_span(
                        Some("in this stage".into()),
                        stage,
                    ));
                }
                v.push(LabeledSpan::new_with_span(
                    Some("the error is here".into()),
                    *at,
                ));
            }
            RunErrorKind::Deadlock { waits } => {
                for (span, what) in waits {
                    v.push(LabeledSpan::new_with_span(Some(what.clone()), *span));
                }
            }
            _ => v.push(LabeledSpan::new_with_span(
                Some("this failed".into()),
                self.span,
            )),
        }
        Some(Box::new(v.into_iter()))
    }
}

impl RunError {
    /// The error as `catch e` gives it: `#{code, message, exit, line, value}` (`src`: the
    /// script, for the line). `value` is what `throw` threw, as it was; `()` otherwise.
    pub(crate) fn to_map(&self, src: &str) -> rhai::Map {
        let code = miette::Diagnostic::code(self).map_or_else(String::new, |c| c.to_string());
        let line = src
            .get(..self.span.start)
            .map_or(0, |s| s.matches('\n').count())
            + 1;
        let mut m = rhai::Map::new();
        m.insert("code".into(), rhai::Dynamic::from(code));
        m.insert("message".into(), rhai::Dynamic::from(self.to_string()));
        m.insert("exit".into(), rhai::Dynamic::from(self.status()));
        m.insert(
            "line".into(),
            rhai::Dynamic::from(i64::try_from(line).unwrap_or(i64::MAX)),
        );
        let value = match &self.kind {
            RunErrorKind::Thrown { value, .. }
            | RunErrorKind::Rhai {
                value: Some(value), ..
            } => value.clone(),
            _ => rhai::Dynamic::UNIT,
        };
        m.insert("value".into(), value);
        m
    }

    /// `on_error keep`'s record of a failed item: `#{error: e, item: it}`.
    pub(crate) fn kept(&self, src: &str, item: Option<rhai::Dynamic>) -> rhai::Dynamic {
        let mut m = rhai::Map::new();
        m.insert("error".into(), rhai::Dynamic::from_map(self.to_map(src)));
        if let Some(it) = item {
            m.insert("item".into(), it);
        }
        rhai::Dynamic::from_map(m)
    }
}
