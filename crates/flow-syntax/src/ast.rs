//! The syntax tree of a script. Every node carries the byte span it came from.

use crate::Span;
use std::time::Duration;

/// A parsed script: its statements in order.
#[derive(Debug, Clone, Default)]
pub struct Ast {
    /// Top-level statements.
    pub stmts: Vec<Stmt>,
}

/// A name with its span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// Where it is.
    pub span: Span,
}

/// Rhai source text (an expression, a block body or statements) with its place in the script.
#[derive(Debug, Clone)]
pub struct Rhai {
    /// The text handed to Rhai.
    pub code: String,
    /// Where the text is in the script (for position mapping).
    pub span: Span,
}

/// One statement.
#[derive(Debug, Clone)]
pub struct Stmt {
    /// The whole statement.
    pub span: Span,
    /// What it is.
    pub kind: StmtKind,
}

/// The kinds of statement.
#[derive(Debug, Clone)]
pub enum StmtKind {
    /// `fn name(params) { body }` — `code` is the whole definition.
    Fn {
        name: Ident,
        params: Vec<Ident>,
        code: Rhai,
    },
    /// `let name = value`
    Let { name: Ident, value: LetValue },
    /// `name op= expr`
    Assign { name: Ident, op: String, expr: Rhai },
    /// A Rhai statement: `print("hi")`, `xs.push(4)`.
    Rhai(Rhai),
    /// `spawn …`
    Spawn(Spawn),
    /// `join a, b timeout 5s`
    Join(Join),
    /// `cancel a, b`: each a task handle or an array of them.
    Cancel(Vec<Ident>),
    /// `on_interrupt grace D { … }`
    OnInterrupt {
        grace: Option<Duration>,
        body: Vec<Stmt>,
    },
    /// `if cond { … } else …`
    If {
        cond: Rhai,
        then: Vec<Stmt>,
        otherwise: Option<Vec<Stmt>>,
    },
    /// `for x in expr { … }`
    For {
        var: Ident,
        iter: Rhai,
        body: Vec<Stmt>,
    },
    /// `if ^cmd args { … } else …`: the branch is taken when the command exits 0
    /// (`!^cmd`: when it does not).
    IfCommand {
        negate: bool,
        command: Pipeline,
        then: Vec<Stmt>,
        otherwise: Option<Vec<Stmt>>,
    },
    /// `try { … } catch e { … }` (`var` is `None` for `catch { … }`).
    Try {
        body: Vec<Stmt>,
        var: Option<Ident>,
        /// Whether there is a `catch` (its block is `handler`).
        catches: bool,
        handler: Vec<Stmt>,
        /// `finally { … }`: run on every way out of the `try`.
        finally: Option<Vec<Stmt>>,
    },
    /// `select { from ch as x => { … } … timeout D => { … } }`: the first branch whose
    /// channel has an item (or is closed: `x` is `()`), or the timeout's.
    Select {
        arms: Vec<SelectArm>,
        timeout: Option<(Duration, Vec<Stmt>)>,
    },
    /// `throw expr`: fail with the expression's text as the message.
    Throw(Rhai),
    /// A pipeline statement.
    Pipeline(Pipeline),
}

impl StmtKind {
    /// The statement blocks nested directly in a `try` or `if ^cmd` statement (walkers use
    /// it for the newer statement kinds).
    #[must_use]
    pub fn nested(&self) -> Vec<&[Stmt]> {
        match self {
            StmtKind::Try {
                body,
                handler,
                finally,
                ..
            } => {
                let mut v: Vec<&[Stmt]> = vec![body, handler];
                v.extend(finally.as_deref());
                v
            }
            StmtKind::IfCommand {
                then, otherwise, ..
            } => {
                let mut v: Vec<&[Stmt]> = vec![then];
                v.extend(otherwise.as_deref());
                v
            }
            StmtKind::Select { arms, timeout } => {
                let mut v: Vec<&[Stmt]> = arms.iter().map(|a| a.body.as_slice()).collect();
                v.extend(timeout.as_ref().map(|(_, b)| b.as_slice()));
                v
            }
            _ => vec![],
        }
    }
}

/// What the right side of a `let` is.
#[derive(Debug, Clone)]
pub enum LetValue {
    /// A Rhai expression or block.
    Expr(Rhai),
    /// A pipeline: the variable gets its collected output.
    Pipeline(Pipeline),
    /// A task handle.
    Spawn(Spawn),
    /// The value(s) of joined tasks.
    Join(Join),
}

/// `spawn daemon? (pipeline | { stmts })`
#[derive(Debug, Clone)]
pub struct Spawn {
    /// The `spawn …` text.
    pub span: Span,
    /// Not waited for at script end; cancelled instead.
    pub daemon: bool,
    /// What the task runs.
    pub body: SpawnBody,
}

/// The body of a task.
#[derive(Debug, Clone)]
pub enum SpawnBody {
    /// `spawn { stmts }`
    Block(Vec<Stmt>),
    /// `spawn pipeline`
    Pipeline(Pipeline),
}

