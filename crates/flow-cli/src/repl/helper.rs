//! REPL editing help: multi-line validation; tab completion of keywords, functions,
//! variables, programs on PATH and file paths; on a terminal, syntax colours (keywords,
//! strings, numbers, comments, `|`) and a dimmed hint from history, accepted with → (both
//! off under `NO_COLOR`).

use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::HistoryHinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper, Hinter};
use std::borrow::Cow;
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
    "status",
    "group_by",
    "group_tuple",
    "join_by",
    "format",
    "now",
    "cpus",
    "channel",
    "args",
    ":help",
    ":plan",
    ":report",
    ":vars",
    ":quit",
];

#[derive(Helper, Hinter)]
pub(super) struct FlowHelper {
    files: FilenameCompleter,
    /// The rest of the last history entry that starts with what is typed.
    #[rustyline(Hinter)]
    hints: HistoryHinter,
    /// Colours wanted (a terminal, and no `NO_COLOR`).
    color: bool,
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
            hints: HistoryHinter::new(),
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
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

const RESET: &str = "\x1b[0m";
const KEYWORD: &str = "\x1b[1;34m";
const STRING: &str = "\x1b[32m";
const NUMBER: &str = "\x1b[33m";
const COMMENT: &str = "\x1b[2;37m";
const PIPE: &str = "\x1b[1;35m";
const HINT: &str = "\x1b[2m";

/// `line` with ANSI colours: keywords, strings (`"…"`, `'…'`, `` `…` ``), numbers,
/// comments (`//`, `#` at the start of a word) and `|`. The text itself is unchanged, so
/// the cursor stays where it is.
pub(super) fn colorize(line: &str) -> String {
    let mut out = String::with_capacity(line.len() * 2);
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut i = 0;
    let paint = |out: &mut String, color: &str, text: &str| {
        out.push_str(color);
        out.push_str(text);
        out.push_str(RESET);
    };
    while i < chars.len() {
        let (at, c) = chars[i];
        let next = chars.get(i + 1).map(|&(_, c)| c);
        let word_start = i == 0 || chars[i - 1].1.is_whitespace();
        if (c == '/' && next == Some('/')) || (c == '#' && word_start) {
            paint(&mut out, COMMENT, &line[at..]);
            return out;
        }
        if matches!(c, '"' | '\'' | '`') {
            // To the closing quote (a backslash escapes one, except in '…'), or the end.
            let mut j = i + 1;
            while j < chars.len() && chars[j].1 != c {
                if chars[j].1 == '\\' && c != '\'' {
                    j += 1;
                }
                j += 1;
            }
            let end = chars.get(j + 1).map_or(line.len(), |&(e, _)| e);
            paint(&mut out, STRING, &line[at..end]);
            i = j + 1;
            continue;
        }
        if c == '|' {
            paint(&mut out, PIPE, "|");
            i += 1;
            continue;
        }
        if c.is_alphanumeric() || c == '_' {
            let mut j = i;
            while j < chars.len() && (chars[j].1.is_alphanumeric() || chars[j].1 == '_') {
                j += 1;
            }
            let end = chars.get(j).map_or(line.len(), |&(e, _)| e);
            let word = &line[at..end];
            // A word inside a path or a flag (`-n`, `a.b`, `x-y`) is not a keyword.
            let glued = i > 0 && matches!(chars[i - 1].1, '-' | '.' | '/' | '$' | '{');
            if word.chars().all(|c| c.is_ascii_digit()) && !glued {
                paint(&mut out, NUMBER, word);
            } else if !glued && flow_syntax::vocabulary::KEYWORDS.contains(&word) {
                paint(&mut out, KEYWORD, word);
            } else {
                out.push_str(word);
            }
            i = j;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

impl Highlighter for FlowHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if self.color {
            Cow::Owned(colorize(line))
        } else {
            Cow::Borrowed(line)
        }
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.color {
            Cow::Owned(format!("{HINT}{hint}{RESET}"))
        } else {
            Cow::Borrowed(hint)
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, kind: CmdKind) -> bool {
        // Every edit may open or close a string: repaint the line (not on cursor moves).
        self.color && kind != CmdKind::MoveCursor
    }
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
    use super::{colorize, dollar_word, incomplete};

    /// The text without its colours.
    fn plain(s: &str) -> String {
        let mut out = String::new();
        let mut it = s.chars();
        while let Some(c) = it.next() {
            if c == '\x1b' {
                for d in it.by_ref() {
                    if d == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn colours_keep_the_text_and_mark_what_they_should() {
        for line in [
            "from 1..=3 | map { it * 2 } | sum",
            "let s = \"a | b\" // note",
            "echo 'it''s' `x ${y}` # c",
            "ls -let /tmp/from | wc -l",
            "print(\"unclosed",
            "ümlaut \"ß\" 42",
            "",
        ] {
            assert_eq!(plain(&colorize(line)), line, "{line:?}");
        }
        let c = colorize("let n = 3 | count");
        assert!(c.contains("\x1b[1;34mlet\x1b[0m"), "{c:?}");
        assert!(c.contains("\x1b[33m3\x1b[0m"), "{c:?}");
        assert!(c.contains("\x1b[1;35m|\x1b[0m"), "{c:?}");
        // Inside a string or a flag, a keyword is not one.
        let c = colorize("echo \"let\" -let");
        assert!(!c.contains("\x1b[1;34m"), "{c:?}");
        assert!(c.contains("\x1b[32m\"let\"\x1b[0m"), "{c:?}");
    }

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
