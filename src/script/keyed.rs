//! Keyed operators on arrays of records, named as Nextflow's and SQL's users look for them:
//! `group_by(xs, f)` (SQL's GROUP BY), `group_tuple(xs)` (Nextflow's `groupTuple`) and
//! `join_by(left, right)` (Nextflow's `join`: tuples matched by their first element).
//! Keys keep the order in which they were first seen.

use rhai::{Array, Dynamic, Engine, EvalAltResult, FnPtr, Map, NativeCallContext};

type RResult<T> = Result<T, Box<EvalAltResult>>;

pub(crate) fn register(e: &mut Engine) {
    e.register_fn("group_by", |ctx: NativeCallContext, xs: Array, f: FnPtr| {
        group_by(&ctx, xs, &f)
    });
    e.register_fn("group_tuple", group_tuple);
    e.register_fn("join_by", join_by);
}

/// A key as a map key: a string as it is, anything else in its display form.
fn key_text(k: &Dynamic) -> String {
    match k.read_lock::<rhai::ImmutableString>() {
        Some(s) => s.to_string(),
        None => crate::script::display::display(k),
    }
}

/// `xs.group_by(|x| key)`: a map from each key to the items that have it, in input order.
fn group_by(ctx: &NativeCallContext, xs: Array, f: &FnPtr) -> RResult<Map> {
    let mut m = Map::new();
    for x in xs {
        let k: Dynamic = f.call_raw(ctx, None, [x.clone()])?;
        let entry = m
            .entry(key_text(&k).into())
            .or_insert_with(|| Dynamic::from_array(Array::new()));
        if let Some(mut a) = entry.write_lock::<Array>() {
            a.push(x);
        }
    }
    Ok(m)
}

/// The first element of a tuple (an array of at least two), or an error naming the item.
fn tuple_key(x: &Dynamic, what: &str) -> RResult<(Dynamic, Array)> {
    match x.clone().into_array() {
        Ok(mut a) if a.len() >= 2 => {
            let k = a.remove(0);
            Ok((k, a))
        }
        _ => Err(format!(
            "`{what}` takes tuples `[key, value, …]`, and this item is {}",
            crate::script::display::display(x)
        )
        .into()),
    }
}

/// `group_tuple(xs)`: `[k, v]` tuples to one `[k, [v, …]]` per key, keys in first-seen order
/// (Nextflow's `groupTuple`; a tuple of more values groups each position: `[k, [a…], [b…]]`).
fn group_tuple(xs: Array) -> RResult<Array> {
    let mut order: Vec<(Dynamic, Vec<Array>)> = vec![];
    let mut at = std::collections::HashMap::new();
    for x in &xs {
        let (k, rest) = tuple_key(x, "group_tuple")?;
        let i = *at.entry(key_text(&k)).or_insert_with(|| {
            order.push((k.clone(), vec![Array::new(); rest.len()]));
            order.len() - 1
        });
        let cols = &mut order[i].1;
        if cols.len() < rest.len() {
            cols.resize(rest.len(), Array::new());
        }
        for (c, v) in cols.iter_mut().zip(rest) {
            c.push(v);
        }
    }
    Ok(order
        .into_iter()
        .map(|(k, cols)| {
            let mut t = vec![k];
            t.extend(cols.into_iter().map(Dynamic::from_array));
            Dynamic::from_array(t)
        })
        .collect())
}

/// `join_by(left, right)`: tuples of both matched by their first element, `[k, a…, b…]`, in
/// the left's order; a key missing on either side gives nothing (Nextflow's `join`, SQL's
/// inner join). A key repeated on the right joins each of its tuples.
fn join_by(left: Array, right: Array) -> RResult<Array> {
    let mut by_key: std::collections::HashMap<String, Vec<Array>> =
        std::collections::HashMap::new();
    for x in &right {
        let (k, rest) = tuple_key(x, "join_by")?;
        by_key.entry(key_text(&k)).or_default().push(rest);
    }
    let mut out = Array::new();
    for x in &left {
        let (k, rest) = tuple_key(x, "join_by")?;
        for r in by_key.get(&key_text(&k)).map_or(&[][..], Vec::as_slice) {
            let mut t = vec![k.clone()];
            t.extend(rest.iter().cloned());
            t.extend(r.iter().cloned());
            out.push(Dynamic::from_array(t));
        }
    }
    Ok(out)
}
