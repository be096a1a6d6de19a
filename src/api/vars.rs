//! One run's own inputs and outputs: typed variables set for it alone (not engine-wide),
//! sinks private to it that keep everything it sends, and the script's variables read back
//! after it. Runs of one [`crate::Script`] on many threads at once, each with its own
//! [`Vars`], never see each other's variables or items.

use crate::script::channel::FlowChannel;
use crate::{Engine, RunError, Script};
use rhai::Dynamic;
use std::any::Any;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

/// Items a kept sink collected during a run.
type Kept = Arc<Mutex<Vec<Dynamic>>>;

/// The inputs and outputs of one run (see [`Script::run_with`]).
///
/// ```
/// let mut engine = flow::Engine::new();
/// engine.declare_var("n").declare_var("out");
/// let script = engine
///     .compile("let total = from 1..=n | sum\nfrom 1..=n | map { it * it } | into out")
///     .unwrap();
/// let mut vars = flow::Vars::new();
/// vars.set("n", 4_i64).keep("out");
/// let _ = script.run_with(&engine, &mut vars).unwrap();
/// assert_eq!(vars.get::<i64>("total"), Some(10));
/// assert_eq!(vars.items_as::<i64>("out"), Some(vec![1, 4, 9, 16]));
/// ```
#[derive(Default)]
pub struct Vars {
    input: Vec<(String, Dynamic)>,
    kept: Vec<(String, Kept)>,
    after: Option<Vec<(String, Dynamic)>>,
}

impl Vars {
    /// No variables, no sinks.
    #[must_use]
    pub fn new() -> Self {
        Vars::default()
    }

    /// Make `name` a variable of the next run with this value (over an engine's variable of
    /// the same name). The script must know the name when it is compiled: set it on the
    /// engine, or [`Engine::declare_var`] it.
    pub fn set(&mut self, name: &str, value: impl Into<Dynamic>) -> &mut Self {
        self.input.retain(|(k, _)| k != name);
        self.kept.retain(|(k, _)| k != name);
        self.input.push((name.to_string(), value.into()));
        self
    }

    /// Make `name` a sink of the next run that keeps every item sent into it (`| into
    /// name`), for [`Vars::items`] after the run: nothing to read while it runs, nothing
    /// that can fill. (For a bounded sink read as the run goes, use [`Engine::sink`].)
    pub fn keep(&mut self, name: &str) -> &mut Self {
        self.input.retain(|(k, _)| k != name);
        self.kept.retain(|(k, _)| k != name);
        self.kept.push((name.to_string(), Kept::default()));
        self
    }

    /// After a run: the value the script left in variable `name` (one it declared with
    /// `let`, one the host set, `args`), as a `T` (`i64`, `f64`, `bool`, `String`,
    /// `rhai::Array`, `rhai::Map`, `Dynamic`, `Vec<String>`, …). Before any run: the value
    /// set. `None` when there is no such variable or it is not a `T`.
    #[must_use]
    pub fn get<T: Any>(&self, name: &str) -> Option<T> {
        let v = match &self.after {
            Some(after) => after.iter().rev().find(|(k, _)| k == name)?.1.clone(),
            None => self.input.iter().find(|(k, _)| k == name)?.1.clone(),
        };
        super::run::typed::<T>(v).ok()
    }

    /// The names of the script's variables after the run, in the order they were made.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = vec![];
        for (k, _) in self.after.iter().flatten() {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
        names
    }

    /// What the last run sent into the kept sink `name`, in order (empty for a name not
    /// kept).
    #[must_use]
    pub fn items(&self, name: &str) -> Vec<Dynamic> {
        self.kept
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, items)| items.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .unwrap_or_default()
    }

    /// [`Vars::items`], each as a `T`; `None` when one is not a `T`.
    #[must_use]
    pub fn items_as<T: Any>(&self, name: &str) -> Option<Vec<T>> {
        self.items(name)
            .into_iter()
            .map(|v| super::run::typed::<T>(v).ok())
            .collect()
    }
}

impl Engine {
    /// Tell the checker that scripts this engine compiles get a variable `name` per run
    /// ([`Vars::set`], [`Vars::keep`]), so that it is not an unknown name.
    pub fn declare_var(&mut self, name: &str) -> &mut Self {
        if !self.declared_vars.iter().any(|k| k == name) {
            self.declared_vars.push(name.to_string());
        }
        self
    }
}

impl Script {
    /// Run with `vars`: its variables for this run alone, its kept sinks private to it, and,
    /// when it returns, the script's variables readable with [`Vars::get`]. The engine's
    /// variables, functions, sinks and output hook apply as for [`Engine::run`]. Any
    /// number of runs of one script may go on at once, each with its own `Vars`.
    ///
    /// # Errors
    /// The run error (the variables are readable after a failed run too).
    pub fn run_with(&self, engine: &Engine, vars: &mut Vars) -> Result<Dynamic, RunError> {
        let mut extra = vars.input.clone();
        let mut collectors = vec![];
        for (name, items) in &vars.kept {
            items.lock().unwrap_or_else(|e| e.into_inner()).clear();
            let (ch, collector) = collect_into(items.clone());
            extra.push((name.clone(), Dynamic::from(ch)));
            collectors.push(collector);
        }
        let after = Arc::new(Mutex::new(Vec::new()));
        let r = engine.run_inner(
            self,
            &crate::CancelToken::new(),
            vec![],
            extra,
            Some(after.clone()),
        );
        // The run closed the kept sinks' channels: each collector ends after the last item.
        for c in collectors {
            c.finish();
        }
        vars.after = Some(std::mem::take(
            &mut *after.lock().unwrap_or_else(|e| e.into_inner()),
        ));
        r
    }
}

/// A kept sink's collector: the thread that drains its channel into the list while the
/// run goes on (so the bounded channel never fills), and the producer registration that
/// holds the channel open until the run has ended.
struct Collector {
    ch: FlowChannel,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Collector {
    fn finish(mut self) {
        self.ch.unregister();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn collect_into(items: Kept) -> (FlowChannel, Collector) {
    // One reader, always there: the channel is never an unread sink.
    let ch = FlowChannel::new_sink(
        crate::limits::CHANNEL_CAPACITY * 64,
        Arc::new(AtomicUsize::new(1)),
    );
    let _held = ch.register();
    let rx = ch.receiver();
    let thread = std::thread::Builder::new()
        .name("flow-kept-sink".into())
        .spawn(move || {
            for x in rx {
                items.lock().unwrap_or_else(|e| e.into_inner()).push(x);
            }
        })
        .ok();
    (ch.clone(), Collector { ch, thread })
}
