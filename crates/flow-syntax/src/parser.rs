//! The pest parsers for `grammar/flow.pest` and the mapping of their errors to user words.
//!
//! The grammar is compiled twice. `FlowParser` (with `grammar/guards.pest`) parses every
//! script: its guards stop attempts that can only fail. pest's error names every rule tried
//! where the parse stopped, and a guard leaves some of them untried, so a script that fails
//! is parsed again by `ExactParser` (with the empty guards of `grammar/guards_off.pest`), and
//! that error is the one reported. Both accept the same scripts with the same tree.

use super::ast::Ast;
use super::build::Builder;
use super::parse_error::{ParseError, ParseErrorKind};
use super::prescan;
use crate::Span;
use exact::{ExactParser, Rule as ExactRule};
pub use guarded::{FlowParser, Rule};
use pest::Parser;

mod guarded {
    /// The parser of every script: the grammar with its guards.
    #[derive(pest_derive::Parser)]
    #[grammar = "../../../grammar/flow.pest"]
    #[grammar = "../../../grammar/guards.pest"]
    pub struct FlowParser;
}

mod exact {
    /// The parser whose errors are reported: the grammar with empty guards.
    #[derive(pest_derive::Parser)]
    #[grammar = "../../../grammar/flow.pest"]
    #[grammar = "../../../grammar/guards_off.pest"]
    pub(crate) struct ExactParser;
}

/// Parse a whole script into its syntax tree.
///
/// # Errors
/// The syntax errors found, each with its span.
pub fn parse(src: &str) -> Result<Ast, Vec<ParseError>> {
    parse_with(src, &[])
}

/// [`parse`] where the variables `known` exist before the script's first line (set by a
/// host, or by earlier REPL entries): a statement that starts with one of them is Rhai
/// (`x + 1`, `xs.push(4)`), as after a `let` of it, not a command.
///
/// # Errors
/// The syntax errors found, each with its span.
pub fn parse_with(src: &str, known: &[String]) -> Result<Ast, Vec<ParseError>> {
    let brackets = prescan::scan(src).map_err(|e| vec![e])?;
    let blanked = blank(src, &brackets.comments);
    let text = blanked.as_deref().unwrap_or(src);
    match super::steps::by_statement(text, known) {
        Some(stmts) => match brackets.error(src.len()) {
            Some(e) => Err(vec![e]),
            None => stmts,
        },
        None => whole_with(src, text, &brackets, known),
    }
}

/// Parse and build `text` (`src` with its block comments blanked) as one `script`; a
/// script that fails is parsed again by the exact parser, for the error to report.
#[cfg(test)]
pub(super) fn whole(
    src: &str,
    text: &str,
    brackets: &prescan::Brackets,
) -> Result<Ast, Vec<ParseError>> {
    whole_with(src, text, brackets, &[])
}

fn whole_with(
    src: &str,
    text: &str,
    brackets: &prescan::Brackets,
    known: &[String],
) -> Result<Ast, Vec<ParseError>> {
    let pairs = match FlowParser::parse(Rule::script, text) {
        Ok(p) => p,
        Err(e) => {
            let error = match ExactParser::parse(ExactRule::script, text) {
                Err(e) => pest_error(src, &e, brackets),
                // (Cannot be: the two parsers accept the same scripts.)
                Ok(_) => disagreement(src, &e.location),
            };
            return Err(vec![error]);
        }
    };
    if let Some(e) = brackets.error(src.len()) {
        return Err(vec![e]);
    }
    let mut b = Builder::new(text, 0);
    b.declare(known);
    let stmts = b.script(pairs);
    if b.errors.is_empty() {
        Ok(Ast { stmts })
    } else {
        Err(b.errors)
    }
}

/// `src` with the block comments the prescan found turned into blanks (line ends kept, so
/// every offset stays the same); `None` when there are none.
fn blank(src: &str, comments: &[(usize, usize)]) -> Option<String> {
    if comments.is_empty() {
        return None;
    }
    let mut b = src.as_bytes().to_vec();
    for &(start, end) in comments {
        for c in &mut b[start..end] {
            if !matches!(*c, b'\n' | b'\r') {
                *c = b' ';
            }
        }
    }
    // Whole comments, `/*` to `*/`, were replaced by ASCII: still UTF-8.
    String::from_utf8(b).ok()
}

