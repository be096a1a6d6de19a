//! The Rhai engine flow makes: built-in functions, cancellation through
//! `on_progress`, and printing that never interleaves lines.

use super::context;
use super::output::{self, Stream};
use crate::script::channel::FlowChannel;
pub(crate) use crate::script::display::display;
use rhai::{
    Array, Dynamic, Engine, EvalAltResult, FnPtr, ImmutableString, NativeCallContext, Position, INT,
};

type RResult<T> = Result<T, Box<EvalAltResult>>;

fn rerr<T>(msg: impl Into<String>) -> RResult<T> {
    Err(Box::new(EvalAltResult::ErrorRuntime(
        Dynamic::from(msg.into()),
        Position::NONE,
    )))
}

/// A file that could not be read, as a Rhai runtime error: catchable in Rhai (it prints as
/// its message), reported by the runtime as `flow::run::io` at the call.
#[derive(Clone, Debug)]
pub(crate) struct IoFailure(pub(crate) String);

/// How a task handle and an I/O failure print wherever flow shows a value.
fn runtime_value_text(v: &Dynamic) -> Option<String> {
    if let Some(h) = v.read_lock::<super::exec::TaskHandle>() {
        return Some(h.describe());
    }
    v.read_lock::<IoFailure>().map(|f| f.0.clone())
}

fn io_err<T>(msg: String) -> RResult<T> {
    Err(Box::new(EvalAltResult::ErrorRuntime(
        Dynamic::from(IoFailure(msg)),
        Position::NONE,
    )))
}

/// `exit(n)`: carried out of Rhai as a termination (which Rhai's own `try` cannot catch);
/// the runtime turns it into `RunErrorKind::ScriptExit`.
#[derive(Clone, Debug)]
pub(crate) struct ExitRequest(pub(crate) u8);

fn exit_with(n: i64) -> RResult<()> {
    match u8::try_from(n) {
        Ok(status) => Err(Box::new(EvalAltResult::ErrorTerminated(
            Dynamic::from(ExitRequest(status)),
            Position::NONE,
        ))),
        Err(_) => rerr(format!("exit status must be 0 to 255, not {n}")),
    }
}

/// Write one whole line to stdout (one locked write: concurrent lines never mix).
/// Write one whole line to stdout (one locked write: concurrent lines never mix), or to the
/// host's output hook.
pub(crate) fn out_line(s: &str) {
    line(Stream::Stdout, s);
}

/// Write one whole line to stderr, or to the host's output hook.
pub(crate) fn err_line(s: &str) {
    line(Stream::Stderr, s);
}

/// One line to the current run's output, around its progress bar if one is drawn. A failed
/// write to stdout stops the run (a closed reader quietly; see `StdoutState`); a failed
/// write to stderr has nowhere to be reported and is dropped.
fn line(stream: Stream, s: &str) {
    let mut buf = Vec::with_capacity(s.len() + 1);
    buf.extend_from_slice(s.as_bytes());
    buf.push(b'\n');
    match context::current().runtime {
        Some(rt) => {
            let written = super::around_progress(&rt.progress, || {
                output::write(rt.output.as_ref(), stream, &buf)
            });
            if let (Err(e), Stream::Stdout) = (written, stream) {
                let _ = rt.stdout.write_failed(&e);
            }
        }
        None => {
            let _ = output::write(None, stream, &buf);
        }
    }
}

