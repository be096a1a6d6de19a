//! Rendering diagnostics with miette: colour only for a terminal, fixed width in tests.

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError,
    MietteSpanContents, SourceCode, SourceSpan, SpanContents,
};
use std::borrow::Cow;
use std::fmt::{self, Write as _};

/// A script's text and name, for showing diagnostics against it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Shown in the diagnostic header (`script.flow`, `<stdin>`, `-c`).
    pub name: String,
    /// The script text (invalid UTF-8 replaced).
    pub text: String,
    /// Offset of the first invalid UTF-8 byte, if any.
    pub bad_utf8_at: Option<usize>,
}

impl SourceFile {
    /// A script from text.
    #[must_use]
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        SourceFile {
            name: name.into(),
            text: text.into(),
            bad_utf8_at: None,
        }
    }

    /// The 1-based line and column (in characters) of byte offset `at` (a span's `start`),
    /// as editors and the CLI's report count them. An offset past the end is the end.
    ///
    /// ```
    /// let src = flow::SourceFile::new("t.flow", "echo hi\nls | gr ép");
    /// assert_eq!(src.line_col(0), (1, 1));
    /// assert_eq!(src.line_col(13), (2, 6));
    /// assert_eq!(src.line_col(999), (2, 11));
    /// ```
    #[must_use]
    pub fn line_col(&self, at: usize) -> (usize, usize) {
        let mut at = at.min(self.text.len());
        while !self.text.is_char_boundary(at) {
            at -= 1;
        }
        let before = &self.text[..at];
        let line = before.matches('\n').count() + 1;
        let start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[start..].chars().count() + 1)
    }

    /// A script from bytes that may not be UTF-8.
    #[must_use]
    pub fn from_bytes(name: impl Into<String>, bytes: Vec<u8>) -> Self {
        match String::from_utf8(bytes) {
            Ok(text) => SourceFile::new(name, text),
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                SourceFile {
                    name: name.into(),
                    text,
                    bad_utf8_at: Some(at),
                }
            }
        }
    }
}

/// How to draw diagnostics.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    /// ANSI colours and Unicode art.
    pub color: bool,
    /// Wrap width.
    pub width: usize,
}

impl RenderOptions {
    /// Colour when stderr is a terminal and `NO_COLOR` is unset; plain otherwise.
    #[must_use]
    pub fn for_stderr() -> Self {
        use std::io::IsTerminal;
        let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        RenderOptions { color, width: 100 }
    }
}

/// Text of a message made safe for a terminal: control characters (ESC, NUL, BEL, CR, …,
/// DEL and the C1 range) are written as escapes (`\x1b`, `\u{9b}`); newlines and tabs stay.
#[must_use]
pub(crate) fn visible(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && c != '\t' && c.is_control()) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            c if (c as u32) < 0x80 && c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The picture a source excerpt shows for a control character (`None`: shown as is).
/// One character each, so that the columns of the excerpt stay those of the script.
fn picture(c: char, next: Option<char>) -> Option<char> {
    match c {
        '\n' | '\t' => None,
        '\r' if next == Some('\n') => None,
        // U+2400..U+241F: ␀ … ␟ (␛ for ESC, ␍ for a lone CR); U+2421: ␡.
        c if (c as u32) < 0x20 => char::from_u32(0x2400 + c as u32),
        '\u{7f}' => Some('\u{2421}'),
        c if c.is_control() => Some(char::REPLACEMENT_CHARACTER),
        _ => None,
    }
}

/// The script as diagnostics show it: control characters replaced by their pictures, with
/// the map from script offsets to shown ones and the start of every shown line. Excerpts are
/// read around a span from the line index, so rendering n diagnostics costs O(n log lines)
/// plus their excerpts, not n times the script.
struct Shown {
    name: String,
    text: String,
    /// For every replaced character: its end in the script, and how many bytes longer the
    /// shown text is from there on.
    moved: Vec<(usize, usize)>,
    /// Offsets in `text` at which lines start.
    starts: Vec<usize>,
}