/// Where a pest error points.
fn error_pos(location: &pest::error::InputLocation) -> usize {
    match *location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    }
}

/// The error for a script the guarded parser refused and the exact one accepted: a guard
/// refused where it must not (a defect of the guards that `guards_change_no_tree` is there to
/// catch; reported where the guarded parser stopped rather than panicked on).
fn disagreement(src: &str, location: &pest::error::InputLocation) -> ParseError {
    let pos = error_pos(location);
    ParseError::new(
        Span::new(pos, next_token_end(src, pos)),
        ParseErrorKind::Unexpected {
            expected: "a statement or a stage".into(),
            found: found_at(src, pos),
        },
    )
}

/// Where the exact parser stops in `text` read as a lone pipeline (`pipeline_only`), after
/// the guarded one stopped at `guarded`: the place an error about that text points at.
pub fn pipeline_stop(text: &str, guarded: &pest::error::InputLocation) -> usize {
    match ExactParser::parse(ExactRule::pipeline_only, text) {
        Err(e) => error_pos(&e.location),
        // (Cannot be: the two parsers accept the same text.)
        Ok(_) => error_pos(guarded),
    }
}

/// Turn a pest error into a diagnostic in user words.
fn pest_error(
    src: &str,
    e: &pest::error::Error<ExactRule>,
    brackets: &prescan::Brackets,
) -> ParseError {
    let pos = error_pos(&e.location);
    // GNU parallel's `{//}` reads as a `{` and a comment, never closed: named as parallel's.
    if let Some((open, _)) = brackets.unclosed {
        if super::foreign::is_replacement_token(&src[open..]) {
            if let Some(f) = super::foreign::at_stop(src, open) {
                return f.into();
            }
        }
    }
    if let Some(at) = brackets.unclosed_comment {
        return ParseError::new(
            Span::new(at, at + 2),
            ParseErrorKind::UnclosedText { what: "comment" },
        );
    }
    if let Some((at, q)) = brackets.unclosed_string {
        let what = if q == '`' {
            "back-tick string"
        } else {
            "string"
        };
        return ParseError::new(Span::new(at, at + 1), ParseErrorKind::UnclosedText { what });
    }
    if let Some((at, close)) = brackets.unmatched {
        if at <= pos {
            return ParseError::new(Span::new(at, at + 1), ParseErrorKind::Unmatched { close });
        }
    }
    if let Some((open, close)) = brackets.unclosed {
        return ParseError::new(
            Span::new(src.len(), src.len()),
            ParseErrorKind::Unclosed {
                open: Span::new(open, open + 1),
                close,
            },
        );
    }
    // Another language's spelling (bash, GNU parallel, Python, Go, Nextflow) named with
    // flow's; consulted only here, where the parse has already failed.
    if let Some(f) = super::foreign::at_stop(src, pos) {
        return f.into();
    }
    let (expected, found) = match &e.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            if let Some(word) = reserved_at(src, pos, positives) {
                let span = Span::new(pos, pos + word.len());
                return ParseError::new(span, ParseErrorKind::ReservedWord { word });
            }
            (expected_words(positives), found_at(src, pos))
        }
        pest::error::ErrorVariant::CustomError { message } => (message.clone(), found_at(src, pos)),
    };
    let end = next_token_end(src, pos);
    let rest = src.get(pos..).unwrap_or("");
    if let Some(op) = ["&&", "||", "&"]
        .into_iter()
        .find(|op| rest.starts_with(op))
    {
        return ParseError::new(
            Span::new(pos, pos + op.len()),
            ParseErrorKind::ShellOperator { op: op.to_string() },
        );
    }
    let prev = src[..pos].trim_end_matches([' ', '\t']).chars().last();
    let pipe_here = rest.starts_with('|') && matches!(prev, None | Some('\n' | ';' | '{' | '|'));
    if let Some(after) = rest
        .strip_prefix('|')
        .filter(|a| a.trim_start().starts_with('|'))
    {
        let at = pos + 1 + (after.len() - after.trim_start().len());
        return ParseError::new(Span::new(at, at + 1), ParseErrorKind::StrayPipe);
    }
    if pipe_here || stray_pipe_before(src, pos) {
        let at = if rest.starts_with('|') {
            pos
        } else {
            src[..pos].rfind('|').unwrap_or(pos)
        };
        return ParseError::new(Span::new(at, at + 1), ParseErrorKind::StrayPipe);
    }
    if rest.starts_with('{') && src[..pos].ends_with('$') {
        return ParseError::new(
            Span::new(pos - 1, pos + 1),
            ParseErrorKind::UnclosedText {
                what: "`${…}` interpolation",
            },
        );
    }
    // In Rhai text an unclosed `/*` is never plain text (the prescan flags it only at a
    // line's start, since `ls /*` is a glob).
    if rest.starts_with("/*") && !rest.contains("*/") {
        return ParseError::new(
            Span::new(pos, pos + 2),
            ParseErrorKind::UnclosedText { what: "comment" },
        );
    }
    if rest.starts_with("else") && !rest[4..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
    {
        return ParseError::new(Span::new(pos, pos + 4), ParseErrorKind::ElseWithoutIf);
    }
    if let Some(e) = keyword_after_exec(src, pos) {
        return e;
    }
    ParseError::new(
        Span::new(pos, end),
        ParseErrorKind::Unexpected { expected, found },
    )
}

