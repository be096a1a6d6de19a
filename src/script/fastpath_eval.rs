//! Evaluating a compiled fast expression. Strings are borrowed from the item (and from the
//! expression's literals) for as long as no method has to make a new one.

use super::{Fast, Method, Op};
use rhai::{Dynamic, ImmutableString, INT};

/// A value during fast evaluation: `S` borrows, `O` owns.
#[derive(Clone)]
pub(super) enum V<'a> {
    I(INT),
    F(f64),
    B(bool),
    S(&'a str),
    O(ImmutableString),
}

impl V<'_> {
    fn text(&self) -> Option<&str> {
        match self {
            V::S(s) => Some(s),
            V::O(s) => Some(s.as_str()),
            _ => None,
        }
    }
}

/// A script value as a constant (strings shared, not copied).
pub(super) fn load(v: &Dynamic) -> Option<V<'static>> {
    if let Ok(i) = v.as_int() {
        Some(V::I(i))
    } else if let Ok(f) = v.as_float() {
        Some(V::F(f))
    } else if let Ok(b) = v.as_bool() {
        Some(V::B(b))
    } else {
        v.read_lock::<ImmutableString>().map(|s| V::O(s.clone()))
    }
}

/// What an expression reads: the item, and the block's locals so far.
struct Cx<'a> {
    it: V<'a>,
    locals: Vec<V<'a>>,
}

impl<'a> Cx<'a> {
    fn of(it: V<'a>) -> Self {
        Cx { it, locals: vec![] }
    }
}

fn eval_v<'a>(e: &'a Fast, cx: &Cx<'a>) -> Option<V<'a>> {
    let it = &cx.it;
    Some(match e {
        Fast::It => match it {
            V::I(i) => V::I(*i),
            V::F(f) => V::F(*f),
            V::B(b) => V::B(*b),
            V::S(s) => V::S(s),
            V::O(s) => V::O(s.clone()),
        },
        Fast::Int(i) => V::I(*i),
        Fast::Float(f) => V::F(*f),
        Fast::Bool(b) => V::B(*b),
        Fast::Str(s) => V::S(s.as_str()),
        Fast::Not(x) => match eval_v(x, cx)? {
            V::B(b) => V::B(!b),
            _ => return None,
        },
        Fast::Neg(x) => match eval_v(x, cx)? {
            V::I(i) => V::I(i.checked_neg()?),
            V::F(f) => V::F(-f),
            _ => return None,
        },
        // `&&` / `||` short-circuit: the left side decides when it equals `||`-ness.
        Fast::Bin(op @ (Op::And | Op::Or), a, b) => match eval_v(a, cx)? {
            V::B(x) if x == (*op == Op::Or) => V::B(x),
            V::B(_) => match eval_v(b, cx)? {
                V::B(y) => V::B(y),
                _ => return None,
            },
            _ => return None,
        },
        Fast::Bin(op, a, b) => binop(*op, eval_v(a, cx)?, eval_v(b, cx)?)?,
        Fast::BinInt(op, a, k) => binop(*op, eval_v(a, cx)?, V::I(*k))?,
        Fast::SplitNth(recv, sep, k) => {
            let r = eval_v(recv, cx)?;
            // Rhai: an empty string splits into [""], a string without `sep` into [itself];
            // `str::split` gives the same for a non-empty separator.
            // A one-byte separator: the same pieces, found by a plain byte scan (fastest
            // for the short fields of a line).
            match sep.as_bytes() {
                [b] if b.is_ascii() => sub(r, |s| nth_piece(s, *b, *k))?,
                _ => sub(r, |s| s.split(sep.as_str()).nth(*k))?,
            }
        }
        Fast::Method(m, recv, args) => {
            let r = eval_v(recv, cx)?;
            let mut a = Vec::with_capacity(args.len());
            for x in args {
                a.push(eval_v(x, cx)?);
            }
            method(*m, r, &a)?
        }
        Fast::Local(i) => cx.locals.get(*i)?.clone(),
        Fast::Text(x) => match eval_v(x, cx)? {
            v @ (V::S(_) | V::O(_)) => v,
            _ => return None,
        },
        Fast::Block(lets, v) => {
            let mut inner = Cx {
                it: cx.it.clone(),
                locals: Vec::with_capacity(lets.len()),
            };
            for l in lets {
                let x = eval_v(l, &inner)?;
                inner.locals.push(x);
            }
            eval_v(v, &inner)?
        }
    })
}

