//! Checks of shell use: values interpolated into `sh "…"` must have a place where sh takes
//! them as data (an error otherwise), and `bash -c "… ${x} …"`, a shell script built from
//! values, is warned about.

use super::{CheckError, CheckErrorKind as K};
use crate::ast::{Command, Word, WordPart};
use crate::Span;

/// `sh ${cmd}`: shell code held in a value. `sh` takes its text written in the script
/// (`sh "…"`); given a value, /bin/sh would take it for the name of a script file.
pub(crate) fn sh_value(program: &str, args: &[Word]) -> Option<CheckError> {
    if program != "sh" {
        return None;
    }
    let word = args.first()?;
    if let [value @ (WordPart::Var(_) | WordPart::Expr(_))] = word.parts.as_slice() {
        let written = match value {
            WordPart::Var(v) => format!("${}", v.name),
            WordPart::Expr(r) => format!("${{{}}}", r.code),
            _ => String::new(),
        };
        let kind = K::ShInterpolation {
            message: format!(
                "`sh` runs shell text written in the script, not a value: `sh {written}` would \
                 give /bin/sh the value as the name of a script file"
            ),
            help: format!(
                "to run shell code held in a value, say so: `/bin/sh -c {written}` (the value \
                 is then code the shell parses: never build it from data); to run a script \
                 file it names: `/bin/sh {written}`"
            ),
        };
        return Some(CheckError::new(word.span, kind));
    }
    None
}

/// An interpolation in `sh "…"` that sh could not take as data.
pub(crate) fn sh_text(c: &Command) -> Option<CheckError> {
    let Some(WordPart::Interp(parts)) = c.args.first().and_then(|w| w.parts.first()) else {
        return None;
    };
    let (hole, problem) = crate::shell::sh_script::contexts(parts).err()?;
    let span = parts
        .iter()
        .filter_map(|p| match p {
            WordPart::Var(v) => Some(v.span),
            // The whole `${…}`, not only the code inside.
            WordPart::Expr(r) => Some(Span::new(r.span.start.saturating_sub(2), r.span.end + 1)),
            _ => None,
        })
        .nth(hole)
        .unwrap_or(c.args[0].span);
    let kind = K::ShInterpolation {
        message: problem.message().into(),
        help: problem.help().into(),
    };
    Some(CheckError::new(span, kind))
}

/// The warning for `bash -c "… ${x} …"`: a script built from values, which the shell parses.
/// A whole-word `${script}` is a script the user chose, and values after the script are
/// positional parameters (data): neither is warned about.
pub(crate) fn shell_string(program: &str, args: &[Word]) -> Option<CheckError> {
    const SHELLS: [&str; 7] = ["sh", "bash", "dash", "zsh", "ksh", "ash", "mksh"];
    // Every shell's name ends in `sh`: most programs are told apart by that alone.
    if !program.ends_with("sh") {
        return None;
    }
    let base = program.rsplit('/').next().unwrap_or(program);
    if !SHELLS.contains(&base) {
        return None;
    }
    // `-c`, or flags with `c` among them: `-ec`, `-lc`.
    let is_c = |w: &Word| {
        w.literal().is_some_and(|s| {
            s.strip_prefix('-')
                .is_some_and(|f| f.contains('c') && f.chars().all(|ch| ch.is_ascii_alphabetic()))
        })
    };
    let script = args.iter().position(is_c).and_then(|k| args.get(k + 1))?;
    let whole_value = matches!(
        script.parts.as_slice(),
        [WordPart::Var(_) | WordPart::Expr(_)]
    );
    if !has_value(&script.parts) || whole_value {
        return None;
    }
    let shell = program.to_string();
    Some(CheckError::new(script.span, K::ShellString { shell }))
}

fn has_value(parts: &[WordPart]) -> bool {
    parts.iter().any(|p| match p {
        WordPart::Var(_) | WordPart::Expr(_) => true,
        WordPart::Interp(inner) => has_value(inner),
        WordPart::Bare(_) | WordPart::Quoted(_) => false,
    })
}
