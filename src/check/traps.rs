//! The classic traps, caught before anything runs with the fix in the help: a command on
//! the right of `let` without `^`, a `fn` body naming a script variable, an item-stage block
//! assigning a script variable, and `$map.key` in a command word.

use super::rhai_names::words;
use super::{CheckError, CheckErrorKind};
use crate::ast::{
    Callable, LetValue, Pipeline, PoolWork, Sink, SpawnBody, StageKind, Stmt, StmtKind, WordPart,
};
use crate::Span;
use std::collections::{HashMap, HashSet};

/// Add the traps found in `stmts` to `errors` / `warnings`; a Rhai syntax error that a trap
/// explains (`let out = ls data`) is replaced by the trap, and so are unknown names that a
/// warning explains (`let out = ls -l`, Rhai's `ls - l`, where neither is a variable): the
/// warning is then an error.
pub(crate) fn check(
    stmts: &[Stmt],
    src: &str,
    errors: &mut Vec<CheckError>,
    warnings: &mut Vec<CheckError>,
) {
    let mut t = Traps {
        vars: HashMap::default(),
        found: vec![],
        src,
        fns: vec![],
        top: stmts,
    };
    t.fn_spans(stmts);
    t.collect(stmts);
    t.stmts(stmts);
    for mut e in t.found {
        if let CheckErrorKind::Trap { warning, .. } = &mut e.kind {
            let unknown = |x: &CheckError| {
                matches!(x.kind, CheckErrorKind::UnknownName { .. }) && inside(x.span, e.span)
            };
            if *warning && errors.iter().any(unknown) {
                *warning = false;
                let span = e.span;
                errors.retain(|x| {
                    !(matches!(x.kind, CheckErrorKind::UnknownName { .. }) && inside(x.span, span))
                });
            }
        }
        if let CheckErrorKind::Trap { warning: false, .. } = e.kind {
            errors.retain(|x| {
                let rhai = matches!(
                    x.kind,
                    CheckErrorKind::RhaiSyntax { .. }
                        | CheckErrorKind::Trap {
                            code: "flow::check::rhai_syntax",
                            ..
                        }
                );
                !(rhai && inside(x.span, e.span))
            });
            errors.push(e);
        } else {
            warnings.push(e);
        }
    }
}

fn inside(a: Span, b: Span) -> bool {
    a.start >= b.start && a.end <= b.end
}

struct Traps<'a> {
    /// Script variables (from `let` and `for`) and whether a `let` bound a map literal.
    vars: HashMap<&'a str, bool, super::quick_hash::QuickHash>,
    found: Vec<CheckError>,
    /// The script's text, to find where a variable is read.
    src: &'a str,
    /// Where the script's `fn`s are: their names are their own, never the script's.
    fns: Vec<Span>,
    /// The script's statements.
    top: &'a [Stmt],
}

impl<'a> Traps<'a> {
    fn fn_spans(&mut self, stmts: &[Stmt]) {
        for s in stmts {
            match &s.kind {
                StmtKind::Fn { .. } => self.fns.push(s.span),
                StmtKind::For { body, .. } | StmtKind::OnInterrupt { body, .. } => {
                    self.fn_spans(body);
                }
                StmtKind::If {
                    then, otherwise, ..
                } => {
                    self.fn_spans(then);
                    self.fn_spans(otherwise.as_deref().unwrap_or(&[]));
                }
                _ => {}
            }
        }
    }

    /// Where the script reads `name` after `from` (outside `fn`s), up to a `let` that
    /// declares it anew: as a Rhai name, or `$name` / `${name…}` in a string or word.
    fn read_after(&self, from: usize, name: &str) -> Option<Span> {
        let rest = self.src.get(from..)?;
        let in_fn = |at: usize| self.fns.iter().any(|f| at >= f.start && at < f.end);
        let redeclared = words(rest)
            .windows(2)
            .find(|w| matches!(w[0].1, "let" | "const") && w[1].1 == name)
            .map_or(rest.len(), |w| w[0].0);
        let rest = &rest[..redeclared];
        let as_name = words(rest).into_iter().find(|(at, w)| {
            *w == name
                && !in_fn(from + at)
                && !rest[..*at].trim_end().ends_with('.')
                && !rest[at + w.len()..].trim_start().starts_with(':')
        });
        let interpolated = rest.match_indices('$').find_map(|(at, _)| {
            let after = rest[at + 1..].strip_prefix('{').unwrap_or(&rest[at + 1..]);
            let word_end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            let begins = rest.len() - after.len();
            (&after[..word_end] == name && !in_fn(from + at)).then_some(begins)
        });
        let at = match (as_name.map(|(a, _)| a), interpolated) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        Some(Span::new(from + at, from + at + name.len()))
    }

