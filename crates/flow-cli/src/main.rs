//! The `flow` command line: a thin client of the library.

// flow starts at its own C `main` (below), not at Rust's runtime start-up: see `main`.
#![no_main]

use clap::{Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::io::{IsTerminal, Read};

mod allocator;

/// Items are many small strings made on one thread and freed on another: mimalloc is
/// measurably faster at that than the system allocator (docs/performance.md). Under an
/// address-space limit the system's allocator (see `allocator.rs`); refused memory is a
/// `flow::run::resources` exit, never an abort.
#[global_allocator]
static GLOBAL: allocator::Allocator = allocator::Allocator;

#[derive(Parser)]
#[command(
    name = "flow",
    version,
    about = "Run concurrent pipelines: OS pipes, threads, worker pools, tasks, Ctrl-C done right.",
    args_conflicts_with_subcommands = true,
    allow_external_subcommands = true,
    after_help = "Run a script with `flow SCRIPT.flow [ARGS…]`; with no arguments, flow starts the REPL \
                  when stdin is a terminal and otherwise runs the script read from stdin."
)]
struct Cli {
    /// Run SOURCE as a one-line script; the remaining arguments are in `args`.
    #[arg(short = 'c', value_name = "SOURCE", allow_hyphen_values = true)]
    command: Option<String>,
    #[command(subcommand)]
    sub: Option<Sub>,
}

#[derive(Subcommand)]
enum Sub {
    /// Run a script (the same as `flow SCRIPT`).
    Run {
        /// The script (`-` for stdin).
        script: String,
        /// Arguments for the script, in `args`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Parse and check a script without running it: exit 0, or 2 with diagnostics.
    Check {
        /// The script (`-` for stdin).
        script: String,
    },
    /// Show the plan graph of a script without running it.
    Plan {
        /// The script (`-` for stdin).
        script: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Start the interactive REPL.
    Repl,
    /// Run the language server on stdin/stdout (for editors).
    Lsp,
    /// Print a shell completion script.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `flow man > flow.1`.
    Man,
    #[command(external_subcommand)]
    Script(Vec<OsString>),
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Dot,
    Json,
}

/// Runs before `main` (right after the dynamic loader): SIGINT, SIGTERM and SIGHUP are blocked, so
/// that one arriving while flow starts stays pending until `main` has a handler for it.
#[used]
#[link_section = ".init_array"]
static BLOCK_EARLY_SIGNALS: extern "C" fn() = block_early_signals;

extern "C" fn block_early_signals() {
    mask_int_term(libc::SIG_BLOCK);
}

/// Handlers are in place (or the default is wanted): let pending signals through. Before any
/// thread or child starts, so none inherits the mask.
fn unblock_early_signals() {
    mask_int_term(libc::SIG_UNBLOCK);
}

fn mask_int_term(how: libc::c_int) {
    // SAFETY: sigset operations on a local set, and sigprocmask while flow has one thread.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGHUP);
        libc::sigprocmask(how, &set, std::ptr::null_mut());
    }
}

/// flow's entry point, called by the C runtime with the arguments that `std::env::args_os`
/// also reads. It does what Rust's own start-up does (standard streams that are closed are
/// opened on `/dev/null`, `SIGPIPE` is ignored, a panic exits 101, stdout is flushed at
/// the end) but for one thing: Rust's start-up asks glibc for the main thread's stack
/// bounds, to name a stack overflow in its message, and glibc finds them by reading and
/// parsing the whole of `/proc/self/maps` — a tenth of `flow -c 'print(1)'`. A stack overflow
/// still stops flow (the kernel's guard page, SIGSEGV); only that message is gone, and flow
/// bounds nesting before anything runs (docs/performance.md, "Start-up").
#[no_mangle]
extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    open_closed_standard_fds();
    // SAFETY: setting a signal's disposition to "ignore", before any thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let code = std::panic::catch_unwind(flow_main).unwrap_or(101);
    let _ = std::io::Write::flush(&mut std::io::stdout());
    libc::c_int::from(code)
}

/// A standard stream that flow was started without (`flow x.flow >&-`) is opened on
/// `/dev/null`, so that no file flow opens later becomes fd 0, 1 or 2 by accident.
fn open_closed_standard_fds() {
    for fd in 0..3 {
        // SAFETY: F_GETFD only reads the descriptor's flags; open(2) of a constant C string.
        unsafe {
            if libc::fcntl(fd, libc::F_GETFD) == -1
                && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF)
            {
                libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            }
        }
    }
}

