//! The names a Rhai text reads from outside itself, found in Rhai's own syntax tree: every
//! variable read (`Expr::Variable`) that no `let`, `const`, `for`, `catch` of the text
//! declares, and the calls of Python names (`int(…)`, `.upper()`). The checker looks each
//! up in the script's scope where the text stands (`checker.rs`), so a misspelt name is a
//! check error instead of Rhai's "Variable not found" after the run has started.
//!
//! Conservative by design (a false error on a valid script is worse than a missed one):
//! - a name declared anywhere in the text counts as declared everywhere in it (a read before
//!   its `let`, or outside its block, is left to the run);
//! - a closure's body is not looked at: Rhai makes each name it captures an argument of the
//!   closure, read where the closure is made, and that read is looked at;
//! - `fn` definitions inside the text are not looked at (a script's own `fn` statement is:
//!   its body is compiled as a block, with its parameters declared);
//! - namespaced names (`global::x`, `m::x`) are not variables of the scope;
//! - a text that calls `eval` or `is_def_var` may define or test any name: nothing is read.

use rhai::{ASTNode, Expr, Stmt};

/// A variable read in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Read {
    /// Byte offset of the name in the text as written.
    pub(crate) at: usize,
    pub(crate) name: String,
}

/// A call of a name the Python table knows (`script::python`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PyCall {
    /// Byte offset of the name in the text as written.
    pub(crate) at: usize,
    pub(crate) name: String,
    /// `x.name(…)`.
    pub(crate) method: bool,
    /// Arguments, a method's receiver not counted.
    pub(crate) args: usize,
    /// The first argument when it is a plain integer or a variable (shown in the fix).
    pub(crate) first: Option<String>,
}

/// What a text reads from outside itself.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Reads {
    /// Reads of names the text does not declare, each name once (its first read).
    pub(crate) names: Vec<Read>,
    /// Calls of Python names.
    pub(crate) calls: Vec<PyCall>,
    /// Names the text declares (for a did-you-mean).
    pub(crate) locals: Vec<String>,
}

/// What `code` reads (compiled by `engine`, a bare one: this is syntax only), or `None`
/// when it does not compile (the syntax check reports that) or may read any name.
pub(crate) fn reads(engine: &rhai::Engine, code: &str) -> Option<Reads> {
    let text = crate::script::quotes::rewrite(code);
    let ast = engine.compile(&*text.text).ok()?;
    let offset = |p: rhai::Position| super::rhai_syntax::snippet_offset(code, text.original(p));
    let mut declared: Vec<String> = vec![];
    let mut raw: Vec<(rhai::Position, String)> = vec![];
    let mut calls = vec![];
    let mut dynamic = false;
    let mut path = Vec::new();
    let mut on_node = |path: &[ASTNode]| {
        match path.last() {
            Some(ASTNode::Stmt(Stmt::Var(x, ..))) => declared.push(x.0.name.to_string()),
            Some(ASTNode::Stmt(Stmt::For(x, ..))) => {
                declared.push(x.0.name.to_string());
                if let Some(counter) = &x.1 {
                    declared.push(counter.name.to_string());
                }
            }
            Some(ASTNode::Stmt(Stmt::TryCatch(x, ..))) => {
                if let Expr::Variable(v, ..) = &x.expr {
                    declared.push(v.1.to_string());
                }
            }
            Some(ASTNode::Expr(Expr::Variable(v, _, pos))) if v.2.is_empty() => {
                raw.push((*pos, v.1.to_string()));
            }
            Some(ASTNode::Expr(Expr::FnCall(x, pos)) | ASTNode::Stmt(Stmt::FnCall(x, pos))) => {
                if x.name == "eval" || x.name == "is_def_var" {
                    dynamic = true;
                }
                if x.op_token.is_none()
                    && x.namespace.is_empty()
                    && crate::script::python::is_call_name(&x.name)
                {
                    calls.push((
                        *pos,
                        x.name.to_string(),
                        false,
                        x.args.len(),
                        first(&x.args),
                    ));
                }
            }
            Some(ASTNode::Expr(Expr::MethodCall(x, pos)))
                if crate::script::python::is_call_name(&x.name) =>
            {
                calls.push((*pos, x.name.to_string(), true, x.args.len(), first(&x.args)));
            }
            _ => {}
        }
        !dynamic
    };
    for s in ast.statements() {
        if !s.walk(&mut path, &mut on_node) {
            return None;
        }
        path.clear();
    }
    let own_fns: Vec<&str> = ast.iter_fn_def().map(|f| f.name.as_str()).collect();
    let mut names: Vec<Read> = vec![];
    for (pos, name) in raw {
        if declared.contains(&name)
            || own_fns.contains(&name.as_str())
            || names.iter().any(|r| r.name == name)
        {
            continue;
        }
        if let Some(at) = offset(pos) {
            names.push(Read { at, name });
        }
    }
    names.sort_by_key(|r| r.at);
    let calls = calls
        .into_iter()
        .filter_map(|(pos, name, method, args, first)| {
            let at = offset(pos)?;
            Some(PyCall {
                at,
                name,
                method,
                args,
                first,
            })
        })
        .collect();
    Some(Reads {
        names,
        calls,
        locals: declared,
    })
}

