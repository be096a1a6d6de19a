//! bash's syntax: `#` comments, `if [ … ]; then … fi`, `for … do … done`, `while read`,
//! `NAME=value`, `$(…)`, `$((…))`, `$1`, `$@`, `$HOME`. (Its builtins: `builtins.rs`.)

use super::{
    closing, first_word, ident, line_end, line_start, next_line, rhai_array, rhai_literal,
    starts_word, Foreign,
};
use crate::Span;

/// A statement the parser stopped in that is shell syntax: `# comment`, `if [ … ]; then`,
/// `for f in *.txt; do`, `while …; do`, a `then`/`do`/`done`/`fi` line.
pub(super) fn statement(src: &str, at: usize, pos: usize) -> Option<Foreign> {
    let end = line_end(src, at);
    let line = &src[at..end];
    if let Some(f) = hash_comment(src, at, pos) {
        return Some(f);
    }
    let span = Span::new(at, at + line.trim_end().len());
    match first_word(line) {
        "if" => shell_if(src, at, line, span),
        "for" => shell_for(src, line, span, pos),
        w @ ("while" | "until") => Some(Foreign::new(
            span,
            format!("`{w} … do … done` is shell syntax, not flow"),
            while_help(&src[line_start(src, at)..at], line),
        )),
        w @ ("then" | "do" | "done" | "fi" | "esac") => Some(Foreign::new(
            Span::new(at, at + w.len()),
            format!("`{w}` is shell syntax, not flow"),
            BLOCK_HELP,
        )),
        _ => None,
    }
}

pub(super) const BLOCK_HELP: &str =
    "a flow block is `{ … }`: `if ^test -f x { … }`, `for f in glob(\"*.txt\") { … }`";

/// `# comment` (a line, or the rest of a line after a command): flow's comments are `//`.
fn hash_comment(src: &str, at: usize, pos: usize) -> Option<Foreign> {
    let end = line_end(src, at);
    let line = &src[at..end];
    let hash = if line.starts_with('#') && !line.starts_with("#{") {
        Some(at)
    } else {
        // A `#` that starts a word before the stop, outside quotes: `echo hi # it's`.
        let before = &src[at..pos.min(end)];
        let mut quote = None;
        let mut found = None;
        for (i, c) in before.char_indices() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (None, '"' | '\'') => quote = Some(c),
                (None, '#') if i > 0 && before[..i].ends_with([' ', '\t']) => {
                    found = Some(at + i);
                    break;
                }
                _ => {}
            }
        }
        found
    }?;
    Some(Foreign::new(
        Span::new(hash, hash + 1),
        "`#` starts no comment in flow",
        comment_help(&src[hash + 1..end]),
    ))
}

/// The help for a `#` comment whose text is `text`.
pub(super) fn comment_help(text: &str) -> String {
    let text = text.trim();
    let short: String = text.chars().take(30).collect();
    let more = if short.len() < text.len() { "…" } else { "" };
    format!("write `//` for a comment: `// {short}{more}`")
}

/// `if [ -f x ]; then echo yes; fi` → `if ^test -f x { echo yes }`.
fn shell_if(src: &str, at: usize, line: &str, span: Span) -> Option<Foreign> {
    let rest = &line[2..];
    if !rest.starts_with([' ', '\t', '[']) {
        return None;
    }
    let (cond, body) = match keyword_after_semi(rest, "then") {
        Some((semi, after)) => (&rest[..semi], Some(&rest[after..])),
        None if next_line(src, at).is_some_and(|l| starts_word(l, "then")) => (rest, None),
        None if looks_like_test(rest) => (rest, None),
        None => return None,
    };
    let cond = test_command(cond.trim().trim_end_matches(';').trim());
    let body = body.map_or("…".to_string(), |b| block_body(b, "fi"));
    Some(Foreign::new(
        span,
        "`if …; then … fi` is shell syntax, not flow",
        format!("write `if {cond} {{ {body} }}`: flow's `if` runs a command written with `^`"),
    ))
}

