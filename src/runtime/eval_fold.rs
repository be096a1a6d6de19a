//! `reduce`: the accumulator kept in the evaluator's scope from item to item.

use super::count::Counts;
use super::{bind_lets, guard_panics, Compiled, Evaluator};
use crate::runtime::run_error::RunError;
use crate::script::display::display;
use crate::Span;
use rhai::{Dynamic, AST};

/// How a fold goes on in Rhai (from the start, or from the item the native counts could not
/// take).
enum Rest<'a> {
    /// A block, or a `fn` Rhai calls.
    General,
    /// `reduce INIT f` with a script `fn` run inline.
    Inline(&'a super::inline::Inline),
    /// `{ f(acc, …) }`.
    AccCall(Box<super::inline::AccCall>, &'a super::Snippet),
}

impl Evaluator {
    /// `reduce`: fold `batches` into `acc` with `c`. A block keeps `acc` in its scope from
    /// item to item, and when it ends in a bare `acc` (`{ acc[k] = 1; acc }`) that final
    /// read, which would deep-copy a map or array per item, is left out: the accumulator is
    /// changed in place and taken from the scope at the end. Linear whatever its size.
    pub(crate) fn fold(
        &mut self,
        c: &Compiled,
        acc: Dynamic,
        mut batches: impl Iterator<Item = crate::runtime::value::Batch>,
        span: Span,
    ) -> Result<Dynamic, RunError> {
        // What folds an item the native counts cannot take, and the counts themselves.
        let (counting, rest) = match c {
            Compiled::Block(ast, None, snip, None) => match self.acc_call(ast, &snip.code) {
                Some(call) => (
                    call.counting(&self.env),
                    Rest::AccCall(Box::new(call), snip),
                ),
                None => (self.env.counting(&snip.code), Rest::General),
            },
            Compiled::Block(_, None, snip, _) => (self.env.counting(&snip.code), Rest::General),
            Compiled::Inline(f) if f.arity() == 2 => (f.counting(&self.env), Rest::Inline(f)),
            _ => (None, Rest::General),
        };
        let Some((counting, mut counts)) = counting.and_then(|k| Some((k, Counts::start(&acc)?)))
        else {
            return self.fold_rest(c, rest, acc, batches, span);
        };
        while let Some(b) = batches.next() {
            let mut items = b.into_iter();
            while let Some(it) = items.next() {
                if !counts.add(&counting, &it) {
                    // Rhai takes over from this item, with the counts so far as the map.
                    let left: Vec<Dynamic> = std::iter::once(it).chain(items).collect();
                    let batches = std::iter::once(left).chain(batches);
                    return self.fold_rest(c, rest, counts.into_map(), batches, span);
                }
            }
        }
        Ok(counts.into_map())
    }

    fn fold_rest(
        &mut self,
        c: &Compiled,
        rest: Rest<'_>,
        acc: Dynamic,
        batches: impl Iterator<Item = crate::runtime::value::Batch>,
        span: Span,
    ) -> Result<Dynamic, RunError> {
        match rest {
            Rest::General => self.fold_general(c, acc, batches, span),
            Rest::Inline(f) => self.fold_inline(f, acc, batches, span),
            Rest::AccCall(call, snip) => self.fold_acc_call(&call, acc, batches, span, snip),
        }
    }

    fn fold_general(
        &mut self,
        c: &Compiled,
        mut acc: Dynamic,
        batches: impl Iterator<Item = crate::runtime::value::Batch>,
        span: Span,
    ) -> Result<Dynamic, RunError> {
        let Compiled::Block(ast, _, snip, lets) = c else {
            for it in batches.flatten() {
                let item = display(&it);
                acc = self
                    .call_with(c, &[("acc", acc), ("it", it)], span)
                    .map_err(|e| e.with_item(&item))?;
            }
            return Ok(acc);
        };
        let body = body_without_final(ast, "acc", &snip.code);
        let rest = lets
            .as_ref()
            .map(|l| (l, body_without_final(&l.rest, "acc", &snip.code)));
        let shared = &*self.env.shared;
        self.scope.push("acc", acc);
        let keep = self.scope.len();
        let mut failed = None;
        'items: for b in batches {
            for it in b {
                self.scope.push("it", it.clone());
                // The block (or its rest after fast `let`s), and whether its final `acc` is
                // left out.
                let (run, stripped) = match &rest {
                    Some((l, r)) if bind_lets(&mut self.scope, l, &it) => {
                        (r.as_ref().unwrap_or(&l.rest), r.is_some())
                    }
                    _ => (body.as_ref().unwrap_or(ast), body.is_some()),
                };
                let scope = &mut self.scope;
                let r = guard_panics(span, || {
                    shared.engine.eval_ast_with_scope::<Dynamic>(scope, run)
                });
                let r = match r {
                    Ok(Ok(v)) => Ok(v),
                    Ok(Err(e)) => Err(self.env.snippet_error(&e, span, Some(snip))),
                    Err(e) => Err(e),
                };
                self.scope.rewind(keep);
                match r {
                    Err(e) => {
                        failed = Some(e.with_item(&display(&it)));
                        break 'items;
                    }
                    Ok(v) if !stripped => {
                        if let Some(a) = self.scope.get_mut("acc") {
                            *a = v;
                        }
                    }
                    Ok(_) => {}
                }
            }
        }
        let acc = self.scope.remove::<Dynamic>("acc").unwrap_or_default();
        self.scope.rewind(self.base);
        match failed {
            Some(e) => Err(e),
            None => Ok(acc.flatten()),
        }
    }
}

/// The block (or `fn` body) without its last statement when that is a bare `var` (`acc`, or
/// a `fn`'s first parameter), and when nothing else could make the block's value differ
/// from `var` (a `return`, or a `let var` that the scope would forget).
pub(super) fn body_without_final(ast: &AST, var: &str, code: &str) -> Option<AST> {
    use rhai::{Expr, Stmt};
    let stmts = ast.statements();
    let (Stmt::Expr(last), rest) = stmts.split_last()? else {
        return None;
    };
    let Expr::Variable(v, ..) = &**last else {
        return None;
    };
    if v.1 != var || !v.2.is_empty() {
        return None;
    }
    let words: Vec<&str> = code
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    let rebinds = words
        .windows(2)
        .any(|w| matches!(w[0], "let" | "const") && w[1] == var);
    if rebinds || words.contains(&"return") {
        return None;
    }
    Some(
        ast.clone_functions_only()
            .merge(&AST::new(rest.to_vec(), rhai::Module::new())),
    )
}

#[cfg(test)]
mod fold_tests {
    use super::body_without_final;

    fn strips(code: &str) -> bool {
        let ast = rhai::Engine::new().compile(code).unwrap();
        body_without_final(&ast, "acc", code).is_some()
    }

    #[test]
    fn the_final_acc_is_left_out_only_when_it_is_the_value() {
        assert!(strips("acc[it] = (acc[it] ?? 0) + 1; acc"));
        assert!(strips("acc.push(it); acc;"));
        assert!(strips("acc"));
        assert!(!strips("acc + it"));
        assert!(!strips("let acc = acc * it; acc"));
        assert!(!strips("if it == 3 { return acc } acc"));
        assert!(!strips("acc.push(it); acc.len()"));
    }
}
