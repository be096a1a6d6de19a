//! bash's words where a program was looked up: builtins (`cd`, `export`, `source`…),
//! keywords (`while`, `do`, `done`…), a `#` comment, `name=value`.

use super::shell::{assignment, comment_help, test_command, while_help, BLOCK_HELP};
use super::{after_first_word, first_word, line_end, line_start};
use crate::Span;

/// A shell builtin or keyword, a `#` comment or an assignment where a program was looked
/// up. `on_path`: a program of that name exists (then only builtins whose effect would die
/// with their process are reported). `(message, help)`.
pub(super) fn program(
    src: &str,
    name: &str,
    span: Span,
    on_path: bool,
) -> Option<(String, String)> {
    let line = &src[span.start..line_end(src, span.start)];
    let command = span.text(src);
    let args = after_first_word(command);
    let first_arg = first_word(args);
    if name.starts_with('#') {
        return Some((
            "`#` starts no comment in flow".into(),
            comment_help(&line[1..]),
        ));
    }
    if let Some(a) = assignment(name).filter(|_| !on_path) {
        return Some(a);
    }
    let builtin = |help: String| {
        let message = if on_path {
            format!(
                "`{name}` is a shell builtin: run as a program, it changes only its own process"
            )
        } else {
            format!("`{name}` is a shell builtin, and flow runs no shell")
        };
        Some((message, help))
    };
    let dies = matches!(
        name,
        "cd" | "pushd"
            | "popd"
            | "export"
            | "source"
            | "."
            | "alias"
            | "unalias"
            | "set"
            | "unset"
            | "shopt"
            | "local"
            | "declare"
            | "typeset"
            | "readonly"
            | "read"
            | "trap"
            | "shift"
    );
    if on_path && !dies {
        return None;
    }
    match name {
        "cd" | "pushd" | "popd" => builtin(format!(
            "give each command its path (`wc -l {first_arg}/…`), or run them in one shell: \
             `sh \"cd {first_arg} && …\"`"
        )),
        "export" => builtin(match assignment(first_arg) {
            Some(_) => format!(
                "an environment variable for one command is written before it: `{first_arg} \
                 cmd`; a flow variable is declared with `let`"
            ),
            None => "an environment variable for one command is written before it: `NAME=value \
                     cmd`; a flow variable is declared with `let`"
                .into(),
        }),
        "source" | "." => builtin(format!(
            "write `sh \". {first_arg} && cmd\"`: nothing a shell script sets reaches flow, so \
             run what needs it in the same shell"
        )),
        "alias" | "unalias" => builtin(
            "write the command out, or keep its words in an array: `let opts = [\"-l\", \"-h\"]` \
             then `ls ${opts}`"
                .into(),
        ),
        "set" => builtin(
            "`set -e` and `set -o pipefail` are flow's own rules: a failing command stops the \
             script (`unchecked cmd` accepts a failure)"
                .into(),
        ),
        "unset" => builtin("a flow variable lives until the end of its block".into()),
        "shopt" => {
            builtin("flow's globs are bash's with `failglob` and `globstar`: nothing to set".into())
        }
        "local" | "declare" | "typeset" | "readonly" => {
            builtin("flow declares a variable with `let`: `let name = …`".into())
        }
        "read" => builtin(
            "flow reads lines as items: `cat FILE | each { … it … }` (the line is `it`), or \
             `for line in lines(\"FILE\") { … }`"
                .into(),
        ),
        "trap" => builtin(
            "`on_interrupt { … }` runs on Ctrl-C and SIGTERM; for cleanup at the end, write it \
             after the work"
                .into(),
        ),
        "shift" => {
            builtin("`args` is an array: the rest after the first is `args.extract(1)`".into())
        }
        "eval" => builtin("`sh \"…\"` runs shell text".into()),
        "exit" => builtin(format!(
            "flow ends the script with `exit({})`",
            if first_arg.is_empty() { "0" } else { first_arg }
        )),
        "wait" | "bg" | "fg" | "jobs" | "disown" => builtin(
            "flow's background work is a task: `let h = spawn { … }`, then `join h` (tasks not \
             joined are waited for at the end)"
                .into(),
        ),
        "break" | "continue" => Some((
            format!("flow's `for` has no `{name}`"),
            "stop at the first match with a pipeline, which stops reading when it has it: \
             `let hit = from xs | filter { … } | first` (`take N` for the first N); skip an \
             item by putting the rest of the body in `if … { … }`; Rhai's `break` and \
             `continue` work in a loop inside a `fn`"
                .into(),
        )),
        "return" => Some((
            "`return` is not a flow statement".into(),
            "a block's or a `fn`'s last expression is its value (a task's value too: \
             `spawn { …; result }`); end the script with `exit(n)`; Rhai's `return` works \
             inside a `fn`"
                .into(),
        )),
        "while" | "until" => Some((
            format!("`{name} … do … done` is shell syntax, not flow"),
            while_help(&src[line_start(src, span.start)..span.start], line),
        )),
        "do" | "done" | "then" | "fi" | "esac" | "case" | "select" | "function" | "]]" => Some((
            format!("`{name}` is shell syntax, not flow"),
            BLOCK_HELP.into(),
        )),
        "[[" => Some((
            "`[[ … ]]` is bash's test, not flow".into(),
            format!(
                "run the `test` program: `^{}`, or in an `if`: `if {} {{ … }}`",
                test_command(command).trim_start_matches('^'),
                test_command(command)
            ),
        )),
        _ => None,
    }
}
