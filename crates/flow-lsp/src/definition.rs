//! Go to definition: of a `fn` (visible everywhere) or of a variable (`let`, `for`, `catch`).

use super::document::Document;
use super::symbols::{Def, DefKind};
use flow::Span;
use lsp_types::Position;

/// Where the name under `pos` is defined: a `fn`'s definition, or the nearest variable
/// definition before the use (else the first one, for a use before any).
pub(crate) fn find(doc: &Document, pos: Position) -> Option<Span> {
    let offset = doc.offset(pos);
    let (start, word) = doc.word_at(offset)?;
    let candidates: Vec<&Def> = doc
        .defs
        .iter()
        // Definitions of an earlier version (the text does not parse now) count only where
        // the name is still written at the same place.
        .filter(|d| d.name == word && (doc.defs_current || d.span.text(&doc.text) == word))
        .collect();
    if let Some(f) = candidates.iter().find(|d| d.kind == DefKind::Fn) {
        return Some(f.span);
    }
    candidates
        .iter()
        .rev()
        .find(|d| d.span.start <= start)
        .or(candidates.first())
        .map(|d| d.span)
}

#[cfg(test)]
mod tests {
    use super::find;
    use crate::document::Document;
    use crate::position::LineIndex;

    fn at(src: &str, needle: &str, nth: usize) -> lsp_types::Position {
        let off = src.match_indices(needle).nth(nth).unwrap().0;
        LineIndex::new(src).position(off + 1)
    }

    #[test]
    fn finds_fns_and_the_nearest_earlier_let() {
        let src = "let x = 1\nprint(x)\nlet x = 2\nfrom [1] | map double | each { print(x) }\nfn double(n) { n * 2 }\n";
        let mut doc = Document::new(src.into());
        doc.analyze(&"file:///t.flow".parse().unwrap());
        let second_let = src.match_indices("x =").nth(1).unwrap().0;
        assert_eq!(find(&doc, at(src, "x)", 1)).unwrap().start, second_let);
        assert_eq!(find(&doc, at(src, "x)", 0)).unwrap().start, 4);
        let def = find(&doc, at(src, "double", 0)).unwrap();
        assert_eq!(def.start, src.find("double(n)").unwrap());
        assert!(find(&doc, at(src, "print", 0)).is_none());
    }
}
