//! A string method used as a statement of its own on a variable changes the variable.
//!
//! flow's string methods return their result (`let u = s.trim()` leaves `s` alone, as in
//! Python), but Rhai's docs teach `s.trim();` — the in-place form, whose value is thrown
//! away. Left as it is, that statement would silently do nothing. So, before Rhai compiles
//! a text, every statement `VAR.METHOD(args);` (a variable, one call of a method named in
//! [`METHODS`], then `;`) becomes `VAR.flow_in_place_METHOD(args);`, registered here: for a
//! string it stores the new text in the variable (and returns it); for anything else
//! (arrays' `remove`, `truncate`, `pad`, `crop`) it calls Rhai's own in-place method, as
//! before. The columns the longer name adds are recorded as [`Shift`]s, so that positions
//! after it still map to the script.
//!
//! Only a statement followed by `;` is rewritten: without it, it is a block's last
//! statement, whose value is the block's (`{ let v = it; v.trim() }` gives the trimmed
//! text and changes nothing).

use super::quotes::Shift;
use rhai::{Dynamic, Engine, EvalAltResult, NativeCallContext};

/// The string methods Rhai has in place, with flow's value-returning versions of them.
pub(crate) const METHODS: &[&str] = &[
    "trim",
    "strip",
    "trim_start",
    "lstrip",
    "trim_end",
    "rstrip",
    "replace",
    "remove",
    "truncate",
    "pad",
    "crop",
];

const PREFIX: &str = "flow_in_place_";

/// `text` with its in-place statements rewritten, and the shifts that adds; `None` when it
/// has none (or does not compile: Rhai reports that on the text as written). `earlier`
/// are the shifts of an earlier rewrite that made `text`: they are moved to the new text's
/// columns.
pub(crate) fn rewrite(text: &str, earlier: &mut [Shift]) -> Option<(String, Vec<Shift>)> {
    // Cheap test first: almost no snippet calls one of these as a method.
    if !METHODS
        .iter()
        .any(|m| text.match_indices(m).any(|(i, _)| is_method_at(text, i, m)))
    {
        return None;
    }
    let mut engine = Engine::new_raw();
    engine.set_optimization_level(rhai::OptimizationLevel::None);
    let ast = engine.compile(text).ok()?;
    // The 1-based line/column of each method name to rename.
    let mut at: Vec<(usize, usize)> = vec![];
    ast.walk(&mut |path: &[rhai::ASTNode]| {
        if let Some(rhai::ASTNode::Stmt(rhai::Stmt::Expr(e))) = path.last() {
            if let Some(pos) = candidate(e) {
                at.push(pos);
            }
        }
        true
    });
    let mut edits: Vec<(usize, usize, usize)> = at
        .into_iter()
        .filter_map(|(line, col)| {
            let off = super::position::offset(text, line, col)?;
            let name = METHODS
                .iter()
                .filter(|m| text[off..].starts_with(**m))
                .max_by_key(|m| m.len())?;
            followed_by_semicolon(text, off + name.len()).then_some((off, line, col))
        })
        .collect();
    if edits.is_empty() {
        return None;
    }
    edits.sort_unstable();
    edits.dedup();
    let mut out = String::with_capacity(text.len() + edits.len() * PREFIX.len());
    let mut shifts = vec![];
    let mut copied = 0;
    let mut added_on_line: Option<(usize, usize)> = None;
    for (off, line, col) in edits {
        out.push_str(&text[copied..off]);
        out.push_str(PREFIX);
        copied = off;
        let before = match added_on_line {
            Some((l, n)) if l == line => n,
            _ => 0,
        };
        let delta = PREFIX.chars().count();
        shifts.push(Shift {
            line,
            col: col + before + delta,
            delta,
        });
        added_on_line = Some((line, before + delta));
        for e in earlier.iter_mut() {
            if e.line == line && e.col >= col + before {
                e.col += delta;
            }
        }
    }
    out.push_str(&text[copied..]);
    Some((out, shifts))
}

/// Whether `text[i..]`, which starts with `m`, is `.m(` (spaces allowed around).
fn is_method_at(text: &str, i: usize, m: &str) -> bool {
    text[..i].trim_end().ends_with('.') && text[i + m.len()..].trim_start().starts_with('(')
}

/// The position of the method name of `VAR.METHOD(…)`, if `e` is that.
fn candidate(e: &rhai::Expr) -> Option<(usize, usize)> {
    let rhai::Expr::Dot(bin, _, _) = e else {
        return None;
    };
    let (rhai::Expr::Variable(..), rhai::Expr::MethodCall(call, pos)) = (&bin.lhs, &bin.rhs) else {
        return None;
    };
    if !METHODS.contains(&call.name.as_str()) {
        return None;
    }
    Some((pos.line()?, pos.position()?))
}

