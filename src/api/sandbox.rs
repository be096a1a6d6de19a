//! The sandbox a host sets for scripts it did not write: which programs they may start,
//! whether they read the host's stdin, and Rhai's limits on what their code may do.

use crate::Engine;
use std::sync::Arc;

impl Engine {
    /// Only these programs may be started by this engine's scripts, named as scripts name
    /// them (`"grep"`, or an exact path `"/usr/bin/grep"`; `"sh"` for shell commands, which
    /// can run anything, so allowing it allows everything). An empty list: no program at
    /// all. A command, a pool job, `run(…)` or a Slurm job (`srun`) naming another program
    /// fails with `flow::run::not_allowed` where it is, before anything starts; the checker
    /// reports a literal one when the script is compiled. Without a call, any program runs.
    ///
    /// ```
    /// let mut engine = flow::Engine::new();
    /// engine.allow_programs(["echo"]);
    /// let ok = engine.compile("echo hi | wc -c").unwrap_err();
    /// assert!(ok.to_string().contains("`wc` is not allowed"), "{ok}");
    /// let s = engine.compile("let p = \"rm\"\n${p} -rf /tmp/nothing-here").unwrap();
    /// let e = engine.run(&s).unwrap_err();
    /// assert!(matches!(e.kind, flow::RunErrorKind::NotAllowed { .. }), "{e}");
    /// ```
    pub fn allow_programs<S: Into<String>>(
        &mut self,
        programs: impl IntoIterator<Item = S>,
    ) -> &mut Self {
        self.programs = Some(programs.into_iter().map(Into::into).collect());
        self
    }

    /// Let scripts read the host's stdin: a first command with nothing before it inherits
    /// it, and an item stage with nothing before it reads its lines. Off by default for a
    /// host (they read nothing: an empty input); the CLI turns it on.
    pub fn inherit_stdin(&mut self, yes: bool) -> &mut Self {
        self.inherit_stdin = yes;
        self
    }

    /// Rhai's limit on the operations one evaluation may perform (a runaway `while true`
    /// fails with Rhai's "too many operations" error at its line). Applied to every Rhai
    /// engine of a run: the run's, each task's, each pool worker's.
    pub fn max_operations(&mut self, n: u64) -> &mut Self {
        self.limit(move |r| {
            r.set_max_operations(n);
        })
    }

    /// Rhai's limit on nested function calls (recursion depth).
    pub fn max_call_levels(&mut self, n: usize) -> &mut Self {
        self.limit(move |r| {
            r.set_max_call_levels(n);
        })
    }

    /// Rhai's limits on the size of a string (bytes), an array and a map (elements) that
    /// Rhai code builds; 0 for no limit.
    pub fn max_sizes(&mut self, string: usize, array: usize, map: usize) -> &mut Self {
        self.limit(move |r| {
            r.set_max_string_size(string)
                .set_max_array_size(array)
                .set_max_map_size(map);
        })
    }

    fn limit(&mut self, f: impl Fn(&mut rhai::Engine) + Send + Sync + 'static) -> &mut Self {
        self.limits.push(Arc::new(f));
        // Engines built before this limit lack it.
        self.engines = Arc::default();
        self
    }
}
