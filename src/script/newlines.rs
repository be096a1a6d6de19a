//! A line break ends a statement inside `{ }` blocks too.
//!
//! flow's own statements end at a newline; Rhai's need `;`. A block written as Python or a
//! shell script is written (`let x = it * 2` on one line, `x + 1` on the next) would fail
//! with Rhai's "Expecting ';'". So, before Rhai compiles a text, a `;` goes in front of the
//! first token of a line when the line before ends a statement and this one starts one:
//! - the previous token ends an expression: a name, a literal, `)`, `]`, `}` or `()`;
//! - this token starts a statement: a name, a literal, or `let const if for while loop do
//!   switch try return throw break continue`. A line that starts with an operator, `.`,
//!   `?`, `(`, `[`, `{`, `,`, `else`, `catch` or a closing bracket continues the line before,
//!   and so does any line after one that ends with an operator, `,`, `(`, `=` or a keyword;
//! - both are directly in a block (or the text's top level), not inside `( )`, `[ ]`, a map
//!   literal `#{ }` or a `switch`'s arms.
//!
//! Rhai takes an extra `;` as an empty statement and a `;` after a block's last statement
//! keeps the block's value, so a `;` put where one was not needed changes nothing; the last
//! statement of a block is followed by `}`, which never gets one. Tokens come from Rhai's
//! own tokenizer, so strings, comments and `${ }` are read as Rhai reads them. Each `;`
//! moves the rest of its line one column: recorded as a [`Shift`].

use super::quotes::Shift;
use rhai::Token;

/// What a bracket opened.
#[derive(Clone, Copy, PartialEq)]
enum Open {
    /// A statement block (or a closure's body, or `${ … }`): statements end at line breaks.
    Block,
    /// `( )`, `[ ]`, `#{ }` or a `switch`'s arms: a line break is only a space.
    Inline,
    /// The `{ }` of an interpolation `${ … }`: a block whose `}` goes back into the string.
    Interp,
    /// The body of `do { … } while c`: its `}` is followed by the `while`, on any line.
    Do,
}

/// `text` with a `;` before each token that starts a statement on a new line, and the
/// shifts that adds; `None` when nothing is added. `earlier` are the shifts of an earlier
/// rewrite that made `text`: they are moved to the new text's columns.
pub(crate) fn rewrite(text: &str, earlier: &mut [Shift]) -> Option<(String, Vec<Shift>)> {
    // Cheap test first: one line of code (after the padding) has nothing to split.
    if !text.trim_start().contains('\n') {
        return None;
    }
    let at = insertion_points(text);
    if at.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len() + at.len());
    let mut shifts = Vec::with_capacity(at.len());
    let mut copied = 0;
    for (line, col) in at {
        let Some(off) = super::position::offset(text, line, col) else {
            continue;
        };
        out.push_str(&text[copied..off]);
        out.push(';');
        copied = off;
        shifts.push(Shift {
            line,
            col: col + 1,
            delta: 1,
        });
        for e in earlier.iter_mut() {
            if e.line == line && e.col >= col {
                e.col += 1;
            }
        }
    }
    out.push_str(&text[copied..]);
    Some((out, shifts))
}

/// The 1-based line/column of each token that gets a `;` in front of it, in order.
fn insertion_points(text: &str) -> Vec<(usize, usize)> {
    let engine = rhai::Engine::new_raw();
    let (tokens, control) = engine.lex([&text]);
    let mut stack: Vec<Open> = vec![];
    let mut at = vec![];
    // The line of the previous token and whether it can end a statement.
    let mut prev: Option<(usize, bool)> = None;
    let mut switch_pending = false;
    let mut interp_pending = false;
    let mut do_pending = false;
    for (tok, pos) in tokens {
        // The end of an interpolated string comes with no position: it is on the line of
        // the `}` before it.
        let (line, col) = match (pos.line(), pos.position()) {
            (Some(l), Some(c)) => (l, c),
            _ => (prev.map_or(1, |p| p.0), 0),
        };
        if matches!(tok, Token::EOF | Token::LexError(_)) {
            break;
        }
        let in_block = matches!(
            stack.last(),
            None | Some(Open::Block | Open::Interp | Open::Do)
        );
        if let Some((pl, ends)) = prev {
            if pl < line && ends && in_block && starts_statement(&tok) {
                at.push((line, col));
            }
        }
        match tok {
            Token::LeftBrace if interp_pending => {
                interp_pending = false;
                stack.push(Open::Interp);
            }
            Token::LeftBrace if do_pending => {
                do_pending = false;
                stack.push(Open::Do);
            }
            Token::LeftBrace if switch_pending => {
                switch_pending = false;
                stack.push(Open::Inline);
            }
            Token::LeftBrace => stack.push(Open::Block),
            Token::MapStart | Token::LeftParen | Token::LeftBracket => stack.push(Open::Inline),
            // The end of `${ … }`: back into the back-tick string, as Rhai's parser does.
            Token::RightBrace if stack.last() == Some(&Open::Interp) => {
                stack.pop();
                control.borrow_mut().is_within_text = true;
            }
            // `do { … }`: what follows is its `while`/`until`, not a new statement.
            Token::RightBrace if stack.last() == Some(&Open::Do) => {
                stack.pop();
                prev = Some((line, false));
                continue;
            }
            Token::RightBrace => {
                stack.pop();
            }
            Token::RightParen | Token::RightBracket => {
                stack.pop();
            }
            Token::Switch => switch_pending = true,
            Token::Do => do_pending = true,
            // `${`: the `{` that follows opens the interpolation.
            Token::InterpolatedString(_) => interp_pending = true,
            _ => {}
        }
        prev = Some((line, ends_expression(&tok)));
    }
    at
}

