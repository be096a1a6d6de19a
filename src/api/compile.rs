//! Compiling: parse and check a script against what the engine knows (its variables,
//! sources, sinks and declared functions).

use crate::{CompileOptions, Diagnostics, Engine, Script, SourceFile};

impl Engine {
    /// Parse and check a script, named `<script>` in diagnostics.
    ///
    /// # Errors
    /// Its diagnostics (render them with [`Diagnostics::render`]).
    pub fn compile(&self, source: &str) -> Result<Script, Diagnostics> {
        self.compile_named("<script>", source)
    }

    /// Parse and check a script; `name` (a file name, say) is shown in its diagnostics and
    /// in those of its runs ([`Script::render_error`]).
    ///
    /// ```
    /// let engine = flow::Engine::new();
    /// let d = engine.compile_named("jobs.flow", "from [1] | map nope").unwrap_err();
    /// let text = d.render(flow::RenderOptions { color: false, width: 80 });
    /// assert!(text.contains("jobs.flow"), "{text}");
    /// ```
    ///
    /// # Errors
    /// Its diagnostics.
    pub fn compile_named(&self, name: &str, source: &str) -> Result<Script, Diagnostics> {
        let known_vars = self
            .vars
            .iter()
            .map(|(k, _)| k.clone())
            .chain(self.sinks.iter().map(|(k, _)| k.clone()))
            .chain(self.declared_vars.iter().cloned())
            .collect();
        let opts = CompileOptions {
            known_vars,
            known_fns: self.fns.clone(),
            path: None,
            // What the host registers with Rhai may give scripts names the checker
            // cannot see.
            open_names: !self.hooks.is_empty(),
            allowed_programs: self.programs.clone(),
        };
        Script::compile(SourceFile::new(name, source), &opts)
    }
}