/// `s.split(b as char).nth(k)` for an ASCII byte `b` (never inside a UTF-8 sequence).
fn nth_piece(s: &str, b: u8, k: usize) -> Option<&str> {
    let mut start = 0;
    let mut n = 0;
    for (i, &c) in s.as_bytes().iter().enumerate() {
        if c == b {
            if n == k {
                return s.get(start..i);
            }
            n += 1;
            start = i + 1;
        }
    }
    if n == k {
        s.get(start..)
    } else {
        None
    }
}

/// A part of a string value: borrowed from a borrowed string, else a new string.
fn sub<'a>(v: V<'a>, f: impl for<'s> Fn(&'s str) -> Option<&'s str>) -> Option<V<'a>> {
    Some(match v {
        V::S(s) => V::S(f(s)?),
        V::O(s) => {
            let part = f(&s)?;
            if part.len() == s.len() {
                V::O(s)
            } else {
                V::O(new_string(part))
            }
        }
        _ => return None,
    })
}

fn method<'a>(m: Method, r: V<'a>, args: &[V<'a>]) -> Option<V<'a>> {
    let s = r.text()?;
    Some(match (m, args) {
        // Rhai's `parse_int`: base 10 after trimming; an error is Rhai's to report.
        (Method::ParseInt, []) => V::I(INT::from_str_radix(s.trim(), 10).ok()?),
        (Method::Len, []) => V::I(INT::try_from(s.chars().count()).unwrap_or(INT::MAX)),
        (Method::Contains, [x]) => V::B(s.contains(x.text()?)),
        (Method::StartsWith, [x]) => V::B(s.starts_with(x.text()?)),
        (Method::EndsWith, [x]) => V::B(s.ends_with(x.text()?)),
        // As Rhai's: unchanged when already all upper (lower) case.
        (Method::ToUpper, []) => {
            if s.chars().all(char::is_uppercase) {
                return Some(r);
            }
            if s.is_ascii() {
                let mut up = new_string(s);
                up.make_mut().make_ascii_uppercase();
                return Some(V::O(up));
            }
            V::O(s.to_uppercase().into())
        }
        (Method::ToLower, []) => {
            if s.is_empty() || s.chars().all(char::is_lowercase) {
                return Some(r);
            }
            if s.is_ascii() {
                let mut low = new_string(s);
                low.make_mut().make_ascii_lowercase();
                return Some(V::O(low));
            }
            V::O(s.to_lowercase().into())
        }
        // flow's value-returning `trim`.
        (Method::Trim, []) => return sub(r, |s| Some(s.trim())),
        (Method::Field, [V::I(k)]) => {
            return sub(r, |s| Some(crate::script::strings::field_ws(s, *k)))
        }
        (Method::Field, [V::I(k), sep]) => {
            let sep = sep.text()?;
            if sep.is_empty() {
                return None; // flow's error
            }
            return sub(r, |s| {
                Some(crate::script::strings::field(s, s.split(sep), *k))
            });
        }
        _ => return None,
    })
}

fn binop<'a>(op: Op, a: V<'a>, b: V<'a>) -> Option<V<'a>> {
    use Op::{Add, Div, Mul, Rem, Sub};
    // Integers first: the commonest case, without the text checks.
    if let (V::I(x), V::I(y)) = (&a, &b) {
        let (x, y) = (*x, *y);
        return Some(match op {
            Add => V::I(x.checked_add(y)?),
            Sub => V::I(x.checked_sub(y)?),
            Mul => V::I(x.checked_mul(y)?),
            Div => V::I(x.checked_div(y)?),
            Rem => V::I(x.checked_rem(y)?),
            _ => V::B(compare(op, &x, &y)?),
        });
    }
    if let (Some(x), Some(y)) = (a.text(), b.text()) {
        return matches!(op, Op::Eq | Op::Ne)
            .then(|| compare(op, &x, &y))
            .flatten()
            .map(V::B);
    }
    Some(match (a, b) {
        (V::F(x), V::F(y)) => match op {
            Add => V::F(x + y),
            Sub => V::F(x - y),
            Mul => V::F(x * y),
            _ => V::B(compare(op, &x, &y)?),
        },
        (V::B(x), V::B(y)) if matches!(op, Op::Eq | Op::Ne) => V::B(compare(op, &x, &y)?),
        _ => return None,
    })
}

/// A comparison operator applied to two values of one type; `None` for other operators.
fn compare<T: PartialOrd>(op: Op, x: &T, y: &T) -> Option<bool> {
    Some(match op {
        Op::Eq => x == y,
        Op::Ne => x != y,
        Op::Lt => x < y,
        Op::Le => x <= y,
        Op::Gt => x > y,
        Op::Ge => x >= y,
        _ => return None,
    })
}

/// Rhai's string of `s`, made with one allocation for the text (`ImmutableString::from`
/// a long `&str` makes a `String` first, then copies it again).
pub(crate) fn new_string(s: &str) -> ImmutableString {
    let mut out = ImmutableString::new();
    out.make_mut().push_str(s);
    out
}

/// Evaluate to text and give it to `f`, borrowed when it is a part of the item; `None`
/// when the value is not text or Rhai must decide.
pub(crate) fn eval_text<R>(e: &Fast, it: &Dynamic, f: impl FnOnce(&str) -> R) -> Option<R> {
    let guard = it.read_lock::<ImmutableString>();
    let item = match &guard {
        Some(s) => V::S(s.as_str()),
        None => load(it)?,
    };
    eval_v(e, &Cx::of(item))?.text().map(f)
}

/// [`eval`] of an item the caller gives away (a `map`'s): `it.to_upper()` and
/// `it.to_lower()` of an ASCII item no one else holds change its text where it is, with no
/// new string. `Err` gives the item back: Rhai must decide.
pub(crate) fn eval_owned(e: &Fast, it: Dynamic) -> Result<Dynamic, Dynamic> {
    if let Ok(i) = it.as_int() {
        return int_item(e, i).ok_or(it);
    }
    if let Fast::Method(m @ (Method::ToUpper | Method::ToLower), recv, args) = e {
        if matches!(**recv, Fast::It) && args.is_empty() {
            let mut s = it.try_cast_result::<ImmutableString>()?;
            if s.is_ascii() {
                let t = s.make_mut();
                if *m == Method::ToUpper {
                    t.make_ascii_uppercase();
                } else {
                    t.make_ascii_lowercase();
                }
                return Ok(Dynamic::from(s));
            }
            let it = Dynamic::from(s);
            return eval(e, &it).ok_or(it);
        }
    }
    eval(e, &it).ok_or(it)
}

/// Evaluate an expression that does not read the item (see [`Fast::uses_it`]); `None`
/// means "let Rhai do it".
pub(crate) fn eval_const(e: &Fast) -> Option<Dynamic> {
    if e.uses_it() {
        return None;
    }
    eval_v(e, &Cx::of(V::I(0))).map(dynamic)
}

/// A result as a Rhai value (a borrowed string copied).
fn dynamic(v: V<'_>) -> Dynamic {
    match v {
        V::I(i) => Dynamic::from_int(i),
        V::F(f) => Dynamic::from_float(f),
        V::B(b) => Dynamic::from_bool(b),
        V::S(s) => Dynamic::from(new_string(s)),
        V::O(s) => Dynamic::from(s),
    }
}

/// A number or a truth value: what arithmetic over an integer item is made of. Small and
/// `Copy`, so that evaluating it passes values in registers, not through memory.
#[derive(Clone, Copy)]
enum N {
    I(INT),
    F(f64),
    B(bool),
}

/// Why [`num`] gave no value.
enum NotNum {
    /// The expression is more than arithmetic (text, locals): [`eval_v`] evaluates it.
    Shape,
    /// An operation it does not handle exactly (overflow, mixed types): Rhai decides.
    Rhai,
}

/// [`eval_v`] for an integer item and an expression of arithmetic, comparisons and logic
/// only (`it * 2`, `it % 3 == 0`): the same values, with no string in sight.
fn num(e: &Fast, it: INT) -> Result<N, NotNum> {
    use NotNum::{Rhai, Shape};
    Ok(match e {
        Fast::It => N::I(it),
        Fast::Int(i) => N::I(*i),
        Fast::Float(f) => N::F(*f),
        Fast::Bool(b) => N::B(*b),
        Fast::Not(x) => match num(x, it)? {
            N::B(b) => N::B(!b),
            _ => return Err(Rhai),
        },
        Fast::Neg(x) => match num(x, it)? {
            N::I(i) => N::I(i.checked_neg().ok_or(Rhai)?),
            N::F(f) => N::F(-f),
            N::B(_) => return Err(Rhai),
        },
        Fast::Bin(op @ (Op::And | Op::Or), a, b) => match num(a, it)? {
            N::B(x) if x == (*op == Op::Or) => N::B(x),
            N::B(_) => match num(b, it)? {
                N::B(y) => N::B(y),
                _ => return Err(Rhai),
            },
            _ => return Err(Rhai),
        },
        Fast::BinInt(op, a, k) => {
            // `it OP k`, the commonest node, without a step for `it`.
            let x = match **a {
                Fast::It => it,
                _ => match num(a, it)? {
                    N::I(x) => x,
                    _ => return Err(Rhai),
                },
            };
            int_op(*op, x, *k)?
        }
        Fast::Bin(op, a, b) => {
            use Op::{Add, Mul, Sub};
            match (num(a, it)?, num(b, it)?) {
                (N::I(x), N::I(y)) => int_op(*op, x, y)?,
                (N::F(x), N::F(y)) => match op {
                    Add => N::F(x + y),
                    Sub => N::F(x - y),
                    Mul => N::F(x * y),
                    _ => N::B(compare(*op, &x, &y).ok_or(Rhai)?),
                },
                (N::B(x), N::B(y)) if matches!(op, Op::Eq | Op::Ne) => {
                    N::B(compare(*op, &x, &y).ok_or(Rhai)?)
                }
                _ => return Err(Rhai),
            }
        }
        _ => return Err(Shape),
    })
}

/// An operator on two integers, as [`binop`] applies it.
#[inline]
fn int_op(op: Op, x: INT, y: INT) -> Result<N, NotNum> {
    use Op::{Add, Div, Mul, Rem, Sub};
    let r = match op {
        Add => x.checked_add(y),
        Sub => x.checked_sub(y),
        Mul => x.checked_mul(y),
        Div => x.checked_div(y),
        Rem => x.checked_rem(y),
        _ => return compare(op, &x, &y).map(N::B).ok_or(NotNum::Rhai),
    };
    r.map(N::I).ok_or(NotNum::Rhai)
}

/// [`eval`] of an integer item.
#[inline]
pub(crate) fn int_item(e: &Fast, i: INT) -> Option<Dynamic> {
    match num(e, i) {
        Ok(N::I(i)) => Some(Dynamic::from_int(i)),
        Ok(N::F(f)) => Some(Dynamic::from_float(f)),
        Ok(N::B(b)) => Some(Dynamic::from_bool(b)),
        Err(NotNum::Rhai) => None,
        Err(NotNum::Shape) => eval_v(e, &Cx::of(V::I(i))).map(dynamic),
    }
}

/// Evaluate a condition (a `filter`'s): `None` means "let Rhai do it" (which also reports a
/// value that is not true or false).
pub(crate) fn test(e: &Fast, it: &Dynamic) -> Option<bool> {
    if let Ok(i) = it.as_int() {
        return match num(e, i) {
            Ok(N::B(b)) => Some(b),
            Ok(_) | Err(NotNum::Rhai) => None,
            Err(NotNum::Shape) => match eval_v(e, &Cx::of(V::I(i)))? {
                V::B(b) => Some(b),
                _ => None,
            },
        };
    }
    let guard = it.read_lock::<ImmutableString>();
    let item = match &guard {
        Some(s) => V::S(s.as_str()),
        None => load(it)?,
    };
    match eval_v(e, &Cx::of(item))? {
        V::B(b) => Some(b),
        _ => None,
    }
}

/// Evaluate; `None` means "let Rhai do it".
pub(crate) fn eval(e: &Fast, it: &Dynamic) -> Option<Dynamic> {
    if let Fast::It = e {
        return Some(it.clone());
    }
    // A number: no string to borrow, nothing to share.
    if let Ok(i) = it.as_int() {
        return int_item(e, i);
    }
    let guard = it.read_lock::<ImmutableString>();
    let item = match &guard {
        Some(s) => V::S(s.as_str()),
        None => load(it)?,
    };
    let cx = Cx::of(item);
    let item = &cx.it;
    Some(match eval_v(e, &cx)? {
        // The item itself, unchanged: share it rather than copy it.
        V::S(s)
            if s.len() == item.text().map_or(usize::MAX, str::len)
                && s.as_ptr() == item.text().map_or(std::ptr::null(), str::as_ptr) =>
        {
            it.clone()
        }
        v => dynamic(v),
    })
}
