//! The fast path against the engine itself: same value, or it declines.

use super::*;
use rhai::{Dynamic, Scope};

fn fast(code: &str) -> Option<Fast> {
    compile(code, &Scope::new(), &|_| true)
}

/// The fast path gives Rhai's result, or declines (`None`) where Rhai fails.
fn agree(code: &str, it: Dynamic) {
    let f = fast(code).unwrap_or_else(|| panic!("{code} should be fast"));
    let engine = crate::runtime::builtins::new_engine();
    let mut s = Scope::new();
    s.push("it", it.clone());
    let slow = engine.eval_with_scope::<Dynamic>(&mut s, code);
    match (eval(&f, &it), slow) {
        (Some(f), Ok(r)) => {
            assert_eq!(f.type_name(), r.type_name(), "{code} on {it:?}");
            assert_eq!(f.to_string(), r.to_string(), "{code} on {it:?}");
        }
        (None, Ok(r)) if fell_back_ok(code) => {
            let _ = r; // a fallback is always allowed
        }
        (None, Ok(r)) => panic!("{code} on {it:?}: fast path declined, Rhai gave {r}"),
        (None, Err(_)) => {} // Rhai reports the error
        (Some(f), Err(e)) => panic!("{code} on {it:?}: fast gave {f}, Rhai failed: {e}"),
    }
}

/// Expressions whose fast path declines on some values by design (overflow, /0).
fn fell_back_ok(code: &str) -> bool {
    code.contains('/') || code.contains('%') || code.contains("9223372036854775807")
}

#[test]
fn matches_rhai() {
    for code in [
        "it * 2",
        "it % 3 == 0",
        "it * it + 1",
        "-(it - 4) * 3 / 2",
        "it > 3 && it < 10 || it == 0",
        "!(it == 2)",
        "it / 0",
        "it * 9223372036854775807",
    ] {
        for v in [0_i64, 1, 2, 7, -5, i64::MAX] {
            agree(code, Dynamic::from(v));
        }
    }
    agree("it * 1.5 + 2.0", Dynamic::from(2.0_f64));
    agree("it == \"a\"", Dynamic::from("a"));
}

const LINE: &str = r#"10.1.2.3 - - [10/Oct/2024:13:55:36 +0000] "GET /p/1 HTTP/1.1" 503 2326"#;

#[test]
fn string_methods_match_rhai() {
    let texts = [
        LINE,
        "",
        " ",
        "  padded  ",
        "a b",
        "x,,y",
        "ÄÖ straße ǅ",
        "ABC",
        "abc",
        " 42 ",
        "+7",
        "-3",
        "12x",
        "99999999999999999999",
        "a  b\tc",
    ];
    for code in [
        r#"it.split(" ")[8].parse_int() >= 500"#,
        r#"it.split(" ")[8]"#,
        r#"it.split(" ")[0]"#,
        r#"it.split(" ")[1]"#,
        r#"it.split(",")[1] == """#,
        r#"it.split("  ")[1]"#,
        r#"it.split(" ")[2]"#,
        r#"it.split("ß")[0]"#,
        r#"it.split("a")[1]"#,
        "it.parse_int()",
        "it.parse_int() * 2",
        "it.len()",
        "it.len() > 3",
        "it.trim()",
        "it.trim().len()",
        "it.trim().parse_int()",
        "it.to_upper()",
        "it.to_lower()",
        "it.to_upper().to_lower()",
        r#"it.contains("b")"#,
        r#"it.contains("")"#,
        r#"it.starts_with("10.") && it.ends_with("6")"#,
        r#"it.starts_with(it)"#,
        r#"!it.contains("GET")"#,
        "it.field(1)",
        "it.field(9)",
        "it.field(0)",
        "it.field(-1)",
        "it.field(-2)",
        "it.field(-20)",
        "it.field(20)",
        r#"it.field(2, ",")"#,
        r#"it.field(-1, ",")"#,
        r#"it.field(1, "")"#,
        r#"it.field(9).parse_int() == 503"#,
        r#"it.field(1) == "a""#,
        r#"it.trim() != """#,
        r#""a b c".split(" ")[it.len() - it.len()]"#,
    ] {
        if code.contains("[it") {
            assert!(fast(code).is_none(), "{code}: only a literal index is ours");
            continue;
        }
        for t in texts {
            agree(code, Dynamic::from(t));
        }
        // Not a string: Rhai decides (and fails or converts).
        agree(code, Dynamic::from(5_i64));
    }
}

