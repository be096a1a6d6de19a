//! Expanding command words without a shell: `$name`/`${expr}` (arrays as several
//! arguments when a whole word), globs with failglob (file names kept as bytes), `~/`; and
//! the argv of `sh "…"`, whose values reach the shell as data.

use super::globbing;
use super::run_error::{RunError, RunErrorKind};
use crate::ast::{Word, WordPart};
use crate::runtime::builtins::{display, expand_tilde};
use crate::shell::sh_script::{self, Ctx};
use crate::Span;
use rhai::{Array, Dynamic};
use std::ffi::OsString;

/// Evaluates `$name` and `${expr}` for word expansion.
pub(crate) trait Lookup {
    fn var(&self, name: &str, span: Span) -> Result<Dynamic, RunError>;
    fn expr(&self, code: &crate::ast::Rhai) -> Result<Dynamic, RunError>;
}

fn value_of(p: &WordPart, env: &dyn Lookup) -> Result<Option<Dynamic>, RunError> {
    let (v, span, code, shown) = match p {
        WordPart::Var(i) => (
            env.var(&i.name, i.span)?,
            i.span,
            i.name.as_str(),
            format!("${}", i.name),
        ),
        WordPart::Expr(r) => {
            let code = r.code.trim();
            (env.expr(r)?, r.span, code, format!("${{{code}}}"))
        }
        _ => return Ok(None),
    };
    let unit_at = if v.is_unit() {
        Some(String::new())
    } else {
        v.read_lock::<Array>()
            .and_then(|a| a.iter().position(Dynamic::is_unit))
            .map(|k| format!(" (its element {k})"))
    };
    if let Some(which) = unit_at {
        // Never a silent empty argument: a `()` in a command word is an error (docs/language.md).
        let shown = super::run_error::shorten(&shown, 60);
        let culprit = match code.ends_with(')') {
            true => format!("{}. ", crate::script::unit_help::describe(code)),
            false => String::new(),
        };
        return Err(RunError::new(
            span,
            RunErrorKind::Value {
                message: format!("`{shown}`{which} is `()`, which is no command argument"),
            },
        )
        .with_help(format!(
            "{culprit}{}; `${{x ?? \"\"}}` passes an empty argument on purpose",
            crate::script::unit_help::CAUSES
        )));
    }
    Ok(Some(v))
}

fn scalar(v: &Dynamic, span: Span, part: &WordPart) -> Result<String, RunError> {
    if let Some(a) = v.read_lock::<Array>() {
        let (name, shown) = match part {
            WordPart::Var(i) => (i.name.clone(), format!("${}", i.name)),
            WordPart::Expr(r) => (r.code.trim().to_string(), format!("${{{}}}", r.code.trim())),
            _ => ("xs".to_string(), "$xs".to_string()),
        };
        let help = if a.len() == 1 {
            format!(
                "`{shown}` is an array of one element, {}: a command's output (`let x = ^cmd`, \
                 a task's value) is an array of lines; for its one line write `${{{name}[0]}}`",
                super::run_error::shorten(&display(v), 60)
            )
        } else {
            format!(
                "a whole word `{shown}` passes each element as an argument; to make one text of \
                 them, write `${{{name}.join(\" \")}}`"
            )
        };
        return Err(RunError::new(
            span,
            RunErrorKind::Value {
                message: "an array can only be expanded as a whole word (`$xs`, not `x$xs`)".into(),
            },
        )
        .with_help(help));
    }
    Ok(display(v))
}

/// Expand a word into arguments, as text (a file name that is not UTF-8 comes out lossy: for
/// words that are not argv, like pool options and environment values).
pub(crate) fn expand(w: &Word, env: &dyn Lookup) -> Result<Vec<String>, RunError> {
    Ok(expand_os(w, env)?
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect())
}

