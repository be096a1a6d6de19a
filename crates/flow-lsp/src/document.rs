//! An open document: its text, its last syntax tree and definitions, and the word under a
//! position.

use super::diagnostics;
use super::position::LineIndex;
use super::symbols::{definitions, Def};
use lsp_types::{Diagnostic, Position, Uri};

/// One open script.
#[derive(Debug)]
pub(crate) struct Document {
    pub(crate) text: String,
    /// The definitions of the last version that parsed (kept while an edit does not parse,
    /// so that completion still knows the script's names).
    pub(crate) defs: Vec<Def>,
    /// The definitions are those of `text` (not of an earlier version).
    pub(crate) defs_current: bool,
}

impl Document {
    pub(crate) fn new(text: String) -> Self {
        Document {
            text,
            defs: vec![],
            defs_current: false,
        }
    }

    /// Parse and check the text; its diagnostics. The definitions are updated when it parsed.
    pub(crate) fn analyze(&mut self, uri: &Uri) -> Vec<Diagnostic> {
        let (diags, ast) = diagnostics::check(uri, &self.text);
        self.defs_current = ast.is_some();
        if let Some(ast) = ast {
            self.defs = definitions(&ast.stmts);
        }
        diags
    }

    pub(crate) fn offset(&self, pos: Position) -> usize {
        LineIndex::new(&self.text).offset(pos)
    }

    /// The identifier around byte `offset` and where it starts (`offset` may be just past it).
    pub(crate) fn word_at(&self, offset: usize) -> Option<(usize, &str)> {
        let (start, end) = word_bounds(&self.text, offset);
        (start < end).then(|| (start, &self.text[start..end]))
    }
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The bounds of the identifier that contains or ends at `offset` (empty when none).
pub(crate) fn word_bounds(text: &str, offset: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let offset = offset.min(bytes.len());
    let mut start = offset;
    while start > 0 && is_ident(bytes[start - 1]) {
        start -= 1;
    }
    let mut end = offset;
    while end < bytes.len() && is_ident(bytes[end]) {
        end += 1;
    }
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::word_bounds;

    #[test]
    fn finds_the_word_around_or_before_a_position() {
        let t = "let total = a_b + 1";
        assert_eq!(word_bounds(t, 5), (4, 9));
        assert_eq!(word_bounds(t, 9), (4, 9));
        assert_eq!(word_bounds(t, 10), (10, 10));
        assert_eq!(word_bounds(t, t.len()), (18, 19));
        assert_eq!(word_bounds("é", 1), (1, 1));
    }
}
