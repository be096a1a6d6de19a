//! A fast path for the tiny blocks most pipelines are made of (`{ it * 2 }`,
//! `{ it % 3 == 0 }`, `{ it.split(" ")[8].parse_int() >= 500 }`): arithmetic, comparisons
//! and logic over `it`, literals and script variables, and chains of a few string methods
//! (`split(sep)[k]`, `field(k)`, `parse_int`, `len`, `trim`, `to_upper`, `to_lower`,
//! `contains`, `starts_with`, `ends_with`), compiled to a tree evaluated natively (strings
//! borrowed from the item where Rhai would copy them; `split(sep)[k]` builds no array).
//! It never changes a result: whenever an operation is not exactly one it handles (a type
//! it does not know, overflow, division by zero, mixed int/float, an index past the end,
//! text that is not a number), it returns `None` and the item is evaluated by Rhai as
//! usual, which gives the same value or the same error. Methods are only taken when the
//! caller says the name is Rhai's or flow's own (not a script `fn` or a host's function).

#[path = "fastpath_eval.rs"]
mod fast_eval;
#[cfg(test)]
#[path = "fastpath_tests.rs"]
mod tests;

pub(crate) use fast_eval::{eval, eval_const, eval_owned, eval_text, int_item, new_string, test};
use fast_eval::{load, V};
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
    /// `a OP k` for an integer literal `k` (never `&&` / `||`, whose operands are bools).
    BinInt(Op, Box<Fast>, INT),
    /// `recv.method(args)`.
    Method(Method, Box<Fast>, Vec<Fast>),
    /// `recv.split(sep)[k]`: the `k`th piece (`k >= 0`), without building the array.
    SplitNth(Box<Fast>, ImmutableString, usize),
    /// A block's local, by its place among the block's `let`s.
    Local(usize),
    /// The value, if it is text (what `let f = recv.split(sep)` needs of `recv`).
    Text(Box<Fast>),
    /// `{ let a = …; let b = …; value }`: the `let`s evaluated in order, then the value.
    Block(Vec<Fast>, Box<Fast>),
}

impl Fast {
    /// Whether the expression reads the item.
    pub(crate) fn uses_it(&self) -> bool {
        match self {
            Fast::It => true,
            // A local reads the item only through its `let`, which the block checks.
            Fast::Int(_) | Fast::Float(_) | Fast::Bool(_) | Fast::Str(_) | Fast::Local(_) => false,
            Fast::Not(e)
            | Fast::Neg(e)
            | Fast::SplitNth(e, ..)
            | Fast::Text(e)
            | Fast::BinInt(_, e, _) => e.uses_it(),
            Fast::Bin(_, a, b) => a.uses_it() || b.uses_it(),
            Fast::Method(_, r, args) => r.uses_it() || args.iter().any(Fast::uses_it),
            Fast::Block(lets, v) => lets.iter().any(Fast::uses_it) || v.uses_it(),
        }
    }
}

/// A whole statement the fast path runs: a value, or `print` of one.
#[derive(Debug)]
pub(crate) enum Statement {
    Value(Fast),
    Print(Fast),
}

/// `code` as a [`Statement`] if it is one: an expression of literals and script variables,
/// or `print(` such an expression `)`, the engine's own `print`. (One that reads `it`,
/// which a statement has not, is declined by [`eval_const`].)
pub(crate) fn statement(
    code: &str,
    scope: &Scope<'static>,
    builtin: &dyn Fn(&str) -> bool,
) -> Option<Statement> {
    let code = code.trim();
    let printed = code
        .strip_suffix(';')
        .unwrap_or(code)
        .trim_end()
        .strip_prefix("print(")
        .and_then(|c| c.strip_suffix(')'));
    Some(match printed {
        Some(inner) if builtin("print") => Statement::Print(compile(inner, scope, builtin)?),
        Some(_) => return None,
        None => Statement::Value(compile(code, scope, builtin)?),
    })
}

/// The methods the fast path knows, each exactly as the engine defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    ParseInt,
    Len,
    Trim,
    ToUpper,
    ToLower,
    Contains,
    StartsWith,
    EndsWith,
    /// flow's `field(k)` and `field(k, sep)`.
    Field,
}

