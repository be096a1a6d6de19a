//! The case scripts of `tests/cases`, and variants of them, for the parser's unit tests.

/// Every case script (those that are UTF-8: some are not, on purpose).
pub(crate) fn case_scripts() -> Vec<String> {
    let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/cases")];
    let mut scripts = vec![];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "flow") {
                // (Some cases are not UTF-8 on purpose: they are no script.)
                scripts.extend(std::fs::read_to_string(&p).ok());
            }
        }
    }
    assert!(scripts.len() > 100, "case scripts not found");
    scripts
}

/// Every case script, each of its prefixes and each with one line left out (which makes
/// many of them fail in many places).
pub(crate) fn case_variants() -> Vec<String> {
    let mut out = vec![];
    for src in &case_scripts() {
        let lines: Vec<&str> = src.split_inclusive('\n').collect();
        out.extend((0..lines.len()).map(|i| {
            let mut s = lines.clone();
            s.remove(i);
            s.concat()
        }));
        out.extend(src.char_indices().map(|(i, _)| src[..i].to_string()));
    }
    out
}
