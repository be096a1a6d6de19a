//! Item stages: each runs on its own thread, reading batches from a bounded channel and
//! sending batches on. A failed send means downstream is done: the stage stops quietly.

pub(crate) mod count_by;

use super::cancel::CancelToken;
use super::eval::{Compiled, Env, Evaluator};
use super::run_error::{RunError, RunErrorKind};
use super::value::{self, Batch};
use crate::ast::{Amount, StageKind};
use crate::script::display::display;
use crate::Span;
use crossbeam_channel::{Receiver, Sender};
use rhai::{Array, Dynamic};

/// Evaluate a count (`take 3`, `batch n`).
pub(crate) fn amount(env: &Env, a: &Amount) -> Result<i64, RunError> {
    match a {
        Amount::Int(n, _) => Ok(*n),
        Amount::Expr(r) => {
            let v = env.eval(r)?;
            v.as_int().map_err(|t| {
                RunError::new(
                    r.span,
                    RunErrorKind::Value {
                        message: format!("expected a number, got {t}"),
                    },
                )
            })
        }
    }
}

fn usize_of(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

/// An element-wise stage (`map`, `filter`, `flat_map`, `each`) ready to apply to batches.
struct Elementwise<'a> {
    kind: &'a StageKind,
    span: Span,
    f: Compiled,
}

impl Elementwise<'_> {
    fn apply(&self, ev: &mut Evaluator, batch: Batch) -> Result<Batch, RunError> {
        let span = self.span;
        let value_err = |message: String, item: &Dynamic| {
            RunError::new(span, RunErrorKind::Value { message }).with_item(&display(item))
        };
        let mut out = Vec::with_capacity(batch.len());
        let fast = match &self.f {
            Compiled::Block(_, Some(fast), ..) => Some(fast),
            _ => None,
        };
        for it in batch {
            // A map's item is given to the native fast path (it may change it in place);
            // back from it, or for other stages, Rhai gets its own copy.
            let it = match (fast, &self.kind) {
                (Some(f), StageKind::Map(_)) => match crate::script::fastpath::eval_owned(f, it) {
                    Ok(v) => {
                        out.push(v);
                        continue;
                    }
                    Err(it) => it,
                },
                _ => it,
            };
            let fast = fast.filter(|_| !matches!(self.kind, StageKind::Map(_)));
            let r = match fast.and_then(|f| crate::script::fastpath::eval(f, &it)) {
                Some(v) => v,
                None => ev
                    .call(&self.f, it.clone(), span)
                    .map_err(|e| e.with_item(&display(&it)))?,
            };
            match self.kind {
                StageKind::Map(_) => out.push(r),
                StageKind::Filter(_) => match r.as_bool() {
                    Ok(true) => out.push(it),
                    Ok(false) => {}
                    Err(t) => {
                        return Err(value_err(
                            format!("`filter` needs true or false, got {t}"),
                            &it,
                        ))
                    }
                },
                StageKind::FlatMap(_) => match r.try_cast::<Array>() {
                    Some(a) => out.extend(a),
                    None => return Err(value_err("`flat_map` needs an array".into(), &it)),
                },
                _ => {}
            }
        }
        Ok(out)
    }
}