/// `[ -f x ]`, `[[ $a == b ]]`: the shell's test, as flow's condition text would hold it.
fn looks_like_test(cond: &str) -> bool {
    let c = cond.trim();
    (c.starts_with("[[") || c.starts_with("[ "))
        && c.trim_end_matches(';').trim_end().ends_with(']')
}

/// The shell's condition as a flow `if` command: `[ -f x ]` → `^test -f x`, `! grep -q x f`
/// → `!^grep -q x f`.
pub(super) fn test_command(cond: &str) -> String {
    let (not, c) = match cond.strip_prefix('!') {
        Some(r) => ("!", r.trim_start()),
        None => ("", cond),
    };
    let inner = c
        .strip_prefix("[[")
        .and_then(|r| r.strip_suffix("]]"))
        .or_else(|| c.strip_prefix('[').and_then(|r| r.strip_suffix(']')));
    match inner {
        Some(i) => format!("{not}^test {}", i.trim()),
        None => format!("{not}^{c}"),
    }
}

/// Where `; KW` is in `s`: the `;` and the end of `KW`.
fn keyword_after_semi(s: &str, kw: &str) -> Option<(usize, usize)> {
    s.match_indices(';').find_map(|(semi, _)| {
        let after = &s[semi + 1..];
        let skip = after.len() - after.trim_start().len();
        starts_word(&after[skip..], kw).then_some((semi, semi + 1 + skip + kw.len()))
    })
}

/// The commands of a one-line shell block, `echo yes; fi` → `echo yes` (`…` when there are
/// none, or the block goes on with `else`).
fn block_body(text: &str, end_kw: &str) -> String {
    let mut b = text.trim().trim_end_matches(';').trim_end();
    // Up to the closing keyword; what follows it (`done < file`) is not the body's.
    let closer = b
        .match_indices(end_kw)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .find(|(i, _)| {
            let after = &b[i + end_kw.len()..];
            (*i == 0 || b[..*i].ends_with([' ', '\t', ';']))
                && (after.is_empty() || after.starts_with([' ', '\t', ';', '<', '>', '|']))
        });
    if let Some((i, _)) = closer {
        b = b[..i].trim_end().trim_end_matches(';').trim_end();
    }
    let has = |w: &str| b.split([' ', ';', '\t']).any(|x| x == w);
    if b.is_empty() || has("else") || has("elif") || has(end_kw) {
        "…".into()
    } else {
        b.to_string()
    }
}

/// `for f in data/*.txt; do wc -l $f; done` → `for f in glob("data/*.txt") { wc -l $f }`.
fn shell_for(src: &str, line: &str, span: Span, pos: usize) -> Option<Foreign> {
    let rest = line[3..].strip_prefix([' ', '\t'])?.trim_start();
    let name = ident(rest);
    let after = rest[name.len()..].trim_start();
    let list_and_more = after.strip_prefix("in")?;
    if name.is_empty() || !list_and_more.starts_with([' ', '\t']) {
        return None;
    }
    let at_glob = src[pos..].starts_with("/*");
    let brace = list_and_more.find(" {");
    let (list, body) = match keyword_after_semi(list_and_more, "do") {
        Some((semi, after_do)) => (
            &list_and_more[..semi],
            block_body(&list_and_more[after_do..], "done"),
        ),
        None if at_glob && brace.is_some() => {
            let open = brace.unwrap_or(0) + 1;
            let inner = closing(list_and_more, open)
                .map_or("…", |close| list_and_more[open + 1..close].trim());
            (&list_and_more[..open], inner.to_string())
        }
        None if at_glob || next_line(src, span.start).is_some_and(|l| starts_word(l, "do")) => {
            (list_and_more, "…".to_string())
        }
        None => return None,
    };
    let list = list.trim();
    let message = format!("`for {name} in {list}` is shell syntax, not flow");
    let help = match list.strip_prefix("$(").and_then(|l| l.strip_suffix(')')) {
        Some(cmd) => format!(
            "write `let out = ^{}`, then `for {name} in out {{ {body} }}`: flow's `for` takes a \
             value",
            cmd.trim()
        ),
        None => format!(
            "write `for {name} in {} {{ {body} }}`: flow's `for` takes a value and a block",
            for_list(list)
        ),
    };
    Some(Foreign::new(span, message, help))
}