    fn collect(&mut self, stmts: &'a [Stmt]) {
        for s in stmts {
            match &s.kind {
                StmtKind::Let { name, value } => {
                    let map =
                        matches!(value, LetValue::Expr(r) if r.code.trim_start().starts_with("#{"));
                    self.vars.insert(&name.name, map);
                    if let LetValue::Spawn(sp) = value {
                        if let SpawnBody::Block(b) = &sp.body {
                            self.collect(b);
                        }
                    }
                }
                StmtKind::For { var, body, .. } => {
                    self.vars.entry(&var.name).or_insert(false);
                    self.collect(body);
                }
                StmtKind::If {
                    then, otherwise, ..
                } => {
                    self.collect(then);
                    if let Some(o) = otherwise {
                        self.collect(o);
                    }
                }
                StmtKind::OnInterrupt { body, .. } => self.collect(body),
                StmtKind::Spawn(sp) => {
                    if let SpawnBody::Block(b) = &sp.body {
                        self.collect(b);
                    }
                }
                _ => {}
            }
        }
    }

    fn stmts(&mut self, stmts: &[Stmt]) {
        for s in stmts {
            match &s.kind {
                StmtKind::Let { name, value } => match value {
                    LetValue::Expr(r) => self.let_command(&name.name, r),
                    LetValue::Pipeline(p) => self.pipeline(p),
                    LetValue::Spawn(sp) => self.spawn_body(&sp.body),
                    LetValue::Join(_) => {}
                },
                StmtKind::Fn { name, params, code } => self.fn_body(&name.name, params, code),
                StmtKind::For { body, .. } | StmtKind::OnInterrupt { body, .. } => self.stmts(body),
                StmtKind::If {
                    then, otherwise, ..
                } => {
                    self.stmts(then);
                    if let Some(o) = otherwise {
                        self.stmts(o);
                    }
                }
                StmtKind::Spawn(sp) => self.spawn_body(&sp.body),
                StmtKind::Pipeline(p) => self.pipeline(p),
                _ => {}
            }
        }
    }

    fn spawn_body(&mut self, b: &SpawnBody) {
        match b {
            SpawnBody::Block(b) => self.stmts(b),
            SpawnBody::Pipeline(p) => self.pipeline(p),
        }
    }

    /// `let out = ls data`: a word, a space and more, which Rhai cannot take.
    fn let_command(&mut self, name: &str, r: &crate::ast::Rhai) {
        let code = r.code.trim();
        // `let n = $(wc -l < f)`, `let r = await task`: bash's and Python's spellings.
        if let Some((message, help)) = crate::syntax::foreign::let_value(name, code) {
            let code = "flow::check::let_command";
            self.found
                .push(CheckError::trap(r.span, code, message, help, false));
            return;
        }
        let Some((first, rest)) = code.split_once([' ', '\t']) else {
            return;
        };
        let word = |c: char| c.is_ascii_alphanumeric() || "_-./".contains(c);
        let rest = rest.trim_start();
        let arg_like =
            rest.starts_with(|c: char| c.is_ascii_alphanumeric() || "-./~\"'$".contains(c));
        // Rhai's own statement words begin Rhai, never a command.
        const RHAI_WORDS: &[&str] = &[
            "let", "const", "if", "else", "switch", "while", "loop", "do", "for", "in", "return",
            "throw", "try", "catch", "fn", "import", "export", "true", "false", "break",
            "continue", "private", "global", "this",
        ];
        if first.is_empty()
            || !first.chars().all(word)
            || RHAI_WORDS.contains(&first)
            || self.vars.contains_key(first)
            || !arg_like
        {
            return;
        }
        // Certain when Rhai cannot take it either (that error is replaced by this one);
        // `ls -l` is also Rhai (`ls - l`), so only a warning.
        let warning = rhai::Engine::new_raw().compile_expression(code).is_ok();
        if warning && (!rest.starts_with('-') || rest.starts_with("- ")) {
            return;
        }
        self.found.push(CheckError::trap(
            r.span,
            "flow::check::let_command",
            format!("`{first} …` on the right of `let` is read as a Rhai expression"),
            format!("to bind a command's output, write `let {name} = ^{code}`"),
            warning,
        ));
    }