/// `10` or `n`: a first argument simple enough to show in a fix.
fn first(args: &[Expr]) -> Option<String> {
    match args.first()? {
        Expr::IntegerConstant(n, _) => Some(n.to_string()),
        Expr::StringConstant(s, _) if s.len() <= 60 && !s.contains(['"', '\\', '\n']) => {
            Some(format!("\"{s}\""))
        }
        Expr::Variable(v, ..) if v.2.is_empty() => Some(v.1.to_string()),
        _ => None,
    }
}

/// Whether every name `code` could read is `known` (or a keyword of Rhai, or declared in
/// the text by `let`, `const`, `for`, `catch` or a closure's parameters), and it calls no
/// name of the Python table: then [`reads`] could find nothing to report, and the text need
/// not be compiled again. A quick scan of the text; when in doubt it says no.
pub(crate) fn nothing_to_find(code: &str, known: impl Fn(&str) -> bool) -> bool {
    let words = words(code);
    let before = |at: usize| code[..at].trim_end();
    let after = |at: usize, w: &str| code[at + w.len()..].trim_start();
    // What the text declares, looked for only when a word is not known otherwise.
    let mut locals: Option<Vec<&str>> = None;
    words.iter().all(|&(at, w)| {
        let a = after(at, w);
        if a.starts_with('(') {
            // A call: no variable, unless Python's.
            return !crate::script::python::is_call_name(w);
        }
        let b = before(at);
        (b.ends_with('.') && !b.ends_with(".."))
            || known(w)
            || a.starts_with(':')
            || b.ends_with("::")
            || KEYWORDS.contains(&w)
            || locals
                .get_or_insert_with(|| declared(code, &words))
                .contains(&w)
    })
}

