//! A compiled script: parsed, checked, and ready to run any number of times.

use crate::check::{self, CheckOptions, Plan};
use crate::{ast::Ast, render, ParseError, ParseErrorKind, RenderOptions, SourceFile, Span};
use miette::Diagnostic;

/// Options for [`Script::compile`].
pub type CompileOptions = CheckOptions;

/// The diagnostics of a script that failed to parse or check.
#[derive(Debug)]
pub struct Diagnostics {
    /// The script they are about.
    pub source: SourceFile,
    /// The errors, in source order.
    pub errors: Vec<Box<dyn Diagnostic + Send + Sync>>,
}

impl Diagnostics {
    /// Render every error against the source.
    #[must_use]
    pub fn render(&self, opts: RenderOptions) -> String {
        let d: Vec<&dyn Diagnostic> = self
            .errors
            .iter()
            .map(|e| &**e as &dyn Diagnostic)
            .collect();
        render(&d, &self.source, opts)
    }
}

/// A parsed and checked script.
#[derive(Debug, Clone)]
pub struct Script {
    /// Its source.
    pub source: SourceFile,
    /// Its syntax tree.
    pub ast: Ast,
    plan: Plan,
}

impl Script {
    /// Parse and check `source`.
    ///
    /// # Errors
    /// All parse errors, or all check errors, with spans into `source`.
    pub fn compile(source: SourceFile, opts: &CompileOptions) -> Result<Script, Diagnostics> {
        let fail = |source, errors| Err(Diagnostics { source, errors });
        if let Some(at) = source.bad_utf8_at {
            let e = ParseError::new(Span::new(at, at + 1), ParseErrorKind::NotUtf8);
            return fail(source, vec![Box::new(e)]);
        }
        let ast = match crate::parse(&source.text) {
            Ok(a) => a,
            Err(es) => return fail(source, es.into_iter().map(|e| Box::new(e) as _).collect()),
        };
        match check::check(&ast, &source.text, opts) {
            Ok(plan) => Ok(Script { source, ast, plan }),
            Err(es) => fail(source, es.into_iter().map(|e| Box::new(e) as _).collect()),
        }
    }

    /// The plan graph.
    #[must_use]
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The script's name, as shown in its diagnostics.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.source.name
    }

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
    pub fn render_error(&self, error: &crate::RunError, opts: RenderOptions) -> String {
        render(&[error], &self.source, opts)
    }
}
