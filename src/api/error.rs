//! `Error`: what [`crate::Engine::eval`] reports — a script that did not compile, or a run
//! that failed — with the source to render it against.

use crate::{render, Diagnostics, RenderOptions, RunError, SourceFile};
use std::fmt;

/// A script that did not compile, or a run that failed.
#[derive(Debug)]
pub enum Error {
    /// Parse or check errors.
    Compile(Diagnostics),
    /// The run failed (or was cancelled).
    Run {
        /// The run error (boxed: errors are returned by value and must stay small).
        error: Box<RunError>,
        /// The script it is about.
        source: SourceFile,
    },
}

impl Error {
    /// Render the error(s) against the script.
    #[must_use]
    pub fn render(&self, opts: RenderOptions) -> String {
        match self {
            Error::Compile(d) => d.render(opts),
            Error::Run { error, source } => render(&[&**error], source, opts),
        }
    }

    /// The exit code the CLI would use: 2 for a compile error, else the run error's.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Compile(_) => 2,
            Error::Run { error, .. } => error.exit_code(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Compile(d) => {
                let texts: Vec<String> = d.errors.iter().map(ToString::to_string).collect();
                write!(f, "{}: {}", d.source.name, texts.join("; "))
            }
            Error::Run { error, source } => write!(f, "{}: {error}", source.name),
        }
    }
}

impl std::error::Error for Error {}

impl From<Diagnostics> for Error {
    fn from(d: Diagnostics) -> Self {
        Error::Compile(d)
    }
}

impl crate::Script {
    /// An error of one of its runs, with the script's source: a [`crate::Error`] for `?`.
    #[must_use]
    pub fn error(&self, error: crate::RunError) -> crate::Error {
        crate::Error::Run {
            error: Box::new(error),
            source: self.source.clone(),
        }
    }

    /// Render an error of one of its runs against its source (the CLI's format).
    #[must_use]
    pub fn render_error(&self, error: &crate::RunError, opts: crate::RenderOptions) -> String {
        crate::render(&[error], &self.source, opts)
    }
}
