//! What a Python user writes first in Rhai code, and the flow spelling: one table of names
//! (`True`, `sys`, `int(…)`, `.upper()`, `range(n)`, …) and the syntax Rhai cannot parse
//! (`and`, `f"…"`, `{"k": 1}`, `[x for x in xs]`). The checker reports the names before
//! anything runs where flow's engine certainly has no such function or variable; the run's
//! "Function not found" and "Variable not found" get the same help (a host's registrations
//! may add names the checker cannot see).

/// How a Python name is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// Read as a variable: `True`.
    Variable,
    /// Called as a function with this many arguments (`None`: any number): `int(x)`.
    Function(Option<usize>),
    /// Called as a method with this many arguments after the receiver (`None`: any).
    Method(Option<usize>),
}

/// One Python name and its flow spelling.
struct Entry {
    python: &'static str,
    form: Form,
    /// The help; `{arg}` is the first argument as written (`n` when it is not simple).
    fix: &'static str,
    /// When flow's engine certainly has no function or variable of this name and form (a
    /// unit test holds it to that), so that the checker may report it before anything runs.
    /// Otherwise only a run that fails on it gets the help (`xs.append(ys)` is Rhai's,
    /// `xs.append(1)` is not).
    certain: Certain,
}

/// When a use of a Python name certainly fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Certain {
    Always,
    /// When the first argument is a string literal: Rhai's `int(1.5)` is the integer part
    /// of a float, `int("41")` is Python's.
    WithText,
    Never,
}

use Certain::{Always, Never, WithText};
use Form::{Function, Method, Variable};

/// The table: consulted by [`variable`] and [`call`], for the checker and the run alike.
const TABLE: &[Entry] = &[
    Entry {
        python: "True",
        form: Variable,
        fix: "Rhai's booleans are lower case: `true` and `false`",
        certain: Always,
    },
    Entry {
        python: "False",
        form: Variable,
        fix: "Rhai's booleans are lower case: `true` and `false`",
        certain: Always,
    },
    Entry {
        python: "None",
        form: Variable,
        fix: NO_VALUE,
        certain: Always,
    },
    Entry {
        python: "sys",
        form: Variable,
        fix: "the script's arguments are the array `args`, without the script's name: \
              Python's `sys.argv[1]` is `args[0]`",
        certain: Always,
    },
    Entry {
        python: "int",
        form: Function(Some(1)),
        fix: "Rhai converts text with a method: `{arg}.parse_int()` (a float: `x.to_int()`)",
        certain: WithText,
    },
    Entry {
        python: "float",
        form: Function(Some(1)),
        fix: "Rhai converts with methods: `\"2.5\".parse_float()` for text, `n.to_float()` \
              for an integer",
        certain: Always,
    },
    Entry {
        python: "str",
        form: Function(Some(1)),
        fix: "Rhai converts with a method: `n.to_string()`, or write a back-tick string: \
              `` `n=${n}` ``",
        certain: Always,
    },
    Entry {
        python: "sorted",
        form: Function(Some(1)),
        fix: "`xs.order()` is a sorted copy of an array (`xs.sort()` sorts it in place); \
              in a pipeline, `| sort`",
        certain: Always,
    },
    Entry {
        python: "open",
        form: Function(None),
        fix: "`lines({arg})` is the array of a file's lines (`from lines({arg})` reads them \
              lazily), `read_file({arg})` its whole text",
        certain: Always,
    },
    Entry {
        python: "range",
        form: Function(Some(1)),
        fix: "a range is written `0..{arg}` (`0..={arg}` includes `{arg}`): \
              `from 0..{arg}`, `for i in 0..{arg}`",
        certain: Always,
    },
    Entry {
        python: "enumerate",
        form: Function(Some(1)),
        fix: "`for (x, i) in xs { … }` gives each element with its index",
        certain: Always,
    },
    Entry {
        python: "type",
        form: Function(Some(1)),
        fix: "`type_of(x)` is the name of a value's type",
        certain: Always,
    },
    Entry {
        python: "upper",
        form: Method(Some(0)),
        fix: "Rhai's is `to_upper()`: `s.to_upper()` (and `to_lower()`)",
        certain: Always,
    },
    Entry {
        python: "lower",
        form: Method(Some(0)),
        fix: "Rhai's is `to_lower()`: `s.to_lower()` (and `to_upper()`)",
        certain: Always,
    },
    Entry {
        python: "startswith",
        form: Method(Some(1)),
        fix: "Rhai's is `starts_with`: `s.starts_with(x)`",
        certain: Always,
    },
    Entry {
        python: "endswith",
        form: Method(Some(1)),
        fix: "Rhai's is `ends_with`: `s.ends_with(x)`",
        certain: Always,
    },
    Entry {
        python: "items",
        form: Method(Some(0)),
        fix: "a map's keys are `m.keys()`, its values `m.values()`: \
              `for k in m.keys() { … m[k] … }`",
        certain: Always,
    },
    Entry {
        python: "format",
        form: Method(None),
        fix: "Rhai's f-strings are back-tick strings: `` `${n} files` ``; to format a \
              number, call `format(x, spec)` with Python's spec: `format(x, \".2f\")`",
        certain: Always,
    },
    Entry {
        python: "append",
        form: Method(Some(1)),
        fix: "Rhai adds one element with `push`: `xs.push(x)` (`append` adds the elements of \
              another array: `xs.append([1, 2])`)",
        certain: Never,
    },
    Entry {
        python: "extend",
        form: Method(Some(1)),
        fix: "Rhai adds the elements of another array with `append`: `xs.append(ys)`",
        certain: Always,
    },
    Entry {
        python: "find",
        form: Method(Some(1)),
        fix: "a text's position of another is `s.index_of(x)` (-1 when it is not there)",
        certain: Never,
    },
];

