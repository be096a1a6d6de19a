//! The checker's side of `syntax::foreign`: an unknown command or variable that is another
//! language's spelling (`cd`, `while`, `# …`, `name=world`, `await`, `$HOME`) gets flow's
//! spelling as its help, and GNU parallel's `{}` and `:::` in a pool's job — which would run,
//! as text — are errors. (`flow::check::foreign_syntax` is the code of the latter only: the
//! others keep the code the user would have got anyway.)

use super::CheckError;
use crate::ast::{Command, LetValue, Stmt, StmtKind, Word, WordPart};
use crate::syntax::foreign;
use crate::Span;

/// A program word that is another language's (`cd`, `while`, `#`, `name=world`, `await`,
/// `ch := …`): the error in place of "unknown command". `on_path`: a program of that name
/// was found (then only a word that could never do what was meant is reported).
pub(crate) fn program(src: &str, name: &str, c: &Command, on_path: bool) -> Option<CheckError> {
    let command = Span::new(c.program.span.start, command_end(c));
    let (message, help) = foreign::program(src, name, command, on_path)?;
    Some(CheckError::trap(
        c.program.span,
        "flow::check::unknown_command",
        message,
        help,
        false,
    ))
}

/// `$HOME` (or `${HOME}`) naming no script variable, where HOME is an environment variable.
pub(crate) fn variable(name: &str, span: Span) -> Option<CheckError> {
    let help = foreign::env_variable(name)?;
    Some(CheckError::trap(
        span,
        "flow::check::unknown_variable",
        format!("unknown variable `${name}`"),
        help,
        false,
    ))
}

/// `echo hi # say hi`: a word starting with `#` is text in flow, not a comment.
pub(crate) fn hash_word(c: &Command) -> Option<CheckError> {
    let w = c
        .args
        .iter()
        .find(|w| matches!(w.parts.first(), Some(WordPart::Bare(s)) if s.starts_with('#')))?;
    let program = program_name(c);
    Some(CheckError::trap(
        w.span,
        "flow::check::foreign_syntax",
        format!("`#` starts no comment in flow: `{program}` would get it and the words after it"),
        "write `//` for a comment; to pass a `#`, quote it: `'#'`".into(),
        false,
    ))
}

/// GNU parallel's `{}` and `:::` in a pool's exec job (`stage`: the pool stage).
pub(crate) fn pool_job(c: &Command, stage: Span, src: &str) -> Vec<CheckError> {
    let prefix = src
        .get(stage.start..c.program.span.start)
        .unwrap_or("pool exec ");
    let mut errors: Vec<CheckError> = placeholder(c, prefix, src).into_iter().collect();
    errors.extend(triple_colon(c, prefix, src));
    errors
}

/// The commands of a pool's `exec { … }` block, checked as [`pool_job`] checks a job.
pub(crate) fn pool_block(stmts: &[Stmt], src: &str) -> Vec<CheckError> {
    let mut errors = vec![];
    for s in stmts {
        let pipeline = match &s.kind {
            StmtKind::Pipeline(p)
            | StmtKind::Let {
                value: LetValue::Pipeline(p),
                ..
            } => p,
            _ => continue,
        };
        for st in &pipeline.stages {
            if let crate::ast::StageKind::Command(c) = &st.kind {
                errors.extend(placeholder(c, "", src));
            }
        }
    }
    errors
}

/// The program a command runs, as its report names it.
fn program_name(c: &Command) -> String {
    if c.shell {
        "sh".into()
    } else {
        c.program.literal().unwrap_or_default()
    }
}

/// `` let d = `date` ``: a Rhai back-tick string holding what reads as a command (its first
/// word, `is_program`, is a program on PATH), where bash would run it. A warning: it may
/// also be meant as the text.
pub(crate) fn backtick_command(
    name: &str,
    r: &crate::ast::Rhai,
    is_program: impl FnOnce(&str) -> bool,
) -> Option<CheckError> {
    let inner = r.code.trim().strip_prefix('`')?.strip_suffix('`')?;
    if inner.contains(['`', '$', '\n']) || !is_program(inner.split(' ').next()?) {
        return None;
    }
    Some(CheckError::trap(
        r.span,
        "flow::check::let_command",
        format!("`` `{inner}` `` is a Rhai string here, not shell command substitution"),
        format!("to bind the command's output, write `let {name} = ^{inner}`"),
        true,
    ))
}

