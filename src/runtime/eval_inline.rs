//! A script `fn` that a stage names (`filter is_error`, `map parse_line`,
//! `reduce #{} tally`) runs as its body, the way a block does: the parameters are bound as
//! variables of a private scope and the body's statements run there. Calling it through
//! Rhai's function machinery instead cost a call frame per item, copied every argument,
//! and copied the value a body ends with: for an accumulator (`fn tally(m, k) { …; m }`)
//! that was a copy of the whole map per item, quadratic over a stream. A one-parameter
//! body that is a fast-path expression runs natively, as an inline block does.
//!
//! A `fn` sees no script variable, so its body never runs in the stage's scope: the private
//! scope holds the parameters only, as a call's would.

use super::{guard_panics, Evaluator};
use crate::runtime::run_error::RunError;
use crate::script::fastpath::Fast;
use crate::Span;
use rhai::{Dynamic, Scope, AST};

/// A script `fn` ready to run inline.
pub(crate) struct Inline {
    /// The function pointer, for a call with another number of arguments (an overload the
    /// inline form does not cover).
    pub(super) ptr: rhai::FnPtr,
    params: Vec<String>,
    /// The body's statements, with the script's `fn`s for the calls it makes.
    body: AST,
    /// The body without a final bare read of its first parameter, when nothing else could
    /// make its value differ (for `reduce`: the accumulator stays in the scope).
    keeps_first: Option<AST>,
    /// The whole body as a fast-path expression of a single parameter.
    pub(super) fast: Option<Fast>,
    /// The body's text, for the native histogram (see `eval_count.rs`).
    text: String,
}

impl Inline {
    /// `name`'s definition among the script's `fn`s, when exactly one has that name (Rhai
    /// picks overloads by arity: those are left to it).
    pub(super) fn new(
        shared: &super::Shared,
        ptr: rhai::FnPtr,
        builtin: &dyn Fn(&str) -> bool,
    ) -> Option<Inline> {
        let name = ptr.fn_name();
        let mut defs = shared.fns.iter_fn_def().filter(|f| f.name == name);
        let def = defs.next()?;
        if defs.next().is_some() || def.this_type.is_some() {
            return None;
        }
        let params: Vec<String> = def.params.iter().map(ToString::to_string).collect();
        let (padded, code) = shared.fn_texts.iter().find_map(|t| body_of(t, name))?;
        // Compiled where it stands in the script, so that an error points into the `fn`.
        let mut names = Scope::new();
        for p in &params {
            names.push(p.as_str(), Dynamic::UNIT);
        }
        let body = shared.engine.compile_with_scope(&names, &padded).ok()?;
        let body = shared.fns.merge(&body);
        let keeps_first = params
            .first()
            .and_then(|p| super::fold::body_without_final(&body, p, &code));
        let fast = match params.as_slice() {
            [p] => crate::script::fastpath::compile_fn_body(&code, p, builtin),
            _ => None,
        };
        Some(Inline {
            ptr,
            params,
            body,
            keeps_first,
            fast,
            text: code,
        })
    }

    pub(super) fn arity(&self) -> usize {
        self.params.len()
    }

    /// `reduce INIT f` as native counts, when `f`'s body only counts or sums per key of
    /// its second parameter (the item) into its first (the accumulator).
    pub(super) fn counting(&self, env: &super::Env) -> Option<super::count::Counting> {
        let [acc, item] = self.params.as_slice() else {
            return None;
        };
        env.counting_in(
            &self.text,
            &super::count::Names {
                acc,
                item,
                scope: crate::script::fastpath::fn_scope(),
                bound: vec![],
            },
        )
    }

    /// Whether the body runs natively (a fast-path expression of its one parameter).
    #[cfg(test)]
    pub(crate) fn is_native(&self) -> bool {
        self.fast.is_some()
    }

    /// Whether a `reduce` keeps the accumulator in place (the body ends by returning it).
    #[cfg(test)]
    pub(crate) fn moves_first(&self) -> bool {
        self.keeps_first.is_some()
    }
}

/// `name`'s body in its `fn` text (`fn name(a, b) { BODY }`, padded to its place in the
/// script): the text padded with the header and the closing brace blanked out, and the body
/// alone.
fn body_of(text: &str, name: &str) -> Option<(String, String)> {
    let start = text.len() - text.trim_start().len();
    let rest = text[start..].strip_prefix("fn")?.trim_start();
    let rest = rest.strip_prefix(name)?.trim_start().strip_prefix('(')?;
    let rest = &rest[rest.find(')')? + 1..];
    let open = text.len() - rest.trim_start().strip_prefix('{')?.len();
    let close = text.rfind('}')?;
    if close < open {
        return None;
    }
    let blank = |s: &str| -> String {
        s.chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect()
    };
    let padded = format!("{}{}", blank(&text[..open]), &text[open..close]);
    Some((padded, text[open..close].to_string()))
}

