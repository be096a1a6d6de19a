//! A fast path for the tiny blocks most pipelines are made of (`{ it * 2 }`,
//! `{ it % 3 == 0 }`): arithmetic, comparisons and logic over `it`, literals and script
//! variables, compiled to a tree evaluated natively. It never changes a result: whenever an
//! operation is not exactly one it handles (a type it does not know, overflow, division by
//! zero, mixed int/float), it returns `None` and the item is evaluated by Rhai as usual.

use rhai::{Dynamic, ImmutableString, Scope, INT};

/// A compiled fast expression.
#[derive(Debug, Clone)]
pub(crate) enum Fast {
    It,
    Int(INT),
    Float(f64),
    Bool(bool),
    Str(ImmutableString),
    Not(Box<Fast>),
    Neg(Box<Fast>),
    Bin(Op, Box<Fast>, Box<Fast>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Int(INT),
    Float(f64),
    Str(String),
    Ident(String),
    Op(&'static str),
    Open,
    Close,
}

fn lex(s: &str) -> Option<Vec<Tok>> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = vec![];
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let st = i;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
                i += 1;
            }
            if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                out.push(Tok::Float(s[st..i].parse().ok()?));
            } else {
                out.push(Tok::Int(s[st..i].replace('_', "").parse().ok()?));
            }
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let st = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Ident(s[st..i].to_string()));
        } else if c == b'"' {
            let st = i + 1;
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    return None;
                }
                i += 1;
            }
            if i >= b.len() {
                return None;
            }
            out.push(Tok::Str(s[st..i].to_string()));
            i += 1;
        } else if c == b'(' {
            out.push(Tok::Open);
            i += 1;
        } else if c == b')' {
            out.push(Tok::Close);
            i += 1;
        } else {
            let two = s.get(i..i + 2).unwrap_or("");
            let op = ["==", "!=", "<=", ">=", "&&", "||"]
                .into_iter()
                .find(|o| *o == two);
            if let Some(op) = op {
                // `**`, `<<`, `>>` and friends are not ours.
                out.push(Tok::Op(op));
                i += 2;
                continue;
            }
            let op = match c {
                b'+' => "+",
                b'-' => "-",
                b'*' if b.get(i + 1) != Some(&b'*') => "*",
                b'/' if !matches!(b.get(i + 1), Some(b'/' | b'*')) => "/",
                b'%' => "%",
                b'<' if b.get(i + 1) != Some(&b'<') => "<",
                b'>' if b.get(i + 1) != Some(&b'>') => ">",
                b'!' => "!",
                _ => return None,
            };
            out.push(Tok::Op(op));
            i += 1;
        }
    }
    Some(out)
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    scope: &'a Scope<'static>,
}

impl Parser<'_> {
    fn peek_op(&self) -> Option<&'static str> {
        match self.toks.get(self.pos) {
            Some(Tok::Op(o)) => Some(o),
            _ => None,
        }
    }

    fn binary(&mut self, level: usize) -> Option<Fast> {
        const LEVELS: [&[(&str, Op)]; 5] = [
            &[("||", Op::Or)],
            &[("&&", Op::And)],
            &[
                ("==", Op::Eq),
                ("!=", Op::Ne),
                ("<", Op::Lt),
                ("<=", Op::Le),
                (">", Op::Gt),
                (">=", Op::Ge),
            ],
            &[("+", Op::Add), ("-", Op::Sub)],
            &[("*", Op::Mul), ("/", Op::Div), ("%", Op::Rem)],
        ];
        if level == LEVELS.len() {
            return self.unary();
        }
        let mut lhs = self.binary(level + 1)?;
        while let Some(o) = self.peek_op() {
            let Some(&(_, op)) = LEVELS[level].iter().find(|(s, _)| *s == o) else {
                break;
            };
            self.pos += 1;
            let rhs = self.binary(level + 1)?;
            lhs = Fast::Bin(op, Box::new(lhs), Box::new(rhs));
        }
        Some(lhs)
    }

    fn unary(&mut self) -> Option<Fast> {
        match self.peek_op() {
            Some("!") => {
                self.pos += 1;
                Some(Fast::Not(Box::new(self.unary()?)))
            }
            Some("-") => {
                self.pos += 1;
                Some(Fast::Neg(Box::new(self.unary()?)))
            }
            _ => self.atom(),
        }
    }

    fn atom(&mut self) -> Option<Fast> {
        let t = self.toks.get(self.pos)?.clone();
        self.pos += 1;
        Some(match t {
            Tok::Int(n) => Fast::Int(n),
            Tok::Float(f) => Fast::Float(f),
            Tok::Str(s) => Fast::Str(s.into()),
            Tok::Ident(id) => match id.as_str() {
                "it" => Fast::It,
                "true" => Fast::Bool(true),
                "false" => Fast::Bool(false),
                name => {
                    // A script variable: its value is fixed for the stage's lifetime.
                    if matches!(self.toks.get(self.pos), Some(Tok::Open)) {
                        return None;
                    }
                    let v = self.scope.get_value::<Dynamic>(name)?;
                    constant(&v)?
                }
            },
            Tok::Open => {
                let e = self.binary(0)?;
                if self.toks.get(self.pos) != Some(&Tok::Close) {
                    return None;
                }
                self.pos += 1;
                e
            }
            _ => return None,
        })
    }
}

