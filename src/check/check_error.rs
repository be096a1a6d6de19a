//! Check errors: what cannot work, found before anything runs.

use crate::Span;
use miette::{Diagnostic, LabeledSpan};
use std::fmt;

/// An error found by the checker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckError {
    /// Where.
    pub span: Span,
    /// What.
    pub kind: CheckErrorKind,
}

/// The kinds of check error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckErrorKind {
    /// A program not found on PATH.
    UnknownCommand {
        name: String,
        suggestion: Option<String>,
    },
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            CheckErrorKind::UnknownCommand { name, .. } => {
                write!(f, "unknown command `{name}`: not found on PATH")
            }
        }
    }
}

impl std::error::Error for CheckError {}

impl Diagnostic for CheckError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(match &self.kind {
            CheckErrorKind::UnknownCommand { .. } => "flow::check::unknown_command",
        }))
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        match &self.kind {
            CheckErrorKind::UnknownCommand {
                suggestion: Some(s),
                ..
            } => Some(Box::new(format!("did you mean `{s}`?"))),
            CheckErrorKind::UnknownCommand { .. } => None,
        }
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some("not found".into()),
            self.span,
        ))))
    }
}