/// Expand a word into arguments, exactly: a glob keeps every file name as its bytes.
pub(crate) fn expand_os(w: &Word, env: &dyn Lookup) -> Result<Vec<OsString>, RunError> {
    // A whole-word `$xs` / `${expr}`: arrays become one argument per element.
    if let [p @ (WordPart::Var(_) | WordPart::Expr(_))] = w.parts.as_slice() {
        let v = value_of(p, env)?.unwrap_or_default();
        if let Some(a) = v.read_lock::<Array>() {
            return Ok(a.iter().map(|x| display(x).into()).collect());
        }
        return Ok(vec![display(&v).into()]);
    }
    let mut text = String::new();
    let mut pattern = String::new();
    let mut globby = false;
    for (i, p) in w.parts.iter().enumerate() {
        match p {
            WordPart::Bare(s) => {
                let s = if i == 0 { expand_tilde(s) } else { s.clone() };
                globby |= s.contains(['*', '?', '[']);
                text.push_str(&s);
                pattern.push_str(&s);
            }
            WordPart::Quoted(s) => {
                text.push_str(s);
                pattern.push_str(&glob::Pattern::escape(s));
            }
            WordPart::Interp(inner) => {
                let s = interp(inner, env, w.span)?;
                pattern.push_str(&glob::Pattern::escape(&s));
                text.push_str(&s);
            }
            other => {
                let s = scalar(&value_of(other, env)?.unwrap_or_default(), w.span, other)?;
                pattern.push_str(&glob::Pattern::escape(&s));
                text.push_str(&s);
            }
        }
    }
    if globby {
        return glob_word(&pattern, w.span);
    }
    Ok(vec![text.into()])
}

/// The text of a double-quoted string, values formatted in.
pub(crate) fn interp(parts: &[WordPart], env: &dyn Lookup, span: Span) -> Result<String, RunError> {
    let mut s = String::new();
    for p in parts {
        match p {
            WordPart::Bare(t) | WordPart::Quoted(t) => s.push_str(t),
            WordPart::Interp(inner) => s.push_str(&interp(inner, env, span)?),
            other => s.push_str(&scalar(
                &value_of(other, env)?.unwrap_or_default(),
                span,
                other,
            )?),
        }
    }
    Ok(s)
}

/// The argv for `/bin/sh` running an `sh "…"` string: `-c SCRIPT sh VALUE…`. No value is
/// part of SCRIPT; each is referred to by a variable there (see `sh_script`).
pub(crate) fn sh_argv(
    parts: &[WordPart],
    env: &dyn Lookup,
    span: Span,
) -> Result<Vec<String>, RunError> {
    let ctxs = sh_script::contexts(parts).map_err(|(_, problem)| {
        RunError::new(
            span,
            RunErrorKind::Value {
                message: problem.message().into(),
            },
        )
    })?;
    let mut body = String::new();
    let mut values: Vec<String> = vec![];
    let mut ctxs = ctxs.into_iter();
    for p in parts {
        let v = match p {
            WordPart::Bare(t) | WordPart::Quoted(t) => {
                body.push_str(t);
                continue;
            }
            other => value_of(other, env)?.unwrap_or_default(),
        };
        let ctx = ctxs.next().unwrap_or(Ctx::Unquoted { whole_word: false });
        let mut var = |x: String| {
            values.push(x);
            format!("${{__flow_{}}}", values.len())
        };
        let array = v.read_lock::<Array>().map(|a| a.clone());
        match (ctx, array) {
            (Ctx::Unquoted { whole_word: true }, Some(a)) => {
                let refs: Vec<String> = a.iter().map(|x| format!("\"{}\"", var(display(x)))).collect();
                body.push_str(&refs.join(" "));
            }
            (_, Some(_)) => {
                return Err(RunError::new(
                    span,
                    RunErrorKind::Value {
                        message: "an array can only be interpolated into `sh \"…\"` as a whole unquoted word (`sh \"ls ${xs}\"`)".into(),
                    },
                ))
            }
            (Ctx::Unquoted { .. }, None) => body.push_str(&format!("\"{}\"", var(display(&v)))),
            (Ctx::Double, None) => body.push_str(&var(display(&v))),
            (Ctx::Single, None) => body.push_str(&format!("'\"{}\"'", var(display(&v)))),
        }
    }
    if values.is_empty() {
        return Ok(vec!["-c".into(), body]);
    }
    // The prologue stays on the script's first line, so sh's line numbers stay the user's.
    let mut script = String::new();
    for k in 1..=values.len() {
        script.push_str(&format!("__flow_{k}=${{{k}}} "));
    }
    // `;`, not `&&`: a body like `a & b` must not take the prologue into a background subshell.
    script.push_str("; set --; ");
    script.push_str(&body);
    let mut argv = vec!["-c".into(), script, "sh".into()];
    argv.extend(values);
    Ok(argv)
}

