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
        /// The program word.
        name: String,
        /// The closest PATH program or keyword.
        suggestion: Option<String>,
    },
    /// A program written as a path (with `/`) that is missing or not executable.
    BadProgramPath {
        /// The path as written.
        path: String,
        /// Whether something exists there.
        exists: bool,
    },
    /// A program the host's sandbox does not allow (`Engine::allow_programs`).
    NotAllowed {
        /// The program as written (`sh` for a shell command).
        name: String,
        /// What the host allows.
        allowed: Vec<String>,
    },
    /// A callable naming no `fn` of the script and no host function.
    UnknownFunction {
        /// The name used.
        name: String,
        /// The closest function name.
        suggestion: Option<String>,
    },
    /// A callable whose `fn` takes the wrong number of parameters.
    Arity {
        /// The stage calling it (`map`, `reduce`, …).
        stage: String,
        /// The function.
        name: String,
        /// How many arguments the stage passes.
        expected: usize,
        /// How many parameters the function has.
        found: usize,
        /// The function's name in its definition (none for host functions).
        defined: Option<Span>,
    },
    /// `$name` naming no variable in scope.
    UnknownVariable {
        /// The name used.
        name: String,
        /// The closest variable in scope.
        suggestion: Option<String>,
        /// In the text of `sh "…"`, where it may be the shell's own variable.
        in_sh: bool,
    },
    /// A name that Rhai code (a block, an expression, a `fn` body) reads and that is no
    /// variable there: not the script's in scope, not the stage's (`it`, `acc`, `seq`,
    /// `slot`), not declared in the code itself.
    UnknownName {
        /// The name read.
        name: String,
        /// The closest name that is a variable there.
        suggestion: Option<String>,
        /// Read in the body of this `fn`, which sees only its parameters.
        in_fn: Option<String>,
        /// The flow spelling, when the name is Python's (`True`, `sys`).
        python: Option<String>,
    },
    /// A call of a Python function or method that flow and Rhai have under another name
    /// (`int(s)`, `s.upper()`, `range(10)`).
    PythonCall {
        /// The name called.
        name: String,
        /// Called as a method: `x.name(…)`.
        method: bool,
        /// The flow spelling.
        help: String,
    },
    /// `name = …` for a name no `let` declared.
    AssignUndeclared {
        /// The name assigned.
        name: String,
    },
    /// `pool 0` or a negative pool size.
    PoolSize {
        /// The size written.
        size: i64,
    },
    /// A literal count that means nothing: `batch 0`, `chunk 0`, `take -1`.
    BadAmount {
        /// The keyword (`batch`, `chunk`, `take`, …).
        what: String,
        /// The number written.
        value: i64,
        /// The smallest number that makes sense.
        min: i64,
    },
    /// A stage after a stage that ends the pipeline (a reducing sink or `into`).
    StageAfterSink {
        /// The ending stage.
        sink: Span,
        /// Its keyword.
        sink_name: String,
    },
    /// `join`/`cancel` of a name that is not a task handle.
    NotATask {
        /// `join` or `cancel`.
        action: String,
        /// The name.
        name: String,
        /// Where the name was declared, when it is a plain variable.
        declared: Option<Span>,
    },
    /// `resume` without `log` in the pool options.
    ResumeWithoutLog,
    /// `backoff D` without `retries R`: there would be nothing to wait between.
    BackoffWithoutRetries,
    /// A `select` branch reads something that is written as a value, not a channel.
    SelectNotAChannel {
        /// What it is: "an array", "a range", …
        what: &'static str,
    },
    /// A value interpolated into `sh "…"` where sh could not take it as data.
    ShInterpolation {
        /// What is wrong there.
        message: String,
        /// How to fix it.
        help: String,
    },
    /// A warning: `bash -c "… ${x} …"` builds a shell script from values, which the shell
    /// then parses as code (`sh "…"` would pass them as data).
    ShellString {
        /// The shell program as written.
        shell: String,
    },
    /// A warning: a channel read with no writer, or filled before any reader runs.
    ChannelWait {
        /// What would wait forever.
        message: String,
        /// How to fix it.
        help: String,
    },
    /// A classic trap (`let out = ls data`, a `fn` naming a script variable, …): see
    /// `traps.rs`. `code` is its own `flow::check::…` code.
    Trap {
        /// The stable code.
        code: &'static str,
        /// What is wrong.
        message: String,
        /// The fix.
        help: String,
        /// Not certain: the script still runs.
        warning: bool,
    },
    /// A variable of the script used inside an `on slurm` job block (`exec { … } on slurm`),
    /// which runs as `flow -c` on a Slurm node: only `it`, `seq`, `slot` and what the block
    /// declares exist there.
    SlurmCapturesVariable {
        /// The variable.
        name: String,
        /// Where the script declared it (none for `args` and the host's variables).
        declared: Option<Span>,
    },
    /// A `fn` of the script called inside an `on slurm` job block: the node has only the
    /// block's own text, not the script's `fn`s.
    SlurmCallsFn {
        /// The function.
        name: String,
        /// Where the script defines it.
        defined: Span,
    },
    /// Rhai code that does not parse.
    RhaiSyntax {
        /// Rhai's message.
        message: String,
        /// The fix when the code is written as Python (`and`, `f"…"`, `{"k": 1}`).
        hint: Option<String>,
    },
    /// A call of a host function (`Engine::declare_fn`) with a number of arguments the host
    /// did not declare.
    HostArity {
        /// The function.
        name: String,
        /// The arities the host declared.
        declared: Vec<usize>,
        /// How many arguments the call passes.
        found: usize,
    },
}

