//! Parse errors: where (a span) plus what (a kind), rendered in user words.

use crate::Span;
use miette::{Diagnostic, LabeledSpan};
use std::fmt;

/// A syntax error in a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Where the problem is.
    pub span: Span,
    /// What the problem is.
    pub kind: ParseErrorKind,
}

/// The kinds of syntax error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// Something else was expected here.
    Unexpected { expected: String, found: String },
    /// A `{`, `(` or `[` is never closed.
    Unclosed { open: Span, close: char },
    /// A closing bracket with no opening one.
    Unmatched { close: char },
    /// A `/*` comment or a string never closed.
    UnclosedText { what: &'static str },
    /// A `|` with no stage on one side.
    StrayPipe,
    /// `&&`, `||` or `&` between commands: not flow.
    ShellOperator { op: String },
    /// `else` with no `if` before it.
    ElseWithoutIf,
    /// `join` or `cancel` without task names.
    MissingTaskNames { keyword: String },
    /// Brackets nested too deep to be a real script.
    TooDeep { limit: usize },
    /// An `if … else if …` chain with more `else if` arms than the nesting limit (each arm
    /// is one level deeper in the syntax tree).
    LongElseIf { limit: usize },
    /// `5x`: not a duration.
    BadDuration { text: String },
    /// A keyword used as a program: `sort -n`.
    KeywordAsCommand { keyword: String, fix: String },
    /// `on_error` takes `fail`, `continue` or `skip`.
    BadOnError { text: String },
    /// The script is not UTF-8.
    NotUtf8,
    /// An integer out of range.
    BadNumber { text: String },
    /// A keyword where only a name can stand and a keyword could also be meant: `fn count(…)`.
    ReservedWord { word: String },
    /// `try { … }` with no `catch` block after it.
    TryWithoutCatch,
    /// `throw` with nothing to throw.
    ThrowWithoutValue,
    /// Another language's syntax (bash, GNU parallel, Python, Go, Nextflow): what it is, and
    /// flow's spelling (`syntax::foreign`).
    Foreign { message: String, help: String },
}