/// What the run should report, from `--report FILE`, `--trace FILE` and `--stats` before
/// the script (or before `-c`, or after `run`).
#[derive(Default)]
struct ReportFlags {
    html: Option<std::path::PathBuf>,
    trace: Option<std::path::PathBuf>,
    stats: bool,
}

static REPORT_FLAGS: std::sync::OnceLock<ReportFlags> = std::sync::OnceLock::new();

/// Take the report flags out of `argv` (where they come before the script); `Err` names a
/// flag without its file.
fn take_report_flags(argv: &mut Vec<OsString>) -> Result<ReportFlags, String> {
    let mut f = ReportFlags::default();
    let mut i = 1;
    if argv.get(1).is_some_and(|a| a == "run") {
        i = 2;
    }
    while let Some(a) = argv.get(i).and_then(|a| a.to_str()).map(str::to_string) {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        match flag.as_str() {
            "--stats" if inline.is_none() => {
                f.stats = true;
                argv.remove(i);
            }
            "--report" | "--trace" => {
                argv.remove(i);
                let file = match inline {
                    Some(v) => OsString::from(v),
                    None if i < argv.len() => argv.remove(i),
                    None => OsString::new(),
                };
                if file.is_empty() {
                    return Err(format!(
                        "{flag} needs a file name: `flow {flag} {} SCRIPT.flow`",
                        if flag == "--report" {
                            "run.html"
                        } else {
                            "trace.json"
                        }
                    ));
                }
                if flag == "--report" {
                    f.html = Some(file.into());
                } else {
                    f.trace = Some(file.into());
                }
            }
            _ => break,
        }
    }
    Ok(f)
}

fn flow_main() -> u8 {
    // `flow -c SOURCE ARGS…`: everything after SOURCE belongs to the script.
    let mut argv: Vec<OsString> = std::env::args_os().collect();
    match take_report_flags(&mut argv) {
        Ok(f) => {
            let _ = REPORT_FLAGS.set(f);
        }
        Err(e) => {
            eprintln!("flow: {e}");
            return 2;
        }
    }
    // A run must not die of a Ctrl-C that arrives while it starts: catch it now, act on it
    // once the run is set up (the REPL and `check`/`plan` keep the default).
    let first = argv.get(1).and_then(|a| a.to_str()).unwrap_or("");
    let runs = match first {
        "check" | "plan" | "repl" | "lsp" | "completions" | "man" | "--help" | "-h"
        | "--version" | "-V" => false,
        "" => !std::io::stdin().is_terminal(),
        _ => true,
    };
    if runs {
        flow::catch_signals_early();
    }
    unblock_early_signals();
    if argv.len() >= 3 && argv[1] == "-c" {
        let src = argv[2].to_string_lossy().into_owned();
        return run_source(flow::SourceFile::new("-c", src), &argv[3..]);
    }
    let cli = Cli::parse_from(&argv);
    let code = match (cli.command, cli.sub) {
        (Some(src), _) => run_source(flow::SourceFile::new("-c", src), &[]),
        (None, Some(Sub::Run { script, args })) => run_file(&script, &args),
        (None, Some(Sub::Script(mut v))) => {
            let script = v.remove(0).to_string_lossy().into_owned();
            run_file(&script, &v)
        }
        (None, Some(Sub::Check { script })) => match load(&script) {
            // About to exit: freeing a long script's syntax tree would only cost time.
            Ok(src) => check(&src).map_or(2, |s| {
                std::mem::forget(s);
                0
            }),
            Err(code) => code,
        },
        (None, Some(Sub::Plan { script, format })) => match load(&script) {
            Ok(src) => plan(&src, format),
            Err(code) => code,
        },
        (None, Some(Sub::Repl)) => flow_cli::repl::run(),
        (None, Some(Sub::Lsp)) => flow_lsp::run(),
        (None, Some(Sub::Completions { shell })) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut buf = vec![];
            clap_complete::generate(shell, &mut cmd, "flow", &mut buf);
            print_bytes(&buf)
        }
        (None, Some(Sub::Man)) => man(),
        (None, None) => {
            if std::io::stdin().is_terminal() {
                flow_cli::repl::run()
            } else {
                run_file("-", &[])
            }
        }
    };
    code
}

/// Read a script file (`-` or `/dev/stdin` is standard input). Exit 2 if it cannot be read.
fn load(path: &str) -> Result<flow::SourceFile, u8> {
    let bytes = if path == "-" {
        let mut b = vec![];
        std::io::stdin().read_to_end(&mut b).map(|_| b)
    } else {
        std::fs::read(path)
    };
    let name = if path == "-" {
        "<stdin>".to_string()
    } else {
        path.to_string()
    };
    match bytes {
        Ok(b) => Ok(flow::SourceFile::from_bytes(name, b)),
        Err(e) => {
            eprintln!("flow: cannot read {path}: {e}");
            Err(2)
        }
    }
}