/// The shell's word list as a flow value: a glob → `glob("…")`, `"$@"` → `args`,
/// `{1..5}` → `1..=5`, words → an array.
fn for_list(list: &str) -> String {
    let words: Vec<&str> = list.split_whitespace().collect();
    match words.as_slice() {
        [w] if w.contains(['*', '?', '[']) => format!("glob({})", rhai_literal(w)),
        ["$@" | "\"$@\"" | "$*"] => "args".into(),
        [w] if w.starts_with('{') && w.ends_with('}') && w.contains("..") => {
            w[1..w.len() - 1].replacen("..", "..=", 1)
        }
        _ => rhai_array(words.iter().copied()),
    }
}

/// The help for a shell `while` loop; `before` is the line's text before `while`
/// (`cat f | `), `line` the loop.
pub(super) fn while_help(before: &str, line: &str) -> String {
    let rest = line
        .split_once([' ', '\t'])
        .map_or("", |(_, r)| r)
        .trim_start();
    if !starts_word(rest, "read") {
        return format!(
            "flow has no `{}` statement: loop over values with `for x in xs {{ … }}`, over \
             lines with a stage (`cat f | each {{ … it … }}`); Rhai's `while` works inside a \
             `fn`",
            first_word(line)
        );
    }
    let read: Vec<&str> = rest
        .split(';')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let var = read
        .last()
        .filter(|w| !w.starts_with('-') && **w != "read")
        .map_or("line", |w| w);
    let body = keyword_after_semi(rest, "do")
        .map_or("…".into(), |(_, a)| block_body(&rest[a..], "done"));
    let producer = before.trim().strip_suffix('|').map(str::trim);
    let file = producer
        .and_then(|p| p.strip_prefix("cat "))
        .map(str::trim)
        .or_else(|| {
            let (_, f) = line.rsplit_once("done <")?;
            Some(f.trim())
        })
        .filter(|f| !f.is_empty() && !f.contains(' '));
    match (file, producer) {
        (Some(f), _) => format!(
            "write `for {var} in lines({}) {{ {body} }}`, or `cat {f} | each {{ … it … }}`: \
             flow reads lines as items (the line is `it`)",
            rhai_literal(f)
        ),
        (None, Some(p)) if !p.is_empty() => {
            format!("write `{p} | each {{ … it … }}`: flow reads lines as items (the line is `it`)")
        }
        _ => "flow reads lines as items: `cat FILE | each { … it … }` (the line is `it`), or \
              `for line in lines(\"FILE\") { … }`"
            .into(),
    }
}

/// `$(…)`, `$((…))` or a back-tick command where the parser stopped.
pub(super) fn at(src: &str, pos: usize) -> Option<Foreign> {
    let rest = &src[pos..];
    if rest.starts_with('(') && src[..pos].ends_with('$') {
        let (len, message, help) = substitution(rest);
        return Some(Foreign::new(Span::new(pos - 1, pos + len), message, help));
    }
    let cmd = rest.strip_prefix('`')?;
    let close = cmd.find('`').filter(|&c| !cmd[..c].contains('\n'))?;
    Some(Foreign::new(
        Span::new(pos, pos + close + 2),
        "a back-tick command is shell command substitution, not flow",
        substitution_help(cmd[..close].trim()),
    ))
}

/// `(…)` after a `$`: its length (to its `)`), what it is and the fix.
fn substitution(after: &str) -> (usize, String, String) {
    let Some(close) = closing(after, 0) else {
        return (
            1,
            "`$(…)` is shell command substitution, not flow".into(),
            substitution_help("cmd"),
        );
    };
    if after.starts_with("((") && closing(after, 1) == Some(close - 1) {
        let expr = after[2..close - 1].trim().replace('$', "");
        return (
            close + 1,
            "`$((…))` is shell arithmetic, not flow".into(),
            format!("write `${{{expr}}}`: flow interpolates a Rhai expression"),
        );
    }
    (
        close + 1,
        "`$(…)` is shell command substitution, not flow".into(),
        substitution_help(after[1..close].trim()),
    )
}