fn glob_word(pattern: &str, span: Span) -> Result<Vec<OsString>, RunError> {
    let no_match = || {
        RunError::new(
            span,
            RunErrorKind::NoMatch {
                pattern: pattern.to_string(),
            },
        )
    };
    let v = globbing::glob_paths(pattern).map_err(|_| no_match())?;
    if v.is_empty() {
        return Err(no_match());
    }
    Ok(globbing::to_args(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct One(Dynamic);

    impl Lookup for One {
        fn var(&self, _: &str, _: Span) -> Result<Dynamic, RunError> {
            Ok(self.0.clone())
        }
        fn expr(&self, _: &crate::ast::Rhai) -> Result<Dynamic, RunError> {
            Ok(self.0.clone())
        }
    }

    /// The parts of an `sh` string where `@` marks `$v`.
    fn parts(s: &str) -> Vec<WordPart> {
        let mut v = vec![];
        for (k, piece) in s.split('@').enumerate() {
            if k > 0 {
                v.push(WordPart::Var(crate::ast::Ident {
                    name: "v".into(),
                    span: Span::default(),
                }));
            }
            v.push(WordPart::Quoted(piece.into()));
        }
        v
    }

    /// The same argv works with every sh-like shell on this machine (dash, bash, busybox…):
    /// each prints the hostile value verbatim, in each quoting context.
    #[test]
    fn sh_values_are_data_in_every_shell() {
        let shells: Vec<&str> = ["/bin/sh", "dash", "bash", "busybox", "mksh", "zsh"]
            .into_iter()
            .filter(|s| {
                std::process::Command::new(s)
                    .arg("-c")
                    .arg(":")
                    .output()
                    .is_ok_and(|o| o.status.success())
            })
            .collect();
        let vals = [
            "it's \"q\" $(echo RUN) `echo RUN` ; | & \\ * -n ${x} $1",
            "two\nlines",
            "",
        ];
        let cases = [
            ("printf %s @", "{v}"),
            ("printf %s \"@\"", "{v}"),
            ("printf %s '@'", "{v}"),
            ("printf %s \"$(printf %s @)\"", "{v}"),
            ("printf %s \"`printf %s @`\"", "{v}"),
            ("printf %s 'a'@\"b\"c@", "a{v}bc{v}"),
            ("f() { printf %s @; }; f no", "{v}"),
            ("cat <<EOF\n<@>\nEOF", "<{v}>\n"),
            ("printf %s \"${unset:-@}\"", "{v}"),
        ];
        for v in vals {
            for (text, want) in cases {
                let argv = sh_argv(&parts(text), &One(Dynamic::from(v)), Span::default()).unwrap();
                for sh in &shells {
                    let mut cmd = std::process::Command::new(sh);
                    if *sh == "busybox" {
                        cmd.arg("sh");
                    }
                    let out = cmd.args(&argv).output().unwrap();
                    let got = String::from_utf8_lossy(&out.stdout);
                    assert_eq!(
                        got,
                        want.replace("{v}", v),
                        "{sh}: {text:?} with {v:?}: {argv:?}"
                    );
                }
            }
        }
        let xs = Dynamic::from_array(vec!["a b".into(), "".into(), "*".into()]);
        let argv = sh_argv(&parts("printf '[%s]' @"), &One(xs.clone()), Span::default()).unwrap();
        let out = std::process::Command::new("/bin/sh")
            .args(&argv)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "[a b][][*]");
        assert!(sh_argv(&parts("echo \"@\""), &One(xs), Span::default()).is_err());
        let no_values = sh_argv(&parts("echo hi"), &One(Dynamic::UNIT), Span::default()).unwrap();
        assert_eq!(no_values, vec!["-c", "echo hi"]);
    }
}
