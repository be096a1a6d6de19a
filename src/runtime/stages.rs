//! Item stages: each runs on its own thread, reading batches from a bounded channel and
//! sending batches on. A failed send means downstream is done: the stage stops quietly.

pub(crate) mod count_by;

use super::cancel::CancelToken;
use super::eval::{Compiled, Env, Evaluator};
use super::record::{Inbox, Outbox, StageMeter};
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

/// What an element-wise stage does with its block's value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Does {
    Map,
    Filter,
    FlatMap,
    Each,
}

/// An element-wise stage (`map`, `filter`, `flat_map`, `each`, a pool the plan runs as a
/// `map`) ready to apply to batches.
struct Elementwise {
    does: Does,
    span: Span,
    f: Compiled,
}

impl Elementwise {
    /// The stage `kind` at `span`, compiled; `None` for a stage that is not element-wise.
    fn new(kind: &StageKind, span: Span, env: &Env) -> Result<Option<Self>, RunError> {
        let (does, c) = match kind {
            StageKind::Map(c) => (Does::Map, c),
            StageKind::Filter(c) => (Does::Filter, c),
            StageKind::FlatMap(c) => (Does::FlatMap, c),
            StageKind::Each(c) => (Does::Each, c),
            StageKind::Pool(p) => match crate::plan::cheap_pool_map(p) {
                Some(r) => {
                    let c = crate::ast::Callable::Block(r.clone());
                    let f = env.compile_callable(&c)?;
                    return Ok(Some(Elementwise {
                        does: Does::Map,
                        span,
                        f,
                    }));
                }
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
        Ok(Some(Elementwise {
            does,
            span,
            f: env.compile_callable(c)?,
        }))
    }
}

impl Elementwise {
    fn apply(&self, ev: &mut Evaluator, batch: Batch) -> Result<Batch, RunError> {
        let fast = self.f.fast();
        match (fast, self.does) {
            // The native fast path first, in place in the batch; Rhai for what it declines.
            (Some(f), Does::Map) => {
                let mut batch = batch;
                for slot in &mut batch {
                    // An integer item is replaced by its value where it is (no take, no
                    // drop of a placeholder).
                    if let Ok(i) = slot.as_int() {
                        if let Some(v) = crate::script::fastpath::int_item(f, i) {
                            *slot = v;
                            continue;
                        }
                    }
                    let it = std::mem::take(slot);
                    *slot = match crate::script::fastpath::eval_owned(f, it) {
                        Ok(v) => v,
                        Err(it) => self.call(ev, it)?,
                    };
                }
                Ok(batch)
            }
            (Some(f), Does::Filter) => {
                let mut batch = batch;
                let mut kept = 0;
                for i in 0..batch.len() {
                    let keep = match crate::script::fastpath::test(f, &batch[i]) {
                        Some(b) => b,
                        None => {
                            let r = self.call(ev, batch[i].clone())?;
                            self.truth(r, &batch[i])?
                        }
                    };
                    if keep {
                        batch.swap(kept, i);
                        kept += 1;
                    }
                }
                batch.truncate(kept);
                Ok(batch)
            }
            _ => self.apply_rhai(ev, batch),
        }
    }

    /// The stage's block or `fn` on one item, by Rhai.
    fn call(&self, ev: &mut Evaluator, it: Dynamic) -> Result<Dynamic, RunError> {
        ev.call(&self.f, it.clone(), self.span)
            .map_err(|e| e.with_item(&display(&it)))
    }

    /// A `filter`'s verdict on `it`.
    fn truth(&self, r: Dynamic, it: &Dynamic) -> Result<bool, RunError> {
        r.as_bool().map_err(|t| {
            let message = format!("`filter` needs true or false, got {t}");
            RunError::new(self.span, RunErrorKind::Value { message }).with_item(&display(it))
        })
    }

    fn apply_rhai(&self, ev: &mut Evaluator, batch: Batch) -> Result<Batch, RunError> {
        let mut out = Vec::with_capacity(batch.len());
        for it in batch {
            let r = self.call(ev, it.clone())?;
            match self.does {
                Does::Map => out.push(r),
                Does::Filter => {
                    if self.truth(r, &it)? {
                        out.push(it);
                    }
                }
                Does::FlatMap => match r.try_cast::<Array>() {
                    Some(a) => out.extend(a),
                    None => {
                        let message = "`flat_map` needs an array".to_string();
                        return Err(RunError::new(self.span, RunErrorKind::Value { message })
                            .with_item(&display(&it)));
                    }
                },
                Does::Each => {}
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
    rx: Inbox<'_>,
    tx: &Outbox<'_>,
    token: &CancelToken,
) -> Result<(), RunError> {
    let Some(stage) = Elementwise::new(kind, span, env)? else {
        return Ok(());
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

/// Consecutive element-wise stages, compiled, that take each batch through all of them.
pub(crate) struct Fused(Vec<Elementwise>);

impl Fused {
    pub(crate) fn new(group: &[crate::ast::Stage], env: &Env) -> Result<Self, RunError> {
        let mut fused = Vec::with_capacity(group.len());
        for st in group {
            fused.extend(Elementwise::new(&st.kind, st.span, env)?);
        }
        Ok(Fused(fused))
    }

    pub(crate) fn apply(&self, ev: &mut Evaluator, mut batch: Batch) -> Result<Batch, RunError> {
        for stage in &self.0 {
            if batch.is_empty() {
                break;
            }
            batch = stage.apply(ev, batch)?;
        }
        Ok(batch)
    }
}

/// Run consecutive element-wise stages on one thread, each batch through all of them.
pub(crate) fn run_fused(
    group: &[crate::ast::Stage],
    env: &Env,
    rx: &Receiver<Batch>,
    tx: &Sender<Batch>,
    token: &CancelToken,
    meter: Option<&StageMeter>,
) -> Result<(), RunError> {
    let (rx, tx) = (Inbox::new(rx, meter), Outbox::new(tx, meter));
    let fused = Fused::new(group, env)?;
    let mut ev = env.evaluator();
    for batch in rx {
        if token.is_cancelled() {
            return Ok(());
        }
        let batch = fused.apply(&mut ev, batch)?;
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
    meter: Option<&StageMeter>,
) -> Result<(), RunError> {
    let (rx, tx) = (Inbox::new(rx, meter), Outbox::new(tx, meter));
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
            return run_elementwise(kind, span, env, rx, &tx, token);
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
            let mut all: Vec<Dynamic> = rx.flatten().collect();
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
