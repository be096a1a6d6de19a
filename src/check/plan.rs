//! The plan: a graph of stages (OS process, thread, or pool) and their connections.

use crate::ast::Ast;

/// The checked plan of a script.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pipelines: usize,
}

impl Plan {
    pub(crate) fn from_ast(ast: &Ast) -> Self {
        Plan {
            pipelines: ast.stmts.len(),
        }
    }

    /// Human-readable text.
    #[must_use]
    pub fn render_text(&self) -> String {
        format!("{} statements\n", self.pipelines)
    }

    /// Graphviz dot.
    #[must_use]
    pub fn render_dot(&self) -> String {
        "digraph plan {}\n".into()
    }

    /// JSON.
    #[must_use]
    pub fn render_json(&self) -> String {
        "{}\n".into()
    }
}
