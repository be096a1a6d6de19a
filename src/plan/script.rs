//! A compiled script: parsed, checked, and ready to run any number of times.

use crate::check::{self, CheckError, CheckOptions};
use crate::plan::Plan;
use crate::{ast::Ast, render, ParseError, ParseErrorKind, RenderOptions, SourceFile, Span};
use miette::Diagnostic;
use std::sync::OnceLock;

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

/// Every error rendered against the source, without colour (what `{}` and a `main` that
/// returns the error print).
impl std::fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self.render(RenderOptions {
            color: false,
            width: 100,
        });
        f.write_str(text.trim_end())
    }
}

/// So that `engine.compile(src)?` works in a function returning `Box<dyn Error>` (or
/// `anyhow::Result`).
impl std::error::Error for Diagnostics {}

/// A parsed and checked script.
#[derive(Debug, Clone)]
pub struct Script {
    /// Its source.
    pub source: SourceFile,
    /// Its syntax tree.
    pub ast: Ast,
    /// The checker's warnings, in source order.
    warnings: Vec<CheckError>,
    /// Built on first use: only `flow plan` and the REPL's `:plan` show it, and for a long
    /// script it costs as much as the rest of the check.
    plan: OnceLock<Plan>,
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
        let ast = match crate::syntax::parse_with(&source.text, &opts.known_vars) {
            Ok(a) => a,
            Err(es) => return fail(source, es.into_iter().map(|e| Box::new(e) as _).collect()),
        };
        match check::check_only(&ast, &source.text, opts) {
            Ok(warnings) => Ok(Script {
                source,
                ast,
                warnings,
                plan: OnceLock::new(),
            }),
            Err(es) => fail(source, es.into_iter().map(|e| Box::new(e) as _).collect()),
        }
    }

    /// The plan graph (with the warnings).
    #[must_use]
    pub fn plan(&self) -> &Plan {
        self.plan
            .get_or_init(|| Plan::build(&self.ast, &self.source.text, self.warnings.clone()))
    }

    /// The checker's warnings, in source order (the plan's, without building the plan).
    #[must_use]
    pub fn warnings(&self) -> &[CheckError] {
        &self.warnings
    }

    /// The script's name, as shown in its diagnostics.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.source.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_come_without_the_plan_and_are_the_plans() {
        let src = "let x = \"a\"\nbash -c \"echo ${x}\" | wc -l\n";
        let opts = CompileOptions::default();
        let s = Script::compile(SourceFile::new("t.flow", src), &opts).expect("compiles");
        let shown = |ws: &[CheckError]| ws.iter().map(ToString::to_string).collect::<Vec<_>>();
        let warnings = shown(s.warnings());
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(s.plan.get().is_none(), "compile built the plan");
        assert_eq!(shown(s.plan().warnings()), warnings);
        assert!(s.plan().render_text().contains("wc -l"));
    }
}