#[test]
fn an_unchanged_item_is_shared_not_copied() {
    let it = Dynamic::from("abc");
    let f = fast("it.trim()").unwrap();
    assert_eq!(eval(&f, &it).unwrap().to_string(), "abc");
}

#[test]
fn declines_what_it_does_not_know() {
    let scope = Scope::new();
    for code in [
        "it ** 2",
        "it << 1",
        "let x = 1; x",
        "foo(it)",
        "it[0]",
        "unknown_var",
        // Single-quoted strings are rewritten for Rhai (`quotes`): Rhai decides.
        "it == 'abc'",
        "it == `abc`",
        // Other splits, indexes and methods are Rhai's.
        r#"it.split(" ")"#,
        r#"it.split("")[0]"#,
        r#"it.split(" ")[-1]"#,
        r#"it.split(" ")[1][0]"#,
        "it.split(2)[0]",
        "it.trim()[0]",
        "it.len",
        "it.pad(3)",
        "it.contains()",
        "it.parse_int(16)",
        "it..len()",
        "it?.len()",
        "(1..3).len()",
    ] {
        assert!(compile(code, &scope, &|_| true).is_none(), "{code}");
    }
    // A method the script or host defines again is not the built-in one.
    assert!(compile("it.len() > 2", &scope, &|n| n != "len").is_none());
    assert!(compile("it.trim()", &scope, &|n| n != "len").is_some());
}