/// `join a, b timeout D`
#[derive(Debug, Clone)]
pub struct Join {
    /// The `join …` text.
    pub span: Span,
    /// The task handles.
    pub names: Vec<Ident>,
    /// Give up after this long (exit 124).
    pub timeout: Option<Duration>,
    /// `settle`: wait for every task and yield `#{ok, value}` / `#{ok, error}` per task,
    /// never raising (asyncio's `gather(return_exceptions=True)`).
    pub settle: bool,
}

/// `from ch as x => { … }` in a `select`.
#[derive(Debug, Clone)]
pub struct SelectArm {
    /// The channel's expression.
    pub chan: Rhai,
    /// The name the item is bound to in `body`.
    pub var: Ident,
    pub body: Vec<Stmt>,
}

/// `from src | stage | … > file`
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The whole pipeline.
    pub span: Span,
    /// `from value`
    pub source: Option<Source>,
    /// The stages in order.
    pub stages: Vec<Stage>,
    /// Redirects after the last item stage (`> out.txt`).
    pub redirects: Vec<Redirect>,
}

/// `from value`
#[derive(Debug, Clone)]
pub struct Source {
    /// The `from …` text.
    pub span: Span,
    /// The value expression.
    pub expr: Rhai,
}

/// A stage of a pipeline.
#[derive(Debug, Clone)]
pub struct Stage {
    /// The stage's text.
    pub span: Span,
    /// What it does.
    pub kind: StageKind,
}

/// The kinds of stage.
#[derive(Debug, Clone)]
pub enum StageKind {
    /// An external command.
    Command(Command),
    /// `map F`
    Map(Callable),
    /// `filter F`
    Filter(Callable),
    /// `flat_map F`
    FlatMap(Callable),
    /// `each F`
    Each(Callable),
    /// `take N`
    Take(Amount),
    /// `skip N`
    Skip(Amount),
    /// `batch N`
    Batch(Amount),
    /// `sort` / `sort by F`
    Sort(Option<Callable>),
    /// `uniq`
    Uniq,
    /// `lines` / `lines SEP` (the separator with its escapes decoded)
    Lines(Option<String>),
    /// `json`
    Json,
    /// `to_json`
    ToJson,
    /// `into CH`
    Into(Ident),
    /// A reducing sink.
    Sink(Sink),
    /// `pool …`
    Pool(Box<Pool>),
}

/// Reducing sinks: they end a pipeline with one value.
#[derive(Debug, Clone)]
pub enum Sink {
    /// `count`
    Count,
    /// `count_by F`: a map from each key `F` gives to how many items gave it
    CountBy(Callable),
    /// `sum`
    Sum,
    /// `first`
    First,
    /// `last`
    Last,
    /// `collect`
    Collect,
    /// `text`
    Text,
    /// `reduce INIT F`
    Reduce { init: Rhai, f: Callable },
}

/// A callable: the name of a one-parameter `fn`, or a Rhai block using `it`.
#[derive(Debug, Clone)]
pub enum Callable {
    /// `parse`
    Fn(Ident),
    /// `{ it * 2 }`
    Block(Rhai),
}

impl Callable {
    /// Where the callable is written.
    #[must_use]
    pub fn span(&self) -> Span {
        match self {
            Callable::Fn(i) => i.span,
            Callable::Block(r) => r.span,
        }
    }
}

/// A count: a literal, a variable, or a Rhai block.
#[derive(Debug, Clone)]
pub enum Amount {
    /// `3`
    Int(i64, Span),
    /// `n`, `$n`, `{ n * 2 }`
    Expr(Rhai),
}

impl Amount {
    /// Where the amount is written.
    #[must_use]
    pub fn span(&self) -> Span {
        match self {
            Amount::Int(_, s) => *s,
            Amount::Expr(r) => r.span,
        }
    }
}

/// An external command: `unchecked FOO=1 grep -c x file 2>&1`, or `sh "…"`.
#[derive(Debug, Clone)]
pub struct Command {
    /// Accept any exit status.
    pub unchecked: bool,
    /// `NAME=value` before the program.
    pub env: Vec<(Ident, Word)>,
    /// The program word.
    pub program: Word,
    /// Written with `^`.
    pub caret: bool,
    /// Arguments.
    pub args: Vec<Word>,
    /// Redirects.
    pub redirects: Vec<Redirect>,
    /// `sh "…"`: the program is `/bin/sh -c`, the only shell.
    pub shell: bool,
}

impl Command {
    /// Its text: from its first `NAME=value` or its program to its last word or redirect
    /// (what `flow plan` shows and a job log keys a pool's jobs by).
    #[must_use]
    pub fn text_span(&self) -> Span {
        let start = self
            .env
            .first()
            .map_or(self.program.span.start, |(k, _)| k.span.start);
        let end = self
            .args
            .iter()
            .map(|a| a.span.end)
            .chain(self.redirects.iter().map(|r| r.span.end))
            .fold(self.program.span.end, usize::max);
        Span::new(start, end)
    }
}