/// Whether the call whose name ends at `from` is followed by `;` (its value thrown away).
fn followed_by_semicolon(text: &str, from: usize) -> bool {
    let b = text.as_bytes();
    let mut i = from;
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    if b.get(i) != Some(&b'(') {
        return false;
    }
    let mut depth = 0usize;
    while i < b.len() {
        match b[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    i += 1;
                    break;
                }
            }
            b'"' | b'`' | b'\'' => i = string_end(b, i) - 1,
            _ => {}
        }
        i += 1;
    }
    text[i.min(text.len())..].trim_start().starts_with(';')
}

/// The index after a string literal starting at `at` (its quote repeated ends it; a
/// backslash escapes the next byte).
fn string_end(b: &[u8], at: usize) -> usize {
    let q = b[at];
    let mut i = at + 1;
    while i < b.len() {
        match b[i] {
            b'\\' if q != b'`' => i += 2,
            c if c == q => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// Register `flow_in_place_METHOD` for each of [`METHODS`], with up to three arguments.
pub(crate) fn register(e: &mut Engine) {
    for m in METHODS {
        let name = format!("{PREFIX}{m}");
        e.register_fn(&name, move |ctx: NativeCallContext, this: &mut Dynamic| {
            in_place(&ctx, m, this, &mut [])
        });
        e.register_fn(
            &name,
            move |ctx: NativeCallContext, this: &mut Dynamic, a: Dynamic| {
                in_place(&ctx, m, this, &mut [a])
            },
        );
        e.register_fn(
            &name,
            move |ctx: NativeCallContext, this: &mut Dynamic, a: Dynamic, b: Dynamic| {
                in_place(&ctx, m, this, &mut [a, b])
            },
        );
        e.register_fn(
            &name,
            move |ctx: NativeCallContext,
                  this: &mut Dynamic,
                  a: Dynamic,
                  b: Dynamic,
                  c: Dynamic| { in_place(&ctx, m, this, &mut [a, b, c]) },
        );
    }
}

/// `this.method(args)` as Rhai's in-place method: a string gets the new text.
fn in_place(
    ctx: &NativeCallContext,
    method: &str,
    this: &mut Dynamic,
    rest: &mut [Dynamic],
) -> Result<Dynamic, Box<EvalAltResult>> {
    let is_string = this.is_string();
    let mut args: Vec<&mut Dynamic> = Vec::with_capacity(rest.len() + 1);
    args.push(this);
    args.extend(rest.iter_mut());
    // By reference: Rhai's array methods change the array; flow's string methods return
    // the new text, stored below.
    let v = ctx.call_native_fn_raw(method, true, &mut args)?;
    drop(args);
    if is_string && v.is_string() {
        *this = v.clone();
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw(s: &str) -> Option<String> {
        rewrite(s, &mut []).map(|(t, _)| t)
    }

    #[test]
    fn a_statement_on_a_variable_is_renamed() {
        assert_eq!(
            rw(r#"t.replace("_", "-"); t"#).as_deref(),
            Some(r#"t.flow_in_place_replace("_", "-"); t"#)
        );
        assert_eq!(
            rw("let a = 1;\n  s.trim( ) ;\ns").as_deref(),
            Some("let a = 1;\n  s.flow_in_place_trim( ) ;\ns")
        );
        // a call with nested parentheses and strings holding `)` and `;`
        assert!(rw(r#"s.replace(f(")"), ";"); s"#)
            .unwrap()
            .contains("s.flow_in_place_replace("));
    }

    #[test]
    fn values_chains_and_other_methods_are_left_alone() {
        for s in [
            r#"let u = t.replace("_", "-"); u"#,
            r#"t.replace("_", "-")"#,
            "s.trim().len();",
            "s.to_upper();",
            "print(s.trim());",
            "m.name.trim();",
            "trim(s);",
            "s.trimmed(); s",
        ] {
            assert_eq!(rw(s), None, "{s}");
        }
    }

    #[test]
    fn positions_after_the_rename_shift_back() {
        let (_, shifts) = rewrite("s.trim(); t.trim(); x", &mut []).unwrap();
        let d = PREFIX.len();
        assert_eq!(
            shifts,
            vec![
                Shift {
                    line: 1,
                    col: 3 + d,
                    delta: d
                },
                Shift {
                    line: 1,
                    col: 13 + 2 * d,
                    delta: d
                },
            ]
        );
    }
}