    /// A `fn` body naming a script variable: Rhai functions do not see them.
    fn fn_body(&mut self, fname: &str, params: &[crate::ast::Ident], code: &crate::ast::Rhai) {
        let body_at = code.code.find('{').unwrap_or(0);
        let body = &code.code[body_at..];
        let param_list: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
        let params = param_list.iter().copied().collect();
        // Looked for only when there is something to report: a walk of the whole script.
        let mut used = None;
        for (at, w) in outer_names(body, params, |w| self.vars.contains_key(w)) {
            let used = *used.get_or_insert_with(|| callable_use(self.top, fname));
            let start = code.span.start + body_at + at;
            let with = param_list
                .iter()
                .copied()
                .chain([w])
                .collect::<Vec<_>>()
                .join(", ");
            // A stage that names the `fn` calls it with the item only: the fix is a block
            // that passes the variable too (an arity error otherwise).
            let help = match used {
                Some((stage, name, reduce)) => {
                    let head = self.src[stage.start..name.start].trim_end();
                    let args = if reduce { "acc, it" } else { "it" };
                    format!(
                        "pass it as a parameter, `fn {fname}({with})`, and call it from a block \
                         that passes it: `{head} {{ {fname}({args}, {w}) }}`"
                    )
                }
                None => {
                    format!("pass it as a parameter: `fn {fname}({with})` and call it with `{w}`")
                }
            };
            self.found.push(CheckError::trap(
                Span::new(start, start + w.len()),
                "flow::check::fn_script_variable",
                format!("the body of `fn {fname}` names the script variable `{w}`, which a `fn` cannot see"),
                help,
                false,
            ));
        }
    }

    fn pipeline(&mut self, p: &Pipeline) {
        self.nextflow_view(p);
        for st in &p.stages {
            let (c, stage) = match &st.kind {
                StageKind::Map(c) => (c, "map"),
                StageKind::Filter(c) => (c, "filter"),
                StageKind::FlatMap(c) => (c, "flat_map"),
                StageKind::Each(c) => (c, "each"),
                StageKind::Sort(Some(c)) => (c, "sort by"),
                StageKind::Sink(Sink::Reduce { f, .. }) => (f, "reduce"),
                StageKind::Sink(Sink::CountBy(f)) => (f, "count_by"),
                StageKind::Pool(pool) => match &pool.work {
                    PoolWork::Map(c) => (c, "pool map"),
                    PoolWork::Exec(cmd) => {
                        self.words(cmd.args.iter().flat_map(|w| &w.parts));
                        self.job_ignores_item(cmd, pool.opts.chunk.is_some());
                        continue;
                    }
                    PoolWork::ExecBlock { stmts, .. } => {
                        self.stmts(stmts);
                        continue;
                    }
                },
                StageKind::Command(cmd) => {
                    self.words(cmd.args.iter().flat_map(|w| &w.parts));
                    continue;
                }
                StageKind::Lines(Some(sep)) => {
                    self.raw_separator(sep, st.span);
                    continue;
                }
                _ => continue,
            };
            if let Callable::Block(r) = c {
                self.stage_assign(stage, r, p.span.end);
            }
        }
    }

    /// `lines '\0'`: single quotes are raw, so the separator is a backslash and a `0`,
    /// which no input holds: nothing would be split.
    fn raw_separator(&mut self, sep: &str, span: Span) {
        let escape = ['0', 'n', 't', 'r']
            .into_iter()
            .find(|c| sep.contains(&format!("\\{c}")));
        let Some(c) = escape else {
            return;
        };
        let meant = sep;
        self.found.push(CheckError::trap(
            span,
            "flow::check::raw_separator",
            format!("the separator `{meant}` is a backslash and `{c}`: single-quoted text is raw"),
            format!("for the escape, write it in double quotes: `lines \"{meant}\"`"),
            false,
        ));
    }