fn constant(v: &Dynamic) -> Option<Fast> {
    Some(match load(v)? {
        V::I(i) => Fast::Int(i),
        V::F(f) => Fast::Float(f),
        V::B(b) => Fast::Bool(b),
        V::S(s) => Fast::Str(s),
    })
}

/// Compile `code` if it is a fast-path expression; `scope` gives script variables.
pub(crate) fn compile(code: &str, scope: &Scope<'static>) -> Option<Fast> {
    let toks = lex(code)?;
    if toks.is_empty() {
        return None;
    }
    let mut p = Parser {
        toks,
        pos: 0,
        scope,
    };
    let e = p.binary(0)?;
    (p.pos == p.toks.len()).then_some(e)
}

/// A value during fast evaluation.
enum V {
    I(INT),
    F(f64),
    B(bool),
    S(ImmutableString),
}

fn load(v: &Dynamic) -> Option<V> {
    if let Ok(i) = v.as_int() {
        Some(V::I(i))
    } else if let Ok(f) = v.as_float() {
        Some(V::F(f))
    } else if let Ok(b) = v.as_bool() {
        Some(V::B(b))
    } else {
        v.read_lock::<ImmutableString>().map(|s| V::S(s.clone()))
    }
}

fn eval_v(e: &Fast, it: &Dynamic) -> Option<V> {
    Some(match e {
        Fast::It => load(it)?,
        Fast::Int(i) => V::I(*i),
        Fast::Float(f) => V::F(*f),
        Fast::Bool(b) => V::B(*b),
        Fast::Str(s) => V::S(s.clone()),
        Fast::Not(x) => match eval_v(x, it)? {
            V::B(b) => V::B(!b),
            _ => return None,
        },
        Fast::Neg(x) => match eval_v(x, it)? {
            V::I(i) => V::I(i.checked_neg()?),
            V::F(f) => V::F(-f),
            _ => return None,
        },
        // `&&` / `||` short-circuit: the left side decides when it equals `||`-ness.
        Fast::Bin(op @ (Op::And | Op::Or), a, b) => match eval_v(a, it)? {
            V::B(x) if x == (*op == Op::Or) => V::B(x),
            V::B(_) => match eval_v(b, it)? {
                V::B(y) => V::B(y),
                _ => return None,
            },
            _ => return None,
        },
        Fast::Bin(op, a, b) => binop(*op, eval_v(a, it)?, eval_v(b, it)?)?,
    })
}

fn binop(op: Op, a: V, b: V) -> Option<V> {
    use Op::{Add, Div, Eq, Ge, Gt, Le, Lt, Mul, Ne, Rem, Sub};
    Some(match (a, b) {
        (V::I(x), V::I(y)) => match op {
            Add => V::I(x.checked_add(y)?),
            Sub => V::I(x.checked_sub(y)?),
            Mul => V::I(x.checked_mul(y)?),
            Div => V::I(x.checked_div(y)?),
            Rem => V::I(x.checked_rem(y)?),
            Eq => V::B(x == y),
            Ne => V::B(x != y),
            Lt => V::B(x < y),
            Le => V::B(x <= y),
            Gt => V::B(x > y),
            Ge => V::B(x >= y),
            _ => return None,
        },
        (V::F(x), V::F(y)) => match op {
            Add => V::F(x + y),
            Sub => V::F(x - y),
            Mul => V::F(x * y),
            Eq => V::B(x == y),
            Ne => V::B(x != y),
            Lt => V::B(x < y),
            Le => V::B(x <= y),
            Gt => V::B(x > y),
            Ge => V::B(x >= y),
            _ => return None,
        },
        (V::S(x), V::S(y)) => match op {
            Eq => V::B(x == y),
            Ne => V::B(x != y),
            _ => return None,
        },
        (V::B(x), V::B(y)) => match op {
            Eq => V::B(x == y),
            Ne => V::B(x != y),
            _ => return None,
        },
        _ => return None,
    })
}

/// Evaluate; `None` means "let Rhai do it".
pub(crate) fn eval(e: &Fast, it: &Dynamic) -> Option<Dynamic> {
    Some(match eval_v(e, it)? {
        V::I(i) => Dynamic::from_int(i),
        V::F(f) => Dynamic::from_float(f),
        V::B(b) => Dynamic::from_bool(b),
        V::S(s) => Dynamic::from(s),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agree(code: &str, it: Dynamic) {
        let scope = Scope::new();
        let fast = compile(code, &scope).unwrap_or_else(|| panic!("{code} should be fast"));
        let engine = rhai::Engine::new();
        let mut s = Scope::new();
        s.push("it", it.clone());
        let slow = engine.eval_with_scope::<Dynamic>(&mut s, code);
        match (eval(&fast, &it), slow) {
            (Some(f), Ok(r)) => assert_eq!(f.to_string(), r.to_string(), "{code}"),
            (None, _) => {} // fell back: Rhai decides
            (Some(f), Err(e)) => panic!("{code}: fast gave {f}, Rhai failed: {e}"),
        }
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

    #[test]
    fn declines_what_it_does_not_know() {
        let scope = Scope::new();
        for code in [
            "it.len()",
            "it ** 2",
            "it << 1",
            "let x = 1; x",
            "foo(it)",
            "it[0]",
            "unknown_var",
            // Single-quoted strings are rewritten for Rhai (`quotes`): Rhai decides.
            "it == 'abc'",
            "it == `abc`",
        ] {
            assert!(compile(code, &scope).is_none(), "{code}");
        }
    }
}