/// `pool exec sort -n …`: a program word after `exec` that did not parse as a command is
/// one of flow's keywords. The same help as at a statement's start: `^sort` runs the program.
fn keyword_after_exec(src: &str, pos: usize) -> Option<ParseError> {
    let before = src[..pos].trim_end_matches([' ', '\t']);
    let after_exec = before.strip_suffix("exec")?;
    if after_exec.ends_with(|c: char| c.is_alphanumeric() || c == '_') {
        return None;
    }
    let rest = &src[pos..];
    let word_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let keyword = &rest[..word_len];
    if !keyword.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    // The command: up to the line's end or the next stage.
    let line = rest.lines().next().unwrap_or(rest);
    let line = line.split(" | ").next().unwrap_or(line).trim_end();
    Some(ParseError::new(
        Span::new(pos, pos + line.len()),
        ParseErrorKind::KeywordAsCommand {
            keyword: keyword.to_string(),
            fix: format!("^{line}"),
        },
    ))
}

/// Whether the grammar reserves `word` (the whole of it) as a keyword.
pub fn is_keyword(word: &str) -> bool {
    ExactParser::parse(ExactRule::keyword, word)
        .is_ok_and(|mut p| p.next().is_some_and(|k| k.as_str().len() == word.len()))
}

/// A keyword where a name was wanted (`fn count(…)`, `join first`): it is reserved there.
fn reserved_at(src: &str, pos: usize, positives: &[ExactRule]) -> Option<String> {
    if !positives.contains(&ExactRule::name) {
        return None;
    }
    let rest = src.get(pos..)?;
    let len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let word = &rest[..len];
    is_keyword(word).then(|| word.to_string())
}

/// A pipeline that ends in `|` with nothing after it (the error is found at the next line).
fn stray_pipe_before(src: &str, pos: usize) -> bool {
    let before = src.get(..pos).unwrap_or("").trim_end();
    before.ends_with('|')
        && !before.ends_with("||")
        && src.get(pos..).is_none_or(|r| r.trim().is_empty())
}

/// What stands at `pos`, for "found …".
pub fn found_at(src: &str, pos: usize) -> String {
    let rest = src.get(pos..).unwrap_or("");
    match rest.chars().next() {
        None => "the end of the script".into(),
        Some('\n') => "the end of the line".into(),
        Some(c) if c.is_alphanumeric() || c == '_' => {
            let w: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            format!("`{w}`")
        }
        Some(c) => format!("`{c}`"),
    }
}