    /// `… | map { … } | view`: Nextflow's `view` prints the items; here `view` is vim,
    /// which would get the items on its stdin and draw its screen on flow's stdout.
    fn nextflow_view(&mut self, p: &Pipeline) {
        let Some((last, before)) = p.stages.split_last() else {
            return;
        };
        let StageKind::Command(cmd) = &last.kind else {
            return;
        };
        let items_before = p.source.is_some()
            || before
                .iter()
                .any(|s| !matches!(s.kind, StageKind::Command(_)));
        if cmd.caret || !items_before || cmd.program.literal().as_deref() != Some("view") {
            return;
        }
        self.found.push(CheckError::trap(
            cmd.program.span,
            "flow::check::view_is_a_program",
            "`view` here is a program (vim's read-only mode), not Nextflow's `view`".into(),
            "the items are printed already when the pipeline ends without a sink: drop \
             `| view` (or write `| each { print(it) }`); to run vim's `view`, write `^view`"
                .into(),
            false,
        ));
    }

    /// `seq 3 | pool exec echo`: a job command that names neither `it`, `seq` nor `slot`
    /// runs the same for every item. GNU parallel and xargs append the item; flow puts it
    /// only where `${it}` is written, so this would silently drop every item.
    fn job_ignores_item(&mut self, cmd: &crate::ast::Command, chunked: bool) {
        let words = std::iter::once(&cmd.program)
            .chain(&cmd.args)
            .chain(cmd.env.iter().map(|(_, w)| w))
            .chain(cmd.redirects.iter().filter_map(|r| r.target.as_ref()));
        let mut uses = false;
        for w in words {
            uses |= parts_name_item(&w.parts);
            // GNU parallel's `{}`, `{.}`, `:::`: the foreign-spelling check names the fix.
            uses |= parallel_placeholder(&w.parts);
        }
        if uses {
            return;
        }
        let (Some(first), Some(last)) = (
            Some(cmd.program.span),
            cmd.args
                .last()
                .map_or(Some(cmd.program.span), |w| Some(w.span)),
        ) else {
            return;
        };
        let text = self.src.get(first.start..last.end).unwrap_or("cmd");
        let each = if chunked {
            "the chunk's items"
        } else {
            "the item"
        };
        let put = if cmd.shell {
            "inside the shell text: `sh \"… ${it} …\"`".to_string()
        } else {
            format!("`exec {text} ${{it}}`")
        };
        self.found.push(CheckError::trap(
            Span::new(first.start, last.end),
            "flow::check::job_ignores_item",
            format!("this job never uses {each}: `{text}` runs the same for every item"),
            format!(
                "write where the item goes, {put} (GNU parallel and xargs append it; flow \
                 passes it only where `${{it}}` is written); to run it once per item without \
                 the item on purpose, make it a job block: `exec {{ {text} }}`"
            ),
            false,
        ));
    }

    /// `each { total += it }` then `print(total)`: the block runs on another thread with a
    /// copy of `total`, so the change is not seen after the stage (nor by a later stage of
    /// the pipeline). Counting inside the stage and using the count there is stage-local
    /// state, as in awk (`map { n += 1; [n, it] }`), except in `pool … map`: one copy per
    /// worker.
    fn stage_assign(&mut self, stage: &str, r: &crate::ast::Rhai, _pipeline_end: usize) {
        // Every assignment operator has a `=`: most blocks have none to look for.
        if !r.code.contains('=') {
            return;
        }
        let toks = words(&r.code);
        let locals: HashSet<&str> = toks
            .windows(2)
            .filter(|w| matches!(w[0].1, "let" | "const" | "for"))
            .map(|w| w[1].1)
            .collect();
        for (at, w) in &toks {
            let after = r.code[at + w.len()..].trim_start();
            let assigns = ["+=", "-=", "*=", "/=", "%="]
                .iter()
                .any(|o| after.starts_with(o))
                || after.starts_with('=') && !after.starts_with("==");
            let before = r.code[..*at].trim_end();
            if !assigns
                || locals.contains(w)
                || !self.vars.contains_key(*w)
                || before.ends_with('.')
            {
                continue;
            }
            let start = r.span.start + at;
            let span = Span::new(start, start + w.len());
            let message = if stage == "pool map" {
                format!("each worker of `pool … map` has its own copy of `{w}`: this assignment is lost")
            } else if let Some(read) = self.read_after(r.span.end, w) {
                let line = self.src[..read.start].matches('\n').count() + 1;
                format!(
                    "`{stage}` changes its own copy of `{w}`; line {line} reads `{w}` unchanged"
                )
            } else {
                continue;
            };
            self.found.push(CheckError::trap(
                span,
                "flow::check::stage_assigns_variable",
                message,
                format!("compute it from the stream instead: `let {w} = … | reduce 0 {{ acc + it }}` (or `sum`, `count`; `seq` numbers a pool's jobs)"),
                false,
            ));
        }
    }

