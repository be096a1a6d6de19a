//! Rhai syntax, checked before anything runs: every `fn`, block and expression of the script
//! is compiled once by a bare Rhai engine (≈2 µs each), so a typo in a stage's block is a
//! check error, not a failure after the first stages have already run. A text that compiled
//! without a finding is not compiled again, nor one of the same shape (`check::rhai_key`:
//! scripts repeat `{ it * 2 }` and `1..=n`, and shapes such as `{ f1(it) }`, `{ f5(it) }`).

use super::{CheckError, CheckErrorKind};
use crate::ast::{
    Amount, Ast, Callable, Command, LetValue, Pipeline, PoolSize, PoolWork, Redirect, Rhai, Sink,
    SpawnBody, StageKind, Stmt, StmtKind, Word, WordPart,
};
use crate::Span;
use std::collections::HashSet;

/// Compile every Rhai snippet of `ast`; one error per snippet that does not parse, and one
/// per call of a host function (`host_fns`: name and arity) with an undeclared arity.
pub(crate) fn check(ast: &Ast, host_fns: &[(String, usize)]) -> Vec<CheckError> {
    let mut engine = rhai::Engine::new_raw();
    engine.set_optimization_level(rhai::OptimizationLevel::None);
    let mut own = vec![];
    script_fns(&ast.stmts, &mut own);
    let mut w = Walker {
        engine,
        errors: vec![],
        host: super::host_calls::HostFns::new(host_fns, &own),
        clean: HashSet::default(),
        key: vec![],
        exact: HashSet::default(),
    };
    w.stmts(&ast.stmts);
    w.errors
}

struct Walker<'a> {
    engine: rhai::Engine,
    errors: Vec<CheckError>,
    host: super::host_calls::HostFns,
    /// Keys of texts (as given to Rhai) that compiled and had no host-call finding: what
    /// they, or a text of the same key, would report anywhere in the script is nothing, since
    /// neither depends on where the text stands. With host functions declared a finding
    /// depends on names, and the key is the text itself.
    clean: HashSet<Vec<u8>, super::quick_hash::QuickHash>,
    /// The current text's key (one buffer for all).
    key: Vec<u8>,
    /// Texts (as written) that compiled and had no finding: found again, they need no key.
    exact: HashSet<&'a str, super::quick_hash::QuickHash>,
}

/// The names of the script's own `fn`s.
fn script_fns<'a>(stmts: &'a [Stmt], out: &mut Vec<&'a str>) {
    for s in stmts {
        match &s.kind {
            StmtKind::Fn { name, .. } => out.push(&name.name),
            StmtKind::If {
                then, otherwise, ..
            } => {
                script_fns(then, out);
                script_fns(otherwise.as_deref().unwrap_or(&[]), out);
            }
            StmtKind::For { body, .. } | StmtKind::OnInterrupt { body, .. } => {
                script_fns(body, out);
            }
            StmtKind::Spawn(sp)
            | StmtKind::Let {
                value: LetValue::Spawn(sp),
                ..
            } => {
                if let SpawnBody::Block(b) = &sp.body {
                    script_fns(b, out);
                }
            }
            _ => {}
        }
    }
}

impl<'a> Walker<'a> {
    fn rhai(&mut self, r: &'a Rhai) {
        // Single-quoted strings are rewritten as at run time (`script::quotes`).
        if is_small_integer(&r.code) || self.exact.contains(r.code.as_str()) {
            return;
        }
        let text = crate::script::quotes::rewrite(&r.code);
        if self.host.is_empty() {
            super::rhai_key::key(&text.text, &mut self.key);
        } else {
            super::rhai_key::verbatim(&text.text, &mut self.key);
        }
        if self.clean.contains(&self.key) {
            return;
        }
        match self.engine.compile(&*text.text) {
            Ok(ast) => {
                let offset = |p| snippet_offset(&r.code, text.original(p));
                let before = self.errors.len();
                self.host
                    .check(&ast, r.span.start, &offset, &mut self.errors);
                if self.errors.len() == before {
                    self.clean.insert(self.key.clone());
                    self.exact.insert(&r.code);
                }
            }
            Err(e) => {
                let at = snippet_offset(&r.code, text.original(e.position()))
                    .map_or(r.span.start, |o| r.span.start + o);
                self.syntax_error(r, at, &e);
            }
        }
    }

