//! What a script defines, with where: `fn` names and parameters, `let`, `for` and `catch`
//! variables, found by walking the syntax tree (nested blocks included).

use flow::ast::{LetValue, Spawn, SpawnBody, Stmt, StmtKind};
use flow::Span;

/// What kind of name a definition binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DefKind {
    Fn,
    Var,
}

/// One definition: the name, where the name is written, and a one-line description.
#[derive(Debug, Clone)]
pub(crate) struct Def {
    pub(crate) name: String,
    pub(crate) span: Span,
    pub(crate) kind: DefKind,
    /// `fn parse(line)`, `let total`, `for f`.
    pub(crate) detail: String,
}

/// Every definition in `stmts`, in source order.
pub(crate) fn definitions(stmts: &[Stmt]) -> Vec<Def> {
    let mut out = vec![];
    walk(stmts, &mut out);
    out.sort_by_key(|d| d.span.start);
    out
}

fn var(out: &mut Vec<Def>, id: &flow::ast::Ident, how: &str) {
    out.push(Def {
        name: id.name.clone(),
        span: id.span,
        kind: DefKind::Var,
        detail: format!("{how} {}", id.name),
    });
}

fn walk(stmts: &[Stmt], out: &mut Vec<Def>) {
    for s in stmts {
        match &s.kind {
            StmtKind::Fn { name, params, .. } => {
                let ps: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
                out.push(Def {
                    name: name.name.clone(),
                    span: name.span,
                    kind: DefKind::Fn,
                    detail: format!("fn {}({})", name.name, ps.join(", ")),
                });
            }
            StmtKind::Let { name, value } => {
                var(out, name, "let");
                if let LetValue::Spawn(sp) = value {
                    spawn(sp, out);
                }
            }
            StmtKind::For { var: v, body, .. } => {
                var(out, v, "for");
                walk(body, out);
            }
            StmtKind::Try { var: Some(v), .. } => var(out, v, "catch"),
            StmtKind::Spawn(sp) => spawn(sp, out),
            StmtKind::OnInterrupt { body, .. } => walk(body, out),
            StmtKind::If {
                then, otherwise, ..
            } => {
                walk(then, out);
                walk(otherwise.as_deref().unwrap_or_default(), out);
            }
            _ => {}
        }
        for nested in s.kind.nested() {
            walk(nested, out);
        }
    }
}

fn spawn(sp: &Spawn, out: &mut Vec<Def>) {
    if let SpawnBody::Block(b) = &sp.body {
        walk(b, out);
    }
}

#[cfg(test)]
mod tests {
    use super::{definitions, DefKind};

    #[test]
    fn finds_fns_and_variables_in_nested_blocks() {
        let src = "fn parse(line, n) { line }\nlet a = 1\nspawn {\n  for f in [1] { let b = f }\n}\ntry { ls } catch e { print(e) }\n";
        let ast = flow::parse(src).unwrap();
        let defs = definitions(&ast.stmts);
        let names: Vec<(&str, DefKind)> = defs.iter().map(|d| (d.name.as_str(), d.kind)).collect();
        assert_eq!(
            names,
            [
                ("parse", DefKind::Fn),
                ("a", DefKind::Var),
                ("f", DefKind::Var),
                ("b", DefKind::Var),
                ("e", DefKind::Var)
            ]
        );
        assert_eq!(defs[0].detail, "fn parse(line, n)");
        assert_eq!(defs[3].span.text(src), "b");
    }
}