    /// `echo $d.a` where `d` holds a map: `.a` is text after the value, not a field.
    fn words<'w>(&mut self, parts: impl Iterator<Item = &'w WordPart>) {
        let mut previous = None;
        for part in parts {
            let (Some(WordPart::Var(v)), WordPart::Bare(b)) = (previous.replace(part), part) else {
                continue;
            };
            let field: String = b
                .strip_prefix('.')
                .unwrap_or("")
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if field.is_empty() || self.vars.get(v.name.as_str()) != Some(&true) {
                continue;
            }
            self.found.push(CheckError::trap(
                Span::new(v.span.start.saturating_sub(1), v.span.end + 1 + field.len()),
                "flow::check::var_then_field",
                format!("`${}.{field}` is `${}` followed by the text `.{field}`, not the field `{field}`", v.name, v.name),
                format!("write `${{{}.{field}}}`", v.name),
                true,
            ));
        }
    }
}

/// The first stage that names `fname` as its callable (`map f`, `pool 4 map f`): the
/// stage's span, the name's, and whether it is `reduce` (which passes `acc, it`).
fn callable_use(stmts: &[Stmt], fname: &str) -> Option<(Span, Span, bool)> {
    let in_pipeline = |p: &Pipeline| {
        p.stages.iter().find_map(|st| {
            let (c, reduce) = match &st.kind {
                StageKind::Map(c)
                | StageKind::Filter(c)
                | StageKind::FlatMap(c)
                | StageKind::Each(c)
                | StageKind::Sort(Some(c))
                | StageKind::Sink(Sink::CountBy(c)) => (c, false),
                StageKind::Sink(Sink::Reduce { f, .. }) => (f, true),
                StageKind::Pool(pool) => match &pool.work {
                    PoolWork::Map(c) => (c, false),
                    PoolWork::ExecBlock { stmts, .. } => {
                        return callable_use(stmts, fname);
                    }
                    PoolWork::Exec(_) => return None,
                },
                _ => return None,
            };
            match c {
                Callable::Fn(n) if n.name == fname => Some((st.span, n.span, reduce)),
                _ => None,
            }
        })
    };
    stmts.iter().find_map(|s| match &s.kind {
        StmtKind::Pipeline(p)
        | StmtKind::Let {
            value: LetValue::Pipeline(p),
            ..
        } => in_pipeline(p),
        StmtKind::Spawn(sp)
        | StmtKind::Let {
            value: LetValue::Spawn(sp),
            ..
        } => match &sp.body {
            SpawnBody::Pipeline(p) => in_pipeline(p),
            SpawnBody::Block(b) => callable_use(b, fname),
        },
        StmtKind::For { body, .. } | StmtKind::OnInterrupt { body, .. } => {
            callable_use(body, fname)
        }
        StmtKind::If {
            then, otherwise, ..
        } => callable_use(then, fname)
            .or_else(|| callable_use(otherwise.as_deref().unwrap_or(&[]), fname)),
        k => k.nested().into_iter().find_map(|b| callable_use(b, fname)),
    })
}