    fn syntax_error(&mut self, r: &Rhai, at: usize, e: &rhai::ParseError) {
        let end = (at + 1).min(r.span.end.max(at + 1));
        let message = e.err_type().to_string();
        // `print(join h)`, `xs.push(spawn { … })`: a flow statement inside Rhai.
        if let Some((word, off)) = flow_statement_in(&r.code) {
            let start = r.span.start + off;
            self.errors.push(CheckError::trap(
                Span::new(start, start + word.len()),
                "flow::check::statement_in_expression",
                format!("`{word}` is a flow statement: it cannot be part of a Rhai expression"),
                format!(
                    "give its result a name first — `let r = {word} …` — then use the name \
                     (`print(r)`, `hs.push(r)`)"
                ),
                false,
            ));
            return;
        }
        // `$(…)`, `make(chan …)`, `lambda x: …`, `[ -f x ]`: another language's spelling.
        if let Some(f) = crate::syntax::foreign::in_rhai(&r.code, r.span.start) {
            let message = format!("Rhai syntax error: {}", f.message);
            let code = "flow::check::rhai_syntax";
            self.errors
                .push(CheckError::trap(f.span, code, message, f.help, false));
            return;
        }
        let hint = crate::script::python::syntax_hint(&r.code);
        self.errors.push(CheckError::new(
            Span::new(at, end),
            CheckErrorKind::RhaiSyntax { message, hint },
        ));
    }

    fn callable(&mut self, c: &'a Callable) {
        if let Callable::Block(r) = c {
            self.rhai(r);
        }
    }

    fn amount(&mut self, a: &'a Amount) {
        if let Amount::Expr(r) = a {
            self.rhai(r);
        }
    }

    fn word(&mut self, w: &'a Word) {
        self.parts(&w.parts);
    }

    fn parts(&mut self, parts: &'a [WordPart]) {
        for p in parts {
            match p {
                WordPart::Expr(r) => self.rhai(r),
                WordPart::Interp(inner) => self.parts(inner),
                _ => {}
            }
        }
    }

    fn redirects(&mut self, rs: &'a [Redirect]) {
        for r in rs {
            if let Some(t) = &r.target {
                self.word(t);
            }
        }
    }

    fn command(&mut self, c: &'a Command) {
        for (_, w) in &c.env {
            self.word(w);
        }
        self.word(&c.program);
        for a in &c.args {
            self.word(a);
        }
        self.redirects(&c.redirects);
    }

    fn pipeline(&mut self, p: &'a Pipeline) {
        if let Some(s) = &p.source {
            self.rhai(&s.expr);
        }
        for st in &p.stages {
            match &st.kind {
                StageKind::Command(c) => self.command(c),
                StageKind::Map(c)
                | StageKind::Filter(c)
                | StageKind::FlatMap(c)
                | StageKind::Each(c) => {
                    self.callable(c);
                }
                StageKind::Sort(Some(c)) | StageKind::Sink(Sink::CountBy(c)) => self.callable(c),
                StageKind::Take(a) | StageKind::Skip(a) | StageKind::Batch(a) => self.amount(a),
                StageKind::Sink(Sink::Reduce { init, f }) => {
                    self.rhai(init);
                    self.callable(f);
                }
                StageKind::Pool(pool) => {
                    if let PoolSize::Expr(r) = &pool.size {
                        self.rhai(r);
                    }
                    match &pool.work {
                        PoolWork::Map(c) => self.callable(c),
                        PoolWork::Exec(c) => self.command(c),
                        PoolWork::ExecBlock { stmts, .. } => self.stmts(stmts),
                    }
                    for a in [&pool.opts.chunk, &pool.opts.retries].into_iter().flatten() {
                        self.amount(a);
                    }
                    if let Some(w) = &pool.opts.log {
                        self.word(w);
                    }
                }
                _ => {}
            }
        }
        self.redirects(&p.redirects);
    }

