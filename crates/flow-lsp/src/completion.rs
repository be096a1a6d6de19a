//! Completion: keywords, pool options, built-ins, the script's `fn`s and variables, and,
//! where a command can start, programs on `PATH`.

use super::document::{word_bounds, Document};
use super::reference::{Category, REFERENCE};
use super::symbols::DefKind;
use lsp_types::{CompletionItem, CompletionItemKind, CompletionList, Position};
use std::collections::HashSet;

/// Completions for the word being typed at `pos`. `programs` is the `PATH` listing.
pub(crate) fn complete(doc: &Document, pos: Position, programs: &[String]) -> CompletionList {
    let offset = doc.offset(pos);
    let (start, _) = word_bounds(&doc.text, offset);
    let prefix = &doc.text[start..offset];
    let before = &doc.text[..start];
    let mut items = vec![];
    let mut seen = HashSet::new();
    let mut add = |label: &str, kind, detail: &str| {
        if label.starts_with(prefix) && seen.insert(label.to_string()) {
            items.push(CompletionItem {
                label: label.to_string(),
                kind: Some(kind),
                detail: Some(detail.to_string()),
                ..CompletionItem::default()
            });
        }
    };
    // The script's names first: the nearest definitions are the likeliest.
    for d in doc.defs.iter().rev() {
        let kind = match d.kind {
            DefKind::Fn => CompletionItemKind::FUNCTION,
            DefKind::Var => CompletionItemKind::VARIABLE,
        };
        add(&d.name, kind, &d.detail);
    }
    // After `$` only a variable can follow.
    if before.ends_with('$') {
        add("it", CompletionItemKind::VARIABLE, "the current item");
        add(
            "args",
            CompletionItemKind::VARIABLE,
            "the script's arguments",
        );
        return list(items);
    }
    // A pool's options only where they go: in a `pool` stage, after its size.
    let pool = in_pool_stage(before);
    for (word, cat, line) in REFERENCE {
        let kind = match cat {
            Category::Keyword => CompletionItemKind::KEYWORD,
            Category::PoolOption if pool => CompletionItemKind::PROPERTY,
            Category::PoolOption => continue,
            Category::Builtin => CompletionItemKind::FUNCTION,
        };
        add(word, kind, line);
    }
    if command_position(before) && !prefix.is_empty() {
        for p in programs {
            add(p, CompletionItemKind::FILE, "program on PATH");
        }
    }
    list(items)
}

fn list(items: Vec<CompletionItem>) -> CompletionList {
    // The list is filtered by the typed prefix: ask again as the word grows.
    CompletionList {
        is_incomplete: true,
        items,
    }
}

/// Whether the cursor is in a `pool` stage past its size (`… | pool 4 ret`): the stage's
/// text since the last `|` or line start begins with `pool` and a word after it.
fn in_pool_stage(before: &str) -> bool {
    let stage = before
        .rsplit(['|', '\n', ';'])
        .next()
        .unwrap_or(before)
        .trim_start();
    stage
        .strip_prefix("pool")
        .is_some_and(|rest| rest.starts_with([' ', '\t']) && !rest.trim().is_empty())
}

/// Whether a program name can start here: at the start of a line or statement, after `|`,
/// `^`, `{` or `exec`.
fn command_position(before: &str) -> bool {
    let t = before.trim_end_matches([' ', '\t']);
    t.is_empty()
        || t.ends_with(['\n', ';', '|', '^', '{', '('].as_slice())
        || t.ends_with(" exec")
        || t.ends_with("unchecked")
}

#[cfg(test)]
mod tests {
    use super::complete;
    use crate::document::Document;
    use crate::position::LineIndex;

    fn labels(src: &str, programs: &[&str]) -> Vec<String> {
        let mut doc = Document::new(src.into());
        doc.analyze(&"file:///t.flow".parse().unwrap());
        let pos = LineIndex::new(src).position(src.len());
        let programs: Vec<String> = programs.iter().map(|s| (*s).to_string()).collect();
        complete(&doc, pos, &programs)
            .items
            .into_iter()
            .map(|i| i.label)
            .collect()
    }

    #[test]
    fn offers_names_keywords_options_and_programs_by_prefix() {
        let fns = "fn parse(l) { l }\nlet pages = 1\nfrom [1] | map pa";
        assert_eq!(labels(fns, &["passwd"]), ["pages", "parse"]);
        let opts = labels("from [1] | pool 2 map { it } unor", &[]);
        assert_eq!(opts, ["unordered"]);
        assert_eq!(
            labels("let n = 1\nls | gr", &["grep", "groups"]),
            ["grace", "group_by", "group_tuple", "grep", "groups"]
        );
        assert_eq!(labels("let name = 1\necho $n", &["nproc"]), ["name"]);
    }

    /// Pool options are offered in a `pool` stage only, not where a command or another
    /// stage goes.
    #[test]
    fn pool_options_only_in_a_pool_stage() {
        assert_eq!(labels("from [1] | pool 2 ret", &[]), ["retries"]);
        assert!(labels("from [1] | ret", &["rev"])
            .iter()
            .all(|l| l != "retries"));
        assert!(labels("ret", &[]).is_empty());
        assert!(labels("from [1] | pool ret", &[])
            .iter()
            .all(|l| l != "retries"));
    }
}