fn next_token_end(src: &str, pos: usize) -> usize {
    let rest = src.get(pos..).unwrap_or("");
    let mut chars = rest.char_indices();
    match chars.next() {
        None => pos,
        Some((_, c)) if c.is_alphanumeric() || c == '_' => {
            pos + rest
                .char_indices()
                .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
                .map_or(rest.len(), |(i, _)| i)
        }
        Some((_, c)) => pos + c.len_utf8(),
    }
}

/// "a statement, `|` or the end of the line" from the rules pest wanted.
fn expected_words(rules: &[ExactRule]) -> String {
    let mut words: Vec<&str> = Vec::new();
    for r in rules {
        if let Some(w) = describe(*r) {
            if !words.contains(&w) {
                words.push(w);
            }
        }
    }
    match words.len() {
        0 => "a statement or a stage".into(),
        1 => words[0].into(),
        n => format!("{} or {}", words[..n - 1].join(", "), words[n - 1]),
    }
}

/// User words for a grammar rule (`None`: not worth naming).
fn describe(r: ExactRule) -> Option<&'static str> {
    use ExactRule as R;
    Some(match r {
        R::EOI => "the end of the script",
        R::statement | R::fn_def | R::let_stmt | R::pipeline | R::call_stmt | R::dotted_stmt => {
            "a statement"
        }
        R::stmt_block => "a block `{ … }`",
        R::rhai_block => "a Rhai block `{ … }`",
        R::callable => "a function name or a block `{ … }`",
        R::name | R::binder => "a name",
        R::integer | R::amount => "a number",
        R::duration | R::bad_duration => "a duration like `5s`",
        R::rhai_expr | R::cond_expr | R::from_expr => "an expression",
        R::arg | R::word | R::program | R::any_program | R::bare => "a word",
        R::redirect | R::redirect_op => "a redirect",
        R::pool_map | R::pool_exec | R::kw_map | R::kw_exec => "`map` or `exec`",
        R::pool_opt => "a pool option",
        R::on_error_mode => "`fail` or `skip`",
        R::init_value => "an initial value",
        R::kw_in => "`in`",
        R::kw_slurm => "`slurm`",
        R::params => "parameter names",
        R::dq_string | R::sq_string => "a string",
        R::assign_op => "`=`",
        R::source => "`from`",
        R::command | R::item_stage | R::sink_stage | R::pool_stage => "a stage",
        _ => return None,
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::{ExactParser, ExactRule, FlowParser, Rule};
    use pest::Parser;

    /// A tree as (rule, start, end) triples.
    fn flat<R: pest::RuleType>(
        pairs: pest::iterators::Pairs<'_, R>,
    ) -> Vec<(String, usize, usize)> {
        let triple = |p: pest::iterators::Pair<'_, R>| {
            let s = p.as_span();
            (format!("{:?}", p.as_rule()), s.start(), s.end())
        };
        pairs.flatten().map(triple).collect()
    }

    /// The tree of `text` by the guarded parser, or `None` if it does not parse.
    pub(crate) fn guarded(text: &str) -> Option<Vec<(String, usize, usize)>> {
        FlowParser::parse(Rule::script, text).ok().map(flat)
    }

    /// The same by the exact parser (no guards).
    fn exact(text: &str) -> Option<Vec<(String, usize, usize)>> {
        ExactParser::parse(ExactRule::script, text).ok().map(flat)
    }

    /// The guards only refuse where the parse fails anyway: the guarded and the exact parser
    /// accept the same texts with the same tree.
    #[test]
    fn guards_change_no_tree() {
        let (mut ok, mut failed) = (0, 0);
        for text in crate::test_scripts::case_variants() {
            let tree = exact(&text);
            assert_eq!(guarded(&text), tree, "{text:?}");
            if tree.is_some() {
                ok += 1;
            } else {
                failed += 1;
            }
        }
        assert!(ok > 1000 && failed > 1000, "{ok} parsed, {failed} failed");
    }
}