impl Evaluator {
    /// `f(args…)`, its body run in a private scope (the caller checked the arity).
    pub(super) fn call_inline(
        &mut self,
        f: &Inline,
        args: &[(&'static str, Dynamic)],
        span: Span,
    ) -> Result<Dynamic, RunError> {
        if let (Some(fast), [(_, it)]) = (&f.fast, args) {
            if let Some(v) = crate::script::fastpath::eval(fast, it) {
                return Ok(v);
            }
        }
        let mut scope = std::mem::take(&mut self.fn_scope);
        for (p, (_, v)) in f.params.iter().zip(args) {
            scope.push(p.as_str(), v.clone());
        }
        let shared = &*self.env.shared;
        let r = guard_panics(span, || {
            shared
                .engine
                .eval_ast_with_scope::<Dynamic>(&mut scope, &f.body)
        });
        scope.clear();
        self.fn_scope = scope;
        r?.map_err(|e| self.env.snippet_error(&e, span, None))
    }

    /// `reduce INIT f`: the accumulator lives in the private scope under `f`'s first
    /// parameter from item to item, and is never copied when the body ends by returning it.
    pub(super) fn fold_inline(
        &mut self,
        f: &Inline,
        acc: Dynamic,
        batches: impl Iterator<Item = crate::runtime::value::Batch>,
        span: Span,
    ) -> Result<Dynamic, RunError> {
        let (run, stripped) = match &f.keeps_first {
            Some(b) => (b, true),
            None => (&f.body, false),
        };
        let mut scope: Scope<'static> = std::mem::take(&mut self.fn_scope);
        scope.push(f.params[0].as_str(), acc);
        let shared = &*self.env.shared;
        let mut failed = None;
        'items: for b in batches {
            for it in b {
                scope.push(f.params[1].as_str(), it.clone());
                let r = guard_panics(span, || {
                    shared
                        .engine
                        .eval_ast_with_scope::<Dynamic>(&mut scope, run)
                });
                scope.rewind(1);
                match r {
                    Ok(Ok(v)) if !stripped => {
                        if let Some(a) = scope.get_mut(f.params[0].as_str()) {
                            *a = v;
                        }
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        let e = self.env.snippet_error(&e, span, None);
                        failed = Some(e.with_item(&crate::script::display::display(&it)));
                        break 'items;
                    }
                    Err(e) => {
                        failed = Some(e.with_item(&crate::script::display::display(&it)));
                        break 'items;
                    }
                }
            }
        }
        let acc = scope
            .remove::<Dynamic>(f.params[0].as_str())
            .unwrap_or_default();
        scope.clear();
        self.fn_scope = scope;
        match failed {
            Some(e) => Err(e),
            None => Ok(acc.flatten()),
        }
    }
}

/// `{ f(acc, …) }` as a `reduce` block, where `f` is a script `fn`
/// whose body ends by returning its first parameter: the accumulator is moved into `f`'s
/// scope and taken back, where Rhai would copy it into the call and copy it out again.
pub(crate) struct AccCall {
    f: Inline,
    args: Vec<Arg>,
    /// The arguments after `acc` as fast expressions of the item, when all are.
    fast_args: Option<Vec<Fast>>,
}

impl AccCall {
    /// Native counts, when `f`'s body only counts or sums per key into its first
    /// parameter, the key and amount being the call's fast arguments (or the item's).
    pub(super) fn counting(&self, env: &super::Env) -> Option<super::count::Counting> {
        let bound = self.f.params[1..]
            .iter()
            .cloned()
            .zip(self.fast_args.clone()?)
            .collect();
        env.counting_in(
            &self.f.text,
            &super::count::Names {
                acc: &self.f.params[0],
                // The stage's item has no name inside the `fn`.
                item: "",
                scope: crate::script::fastpath::fn_scope(),
                bound,
            },
        )
    }
}

/// The argument texts of the call `name(…)` that `code` is (split at top-level commas).
fn call_args<'a>(code: &'a str, name: &str) -> Option<Vec<&'a str>> {
    let inner = code
        .trim()
        .trim_end_matches(';')
        .trim_end()
        .strip_prefix(name)?
        .trim_start()
        .strip_prefix('(')?
        .strip_suffix(')')?;
    let mut out = vec![];
    let (mut depth, mut in_str, mut start) = (0_i32, false, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '\\' | '`' | '\'' => return None,
            '"' => in_str = !in_str,
            '(' | '[' | '{' if !in_str => depth += 1,
            ')' | ']' | '}' if !in_str => depth -= 1,
            ',' if !in_str && depth == 0 => {
                out.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&inner[start..]);
    Some(out)
}

/// An argument after `acc`: a variable read from the block's scope, or an expression.
enum Arg {
    Var(String),
    Expr(AST),
}