    fn stmts(&mut self, stmts: &'a [Stmt]) {
        for s in stmts {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &'a Stmt) {
        match &s.kind {
            StmtKind::Fn { code, .. } => self.rhai(code),
            StmtKind::Let { value, .. } => match value {
                LetValue::Expr(r) => self.rhai(r),
                LetValue::Pipeline(p) => self.pipeline(p),
                LetValue::Spawn(sp) => self.spawn_body(&sp.body),
                LetValue::Join(_) => {}
            },
            StmtKind::Assign { expr, .. } => self.rhai(expr),
            StmtKind::Rhai(r) => self.rhai(r),
            StmtKind::Spawn(sp) => self.spawn_body(&sp.body),
            StmtKind::OnInterrupt { body, .. } => self.stmts(body),
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                self.rhai(cond);
                self.stmts(then);
                if let Some(o) = otherwise {
                    self.stmts(o);
                }
            }
            StmtKind::For { iter, body, .. } => {
                self.rhai(iter);
                self.stmts(body);
            }
            StmtKind::Pipeline(p) => self.pipeline(p),
            StmtKind::Throw(r) => self.rhai(r),
            StmtKind::IfCommand { command, .. } => {
                self.pipeline(command);
                s.kind.nested().into_iter().for_each(|b| self.stmts(b));
            }
            StmtKind::Try { .. } => s.kind.nested().into_iter().for_each(|b| self.stmts(b)),
            StmtKind::Select { arms, .. } => {
                for a in arms {
                    self.rhai(&a.chan);
                }
                s.kind.nested().into_iter().for_each(|b| self.stmts(b));
            }
            StmtKind::Join(_) | StmtKind::Cancel(_) => {}
        }
    }

    fn spawn_body(&mut self, b: &'a SpawnBody) {
        match b {
            SpawnBody::Block(stmts) => self.stmts(stmts),
            SpawnBody::Pipeline(p) => self.pipeline(p),
        }
    }
}

/// `0`, `42`: a decimal literal Rhai takes as it is (no sign, no leading zero, fits an
/// `i64`), with no call in it: compiling it could find nothing.
fn is_small_integer(code: &str) -> bool {
    let b = code.as_bytes();
    (1..=18).contains(&b.len())
        && b.iter().all(u8::is_ascii_digit)
        && (b[0] != b'0' || b.len() == 1)
}

/// Byte offset within `code` of a Rhai position (1-based line and column).
pub(super) fn snippet_offset(code: &str, pos: rhai::Position) -> Option<usize> {
    let (line, col) = (pos.line()?, pos.position().unwrap_or(1));
    crate::script::position::offset(code, line, col)
}