fn substitution_help(cmd: &str) -> String {
    format!("bind the command's output first, `let out = ^{cmd}`, then write `${{out}}`")
}

/// A `$` that starts no flow interpolation, followed by `after`: the shell's `$1`, `$@`,
/// `$#`, `$?`, `$(…)` or `$((…))`? Its length after the `$`, what it is, and the fix.
pub fn dollar(after: &str) -> Option<(usize, String, String)> {
    let literal = |what: &str| format!(" (for a literal `$`, write `\\${what}`)");
    let c = after.chars().next()?;
    Some(match c {
        '(' => substitution(after),
        '1'..='9' => (
            1,
            format!("`${c}` is the shell's argument {c}: flow would pass the text `${c}`"),
            format!(
                "write `${{args[{}]}}`: flow's arguments are the array `args`{}",
                u32::from(c) - u32::from('1'),
                literal(&c.to_string())
            ),
        ),
        '0' => (
            1,
            "`$0` is the shell's script name: flow would pass the text `$0`".into(),
            format!("flow's arguments are the array `args`{}", literal("0")),
        ),
        '@' | '*' => (
            1,
            format!("`${c}` is the shell's argument list: flow would pass the text `${c}`"),
            format!(
                "write `${{args}}`: flow's arguments are the array `args`, and as a whole word \
                 it passes one argument each{}",
                literal(&c.to_string())
            ),
        ),
        '#' => (
            1,
            "`$#` is the shell's argument count: flow would pass the text `$#`".into(),
            format!("write `${{args.len()}}`{}", literal("#")),
        ),
        '?' => (
            1,
            "`$?` is the shell's last exit status: flow would pass the text `$?`".into(),
            format!(
                "a failing command stops the script; to branch on one, `if ^cmd {{ … }} else \
                 {{ … }}`, or catch it: `try {{ cmd }} catch e {{ print(e.exit) }}`{}",
                literal("?")
            ),
        ),
        _ => return None,
    })
}

/// Programs that read `$…` in their arguments themselves (shells, awk, perl, jq, ssh…): a
/// command naming one of them may pass `"$1"` or `"$(date)"` on to it.
pub fn interprets_dollar<'a>(mut words: impl Iterator<Item = &'a str>) -> bool {
    const INTERPRETERS: &[&str] = &[
        "sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "fish", "csh", "tcsh", "busybox", "awk",
        "gawk", "mawk", "nawk", "perl", "ruby", "php", "jq", "ssh", "su", "watch", "parallel",
        "make", "expect", "tclsh", "tmux",
    ];
    words.any(|w| INTERPRETERS.contains(&w.rsplit('/').next().unwrap_or(w)))
}

/// The help for `$NAME` naming no script variable when NAME is an environment variable
/// (set here, or written in capitals as environment variables are).
pub fn env_variable(name: &str) -> Option<String> {
    let caps = name.len() > 1
        && name.chars().any(|c| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    (caps || std::env::var_os(name).is_some()).then(|| {
        format!(
            "write `${{env(\"{name}\")}}`: `${name}` is an environment variable, and flow's \
             `$name` reads script variables"
        )
    })
}

/// `name=world` as a statement of its own: a shell assignment. `(message, help)`.
pub fn assignment(text: &str) -> Option<(String, String)> {
    let (name, value) = text.split_once('=')?;
    if ident(name) != name || name.is_empty() || value.contains(char::is_whitespace) {
        return None;
    }
    Some((
        format!("`{name}={value}` is a shell assignment, not flow"),
        format!(
            "write `let {name} = {}`: flow declares variables with `let` (an environment \
             variable for one command is written before it: `{name}={value} cmd`)",
            rhai_literal(value)
        ),
    ))
}