fn literal(w: &Word) -> &str {
    match &w.parts[..] {
        [WordPart::Bare(s) | WordPart::Quoted(s)] => s,
        _ => "",
    }
}

/// Where a command's text ends: its last word or redirect.
fn command_end(c: &Command) -> usize {
    let args = c.args.iter().map(|w| w.span.end);
    let redirects = c.redirects.iter().map(|r| r.span.end);
    args.chain(redirects).fold(c.program.span.end, usize::max)
}

/// `pool exec echo {}`: parallel's placeholder, passed as the text `{}` by flow. Not when the
/// job names `it`, `seq` or `slot` anyway, nor after `find`'s `-exec`, nor for `xargs`.
fn placeholder(c: &Command, prefix: &str, src: &str) -> Option<CheckError> {
    let words: Vec<&Word> = std::iter::once(&c.program).chain(&c.args).collect();
    if words.iter().any(|w| names_item(&w.parts)) {
        return None;
    }
    let own_braces = |w: &&Word| {
        matches!(literal(w), "-exec" | "-execdir" | "-ok" | "-okdir")
            || ["xargs", "parallel"].contains(&literal(w).rsplit('/').next().unwrap_or(""))
    };
    let end = words.iter().position(own_braces).unwrap_or(words.len());
    let w = words[..end].iter().find(|w| has_braces(&w.parts))?;
    let job = src
        .get(c.program.span.start..command_end(c))
        .unwrap_or("")
        .replace("{}", "${it}");
    let program = program_name(c);
    Some(CheckError::trap(
        w.span,
        "flow::check::foreign_syntax",
        format!(
            "`{{}}` is GNU parallel's placeholder: flow would pass the text `{{}}` to `{program}`"
        ),
        format!("write `{prefix}{job}`: in a pool job the item is `${{it}}`"),
        false,
    ))
}

/// `pool exec echo ${it} ::: a b c`: parallel's input list, passed as words by flow.
fn triple_colon(c: &Command, prefix: &str, src: &str) -> Option<CheckError> {
    let k = c
        .args
        .iter()
        .position(|w| matches!(literal(w), ":::" | "::::" | ":::+" | "::::+"))?;
    let marker = literal(&c.args[k]);
    let items: Vec<&str> = c.args[k + 1..].iter().map(|w| w.span.text(src)).collect();
    let source = match (marker.starts_with("::::"), items.as_slice()) {
        (true, [file, ..]) => format!("from lines({})", foreign::rhai_literal(file)),
        _ => format!("from {}", foreign::rhai_array(items.iter().copied())),
    };
    let job = src
        .get(c.program.span.start..c.args[k].span.start)
        .unwrap_or("")
        .trim_end();
    let last = c.args.last().map_or(c.args[k].span.end, |w| w.span.end);
    let program = program_name(c);
    Some(CheckError::trap(
        Span::new(c.args[k].span.start, last),
        "flow::check::foreign_syntax",
        format!("`{marker}` is GNU parallel's input list: flow would pass it and the words after it to `{program}`"),
        format!("write `{source} | {prefix}{job}`: a pool's items come from before it"),
        false,
    ))
}

/// Whether the parts name `it`, `seq` or `slot`.
fn names_item(parts: &[WordPart]) -> bool {
    parts.iter().any(|p| match p {
        WordPart::Var(v) => matches!(v.name.as_str(), "it" | "seq" | "slot" | "attempt"),
        WordPart::Expr(r) => ["it", "seq", "slot", "attempt"]
            .iter()
            .any(|n| has_word(&r.code, n)),
        WordPart::Interp(inner) => names_item(inner),
        WordPart::Bare(_) | WordPart::Quoted(_) => false,
    })
}

fn has_word(code: &str, w: &str) -> bool {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    code.match_indices(w)
        .any(|(i, _)| !code[..i].ends_with(is_word) && !code[i + w.len()..].starts_with(is_word))
}

/// Whether the parts hold the text `{}`.
fn has_braces(parts: &[WordPart]) -> bool {
    parts.iter().any(|p| match p {
        WordPart::Bare(s) | WordPart::Quoted(s) => s.contains("{}"),
        WordPart::Interp(inner) => has_braces(inner),
        WordPart::Var(_) | WordPart::Expr(_) => false,
    })
}