impl Shown {
    fn new(src: &SourceFile) -> Self {
        let t = &src.text;
        let mut text = String::with_capacity(t.len());
        let mut moved = Vec::new();
        let mut grown = 0;
        let mut chars = t.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match picture(c, chars.peek().map(|(_, n)| *n)) {
                Some(p) => {
                    text.push(p);
                    grown += p.len_utf8() - c.len_utf8();
                    moved.push((i + c.len_utf8(), grown));
                }
                None => text.push(c),
            }
        }
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Shown {
            name: visible(&src.name).into_owned(),
            text,
            moved,
            starts,
        }
    }

    /// The shown offset of script offset `at`.
    fn map(&self, at: usize) -> usize {
        let n = self.moved.partition_point(|(end, _)| *end <= at);
        at + n.checked_sub(1).map_or(0, |k| self.moved[k].1)
    }

    /// The script offset of shown offset `at`, which is no offset inside a picture.
    fn unmap(&self, at: usize) -> usize {
        let n = self.moved.partition_point(|(end, grown)| end + grown <= at);
        at - n.checked_sub(1).map_or(0, |k| self.moved[k].1)
    }

    /// The 0-based line of shown offset `at`.
    fn line_of(&self, at: usize) -> usize {
        self.starts.partition_point(|s| *s <= at).saturating_sub(1)
    }

    /// Start of shown line `line` (the end of the text past the last).
    fn line_start(&self, line: usize) -> usize {
        self.starts.get(line).copied().unwrap_or(self.text.len())
    }

    /// The line of shown offset `at`, without its line end.
    fn line_at(&self, at: usize) -> &str {
        let start = self.line_start(self.line_of(at));
        let rest = self.text.get(start..).unwrap_or("");
        &rest[..rest.find('\n').unwrap_or(rest.len())]
    }

    /// A script span in shown offsets.
    fn span(&self, s: &SourceSpan) -> SourceSpan {
        let start = self.map(s.offset());
        SourceSpan::new(start.into(), self.map(s.offset() + s.len()) - start)
    }
}

impl SourceCode for Shown {
    /// What miette's own `read_span` returns for the whole text, computed on a window of
    /// whole lines around the span (with a line to spare either side), then moved back.
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let first = self.line_of(span.offset());
        let last = self.line_of(span.offset() + span.len());
        let from_line = first.saturating_sub(before + 1);
        let from = self.line_start(from_line);
        let to = self.line_start(last + after + 2).min(self.text.len());
        let window = self
            .text
            .as_bytes()
            .get(from..to)
            .ok_or(MietteError::OutOfBounds)?;
        let local = SourceSpan::new(
            span.offset()
                .checked_sub(from)
                .ok_or(MietteError::OutOfBounds)?
                .into(),
            span.len(),
        );
        let c = window.read_span(&local, before, after)?;
        // The column (in bytes, as miette counts) is the script's, not the pictures'.
        let column = match c.column() {
            0 => 0,
            n => {
                let at = c.span().offset() + from;
                self.unmap(at) - self.unmap(at - n)
            }
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            c.data(),
            SourceSpan::new((c.span().offset() + from).into(), c.span().len()),
            c.line() + from_line,
            column,
            c.line_count() + from_line,
        )))
    }
}

struct WithSource<'a> {
    inner: &'a dyn Diagnostic,
    src: &'a Shown,
}

impl fmt::Debug for WithSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.inner, f)
    }
}
impl fmt::Display for WithSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&visible(&self.inner.to_string()))
    }
}
impl std::error::Error for WithSource<'_> {}
impl Diagnostic for WithSource<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.inner.code()
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        let h = self.inner.help()?.to_string();
        Some(Box::new(visible(&h).into_owned()))
    }
    fn severity(&self) -> Option<miette::Severity> {
        self.inner.severity()
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let labels = self.inner.labels()?.map(|l| {
            let text = l.label().map(|t| visible(t).into_owned());
            let span = self.src.span(l.inner());
            if l.primary() {
                LabeledSpan::new_primary_with_span(text, span)
            } else {
                LabeledSpan::new_with_span(text, span)
            }
        });
        Some(Box::new(labels.collect::<Vec<_>>().into_iter()))
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(self.src)
    }
}

/// A diagnostic as plain lines: `name:line:col: code: message` and its help.
fn plain(d: &WithSource<'_>) -> String {
    let src = d.src;
    let at = d
        .labels()
        .and_then(|mut l| l.next())
        .map_or(0, |l| l.offset());
    let line = src.line_of(at);
    let before = src.text.get(src.line_start(line)..at).unwrap_or("");
    let col = before.chars().count() + 1;
    let code = d.code().map(|c| format!("{c}: ")).unwrap_or_default();
    let mut s = format!("{}:{}:{col}: {code}{d}\n", src.name, line + 1);
    if let Some(h) = d.help() {
        s.push_str(&format!("  help: {h}\n"));
    }
    s
}