impl Method {
    fn of(name: &str, arity: usize) -> Option<Method> {
        Some(match (name, arity) {
            ("parse_int", 0) => Method::ParseInt,
            ("len", 0) => Method::Len,
            ("trim", 0) => Method::Trim,
            ("to_upper", 0) => Method::ToUpper,
            ("to_lower", 0) => Method::ToLower,
            ("contains", 1) => Method::Contains,
            ("starts_with", 1) => Method::StartsWith,
            ("ends_with", 1) => Method::EndsWith,
            ("field", 1 | 2) => Method::Field,
            _ => return None,
        })
    }
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
    Dot,
    Comma,
    LBracket,
    RBracket,
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
        } else if c == b'.'
            && b.get(i + 1)
                .is_some_and(|n| n.is_ascii_alphabetic() || *n == b'_')
        {
            // A method call; `..`, `?.` and the like are not ours.
            out.push(Tok::Dot);
            i += 1;
        } else if let Some(t) = match c {
            b',' => Some(Tok::Comma),
            b'[' => Some(Tok::LBracket),
            b']' => Some(Tok::RBracket),
            _ => None,
        } {
            out.push(t);
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
    /// The name that denotes the item: `it` in a block, the parameter in a `fn`'s body.
    item: &'a str,
    /// Shape only (the plan's question, before any variable has a value): any other name
    /// is taken as a constant.
    any_name: bool,
    /// The block's `let` names so far, in order (a later one shadows an earlier one).
    locals: Vec<String>,
    /// `let f = recv.split(sep)`: `f` read only as `f[k]`, with `recv`'s local and `sep`.
    splits: Vec<(String, usize, ImmutableString)>,
    scope: &'a Scope<'static>,
    /// Whether a method name means the engine's own function.
    builtin: &'a dyn Fn(&str) -> bool,
}

