//! The `flow` command line: a thin client of the library.

use clap::{Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::io::{IsTerminal, Read};
use std::process::ExitCode;

/// Items are many small strings made on one thread and freed on another: mimalloc is
/// measurably faster at that than the system allocator (docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// Runs before `main` (right after the dynamic loader): SIGINT and SIGTERM are blocked, so
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
        libc::sigprocmask(how, &set, std::ptr::null_mut());
    }
}

fn main() -> ExitCode {
    // `flow -c SOURCE ARGS…`: everything after SOURCE belongs to the script.
    let argv: Vec<OsString> = std::env::args_os().collect();
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
        return ExitCode::from(run_source(flow::SourceFile::new("-c", src), &argv[3..]));
    }
    let cli = Cli::parse();
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
        (None, Some(Sub::Repl)) => flow::repl::run(),
        (None, Some(Sub::Lsp)) => flow::lsp::run(),
        (None, Some(Sub::Completions { shell })) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut buf = vec![];
            clap_complete::generate(shell, &mut cmd, "flow", &mut buf);
            print_bytes(&buf)
        }
        (None, Some(Sub::Man)) => man(),
        (None, None) => {
            if std::io::stdin().is_terminal() {
                flow::repl::run()
            } else {
                run_file("-", &[])
            }
        }
    };
    ExitCode::from(code)
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
    flow::cli_run(&script, args)
}