/// A new engine with flow's built-ins.
pub(crate) fn new_engine() -> Engine {
    crate::script::display::show_runtime_values(runtime_value_text);
    let mut e = Engine::new();
    e.set_max_expr_depths(256, 256);
    e.set_max_call_levels(256);
    e.on_print(out_line);
    e.on_debug(|s, _, _| err_line(s));
    e.on_progress(|ops| {
        if ops % 128 == 0 && context::should_stop() {
            Some(Dynamic::from("cancelled"))
        } else {
            None
        }
    });
    e.register_fn("exit", || exit_with(0));
    e.register_fn("exit", exit_with);
    e.register_fn("exit", |x: Dynamic| -> RResult<()> {
        rerr(format!(
            "exit takes an integer status (0 to 255), not {} `{}`",
            x.type_name(),
            display(&x)
        ))
    });
    e.register_fn("eprint", |x: Dynamic| err_line(&display(&x)));
    // Python's `print("total:", n)`: the values joined by a space, in one line. (Rhai's
    // `print` gives the text it returns to `on_print`.)
    macro_rules! print_n {
        ($($a:ident),+) => {
            e.register_fn("print", |$($a: Dynamic),+| joined(&[$($a),+]));
            e.register_fn("eprint", |$($a: Dynamic),+| err_line(&joined(&[$($a),+])));
        };
    }
    print_n!(a, b);
    print_n!(a, b, c);
    print_n!(a, b, c, d);
    print_n!(a, b, c, d, f);
    print_n!(a, b, c, d, f, g);
    e.register_fn("sleep", |s: i64| sleep_secs(s as f64));
    e.register_fn("sleep", sleep_secs);
    e.register_fn("env", |name: &str| {
        std::env::var(name).map_or(Dynamic::UNIT, Dynamic::from)
    });
    e.register_type_with_name::<IoFailure>("io_error");
    e.register_fn("to_string", |f: &mut IoFailure| f.0.clone());
    e.register_fn("to_debug", |f: &mut IoFailure| f.0.clone());
    e.register_fn("glob", glob_fn);
    e.register_fn("lines", |p: &str| -> RResult<Array> {
        let text = read(p)?;
        Ok(text.lines().map(|l| Dynamic::from(l.to_string())).collect())
    });
    e.register_fn("read_file", |p: &str| read(p));
    e.register_fn("write_file", |p: &str, text: &str| -> RResult<()> {
        std::fs::write(p, text).or_else(|err| rerr(format!("cannot write {p}: {err}")))
    });
    e.register_fn("exists", |p: &str| std::path::Path::new(p).exists());
    e.register_fn("run", |cmd: &str, args: Array| run_fn(cmd, &args));
    e.register_fn("run", |cmd: &str| run_fn(cmd, &[]));
    e.register_fn("status", |cmd: &str, args: Array| status_fn(cmd, &args));
    e.register_fn("status", |cmd: &str| status_fn(cmd, &[]));
    // `format(x, spec)`: Python's format-spec mini-language.
    e.register_fn("format", |x: i64, spec: &str| -> RResult<String> {
        crate::script::format_spec::int(x, spec).or_else(rerr)
    });
    e.register_fn("format", |x: f64, spec: &str| -> RResult<String> {
        crate::script::format_spec::float(x, spec).or_else(rerr)
    });
    e.register_fn("format", |x: &str, spec: &str| -> RResult<String> {
        crate::script::format_spec::text(x, spec).or_else(rerr)
    });
    e.register_fn("format", |x: bool, spec: &str| -> RResult<String> {
        // As Python: a bool is the integer 1 or 0, except as text (`s`, no type).
        match spec.chars().last() {
            Some(t) if t.is_ascii_alphabetic() && t != 's' => {
                crate::script::format_spec::int(i64::from(x), spec).or_else(rerr)
            }
            _ => crate::script::format_spec::text(if x { "True" } else { "False" }, spec)
                .or_else(rerr),
        }
    });
    // `now()`: seconds on a monotonic clock, for measuring elapsed time.
    e.register_fn("now", || -> f64 { clock_start().elapsed().as_secs_f64() });
    e.register_fn("cpus", || i64::try_from(cpus()).unwrap_or(1));
    e.register_type_with_name::<FlowChannel>("channel");
    e.register_fn("channel", |n: i64| -> RResult<FlowChannel> {
        match usize::try_from(n) {
            Ok(n) if n > 0 => Ok(FlowChannel::new(n)),
            _ => rerr(format!("channel({n}): the capacity must be at least 1")),
        }
    });
    // A task handle prints as what it is, not as a Rust path.
    e.register_type_with_name::<super::exec::TaskHandle>("task");
    e.register_fn("to_string", |h: &mut super::exec::TaskHandle| h.describe());
    e.register_fn("to_debug", |h: &mut super::exec::TaskHandle| h.describe());
    e.register_fn("to_string", |c: &mut FlowChannel| {
        format!("channel({})", c.capacity())
    });
    // `xs.reduce(f)` starts from the first element (Rhai's own starts from `()`); the
    // forms with an initial value stay Rhai's. Also in Python's order, `reduce(f, xs)`.
    e.register_fn("reduce", |ctx: NativeCallContext, xs: Array, f: FnPtr| {
        reduce(&ctx, xs, &f, false)
    });
    e.register_fn("reduce", |ctx: NativeCallContext, f: FnPtr, xs: Array| {
        reduce(&ctx, xs, &f, false)
    });
    e.register_fn(
        "reduce",
        |ctx: NativeCallContext, f: FnPtr, xs: Array, init: Dynamic| {
            fold(&ctx, "reduce", xs.into_iter().enumerate(), init, &f)
        },
    );
    e.register_fn(
        "reduce_rev",
        |ctx: NativeCallContext, xs: Array, f: FnPtr| reduce(&ctx, xs, &f, true),
    );
    crate::script::strings::register(&mut e);
    crate::script::in_place::register(&mut e);
    crate::script::paths::register(&mut e);
    crate::script::keyed::register(&mut e);
    e
}