/// The help for a name Rhai code reads as a variable, when it is Python's (`True`, `sys`).
pub(crate) fn variable(name: &str) -> Option<&'static str> {
    TABLE
        .iter()
        .find(|e| e.python == name && e.form == Variable)
        .map(|e| e.fix)
}

/// A Python call that flow has under another name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallFix {
    /// The help, with the argument filled in.
    pub(crate) help: String,
    /// flow's engine certainly has no such function: a check error is safe.
    pub(crate) certain: bool,
}

/// The help for a call of `name` (as a method: `x.name(…)`) with `args` arguments (not
/// counting a method's receiver), when it is Python's. `first` is the first argument as
/// written, when it is simple enough to show in the fix (a string literal with its quotes).
pub(crate) fn call(name: &str, method: bool, args: usize, first: Option<&str>) -> Option<CallFix> {
    let fits = |want: Option<usize>| want.is_none_or(|n| n == args);
    let e = TABLE.iter().find(|e| {
        e.python == name
            && match e.form {
                Function(n) => !method && fits(n),
                Method(n) => method && fits(n),
                Variable => false,
            }
    })?;
    let arg = first.unwrap_or(if name == "open" { "path" } else { "n" });
    let certain = match e.certain {
        Always => true,
        WithText => first.is_some_and(|a| a.starts_with('"')),
        Never => false,
    };
    Some(CallFix {
        help: e.fix.replace("{arg}", arg),
        certain,
    })
}

/// Whether some entry is a call named `name`: the checker's quick test before it looks at
/// Rhai's syntax tree.
pub(crate) fn is_call_name(name: &str) -> bool {
    TABLE.iter().any(|e| e.python == name && e.form != Variable)
}

/// The help for Rhai code that does not parse because it is written as Python: `and`/`or`/
/// `not`, an f-string, a `{ "key": value }` dictionary, a list comprehension. The fix is
/// shown on the code itself where it can be.
pub(crate) fn syntax_hint(code: &str) -> Option<String> {
    let toks = tokens(code);
    if let Some(h) = comprehension(code, &toks) {
        return Some(h);
    }
    if let Some(h) = fstring(code, &toks) {
        return Some(h);
    }
    if let Some(h) = dictionary(code, &toks) {
        return Some(h);
    }
    // Reserved words of Rhai that other languages spell "no value".
    let no_value = toks
        .iter()
        .any(|&(t, s, e)| t == Tok::Word && matches!(&code[s..e], "null" | "nil"));
    if no_value {
        return Some(NO_VALUE.to_string());
    }
    logic_words(code, &toks)
}

