//! Help for `()` where a value was needed: Rhai's "Function not found: f (())" and a `()`
//! interpolated into a command word. `()` is what Rhai returns for "nothing", so the cause
//! is usually elsewhere: this names the call or variable that gave it, when the script's
//! text shows it, and what usually causes it.

/// Rhai's in-place methods a user may chain, and what to write instead.
const IN_PLACE: &[(&str, &str)] = &[
    ("make_upper", "use `to_upper()`, which returns the new text"),
    ("make_lower", "use `to_lower()`, which returns the new text"),
    ("clear", "it empties its receiver"),
    (
        "push",
        "call it as a statement (`xs.push(x);`), then use `xs`",
    ),
    ("append", "call it as a statement, then use the variable"),
    ("insert", "call it as a statement, then use the variable"),
    (
        "sort",
        "call it as a statement (`xs.sort();`), or use `xs.order()` for a sorted copy",
    ),
    ("reverse", "call it as a statement, then use the variable"),
    ("dedup", "call it as a statement, then use the variable"),
    ("retain", "call it as a statement, or use `filter`"),
    ("shift", "it returns the removed element"),
    ("set", "call it as a statement, then use the variable"),
];

/// What usually gives `()`, for any help about it.
pub(crate) const CAUSES: &str = "`()` is Rhai's \"no value\": what a function returns when it \
    returns nothing (an in-place method such as `make_upper`, `push` or `sort`; a `fn` that \
    ends without a value), and what `env(name)` gives for an unset variable and a map for a \
    missing key";

/// The help for Rhai's `Function not found: <sig>` at `at` in `src`, when an argument is `()`.
pub(crate) fn function_not_found(sig: &str, src: &str, at: Option<crate::Span>) -> Option<String> {
    let (name, args) = sig.split_once(" (")?;
    let args = args.strip_suffix(')')?;
    let types: Vec<&str> = split_top(args, ',').into_iter().map(str::trim).collect();
    let unit = types.iter().position(|t| *t == "()")?;
    let culprit = at.and_then(|at| culprit(src, at.start, name, unit));
    Some(match culprit {
        Some(c) => format!("{c}, so `{name}` got `()`. {CAUSES}; `x ?? default` gives a value"),
        None => format!("`{name}` got `()` as an argument. {CAUSES}; `x ?? default` gives a value"),
    })
}

/// "`trim()` returned `()`" or "`x` is `()`": the `unit`-th argument of the call of `name`
/// at byte `at` (a method call's receiver is argument 0).
fn culprit(src: &str, at: usize, name: &str, unit: usize) -> Option<String> {
    let before = src.get(..at)?.trim_end();
    if !src.get(at..)?.starts_with(name) {
        return None;
    }
    let method = before.ends_with('.');
    let expr = if method && unit == 0 {
        receiver(before.strip_suffix('.')?)?
    } else {
        let after = src.get(at + name.len()..)?.trim_start().strip_prefix('(')?;
        let close = matching_close(after)?;
        let args = split_top(&after[..close], ',');
        args.get(if method { unit - 1 } else { unit })?.trim()
    };
    Some(describe(expr))
}

/// "`f(…)` returned `()`" (with the fix for an in-place method) or "`x` is `()`".
pub(crate) fn describe(expr: &str) -> String {
    let Some(open_at) = expr.strip_suffix(')').and_then(matching_open) else {
        return format!("`{expr}` is `()`");
    };
    let head = &expr[..open_at];
    let callee = head
        .rsplit(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()
        .unwrap_or("");
    if callee.is_empty() {
        return format!("`{expr}` is `()`");
    }
    let mut s = format!("`{callee}(…)` returned `()`");
    if let Some((_, fix)) = IN_PLACE.iter().find(|(n, _)| *n == callee) {
        s.push_str(&format!(
            " (`{callee}` changes its receiver in place: {fix})"
        ));
    }
    s
}

/// The last link of the receiver expression that ends `before`: `x`, or `name(…)`.
fn receiver(before: &str) -> Option<&str> {
    let b = before.trim_end();
    let mut start = b.len();
    if let Some(h) = b.strip_suffix(')') {
        start = matching_open(h)?;
    }
    let ident_start = b[..start]
        .trim_end_matches(|c: char| c.is_alphanumeric() || c == '_')
        .len();
    let expr = &b[ident_start..];
    (!expr.is_empty()).then_some(expr)
}

/// Index in `s` of the `(` that the `)` just after `s` closes.
fn matching_open(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices().rev() {
        match c {
            ')' | ']' | '}' => depth += 1,
            '(' | '[' | '{' if depth == 0 => return Some(i),
            '(' | '[' | '{' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Index in `s` of the `)` closing a `(` just before `s`.
fn matching_close(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '`' | '\'') => quote = Some(c),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')') if depth == 0 => return Some(i),
            (None, ')' | ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// `s` split at `sep` outside brackets and quotes.
fn split_top(s: &str, sep: char) -> Vec<&str> {
    let mut out = vec![];
    let (mut depth, mut quote, mut from) = (0usize, None, 0);
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '`' | '\'') => quote = Some(c),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}') => depth = depth.saturating_sub(1),
            (None, c) if c == sep && depth == 0 => {
                out.push(&s[from..i]);
                from = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(&s[from..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Span;

    fn help(src: &str, name_at: &str, sig: &str) -> String {
        let at = src.find(name_at).map(|i| Span::new(i, i + 1));
        function_not_found(sig, src, at).unwrap_or_default()
    }

    #[test]
    fn names_what_gave_the_unit() {
        let h = help("print(s.make_upper().len())", "len", "len (())");
        assert!(
            h.starts_with("`make_upper(…)` returned `()` (`make_upper` changes"),
            "{h}"
        );
        let h = help(
            "let n = a.b(1).trim().parse_int()",
            "parse_int",
            "parse_int (())",
        );
        assert!(h.starts_with("`trim(…)` returned `()`, so"), "{h}");
        let h = help("print(x.len())", "len", "len (())");
        assert!(h.starts_with("`x` is `()`, so `len` got"), "{h}");
        let h = help("parse_int(f(y, 2))", "parse_int", "parse_int (())");
        assert!(h.starts_with("`f(…)` returned `()`"), "{h}");
        let h = help(
            "s.replace(x, \"b\")",
            "replace",
            "replace (&str | ImmutableString | String, (), &str | ImmutableString | String)",
        );
        assert!(h.starts_with("`x` is `()`, so `replace`"), "{h}");
        let h = help("parse_int(\"1\", v)", "parse_int", "parse_int (&str, ())");
        assert!(h.starts_with("`v` is `()`"), "{h}");
    }

    #[test]
    fn no_help_without_a_unit_and_a_general_one_without_the_text() {
        assert!(function_not_found("foo (i64)", "foo(1)", None).is_none());
        let h = function_not_found("len (())", "", None).unwrap();
        assert!(h.starts_with("`len` got `()` as an argument."), "{h}");
    }
}
