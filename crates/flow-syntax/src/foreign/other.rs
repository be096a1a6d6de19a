//! Python (`def`, `lambda`, `elif`, `except`, `finally`, `await`), Go (`go`, `func`, `:=`,
//! `make(chan …)`, `<-`) and Nextflow (`Channel.of(…)`).

use super::{closing, first_word, ident, line_end, next_line, rhai_literal, starts_word, Foreign};
use crate::Span;

/// A statement the parser stopped in that another language wrote.
pub(super) fn statement(src: &str, at: usize) -> Option<Foreign> {
    let end = line_end(src, at);
    let line = &src[at..end];
    let span = Span::new(at, at + line.trim_end().len());
    match first_word(line) {
        "def" => def(src, line, span),
        "func" => func(line, span),
        "go" => go(line, span),
        "elif" if !line.contains("then") => Some(elif(Span::new(at, at + 4), line)),
        "except" => Some(except(Span::new(at, at + 6), line)),
        "finally" => Some(finally(Span::new(at, at + 7))),
        _ if line.starts_with("Channel.") || line.starts_with("channel.") => channel(line, span),
        _ => go_assign(line).map(|(m, h)| Foreign::new(span, m, h)),
    }
}

/// The word where the parser stopped (`} elif …`, `} except …`), or the one before it
/// (`map lambda x: …`).
pub(super) fn word_at(src: &str, pos: usize) -> Option<Foreign> {
    let rest = &src[pos..line_end(src, pos)];
    let w = ident(rest);
    let span = Span::new(pos, pos + w.len());
    match w {
        "elif" => return Some(elif(span, rest)),
        "except" => return Some(except(span, rest)),
        "finally" => return Some(finally(span)),
        _ => {}
    }
    let before = src[..pos].trim_end_matches([' ', '\t']);
    if rest.starts_with(':') && before.ends_with("else") {
        return Some(Foreign::new(
            Span::new(pos, pos + 1),
            "`else:` is Python's, not flow",
            "write `else { … }`: flow's blocks are in braces",
        ));
    }
    let lambda_at = before.strip_suffix("lambda")?.len();
    if before[..lambda_at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    lambda(src, lambda_at)
}

/// `def f(x): return x*x` → `fn f(x) { x*x }`.
fn def(src: &str, line: &str, span: Span) -> Option<Foreign> {
    let rest = line[3..].trim_start();
    let name = ident(rest);
    let after = &rest[name.len()..];
    if name.is_empty() || !after.starts_with('(') {
        return None;
    }
    let close = closing(after, 0)?;
    let params = param_names(&after[1..close]);
    let tail = after[close + 1..].trim_start();
    let tail = tail
        .split_once(':')
        .filter(|(annot, _)| annot.is_empty() || annot.trim_start().starts_with("->"))
        .map_or(tail, |(_, t)| t)
        .trim();
    let body = if tail.starts_with('{') {
        closing(tail, 0)
            .map_or("…", |c| tail[1..c].trim())
            .to_string()
    } else if tail.is_empty() {
        let next = next_line(src, span.start).unwrap_or("");
        next.strip_prefix("return ")
            .unwrap_or("…")
            .trim()
            .to_string()
    } else {
        tail.strip_prefix("return ")
            .unwrap_or(tail)
            .trim()
            .to_string()
    };
    Some(Foreign::new(
        span,
        "`def` is Python's, not flow",
        format!(
            "write `fn {name}({params}) {{ {body} }}`: a function's body is in braces, its last \
             expression its value"
        ),
    ))
}

/// Parameter names without Python's or Go's types: `x: int, y` / `x int, y int` → `x, y`.
fn param_names(params: &str) -> String {
    params
        .split(',')
        .map(|p| ident(p.trim()))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Go's `func f(x int) int { return x * x }` → `fn f(x) { x * x }`.
fn func(line: &str, span: Span) -> Option<Foreign> {
    let rest = line[4..].trim_start();
    let name = ident(rest);
    let after = &rest[name.len()..];
    if name.is_empty() || !after.starts_with('(') {
        return None;
    }
    let close = closing(after, 0)?;
    let params = param_names(&after[1..close]);
    let body = after[close + 1..]
        .find('{')
        .map_or("…".to_string(), |open| {
            let b = &after[close + 1 + open..];
            let inner = closing(b, 0).map_or("…", |c| b[1..c].trim());
            inner.strip_prefix("return ").unwrap_or(inner).to_string()
        });
    Some(Foreign::new(
        span,
        "`func` is Go's, not flow",
        format!(
            "write `fn {name}({params}) {{ {body} }}`: a function is `fn`, its last expression \
             its value"
        ),
    ))
}

/// `go { … }`, `go func() { … }()`, `go worker(ch)` → `spawn { … }`.
fn go(line: &str, span: Span) -> Option<Foreign> {
    let rest = line[2..].trim_start();
    let braces = |s: &str| {
        let open = s.find('{')?;
        let close = closing(s, open)?;
        Some(s[open + 1..close].trim().to_string())
    };
    let body = if rest.starts_with('{') || starts_word(rest, "func") || rest.starts_with("func(") {
        braces(rest)?
    } else {
        let f = ident(rest);
        let args = rest[f.len()..].strip_prefix('(')?;
        let close = closing(&rest[f.len()..], 0)?;
        format!("{f}({})", &args[..close - 1])
    };
    Some(Foreign::new(
        span,
        "`go` starts a goroutine in Go; flow's keyword is `spawn`",
        format!("write `spawn {{ {body} }}` (or `let h = spawn {{ … }}`, to `join h` later)"),
    ))
}

/// `ch := make(chan int, 4)` → `let ch = channel(4)`. `(message, help)`.
fn go_assign(line: &str) -> Option<(String, String)> {
    let name = ident(line);
    let value = line[name.len()..].trim_start().strip_prefix(":=")?.trim();
    if name.is_empty() || value.is_empty() {
        return None;
    }
    Some((
        "`:=` is Go's declaration, not flow".into(),
        format!(
            "write `let {name} = {}`: flow declares variables with `let`",
            go_value(value)
        ),
    ))
}

/// A Go value in flow: `make(chan int, 4)` → `channel(4)`, `<-ch` → `from ch | first`.
fn go_value(v: &str) -> String {
    if let Some(args) = v
        .strip_prefix("make(")
        .filter(|a| a.trim_start().starts_with("chan"))
    {
        let args = args.split(')').next().unwrap_or("");
        let cap = args.split(',').nth(1).map_or("1", str::trim);
        return format!("channel({cap})");
    }
    match v.strip_prefix("<-") {
        Some(ch) => format!("from {} | first", ch.trim()),
        None => v.to_string(),
    }
}

/// `} elif n > 2 {` → `} else if n > 2 {`.
fn elif(span: Span, from_elif: &str) -> Foreign {
    let rest = from_elif[4..].trim_end();
    let rest = match rest.find('{') {
        Some(open) if rest.len() > 50 => format!("{}{{ … }}", &rest[..open]),
        _ => rest.to_string(),
    };
    Foreign::new(
        span,
        "`elif` is Python's, not flow",
        format!("write `else if`: `else if{rest}`"),
    )
}

/// `except Exception as e {` → `catch e {`.
fn except(span: Span, from_except: &str) -> Foreign {
    let head = from_except[6..].split(['{', ':']).next().unwrap_or("");
    let words: Vec<&str> = head.split_whitespace().collect();
    let var = match words.as_slice() {
        [.., "as", v] => format!("{v} "),
        [v] if v.chars().all(|c| c.is_ascii_lowercase() || c == '_') => format!("{v} "),
        _ => "e ".into(),
    };
    Foreign::new(
        span,
        "`except` is Python's, not flow",
        format!(
            "write `catch {var}{{ … }}` after the `try` block: it catches any error (`{v}.message`, \
             `{v}.code`, `{v}.exit`)",
            v = var.trim()
        ),
    )
}

fn finally(span: Span) -> Foreign {
    Foreign::new(
        span,
        "`finally` must follow the `}` of a `try` block (or of its `catch`)",
        "write `try { … } finally { … }`, or `try { … } catch e { … } finally { … }`",
    )
}

/// `map lambda x: x * 2` → `map { it * 2 }`. `lambda_at` is where `lambda` starts.
fn lambda(src: &str, lambda_at: usize) -> Option<Foreign> {
    let end = line_end(src, lambda_at);
    let text = &src[lambda_at..end];
    let text = text.split(" | ").next().unwrap_or(text).trim_end();
    let (params, body) = text["lambda".len()..].split_once(':')?;
    let params: Vec<&str> = params.split(',').map(str::trim).collect();
    let body = match params.as_slice() {
        [p] if !p.is_empty() => replace_word(body.trim(), p, "it"),
        _ => body.trim().to_string(),
    };
    let stage = src[..lambda_at]
        .trim_end()
        .rsplit([' ', '\t', '|'])
        .next()
        .filter(|w| !w.is_empty())
        .unwrap_or("map");
    Some(Foreign::new(
        Span::new(lambda_at, lambda_at + text.len()),
        "`lambda` is Python's, not flow",
        format!(
            "write `{stage} {{ {body} }}`: a stage takes a block in which the item is `it` (or a \
             `fn`'s name)"
        ),
    ))
}

/// `text` with the whole word `from` replaced by `to`.
fn replace_word(text: &str, from: &str, to: &str) -> String {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(from) {
        let before_ok = !rest[..i].ends_with(is_word);
        let after_ok = !rest[i + from.len()..].starts_with(is_word);
        out.push_str(&rest[..i]);
        out.push_str(if before_ok && after_ok { to } else { from });
        rest = &rest[i + from.len()..];
    }
    out.push_str(rest);
    out
}

/// Nextflow's `Channel.of('a', 'b')` → `from ["a", "b"]`.
fn channel(line: &str, span: Span) -> Option<Foreign> {
    let after_dot = &line[line.find('.')? + 1..];
    let method = ident(after_dot);
    let call = &after_dot[method.len()..];
    if !call.starts_with('(') {
        return None;
    }
    let close = closing(call, 0)?;
    let args = double_quoted(&call[1..close]);
    let source = match method {
        "of" | "from" => format!("from [{args}]"),
        "fromPath" | "fromFilePairs" => format!("from glob({args})"),
        "fromList" | "value" => format!("from {args}"),
        "empty" => "from []".into(),
        _ => return None,
    };
    let rest = call[close + 1..].trim();
    let tail = if rest.starts_with('|') {
        format!(" {rest}")
    } else {
        String::new()
    };
    Some(Foreign::new(
        span,
        format!(
            "`{}.{method}(…)` is Nextflow's, not flow",
            first_word(line).split('.').next().unwrap_or("Channel")
        ),
        format!("write `{source}{tail}`: flow's source of items is `from`"),
    ))
}

/// Single-quoted strings of `text` written with double quotes (`'a', 'b'` → `"a", "b"`).
fn double_quoted(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(['\'', '"']) {
        out.push_str(&rest[..i]);
        let q = rest[i..].chars().next().unwrap_or('"');
        let body = &rest[i + 1..];
        let Some(end) = body.find(q) else {
            out.push_str(&rest[i..]);
            return out;
        };
        out.push_str(&rhai_literal(&format!("'{}'", &body[..end])));
        rest = &body[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Python's, Go's or another language's word where a program was looked up. `command` is
/// the command's text from its program on. `(message, help)`.
pub(super) fn program(name: &str, command: &str, on_path: bool) -> Option<(String, String)> {
    if let Some(a) = go_assign(command) {
        return Some(a);
    }
    if on_path {
        return None;
    }
    let arg = super::after_first_word(command);
    if let Some(value) = arg
        .strip_prefix("<-")
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        return Some((
            format!("`{name} <- …` is Go's channel send, not flow"),
            format!("write `from {value} | into {name}`: flow sends with a stage (one value is one item)"),
        ));
    }
    Some(match name {
        "await" => (
            "`await` is Python's, not flow".into(),
            format!(
                "write `join {}`: flow waits for a task with `join`",
                if arg.is_empty() { "h" } else { arg }
            ),
        ),
        "go" => (
            "`go` starts a goroutine in Go; flow's keyword is `spawn`".into(),
            "write `spawn { … }` (or `let h = spawn { … }`, to `join h` later)".into(),
        ),
        "def" => (
            "`def` is Python's, not flow".into(),
            "write `fn name(x) { … }`: a function's last expression is its value".into(),
        ),
        "elif" | "except" | "finally" | "lambda" => (
            format!("`{name}` is Python's, not flow"),
            match name {
                "elif" => "write `else if`".into(),
                "except" => "write `catch e { … }` after the `try` block".into(),
                "finally" => "write `try { … } finally { … }`".into(),
                _ => {
                    "write `map { it * 2 }`: a stage takes a block in which the item is `it`".into()
                }
            },
        ),
        _ => return None,
    })
}

/// The right of `let NAME = …` when it is another language's: `$(cmd)`, `$((…))`,
/// `await task`. `(message, help)`.
pub fn let_value(name: &str, code: &str) -> Option<(String, String)> {
    let code = code.trim();
    if let Some(after) = code.strip_prefix('$') {
        let (len, message, _) = super::dollar(after)?;
        if len != after.len() {
            return None;
        }
        let inner = after.trim_start_matches('(').trim_end_matches(')').trim();
        let value = if after.starts_with("((") {
            inner.replace('$', "")
        } else {
            format!("^{inner}")
        };
        return Some((
            message,
            format!("write `let {name} = {value}`: the command itself goes on the right of `let`"),
        ));
    }
    let task = code
        .strip_prefix("await")
        .filter(|r| r.starts_with([' ', '(']))?
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .trim();
    Some((
        "`await` is Python's, not flow".into(),
        format!("write `let {name} = join {task}`: flow waits for a task with `join`"),
    ))
}

/// Another language's spelling in Rhai code that did not compile (`code` starts at byte
/// `start` of the script).
pub fn in_rhai(code: &str, start: usize) -> Option<Foreign> {
    let span = |at: usize, len: usize| Span::new(start + at, start + at + len);
    if let Some(at) = code.find("$(") {
        let (len, message, help) = super::dollar(&code[at + 1..])?;
        return Some(Foreign::new(span(at, len + 1), message, help));
    }
    if let Some(at) = code.find("make(chan") {
        let len = closing(&code[at..], 4).map_or(9, |c| c + 1);
        let value = go_value(&code[at..at + len]);
        return Some(Foreign::new(
            span(at, len),
            "`make(chan …)` is Go's, not flow",
            format!("write `{value}`: flow's channels are bounded, with room for at least 1"),
        ));
    }
    if let Some(at) = code.find("<-") {
        let ch = ident(code[at + 2..].trim_start());
        if !ch.is_empty() {
            return Some(Foreign::new(
                span(at, 2),
                "`<-` is Go's channel receive, not flow",
                format!(
                    "write `from {ch} | first` (on the right of `let`): a pipeline reads a channel"
                ),
            ));
        }
    }
    if let Some(at) = find_word(code, "lambda") {
        let text = &code[at..];
        let (params, body) = text[6..].split_once(':')?;
        let body_end = body.find([')', ',', ';']).unwrap_or(body.len());
        return Some(Foreign::new(
            span(at, 6),
            "`lambda` is Python's, not flow",
            format!(
                "write `|{}| {}`: a Rhai closure",
                params.trim(),
                body[..body_end].trim()
            ),
        ));
    }
    if let Some(at) = find_word(code, "await") {
        let task = ident(code[at + 5..].trim_start_matches([' ', '(']));
        return Some(Foreign::new(
            span(at, 5),
            "`await` is Python's, not flow",
            format!(
                "write `let r = join {}`: flow waits for a task with `join`",
                if task.is_empty() { "h" } else { task }
            ),
        ));
    }
    let c = code.trim();
    if (c.starts_with("[ ") || c.starts_with("[[")) && c.ends_with(']') && c.contains(" -") {
        let at = code.len() - code.trim_start().len();
        return Some(Foreign::new(
            span(at, c.len()),
            "`[ … ]` is the shell's test, not flow",
            format!(
                "write `if {} {{ … }}`: it runs the `test` program",
                super::shell_test(c)
            ),
        ));
    }
    let glob_chars = |ch: char| ch.is_ascii_alphanumeric() || "*?._-/~[]".contains(ch);
    if c.contains(['*', '?']) && c.chars().all(glob_chars) {
        let at = code.len() - code.trim_start().len();
        return Some(Foreign::new(
            span(at, c.len()),
            format!("`{c}` is a shell glob, not a value"),
            format!("write `glob({})`: the matching paths", rhai_literal(c)),
        ));
    }
    None
}

/// Where the whole word `w` first stands in `code`.
fn find_word(code: &str, w: &str) -> Option<usize> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    code.match_indices(w)
        .map(|(i, _)| i)
        .find(|&i| !code[..i].ends_with(is_word) && !code[i + w.len()..].starts_with(is_word))
}
