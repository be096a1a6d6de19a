//! REPL editing help: multi-line validation and tab completion of keywords, functions,
//! variables, programs on PATH and file paths.

use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper, Highlighter, Hinter};
use std::sync::{Arc, Mutex};

/// Words offered besides the keywords: built-ins and REPL commands.
const EXTRA: &[&str] = &[
    "to_json",
    "print",
    "eprint",
    "sleep",
    "env",
    "glob",
    "read_file",
    "write_file",
    "exists",
    "run",
    "cpus",
    "channel",
    "args",
    ":help",
    ":plan",
    ":vars",
    ":quit",
];

#[derive(Helper, Highlighter, Hinter)]
pub(super) struct FlowHelper {
    files: FilenameCompleter,
    /// Variables and fns of the session (updated after each entry).
    names: Arc<Mutex<Vec<String>>>,
    /// Programs on PATH, listed once.
    programs: Vec<String>,
}

impl FlowHelper {
    pub(super) fn new(names: Arc<Mutex<Vec<String>>>) -> Self {
        let programs = flow::tooling::programs_on_path();
        FlowHelper {
            files: FilenameCompleter::new(),
            names,
            programs,
        }
    }
}

/// True while an entry needs more lines: an open bracket, or a trailing `|`.
pub(super) fn incomplete(text: &str) -> bool {
    let mut depth: i64 = 0;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in text.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && q != '\'' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '{' | '(' | '[' => depth += 1,
            '}' | ')' | ']' => depth -= 1,
            _ => {}
        }
    }
    depth > 0 || text.trim_end().ends_with('|')
}

impl Validator for FlowHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        Ok(if incomplete(ctx.input()) {
            ValidationResult::Incomplete
        } else {
            ValidationResult::Valid(None)
        })
    }
}

impl Completer for FlowHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let start = line[..pos]
            .rfind(|c: char| c.is_whitespace() || "|({;".contains(c))
            .map_or(0, |i| i + 1);
        let word = &line[start..pos];
        let names = self.names.lock().unwrap_or_else(|e| e.into_inner()).clone();
        // `$na<Tab>`, `${na<Tab>` (also inside a quoted word): the session's variables.
        if let Some((at, prefix)) = dollar_word(&line[..pos]) {
            let out: Vec<Pair> = names
                .into_iter()
                .filter(|n| n.starts_with(prefix))
                .map(|n| Pair {
                    display: n.clone(),
                    replacement: n,
                })
                .collect();
            return Ok((at, out));
        }
        if word.contains('/') || word.starts_with('.') || word.starts_with('~') {
            return self.files.complete(line, pos, ctx);
        }
        let mut out: Vec<Pair> = flow_syntax::vocabulary::KEYWORDS
            .iter()
            .chain(EXTRA)
            .map(|s| (*s).to_string())
            .chain(names)
            .chain(self.programs.iter().cloned())
            .filter(|c| c.starts_with(word))
            .map(|c| Pair {
                display: c.clone(),
                replacement: c,
            })
            .collect();
        out.dedup_by(|a, b| a.replacement == b.replacement);
        if out.is_empty() {
            return self.files.complete(line, pos, ctx);
        }
        Ok((start, out))
    }
}

/// The name being typed after `$` or `${` at the end of `before`: where it starts and
/// what is typed so far.
fn dollar_word(before: &str) -> Option<(usize, &str)> {
    let name_start = before
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(0, |i| i + 1);
    let head = &before[..name_start];
    (head.ends_with('$') || head.ends_with("${")).then(|| (name_start, &before[name_start..]))
}

#[cfg(test)]
mod tests {
    use super::{dollar_word, incomplete};

    #[test]
    fn a_dollar_word_is_a_variable_being_typed() {
        assert_eq!(dollar_word("echo $na"), Some((6, "na")));
        assert_eq!(dollar_word("echo \"${co"), Some((8, "co")));
        assert_eq!(dollar_word("echo $"), Some((6, "")));
        assert_eq!(dollar_word("echo na"), None);
        assert_eq!(dollar_word("echo ${a.len() + b"), None);
    }

    #[test]
    fn continues_open_blocks_and_trailing_pipes() {
        assert!(incomplete("spawn {"));
        assert!(incomplete("ls |"));
        assert!(incomplete("print(\"a\""));
        assert!(!incomplete("print(\"}\")"));
        assert!(!incomplete("ls | wc -l"));
    }
}
