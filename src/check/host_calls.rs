//! Calls of host functions in Rhai code: a call of a function the host declared
//! (`Engine::declare_fn`) with a number of arguments it did not declare is a check error at
//! the call, instead of Rhai's "Function not found" after the run has started.

use super::{CheckError, CheckErrorKind};
use crate::Span;
use rhai::{ASTNode, Expr};
use std::collections::HashMap;

/// The host's functions and their declared arities, minus names the script defines itself
/// (a script `fn` of that name may overload it with any arity).
pub(crate) struct HostFns {
    arities: HashMap<String, Vec<usize>>,
}

impl HostFns {
    pub(crate) fn new(declared: &[(String, usize)], script_fns: &[&str]) -> Self {
        let mut arities: HashMap<String, Vec<usize>> = HashMap::new();
        for (name, n) in declared {
            if !script_fns.contains(&name.as_str()) {
                arities.entry(name.clone()).or_default().push(*n);
            }
        }
        for v in arities.values_mut() {
            v.sort_unstable();
            v.dedup();
        }
        HostFns { arities }
    }

    /// No declared host function: no call can be a finding.
    pub(crate) fn is_empty(&self) -> bool {
        self.arities.is_empty()
    }

    /// Check every call in `ast` (compiled from `code`, which starts at `start` in the
    /// script); `offset` maps a Rhai position to a byte offset within `code`.
    pub(crate) fn check(
        &self,
        ast: &rhai::AST,
        start: usize,
        offset: &dyn Fn(rhai::Position) -> Option<usize>,
        errors: &mut Vec<CheckError>,
    ) {
        if self.arities.is_empty() {
            return;
        }
        ast.walk(&mut |path: &[ASTNode]| {
            let call = match path.last() {
                Some(ASTNode::Expr(Expr::FnCall(x, pos))) if x.op_token.is_none() => {
                    Some((x.name.as_str(), x.args.len(), *pos))
                }
                // `a.f(b)` calls `f(a, b)`.
                Some(ASTNode::Expr(Expr::MethodCall(x, pos))) => {
                    Some((x.name.as_str(), x.args.len() + 1, *pos))
                }
                _ => None,
            };
            if let Some((name, found, pos)) = call {
                if let Some(declared) = self.arities.get(name) {
                    if !declared.contains(&found) {
                        let at = offset(pos).map_or(start, |o| start + o);
                        errors.push(CheckError::new(
                            Span::new(at, at + name.len()),
                            CheckErrorKind::HostArity {
                                name: name.to_string(),
                                declared: declared.clone(),
                                found,
                            },
                        ));
                    }
                }
            }
            true
        });
    }
}