/// `join h`, `spawn {`, `cancel h` inside Rhai text (outside strings): the word and where.
fn flow_statement_in(code: &str) -> Option<(&'static str, usize)> {
    let b = code.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if let Some(q) = quote {
            if c == b'\\' {
                i += 1;
            } else if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        if matches!(c, b'"' | b'`' | b'\'') {
            quote = Some(c);
            i += 1;
            continue;
        }
        let boundary =
            i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] == b'.');
        // `c` is ASCII here only at a character boundary (UTF-8 continuation bytes are not).
        if boundary && c.is_ascii_alphabetic() {
            for w in ["join", "spawn", "cancel"] {
                let rest = &code[i..];
                if let Some(after) = rest.strip_prefix(w) {
                    let gap = after.starts_with([' ', '\t']);
                    let next = after.trim_start().chars().next();
                    if gap && next.is_some_and(|ch| ch.is_alphabetic() || ch == '_' || ch == '{') {
                        return Some((w, i));
                    }
                }
            }
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(src: &str) -> Vec<CheckError> {
        check(&crate::parse(src).expect("parses"), &[])
    }

    fn host_errors(src: &str) -> Vec<CheckError> {
        let host = [
            ("triple".to_string(), 1),
            ("pair".into(), 0),
            ("pair".into(), 2),
        ];
        check(&crate::parse(src).expect("parses"), &host)
    }

    #[test]
    fn calls_of_host_functions_are_checked_against_their_declared_arities() {
        let src = "let a = triple(1, 2)\nfrom [1] | map { it.triple() + pair() + pair(1, it) }\nfn f(x) { triple() }\n";
        let e = host_errors(src);
        let spans: Vec<&str> = e.iter().map(|e| &src[e.span.start..e.span.end]).collect();
        assert_eq!(spans, ["triple", "triple"], "{e:?}");
        assert_eq!(e[0].span.start, src.find("triple").unwrap());
        assert_eq!(
            e[0].to_string(),
            "`triple` is called with 2 arguments, but it takes 1 argument"
        );
        assert_eq!(e[1].span.start, src.rfind("triple").unwrap());
    }

    #[test]
    fn a_script_fn_of_the_same_name_overloads_the_host_function() {
        assert!(host_errors("fn triple(a, b) { a }\nlet a = triple(1, 2)\n").is_empty());
    }

    #[test]
    fn a_typo_in_a_block_is_found_before_running() {
        let src = "from [1] | map { it * }\n";
        let e = errors(src);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].span.start >= src.find('{').unwrap());
    }

    #[test]
    fn valid_rhai_everywhere_passes() {
        let src = "fn f(x) { x * 2 }\nlet n = 3 + 4\nif n > 2 { echo ${n + 1} }\nfrom 1..=n | map f | reduce 0 { acc + it }\n";
        assert!(errors(src).is_empty());
    }

    #[test]
    fn flow_statements_inside_rhai_are_found_outside_strings() {
        assert_eq!(flow_statement_in("print(join h)"), Some(("join", 6)));
        assert_eq!(
            flow_statement_in("xs.push(spawn { 1 })"),
            Some(("spawn", 8))
        );
        assert_eq!(flow_statement_in("print(\"join h\")"), None);
        assert_eq!(flow_statement_in("xs.join(\",\")"), None);
        assert_eq!(flow_statement_in("é join x"), Some(("join", 3)));
        assert_eq!(flow_statement_in("joined + 1"), None);
    }

    #[test]
    fn single_quoted_strings_are_strings_and_errors_after_them_are_placed() {
        assert!(errors("from [\"abc\"] | filter { it == 'abc' || it == 'x' }\n").is_empty());
        let src = "from [1] | map { it + 'a\"`b' + }\n";
        let e = errors(src);
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].span.start, src.rfind('}').unwrap());
    }

    #[test]
    fn only_plain_decimal_literals_skip_the_compiler() {
        assert!(
            is_small_integer("0")
                && is_small_integer("42")
                && is_small_integer("123456789012345678")
        );
        for not in [
            "",
            "07",
            "-1",
            "1_000",
            "1e3",
            "0x10",
            "1234567890123456789",
            " 1",
            "1 ",
        ] {
            assert!(!is_small_integer(not), "{not}");
        }
    }

    #[test]
    fn a_repeated_text_is_reported_at_each_place() {
        let src = "from [1] | map { it * }\nfrom [1] | map { it * }\nlet a = triple(1, 2)\nlet b = triple(1, 2)\nfrom [1] | map { it * 2 } | map { it * 2 }\n";
        let e = host_errors(src);
        let starts: Vec<usize> = e.iter().map(|e| e.span.start).collect();
        let braces: Vec<usize> = src.match_indices("it * }").map(|(i, _)| i).collect();
        let calls: Vec<usize> = src.match_indices("triple").map(|(i, _)| i).collect();
        assert_eq!(e.len(), 4, "{e:?}");
        assert!(starts[0] >= braces[0] && starts[0] < braces[1], "{e:?}");
        assert!(starts[1] >= braces[1] && starts[1] < calls[0], "{e:?}");
        assert_eq!(starts[2..], calls[..], "{e:?}");
    }

    #[test]
    fn a_text_of_a_clean_shape_is_still_checked_where_names_or_keys_repeat() {
        // Each pair: the first compiles, the second (renamed digits) must still fail.
        for (clean, bad) in [
            ("fn f1(a1, b1) { a1 }", "fn f2(a1, a1) { a1 }"),
            (
                "fn f1() { 1 }\nfn f2() { 2 }",
                "fn f3() { 1 }\nfn f3() { 2 }",
            ),
            (
                "let m = #{a1: 1, \"b1\": 2};",
                "let m = #{a1: 1, \"a1\": 2};",
            ),
            (
                "switch it { 1..0 => 1, 2 => 2 }",
                "switch it { 0..1 => 1, 2 => 2 }",
            ),
        ] {
            let src = format!("from [1] | each {{ {clean} }}\nfrom [1] | each {{ {bad} }}\n");
            let e = errors(&src);
            assert_eq!(e.len(), 1, "{src}: {e:?}");
            assert!(e[0].span.start > src.find('\n').unwrap(), "{src}: {e:?}");
        }
    }

    #[test]
    fn errors_in_fns_and_nested_blocks_are_all_reported() {
        let e = errors("fn f(x) { x + }\nlet t = spawn { from [1] | filter { it > } }\n");
        assert_eq!(e.len(), 2, "{e:?}");
    }
}
