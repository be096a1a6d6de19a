//! The embedding API's `Engine`: configuration shared by the scripts it compiles and runs.
//! What a host can do with it is split by verb under `api/` (compile, run, register, io).
//! No signal handler is installed unless the host asks, and nothing is global: two engines
//! in one process do not interfere.

use crate::api::io::SinkShared;
use crate::runtime::{EngineHook, OutputHook};
use rhai::Dynamic;
use std::sync::Arc;

/// A flow engine: variables, host functions, named sources and sinks, an output hook, and
/// options, shared by every script it compiles and runs. Cloning it shares its sinks and
/// its output hook; runs of one engine may go on concurrently from several threads.
///
/// ```
/// let mut engine = flow::Engine::new();
/// engine.set_var("n", 4_i64);
/// engine.register(|rhai| {
///     rhai.register_fn("triple", |x: i64| x * 3);
/// });
/// engine.declare_fn("triple", 1);
/// let script = engine.compile("from 1..=n | map triple | sum").unwrap();
/// assert_eq!(engine.run_as::<i64>(&script).unwrap(), 30);
/// ```
#[derive(Clone, Default)]
pub struct Engine {
    pub(crate) vars: Vec<(String, Dynamic)>,
    pub(crate) hooks: Vec<EngineHook>,
    pub(crate) fns: Vec<(String, usize)>,
    pub(crate) handle_signals: bool,
    pub(crate) print_result: bool,
    pub(crate) output: Option<OutputHook>,
    pub(crate) sinks: Vec<(String, Arc<SinkShared>)>,
    /// Names each run gets from its [`crate::Vars`], known to the checker.
    pub(crate) declared_vars: Vec<String>,
    /// The sandbox: programs allowed (`None`: any), the host's stdin, Rhai's limits.
    pub(crate) programs: Option<Vec<String>>,
    pub(crate) inherit_stdin: bool,
    pub(crate) limits: Vec<EngineHook>,
    /// Rhai engines built for these registrations, kept between runs (a new set when a
    /// registration is added).
    pub(crate) engines: Arc<crate::runtime::EngineCache>,
    /// Where each run leaves its report, when recording ([`Engine::record_reports`]).
    pub(crate) report: Option<crate::ReportOut>,
}

impl Engine {
    /// An engine with flow's built-ins and nothing else.
    #[must_use]
    pub fn new() -> Self {
        Engine::default()
    }

    /// Make `name` a variable of every script this engine compiles and runs.
    pub fn set_var(&mut self, name: &str, value: impl Into<Dynamic>) -> &mut Self {
        self.vars.retain(|(k, _)| k != name);
        self.sinks.retain(|(k, _)| k != name);
        self.vars.push((name.to_string(), value.into()));
        self
    }

    /// Install SIGINT/SIGTERM handlers during runs (the CLI does; hosts usually do not).
    /// Without them a run is stopped only through its [`crate::CancelToken`].
    pub fn handle_signals(&mut self, yes: bool) -> &mut Self {
        self.handle_signals = yes;
        self
    }

    /// Also print the run's value when the last statement is a pipeline ending in a
    /// reducing sink (`… | sum`), as the CLI does. Off by default: the value is returned by
    /// [`Engine::run`] and not printed. Every other statement-level sink prints either way.
    pub fn print_result(&mut self, yes: bool) -> &mut Self {
        self.print_result = yes;
        self
    }

    /// Record what each run's stages and tasks do (items, busy time, time waiting for
    /// input and output, CPU and memory over time); [`Engine::last_report`] then gives the
    /// newest run's [`crate::RunReport`], to show in the host's own UI. Off by default:
    /// nothing is recorded and nothing costs.
    pub fn record_reports(&mut self, yes: bool) -> &mut Self {
        self.report = yes.then(crate::ReportOut::default);
        self
    }

    /// The report of the newest run, when [`Engine::record_reports`] is on (a failed or
    /// interrupted run's too).
    #[must_use]
    pub fn last_report(&self) -> Option<crate::RunReport> {
        self.report
            .as_ref()
            .and_then(|r| r.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }
}
