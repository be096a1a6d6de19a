//! Expanding command words without a shell: `$name`/`${expr}` (arrays as several
//! arguments when a whole word), globs with failglob, `~/`.

use super::run_error::{RunError, RunErrorKind};
use crate::ast::{Word, WordPart};
use crate::script::engine::{display, expand_tilde};
use crate::Span;
use rhai::{Array, Dynamic};

/// Evaluates `$name` and `${expr}` for word expansion.
pub(crate) trait Lookup {
    fn var(&self, name: &str, span: Span) -> Result<Dynamic, RunError>;
    fn expr(&self, code: &crate::ast::Rhai) -> Result<Dynamic, RunError>;
}

fn value_of(p: &WordPart, env: &dyn Lookup) -> Result<Option<Dynamic>, RunError> {
    Ok(match p {
        WordPart::Var(i) => Some(env.var(&i.name, i.span)?),
        WordPart::Expr(r) => Some(env.expr(r)?),
        _ => None,
    })
}

fn scalar(v: &Dynamic, span: Span) -> Result<String, RunError> {
    if v.is_array() {
        return Err(RunError::new(
            span,
            RunErrorKind::Value {
                message: "an array can only be expanded as a whole word (`$xs`, not `x$xs`)".into(),
            },
        ));
    }
    Ok(display(v))
}

/// Expand a word into arguments.
pub(crate) fn expand(w: &Word, env: &dyn Lookup) -> Result<Vec<String>, RunError> {
    // A whole-word `$xs` / `${expr}`: arrays become one argument per element.
    if let [p @ (WordPart::Var(_) | WordPart::Expr(_))] = w.parts.as_slice() {
        let v = value_of(p, env)?.unwrap_or_default();
        if let Some(a) = v.read_lock::<Array>() {
            return Ok(a.iter().map(display).collect());
        }
        return Ok(vec![display(&v)]);
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
                let s = interp(inner, env, w.span, false)?;
                pattern.push_str(&glob::Pattern::escape(&s));
                text.push_str(&s);
            }
            other => {
                let s = scalar(&value_of(other, env)?.unwrap_or_default(), w.span)?;
                pattern.push_str(&glob::Pattern::escape(&s));
                text.push_str(&s);
            }
        }
    }
    if globby {
        return glob_word(&pattern, w.span);
    }
    Ok(vec![text])
}

/// The text of a double-quoted string; with `shell`, interpolated values are shell-quoted.
pub(crate) fn interp(
    parts: &[WordPart],
    env: &dyn Lookup,
    span: Span,
    shell: bool,
) -> Result<String, RunError> {
    let mut s = String::new();
    for p in parts {
        match p {
            WordPart::Bare(t) | WordPart::Quoted(t) => s.push_str(t),
            WordPart::Interp(inner) => s.push_str(&interp(inner, env, span, shell)?),
            other => {
                let v = scalar(&value_of(other, env)?.unwrap_or_default(), span)?;
                if shell {
                    s.push_str(&shell_quote(&v));
                } else {
                    s.push_str(&v);
                }
            }
        }
    }
    Ok(s)
}

/// `'…'`-quote for `/bin/sh`.
pub(crate) fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn glob_word(pattern: &str, span: Span) -> Result<Vec<String>, RunError> {
    let no_match = || {
        RunError::new(
            span,
            RunErrorKind::NoMatch {
                pattern: pattern.to_string(),
            },
        )
    };
    let paths = glob::glob(pattern).map_err(|_| no_match())?;
    let mut v: Vec<String> = paths
        .filter_map(Result::ok)
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if v.is_empty() {
        return Err(no_match());
    }
    v.sort();
    Ok(v)
}