impl ParseError {
    pub fn new(span: Span, kind: ParseErrorKind) -> Self {
        ParseError { span, kind }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ParseErrorKind as K;
        match &self.kind {
            K::Unexpected { expected, found } => write!(f, "expected {expected}, found {found}"),
            K::Unclosed { close, .. } => write!(f, "unclosed block: missing `{close}`"),
            K::Unmatched { close } => write!(f, "unmatched `{close}`"),
            K::UnclosedText { what } => write!(f, "unclosed {what}"),
            K::StrayPipe => write!(f, "a `|` must stand between two stages"),
            K::ShellOperator { op } => write!(f, "`{op}` is shell syntax, not flow"),
            K::ElseWithoutIf => write!(f, "`else` without an `if` before it"),
            K::MissingTaskNames { keyword } => write!(f, "`{keyword}` needs the names of tasks"),
            K::TooDeep { limit } => write!(f, "brackets nested deeper than {limit} levels"),
            K::LongElseIf { limit } => write!(f, "more than {limit} `else if` arms in one chain"),
            K::BadDuration { text } => write!(f, "`{text}` is not a duration"),
            K::KeywordAsCommand { keyword, .. } => {
                write!(
                    f,
                    "`{keyword}` is a flow keyword here, not the program `{keyword}`"
                )
            }
            K::BadOnError { text } => {
                write!(
                    f,
                    "`on_error` takes `fail`, `fail N`, `fail N%` (each may end in `soon`), `continue`, `skip` or `keep`, not `{text}`"
                )
            }
            K::NotUtf8 => write!(f, "the script is not valid UTF-8"),
            K::BadNumber { text } => write!(f, "`{text}` is not a valid number here"),
            K::ReservedWord { word } => write!(f, "`{word}` is a reserved word here"),
            K::TryWithoutCatch => write!(f, "`try` without a `catch` or `finally` block"),
            K::ThrowWithoutValue => write!(f, "`throw` needs a value: the error message"),
            K::Foreign { message, .. } => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for ParseError {}

impl Diagnostic for ParseError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        use ParseErrorKind as K;
        let code = match &self.kind {
            K::Unexpected { .. } => "flow::parse::unexpected",
            K::Unclosed { .. } => "flow::parse::unclosed_block",
            K::Unmatched { .. } => "flow::parse::unmatched_close",
            K::TooDeep { .. } => "flow::parse::too_deep",
            K::LongElseIf { .. } => "flow::parse::long_else_if",
            K::UnclosedText { .. } => "flow::parse::unclosed",
            K::StrayPipe => "flow::parse::stray_pipe",
            K::ShellOperator { .. } => "flow::parse::shell_operator",
            K::ElseWithoutIf => "flow::parse::else_without_if",
            K::MissingTaskNames { .. } => "flow::parse::missing_task_names",
            K::BadDuration { .. } => "flow::parse::bad_duration",
            K::KeywordAsCommand { .. } => "flow::parse::keyword_as_command",
            K::BadOnError { .. } => "flow::parse::bad_on_error",
            K::NotUtf8 => "flow::parse::not_utf8",
            K::BadNumber { .. } => "flow::parse::bad_number",
            K::ReservedWord { .. } => "flow::parse::reserved_word",
            K::TryWithoutCatch => "flow::parse::try_without_catch",
            K::ThrowWithoutValue => "flow::parse::throw_without_value",
            K::Foreign { .. } => "flow::parse::foreign_syntax",
        };
        Some(Box::new(code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        use ParseErrorKind as K;
        let help: String = match &self.kind {
            K::Unclosed { close, .. } => format!("add the missing `{close}`"),
            K::Unmatched { close } => format!("remove this `{close}` or add its opening bracket"),
            K::BadDuration { .. } => {
                "a duration is a number followed by ms, s, m or h: `250ms`, `1.5s`, `2m`".into()
            }
            K::KeywordAsCommand { fix, .. } => format!("to run the program, write `{fix}`"),
            K::ReservedWord { word } => {
                format!("a flow keyword cannot be a name here: use another, e.g. `{word}_` or `n`")
            }
            K::BadOnError { .. } => "write `on_error fail` (stop at the first failure), `on_error fail 3 soon` (after 3 failures, letting running jobs finish; N from 1, N% up to 100), `on_error continue`, `on_error skip` or `on_error keep` (a failed item's place holds `#{error: e}`)".into(),
            K::TooDeep { .. } => "split the script into functions".into(),
            K::LongElseIf { .. } => {
                "look the value up in a map (`let m = #{ a: 1, b: 2 }; m[k]`), or split the chain into functions".into()
            }
            K::UnclosedText { what } => format!("close the {what} that starts here"),
            K::StrayPipe => "remove it, or add the missing stage: `ls | wc -l`".into(),
            K::ShellOperator { op } if op == "&&" => {
                "put the commands on separate lines (a failing one stops the script), or use `if`"
                    .into()
            }
            K::ShellOperator { op } if op == "||" => {
                "use `unchecked cmd` to ignore a failure, or `if` to branch: \
                 `if ^cmd { … } else { … }`"
                    .into()
            }
            K::ShellOperator { .. } => "to run something in the background, use `spawn`".into(),
            K::TryWithoutCatch => {
                "add a handler after the block: `try { … } catch e { print(e.message) }`, or \
                 cleanup that runs however it ends: `try { … } finally { … }`"
                    .into()
            }
            K::ThrowWithoutValue => "write `throw \"what went wrong\"`".into(),
            K::Foreign { help, .. } => help.clone(),
            K::ElseWithoutIf => "`else` must follow the `}` of an `if` block".into(),
            K::MissingTaskNames { keyword } => {
                format!(
                    "write `{keyword} h` or `{keyword} a, b` with handles from `let h = spawn …`"
                )
            }
            _ => return None,
        };
        Some(Box::new(help))
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        use ParseErrorKind as K;
        let mut labels = vec![];
        match &self.kind {
            K::Unclosed { open, close } => {
                labels.push(LabeledSpan::new_with_span(
                    Some(format!("this is never closed by a `{close}`")),
                    *open,
                ));
                labels.push(LabeledSpan::new_with_span(
                    Some("the script ends here".into()),
                    self.span,
                ));
            }
            K::UnclosedText { .. } => labels.push(LabeledSpan::new_with_span(
                Some("opened here, never closed".into()),
                self.span,
            )),
            K::Unexpected { expected, .. } => labels.push(LabeledSpan::new_with_span(
                Some(format!("expected {expected}")),
                self.span,
            )),
            K::Foreign { .. } => labels.push(LabeledSpan::new_with_span(
                Some("not flow".into()),
                self.span,
            )),
            _ => labels.push(LabeledSpan::new_with_span(Some("here".into()), self.span)),
        }
        Some(Box::new(labels.into_iter()))
    }
}
