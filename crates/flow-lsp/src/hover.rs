//! Hover: the one-line reference of a keyword or built-in, or the definition line of a
//! script's own `fn` or variable.

use super::document::Document;
use super::position::LineIndex;
use super::reference::describe;
use lsp_types::{Hover, HoverContents, MarkupContent, MarkupKind, Position};

pub(crate) fn hover(doc: &Document, pos: Position) -> Option<Hover> {
    let offset = doc.offset(pos);
    let (start, word) = doc.word_at(offset)?;
    // A script's own definition shadows a built-in of the same name (`let count = 3`).
    let own = super::definition::find(doc, pos)
        .and_then(|span| doc.defs.iter().find(|d| d.span == span))
        .map(|d| format!("```flow\n{}\n```", d.detail));
    let value = own.or_else(|| describe(word).map(|(_, line)| line.to_string()))?;
    let idx = LineIndex::new(&doc.text);
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value,
        }),
        range: Some(idx.range(start, start + word.len())),
    })
}