/// `reduce(xs, f)` without an initial value: the first element (the last for `reduce_rev`)
/// is the start, as in Python, JavaScript and Rust; an empty array gives `()`. `f` gets
/// the accumulator, the element and, if it takes three parameters, the element's index.
fn reduce(ctx: &NativeCallContext, xs: Array, f: &FnPtr, rev: bool) -> RResult<Dynamic> {
    let (name, mut items): (_, Box<dyn Iterator<Item = (usize, Dynamic)>>) = if rev {
        ("reduce_rev", Box::new(xs.into_iter().enumerate().rev()))
    } else {
        ("reduce", Box::new(xs.into_iter().enumerate()))
    };
    match items.next() {
        Some((_, first)) => fold(ctx, name, items, first, f),
        None => Ok(Dynamic::UNIT),
    }
}

/// Fold `items` into `acc` with `f` as Rhai's `reduce` calls it (the element bound to
/// `this` for a closure of one parameter, the index passed to one of three).
fn fold(
    ctx: &NativeCallContext,
    name: &str,
    items: impl Iterator<Item = (usize, Dynamic)>,
    mut acc: Dynamic,
    f: &FnPtr,
) -> RResult<Dynamic> {
    for (i, mut item) in items {
        let index = [INT::try_from(i).unwrap_or(INT::MAX).into()];
        acc = f.call_raw_with_extra_args(name, ctx, Some(&mut item), [acc], index, Some(1))?;
    }
    Ok(acc)
}

/// Number of usable CPUs.
pub(crate) fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// Rhai `sleep` calls in progress, process-wide (a sleeping script is not deadlocked).
static SLEEPING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many Rhai `sleep` calls are in progress.
pub(crate) fn sleeping() -> usize {
    SLEEPING.load(std::sync::atomic::Ordering::SeqCst)
}

/// A `sleep` in progress, counted while it lasts.
pub(crate) struct Sleeping;

impl Sleeping {
    pub(crate) fn start() -> Sleeping {
        SLEEPING.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Sleeping
    }
}