/// Whether `t` can be the last token of a statement.
fn ends_expression(t: &Token) -> bool {
    matches!(
        t,
        Token::Identifier(_)
            | Token::IntegerConstant(_)
            | Token::FloatConstant(_)
            | Token::CharConstant(_)
            | Token::StringConstant(_)
            | Token::True
            | Token::False
            | Token::Unit
            | Token::RightParen
            | Token::RightBracket
            | Token::RightBrace
    )
}

/// Whether `t` can only begin a new statement when it starts a line after a complete one.
/// (`print`, `debug`, `type_of` and the like are Rhai's reserved words.)
fn starts_statement(t: &Token) -> bool {
    if let Token::Reserved(w) = t {
        return w.starts_with(|c: char| c.is_ascii_alphabetic());
    }
    matches!(
        t,
        Token::Identifier(_)
            | Token::IntegerConstant(_)
            | Token::FloatConstant(_)
            | Token::CharConstant(_)
            | Token::StringConstant(_)
            | Token::InterpolatedString(_)
            | Token::True
            | Token::False
            | Token::Let
            | Token::Const
            | Token::If
            | Token::For
            | Token::While
            | Token::Loop
            | Token::Do
            | Token::Switch
            | Token::Try
            | Token::Return
            | Token::Throw
            | Token::Break
            | Token::Continue
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(s: &str) -> String {
        rewrite(s, &mut []).map_or_else(|| s.to_string(), |(t, _)| t)
    }

    #[test]
    fn line_breaks_end_statements_in_blocks() {
        assert_eq!(fix("let x = it * 2\nx + 1"), "let x = it * 2\n;x + 1");
        assert_eq!(
            fix("print(\"a\")\nprint(\"b\")"),
            "print(\"a\")\n;print(\"b\")"
        );
        assert_eq!(
            fix("if a { 1 } else { 2 }\nlet y = #{ k: 1 }\ny"),
            "if a { 1 } else { 2 }\n;let y = #{ k: 1 }\n;y"
        );
        // A comment at the end of a line is left alone.
        assert_eq!(fix("let x = 1 // one\nx"), "let x = 1 // one\n;x");
    }

    #[test]
    fn continued_lines_are_left_alone() {
        for s in [
            "let x = a\n  + b",
            "let s = it\n  .trim()\n  .to_upper()",
            "let v = f(a,\n  b)",
            "let m = #{\n  a: 1,\n  b: x\n}",
            "let xs = [\n  1,\n  x\n]",
            "if a\n{ b }",
            "if a { b }\nelse { c }",
            "try { a }\ncatch (e) { b }",
            "let x = a ??\n  0",
            "let x =\n  5",
            "switch x {\n  1 => a\n  , 2 => b\n}",
            "x + 1",
            "{\n  x\n}",
            "let s = `a${\n x\n}b`",
            "let s = \"a\nb\"",
            "do { x += 1 }\nwhile x < 3",
            "do {\n  x += 1\n}\nuntil x > 3",
        ] {
            assert_eq!(fix(s), s, "{s:?}");
        }
    }

    #[test]
    fn interpolations_and_nesting() {
        assert_eq!(fix("let s = `${x}`\nprint(s)"), "let s = `${x}`\n;print(s)");
        assert_eq!(
            fix("for i in xs {\n  let y = i\n  print(y)\n}\ndone"),
            "for i in xs {\n  let y = i\n  ;print(y)\n}\n;done"
        );
        // Inside a closure's block, and inside a block in parentheses.
        assert_eq!(
            fix("xs.map(|v| {\n  let w = v\n  w\n})"),
            "xs.map(|v| {\n  let w = v\n  ;w\n})"
        );
    }

    #[test]
    fn shifts_move_columns() {
        let (t, shifts) = rewrite("let a = 1\n  b", &mut []).unwrap();
        assert_eq!(t, "let a = 1\n  ;b");
        assert_eq!(
            shifts,
            vec![Shift {
                line: 2,
                col: 4,
                delta: 1
            }]
        );
    }
}