/// The variables from outside that Rhai text `code` reads: the identifiers for which
/// `outer` holds, unless declared in the text itself (`let`, `const`, `for`, a closure's
/// parameters) or in `locals`, or used as a field (`.x`), a call (`x(…)`) or a map key
/// (`x: …`). Each name once, with its offset in `code`. What the `fn` body trap and the
/// `on slurm` job block check look for.
pub(super) fn outer_names<'c>(
    code: &'c str,
    mut locals: HashSet<&'c str>,
    outer: impl Fn(&str) -> bool,
) -> Vec<(usize, &'c str)> {
    let toks = words(code);
    for (i, (at, w)) in toks.iter().enumerate() {
        if matches!(*w, "let" | "const" | "for") {
            if let Some((_, n)) = toks.get(i + 1) {
                locals.insert(n);
            }
        }
        // A closure's parameter: `|a, b| …`
        let after = code[at + w.len()..].trim_start();
        if code[..*at].trim_end().ends_with('|')
            || after.starts_with('|') && !after.starts_with("||")
        {
            locals.insert(w);
        }
    }
    let mut seen = HashSet::new();
    let mut found = vec![];
    for (at, w) in toks {
        let before = code[..at].trim_end();
        let after = code[at + w.len()..].trim_start();
        if locals.contains(w)
            || !outer(w)
            || before.ends_with('.')
            || before.ends_with('|')
            || before.ends_with(',') && after.starts_with('|')
            || after.starts_with('(')
            || after.starts_with(':') && !after.starts_with("::")
            || !seen.insert(w)
        {
            continue;
        }
        found.push((at, w));
    }
    found
}

/// The functions Rhai text `code` calls by name (`f(…)`, not `x.f(…)` nor `fn f(…)`), with
/// their offsets in `code`.
pub(super) fn calls(code: &str) -> Vec<(usize, &str)> {
    let toks = words(code);
    let mut found = vec![];
    for (i, (at, w)) in toks.iter().enumerate() {
        let defines = i > 0 && toks[i - 1].1 == "fn";
        if !defines
            && code[at + w.len()..].trim_start().starts_with('(')
            && !code[..*at].trim_end().ends_with('.')
        {
            found.push((*at, *w));
        }
    }
    found
}

/// The identifiers of Rhai text with their offsets, skipping strings and comments.
/// Whether word parts hold GNU parallel's `{}`, `{.}`, `{/}`, `{#}`, `{%}` or `:::`.
fn parallel_placeholder(parts: &[WordPart]) -> bool {
    parts.iter().any(|p| match p {
        WordPart::Bare(b) | WordPart::Quoted(b) => {
            ["{}", "{.}", "{/}", "{#}", "{%}"]
                .iter()
                .any(|m| b.contains(m))
                || b == ":::"
        }
        WordPart::Interp(inner) => parallel_placeholder(inner),
        WordPart::Var(_) | WordPart::Expr(_) => false,
    })
}

/// Whether word parts name the item: `$it`, `${… it …}`, or `seq` / `slot`.
fn parts_name_item(parts: &[WordPart]) -> bool {
    parts.iter().any(|p| match p {
        WordPart::Var(v) => matches!(v.name.as_str(), "it" | "seq" | "slot" | "attempt"),
        WordPart::Expr(r) => words(&r.code)
            .iter()
            .any(|(_, w)| matches!(*w, "it" | "seq" | "slot" | "attempt")),
        WordPart::Interp(inner) => parts_name_item(inner),
        WordPart::Bare(_) | WordPart::Quoted(_) => false,
    })
}
#[cfg(test)]
mod tests {
    use super::{calls, outer_names};
    use std::collections::HashSet;

    #[test]
    fn calls_are_names_before_a_parenthesis_not_methods_nor_definitions() {
        let got: Vec<&str> = calls("f(1) + x.g(2) + h (3); fn k(a) { a } \"m(\" + n")
            .into_iter()
            .map(|(_, w)| w)
            .collect();
        assert_eq!(got, vec!["f", "h"]);
    }

    #[test]
    fn outer_names_skip_locals_fields_calls_and_keys() {
        let code = "let a = x; [1].map(|p| p + y) + a + x + o.x + x() + #{ x: 1 } + z";
        let outer = |w: &str| ["x", "y", "p", "a", "z"].contains(&w);
        let got = outer_names(code, HashSet::from(["z"]), outer);
        assert_eq!(got, vec![(8, "x"), (27, "y")]);
    }
}