/// Run an element-wise stage, batch by batch. (Fusing consecutive stages onto one thread
/// was measured and rejected: at ~50 ns per item per stage, two cores beat one.)
fn run_elementwise(
    kind: &StageKind,
    span: Span,
    env: &Env,
    rx: &Receiver<Batch>,
    tx: &Sender<Batch>,
    token: &CancelToken,
) -> Result<(), RunError> {
    let (StageKind::Map(c) | StageKind::Filter(c) | StageKind::FlatMap(c) | StageKind::Each(c)) =
        kind
    else {
        return Ok(());
    };
    let stage = Elementwise {
        kind,
        span,
        f: env.compile_callable(c)?,
    };
    let mut ev = env.evaluator();
    for batch in rx {
        if token.is_cancelled() {
            return Ok(());
        }
        let out = stage.apply(&mut ev, batch)?;
        if !out.is_empty() && tx.send(out).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// Run consecutive element-wise stages on one thread, each batch through all of them.
pub(crate) fn run_fused(
    group: &[(StageKind, Span)],
    env: &Env,
    rx: &Receiver<Batch>,
    tx: &Sender<Batch>,
    token: &CancelToken,
) -> Result<(), RunError> {
    let mut fused = Vec::with_capacity(group.len());
    for (kind, span) in group {
        let (StageKind::Map(c) | StageKind::Filter(c) | StageKind::FlatMap(c) | StageKind::Each(c)) =
            kind
        else {
            continue;
        };
        fused.push(Elementwise {
            kind,
            span: *span,
            f: env.compile_callable(c)?,
        });
    }
    let mut ev = env.evaluator();
    for mut batch in rx {
        for stage in &fused {
            if token.is_cancelled() {
                return Ok(());
            }
            batch = stage.apply(&mut ev, batch)?;
        }
        if !batch.is_empty() && tx.send(batch).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// Run one item stage until its input ends, downstream closes, or the token is cancelled.
pub(crate) fn run(
    kind: &StageKind,
    span: Span,
    env: &Env,
    rx: &Receiver<Batch>,
    tx: &Sender<Batch>,
    token: &CancelToken,
) -> Result<(), RunError> {
    let mut ev = env.evaluator();
    let callable = |c| env.compile_callable(c);
    let value_err = |message: String, item: &Dynamic| {
        RunError::new(span, RunErrorKind::Value { message }).with_item(&display(item))
    };
    macro_rules! send {
        ($b:expr) => {
            if $b.is_empty() {
            } else if tx.send($b).is_err() {
                return Ok(());
            }
        };
    }
    match kind {
        StageKind::Map(_) | StageKind::Filter(_) | StageKind::FlatMap(_) | StageKind::Each(_) => {
            return run_elementwise(kind, span, env, rx, tx, token);
        }
        StageKind::Take(a) => {
            let mut left = usize_of(amount(env, a)?);
            if left == 0 {
                return Ok(());
            }
            for mut batch in rx {
                if batch.len() >= left {
                    batch.truncate(left);
                    let _ = tx.send(batch);
                    return Ok(());
                }
                left -= batch.len();
                send!(batch);
            }
        }
        StageKind::Skip(a) => {
            let mut left = usize_of(amount(env, a)?);
            for mut batch in rx {
                if left > 0 {
                    let n = left.min(batch.len());
                    batch.drain(..n);
                    left -= n;
                }
                send!(batch);
            }
        }
        StageKind::Batch(a) => {
            let n = usize_of(amount(env, a)?).max(1);
            let mut cur: Array = Vec::with_capacity(n);
            for batch in rx {
                let mut out = vec![];
                for it in batch {
                    cur.push(it);
                    if cur.len() == n {
                        out.push(Dynamic::from_array(std::mem::replace(
                            &mut cur,
                            Vec::with_capacity(n),
                        )));
                    }
                }
                send!(out);
            }
            if !cur.is_empty() {
                let _ = tx.send(vec![Dynamic::from_array(cur)]);
            }
        }
        StageKind::Sort(by) => {
            let mut all: Vec<Dynamic> = rx.iter().flatten().collect();
            if token.is_cancelled() {
                return Ok(());
            }
            match by {
                None => all.sort_by(value::compare),
                Some(c) => {
                    let f = callable(c)?;
                    let mut keyed = Vec::with_capacity(all.len());
                    for it in all {
                        let k = ev
                            .call(&f, it.clone(), span)
                            .map_err(|e| e.with_item(&display(&it)))?;
                        keyed.push((k, it));
                    }
                    keyed.sort_by(|a, b| value::compare(&a.0, &b.0));
                    all = keyed.into_iter().map(|(_, v)| v).collect();
                }
            }
            for chunk in all.chunks(256) {
                send!(chunk.to_vec());
            }
        }
        StageKind::Uniq => {
            let mut last: Option<Dynamic> = None;
            for batch in rx {
                let mut out = vec![];
                for it in batch {
                    if last.as_ref().is_some_and(|l| value::same(l, &it)) {
                        continue;
                    }
                    last = Some(it.clone());
                    out.push(it);
                }
                send!(out);
            }
        }
        StageKind::Lines(sep) => {
            for batch in rx {
                let mut out = vec![];
                for it in batch {
                    let s = display(&it);
                    match sep.as_deref() {
                        None => out.extend(s.lines().map(|l| Dynamic::from(l.to_string()))),
                        Some(sep) => out.extend(split_records(&s, sep).map(Dynamic::from)),
                    }
                }
                send!(out);
            }
        }
        StageKind::Json => {
            for batch in rx {
                let mut out = Vec::with_capacity(batch.len());
                for it in batch {
                    let s = display(&it);
                    match serde_json::from_str(&s) {
                        Ok(v) => out.push(value::from_json(v)),
                        Err(e) => return Err(value_err(format!("invalid JSON: {e}"), &it)),
                    }
                }
                send!(out);
            }
        }
        StageKind::ToJson => {
            for batch in rx {
                let out: Batch = batch
                    .iter()
                    .map(|it| Dynamic::from(value::to_json(it).to_string()))
                    .collect();
                send!(out);
            }
        }
        _ => {}
    }
    Ok(())
}

/// `lines SEP`: the records of `s` separated by `sep`, as `find -print0` writes them (a
/// separator at the very end closes the last record rather than starting an empty one).
fn split_records<'a>(s: &'a str, sep: &str) -> impl Iterator<Item = String> + 'a {
    let body = s.strip_suffix(sep).unwrap_or(s);
    let parts: Vec<String> = if body.is_empty() && s.len() != body.len() {
        vec![String::new()]
    } else if s.is_empty() {
        vec![]
    } else {
        body.split(sep).map(str::to_string).collect()
    };
    parts.into_iter()
}

#[cfg(test)]
mod lines_sep_tests {
    use super::split_records;

    #[test]
    fn splits_nul_records_and_drops_the_closing_separator() {
        let got: Vec<String> = split_records("a b\0c\0", "\0").collect();
        assert_eq!(got, vec!["a b", "c"]);
        let got: Vec<String> = split_records("x,,y", ",").collect();
        assert_eq!(got, vec!["x", "", "y"]);
        assert_eq!(split_records("", ",").count(), 0);
    }
}
