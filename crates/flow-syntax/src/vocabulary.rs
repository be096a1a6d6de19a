//! flow's words, written once. The checker's reserved words and suggestions, the REPL's and
//! the language server's completions read [`KEYWORDS`]; the tests below hold the grammar,
//! the language server's reference, `docs/language.md` and the editor grammars to it, so a
//! keyword added here and nowhere else fails them.

/// The words reserved at the statement and stage level.
pub const KEYWORDS: &[&str] = &[
    "fn",
    "let",
    "from",
    "spawn",
    "daemon",
    "join",
    "timeout",
    "on_interrupt",
    "grace",
    "pool",
    "exec",
    "map",
    "filter",
    "each",
    "flat_map",
    "take",
    "skip",
    "batch",
    "sort",
    "uniq",
    "count",
    "count_by",
    "sum",
    "first",
    "last",
    "collect",
    "reduce",
    "lines",
    "text",
    "json",
    "to_json",
    "into",
    "unchecked",
    "ordered",
    "unordered",
    "chunk",
    "retries",
    "on_error",
    "progress",
    "log",
    "resume",
    "if",
    "else",
    "for",
    "in",
    "cancel",
];

#[cfg(test)]
mod tests {
    use super::KEYWORDS;
    /// Words with a meaning only in one place (not reserved): `by` after `sort`, `cpus` as a pool
    /// size, the Slurm pool options, `sh` as a program.
    const CONTEXT_WORDS: &[&str] = &[
        "by",
        "cpus",
        "on",
        "slurm",
        "partition",
        "mem",
        "time",
        "sh",
        "settle",
        "select",
        "backoff",
        "attempt",
        "keep",
    ];

    use std::collections::BTreeSet;

    fn repo_file(path: &str) -> String {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(path);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    #[test]
    fn the_grammar_reserves_exactly_these_words() {
        for k in KEYWORDS {
            assert!(
                crate::is_keyword(k),
                "grammar/flow.pest does not reserve `{k}`"
            );
        }
        for w in CONTEXT_WORDS
            .iter()
            .chain(&["print", "it", "seq", "echo", "fnx", "lets"])
        {
            assert!(!crate::is_keyword(w), "grammar/flow.pest reserves `{w}`");
        }
    }

    #[test]
    fn the_reference_page_lists_exactly_these_words() {
        let doc = repo_file("docs/language.md");
        let at = doc
            .find("**Keywords** are reserved")
            .expect("the keyword paragraph");
        let para = &doc[at..];
        let list = &para[para.find('`').expect("a list") + 1..];
        let list = &list[..list.find('`').expect("its end")];
        let listed: BTreeSet<&str> = list.split_whitespace().collect();
        let ours: BTreeSet<&str> = KEYWORDS.iter().copied().collect();
        assert_eq!(listed, ours, "docs/language.md's keyword list");
    }

    #[test]
    fn the_editor_grammars_know_every_word() {
        for path in [
            "editor-support/vim/syntax/flow.vim",
            "editor-support/vscode/syntaxes/flow.tmLanguage.json",
            "editor-support/vscode/test/grammar.test.js",
            "tests/fuzz_parse/generate.rs",
        ] {
            let text = repo_file(path);
            for k in KEYWORDS {
                let found = text.match_indices(k).any(|(i, _)| {
                    let before = text[..i].chars().next_back();
                    let after = text[i + k.len()..].chars().next();
                    let word =
                        |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
                    !word(before) && !word(after)
                });
                assert!(found, "{path} does not know `{k}`");
            }
        }
    }
}