#[test]
fn leading_fast_lets_and_where_the_rest_starts() {
    let scope = Scope::new();
    let names = |code: &str| {
        let (v, at) = lets(code, &scope, &|_| true);
        let n: Vec<String> = v.into_iter().map(|(n, _)| n).collect();
        (n, code[at..].trim().to_string())
    };
    let (n, rest) = names(r#"let s = it.split(" ")[8]; acc[s] = (acc[s] ?? 0) + 1; acc"#);
    assert_eq!(n, vec!["s"]);
    assert_eq!(rest, "acc[s] = (acc[s] ?? 0) + 1; acc");
    // An expression naming an earlier `let` ends the prefix.
    let (n, rest) = names("let a = it.trim(); let b = a.len(); b");
    assert_eq!(n, vec!["a"]);
    assert_eq!(rest, "let b = a.len(); b");
    // Not ours: no `;`, Rhai's own expressions, `==`, strings with escapes or `;`.
    for code in [
        "let a = it.trim()",
        "let a = foo(it); a",
        "let a == 1; a",
        r#"let a = it.contains("\""); a"#,
        "let it = 1; it",
        "x = 1; let a = it.len(); a",
    ] {
        assert!(names(code).0.is_empty(), "{code}");
    }
    let (n, rest) = names(r#"let a = it.contains(";"); a"#);
    assert_eq!((n, rest.as_str()), (vec!["a".to_string()], "a"));
}

#[test]
fn a_given_away_item_is_changed_in_place_and_a_shared_one_is_copied() {
    let f = fast("it.to_upper()").expect("fast");
    let it = Dynamic::from(new_string("abc déf"));
    // Not ASCII: a new string, as Rhai makes.
    let v = eval_owned(&f, it).expect("fast");
    assert_eq!(v.into_string().unwrap(), "ABC DÉF");
    let s = new_string("abc");
    let at = s.as_ptr();
    let v = eval_owned(&f, Dynamic::from(s)).expect("fast");
    let up = v.into_immutable_string().unwrap();
    assert_eq!((up.as_str(), up.as_ptr()), ("ABC", at));
    // Held elsewhere too: the holder's text is left alone.
    let held = new_string("xyz");
    let v = eval_owned(&f, Dynamic::from(held.clone())).expect("fast");
    assert_eq!(
        (held.as_str(), v.into_string().unwrap().as_str()),
        ("xyz", "XYZ")
    );
    // Not text: given back for Rhai.
    assert!(eval_owned(&f, Dynamic::from(1_i64)).is_err());
}

/// Counts its clones: the fast path must look at a script variable where it is.
#[derive(Debug)]
struct Counted(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Clone for Counted {
    fn clone(&self) -> Self {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Counted(self.0.clone())
    }
}

#[test]
fn a_script_variable_it_declines_is_not_copied() {
    // `hs.push(h)` in a loop copied all of `hs` to find it was no constant: quadratic.
    let clones = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut scope = Scope::new();
    scope.push("hs", Counted(clones.clone()));
    assert!(statement("hs.push(1)", &scope, &|_| true).is_none());
    assert!(statement("print(hs)", &scope, &|_| true).is_none());
    assert!(compile("it + hs", &scope, &|_| true).is_none());
    assert_eq!(clones.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[test]
fn statements_give_rhai_values_or_decline() {
    let mut scope = Scope::new();
    scope.push("x", 5_i64);
    scope.push("s", rhai::ImmutableString::from(" ab "));
    let value = |code: &str| match statement(code, &scope, &|_| true) {
        Some(Statement::Value(e)) => eval_const(&e).map(|v| v.to_string()),
        Some(Statement::Print(_)) => Some("print".into()),
        None => None,
    };
    assert_eq!(value("x * 2 + 1").as_deref(), Some("11"));
    assert_eq!(value("s.trim().to_upper()").as_deref(), Some("AB"));
    assert_eq!(value("print(x)").as_deref(), Some("print"));
    assert_eq!(value("print(x);").as_deref(), Some("print"));
    // `it` is no script variable here; calls and unknown names are Rhai's.
    assert_eq!(value("it + 1"), None);
    assert_eq!(value("f(x)"), None);
    assert_eq!(value("y + 1"), None);
    assert_eq!(value("print(x) + 1"), None);
}

/// Blocks made at random from the subset (`let`s of text, numbers and `split` arrays read
/// as `f[k]`, then a value), on log lines and on odd text: the fast path gives Rhai's value
/// or declines where Rhai fails, item by item.
#[test]
fn generated_blocks_match_rhai() {
    struct Gen {
        rng: fastrand::Rng,
        texts: Vec<String>,
        ints: Vec<String>,
        splits: Vec<String>,
    }
    impl Gen {
        fn text(&mut self, depth: u32) -> String {
            let n = self.rng.u32(0..if depth > 2 { 3 } else { 6 });
            match n {
                0 => "it".into(),
                1 if !self.texts.is_empty() => {
                    self.texts[self.rng.usize(..self.texts.len())].clone()
                }
                2 if !self.splits.is_empty() => {
                    let f = &self.splits[self.rng.usize(..self.splits.len())];
                    format!("{f}[{}]", self.rng.u32(0..10))
                }
                3 => format!("it.split(\" \")[{}]", self.rng.u32(0..10)),
                4 => format!("{}.trim()", self.text(depth + 1)),
                _ => format!("{}.to_upper()", self.text(depth + 1)),
            }
        }
        fn int(&mut self, depth: u32) -> String {
            let n = self.rng.u32(0..if depth > 2 { 3 } else { 7 });
            match n {
                0 => self.rng.i64(-3..600).to_string(),
                1 if !self.ints.is_empty() => self.ints[self.rng.usize(..self.ints.len())].clone(),
                2 => format!("{}.len()", self.text(depth + 1)),
                3 => format!("{}.parse_int()", self.text(depth + 1)),
                4 => format!("({} + {})", self.int(depth + 1), self.int(depth + 1)),
                5 => format!("{} * {}", self.int(depth + 1), self.int(depth + 1)),
                _ => format!("({} - {})", self.int(depth + 1), self.int(depth + 1)),
            }
        }
        fn boolean(&mut self, depth: u32) -> String {
            match self.rng.u32(0..if depth > 2 { 2 } else { 5 }) {
                0 => format!("{} >= {}", self.int(depth + 1), self.int(depth + 1)),
                1 => format!("{} == {}", self.text(depth + 1), self.text(depth + 1)),
                2 => format!(
                    "{}.contains(\"{}\")",
                    self.text(depth + 1),
                    ["1", "GET", " "][self.rng.usize(..3)]
                ),
                3 => format!("!({})", self.boolean(depth + 1)),
                _ => format!("{} && {}", self.boolean(depth + 1), self.boolean(depth + 1)),
            }
        }
        fn block(&mut self) -> String {
            self.texts.clear();
            self.ints.clear();
            self.splits.clear();
            let mut code = String::new();
            for i in 0..self.rng.usize(0..4) {
                match self.rng.u32(0..3) {
                    0 => {
                        let e = self.text(0);
                        code += &format!("let s{i} = {e}; ");
                        self.texts.push(format!("s{i}"));
                    }
                    1 => {
                        let e = self.int(1);
                        code += &format!("let n{i} = {e}; ");
                        self.ints.push(format!("n{i}"));
                    }
                    _ => {
                        let e = self.text(1);
                        code += &format!("let f{i} = {e}.split(\" \"); ");
                        self.splits.push(format!("f{i}"));
                    }
                }
            }
            code += &match self.rng.u32(0..3) {
                0 => self.text(0),
                1 => self.int(0),
                _ => self.boolean(0),
            };
            code
        }
    }
    let mut g = Gen {
        rng: fastrand::Rng::with_seed(26),
        texts: vec![],
        ints: vec![],
        splits: vec![],
    };
    let items: Vec<Dynamic> = [
        LINE,
        "10.0.0.1 - - [x] \"GET /a HTTP/1.1\" 200 12",
        "",
        "  7  ",
        "a b",
        "ÄÖ 3 straße",
        "99999999999999999999 1",
    ]
    .iter()
    .map(|s| Dynamic::from(*s))
    .chain([Dynamic::from(5_i64)])
    .collect();
    let engine = crate::runtime::builtins::new_engine();
    let mut fast_ones = 0;
    for _ in 0..400 {
        let code = g.block();
        let Some(f) = compile_block(&code, &Scope::new(), &|_| true) else {
            panic!("{code}: should be fast");
        };
        fast_ones += 1;
        for it in &items {
            let mut s = Scope::new();
            s.push("it", it.clone());
            let slow = engine.eval_with_scope::<Dynamic>(&mut s, &code);
            match (eval(&f, it), slow) {
                (Some(v), Ok(r)) => {
                    assert_eq!(v.type_name(), r.type_name(), "{code} on {it:?}");
                    assert_eq!(v.to_string(), r.to_string(), "{code} on {it:?}");
                }
                (Some(v), Err(e)) => panic!("{code} on {it:?}: fast gave {v}, Rhai failed: {e}"),
                // Declining is always allowed (overflow, a piece past the end …): Rhai runs.
                (None, _) => {}
            }
        }
    }
    assert_eq!(fast_ones, 400);
}

#[test]
fn blocks_with_lets_and_split_arrays() {
    let f = |code: &str| compile_block(code, &Scope::new(), &|_| true);
    assert!(f(r#"let f = it.split(" "); f[8].parse_int() >= 500"#).is_some());
    assert!(f("let y = it * 2; y + 1").is_some());
    // An array used as anything but `f[k]`, a statement that is not a `let`, a trailing `;`
    // (the block's value is then `()`), a `let` of `it`: Rhai's.
    assert!(f(r#"let f = it.split(" "); f.len()"#).is_none());
    assert!(f(r#"let f = it.split(" "); f"#).is_none());
    assert!(f("print(it); it").is_none());
    assert!(f("let y = it; y;").is_none());
    assert!(f("let it = 3; it").is_none());
    // A later `let` of the same name is the one read.
    let v = eval(
        &f("let y = it; let y = y * 3; y").unwrap(),
        &Dynamic::from(2_i64),
    );
    assert_eq!(v.map(|v| v.as_int().unwrap()), Some(6));
    // A `let` that fails fails the block, even when the value does not read it.
    let g = f("let n = it.parse_int(); 1").unwrap();
    assert!(eval(&g, &Dynamic::from("x")).is_none());
    assert_eq!(
        eval(&g, &Dynamic::from("4")).map(|v| v.as_int().unwrap()),
        Some(1)
    );
}

/// Arithmetic, comparisons and logic over numbers made at random (the integer evaluator's
/// ground: `it * 2`, `it % 3 == 0`, with overflow, division by zero, mixed types, the ends
/// of the integers), on integer, float and bool items: `eval`, `eval_owned` and `test` give
/// Rhai's value or decline where Rhai fails, item by item.
#[test]
fn generated_arithmetic_matches_rhai() {
    fn num(rng: &mut fastrand::Rng, depth: u32) -> String {
        let leaf = depth > 3 || rng.u32(0..3) == 0;
        if leaf {
            return match rng.u32(0..8) {
                0..=2 => "it".into(),
                3 => rng.i64(-4..10).to_string(),
                4 => ["0", "9223372036854775807", "3"][rng.usize(..3)].into(),
                5 => ["2.5", "0.0", "-1.5"][rng.usize(..3)].into(),
                6 => ["true", "false"][rng.usize(..2)].into(),
                _ => "(-it)".into(),
            };
        }
        let ops = [
            "+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||",
        ];
        match rng.u32(0..6) {
            0 => format!("!({})", num(rng, depth + 1)),
            1 => format!("-({})", num(rng, depth + 1)),
            _ => format!(
                "({} {} {})",
                num(rng, depth + 1),
                ops[rng.usize(..ops.len())],
                num(rng, depth + 1)
            ),
        }
    }
    let mut rng = fastrand::Rng::with_seed(2026);
    let items: Vec<Dynamic> = [0_i64, 1, -7, 5, 6, i64::MAX, i64::MIN]
        .into_iter()
        .map(Dynamic::from_int)
        .chain([Dynamic::from_float(2.5), Dynamic::from_bool(true)])
        .collect();
    let engine = crate::runtime::builtins::new_engine();
    let (mut compared, mut fast) = (0, 0);
    for _ in 0..4000 {
        let code = num(&mut rng, 0);
        let Some(f) = compile_block(&code, &Scope::new(), &|_| true) else {
            panic!("{code}: should be fast");
        };
        // A block Rhai rejects (`x && 2.5`) is an error before anything runs.
        let Ok(ast) = engine.compile(&code) else {
            continue;
        };
        for it in &items {
            let mut s = Scope::new();
            s.push("it", it.clone());
            let slow = engine.eval_ast_with_scope::<Dynamic>(&mut s, &ast);
            let owned = super::eval_owned(&f, it.clone()).ok();
            let tested = super::test(&f, it);
            for v in [eval(&f, it), owned] {
                match (v, &slow) {
                    (Some(v), Ok(r)) => {
                        fast += 1;
                        assert_eq!(v.type_name(), r.type_name(), "{code} on {it:?}");
                        assert_eq!(v.to_string(), r.to_string(), "{code} on {it:?}");
                    }
                    (Some(v), Err(e)) => {
                        panic!("{code} on {it:?}: fast gave {v}, Rhai failed: {e}")
                    }
                    (None, _) => {}
                }
            }
            match (tested, &slow) {
                (Some(b), Ok(r)) => assert_eq!(Ok(b), r.as_bool(), "{code} on {it:?}"),
                (Some(b), Err(e)) => panic!("{code} on {it:?}: test gave {b}, Rhai failed: {e}"),
                (None, _) => {}
            }
            compared += 1;
        }
    }
    assert!(compared > 3000 * items.len(), "{compared} compared");
    // Most of them are taken natively, not declined (the test would prove nothing).
    assert!(fast > compared / 2, "{fast} of {compared} fast");
}