impl CheckError {
    /// An error of `kind` at `span`.
    #[must_use]
    pub fn new(span: Span, kind: CheckErrorKind) -> Self {
        CheckError { span, kind }
    }

    /// A trap or another error known by its code, message and fix (`warning`: the script
    /// still runs).
    pub(crate) fn trap(
        span: Span,
        code: &'static str,
        message: String,
        help: String,
        warning: bool,
    ) -> Self {
        CheckError::new(
            span,
            CheckErrorKind::Trap {
                code,
                message,
                help,
                warning,
            },
        )
    }
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use CheckErrorKind as K;
        match &self.kind {
            K::UnknownCommand { name, .. } => {
                write!(f, "unknown command `{name}`: not found on PATH")
            }
            K::BadProgramPath {
                path,
                exists: false,
            } => write!(f, "program `{path}` does not exist"),
            K::BadProgramPath { path, exists: true } => {
                write!(f, "program `{path}` is not an executable file")
            }
            K::NotAllowed { name, .. } => write!(f, "`{name}` is not allowed by this host"),
            K::UnknownFunction { name, .. } => write!(f, "unknown function `{name}`"),
            K::Arity {
                stage,
                name,
                expected,
                found,
                ..
            } => write!(
                f,
                "`{stage}` calls `{name}` with {}, but `{name}` takes {}",
                plural(*expected, "argument"),
                plural(*found, "parameter")
            ),
            K::UnknownVariable { name, .. } => write!(f, "unknown variable `${name}`"),
            K::UnknownName { name, .. } => write!(f, "unknown variable `{name}`"),
            K::PythonCall {
                name, method: true, ..
            } => write!(f, "unknown method `{name}`"),
            K::PythonCall { name, .. } => write!(f, "unknown function `{name}`"),
            K::AssignUndeclared { name } => {
                write!(f, "assignment to `{name}`, which no `let` declared")
            }
            K::PoolSize { size } => write!(f, "a pool needs at least one worker, not {size}"),
            K::BadAmount {
                what, value, min, ..
            } if *min > 0 => write!(f, "`{what}` needs at least {min}, not {value}"),
            K::BadAmount { what, value, .. } => {
                write!(f, "`{what}` cannot be negative, not {value}")
            }
            K::StageAfterSink { sink_name, .. } if is_file(sink_name) => write!(
                f,
                "a stage after a pool whose jobs write `{sink_name}`: nothing flows on"
            ),
            K::StageAfterSink { sink_name, .. } => {
                write!(f, "a stage after `{sink_name}`, which ends the pipeline")
            }
            K::NotATask { action, name, .. } => {
                write!(f, "cannot {action} `{name}`: it is not a task handle")
            }
            K::ResumeWithoutLog => write!(f, "`resume` needs a `log` file to resume from"),
            K::BackoffWithoutRetries => {
                write!(f, "`backoff` waits between retries, and this pool has no `retries`")
            }
            K::SelectNotAChannel { what } => {
                write!(f, "`select` waits for channels, and this is {what}")
            }
            K::SlurmCapturesVariable { name, .. } if name == "args" => write!(
                f,
                "the `on slurm` job block uses `args`, which on the Slurm node are the job's items, not the script's arguments"
            ),
            K::SlurmCapturesVariable { name, .. } => write!(
                f,
                "the `on slurm` job block uses the script variable `{name}`, which the Slurm node does not have"
            ),
            K::SlurmCallsFn { name, .. } => write!(
                f,
                "the `on slurm` job block calls the script's `fn {name}`, which the Slurm node does not have"
            ),
            K::RhaiSyntax { message, .. } => write!(f, "Rhai syntax error: {message}"),
            K::HostArity {
                name,
                declared,
                found,
            } => {
                let takes: Vec<String> = declared.iter().map(ToString::to_string).collect();
                let last = declared.last().copied().unwrap_or(0);
                write!(
                    f,
                    "`{name}` is called with {}, but it takes {} {}",
                    plural(*found, "argument"),
                    takes.join(" or "),
                    if last == 1 { "argument" } else { "arguments" }
                )
            }
            K::ShInterpolation { message, .. } => write!(f, "{message}"),
            K::ChannelWait { message, .. } | K::Trap { message, .. } => write!(f, "{message}"),
            K::ShellString { shell } => write!(
                f,
                "`{shell} -c` with a script built from values: {shell} would run shell syntax in them"
            ),
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

impl std::error::Error for CheckError {}

impl CheckErrorKind {
    fn code(&self) -> &'static str {
        use CheckErrorKind as K;
        match self {
            K::UnknownCommand { .. } | K::BadProgramPath { .. } => "flow::check::unknown_command",
            K::NotAllowed { .. } => "flow::check::not_allowed",
            K::UnknownFunction { .. } => "flow::check::unknown_function",
            K::Arity { .. } | K::HostArity { .. } => "flow::check::arity",
            K::UnknownVariable { .. } | K::UnknownName { .. } | K::AssignUndeclared { .. } => {
                "flow::check::unknown_variable"
            }
            K::PythonCall { .. } => "flow::check::unknown_function",
            K::PoolSize { .. } => "flow::check::pool_size",
            K::BadAmount { .. } => "flow::check::bad_amount",
            K::StageAfterSink { .. } => "flow::check::stage_after_sink",
            K::NotATask { .. } => "flow::check::not_a_task",
            K::ResumeWithoutLog => "flow::check::resume_without_log",
            K::BackoffWithoutRetries => "flow::check::backoff_without_retries",
            K::SelectNotAChannel { .. } => "flow::check::select_not_a_channel",
            K::SlurmCapturesVariable { .. } => "flow::check::slurm_captures_variable",
            K::SlurmCallsFn { .. } => "flow::check::slurm_calls_fn",
            K::RhaiSyntax { .. } => "flow::check::rhai_syntax",
            K::Trap { code, .. } => code,
            K::ShInterpolation { .. } => "flow::check::sh_interpolation",
            K::ShellString { .. } => "flow::check::shell_string",
            K::ChannelWait { .. } => "flow::check::deadlock",
        }
    }

    fn help(&self) -> Option<String> {
        use CheckErrorKind as K;
        Some(match self {
            K::UnknownCommand {
                suggestion: Some(s),
                ..
            }
            | K::UnknownFunction {
                suggestion: Some(s),
                ..
            } => format!("did you mean `{s}`?"),
            K::UnknownCommand { .. } => "install it, or check PATH".into(),
            K::BadProgramPath { exists: false, .. } => "check the path".into(),
            K::NotAllowed { allowed, .. } if allowed.is_empty() => {
                "this host runs scripts without starting any program".into()
            }
            K::NotAllowed { allowed, .. } => {
                format!("the programs allowed here: {}", allowed.join(", "))
            }
            K::BadProgramPath { .. } => "make it executable: `chmod +x`".into(),
            K::UnknownFunction { name, .. } => {
                format!("define it with `fn {name}(it) {{ … }}`, or write a block: `{{ … it … }}`")
            }
            K::Arity {
                name, expected: 2, ..
            } => format!("`reduce` passes the accumulator and the item: `fn {name}(acc, it)`"),
            K::Arity { name, .. } => format!("a stage passes one item: `fn {name}(it)`"),
            K::UnknownVariable {
                suggestion: Some(s),
                ..
            } => format!("did you mean `${s}`?"),
            K::UnknownVariable {
                name, in_sh: true, ..
            } => format!(
                "in `sh \"…\"`, `${name}` is a variable of the script; for the shell's own \
                 variable write `\\${name}`, or declare it first: `let {name} = …`"
            ),
            K::UnknownVariable { name, .. } => format!("declare it first: `let {name} = …`"),
            K::UnknownName {
                python: Some(p), ..
            } => p.clone(),
            K::UnknownName {
                suggestion: Some(s),
                ..
            } => format!("did you mean `{s}`?"),
            K::UnknownName {
                name,
                in_fn: Some(f),
                ..
            } => format!(
                "a `fn` sees only its parameters: declare it in the body (`let {name} = …`), \
                 or pass it as a parameter, `fn {f}(…, {name})`"
            ),
            // `${HOME}`: an environment variable, read with `env("HOME")`.
            K::UnknownName { name, .. } => crate::syntax::foreign::env_variable(name)
                .unwrap_or_else(|| format!("declare it first: `let {name} = …`")),
            K::PythonCall { help, .. } => help.clone(),
            K::AssignUndeclared { name } => format!("declare it: `let {name} = …`"),
            K::PoolSize { .. } => {
                "write `pool 1` for one worker, or leave the size out for one per CPU".into()
            }
            K::BadAmount { min, .. } => format!("write a number of at least {min}"),
            K::StageAfterSink { sink_name, .. } if is_file(sink_name) => format!(
                "drop `{sink_name}` to pass the jobs' output on, or read the file in a new \
                 pipeline once this one is done"
            ),
            K::StageAfterSink { sink_name, .. } => {
                format!("make `{sink_name}` the last stage, or continue in a new pipeline")
            }
            K::NotATask { .. } => "only `let h = spawn …` makes a task handle".into(),
            K::ResumeWithoutLog => "add a log to the pool: `log \"jobs.tsv\" resume`".into(),
            K::BackoffWithoutRetries => {
                "say how many retries: `retries 3 backoff 1s` (waits 1s, 2s, 4s)".into()
            }
            K::SelectNotAChannel { .. } => {
                "read values with a pipeline (`from xs | each { … }`); to select over them, \
                 send them into a channel from a task first: `let ch = channel(16)`, \
                 `spawn { from xs | into ch }`, then `from ch as x => { … }`"
                    .into()
            }
            K::SlurmCapturesVariable { name, .. } if name == "args" => {
                "use `it` for the job's item (with `chunk`, the array of its items); for the \
                 script's arguments, run a command job instead (`exec cmd ${args[0]} ${it} on \
                 slurm`), whose words are filled in before the job is sent"
                    .into()
            }
            K::SlurmCapturesVariable { name, .. } => format!(
                "the block runs as `flow -c` on the node, where only `it`, `seq` and `slot` are \
                 set: declare `{name}` inside the block (`let {name} = …`), send it with the items \
                 (`it`), or run a command job instead (`exec cmd ${{{name}}} ${{it}} on slurm`), \
                 whose words are filled in before the job is sent"
            ),
            K::SlurmCallsFn { name, .. } => format!(
                "the block runs as `flow -c` on the node with only its own text: define \
                 `fn {name}` inside the block, or do that work before the pool (`map {name}`) \
                 and send the result as the items"
            ),
            K::RhaiSyntax { message, .. } if is_flow_statement_word(message) => {
                let word = ["spawn", "join", "cancel"]
                    .into_iter()
                    .find(|w| message.contains(&format!("'{w}'")))
                    .unwrap_or("spawn");
                format!(
                    "`{word}` is a flow statement, not a Rhai function: give its result a name \
                     first (`let h = {word} …`), then use the name (`hs.push(h)`)"
                )
            }
            K::RhaiSyntax { hint: Some(h), .. } => h.clone(),
            K::RhaiSyntax { .. } => {
                "blocks and expressions are Rhai: see https://rhai.rs/book/".into()
            }
            K::ShInterpolation { help, .. }
            | K::ChannelWait { help, .. }
            | K::Trap { help, .. } => help.clone(),
            K::HostArity { name, .. } => format!(
                "`{name}` is a function of the program running this script: pass the arguments \
                 it declared"
            ),
            K::ShellString { .. } => "write `sh \"… ${x} …\"`: flow passes the values to sh as data. Or pass them as arguments after the script: `bash -c 'echo \"$1\"' bash ${x}`".into(),
        })
    }

    fn label(&self) -> &'static str {
        use CheckErrorKind as K;
        match self {
            K::UnknownCommand { .. } | K::BadProgramPath { exists: false, .. } => "not found",
            K::BadProgramPath { .. } => "not executable",
            K::NotAllowed { .. } => "not allowed",
            K::UnknownFunction { .. } => "no such fn",
            K::Arity { .. } | K::HostArity { .. } => "called here",
            K::UnknownVariable { .. } | K::UnknownName { .. } | K::AssignUndeclared { .. } => {
                "not declared"
            }
            K::PythonCall { method: true, .. } => "no such method",
            K::PythonCall { .. } => "no such function",
            K::PoolSize { .. } => "no workers",
            K::BadAmount { .. } => "meaningless amount",
            K::StageAfterSink { .. } => "nothing reaches this stage",
            K::NotATask { .. } => "not a task",
            K::ResumeWithoutLog => "resume from what?",
            K::BackoffWithoutRetries => "no retries to wait between",
            K::SelectNotAChannel { .. } => "not a channel",
            K::SlurmCapturesVariable { .. } => "not on the node",
            K::SlurmCallsFn { .. } => "not on the node",
            K::RhaiSyntax { .. } => "here",
            K::ShInterpolation { .. } => "interpolated here",
            K::ShellString { .. } => "values become shell code here",
            K::ChannelWait { .. } => "waits forever",
            K::Trap { .. } => "here",
        }
    }
}

