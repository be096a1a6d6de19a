//! Commands, redirects and words, from their pairs.

use super::{kid_iter, kids, Builder, P};
use crate::ast::{Command, Ident, Redirect, RedirectKind, Rhai, Word, WordPart};
use crate::foreign;
use crate::parser::Rule;

impl Builder<'_> {
    pub(super) fn command(&mut self, p: P<'_>) -> Command {
        let mark = self.dollars.len();
        let cmd = self.command_words(p);
        let dollars = self.dollars.split_off(mark);
        fn literal(w: &Word) -> &str {
            match &w.parts[..] {
                [WordPart::Bare(s) | WordPart::Quoted(s)] => s.as_str(),
                _ => "",
            }
        }
        let words = std::iter::once(&cmd.program).chain(&cmd.args).map(literal);
        if !cmd.shell
            && !literal(&cmd.program).starts_with('#')
            && !foreign::interprets_dollar(words)
        {
            for f in dollars {
                self.errors.push(f.into());
            }
        }
        cmd
    }

    fn command_words(&mut self, p: P<'_>) -> Command {
        let mut cmd = Command {
            unchecked: false,
            env: vec![],
            program: Word {
                span: self.span(&p),
                parts: vec![],
            },
            caret: false,
            args: vec![],
            redirects: vec![],
            shell: false,
        };
        for c in kid_iter(p) {
            match c.as_rule() {
                Rule::sh_command => {
                    cmd.shell = true;
                    let span = self.span(&c);
                    cmd.program = Word {
                        span,
                        parts: vec![],
                    };
                    for x in kid_iter(c) {
                        match x.as_rule() {
                            Rule::redirect => cmd.redirects.push(self.redirect(x)),
                            Rule::unchecked => cmd.unchecked = true,
                            Rule::env_assign => cmd.env.push(self.env_assign(&x)),
                            _ => {
                                let span = self.span(&x);
                                cmd.args.push(Word {
                                    span,
                                    parts: vec![self.part(x)],
                                });
                            }
                        }
                    }
                }
                Rule::unchecked => cmd.unchecked = true,
                Rule::env_assign => cmd.env.push(self.env_assign(&c)),
                Rule::program | Rule::any_program => {
                    for x in kid_iter(c.clone()) {
                        match x.as_rule() {
                            Rule::caret => cmd.caret = true,
                            _ => cmd.program = self.word(&x),
                        }
                    }
                }
                Rule::caret => cmd.caret = true,
                Rule::word => cmd.program = self.word(&c),
                Rule::arg => cmd.args.push(self.word(&c)),
                Rule::redirect => cmd.redirects.push(self.redirect(c)),
                _ => {}
            }
        }
        cmd
    }

    pub(super) fn env_assign(&mut self, x: &P<'_>) -> (Ident, Word) {
        let k = kids(x.clone());
        let name = self.ident(&k[0]);
        let value = match k.get(1) {
            Some(v) => self.word(v),
            None => Word {
                span: self.span(x),
                parts: vec![],
            },
        };
        (name, value)
    }

    pub(super) fn redirect(&mut self, p: P<'_>) -> Redirect {
        let span = self.span(&p);
        let k = kids(p);
        if k[0].as_rule() == Rule::err_to_out {
            return Redirect {
                span,
                kind: RedirectKind::ErrToOut,
                target: None,
            };
        }
        let kind = match k[0].as_str() {
            ">" => RedirectKind::Out,
            ">>" => RedirectKind::Append,
            "<" => RedirectKind::In,
            "2>" => RedirectKind::Err,
            _ => RedirectKind::ErrAppend,
        };
        Redirect {
            span,
            kind,
            target: k.get(1).map(|w| self.word(w)),
        }
    }

    pub(super) fn word(&mut self, p: &P<'_>) -> Word {
        let span = self.span(p);
        let mut parts = vec![];
        for x in p.clone().into_inner() {
            if x.as_rule() == Rule::bare {
                parts.extend(split_bare(x.as_str()));
            } else {
                parts.push(self.part(x));
            }
        }
        Word { span, parts }
    }

    pub(super) fn part(&mut self, p: P<'_>) -> WordPart {
        match p.as_rule() {
            Rule::bare => WordPart::Bare(p.as_str().into()),
            Rule::lone_dollar | Rule::dollar => {
                let at = self.span(&p);
                if let Some((len, message, help)) = foreign::dollar(&self.src[at.end..]) {
                    let span = crate::Span::new(at.start, at.end + len);
                    self.dollars.push(foreign::Foreign {
                        span,
                        message,
                        help,
                    });
                }
                WordPart::Quoted("$".into())
            }
            Rule::sq_string => WordPart::Quoted(
                p.into_inner()
                    .next()
                    .map_or(String::new(), |t| t.as_str().into()),
            ),
            Rule::var_ref => {
                let i = p.into_inner().next();
                match i {
                    Some(i) => WordPart::Var(self.ident(&i)),
                    None => WordPart::Quoted(String::new()),
                }
            }
            Rule::expr_ref => match p.clone().into_inner().next() {
                Some(b) => WordPart::Expr(Rhai {
                    code: b.as_str().into(),
                    span: self.span(&b),
                }),
                None => WordPart::Quoted(String::new()),
            },
            Rule::dq_string => {
                let mut parts: Vec<WordPart> = vec![];
                for x in p.into_inner() {
                    let piece = match x.as_rule() {
                        Rule::dq_text => WordPart::Quoted(x.as_str().into()),
                        Rule::dq_escape => WordPart::Quoted(unescape_dq(x.as_str())),
                        _ => self.part(x),
                    };
                    // Merge adjacent literal text.
                    if let (Some(WordPart::Quoted(prev)), WordPart::Quoted(s)) =
                        (parts.last_mut(), &piece)
                    {
                        prev.push_str(s);
                        continue;
                    }
                    parts.push(piece);
                }
                WordPart::Interp(parts)
            }
            _ => WordPart::Quoted(p.as_str().into()),
        }
    }
}

/// `a\ b` → `a b`; an escaped character is literal (never globbed), so it becomes quoted text.
fn split_bare(s: &str) -> Vec<WordPart> {
    let mut parts = vec![];
    let mut bare = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                if !bare.is_empty() {
                    parts.push(WordPart::Bare(std::mem::take(&mut bare)));
                }
                parts.push(WordPart::Quoted(n.to_string()));
            }
        } else {
            bare.push(c);
        }
    }
    if !bare.is_empty() {
        parts.push(WordPart::Bare(bare));
    }
    parts
}

/// The escapes of double-quoted strings: `\n \t \" \\ \$`; others stay as written.
pub(super) fn unescape_dq(s: &str) -> String {
    match s {
        "\\n" => "\n".into(),
        "\\t" => "\t".into(),
        "\\r" => "\r".into(),
        "\\0" => "\0".into(),
        "\\\"" => "\"".into(),
        "\\\\" => "\\".into(),
        "\\$" => "$".into(),
        other => other.into(),
    }
}