/// The help for Python's `None` (and `null`, `nil`).
const NO_VALUE: &str =
    "Rhai's \"no value\" is `()`: `x == ()` tests for it, `x ?? default` replaces it";

/// A token of Rhai text: a word, a string literal (with its quotes), or one other character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Word,
    Str,
    Punct(u8),
}

/// The tokens of `code` with their byte ranges, comments left out.
fn tokens(code: &str) -> Vec<(Tok, usize, usize)> {
    let b = code.as_bytes();
    let mut out = vec![];
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if matches!(c, b'"' | b'\'' | b'`') {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != c {
                i += if b[i] == b'\\' && c != b'\'' { 2 } else { 1 };
            }
            i = (i + 1).min(b.len());
            out.push((Tok::Str, start, i));
        } else if b[i..].starts_with(b"//") {
            i = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n);
        } else if b[i..].starts_with(b"/*") {
            i = memchr::memmem::find(&b[i + 2..], b"*/").map_or(b.len(), |n| i + n + 4);
        } else if c.is_ascii_alphanumeric() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push((Tok::Word, start, i));
        } else if c.is_ascii_whitespace() {
            i += 1;
        } else {
            if c.is_ascii() {
                out.push((Tok::Punct(c), i, i + 1));
            }
            i += 1;
        }
    }
    out
}

/// `f"{n} files"` → `` `${n} files` ``.
fn fstring(code: &str, toks: &[(Tok, usize, usize)]) -> Option<String> {
    let (s, e) = toks.windows(2).find_map(|w| match (w[0], w[1]) {
        ((Tok::Word, a, b), (Tok::Str, s, e)) if b == s && &code[a..b] == "f" => Some((s, e)),
        _ => None,
    })?;
    let inner = code.get(s + 1..e.saturating_sub(1)).unwrap_or("");
    let body = inner.replace('{', "${");
    Some(format!(
        "Rhai's f-strings are back-tick strings, with `${{…}}` around each value: `` `{body}` ``"
    ))
}

/// `{"ann": 31}` where a value belongs: a map is `#{ … }`. (A value that is a block, as
/// in `let ages = {"ann": 31}`, reaches Rhai without its braces.)
fn dictionary(code: &str, toks: &[(Tok, usize, usize)]) -> Option<String> {
    if let [(Tok::Str | Tok::Word, ..), (Tok::Punct(b':'), colon, _), ..] = toks {
        if code.as_bytes().get(colon + 1) != Some(&b':') {
            return Some(format!(
                "a map (Python's dict) is written `#{{ … }}`, because `{{ … }}` is a block: \
                 `#{{{}}}`",
                code.trim()
            ));
        }
    }
    let at = toks.windows(3).position(|w| {
        matches!(w[0].0, Tok::Punct(b'{'))
            && matches!(w[1].0, Tok::Str | Tok::Word)
            && matches!(w[2].0, Tok::Punct(b':'))
            && code.as_bytes().get(w[2].1 + 1) != Some(&b':')
    })?;
    let open = toks[at].1;
    if code[..open].trim_end().ends_with('#') {
        return None;
    }
    let close = matching(toks, at)?;
    Some(format!(
        "a map (Python's dict) is written `#{{ … }}`, because `{{ … }}` is a block: `#{}`",
        &code[open..close]
    ))
}