impl CheckError {
    /// Whether this is a warning (the script still runs) rather than an error.
    #[must_use]
    pub fn is_warning(&self) -> bool {
        matches!(
            self.kind,
            CheckErrorKind::ShellString { .. }
                | CheckErrorKind::ChannelWait { .. }
                | CheckErrorKind::Trap { warning: true, .. }
        )
    }
}

impl Diagnostic for CheckError {
    fn severity(&self) -> Option<miette::Severity> {
        self.is_warning().then_some(miette::Severity::Warning)
    }

    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.kind.code()))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.kind
            .help()
            .map(|h| Box::new(h) as Box<dyn fmt::Display + 'a>)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        use CheckErrorKind as K;
        let main = LabeledSpan::new_primary_with_span(Some(self.kind.label().into()), self.span);
        let second = match &self.kind {
            K::Arity {
                found,
                defined: Some(d),
                ..
            } => Some((
                format!("defined here with {}", plural(*found, "parameter")),
                *d,
            )),
            K::StageAfterSink { sink, sink_name } if is_file(sink_name) => Some((
                "every job writes into this file: it takes the stage's output".into(),
                *sink,
            )),
            K::StageAfterSink { sink, sink_name } if sink_name == "into" => {
                Some(("this sends every item into a channel".into(), *sink))
            }
            K::StageAfterSink { sink, .. } => {
                Some(("this ends the pipeline with one value".into(), *sink))
            }
            K::NotATask {
                declared: Some(d), ..
            } => Some(("declared here as a plain value".into(), *d)),
            K::SlurmCapturesVariable {
                declared: Some(d), ..
            } => Some(("declared here, outside the job block".into(), *d)),
            K::SlurmCallsFn { defined, .. } => {
                Some(("defined here, outside the job block".into(), *defined))
            }
            _ => None,
        };
        let second = second.map(|(text, span)| LabeledSpan::new_with_span(Some(text), span));
        let mut all: Vec<LabeledSpan> = std::iter::once(main).chain(second).collect();
        all.sort_by_key(|l| l.offset());
        Some(Box::new(all.into_iter()))
    }
}

/// A Rhai syntax error about a word that is a flow statement (`hs.push(spawn { … })`).
fn is_flow_statement_word(message: &str) -> bool {
    ["'spawn'", "'join'", "'cancel'"]
        .iter()
        .any(|w| message.contains(w))
        && message.contains("reserved")
}

/// Whether what ended a pipeline is a pool's `> f` / `>> f` (else a sink's keyword).
fn is_file(ended: &str) -> bool {
    ended.starts_with('>')
}