impl Evaluator {
    /// The block `ast` (whose text is `code`) as an [`AccCall`], if it is one: `acc` is
    /// named once, as the first argument (an argument that reads it would need it where the
    /// block's scope has it: that block runs as written).
    pub(crate) fn acc_call(&self, ast: &AST, code: &str) -> Option<AccCall> {
        let accs = code
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| *w == "acc")
            .count();
        if accs != 1 {
            return None;
        }
        use rhai::{Expr, Stmt};
        let call = match ast.statements() {
            [Stmt::FnCall(c, _)] => &**c,
            [Stmt::Expr(e)] => match &**e {
                Expr::FnCall(c, _) => &**c,
                _ => return None,
            },
            _ => return None,
        };
        let [Expr::Variable(v, ..), rest @ ..] = call.args.as_slice() else {
            return None;
        };
        if !call.namespace.is_empty() || v.1 != "acc" || !v.2.is_empty() {
            return None;
        }
        let ptr = rhai::FnPtr::new(call.name.as_str()).ok()?;
        let f = Inline::new(&self.env.shared, ptr, &|n| self.env.shared.builtin(n))?;
        if f.arity() != call.args.len() || f.keeps_first.is_none() {
            return None;
        }
        // The same arguments as text, each compiled natively if it can be.
        let builtin = |n: &str| self.env.shared.builtin(n);
        let fast_args = call_args(code, call.name.as_str())
            .filter(|texts| texts.len() == call.args.len())
            .and_then(|texts| {
                texts[1..]
                    .iter()
                    .map(|t| crate::script::fastpath::compile(t, &self.env.vars, &builtin))
                    .collect::<Option<Vec<Fast>>>()
            });
        let args = rest
            .iter()
            .map(|e| match e {
                Expr::Variable(v, ..) if v.2.is_empty() => Arg::Var(v.1.to_string()),
                e => Arg::Expr(AST::new(
                    [Stmt::Expr(Box::new(e.clone()))],
                    ast.shared_lib().clone(),
                )),
            })
            .collect();
        Some(AccCall { f, args, fast_args })
    }

    /// `reduce` with an [`AccCall`] block. The accumulator lives in the `fn`'s scope under
    /// its first parameter for the whole fold (putting a map into a Rhai scope walks all of
    /// it, so it is put there once); the other arguments are computed in the block's scope,
    /// where `it` is bound, and do not read `acc` (see [`Evaluator::acc_call`]).
    pub(super) fn fold_acc_call(
        &mut self,
        call: &AccCall,
        acc: Dynamic,
        batches: impl Iterator<Item = crate::runtime::value::Batch>,
        span: Span,
        snip: &super::Snippet,
    ) -> Result<Dynamic, RunError> {
        let Some(body) = call.f.keeps_first.as_ref() else {
            return Ok(acc);
        };
        let shared = &*self.env.shared;
        let mut fs: Scope<'static> = std::mem::take(&mut self.fn_scope);
        fs.push(call.f.params[0].as_str(), acc);
        let mut failed = None;
        'items: for b in batches {
            for it in b {
                let native = call.fast_args.as_ref().and_then(|fs| {
                    fs.iter()
                        .map(|f| crate::script::fastpath::eval(f, &it))
                        .collect::<Option<Vec<Dynamic>>>()
                });
                if let Some(vals) = native {
                    for (p, v) in call.f.params[1..].iter().zip(vals) {
                        fs.push(p.as_str(), v);
                    }
                } else {
                    self.scope.push("it", it.clone());
                    let mut vals = Vec::with_capacity(call.args.len());
                    let mut err = None;
                    for a in &call.args {
                        let v = match a {
                            Arg::Var(name) => {
                                self.scope.get_value::<Dynamic>(name).ok_or_else(|| {
                                    // Not bound: Rhai's own error, from evaluating the read.
                                    rhai::EvalAltResult::ErrorVariableNotFound(
                                        name.clone(),
                                        rhai::Position::NONE,
                                    )
                                    .into()
                                })
                            }
                            Arg::Expr(ast) => {
                                let scope = &mut self.scope;
                                match guard_panics(span, || {
                                    shared.engine.eval_ast_with_scope::<Dynamic>(scope, ast)
                                }) {
                                    Ok(r) => r,
                                    Err(e) => {
                                        err = Some(e);
                                        break;
                                    }
                                }
                            }
                        };
                        match v {
                            Ok(v) => vals.push(v),
                            Err(e) => {
                                err = Some(self.env.snippet_error(&e, span, Some(snip)));
                                break;
                            }
                        }
                    }
                    self.scope.rewind(self.base);
                    if let Some(e) = err {
                        failed = Some(e.with_item(&crate::script::display::display(&it)));
                        break 'items;
                    }
                    for (p, v) in call.f.params[1..].iter().zip(vals) {
                        fs.push(p.as_str(), v);
                    }
                }
                let r = guard_panics(span, || {
                    shared.engine.eval_ast_with_scope::<Dynamic>(&mut fs, body)
                });
                fs.rewind(1);
                let e = match r {
                    Ok(Ok(_)) => continue,
                    Ok(Err(e)) => self.env.snippet_error(&e, span, None),
                    Err(e) => e,
                };
                failed = Some(e.with_item(&crate::script::display::display(&it)));
                break 'items;
            }
        }
        let acc = fs
            .remove::<Dynamic>(call.f.params[0].as_str())
            .unwrap_or_default();
        fs.clear();
        self.fn_scope = fs;
        match failed {
            Some(e) => Err(e),
            None => Ok(acc.flatten()),
        }
    }
}