/// The words `code` declares, as a quick scan finds them: after `let`, `const`, `for`,
/// `catch`, in `for (v, i)`, and a closure's parameters.
fn declared<'c>(code: &'c str, words: &[(usize, &'c str)]) -> Vec<&'c str> {
    let before = |at: usize| code[..at].trim_end();
    let after = |at: usize, w: &str| code[at + w.len()..].trim_start();
    // `for (v, i) in …`: the words right after `for (`.
    let in_for_parens = |j: usize| {
        let b = before(words[j].0);
        b.ends_with('(') && b[..b.len() - 1].trim_end().ends_with("for")
    };
    let mut locals = vec![];
    for (i, &(at, w)) in words.iter().enumerate() {
        let (b, a) = (before(at), after(at, w));
        let declares = i > 0 && matches!(words[i - 1].1, "let" | "const" | "for" | "catch");
        let for_pair = in_for_parens(i) || (i > 0 && in_for_parens(i - 1) && b.ends_with(','));
        // A closure's parameters: `|a, b|`, `|a|`.
        let open = b.ends_with('|') && !b.ends_with("||");
        let close = a.starts_with('|') && !a.starts_with("||");
        let param = (open || b.ends_with(',')) && (close || a.starts_with(',')) && (open || close);
        if declares || for_pair || param {
            locals.push(w);
        }
    }
    locals
}

/// Rhai's words that are no variable.
const KEYWORDS: &[&str] = &[
    "let", "const", "if", "else", "switch", "while", "loop", "do", "until", "for", "in", "return",
    "throw", "try", "catch", "fn", "private", "import", "export", "as", "global", "this", "true",
    "false", "break", "continue", "is", "Fn",
];

/// The words of Rhai text with their offsets: code only, also inside a back-tick string's
/// `${…}`, never inside a string or a comment; numbers are left out.
pub(super) fn words(s: &str) -> Vec<(usize, &str)> {
    let b = s.as_bytes();
    let mut out = vec![];
    // Open back-tick strings: the brace depth of the `${` each interpolation is in.
    let mut interps: Vec<usize> = vec![];
    let mut braces = 0usize;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'`' || (c == b'}' && interps.last() == Some(&braces)) {
            // Inside a back-tick string, up to its end or the next `${`.
            if c == b'}' {
                interps.pop();
                braces -= 1;
            }
            i += 1;
            while i < b.len() && b[i] != b'`' && !(b[i] == b'$' && b.get(i + 1) == Some(&b'{')) {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            if i < b.len() && b[i] == b'$' {
                braces += 1;
                interps.push(braces);
                i += 2;
            } else {
                i += 1;
            }
        } else if c == b'"' || c == b'\'' {
            i += 1;
            while i < b.len() && b[i] != c {
                i += if b[i] == b'\\' && c == b'"' { 2 } else { 1 };
            }
            i += 1;
        } else if b[i..].starts_with(b"//") {
            i = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n);
        } else if b[i..].starts_with(b"/*") {
            i = memchr::memmem::find(&b[i + 2..], b"*/").map_or(b.len(), |n| i + n + 4);
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push((start, &s[start..i]));
        } else if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
        } else {
            match c {
                b'{' => braces += 1,
                b'}' => braces = braces.saturating_sub(1),
                _ => {}
            }
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(code: &str) -> Vec<(usize, String)> {
        let e = rhai::Engine::new_raw();
        reads(&e, code)
            .map(|r| r.names.into_iter().map(|r| (r.at, r.name)).collect())
            .unwrap_or_default()
    }

    #[test]
    fn reads_skip_what_the_text_declares_and_what_is_no_variable() {
        let code = "let a = x; [1].map(|p| p + y) + a + o.x + f(z) + #{ k: 1 }.k + global::g";
        assert_eq!(
            names(code),
            vec![
                (8, "x".into()),
                (27, "y".into()),
                (36, "o".into()),
                (44, "z".into())
            ]
        );
        assert_eq!(names("for (v, i) in xs { v + i }"), vec![(14, "xs".into())]);
        assert!(names("try { 1 } catch (e) { e.message }").is_empty());
        assert!(
            names("fn g(a) { a + q } g(1)").is_empty(),
            "fn bodies are not looked at"
        );
        assert_eq!(names("let s = `a ${b} c`; s"), vec![(13, "b".into())]);
        assert_eq!(names("'hello world' + w"), vec![(16, "w".into())]);
        assert!(names("if is_def_var(\"q\") { q } else { 0 }").is_empty());
        assert!(names("eval(\"let q = 1\"); q").is_empty());
        assert!(names("it * ").is_empty(), "no compile, nothing");
    }

    #[test]
    fn python_calls_are_found_with_their_first_argument() {
        let e = rhai::Engine::new_raw();
        let r = reads(&e, "from_x(range(10)) + \"a\".upper() + int(s)").unwrap();
        let got: Vec<(&str, bool, usize, Option<&str>)> = r
            .calls
            .iter()
            .map(|c| (c.name.as_str(), c.method, c.args, c.first.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("range", false, 1, Some("10")),
                ("upper", true, 0, None),
                ("int", false, 1, Some("s")),
            ]
        );
    }

    #[test]
    fn the_quick_scan_says_no_when_a_name_may_be_unknown() {
        let known = |w: &str| ["it", "n", "xs"].contains(&w);
        assert!(nothing_to_find("it * 2 + n", known));
        assert!(nothing_to_find(
            "let f = it.split(\" \"); f[0].trim()",
            known
        ));
        assert!(nothing_to_find("xs.map(|a, b| a + b) + #{k: n}.k", known));
        assert!(nothing_to_find("`${it} and ${n + 1}` + \"q\"", known));
        assert!(nothing_to_find("for (v, i) in xs { v + i }", known));
        assert!(nothing_to_find("0..n", known));
        assert!(!nothing_to_find("it + m", known));
        assert!(!nothing_to_find("`${it} ${m}`", known));
        assert!(!nothing_to_find("range(n)", known));
        assert!(!nothing_to_find("it.upper()", known));
        assert!(!nothing_to_find("xs[0..m]", known));
        assert!(!nothing_to_find("it > 0 || m", known));
        assert!(!nothing_to_find("xs.map(|a| m)", known));
    }

    #[test]
    fn words_skip_strings_and_comments() {
        let got: Vec<&str> = words(
            r#"a + "b c" // d
 e /* f */ 1x"#,
        )
        .into_iter()
        .map(|(_, w)| w)
        .collect();
        assert_eq!(got, vec!["a", "e"]);
    }

    #[test]
    fn words_step_over_characters_outside_ascii() {
        let got: Vec<(usize, &str)> = words("it.splié(x) × é/é y");
        assert_eq!(got, vec![(0, "it"), (3, "spli"), (10, "x"), (22, "y")]);
    }

    #[test]
    fn words_inside_interpolations_are_read() {
        let got: Vec<&str> = words("`a ${b + `c ${d}`} e` + f")
            .into_iter()
            .map(|(_, w)| w)
            .collect();
        assert_eq!(got, vec!["b", "d", "f"]);
    }
}
