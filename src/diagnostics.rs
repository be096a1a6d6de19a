//! Rendering diagnostics with miette: colour only for a terminal, fixed width in tests.

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, NamedSource};
use std::fmt;

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

struct WithSource<'a> {
    inner: &'a dyn Diagnostic,
    src: &'a NamedSource<String>,
}

impl fmt::Debug for WithSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.inner, f)
    }
}
impl fmt::Display for WithSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.inner, f)
    }
}
impl std::error::Error for WithSource<'_> {}
impl Diagnostic for WithSource<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.inner.code()
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.inner.help()
    }
    fn severity(&self) -> Option<miette::Severity> {
        self.inner.severity()
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.inner.labels()
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(self.src)
    }
    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn Diagnostic> + 'b>> {
        self.inner.related()
    }
}

/// A diagnostic as plain lines: `name:line:col: code: message` and its help.
fn plain(d: &dyn Diagnostic, src: &SourceFile) -> String {
    let at = d
        .labels()
        .and_then(|mut l| l.next())
        .map_or(0, |l| l.offset());
    let before = src.text.get(..at).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let code = d.code().map(|c| format!("{c}: ")).unwrap_or_default();
    let mut s = format!("{}:{line}:{col}: {code}{d}\n", src.name);
    if let Some(h) = d.help() {
        s.push_str(&format!("  help: {h}\n"));
    }
    s
}

/// Render each diagnostic against `src`, one after another.
#[must_use]
pub fn render(diags: &[&dyn Diagnostic], src: &SourceFile, opts: RenderOptions) -> String {
    let named = NamedSource::new(src.name.clone(), src.text.clone());
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
            src: &named,
        };
        // miette cannot draw a label past column 65,535 (it panics): use plain text there.
        let too_wide = d.labels().is_some_and(|mut ls| {
            ls.any(|l| {
                let before = src.text.get(..l.offset()).unwrap_or("");
                let line = &src.text[before.rfind('\n').map_or(0, |i| i + 1)..];
                line.find('\n').unwrap_or(line.len()) > 60_000
            })
        });
        if too_wide || handler.render_report(&mut out, &w).is_err() {
            out.push_str(&plain(*d, src));
        }
    }
    out
}