impl<'a> Parser<'a> {
    fn new(
        toks: Vec<Tok>,
        item: &'a str,
        scope: &'a Scope<'static>,
        builtin: &'a dyn Fn(&str) -> bool,
    ) -> Self {
        Parser {
            toks,
            pos: 0,
            item,
            any_name: false,
            locals: vec![],
            splits: vec![],
            scope,
            builtin,
        }
    }

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
            lhs = match rhs {
                // `a OP 2`: the constant in the node, one step fewer per item.
                Fast::Int(k) if !matches!(op, Op::And | Op::Or) => {
                    Fast::BinInt(op, Box::new(lhs), k)
                }
                rhs => Fast::Bin(op, Box::new(lhs), Box::new(rhs)),
            };
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
            _ => self.postfix(),
        }
    }

    fn eat(&mut self, t: &Tok) -> bool {
        let yes = self.toks.get(self.pos) == Some(t);
        if yes {
            self.pos += 1;
        }
        yes
    }

    /// An atom followed by method calls (`.trim()`) and `split(sep)[k]`.
    fn postfix(&mut self) -> Option<Fast> {
        let mut e = self.atom()?;
        while self.eat(&Tok::Dot) {
            let Some(Tok::Ident(name)) = self.toks.get(self.pos).cloned() else {
                return None;
            };
            self.pos += 1;
            if !self.eat(&Tok::Open) || !(self.builtin)(&name) {
                return None;
            }
            let mut args = vec![];
            if !self.eat(&Tok::Close) {
                loop {
                    args.push(self.binary(0)?);
                    if self.eat(&Tok::Close) {
                        break;
                    }
                    if !self.eat(&Tok::Comma) {
                        return None;
                    }
                }
            }
            e = if name == "split" {
                // Only `split(sep)[k]`, with a non-empty separator and a literal `k >= 0`:
                // Rhai's other splits (by char, at an index, an empty separator) are its own.
                let ([Fast::Str(sep)], Some(Tok::LBracket), Some(Tok::Int(k)), Some(Tok::RBracket)) = (
                    args.as_slice(),
                    self.toks.get(self.pos),
                    self.toks.get(self.pos + 1),
                    self.toks.get(self.pos + 2),
                ) else {
                    return None;
                };
                if sep.is_empty() {
                    return None;
                }
                let k = usize::try_from(*k).ok()?;
                self.pos += 3;
                Fast::SplitNth(Box::new(e), sep.clone(), k)
            } else {
                Fast::Method(Method::of(&name, args.len())?, Box::new(e), args)
            };
        }
        if matches!(self.toks.get(self.pos), Some(Tok::LBracket)) {
            return None;
        }
        Some(e)
    }

    fn atom(&mut self) -> Option<Fast> {
        let t = self.toks.get(self.pos)?.clone();
        self.pos += 1;
        Some(match t {
            Tok::Int(n) => Fast::Int(n),
            Tok::Float(f) => Fast::Float(f),
            Tok::Str(s) => Fast::Str(s.into()),
            Tok::Ident(id) => match id.as_str() {
                name if name == self.item => Fast::It,
                name if self.splits.iter().any(|(n, ..)| n == name) => {
                    // `f[k]` with a literal `k >= 0`, and nothing else.
                    let (_, local, sep) = self.splits.iter().rev().find(|(n, ..)| n == name)?;
                    let (Some(Tok::LBracket), Some(Tok::Int(k)), Some(Tok::RBracket)) = (
                        self.toks.get(self.pos),
                        self.toks.get(self.pos + 1),
                        self.toks.get(self.pos + 2),
                    ) else {
                        return None;
                    };
                    let k = usize::try_from(*k).ok()?;
                    self.pos += 3;
                    Fast::SplitNth(Box::new(Fast::Local(*local)), sep.clone(), k)
                }
                name if self.locals.iter().any(|n| n == name) => {
                    Fast::Local(self.locals.iter().rposition(|n| n == name)?)
                }
                "true" => Fast::Bool(true),
                "false" => Fast::Bool(false),
                name => {
                    // A script variable: its value is fixed for the stage's lifetime.
                    if matches!(self.toks.get(self.pos), Some(Tok::Open)) {
                        return None;
                    }
                    if self.any_name {
                        return Some(Fast::Int(0));
                    }
                    // Looked at where it is: a copy of an array of 10,000 task handles per
                    // `hs.push(h)` made a spawning loop quadratic.
                    constant(self.scope.get(name)?)?
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
        V::S(s) => Fast::Str(s.into()),
        V::O(s) => Fast::Str(s),
    })
}

/// The leading `let NAME = EXPR;` statements of a block whose `EXPR` the fast path takes
/// (`{ let s = it.split(" ")[8]; acc[s] = (acc[s] ?? 0) + 1; acc }`), and the byte offset
/// where the rest of the block starts. An `EXPR` naming an earlier `NAME` ends the prefix
/// (it would be taken for the script variable of that name).
pub(crate) fn lets(
    code: &str,
    scope: &Scope<'static>,
    builtin: &dyn Fn(&str) -> bool,
) -> (Vec<(String, Fast)>, usize) {
    lets_named(code, "it", scope, builtin)
}

/// [`lets`] where `item` names the item (a `fn`'s parameter).
pub(crate) fn lets_named(
    code: &str,
    item: &str,
    scope: &Scope<'static>,
    builtin: &dyn Fn(&str) -> bool,
) -> (Vec<(String, Fast)>, usize) {
    let mut out: Vec<(String, Fast)> = vec![];
    let mut at = 0;
    while let Some(semi) = statement_end(&code[at..]) {
        let stmt = code[at..at + semi].trim();
        let Some(rest) = stmt.strip_prefix("let ") else {
            break;
        };
        let Some((name, expr)) = rest.split_once('=') else {
            break;
        };
        let name = name.trim();
        let ident = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ident || name == "it" || name == item || expr.starts_with('=') {
            break;
        }
        let names_earlier = lex(expr).is_some_and(|toks| {
            toks.iter()
                .any(|t| matches!(t, Tok::Ident(i) if out.iter().any(|(n, _)| n == i)))
        });
        let Some(f) = (!names_earlier)
            .then(|| compile_named(expr, item, scope, builtin))
            .flatten()
        else {
            break;
        };
        out.push((name.to_string(), f));
        at += semi + 1;
    }
    (out, at)
}

/// The byte offset of the first `;` outside strings and brackets, if any.
fn statement_end(s: &str) -> Option<usize> {
    let mut depth = 0_i32;
    let mut in_str = false;
    for (i, c) in s.char_indices() {
        match c {
            '\\' => return None,
            '"' => in_str = !in_str,
            '`' | '\'' if !in_str => return None,
            '(' | '[' | '{' if !in_str => depth += 1,
            ')' | ']' | '}' if !in_str => depth -= 1,
            ';' if !in_str && depth == 0 => return Some(i),
            _ => {}
        }
    }
    None
}

/// Compile `code` if it is a fast-path expression; `scope` gives script variables, and
/// `builtin(name)` says whether a method of that name is the engine's own (no script `fn`
/// or host function of the name that Rhai would call instead).
pub(crate) fn compile(
    code: &str,
    scope: &Scope<'static>,
    builtin: &dyn Fn(&str) -> bool,
) -> Option<Fast> {
    compile_named(code, "it", scope, builtin)
}

/// The body of a one-parameter `fn` as a fast expression of the item, which its parameter
/// `param` names. A `fn` sees no script variable (`it` included): any other name declines.
pub(crate) fn compile_fn_body(
    code: &str,
    param: &str,
    builtin: &dyn Fn(&str) -> bool,
) -> Option<Fast> {
    compile_block_named(code, param, fn_scope(), builtin)
}

/// The variables a `fn`'s body sees from outside it: none.
pub(crate) fn fn_scope() -> &'static Scope<'static> {
    static EMPTY: std::sync::OnceLock<Scope<'static>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(Scope::new)
}

/// A stage's block: one fast expression, or leading `let NAME = EXPR;` statements whose
/// expressions are fast (or `let f = EXPR.split(sep)` with `f` read only as `f[k]`) and
/// then one, all evaluated natively in order, as Rhai would.
pub(crate) fn compile_block(
    code: &str,
    scope: &Scope<'static>,
    builtin: &dyn Fn(&str) -> bool,
) -> Option<Fast> {
    compile_block_named(code, "it", scope, builtin)
}

fn compile_block_named(
    code: &str,
    item: &str,
    scope: &Scope<'static>,
    builtin: &dyn Fn(&str) -> bool,
) -> Option<Fast> {
    block(code, item, scope, builtin, false)
}

/// [`compile_block_named`]; `any_name`: any name is taken for a script variable (the shape
/// only, for [`is_cheap`]).
fn block(
    code: &str,
    item: &str,
    scope: &Scope<'static>,
    builtin: &dyn Fn(&str) -> bool,
    any_name: bool,
) -> Option<Fast> {
    let mut p = Parser::new(vec![], item, scope, builtin);
    p.any_name = any_name;
    let mut lets = vec![];
    let mut at = 0;
    while let Some(semi) = statement_end(&code[at..]) {
        let stmt = code[at..at + semi].trim();
        let (name, expr) = stmt.strip_prefix("let ")?.split_once('=')?;
        let name = name.trim();
        let ident = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ident || name == item || expr.starts_with('=') {
            return None;
        }
        let mut toks = lex(expr)?;
        // `let f = recv.split(sep)`: no array is built; `f[k]` is the piece.
        let split = match toks.as_slice() {
            [.., Tok::Dot, Tok::Ident(m), Tok::Open, Tok::Str(sep), Tok::Close]
                if m == "split" && !sep.is_empty() && builtin("split") =>
            {
                let sep = ImmutableString::from(sep.as_str());
                toks.truncate(toks.len() - 5);
                Some(sep)
            }
            _ => None,
        };
        p.toks = toks;
        p.pos = 0;
        if p.toks.is_empty() {
            return None;
        }
        let e = p.binary(0)?;
        if p.pos != p.toks.len() {
            return None;
        }
        p.splits.retain(|(n, ..)| n != name);
        match split {
            Some(sep) => {
                lets.push(Fast::Text(Box::new(e)));
                p.splits.push((name.to_string(), lets.len() - 1, sep));
                // Only as `f[k]`: the name as a plain local is not bound.
                p.locals.push(String::new());
            }
            None => {
                lets.push(e);
                p.locals.push(name.to_string());
            }
        }
        at += semi + 1;
    }
    p.toks = lex(&code[at..])?;
    p.pos = 0;
    if p.toks.is_empty() {
        return None;
    }
    let v = p.binary(0)?;
    if p.pos != p.toks.len() {
        return None;
    }
    Some(if lets.is_empty() {
        v
    } else {
        Fast::Block(lets, Box::new(v))
    })
}

pub(crate) fn compile_named(
    code: &str,
    item: &str,
    scope: &Scope<'static>,
    builtin: &dyn Fn(&str) -> bool,
) -> Option<Fast> {
    let toks = lex(code)?;
    if toks.is_empty() {
        return None;
    }
    let mut p = Parser::new(toks, item, scope, builtin);
    let e = p.binary(0)?;
    (p.pos == p.toks.len()).then_some(e)
}

/// Whether `code` has the shape of a fast-path block of `it` (one expression, or fast
/// `let`s and one), whatever the values of the script variables it names: a block the plan
/// may count as cheap (a few operations per item), so that it shares a thread with its
/// neighbours. (A method a script `fn` or a host redefines is Rhai's to run: still a single
/// call, and fusing is correct whatever it costs.)
pub(crate) fn is_cheap(code: &str) -> bool {
    let builtin = |_: &str| true;
    block(code, "it", &Scope::new(), &builtin, true).is_some()
}