fn check(src: &flow::SourceFile) -> Option<flow::Script> {
    match flow::Script::compile(src.clone(), &flow::CompileOptions::default()) {
        Ok(s) => {
            let warnings: Vec<&dyn miette::Diagnostic> = s
                .warnings()
                .iter()
                .map(|w| w as &dyn miette::Diagnostic)
                .collect();
            if !warnings.is_empty() {
                eprint!(
                    "{}",
                    flow::render(&warnings, &s.source, flow::RenderOptions::for_stderr())
                );
            }
            Some(s)
        }
        Err(diags) => {
            eprint!("{}", diags.render(flow::RenderOptions::for_stderr()));
            None
        }
    }
}

fn plan(src: &flow::SourceFile, format: Format) -> u8 {
    let Some(script) = check(src) else { return 2 };
    let out = match format {
        Format::Text => script.plan().render_text(),
        Format::Dot => script.plan().render_dot(),
        Format::Json => script.plan().render_json(),
    };
    print!("{out}");
    0
}

/// The manual page, from the clap definition.
fn man() -> u8 {
    let mut buf = vec![];
    match clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut buf) {
        Ok(()) => print_bytes(&buf),
        Err(e) => {
            eprintln!("flow man: {e}");
            1
        }
    }
}

/// Write generated text to stdout; a closed stdout (`| head`) is an error, not a panic.
fn print_bytes(bytes: &[u8]) -> u8 {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("flow: {e}");
            1
        }
    }
}

fn run_file(path: &str, args: &[OsString]) -> u8 {
    match load(path) {
        Ok(src) => run_source(src, args),
        Err(code) => code,
    }
}

fn run_source(src: flow::SourceFile, args: &[OsString]) -> u8 {
    let Some(script) = check(&src) else { return 2 };
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    cli_run(&script, args)
}

/// Run a compiled script as the CLI does (signal handlers installed, errors rendered on
/// stderr); returns the process exit code.
fn cli_run(script: &flow::Script, args: Vec<String>) -> u8 {
    flow::become_subreaper();
    let opts = flow::RunOptions {
        args,
        handle_signals: true,
        print_result: true,
        inherit_stdin: true,
        stages_started: std::env::var_os("FLOW_STAGES_STARTED").map(Into::into),
        report: REPORT_FLAGS
            .get()
            .filter(|f| f.stats || f.html.is_some() || f.trace.is_some())
            .map(|_| flow::ReportOut::default()),
        ..flow::RunOptions::default()
    };
    let report = opts.report.clone();
    let result = flow::run_script(script, opts);
    let written = report.map_or(Ok(()), |r| write_reports(&r, script));
    let code = run_code(result, script);
    match written {
        Err(e) => {
            eprintln!("flow: {e}");
            if code == 0 {
                1
            } else {
                code
            }
        }
        Ok(()) => code,
    }
}

/// Write what `--report`, `--trace` and `--stats` asked for.
fn write_reports(out: &flow::ReportOut, script: &flow::Script) -> Result<(), String> {
    let Some(report) = out.lock().unwrap_or_else(|e| e.into_inner()).take() else {
        return Ok(());
    };
    let Some(flags) = REPORT_FLAGS.get() else {
        return Ok(());
    };
    if flags.stats {
        eprint!("{}", report.stats_table());
    }
    let write = |path: &std::path::Path, text: String| {
        std::fs::write(path, text)
            .map_err(|e| format!("cannot write the report {}: {e}", path.display()))
    };
    if let Some(p) = &flags.html {
        write(p, report.to_html(&script.source.text))?;
    }
    if let Some(p) = &flags.trace {
        write(p, report.to_trace_json())?;
    }
    Ok(())
}

/// The exit code of a run, its error rendered on stderr.
fn run_code(result: Result<flow::rhai::Dynamic, flow::RunError>, script: &flow::Script) -> u8 {
    match result {
        Ok(_) => 0,
        Err(e) => {
            let code = e.exit_code();
            if !matches!(
                e.kind,
                flow::RunErrorKind::Interrupted { .. } | flow::RunErrorKind::ScriptExit { .. }
            ) {
                eprint!(
                    "{}",
                    flow::render(&[&e], &script.source, flow::RenderOptions::for_stderr())
                );
            }
            code
        }
    }
}
