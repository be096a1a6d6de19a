//! The workspace depends in one direction. Between crates Cargo holds it (flow-syntax →
//! flow → flow-lsp → flow-cli); inside the library, each top-level module of `src/` sits in
//! a layer, and its code (tests aside) names only modules of lower layers through `crate::`:
//! a module that reached up would make a cycle between folders, which is how `runtime/` and
//! `script/` had come to import each other.

use crate::harness::repo_root;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Bottom first. A module may use modules of lower layers only.
const LAYERS: &[&[&str]] = &[
    // The flow-syntax crate (text to AST, the keyword list), under the names `src/lib.rs`
    // imports it as; sizes; the calls into the system.
    &["syntax", "vocabulary", "limits", "os"],
    // Below the checker and the runtime alike: rendering diagnostics, the shell's quoting
    // contexts, Rhai text helpers.
    &["diagnostics", "shell", "script"],
    &["check"],
    // What will run, and the compiled `Script`.
    &["plan"],
    &["runtime"],
    // The embedding API (`Engine`, `Error`).
    &["api"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// What `src/lib.rs` re-exports at the crate root, by name: `crate::Span` is `syntax`'s.
fn root_names(lib: &str) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    let flat = lib.replace('\n', " ");
    for stmt in flat.split(';') {
        let Some(rest) = stmt.trim().strip_prefix("pub use ") else {
            continue;
        };
        let module = rest.split("::").next().unwrap_or("").trim().to_string();
        let tail = rest.rsplit("::").next().unwrap_or("");
        let items = tail.trim().trim_start_matches('{').trim_end_matches('}');
        for item in items.split(',') {
            let name = item.split(" as ").last().unwrap_or("").trim();
            if !name.is_empty() {
                names.insert(name.to_string(), module.clone());
            }
        }
    }
    names
}

/// The code of a file without its comments and its trailing `#[cfg(test)] mod tests`.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests {") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every module named after `crate::` in `code` (`crate::a::…` and `crate::{a, b::c}`).
fn crate_refs(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for part in group.split(',') {
                let name = ident(part.trim());
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src/").flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `(from, to, file)` for every use of a module by another, tests aside.
fn edges(src: &Path) -> Vec<(String, String, String)> {
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("read src/lib.rs");
    let names = root_names(&lib);
    let mut files = vec![];
    rust_files(src, &mut files);
    let mut out = vec![];
    for f in files {
        let rel = f.strip_prefix(src).expect("under src/");
        let rel_s = rel.to_string_lossy().into_owned();
        let file_name = rel.file_name().map(|n| n.to_string_lossy().into_owned());
        // The crate root and the binary are not folders; test files are leaves.
        if ["lib.rs", "main.rs", "allocator.rs"].contains(&rel_s.as_str())
            || file_name.is_some_and(|n| n == "tests.rs" || n.ends_with("_tests.rs"))
        {
            continue;
        }
        let from = match rel.components().next() {
            Some(c) => c
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string(),
            None => continue,
        };
        let text = std::fs::read_to_string(&f).expect("read a source file");
        for name in crate_refs(&code_of(&text)) {
            let to = names.get(&name).cloned().unwrap_or(name);
            if to != from && layer_of(&to).is_some() {
                out.push((from.clone(), to, rel_s.clone()));
            }
        }
    }
    out
}

#[test]
fn folders_depend_in_one_direction() {
    let src = repo_root().join("src");
    let edges = edges(&src);
    assert!(
        edges.iter().any(|(f, t, _)| f == "runtime" && t == "plan"),
        "the scan finds no import at all: it is broken"
    );
    let mut wrong = vec![];
    for (from, to, file) in &edges {
        match (layer_of(from), layer_of(to)) {
            (Some(a), Some(b)) if b < a => {}
            (None, _) => wrong.push(format!(
                "src/{file}: module `{from}` has no layer in tests/layout (add it to LAYERS)"
            )),
            _ => wrong.push(format!(
                "src/{file}: `{from}` uses `crate::{to}`, which is not below it"
            )),
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_module_has_a_layer() {
    let src = repo_root().join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("read src/lib.rs");
    for line in lib.lines() {
        let line = line.trim();
        let decl = line
            .strip_prefix("pub mod ")
            .or_else(|| line.strip_prefix("mod "))
            .and_then(|m| m.strip_suffix(';'));
        if let Some(m) = decl {
            assert!(
                layer_of(m).is_some(),
                "`mod {m}` has no layer in tests/layout"
            );
        }
    }
}

#[test]
fn the_scan_sees_root_names_and_groups() {
    let names = root_names(
        "pub use syntax::span::Span;\npub use runtime::{\n  RunError, run_script as run,\n};",
    );
    assert_eq!(names.get("Span").map(String::as_str), Some("syntax"));
    assert_eq!(names.get("run").map(String::as_str), Some("runtime"));
    let refs = crate_refs(&code_of(
        "use crate::{ast::X, plan};\nlet a = crate::runtime::f(); // crate::api",
    ));
    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
    assert_eq!(refs, ["ast", "plan", "runtime"]);
    let code = code_of("use crate::a; // crate::b\n#[cfg(test)]\nmod tests {\n use crate::c;\n}");
    assert_eq!(crate_refs(&code).len(), 1);
}

/// Each crate's source folder and the README that maps it.
fn maps() -> Vec<(std::path::PathBuf, std::path::PathBuf)> {
    let root = repo_root();
    let mut out = vec![(root.join("src"), root.join("src/README.md"))];
    for c in ["flow-syntax", "flow-lsp", "flow-cli"] {
        let dir = root.join("crates").join(c);
        out.push((dir.join("src"), dir.join("README.md")));
    }
    out
}

#[test]
fn every_crate_readme_maps_every_file() {
    for (src, readme) in maps() {
        let map = std::fs::read_to_string(&readme)
            .unwrap_or_else(|e| panic!("read {}: {e}", readme.display()));
        let mut files = vec![];
        rust_files(&src, &mut files);
        assert!(!files.is_empty(), "no files under {}", src.display());
        let missing: Vec<String> = files
            .iter()
            .map(|f| {
                f.strip_prefix(&src)
                    .expect("under src/")
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|rel| !map.contains(&format!("`{rel}`")))
            .collect();
        assert!(
            missing.is_empty(),
            "{} has no line for: {missing:?}",
            readme.display()
        );
    }
}

/// The library a host links compiles none of the command line's crates.
#[test]
fn the_library_depends_on_no_cli_crate() {
    let toml = std::fs::read_to_string(repo_root().join("Cargo.toml")).expect("read Cargo.toml");
    let deps = &toml[toml
        .find("\n[dependencies]")
        .expect("a [dependencies] table")..];
    let deps = &deps[..deps[1..].find("\n[").map_or(deps.len(), |i| i + 1)];
    for c in ["clap", "rustyline", "lsp-server", "lsp-types", "mimalloc"] {
        assert!(
            !deps.lines().any(|l| l.starts_with(c)),
            "the library (Cargo.toml) depends on {c}: it belongs to crates/flow-cli or flow-lsp"
        );
    }
}
