//! Byte offsets into a script ↔ LSP positions (line, UTF-16 code unit), through a line index.

use lsp_types::{Position, Range};

/// The start of every line of a text, for converting offsets both ways in O(log lines).
#[derive(Debug)]
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    /// Byte offsets at which lines start; the first is 0.
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { text, starts }
    }

    /// The position of byte `offset` (clamped to the text, and back to a char boundary).
    pub(crate) fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let col: usize = self.text[start..offset].chars().map(char::len_utf16).sum();
        Position::new(to_u32(line), to_u32(col))
    }

    pub(crate) fn range(&self, start: usize, end: usize) -> Range {
        Range::new(self.position(start), self.position(end.max(start)))
    }

    /// The byte offset of `pos`: a column past the end of its line is the line's end (before
    /// its newline), a line past the end is the end of the text, and a column in the middle of
    /// a surrogate pair is the start of that character.
    pub(crate) fn offset(&self, pos: Position) -> usize {
        let Some(&start) = self.starts.get(pos.line as usize) else {
            return self.text.len();
        };
        let line_end = self
            .starts
            .get(pos.line as usize + 1)
            .map_or(self.text.len(), |&next| next - 1);
        let mut units = 0;
        for (i, c) in self.text[start..line_end].char_indices() {
            units += c.len_utf16();
            if units > pos.character as usize {
                return start + i;
            }
        }
        line_end
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::LineIndex;
    use lsp_types::Position;

    #[test]
    fn counts_utf16_units_and_round_trips() {
        // `é` is 2 bytes and 1 unit; `𝄞` is 4 bytes and 2 units (a surrogate pair).
        let text = "ab\né𝄞x\n\nlast";
        let idx = LineIndex::new(text);
        let x = text.find('x').unwrap();
        assert_eq!(idx.position(x), Position::new(1, 3));
        assert_eq!(idx.offset(Position::new(1, 3)), x);
        assert_eq!(idx.position(text.len()), Position::new(3, 4));
        assert_eq!(
            idx.offset(Position::new(2, 0)),
            text.find("\n\n").unwrap() + 1
        );
        // Inside the pair: the start of the character; past the line: its end.
        assert_eq!(idx.offset(Position::new(1, 2)), text.find('𝄞').unwrap());
        assert_eq!(idx.offset(Position::new(0, 99)), 2);
        assert_eq!(idx.offset(Position::new(9, 0)), text.len());
        // An offset inside a character goes back to its start.
        assert_eq!(idx.position(x - 1), Position::new(1, 1));
    }

    #[test]
    fn handles_crlf_lines() {
        let text = "a\r\nbc";
        let idx = LineIndex::new(text);
        assert_eq!(idx.position(4), Position::new(1, 1));
        assert_eq!(idx.offset(Position::new(1, 1)), 4);
    }
}
