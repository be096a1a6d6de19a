//! Running: a compiled script to its end, its value (typed or not), and cancelling from
//! another thread.

use crate::api::io::RunSink;
use crate::runtime::{run_script, CancelToken, RunError, RunErrorKind, RunOptions};
use crate::{Engine, Error, Script};
use rhai::Dynamic;
use std::any::Any;

impl Engine {
    /// Run a script to the end. Its value is the value of its last statement: for a
    /// pipeline ending in a reducing sink (`count`, `sum`, `first`, `last`, `collect`,
    /// `text`, `reduce`) that sink's value, which is then not printed (unless
    /// [`Engine::print_result`]); for a Rhai expression its value; for an `if`, the last
    /// statement of the branch taken; otherwise `()`.
    ///
    /// # Errors
    /// The run error (see [`RunError::exit_code`]; render it with [`Script::render_error`]).
    pub fn run(&self, script: &Script) -> Result<Dynamic, RunError> {
        self.run_with_cancel(script, &CancelToken::new(), vec![])
    }

    /// Run a script and take its value as a `T` (`i64`, `f64`, `bool`, `String`,
    /// `rhai::Array`, `rhai::Map`, a registered type, or `Dynamic`). No conversion is made:
    /// an integer is an `i64`.
    ///
    /// ```
    /// let engine = flow::Engine::new();
    /// let s = engine.compile("from [\"a\", \"b\"] | text").unwrap();
    /// assert_eq!(engine.run_as::<String>(&s).unwrap(), "a\nb");
    /// let e = engine.run_as::<i64>(&s).unwrap_err();
    /// assert_eq!(e.to_string(), "the script's value is `a\\nb` (string), but the host asked for i64");
    /// ```
    ///
    /// # Errors
    /// The run error, or `flow::run::result_type` naming both types when the value is not a `T`.
    pub fn run_as<T: Any>(&self, script: &Script) -> Result<T, RunError> {
        cast(self.run(script)?, script)
    }

    /// Compile and run `source` (named `<eval>`), and take its value as a `T`.
    ///
    /// ```
    /// let mut engine = flow::Engine::new();
    /// engine.set_var("n", 10_i64);
    /// assert_eq!(engine.eval::<i64>("from 1..=n | filter { it % 2 == 0 } | count").unwrap(), 5);
    /// ```
    ///
    /// # Errors
    /// [`Error::Compile`] with the diagnostics, or [`Error::Run`].
    pub fn eval<T: Any>(&self, source: &str) -> Result<T, Error> {
        let script = self.compile_named("<eval>", source)?;
        self.run_as(&script).map_err(|e| script.error(e))
    }

    /// Run with `args` (the script's `args` array), stoppable from another thread through
    /// `cancel`: the same shutdown as Ctrl-C (`on_interrupt` blocks run, processes are
    /// signalled, then killed after the grace period, and reaped).
    ///
    /// # Errors
    /// The run error. A run stopped by `cancel` reports [`RunErrorKind::CancelledByHost`]
    /// (or `Interrupted` when the reason given was `Interrupt`/`Terminate`), never the
    /// failures its statements saw while being stopped; [`RunError::is_cancelled`] is true.
    pub fn run_with_cancel(
        &self,
        script: &Script,
        cancel: &CancelToken,
        args: Vec<String>,
    ) -> Result<Dynamic, RunError> {
        self.run_inner(script, cancel, args, vec![], None)
    }

    /// A run with the engine's variables and sinks, then `extra` variables over them (a
    /// [`crate::Vars`]'s); `vars_out` gets the script's variables when it ends.
    pub(crate) fn run_inner(
        &self,
        script: &Script,
        cancel: &CancelToken,
        args: Vec<String>,
        extra: Vec<(String, Dynamic)>,
        vars_out: Option<crate::runtime::VarsOut>,
    ) -> Result<Dynamic, RunError> {
        let mut vars = self.vars.clone();
        // Each run gets its own sink channels, closed (by the guards) when it ends.
        let mut guards: Vec<RunSink> = Vec::with_capacity(self.sinks.len());
        for (name, sink) in &self.sinks {
            let (ch, guard) = sink.open_run();
            vars.push((name.clone(), Dynamic::from(ch)));
            guards.push(guard);
        }
        vars.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        vars.extend(extra);
        let opts = RunOptions {
            args,
            cancel: cancel.clone(),
            handle_signals: self.handle_signals,
            vars,
            hooks: self.hooks.iter().chain(&self.limits).cloned().collect(),
            output: self.output.clone(),
            print_result: self.print_result,
            stages_started: None,
            engines: Some(self.engines.clone()),
            vars_out,
            inherit_stdin: self.inherit_stdin,
            programs: self.programs.clone(),
            report: self.report.clone(),
        };
        let r = run_script(script, opts);
        drop(guards);
        r
    }
}

/// The run's value as a `T`, or an error naming both types at the script's last statement.
fn cast<T: Any>(v: Dynamic, script: &Script) -> Result<T, RunError> {
    let v = match typed::<T>(v) {
        Ok(t) => return Ok(t),
        Err(v) => v,
    };
    let found = if v.is_unit() {
        "nothing (`()`)".to_string()
    } else {
        let text = crate::runtime::run_error::shorten(&crate::script::display::display(&v), 40);
        format!("`{text}` ({})", v.type_name())
    };
    let expected = rhai::Engine::new_raw()
        .map_type_name(std::any::type_name::<T>())
        .to_string();
    let span = script.ast.stmts.last().map(|s| s.span).unwrap_or_default();
    Err(RunError::new(
        span,
        RunErrorKind::ResultType { expected, found },
    ))
}

/// `v` as a `T`, or `v` back: Rhai's own cast, or an array as a `Vec` of a basic type.
pub(crate) fn typed<T: Any>(v: Dynamic) -> Result<T, Dynamic> {
    if let Some(t) = v.clone().try_cast::<T>() {
        return Ok(t);
    }
    vec_of::<T>(&v).ok_or(v)
}

/// An array as a `Vec` of strings, integers, floats or booleans (`run_as::<Vec<String>>`),
/// when every element is of that type.
fn vec_of<T: Any>(v: &Dynamic) -> Option<T> {
    use std::any::TypeId;
    let arr = v.read_lock::<rhai::Array>()?;
    let t = TypeId::of::<T>();
    fn all<U>(arr: &rhai::Array, f: impl Fn(&Dynamic) -> Option<U>) -> Option<Vec<U>> {
        arr.iter().map(f).collect()
    }
    let out: Box<dyn Any> = if t == TypeId::of::<Vec<String>>() {
        Box::new(all(&arr, |x| x.clone().into_string().ok())?)
    } else if t == TypeId::of::<Vec<i64>>() {
        Box::new(all(&arr, |x| x.as_int().ok())?)
    } else if t == TypeId::of::<Vec<f64>>() {
        Box::new(all(&arr, |x| x.as_float().ok())?)
    } else if t == TypeId::of::<Vec<bool>>() {
        Box::new(all(&arr, |x| x.as_bool().ok())?)
    } else {
        return None;
    };
    out.downcast::<T>().ok().map(|b| *b)
}