impl Drop for Sleeping {
    fn drop(&mut self) {
        SLEEPING.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

fn sleep_secs(s: f64) -> RResult<()> {
    let _sleeping = Sleeping::start();
    let d = std::time::Duration::try_from_secs_f64(s.max(0.0)).unwrap_or_default();
    let ctx = context::current();
    let woke_normally = match &ctx.token {
        Some(t) => {
            let d = match ctx.deadline {
                Some(dl) => d.min(dl.saturating_duration_since(std::time::Instant::now())),
                None => d,
            };
            t.sleep(d)
        }
        None => {
            std::thread::sleep(d);
            true
        }
    };
    if !woke_normally || context::should_stop() {
        return Err(Box::new(EvalAltResult::ErrorTerminated(
            Dynamic::from("cancelled"),
            Position::NONE,
        )));
    }
    Ok(())
}

/// The whole file as text (invalid UTF-8 replaced); a directory, an unreadable file or a
/// read error is an error naming the path and the OS error, never an empty text.
fn read(p: &str) -> RResult<String> {
    std::fs::read(p)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .or_else(|e| io_err(format!("cannot read {p}: {e}")))
}

/// `glob(pattern)`: sorted paths. A name that is not valid UTF-8 cannot be a Rhai string: it
/// comes out lossy (U+FFFD), with a warning on stderr; a glob in a command word
/// (`cat dir/*`) passes such names exactly.
fn glob_fn(pattern: &str) -> RResult<Array> {
    let pattern = expand_tilde(pattern);
    let paths = super::globbing::glob_paths(&pattern)
        .or_else(|e| rerr(format!("bad glob `{pattern}`: {e}")))?;
    let mut lossy = 0;
    let v: Array = paths
        .into_iter()
        .map(|p| {
            let (s, exact) = super::globbing::to_text(p);
            lossy += usize::from(!exact);
            Dynamic::from(s)
        })
        .collect();
    if lossy > 0 {
        err_line(&format!(
            "warning: glob(\"{pattern}\"): {lossy} file name(s) not valid UTF-8, shown with U+FFFD \
             (no such file by that name); a glob in a command word, like `cat dir/*`, passes them exactly"
        ));
    }
    Ok(v)
}

/// `~/x` → `$HOME/x`.
pub(crate) fn expand_tilde(s: &str) -> String {
    match (s.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(rest), Ok(home)) => format!("{home}/{rest}"),
        _ if s == "~" => std::env::var("HOME").unwrap_or_else(|_| s.to_string()),
        _ => s.to_string(),
    }
}

fn run_fn(cmd: &str, args: &[Dynamic]) -> RResult<ImmutableString> {
    let args: Vec<String> = args.iter().map(display).collect();
    match super::process::run_capture(cmd, &args) {
        Ok(out) => Ok(out.into()),
        Err(e) => rerr(e),
    }
}

/// `status(cmd, args)`: the command's `#{code, signal, stdout, stderr}` whatever its exit
/// status; one that cannot start is an error.
fn status_fn(cmd: &str, args: &[Dynamic]) -> RResult<rhai::Map> {
    let args: Vec<String> = args.iter().map(display).collect();
    let s = super::process::status_capture(cmd, &args).or_else(rerr)?;
    let opt = |n: Option<i32>| n.map_or(Dynamic::UNIT, |n| Dynamic::from_int(i64::from(n)));
    let mut m = rhai::Map::new();
    m.insert("code".into(), opt(s.code));
    m.insert("signal".into(), opt(s.signal));
    m.insert("stdout".into(), Dynamic::from(s.stdout));
    m.insert("stderr".into(), Dynamic::from(s.stderr));
    Ok(m)
}

/// The start of `now()`'s clock: the first call in the process.
fn clock_start() -> std::time::Instant {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *START.get_or_init(std::time::Instant::now)
}

/// Values as `print` shows them, joined by a space.
fn joined(vs: &[Dynamic]) -> String {
    vs.iter().map(display).collect::<Vec<_>>().join(" ")
}
