//! The interactive REPL (rustyline): persistent history, multi-line entries, completion,
//! `:help`, `:plan`, `:vars`, `:quit`. Ctrl-C during a run cancels that run (the interrupt sequence's
//! sequence) and returns to the prompt; Ctrl-C at the prompt clears the line; Ctrl-D exits.

mod helper;

use flow::tooling::Session;
use flow::{render, CompileOptions, RenderOptions, Script, SourceFile};
use flow::{CancelReason, CancelToken, RunErrorKind};
use rustyline::error::ReadlineError;
use std::sync::{Arc, Mutex};

const HELP: &str = "\
flow REPL — enter statements or pipelines; variables and fns persist between entries.
  :help              this text
  :plan <pipeline>   show the plan of a pipeline without running it
  :vars              list the variables and fns
  :report FILE       write the last entry's run report (FILE.html, or FILE.json: a trace)
  :quit              leave (or Ctrl-D)
An entry continues on the next line while a `{`, `(` or `[` is open or the line ends in `|`.
Tab completes keywords, programs, files, variables (also after `$` and `${`) and fns; a
second Tab lists the candidates.
Ctrl-C cancels a running entry and runs the `on_interrupt` blocks entered so far; at the
prompt it clears the line.";

/// The first line of an interactive session.
fn banner() -> String {
    format!(
        "flow {} — statements and pipelines run as you enter them; :help for help, Ctrl-D to leave",
        env!("CARGO_PKG_VERSION")
    )
}

fn history_path() -> Option<std::path::PathBuf> {
    std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".flow_history"))
}

/// Start the REPL; returns the exit code.
#[must_use]
pub fn run() -> u8 {
    flow::become_subreaper();
    let config = rustyline::Config::builder()
        .auto_add_history(true)
        .completion_type(rustyline::CompletionType::List)
        .build();
    let mut rl = match rustyline::Editor::with_config(config) {
        Ok(rl) => rl,
        Err(e) => {
            eprintln!("flow: cannot start the REPL: {e}");
            return 1;
        }
    };
    let mut session = Session::new(vec![]);
    let names = Arc::new(Mutex::new(Vec::<String>::new()));
    rl.set_helper(Some(helper::FlowHelper::new(names.clone())));
    if let Some(p) = history_path() {
        let _ = rl.load_history(&p);
    }
    // While an entry runs, SIGINT cancels it; at the prompt the terminal is raw and
    // rustyline sees Ctrl-C as a key.
    let current: Arc<Mutex<Option<CancelToken>>> = Arc::default();
    let _signals = install(&current);
    let mut fn_sigs: Vec<(String, usize)> = vec![];
    // `fn name(a, b)` of each fn entered, for `:vars`.
    let mut fn_lines: Vec<(String, String)> = vec![];
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        println!("{}", banner());
    }
    let mut n = 0;
    // The newest entry's text, for `:report`.
    let mut last_source = String::new();
    loop {
        let line = match rl.readline("flow> ") {
            Ok(l) => {
                // Written at once: closing the terminal (no clean exit) keeps the session.
                if let Some(p) = history_path() {
                    let _ = rl.append_history(&p);
                }
                l
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("flow: {e}");
                break;
            }
        };
        let entry = line.trim();
        if entry.is_empty() {
            continue;
        }
        match entry.split_whitespace().next().unwrap_or("") {
            ":quit" | ":q" | ":exit" => break,
            ":help" | ":h" => {
                println!("{HELP}");
                continue;
            }
            ":vars" => {
                for (k, v) in session.vars() {
                    println!("{k} = {v}");
                }
                for (_, line) in &fn_lines {
                    println!("{line}");
                }
                continue;
            }
            ":plan" => {
                let text = entry.trim_start_matches(":plan").trim();
                if let Some(s) = compile(text, &session, &fn_sigs, n) {
                    print!("{}", s.plan().render_text());
                }
                continue;
            }
            ":report" => {
                let file = entry.trim_start_matches(":report").trim();
                match (session.last_report(), file) {
                    (_, "") => eprintln!(":report FILE.html (or FILE.json for a trace)"),
                    (None, _) => eprintln!(":report: no entry has run yet"),
                    (Some(r), f) => {
                        let text = if f.ends_with(".json") {
                            r.to_trace_json()
                        } else {
                            r.to_html(&last_source)
                        };
                        match std::fs::write(f, text) {
                            Ok(()) => println!("wrote {f}"),
                            Err(e) => eprintln!(":report: cannot write {f}: {e}"),
                        }
                    }
                }
                continue;
            }
            w if w.starts_with(':') => {
                eprintln!("unknown command {w}; try :help");
                continue;
            }
            _ => {}
        }
        n += 1;
        let Some(script) = compile(entry, &session, &fn_sigs, n) else {
            continue;
        };
        for s in &script.ast.stmts {
            if let flow::ast::StmtKind::Fn { name, params, .. } = &s.kind {
                fn_sigs.retain(|(f, _)| *f != name.name);
                fn_sigs.push((name.name.clone(), params.len()));
                let ps: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
                fn_lines.retain(|(f, _)| *f != name.name);
                fn_lines.push((
                    name.name.clone(),
                    format!("fn {}({})", name.name, ps.join(", ")),
                ));
            }
        }
        last_source.clone_from(&script.source.text);
        let token = CancelToken::new();
        *current.lock().unwrap_or_else(|e| e.into_inner()) = Some(token.clone());
        let r = session.run(&script, token);
        *current.lock().unwrap_or_else(|e| e.into_inner()) = None;
        match r {
            Ok(v) if !v.is_unit() => println!("{}", flow::tooling::display(&v)),
            Ok(_) => {}
            Err(e) if matches!(e.kind, RunErrorKind::Interrupted { .. }) => {
                eprintln!("^C cancelled")
            }
            Err(e) => eprint!(
                "{}",
                render(&[&e], &script.source, RenderOptions::for_stderr())
            ),
        }
        let mut known: Vec<String> = session.vars().into_iter().map(|(k, _)| k).collect();
        known.extend(fn_sigs.iter().map(|(f, _)| f.clone()));
        *names.lock().unwrap_or_else(|e| e.into_inner()) = known;
    }
    0
}

fn compile(text: &str, session: &Session, fns: &[(String, usize)], n: usize) -> Option<Script> {
    let opts = CompileOptions {
        known_vars: session.vars().into_iter().map(|(k, _)| k).collect(),
        known_fns: fns.to_vec(),
        path: None,
        open_names: false,
        allowed_programs: None,
    };
    match Script::compile(SourceFile::new(format!("<entry {n}>"), text), &opts) {
        Ok(s) => Some(s),
        Err(d) => {
            eprint!("{}", d.render(RenderOptions::for_stderr()));
            None
        }
    }
}

struct Signals(signal_hook::iterator::Handle);

impl Drop for Signals {
    fn drop(&mut self) {
        self.0.close();
    }
}

fn install(current: &Arc<Mutex<Option<CancelToken>>>) -> Option<Signals> {
    let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGINT]).ok()?;
    let handle = signals.handle();
    let current = current.clone();
    std::thread::spawn(move || {
        for _ in signals.forever() {
            if let Some(t) = current.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                t.cancel(CancelReason::Interrupt);
            }
        }
    });
    Some(Signals(handle))
}
