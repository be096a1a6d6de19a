//! `count_by F`: how many items gave each key, as a map (key as text → count). Keys are
//! counted natively; a key the fast path can compute is borrowed from the item, not copied.

use crate::runtime::eval::{Compiled, Evaluator};
use crate::runtime::run_error::RunError;
use crate::runtime::value::Batch;
use crate::script::display::display;
use crate::Span;
use rhai::{Dynamic, ImmutableString};

pub(crate) fn run(
    ev: &mut Evaluator,
    f: &Compiled,
    batches: impl Iterator<Item = Batch>,
    span: Span,
) -> Result<Dynamic, RunError> {
    let fast = f.fast();
    let mut counts = crate::runtime::value::KeyCounts::default();
    // (A count past i64::MAX would take centuries of items: the overflow check is moot.)
    let mut bump = |k: &str| {
        crate::runtime::value::add_count(&mut counts, k, 1);
    };
    for b in batches {
        for it in b {
            let done = fast.and_then(|e| crate::script::fastpath::eval_text(e, &it, &mut bump));
            if done.is_none() {
                let k = ev
                    .call(f, it.clone(), span)
                    .map_err(|e| e.with_item(&display(&it)))?;
                match k.read_lock::<ImmutableString>() {
                    Some(s) => bump(&s),
                    None => bump(&display(&k)),
                };
            }
        }
    }
    Ok(crate::runtime::value::counts_into_map(counts))
}