/// `[x * x for x in range(5)]`: Rhai has no list comprehension; a pipeline makes the list.
fn comprehension(code: &str, toks: &[(Tok, usize, usize)]) -> Option<String> {
    let word = |i: usize, w: &str| toks[i].0 == Tok::Word && &code[toks[i].1..toks[i].2] == w;
    for (open, t) in toks.iter().enumerate() {
        if t.0 != Tok::Punct(b'[') {
            continue;
        }
        let Some(close) = matching(toks, open) else {
            continue;
        };
        let Some(close_tok) = toks.iter().position(|t| t.1 + 1 == close) else {
            continue;
        };
        let mut depth = 0usize;
        let mut at_for = None;
        for (i, t) in toks.iter().enumerate().take(close_tok).skip(open + 1) {
            match t.0 {
                Tok::Punct(b'(' | b'[' | b'{') => depth += 1,
                Tok::Punct(b')' | b']' | b'}') => depth = depth.saturating_sub(1),
                _ if depth == 0 && word(i, "for") => {
                    at_for = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let Some(f) = at_for else { continue };
        if f + 2 >= close_tok || toks[f + 1].0 != Tok::Word || !word(f + 2, "in") {
            continue;
        }
        let var = &code[toks[f + 1].1..toks[f + 1].2];
        let expr = code[toks[open].2..toks[f].1].trim();
        let source = code[toks[f + 2].2..toks[close_tok].1].trim();
        let body = rename_word(expr, var, "it");
        let source = python_range(source).unwrap_or_else(|| source.to_string());
        return Some(format!(
            "a pipeline makes the list: `let xs = from {source} | map {{ {body} }} | collect` \
             (Rhai has no list comprehension; `| filter {{ … }}` is its `if`)"
        ));
    }
    None
}

/// `range(5)` → `0..5`, `range(a, b)` → `a..b`.
fn python_range(source: &str) -> Option<String> {
    let args = source.strip_prefix("range(")?.strip_suffix(')')?;
    if args.contains(['(', '[', '{']) {
        return None;
    }
    Some(match args.split_once(',') {
        Some((a, b)) if !b.contains(',') => format!("{}..{}", a.trim(), b.trim()),
        None => format!("0..{}", args.trim()),
        _ => return None,
    })
}

/// `expr` with the word `from` written `to`, outside strings.
fn rename_word(expr: &str, from: &str, to: &str) -> String {
    let mut out = String::new();
    let mut last = 0;
    for (t, s, e) in tokens(expr) {
        if t == Tok::Word && &expr[s..e] == from && !expr[..s].ends_with('.') {
            out.push_str(&expr[last..s]);
            out.push_str(to);
            last = e;
        }
    }
    out.push_str(&expr[last..]);
    out
}

/// `n > 1 and n < 5`: Python's `and`, `or` and `not` between operands.
fn logic_words(code: &str, toks: &[(Tok, usize, usize)]) -> Option<String> {
    let operand_end = |t: (Tok, usize, usize)| match t.0 {
        Tok::Word | Tok::Str => true,
        Tok::Punct(c) => matches!(c, b')' | b']'),
    };
    let operand_start = |t: (Tok, usize, usize)| match t.0 {
        Tok::Word | Tok::Str => true,
        Tok::Punct(c) => matches!(c, b'(' | b'[' | b'!' | b'-'),
    };
    let mut found = false;
    let mut fixed = String::new();
    let mut last = 0;
    for (i, t) in toks.iter().enumerate() {
        if t.0 != Tok::Word {
            continue;
        }
        let w = &code[t.1..t.2];
        let next = toks.get(i + 1).copied();
        let prev = i.checked_sub(1).map(|p| toks[p]);
        let op = match w {
            "and" | "or" if prev.is_some_and(operand_end) && next.is_some_and(operand_start) => {
                if w == "and" {
                    "&&"
                } else {
                    "||"
                }
            }
            "not" if next.is_some_and(operand_start) && prev.is_none_or(|p| !operand_end(p)) => "!",
            _ => continue,
        };
        found = true;
        fixed.push_str(&code[last..t.1]);
        fixed.push_str(op);
        last = if op == "!" {
            // `not x` → `!x`
            toks.get(i + 1).map_or(t.2, |n| n.1)
        } else {
            t.2
        };
    }
    if !found {
        return None;
    }
    fixed.push_str(&code[last..]);
    Some(format!(
        "Rhai writes Python's `and` as `&&`, `or` as `||` and `not` as `!`: `{}`",
        fixed.trim()
    ))
}

/// The end (exclusive) of the bracket that `toks[open]` opens.
fn matching(toks: &[(Tok, usize, usize)], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for t in &toks[open..] {
        match t.0 {
            Tok::Punct(b'(' | b'[' | b'{') => depth += 1,
            Tok::Punct(b')' | b']' | b'}') => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(t.2);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_calls_are_found_by_form() {
        assert!(variable("True").unwrap().contains("`true`"));
        assert!(variable("true").is_none());
        assert!(variable("int").is_none());
        let range = call("range", false, 1, Some("10")).unwrap();
        assert!(range.help.contains("`0..10`") && range.certain, "{range:?}");
        assert!(
            call("range", false, 2, None).is_none(),
            "Rhai has range(a, b)"
        );
        assert!(
            call("upper", false, 0, None).is_none(),
            "a method, not a function"
        );
        assert!(call("upper", true, 0, None)
            .unwrap()
            .help
            .contains("to_upper"));
        assert!(!call("append", true, 1, None).unwrap().certain);
        assert!(
            !call("int", false, 1, Some("x")).unwrap().certain,
            "Rhai's int(1.5)"
        );
        assert!(call("int", false, 1, Some("\"41\"")).unwrap().certain);
        assert!(call("open", false, 1, None)
            .unwrap()
            .help
            .contains("lines(path)"));
        assert!(is_call_name("sorted") && !is_call_name("True") && !is_call_name("push"));
    }

    /// What the checker reports before running must really be missing from flow's engine,
    /// whatever the types of the receiver and the arguments.
    #[test]
    fn certain_entries_are_missing_from_flows_engine() {
        let engine = crate::runtime::builtins::new_engine();
        let values = ["\"41\"", "[1]", "#{a: 1}", "1", "1.5", "()", "'c'"];
        for e in TABLE.iter().filter(|e| e.certain != Never) {
            let values: &[&str] = if e.certain == WithText {
                &values[..1]
            } else {
                &values
            };
            let codes: Vec<String> = match e.form {
                Variable => vec![e.python.to_string()],
                Function(n) | Method(n) => values
                    .iter()
                    .flat_map(|v| {
                        (0..=2)
                            .filter(move |k| n.is_none_or(|n| n == *k))
                            // `x.format(spec)` is flow's `format(x, spec)` called as a
                            // method: the engine has it; the checker still names the
                            // spelling flow uses.
                            .filter(move |k| !(e.python == "format" && *k == 1))
                            .map(move |k| {
                                let args = vec![*v; k].join(", ");
                                match e.form {
                                    Method(_) => format!("({v}).{}({args})", e.python),
                                    _ => format!("{}({args})", e.python),
                                }
                            })
                    })
                    .collect(),
            };
            for code in codes {
                let err = engine.run(&code).expect_err(&code);
                assert!(
                    matches!(
                        *err,
                        rhai::EvalAltResult::ErrorFunctionNotFound(..)
                            | rhai::EvalAltResult::ErrorVariableNotFound(..)
                    ),
                    "{code}: {err}"
                );
            }
        }
    }

    #[test]
    fn python_syntax_gets_its_rhai_spelling() {
        let h = syntax_hint("n > 1 and n < 5 ").unwrap();
        assert!(h.contains("`n > 1 && n < 5`"), "{h}");
        let h = syntax_hint("not done or x").unwrap();
        assert!(h.contains("`!done || x`"), "{h}");
        let h = syntax_hint("print(f\"{n} files\")").unwrap();
        assert!(h.contains("back-tick") && h.contains("`${n} files`"), "{h}");
        let h = syntax_hint("{\"ann\": 31, \"bob\": 42}").unwrap();
        assert!(h.contains("`#{\"ann\": 31, \"bob\": 42}`"), "{h}");
        let h = syntax_hint("\"ann\": 31, \"bob\": 42").unwrap();
        assert!(h.contains("`#{\"ann\": 31, \"bob\": 42}`"), "{h}");
        let h = syntax_hint("print([x * x for x in range(5)])").unwrap();
        assert!(h.contains("from 0..5 | map { it * it } | collect"), "{h}");
        assert!(syntax_hint("#{a: 1} + ").is_none());
        assert!(syntax_hint("it * ").is_none());
        assert!(syntax_hint("x == null").unwrap().contains("`()`"));
        assert!(syntax_hint("\"and\" + ").is_none());
        assert!(syntax_hint("x.and(1) +").is_none());
    }
}