/// One shell-free word: adjacent parts without space between.
#[derive(Debug, Clone)]
pub struct Word {
    /// Where the word is.
    pub span: Span,
    /// Its parts.
    pub parts: Vec<WordPart>,
}

/// A piece of a word.
#[derive(Debug, Clone)]
pub enum WordPart {
    /// Unquoted text (globbed, `~/` expanded).
    Bare(String),
    /// Quoted text (taken literally).
    Quoted(String),
    /// `$name`
    Var(Ident),
    /// `${expr}`
    Expr(Rhai),
    /// A double-quoted string with interpolation: its own parts (never globbed).
    Interp(Vec<WordPart>),
}

impl Word {
    /// The literal text when the word has no interpolation.
    #[must_use]
    pub fn literal(&self) -> Option<String> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                WordPart::Bare(s) | WordPart::Quoted(s) => out.push_str(s),
                WordPart::Interp(inner) => {
                    for q in inner {
                        match q {
                            WordPart::Quoted(s) | WordPart::Bare(s) => out.push_str(s),
                            _ => return None,
                        }
                    }
                }
                WordPart::Var(_) | WordPart::Expr(_) => return None,
            }
        }
        Some(out)
    }
}

/// `> f`, `>> f`, `< f`, `2> f`, `2>> f`, `2>&1`
#[derive(Debug, Clone)]
pub struct Redirect {
    /// The whole redirect.
    pub span: Span,
    /// Which stream and how.
    pub kind: RedirectKind,
    /// The file (absent for `2>&1`).
    pub target: Option<Word>,
}

/// Redirect kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectKind {
    /// `> f`
    Out,
    /// `>> f`
    Append,
    /// `< f`
    In,
    /// `2> f`
    Err,
    /// `2>> f`
    ErrAppend,
    /// `2>&1`
    ErrToOut,
}

/// `pool SIZE (map F | exec …) opts…`
#[derive(Debug, Clone)]
pub struct Pool {
    /// Number of workers; `None` is "number of CPUs".
    pub size: PoolSize,
    /// What each worker does.
    pub work: PoolWork,
    /// Options.
    pub opts: PoolOpts,
}

/// The size of a pool.
#[derive(Debug, Clone)]
pub enum PoolSize {
    /// Default or `cpus`.
    Cpus,
    /// `4`
    Fixed(i64, Span),
    /// `{ n * 2 }`
    Expr(Rhai),
}

/// A pool's job.
#[derive(Debug, Clone)]
pub enum PoolWork {
    /// `map F`
    Map(Callable),
    /// `exec cmd …`
    Exec(Command),
    /// `exec { statements }`: a job that is a small script (its output is all their output;
    /// it fails at the first failing statement).
    ExecBlock {
        /// The job's statements.
        stmts: Vec<Stmt>,
        /// The block, braces included (its text is the job's command text in the log key).
        span: Span,
    },
}

/// Pool options.
#[derive(Debug, Clone, Default)]
pub struct PoolOpts {
    /// Emit results as they finish.
    pub unordered: bool,
    /// Items per dispatch.
    pub chunk: Option<Amount>,
    /// Extra attempts per failed item.
    pub retries: Option<Amount>,
    /// `backoff D`: wait D, 2D, 4D… before each retry.
    pub backoff: Option<Duration>,
    /// Per-item time limit.
    pub timeout: Option<Duration>,
    /// Drop failed items instead of failing (`on_error skip`).
    pub skip_errors: bool,
    /// Run every item, fail at the end (`on_error continue`).
    pub continue_errors: bool,
    /// Every item runs; a failed one's output is `#{error: e}` in its place (`on_error keep`).
    pub keep_errors: bool,
    /// Show a progress bar.
    pub progress: bool,
    /// The job log file.
    pub log: Option<Word>,
    /// Skip items that succeeded in the log.
    pub resume: bool,
    /// Where `resume` was written.
    pub resume_span: Option<Span>,
    /// Where `backoff` was written (it needs `retries`).
    pub backoff_span: Option<Span>,
    /// `on slurm …` settings, when given.
    pub slurm: Option<Vec<(String, Word)>>,
    /// `on_error fail N`, `fail N%`, `… soon`: when failures stop the pool (GNU parallel's
    /// `--halt`); `None` for plain `on_error fail` (the first failure, now).
    pub halt: Option<Halt>,
}

/// A failure threshold: stop after `count` failures (or `count`% of finished jobs), now
/// (running jobs cancelled) or soon (running jobs finish; no new ones start).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Halt {
    /// How many failures (or what percentage) stop the pool.
    pub count: u32,
    /// `count` is a percentage of the jobs finished so far.
    pub percent: bool,
    /// Let running jobs finish.
    pub soon: bool,
}
