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
    /// Attempts made (pools with retries).
    pub attempts: Option<u32>,
    /// What usually causes this error, when the error's site tells (shown as help).
    /// `item` and `help` are boxed thin: `RunError` travels in every `Result` of the
    /// runtime and stays under clippy's 128 bytes.
    pub help: Option<Box<String>>,
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
    /// A Rhai runtime error; `at` is where in the script.
    Rhai { message: String, at: Option<Span> },
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
    /// SIGINT or SIGTERM.
    Interrupted { signal: &'static str },
    /// A host or built-in function panicked.
    Panic { message: String },
    /// A task was cancelled and then joined.
    Cancelled,
    /// The system refused a thread (or another resource) the script asked for.
    Resources { message: String },
    /// `exit(n)` was called: not a failure, the script ends with `status` (SPEC §3).
    ExitRequested { status: u8 },
}

impl RunError {
    pub(crate) fn new(span: Span, kind: RunErrorKind) -> Self {
        RunError {
            span,
            kind,
            item: None,
            attempts: None,
            help: None,
        }
    }

    /// With a help line saying what usually causes it.
    #[must_use]
    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(Box::new(help.into()));
        self
    }

    /// With the item that was being processed (shortened to 80 characters).
    #[must_use]
    pub(crate) fn with_item(mut self, item: &str) -> Self {
        self.item = Some(Box::new(shorten(item, 80)));
        self
    }

    /// The process exit code this error calls for (SPEC §8).
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match &self.kind {
            RunErrorKind::Interrupted { signal: "SIGTERM" } => 143,
            RunErrorKind::Interrupted { .. } => 130,
            RunErrorKind::JoinTimeout { .. } => 124,
            RunErrorKind::ExitRequested { status } => *status,
            _ => 1,
        }
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
            K::Resources { message } => write!(f, "{message}")?,
            K::ExitRequested { status } => write!(f, "exit({status})")?,
        }
        if let Some(item) = &self.item {
            write!(f, " (item: {item}")?;
            if let Some(n) = self.attempts {
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
            K::Resources { .. } => "flow::run::resources",
            K::ExitRequested { .. } => "flow::run::exit",
        }))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        if let Some(h) = &self.help {
            return Some(Box::new(h));
        }
        match &self.kind {
            RunErrorKind::Exit { stderr, .. } if !stderr.is_empty() => Some(Box::new(format!(
                "last lines of its stderr:\n{}",
                stderr.join("\n")
            ))),
            RunErrorKind::NoMatch { .. } => {
                Some(Box::new("quote the word to pass it literally: '…'"))
            }
            RunErrorKind::Resources { .. } => Some(Box::new(
                "the script runs more threads at once than the system allows: use fewer \
                 stages or tasks at a time, or raise the limit (`ulimit -u`, \
                 /proc/sys/kernel/threads-max, /proc/sys/vm/max_map_count)",
            )),
            _ => None,
        }
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let mut v = vec![];
        match &self.kind {
            RunErrorKind::Rhai { at: Some(at), .. } if *at != self.span => {
                v.push(LabeledSpan::new_with_span(
                    Some("in this stage".into()),
                    self.span,
                ));
                v.push(LabeledSpan::new_with_span(
                    Some("the error is here".into()),
                    *at,
                ));
            }
            _ => v.push(LabeledSpan::new_with_span(
                Some("this failed".into()),
                self.span,
            )),
        }
        Some(Box::new(v.into_iter()))
    }
}
