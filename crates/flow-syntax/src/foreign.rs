//! Foreign spellings: what a newcomer from bash, GNU parallel, Python, Go or Nextflow writes
//! first, recognised only where flow cannot take it otherwise, with flow's spelling as the
//! fix. One table, consulted where flow would otherwise say something less useful: where the
//! parser stops (`at_stop`), for words flow would pass on as text (`$1`, `$(…)`: `dollar`),
//! and by the checker for unknown commands and variables and for Rhai syntax errors
//! (`check::foreign`). docs/shell.md and docs/coming-from-parallel.md list the decisions.

use crate::Span;

mod builtins;
mod other;
mod parallel;
mod shell;
#[cfg(test)]
mod tests;

pub use other::{in_rhai, let_value};
use shell::test_command as shell_test;
pub use shell::{assignment, dollar, env_variable, interprets_dollar};

/// Another language's syntax found in a script: where, what it is, and flow's spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Foreign {
    /// The foreign text.
    pub span: Span,
    /// What it is: "`elif` is Python's, not flow".
    pub message: String,
    /// The fix, in flow's syntax.
    pub help: String,
}

impl Foreign {
    fn new(span: Span, message: impl Into<String>, help: impl Into<String>) -> Self {
        Foreign {
            span,
            message: message.into(),
            help: help.into(),
        }
    }
}

impl From<Foreign> for super::parse_error::ParseError {
    fn from(f: Foreign) -> Self {
        let kind = super::parse_error::ParseErrorKind::Foreign {
            message: f.message,
            help: f.help,
        };
        super::parse_error::ParseError::new(f.span, kind)
    }
}

/// Whether `rest` starts with a GNU parallel replacement string (`{.}`, `{//}`, `{#}`…).
pub fn is_replacement_token(rest: &str) -> bool {
    rest.starts_with('{') && parallel::replacement_token(rest).is_some()
}

/// The parser stopped at `pos` of `src`: foreign syntax there, or in the statement that
/// holds it? (Only consulted once the parse has failed, so valid flow never gets here.)
pub fn at_stop(src: &str, pos: usize) -> Option<Foreign> {
    let pos = pos.min(src.len());
    let line_start = src[..pos].rfind('\n').map_or(0, |i| i + 1);
    // The statement may start the line, or follow a `;` on it (`n=1; if [ … ]; then`).
    let after_semi = src[line_start..pos].rfind(';').map(|i| line_start + i + 1);
    for start in std::iter::once(line_start).chain(after_semi) {
        let at = start + blanks(&src[start..]);
        if at > pos {
            continue;
        }
        let found = other::statement(src, at).or_else(|| shell::statement(src, at, pos));
        if found.is_some() {
            return found;
        }
    }
    other::word_at(src, pos)
        .or_else(|| shell::at(src, pos))
        .or_else(|| parallel::at(src, pos))
}

/// The help for a program flow cannot run as one: a shell builtin or keyword, a comment, an
/// assignment, Go's `:=`, Python's `await`… `command` is the command in `src`, from its
/// program word (`name`) on; `on_path` says whether a program of that name was found (only
/// those that could never do what was meant are reported then). `(message, help)`.
pub fn program(src: &str, name: &str, command: Span, on_path: bool) -> Option<(String, String)> {
    let text = command.text(src);
    builtins::program(src, name, command, on_path)
        .or_else(|| other::program(name, text, on_path))
        .or_else(|| parallel::program(src, name, command).filter(|_| !on_path))
}

// ------------------------------------------------------------------ text helpers

/// The length of the blanks (spaces, tabs) at the start of `s`.
fn blanks(s: &str) -> usize {
    s.len() - s.trim_start_matches([' ', '\t']).len()
}

/// Where the line holding `pos` starts.
fn line_start(src: &str, pos: usize) -> usize {
    src[..pos.min(src.len())].rfind('\n').map_or(0, |i| i + 1)
}

/// Where the line holding `pos` ends (before its `\n` or `\r\n`).
fn line_end(src: &str, pos: usize) -> usize {
    let pos = pos.min(src.len());
    let end = src[pos..].find('\n').map_or(src.len(), |i| pos + i);
    if end > pos && src.as_bytes()[end - 1] == b'\r' {
        end - 1
    } else {
        end
    }
}

/// The next line after the one holding `pos` that is not blank, trimmed.
fn next_line(src: &str, pos: usize) -> Option<&str> {
    let mut at = line_end(src, pos);
    while at < src.len() {
        at += src[at..].find('\n')? + 1;
        let end = line_end(src, at);
        let l = src[at..end].trim();
        if !l.is_empty() {
            return Some(l);
        }
        at = end;
    }
    None
}

/// What follows the first word of `s` (up to a blank), trimmed.
fn after_first_word(s: &str) -> &str {
    s.split_once([' ', '\t']).map_or("", |(_, r)| r).trim()
}

/// The identifier at the start of `s` (`""` if none).
fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        ""
    } else {
        &s[..end]
    }
}

/// The first word of `s`: up to a blank (or the end).
fn first_word(s: &str) -> &str {
    s.split([' ', '\t']).next().unwrap_or("")
}

/// Whether `s` starts with the word `w` (followed by a blank, `;` or the end).
fn starts_word(s: &str, w: &str) -> bool {
    s.strip_prefix(w)
        .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t', ';']))
}

/// The index in `s` of the bracket closing the one at `open` (quotes skipped), if any.
fn closing(s: &str, open: usize) -> Option<usize> {
    let b = s.as_bytes();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut i = open;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) if c == b'\\' => i += 1,
            Some(_) => {}
            None => match c {
                b'"' | b'\'' | b'`' => quote = Some(c),
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    None
}

/// `text` as a Rhai literal: a number or `true`/`false` as it is, anything else as a
/// double-quoted string (sh-style quotes around it dropped).
pub fn rhai_literal(text: &str) -> String {
    let t = text.trim();
    let unquoted = ['"', '\'']
        .iter()
        .find_map(|q| t.strip_prefix(*q).and_then(|r| r.strip_suffix(*q)));
    if unquoted.is_none() && (t.parse::<f64>().is_ok() || t == "true" || t == "false") {
        return t.to_string();
    }
    let s = unquoted.unwrap_or(t);
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Words as a Rhai array literal: `["a", "b", 3]`.
pub fn rhai_array<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<String> = words.into_iter().map(rhai_literal).collect();
    format!("[{}]", items.join(", "))
}