/// Render each diagnostic against `src`, one after another. Control characters of the
/// script and of messages are shown as pictures (`␛`) and escapes (`\x1b`), never sent raw.
#[must_use]
pub fn render(diags: &[&dyn Diagnostic], src: &SourceFile, opts: RenderOptions) -> String {
    let shown = Shown::new(src);
    let theme = if opts.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(opts.width);
    let mut out = String::new();
    for d in diags {
        let w = WithSource {
            inner: *d,
            src: &shown,
        };
        // miette cannot draw a label past column 65,535 (it panics): use plain text there.
        let too_wide = w
            .labels()
            .is_some_and(|mut ls| ls.any(|l| shown.line_at(l.offset()).len() > 60_000));
        if too_wide || handler.render_report(&mut out, &w).is_err() {
            out.push_str(&plain(&w));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shown's windowed `read_span` is miette's own on the whole text, for every span.
    #[test]
    fn windowed_excerpts_equal_miette_s() {
        let text = "let a = 1\r\nls -l\n\nfrom xs | map { it }\nécho ü\n  x\nlast";
        let shown = Shown::new(&SourceFile::new("t.flow", text));
        assert_eq!(shown.text, text);
        let whole = text.to_string();
        for start in 0..=text.len() {
            for len in 0..=(text.len() - start).min(25) {
                for ctx in 0..3 {
                    let span = SourceSpan::new(start.into(), len);
                    let want = whole.read_span(&span, ctx, ctx);
                    let got = shown.read_span(&span, ctx, ctx);
                    match (want, got) {
                        (Ok(w), Ok(g)) => {
                            let parts = |c: &dyn SpanContents<'_>| {
                                (c.data().to_vec(), *c.span(), c.line(), c.column())
                            };
                            assert_eq!(parts(&*w), parts(&*g), "{start}+{len} ctx {ctx}");
                        }
                        (Err(_), Err(_)) => {}
                        (w, g) => panic!(
                            "{start}+{len} ctx {ctx}: {:?} vs {:?}",
                            w.is_ok(),
                            g.is_ok()
                        ),
                    }
                }
            }
        }
    }

    #[test]
    fn control_characters_are_never_sent_raw() {
        assert_eq!(
            visible("a\u{1b}[2Jb\0\u{7}\r\n\tc\u{9b}"),
            "a\\x1b[2Jb\\x00\\x07\\x0d\n\tc\\u{9b}"
        );
        assert!(matches!(visible("plain\ttext\n"), Cow::Borrowed(_)));
        let text = "ls\nlet = \u{1b}[31mred\r\nok\rx\n";
        let src = SourceFile::new("t\u{7}.flow", text);
        let at = text.find('\u{1b}').unwrap();
        let e = crate::ParseError::new(
            crate::Span::new(at, at + 1),
            crate::ParseErrorKind::Unexpected {
                expected: "a name".into(),
                found: "`\u{1b}`".into(),
            },
        );
        let out = render(
            &[&e],
            &src,
            RenderOptions {
                color: false,
                width: 100,
            },
        );
        assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
        assert!(out.contains("let = ␛[31mred"), "{out}");
        assert!(out.contains("ok␍x"), "{out}");
        assert!(out.contains("found `\\x1b`"), "{out}");
        // The label is under the ESC, as in the script.
        let line = out.lines().find(|l| l.contains("let =")).unwrap();
        let mark = out.lines().find(|l| l.contains('┬')).unwrap();
        assert_eq!(
            line.chars().position(|c| c == '␛'),
            mark.chars().position(|c| c == '┬'),
            "{out}"
        );
        // The column is the script's: bytes before the ESC, not before its picture.
        assert!(out.contains("t\\x07.flow:2:7"), "{out}");
        let at = text.find("red").unwrap();
        let e = crate::ParseError::new(
            crate::Span::new(at, at + 3),
            crate::ParseErrorKind::ElseWithoutIf,
        );
        let out = render(
            &[&e],
            &src,
            RenderOptions {
                color: false,
                width: 100,
            },
        );
        assert!(out.contains("t\\x07.flow:2:12"), "{out}");
    }
}
