//! The functions a stage may name (`map f`, `each print`): the built-ins, the host's and the
//! script's own `fn`s (found anywhere, also after their use and inside blocks), with their
//! parameter counts.

use super::quick_hash::QuickHash;
use crate::ast::{Ast, LetValue, SpawnBody, Stmt, StmtKind};
use crate::Span;
use std::collections::HashMap;

/// The built-in functions of docs/language.md with their parameter counts: usable as callables
/// (`each print`) like a script's own `fn`.
const BUILTIN_FNS: &[(&str, usize)] = &[
    ("print", 1),
    ("eprint", 1),
    ("sleep", 1),
    ("env", 1),
    ("glob", 1),
    ("lines", 1),
    ("read_file", 1),
    ("write_file", 2),
    ("exists", 1),
    ("run", 2),
    ("status", 2),
    ("format", 2),
    ("now", 0),
    ("cpus", 0),
    ("channel", 1),
    ("basename", 1),
    ("dirname", 1),
    ("no_ext", 1),
    ("stem", 1),
    ("ext", 1),
    ("fields", 1),
    ("exit", 1),
    ("group_by", 2),
    ("group_tuple", 1),
    ("join_by", 2),
];

/// A function's parameter count and, for a script `fn`, where its name is.
#[derive(Debug, Clone, Copy)]
pub(super) struct FnSig {
    pub(super) params: usize,
    pub(super) defined: Option<Span>,
}

/// Every function a stage may name; names borrowed from the script and the options.
pub(super) struct Fns<'a> {
    sigs: HashMap<&'a str, FnSig, QuickHash>,
}

impl<'a> Fns<'a> {
    /// The built-ins, then the host's (`known`), then the script's: a later one of a name wins.
    pub(super) fn new(ast: &'a Ast, known: &'a [(String, usize)]) -> Self {
        let mut sigs = HashMap::default();
        for (name, params) in BUILTIN_FNS {
            let sig = FnSig {
                params: *params,
                defined: None,
            };
            sigs.insert(*name, sig);
        }
        for (name, params) in known {
            let sig = FnSig {
                params: *params,
                defined: None,
            };
            sigs.insert(name.as_str(), sig);
        }
        // Script fns are visible everywhere, also before their definition and from blocks.
        let mut own = HashMap::default();
        collect_fns(&ast.stmts, &mut own);
        sigs.extend(own);
        Fns { sigs }
    }

    pub(super) fn get(&self, name: &str) -> Option<FnSig> {
        self.sigs.get(name).copied()
    }

    /// Every name, for a did-you-mean.
    pub(super) fn names(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.sigs.keys().copied()
    }
}

/// Every `fn` of the script, also those inside blocks; the first definition of a name wins.
fn collect_fns<'a>(stmts: &'a [Stmt], out: &mut HashMap<&'a str, FnSig, QuickHash>) {
    for s in stmts {
        match &s.kind {
            StmtKind::Fn { name, params, .. } => {
                let sig = FnSig {
                    params: params.len(),
                    defined: Some(name.span),
                };
                out.entry(name.name.as_str()).or_insert(sig);
            }
            StmtKind::Let {
                value: LetValue::Spawn(sp),
                ..
            }
            | StmtKind::Spawn(sp) => {
                if let SpawnBody::Block(b) = &sp.body {
                    collect_fns(b, out);
                }
            }
            StmtKind::OnInterrupt { body, .. } | StmtKind::For { body, .. } => {
                collect_fns(body, out);
            }
            StmtKind::If {
                then, otherwise, ..
            } => {
                collect_fns(then, out);
                collect_fns(otherwise.as_deref().unwrap_or(&[]), out);
            }
            k => k.nested().into_iter().for_each(|b| collect_fns(b, out)),
        }
    }
}
